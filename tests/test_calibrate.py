"""Calibration: recovers known values, estimates its uncertainty as the linear formula does, and warns when it must."""

from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp import calibrate
from simsgp.calibrate import Measurement, Parameter, fit, parse_measurement, parse_parameter, predict, simulate
from simsgp.cli import main
from simsgp.errors import ScenarioError
from simsgp.scenario import from_dict

MB = 1e6


def _base(**network):
    return from_dict({
        "iterations": 4, "timing_only": True, "eval_every": 0,
        "cluster": {"nodes": 2, "compute": {"mean": 0.05}},
        "network": {"topology": "star-10gbe", "latency": 1e-4, **network},
        "algorithm": {"name": "sgp"}, "task": {"payload": 10 * MB},
    })


def _push(base, nbytes=10 * MB, efficiency=1.0):
    """Seconds of one SGP push on 2 idle nodes: latency + size / (efficiency * line rate)."""
    return base.network.latency + nbytes / (efficiency * 1.25e9)


@settings(max_examples=8, deadline=None)
@given(compute=st.floats(0.01, 0.5), efficiency=st.floats(0.2, 0.95))
def test_fit_recovers_the_values_that_made_the_points(compute, efficiency):
    """Points simulated with known values are fitted back to them, residuals vanish, and every point is exact."""
    base = _base()
    truth = {"cluster.compute.mean": compute, "network.efficiency": efficiency}
    points = [Measurement("sgp", 2, simulate(base, Measurement("sgp", 2, None, (f"task.payload={s * MB}",)), truth),
                          (f"task.payload={s * MB}",)) for s in (1, 20)]
    # the simulation itself is the closed form c + alpha + M / (e B) here
    for m in points:
        assert m.seconds == pytest.approx(compute + _push(base, float(m.sets[0].split("=")[1]), efficiency), rel=1e-9)
    params = [parse_parameter("cluster.compute.mean"), parse_parameter("network.efficiency")]
    fitted = fit(base, points, params)
    assert fitted.values["cluster.compute.mean"] == pytest.approx(compute, rel=1e-6)
    assert fitted.values["network.efficiency"] == pytest.approx(efficiency, rel=1e-6)
    assert max(abs(p.error) for p in fitted.points) < 1e-6  # the fit stops at relative steps of 1e-8, as the values
    assert any("no residual" in w for w in fitted.warnings)  # two points, two parameters: nothing left to judge by


def test_standard_error_is_the_linear_least_squares_one():
    """One compute time fitted to three noisy points of one setting: the closed-form weighted mean and its error."""
    base = _base()
    push = _push(base)
    measured = np.array([0.17, 0.18, 0.16])
    fitted = fit(base, [Measurement("sgp", 2, float(t)) for t in measured], [parse_parameter("cluster.compute.mean")])
    # relative errors r_k = (c + push) / T_k - 1 are linear in c with slope 1 / T_k
    slope = 1 / measured
    seconds = np.sum(slope) / np.sum(slope**2)  # the c + push minimising sum r_k^2
    residual = seconds * slope - 1
    std = np.sqrt(residual @ residual / (3 - 1) / np.sum(slope**2))
    assert fitted.values["cluster.compute.mean"] == pytest.approx(seconds - push, rel=1e-7)
    assert fitted.std_errors["cluster.compute.mean"] == pytest.approx(std, rel=1e-5)
    assert [p.error for p in fitted.points] == pytest.approx(residual.tolist(), abs=1e-9)
    assert fitted.warnings == ()


def test_per_algorithm_parameters_apply_to_their_own_points_only():
    base = _base()
    points = [Measurement("sgp", 2, 0.2), Measurement("dpsgd", 2, 0.3), Measurement("dpsgd", 2, 0.31, ("cluster.nodes=4",))]
    params = [parse_parameter("cluster.compute.mean@sgp"), parse_parameter("cluster.compute.mean@dpsgd")]
    fitted = fit(base, points, params)
    assert fitted.points[0].error == pytest.approx(0.0, abs=1e-9)  # SGP's own compute absorbs its point exactly
    assert fitted.values["cluster.compute.mean@sgp"] == pytest.approx(0.2 - _push(base), rel=1e-7)
    assert fitted.values["cluster.compute.mean@sgp"] != fitted.values["cluster.compute.mean@dpsgd"]
    held = predict(fitted, [Measurement("sgp", 2, 0.25)])[0]
    assert held.simulated == pytest.approx(0.2, rel=1e-7) and not held.fitted and held.error == pytest.approx(0.2 / 0.25 - 1)


def test_warns_under_determined_fewer_points_than_parameters():
    fitted = fit(_base(), [Measurement("sgp", 2, 0.2)])  # default: compute of sgp and the efficiency
    assert [p.name for p in fitted.parameters] == ["cluster.compute.mean@sgp", "network.efficiency"]
    assert any(w.startswith("under-determined: 2 parameters from 1 points") for w in fitted.warnings)
    assert all(v is None for v in fitted.std_errors.values())


def test_warns_when_parameters_cannot_be_told_apart():
    """Compute time and latency both add once per iteration: only their sum is determined, however many points."""
    base = _base()
    points = [Measurement("sgp", 2, t) for t in (0.2, 0.21, 0.19)]
    fitted = fit(base, points, [parse_parameter("cluster.compute.mean"), parse_parameter("network.latency")])
    [warning] = [w for w in fitted.warnings if "do not constrain" in w]
    assert "cluster.compute.mean" in warning and "network.latency" in warning


def test_warns_when_a_parameter_sits_at_a_bound():
    """Faster than the link allows: the efficiency is pinned at 1 and the warning says so."""
    base = _base()
    fast = Measurement("sgp", 2, 0.001, ("task.payload=1e8",))  # 100 MB in 1 ms is 80x line rate
    fitted = fit(base, [fast, Measurement("sgp", 2, 0.2)], [parse_parameter("cluster.compute.mean"),
                                                           parse_parameter("network.efficiency")])
    assert fitted.values["network.efficiency"] == pytest.approx(1.0)
    assert any(w.startswith("network.efficiency = 1 sits at its upper bound 1") for w in fitted.warnings)


@pytest.mark.parametrize(("text", "words"), [
    ("cluster.nodes", "no default bounds"),
    ("network.latency=1:0", "LOW < HIGH"),
    ("network.latency=abc", "LOW:HIGH"),
    ("@sgp", "KEY[@ALGORITHM]"),
    ("cluster.compute.mean@", "KEY[@ALGORITHM]"),
])
def test_bad_parameters_are_one_line_errors(text, words):
    with pytest.raises(ScenarioError, match="calibration parameter") as info:
        parse_parameter(text)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_fit_refuses_what_it_cannot_do():
    base = _base()
    with pytest.raises(ScenarioError, match="applies to no measurement"):
        fit(base, [Measurement("sgp", 2, 0.2)], [parse_parameter("cluster.compute.mean@dpsgd")])
    with pytest.raises(ScenarioError, match="set one key twice"):
        fit(base, [Measurement("sgp", 2, 0.2)], [parse_parameter("cluster.compute.mean"),
                                                 parse_parameter("cluster.compute.mean@sgp")])
    with pytest.raises(ScenarioError, match="no measured seconds"):
        fit(base, [parse_measurement("sgp:4")])
    with pytest.raises(ScenarioError, match="not numeric"):
        fit(base, [Measurement("sgp", 2, 0.2)], [Parameter("algorithm.name", 0, 1)])


def test_epoch_pause_is_averaged_over_one_whole_epoch():
    """A pause per epoch adds pause / iterations-per-epoch to every point, as a running mean over epochs has it."""
    plain = _base()
    paused = from_dict({**_as_dict(plain), "cluster": {"nodes": 2, "compute": {"mean": 0.05},
                                                      "epoch": {"samples": 5120, "batch": 256, "pause": 1.5}}})
    m = Measurement("sgp", 2, None)
    epoch = 5120 // 2 // 256  # 10 iterations a node
    assert simulate(paused, m) == pytest.approx(simulate(plain, m) + 1.5 / epoch, rel=1e-12)


def _as_dict(scenario):
    from simsgp.scenario import to_dict

    return to_dict(scenario)


def test_cli_calibrate_reports_fit_points_and_json(capsys, tmp_path):
    argv = ["calibrate", "paper-resnet50-10gbe", "--set", "iterations=3", "--measure", "sgp:4=0.45",
            "--measure", "sgp:8=0.46", "--fit", "cluster.compute.mean", "--predict", "sgp:16=0.5", "--predict", "sgp:32"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "cluster.compute.mean" in out and "+-" in out and "held out (1 points)" in out
    assert main([*argv, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [p["role"] for p in report["points"]] == ["fitted", "fitted", "held out", "held out"]
    assert report["points"][3]["measured"] is None and report["points"][3]["error"] is None
    assert report["held_out"]["worst"] == pytest.approx(abs(report["points"][2]["error"]))
    assert report["version"] and report["scenario"]["network"]["topology"] == "star-10gbe"


def test_cli_calibrate_without_points_is_one_line(capsys):
    assert main(["calibrate"]) == 2
    assert "--measure" in capsys.readouterr().err


def test_module_exports():
    assert set(calibrate.__all__) <= set(dir(calibrate))


@pytest.mark.parametrize(("epoch", "words"), [
    ({"pause": 1.0}, "cluster.epoch.pause=1.0; expected 0 without cluster.epoch.samples"),
    ({"samples": 10, "batch": 0}, "cluster.epoch.batch=0; expected an integer >= 1"),
    ({"samples": -1}, "cluster.epoch.samples=-1; expected an integer >= 0"),
    ({"samples": 10, "pause": -1.0}, "cluster.epoch.pause=-1.0; expected a finite number >= 0"),
])
def test_bad_epochs_are_one_line_errors(epoch, words):
    with pytest.raises(ScenarioError) as info:
        from_dict({"cluster": {"epoch": epoch}})
    assert words in str(info.value)


@pytest.mark.slow
def test_paper_calibrated_on_4_and_8_nodes_predicts_16_and_32_within_10_percent_worst_5_mean():
    from simsgp import paper

    calibration, points = paper.reproduce(calibrate=True)
    assert calibration is not None and calibration.warnings == ()
    assert {p.measurement.nodes for p in points if p.fitted} == set(paper.FIT_NODES)
    assert len([p for p in points if not p.fitted]) == 8 and {p.measurement.algorithm for p in points} == set(
        paper.PAPER_SECONDS)
    summary = calibrate.held_out_summary(points)
    assert summary["worst"] <= 0.10 and summary["mean"] <= 0.05, summary
    assert all(std is not None and std < 0.2 * calibration.values[name] for name, std in calibration.std_errors.items())


def test_simulate_takes_the_analytic_mode_where_it_answers_and_the_event_mode_where_it_refuses():
    base = from_dict({"cluster": {"nodes": 4}, "task": {"payload": "resnet50"}, "iterations": 5})
    ring = Measurement("allreduce", 4, None, ("algorithm.collective=recursive-doubling",))
    jitter = Measurement("allreduce", 4, None, ("algorithm.collective=recursive-doubling", "cluster.compute.cv=0.5",
                                                 "cluster.compute.model=lognormal"))
    for m in (ring, jitter):  # the second is refused by the analytic timer (entries differ), so it runs as events
        event = simsgp_run_seconds(base, m)
        assert simulate(base, m) == pytest.approx(event, rel=1e-9)


def simsgp_run_seconds(base, measurement):
    from simsgp.scenario import apply_overrides
    from simsgp.sim.engine import run

    scenario = apply_overrides(base, {"algorithm.name": measurement.algorithm, "cluster.nodes": measurement.nodes,
                                      "timing_only": True, "eval_every": 0})
    return float(run(apply_overrides(scenario, list(measurement.sets))).summary["sim_time_per_iteration"])


def test_a_measurement_carries_its_own_keys_after_commas():
    m = parse_measurement("allreduce:8=0.896, algorithm.collective=recursive-doubling,network.reduce_rate=1e10")
    assert m.sets == ("algorithm.collective=recursive-doubling", "network.reduce_rate=1e10") and m.seconds == 0.896
    for bad in ("allreduce:8=0.9,collective", "allreduce=0.9", "sgp:x=1", "sgp:1=0.3"):
        with pytest.raises(ScenarioError, match=r"measurement '"):
            parse_measurement(bad)
    base = from_dict({"task": {"payload": 1e8}, "network": {"bandwidth": 1e9, "latency": 0.0}, "iterations": 3})
    ring = simulate(base, parse_measurement("allreduce:4"))
    doubling = simulate(base, parse_measurement("allreduce:4,algorithm.collective=recursive-doubling"))
    assert ring == pytest.approx(0.1 + 1.5 * 0.1, rel=1e-9) and doubling == pytest.approx(0.1 + 2 * 0.1, rel=1e-9)


def test_a_fit_in_a_pool_of_processes_is_the_fit_in_one(monkeypatch):
    base = _base()
    points = [Measurement("sgp", 2, 0.2, (f"task.payload={s * MB}",)) for s in (1, 5, 20)]
    params = [parse_parameter("cluster.compute.mean"), parse_parameter("network.efficiency")]
    monkeypatch.setattr(calibrate, "_PARALLEL_AFTER", float("inf"))
    alone = fit(base, points, params)
    monkeypatch.setattr(calibrate, "_PARALLEL_AFTER", 0.0)
    started = []
    pool = calibrate.ProcessPoolExecutor
    monkeypatch.setattr(calibrate, "ProcessPoolExecutor", lambda *a, **k: started.append(1) or pool(*a, **k))
    pooled = fit(base, points, params)
    if len(os.sched_getaffinity(0)) > 1 and threading.active_count() == 1:
        assert started, "the fit did not use a pool of processes"
    assert pooled.values == alone.values and pooled.std_errors == alone.std_errors
    assert [p.simulated for p in pooled.points] == [p.simulated for p in alone.points]
