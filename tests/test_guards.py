"""No silent wrong results: runs that cannot be right fail before or as they go wrong, in one line.

Resource guards (memory, events, simulated horizon), divergence, nodes that
never come back, strict JSON, and the scenario inputs that used to crash.
"""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import simsgp
from simsgp.cli import main
from simsgp.errors import DivergenceError, ScenarioError, SimsgpError
from simsgp.scenario import from_dict, load
from simsgp.sim import budget
from simsgp.sim.budget import LargeRunWarning, Limits, ResourceError
from simsgp.sim.engine import build
from simsgp.tasks import make_task

SMALL = {"iterations": 3, "cluster": {"nodes": 4}, "eval_every": 0}


def _with(**tables):
    """``SMALL`` with the given top-level keys or tables merged in."""
    data = json.loads(json.dumps(SMALL))
    for key, value in tables.items():
        if isinstance(value, dict):
            data.setdefault(key, {}).update(value)
        else:
            data[key] = value
    return data


def _cli(capsys, *args):
    """Exit code, stdout and stderr of ``simsgp ARGS``."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _strict_json(text):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


# --- nodes that never come back -------------------------------------------------

FOREVER = {"failures": [{"node": 1, "start": 0.0, "end": math.inf}]}


@pytest.mark.parametrize("algorithm", ["adpsgd", "ps-async", "dcasgd"])
def test_algorithms_that_need_no_node_go_on_without_one_down_for_good(algorithm):
    result = simsgp.run(_with(cluster=FOREVER, algorithm={"name": algorithm}))
    s = result.summary
    assert s["down_at_end"] == [1]
    assert s["iterations"] == 3  # the others finished
    assert result.records["end"].shape[1] == 4 and np.isnan(result.records["end"][:, 1]).all()
    assert s["node_time_per_iteration"][1] is None
    assert math.isfinite(s["sim_time"]) and s["sim_time"] > 0


@pytest.mark.parametrize("algorithm", ["sgp", "allreduce", "osgp", "ps-sync"])
def test_algorithms_that_wait_for_every_node_say_which_failure_blocks_them(algorithm):
    with pytest.raises(SimsgpError, match=r"blocked before iteration 3: node 1 is down from t=0 s and never comes back \(cluster\.failures\[0\]\)"):
        simsgp.run(_with(cluster=FOREVER, algorithm={"name": algorithm}))


def test_a_time_limited_run_reports_the_node_down_at_its_end(capsys):
    code, out, err = _cli(
        capsys, "run", "--set", "cluster.nodes=4", "--set", "time_limit=0.35",
        "--set", "cluster.failures=[{node=1,start=0.0,end=inf}]", "--set", "algorithm.name=adpsgd",
    )
    assert code == 0 and err == ""
    assert "down at the end       node(s) 1: the others went on without them" in out
    assert "3 iterations" in out.splitlines()[0]


def test_the_json_of_a_run_with_a_failure_for_good_is_strict(capsys):
    code, out, _ = _cli(
        capsys, "run", "--json", "--set", "cluster.nodes=4", "--set", "iterations=3",
        "--set", "cluster.failures=[{node=1,start=0.0,end=inf}]", "--set", "algorithm.name=ps-async",
    )
    data = _strict_json(out)
    assert code == 0 and data["summary"]["iterations"] == 3
    assert data["scenario"]["cluster"]["failures"][0]["end"] is None  # inf: no JSON number


# --- divergence -----------------------------------------------------------------


def test_divergence_stops_the_run_and_says_when_and_where():
    with pytest.raises(DivergenceError, match=r"diverged by iteration \d+ \(node \d+ first\): its parameters are not finite; try a smaller algorithm.lr \(now 1e\+30\)"):
        simsgp.run({"iterations": 20, "algorithm": {"lr": 1e30}})


def test_divergence_is_caught_with_evaluation_off_and_in_the_cli(capsys):
    with pytest.raises(DivergenceError):
        simsgp.run(_with(iterations=30, algorithm={"lr": 1e30}))
    code, out, err = _cli(capsys, "run", "--set", "algorithm.lr=1e30", "--set", "iterations=20")
    assert code == 2 and out == "" and err.count("\n") == 1 and "diverged" in err


def test_a_nan_loss_stops_the_run_at_its_iteration_and_node():
    data = _with(task={"name": "quadratic", "dim": 2})
    scenario = from_dict(data)
    run = build(scenario)
    with pytest.raises(DivergenceError, match=r"at iteration 5 \(node 2\): its mini-batch loss is nan"):
        run.log(2, 5, start=0.0, compute_end=0.1, end=0.2, loss=math.nan)


def test_a_timing_only_run_has_nan_losses_and_is_no_divergence():
    result = simsgp.run(_with(timing_only=True))
    assert result.summary["final_loss"] is None and result.summary["iterations"] == 3


# --- times that overflow ----------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"network": {"bandwidth": 5e-324}}, "network.bandwidth"),
        ({"network": {"latency": 1e308}}, "network.latency"),
        ({"cluster": {"compute": {"mean": 1e308}}}, "cluster.compute.mean"),
        ({"task": {"payload": 1e300}}, "task.payload"),
        ({"cluster": {"slow_nodes": {"2": 1e300}}}, "cluster.slow_nodes"),
        ({"cluster": {"transient": {"probability": 0.5, "high": 1e300}}}, "cluster.transient.high"),
        ({"cluster": {"stragglers": [{"node": 1, "factor": 1e300, "start": 0.0, "end": math.inf}]}}, "cluster.stragglers"),
    ],
)
def test_values_whose_times_overflow_are_refused_naming_the_field(overrides, field):
    with pytest.raises(ResourceError, match=rf"^{field}: simulated times overflow"):
        simsgp.run(_with(**overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cluster": {"compute": {"model": "lognormal", "cv": 1e308}}}, "cluster.compute.cv=1e+308; expected a coefficient"),
        ({"cluster": {"transient": {"high": math.inf}}}, "cluster.transient.high=inf; expected a positive finite"),
        ({"time_limit": 1e300}, "time_limit=1e+300; expected at most 1e+15 simulated seconds"),
    ],
)
def test_non_finite_or_absurd_time_fields_are_refused(overrides, message):
    with pytest.raises(SimsgpError, match=re_escape(message)):
        simsgp.run(_with(**overrides))


def re_escape(text):
    import re

    return re.escape(text)


def test_a_trace_value_that_overflows_names_the_trace(tmp_path):
    trace = tmp_path / "t.csv"
    trace.write_text("\n".join(["1e308,1e308,1e308,1e308"] * 3) + "\n")
    with pytest.raises(ResourceError, match=r"^cluster\.compute\.path: simulated times overflow"):
        simsgp.run(_with(cluster={"compute": {"model": "trace", "path": str(trace)}}))


def test_a_short_extreme_straggler_window_is_no_overflow():
    window = {"node": 1, "factor": 1e300, "start": 0.0, "end": 1.0}  # the node stalls for a second, then goes on
    result = simsgp.run(_with(cluster={"stragglers": [window]}, algorithm={"name": "adpsgd"}))
    assert 1.0 < result.summary["sim_time"] < 2.0


def test_a_time_that_overflows_despite_the_estimates_is_an_error():
    window = {"node": 1, "factor": 1e300, "start": 0.0, "end": 1e300}  # finite, yet the phase takes ~1e299 s
    with pytest.raises(ResourceError, match=r"simulated time overflowed|simulated times overflow"):
        simsgp.run(_with(cluster={"stragglers": [window]}, algorithm={"name": "adpsgd"}))


def test_every_time_of_an_accepted_extreme_run_is_finite():
    """Large but representable figures still give finite, ordered times (the guard is not too eager)."""
    result = simsgp.run(_with(network={"latency": 1e6, "bandwidth": 1.0}, cluster={"compute": {"mean": 1e6}}))
    for name in ("start", "compute_end", "end"):
        assert np.isfinite(result.records[name]).all()
    assert result.summary["sim_time"] > 3e6


# --- resource guards -------------------------------------------------------------


def test_a_model_too_large_for_memory_is_refused_with_the_estimate():
    with pytest.raises(ResourceError, match=r"would hold about [\d.e+]+ GiB of arrays \(node state .* GiB.*task\.dim=1099511627776"):
        simsgp.run(_with(task={"name": "quadratic", "dim": 2**40}))


@pytest.mark.parametrize(
    ("overrides", "what"),
    [
        ({"iterations": 10_000_000, "timing_only": True}, r"events \(4 nodes x 1e\+07 iterations"),
        ({"iterations": 20_000, "algorithm": {"name": "ps-sync", "servers": 600}}, r"x 3\.6e\+03 per node-iteration"),
        ({"time_limit": 1e12, "iterations": None}, r"events \(4 nodes x 1e\+13 iterations"),
    ],
)
def test_runs_with_too_many_events_are_refused_before_they_start(overrides, what):
    with pytest.raises(ResourceError, match=what):
        simsgp.run(_with(**overrides))


def test_more_servers_than_parameters_are_refused():
    with pytest.raises(ScenarioError, match=r"^algorithm\.servers=100000; expected at most 650, the parameters of"):
        simsgp.run(_with(algorithm={"name": "ps-sync", "servers": 100_000}))


def test_millions_of_allreduce_buckets_are_refused_naming_bucket_bytes():
    for size in (1e-3, 5e-324):
        with pytest.raises(ScenarioError, match=r"^algorithm\.bucket_bytes=.* buckets of the 5200-byte gradient"):
            simsgp.run(_with(algorithm={"name": "allreduce", "overlap": True, "bucket_bytes": size}))


def test_allow_large_turns_a_refusal_into_a_warning():
    with pytest.raises(ResourceError, match="more than the limit of 10"):
        simsgp.run(SMALL, limits=Limits(events=10))
    with pytest.warns(LargeRunWarning, match="more than the limit of 10"):
        result = simsgp.run(SMALL, limits=Limits(events=10, allow_large=True))
    assert result.summary["iterations"] == 3


def test_records_grow_as_the_run_goes_instead_of_being_preallocated():
    run = build(from_dict({"iterations": 10_000_000, "timing_only": True, "cluster": {"nodes": 2}}))
    assert run.world.records.arrays()["end"].shape == (0, 2)
    assert run.world.records._table.nbytes < 2**20  # not 10 million rows
    long = simsgp.run({"iterations": 3000, "timing_only": True, "cluster": {"nodes": 2}})
    assert long.records["end"].shape == (3000, 2) and not np.isnan(long.records["end"]).any()


def test_the_parameter_count_known_before_a_task_is_built_is_the_task_s():
    for config in ({"name": "quadratic", "dim": 17}, {"name": "logistic-digits"}, {"name": "mlp-digits", "hidden": 5}):
        scenario = from_dict({"task": config, "cluster": {"nodes": 2}})
        built = make_task(scenario.task.name, 2, np.random.default_rng(0), **scenario.task.params)
        assert budget.param_count(scenario) == built.dim


def test_the_memory_estimate_covers_the_arrays_a_run_holds():
    scenario = from_dict({"iterations": 50, "cluster": {"nodes": 6}, "task": {"name": "quadratic", "dim": 300}})
    run = build(scenario)
    held = run.state.x.nbytes + run.state.momentum.nbytes + run.learner.task.centers.nbytes
    parts = budget.memory_estimate(scenario)
    assert held <= parts["node state"] + parts["task data"] <= 10 * held


# --- the command line ------------------------------------------------------------


def test_no_round_finished_within_the_time_limit_is_said_in_one_line(capsys):
    code, out, err = _cli(capsys, "run", "--set", "time_limit=0.05")
    assert code == 0 and err == ""
    assert "0.05 s: 0 iterations completed by every node within time_limit=0.05 s" in out


def test_json_output_has_null_never_nan_or_infinity(capsys):
    code, out, _ = _cli(capsys, "run", "--json", "--set", "timing_only=true", "--set", "iterations=3")
    data = _strict_json(out)
    assert code == 0 and "NaN" not in out and "Infinity" not in out
    assert data["summary"]["final_loss"] is None


def test_ctrl_c_is_one_line_and_exit_130(capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("simsgp.sim.engine.run", interrupted)
    code, out, err = _cli(capsys, "run")
    assert code == 130 and err.strip() == "simsgp: interrupted" and out == ""


@pytest.mark.parametrize("measure", ["sgp:4=1e-300", "sgp:4=inf", "sgp:4=nan", "sgp:1=0.5", "sgp:4"])
def test_calibrate_refuses_measurements_outside_sane_times(capsys, measure):
    code, out, err = _cli(capsys, "calibrate", "--measure", measure)
    assert code == 2 and out == "" and err.startswith("simsgp: error: measurement") and err.count("\n") == 1


def test_a_repeated_set_key_warns_and_the_last_value_wins(capsys):
    code, out, err = _cli(capsys, "run", "--set", "iterations=2", "--set", "iterations=3", "--set", "cluster.nodes=2")
    assert code == 0 and "2 nodes, 3 iterations" in out
    assert err.strip() == "simsgp: warning: --set iterations is given more than once; the last value, '3', is used"


def test_a_huge_bad_value_is_echoed_cut_to_a_sane_length(capsys):
    code, _, err = _cli(capsys, "run", "--set", "algorithm.name=" + "x" * 5_000_000)
    assert code == 2 and len(err) < 400 and "..." in err


# --- scenario input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"cluster": {"failures": [{"node": 1}]}}, "cluster.failures[0]: missing key 'start'; a failure window needs"),
        ({"cluster": {"stragglers": [{"node": 1, "start": 0.0}]}}, "cluster.stragglers[0]: missing key 'factor'"),
        ({"cluster": {"slow_nodes": {"03": 2.0}}}, "cluster.slow_nodes key='03'"),
        ({"cluster": {"slow_nodes": {" 3 ": 2.0}}}, "cluster.slow_nodes key=' 3 '"),
        ({"cluster": {"slow_nodes": {"\u0663": 2.0}}}, "cluster.slow_nodes key='\u0663'"),
        ({"cluster": {"slow_nodes": {"3.7": 2.0}}}, "cluster.slow_nodes key='3.7'"),
        ({"cluster": {"slow_nodes": {True: 2.0}}}, "cluster.slow_nodes key=True"),
        ({"cluster": {"slow_nodes": {3: 2.0, "3": 4.0}}}, "cluster.slow_nodes key=3; expected each node at most once"),
        ({"iterations": 10**30}, "iterations=1000000000000000000000000000000; expected an integer of at most"),
        ({"network": {"topology": "n" * 300 + ".toml"}}, "(File name too long)"),
        ({"network": {"topology": ""}}, "network.topology=''"),
        ({"cluster": {"compute": {"model": "trace", "path": ""}}}, "cluster.compute.path=''"),
        ({"network": {"latency": True}}, "network.latency=True; expected a number"),
    ],
)
def test_bad_scenario_values_get_one_line_errors(data, message):
    with pytest.raises(ScenarioError) as caught:
        from_dict(data)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "not UTF-8 text (byte 0x89 at offset 0)"),
        ("seed = 1\n".encode("utf-16"), "not UTF-8 text"),
        (b"x = " + b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b"seed = " + b"1" * 5000, "does not parse as TOML: Exceeds the limit (4300 digits)"),
    ],
)
def test_scenario_files_that_are_not_utf8_toml_get_one_line_errors(tmp_path, capsys, content, message):
    path = tmp_path / "bad.toml"
    path.write_bytes(content)
    with pytest.raises(ScenarioError, match=re_escape(message)):
        load(path)
    code, out, err = _cli(capsys, "run", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1


def test_a_scenario_file_with_a_utf8_bom_is_read(tmp_path):
    path = tmp_path / "bom.toml"
    path.write_bytes("\ufeffseed = 3\n[cluster]\nnodes = 2\n".encode())
    scenario = load(path)
    assert (scenario.seed, scenario.cluster.nodes) == (3, 2)


@pytest.mark.parametrize("source", ["", "s" * 400 + ".toml", "bad\x00name.toml"])
def test_unusable_scenario_paths_get_one_line_errors(source):
    with pytest.raises(ScenarioError, match=r"no such file; expected a \.toml path or a preset"):
        load(source)


def test_deeply_nested_set_values_get_one_line_errors(capsys):
    code, out, err = _cli(capsys, "run", "--set", "cluster.nodes=" + "[" * 5000 + "]" * 5000)
    assert code == 2 and out == "" and err.startswith("simsgp: error: cluster.nodes=") and err.count("\n") == 1


def test_warnings_from_the_guards_name_no_internal_file():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        simsgp.run(SMALL, limits=Limits(events=1, allow_large=True))
    assert caught and all("simsgp/" not in str(w.message) for w in caught)


# --- files written ------------------------------------------------------------------


def _no_run(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the run started before its trace target was checked")

    monkeypatch.setattr("simsgp.sim.engine.run", refuse)


def test_a_trace_target_that_is_a_folder_fails_before_the_run(capsys, monkeypatch, tmp_path):
    _no_run(monkeypatch)
    code, out, err = _cli(capsys, "run", "--trace", str(tmp_path))
    assert code == 2 and out == "" and err.startswith("simsgp: error: --trace=") and "is a folder" in err


def test_a_trace_never_overwrites_another_file_or_follows_a_link_without_force(capsys, monkeypatch, tmp_path):
    other = tmp_path / "notes.json"
    other.write_text("mine\n")
    link = tmp_path / "link.json"
    link.symlink_to(other)
    small = ["--set", "iterations=2", "--set", "cluster.nodes=2"]
    for target in (other, link):
        code, _, err = _cli(capsys, "run", "--trace", str(target), *small)
        assert code == 2 and err.count("\n") == 1
    assert other.read_text() == "mine\n" and link.is_symlink()
    assert _cli(capsys, "run", "--trace", str(other), "--force", *small)[0] == 0
    assert _strict_json(other.read_text())["otherData"]["generator"] == "simsgp"
    assert _cli(capsys, "run", "--trace", str(other), *small)[0] == 0  # our own trace: rewritten freely
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "notes.json"]  # no temporary file left


def test_the_trace_of_a_timing_only_run_is_strict_json(capsys, tmp_path):
    path = tmp_path / "deep" / "trace.json"
    code, _, _ = _cli(capsys, "run", "--trace", str(path), "--set", "timing_only=true", "--set", "iterations=2")
    events = _strict_json(path.read_text())["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    assert code == 0 and len(spans) >= 2 * 8 and all("loss" not in e["args"] for e in spans)  # NaN: left out


def test_a_timing_only_run_with_evaluations_is_no_divergence():
    result = simsgp.run(_with(timing_only=True, eval_every=1))
    assert len(result.evaluations["loss"]) == 3 and np.isnan(result.evaluations["loss"]).all()
