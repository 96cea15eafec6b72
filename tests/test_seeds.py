"""Several seeds per point: the --seeds spec, the mean and 95 % interval of each metric, run --seeds and sweep --seeds."""

import csv
import importlib.util
import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import simsgp
from simsgp import sweep
from simsgp.cli import main
from simsgp.errors import DivergenceError, SimsgpError, shown
from simsgp.report import over_seeds
from simsgp.report.over_seeds import (
    MAX_SEEDS,
    RUN_METRICS,
    aggregate,
    check_seeds,
    format_aggregates,
    format_points,
    format_seeds,
    parse_seeds,
    point_means,
)
from simsgp.report.result import jsonable
from simsgp.scenario import from_dict
from simsgp.sim import engine
from simsgp.sweep import cli_sweep, load_runs, run_sweep

TINY = {"iterations": 5, "eval_every": 2, "cluster": {"nodes": 2}, "task": {"payload": "task"}}
TINY_SET = ["--set", "iterations=5", "--set", "eval_every=2", "--set", "cluster.nodes=2", "--set", 'task.payload="task"']
FORMS = "a range 0-4, a list 0,3,7 or both 0-2,5"


def expected_mean_ci(values):
    """Mean and Student-t 95 % half-width of the finite values, straight from numpy and the t quantile."""
    x = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if len(x) == 0:
        return None, None, 0
    if len(x) == 1:
        return x[0], None, 1
    spread = 0.0 if x.min() == x.max() else x.std(ddof=1)  # equal values have no spread, whatever the mean's residue
    return x.mean(), stats.t.ppf(0.975, len(x) - 1) * spread / math.sqrt(len(x)), len(x)


def assert_estimate(got_mean, got_half, values):
    mean, half, _ = expected_mean_ci(values)
    for got, want in ((got_mean, mean), (got_half, half)):
        if want is None:
            assert got is None or math.isnan(got)
        else:
            assert got == pytest.approx(want, rel=1e-9, abs=1e-12)


# --- the seeds spec -------------------------------------------------------------

ranges = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 40)), min_size=1, max_size=6)


@given(ranges)
def test_parse_seeds_expands_ranges_and_lists_in_order(items):
    seeds, parts = [], []
    start = 0
    for gap, length in items:  # disjoint and increasing, so every seed appears once
        low = start + gap
        high = low + length
        seeds += range(low, high + 1)
        parts.append(str(low) if length == 0 else f"{low}-{high}")
        start = high + 1
    spec = ",".join(parts)
    if len(seeds) > MAX_SEEDS:
        with pytest.raises(SimsgpError, match=f"at most {MAX_SEEDS}"):
            parse_seeds(spec)
    else:
        assert parse_seeds(spec) == seeds
        assert parse_seeds(spec.replace(",", " , ").replace("-", " - ")) == seeds  # spaces are allowed


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=60, unique=True))
def test_format_seeds_is_read_back_by_parse_seeds(seeds):
    spec = format_seeds(seeds)
    assert parse_seeds(spec) == seeds
    assert len(spec) <= len(",".join(map(str, seeds)))


@given(st.lists(st.integers(0, 50), min_size=1, max_size=20, unique=True), st.data())
def test_a_seed_given_twice_is_an_error(seeds, data):
    twice = data.draw(st.sampled_from(seeds))
    spec = ",".join(map(str, [*seeds, twice]))
    with pytest.raises(SimsgpError, match=f"seed {twice} is given twice") as info:
        parse_seeds(spec)
    assert str(info.value).startswith(f"--seeds={spec!r}") and FORMS in str(info.value)


@pytest.mark.parametrize(
    ("spec", "why"),
    [
        ("", "'' is not a seed or a range"),
        ("0,,2", "'' is not a seed or a range"),
        ("0-", "'0-' is not a seed or a range"),
        ("-1", "'-1' is not a seed or a range"),
        ("1.5", "'1.5' is not a seed or a range"),
        ("a-b", "'a-b' is not a seed or a range"),
        ("0-2-4", "'0-2-4' is not a seed or a range"),
        ("\u0661", "is not a seed or a range"),  # an Arabic-Indic digit: only 0-9 are seeds
        ("9" * 5000, "is not a seed or a range"),  # refused before int() (which refuses 4300 digits with a traceback)
        ("4-1", "the range 4-1 runs backwards"),
        ("0-2,1-3", "seed 1 is given twice"),
    ],
)
def test_parse_seeds_rejects_a_bad_spec_naming_option_value_and_forms(spec, why):
    with pytest.raises(SimsgpError) as info:
        parse_seeds(spec)
    message = str(info.value)
    assert message.startswith(f"--seeds={shown(spec)}")
    assert why in message and FORMS in message and "\n" not in message


def test_parse_seeds_caps_the_number_of_seeds_without_expanding():
    assert len(parse_seeds(f"0-{MAX_SEEDS - 1}")) == MAX_SEEDS
    with pytest.raises(SimsgpError, match=f"--seeds='0-{MAX_SEEDS}' names {MAX_SEEDS + 1} seeds; at most {MAX_SEEDS}"):
        parse_seeds(f"0-{MAX_SEEDS}")
    with pytest.raises(SimsgpError, match="names 1000000000000000000 seeds"):
        parse_seeds("0-999999999999999999")  # counted, not listed


@pytest.mark.parametrize("seeds", [[], "012", [0, True], [0, -1], [1.0], [0, 0], None, list(range(MAX_SEEDS + 1))])
def test_check_seeds_rejects_bad_seeds_naming_the_argument(seeds):
    with pytest.raises(SimsgpError, match=r"^seeds="):
        check_seeds(seeds)


# --- aggregates and the run table --------------------------------------------------

metric_values = st.one_of(st.none(), st.floats(-1e6, 1e6), st.just(math.nan))
summaries = st.lists(
    st.one_of(st.none(), st.fixed_dictionaries({"final_loss": metric_values, "sim_time": metric_values})),
    min_size=1, max_size=10,
)


@given(summaries)
def test_aggregate_is_the_mean_and_t_interval_of_the_known_values(runs):
    rows = aggregate(runs, ["final_loss", "sim_time", "time_to_target"])
    assert [row.metric for row in rows] == ["final_loss", "sim_time", "time_to_target"]
    for row in rows:
        values = [None if run is None else run.get(row.metric) for run in runs]
        assert_estimate(row.mean, row.ci95, values)
        assert row.seeds == expected_mean_ci(values)[2]
        assert row.values == tuple(None if v is None or math.isnan(v) else v for v in values)
    assert rows[2].seeds == 0 and math.isnan(rows[2].mean)  # a key no summary has


def test_aggregates_dict_is_strict_json():
    rows = aggregate([{"final_loss": 1.0}, None], ["final_loss", "final_accuracy"])
    data = over_seeds.aggregates_dict(rows)
    assert data == {"final_loss": {"mean": 1.0, "ci95": None, "seeds": 1},
                    "final_accuracy": {"mean": None, "ci95": None, "seeds": 0}}
    json.dumps(data, allow_nan=False)


def table_cells(text):
    """The lines of a run table after its two title lines, split into (label, cells)."""
    rows = {}
    for line in text.splitlines()[3:]:
        label, _, rest = line.strip().partition("  ")
        rows[label] = rest.split()
    return rows


def test_format_aggregates_rows_hold_mean_half_width_count_and_each_seed():
    runs = [{"final_loss": 1.0, "final_accuracy": 0.5}, None, {"final_loss": 2.5, "final_accuracy": 0.75},
            {"final_loss": 4.0, "final_accuracy": None}]
    seeds = [0, 3, 4, 5]
    rows = aggregate(runs, ["final_loss", "final_accuracy"])
    text = format_aggregates(rows, seeds, title="sgp on 2 nodes")
    lines = text.splitlines()
    assert lines[0] == "sgp on 2 nodes"
    assert lines[1] == "mean and 95 % interval (Student t) over seeds 0,3-5; seeds: how many the mean is over"
    assert lines[2].split() == ["mean", "±", "95", "%", "seeds", "seed", "0", "seed", "3", "seed", "4", "seed", "5"]
    cells = table_cells(text)
    loss_mean, loss_half, _ = expected_mean_ci([1.0, 2.5, 4.0])
    acc_mean, acc_half, _ = expected_mean_ci([0.5, 0.75])
    assert cells["final loss"] == [f"{loss_mean:.6g}", f"{loss_half:.2g}", "3", "1", "n/a", "2.5", "4"]
    assert cells["final accuracy"] == [f"{acc_mean:.6g}", f"{acc_half:.2g}", "2", "0.5", "n/a", "0.75", "n/a"]


def test_format_aggregates_lists_each_seed_only_when_few():
    rows = aggregate([{"final_loss": float(s)} for s in range(9)], ["final_loss"])
    text = format_aggregates(rows, list(range(9)), title="t")
    assert "seed 0" not in text and table_cells(text)["final loss"] == ["4", f"{expected_mean_ci(range(9))[1]:.2g}", "9"]


def test_half_width_below_the_mean_rounding_error_shows_as_zero():
    value = 0.1818025024
    rows = aggregate([{"sim_time": value}] * 3, ["sim_time"])
    assert table_cells(format_aggregates(rows, [0, 1, 2], title="t"))["simulated time s"][1] == "0"
    spread = aggregate([{"sim_time": value}, {"sim_time": value * (1 + 1e-9)}], ["sim_time"])
    assert table_cells(format_aggregates(spread, [0, 1], title="t"))["simulated time s"][1] == f"{spread[0].ci95:.2g}"


# --- the points of a sweep --------------------------------------------------------


@given(st.lists(st.tuples(st.sampled_from([2, 4, 8]), st.booleans(), metric_values), min_size=1, max_size=20))
def test_point_means_groups_runs_by_point_in_order_of_appearance(runs):
    rows = [{"n": n, "seed": k, "status": "ok" if ok else "failed", "loss": v if ok else None}
            for k, (n, ok, v) in enumerate(runs)]
    means = point_means(rows, ["n"], ["loss"])
    assert [m["n"] for m in means] == list(dict.fromkeys(n for n, _, _ in runs))
    for m in means:
        members = [r for r in rows if r["n"] == m["n"]]
        assert m["seeds"] == sum(r["status"] == "ok" for r in members)
        assert set(m) == {"n", "seeds", "loss_mean", "loss_ci95"}
        assert_estimate(m["loss_mean"], m["loss_ci95"], [r["loss"] for r in members])


def test_format_points_shows_grid_values_seeds_and_estimates_and_truncates():
    means = [{"a": f"x{k}", "b": None if k % 2 else True, "seeds": 3, "final_loss_mean": 1.0 + k,
              "final_loss_ci95": 0.125, "time_to_target_mean": None, "time_to_target_ci95": None} for k in range(35)]
    text = format_points(means, ["a", "b"], [("final_loss", "final_loss"), ("time_to_target", "time_to_target")],
                         more="in out/results-mean.csv")
    lines = text.splitlines()
    assert lines[0].split() == ["a", "b", "seeds", "final", "loss", "time", "to", "target", "s"]
    assert len(lines) == 1 + 30 + 1 and lines[-1] == "... 5 more points in out/results-mean.csv"
    for k, line in enumerate(lines[1:31]):
        assert line.split() == [f"x{k}", "-" if k % 2 else "true", "3", f"{1.0 + k:.4g}", "±", "0.12", "n/a"]
    assert len({len(line) for line in lines[:31]}) <= 2  # aligned columns (a line may lose its trailing spaces)
    assert format_points(means[:30], ["a"], []).splitlines()[-1].split() == ["x29", "3"]  # no note at 30 or fewer


# --- run --seeds end to end -------------------------------------------------------


def run_json(capsys, *args):
    assert main(["run", *TINY_SET, *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_run_seeds_per_seed_summaries_equal_separate_runs(capsys):
    data = run_json(capsys, "--seeds", "0,3,7", "--set", "target_loss=2.25")
    assert data["seeds"] == [0, 3, 7] and "seed" not in data["scenario"]
    assert data["scenario"]["iterations"] == 5 and data["version"] == simsgp.__version__
    alone = {seed: jsonable(simsgp.run({**TINY, "seed": seed, "target_loss": 2.25}).summary) for seed in (0, 3, 7)}
    assert [run["seed"] for run in data["runs"]] == [0, 3, 7]
    for run in data["runs"]:
        assert run["error"] is None and run["summary"] == alone[run["seed"]]
    assert list(data["aggregates"]) == list(RUN_METRICS)
    for metric, entry in data["aggregates"].items():
        values = [alone[s][metric] for s in (0, 3, 7)]
        assert_estimate(entry["mean"], entry["ci95"], values)
        assert entry["seeds"] == expected_mean_ci(values)[2]
    losses = [alone[s]["final_loss"] for s in (0, 3, 7)]
    assert len(set(losses)) == 3  # the seeds differ, so the interval is not trivially zero
    assert data["aggregates"]["final_loss"]["ci95"] > 0


def test_run_seeds_text_table_lists_each_seeds_value(capsys):
    assert main(["run", *TINY_SET, "--seeds", "1-2", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0] == f"sgp on 2 nodes, 5 iterations, 2 seeds (simsgp {simsgp.__version__})"
    cells = table_cells(text)
    assert "time to target s" not in cells  # no target set
    for seed, column in ((1, 3), (2, 4)):
        summary = simsgp.run({**TINY, "seed": seed}).summary
        assert cells["final loss"][column] == f"{summary['final_loss']:.4g}"
        assert cells["time per iteration s"][column] == f"{summary['sim_time_per_iteration']:.4g}"


def test_run_seeds_progress_is_one_line_per_seed(capsys):
    assert main(["run", *TINY_SET, "--seeds", "0-2", "--progress"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert [line.split(",")[:2] for line in err] == [
        ["run 0/3 seeds", " 0:00 elapsed"], ["run 1/3 seeds", " seed 0 done"], ["run 2/3 seeds", " seed 1 done"],
        ["run 3/3 seeds", " seed 2 done"],
    ]


def test_run_seeds_reports_a_diverged_seed_and_averages_the_others(capsys, monkeypatch):
    real = engine.run

    def diverge_seed_1(scenario, **kwargs):
        if scenario.seed == 1:
            raise DivergenceError("the training diverged by iteration 2 (node 0 first)")
        return real(scenario, **kwargs)

    monkeypatch.setattr(engine, "run", diverge_seed_1)
    assert main(["run", *TINY_SET, "--seeds", "0-1", "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["runs"][1] == {"seed": 1, "summary": None, "error": "the training diverged by iteration 2 (node 0 first)"}
    assert data["aggregates"]["final_loss"] == {"mean": data["runs"][0]["summary"]["final_loss"], "ci95": None, "seeds": 1}
    assert main(["run", *TINY_SET, "--seeds", "0-1"]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "  failed seed 1: the training diverged by iteration 2 (node 0 first)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--seeds", "2-0"], "--seeds='2-0': the range 2-0 runs backwards"),
        (["--seeds", "0-1", "--set", "seed=4"], "--seeds with --set seed=...: the seeds are given twice"),
        (["--seeds", "0-1", "--trace", "t.json"], "--trace with --seeds: a trace is of one run"),
    ],
)
def test_run_seeds_bad_input_is_one_line_and_runs_nothing(capsys, monkeypatch, tmp_path, args, message):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(engine, "run", lambda *a, **k: pytest.fail("ran"))
    assert main(["run", *TINY_SET, *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith(f"simsgp: error: {message}")
    assert captured.err.count("\n") == 1 and list(tmp_path.iterdir()) == []


# --- sweep --seeds ------------------------------------------------------------------


def half_text(mean, half):
    """How the tables show a half-width: 2 digits, 0 when within 1e-12 of the mean (the float noise of equal values)."""
    return "0" if half <= 1e-12 * abs(mean) else f"{half:.2g}"


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(cell):
    return None if cell == "" else float(cell)


def test_sweep_seeds_makes_seed_the_last_grid_key(tmp_path):
    rows = run_sweep(from_dict(TINY), {"cluster.nodes": [2, 3]}, tmp_path, workers=1, progress=False, seeds=[4, 1])
    assert [(r["cluster.nodes"], r["seed"]) for r in rows] == [(2, 4), (2, 1), (3, 4), (3, 1)]
    runs = {r["key"]: r for r in load_runs(tmp_path)}
    assert [runs[r["key"]]["point"] for r in rows] == [
        {"cluster.nodes": n, "seed": s} for n, s in [(2, 4), (2, 1), (3, 4), (3, 1)]
    ]
    assert all(runs[r["key"]]["scenario"]["seed"] == r["seed"] for r in rows)


def test_sweep_seeds_rerun_with_more_seeds_runs_only_the_new_ones(tmp_path):
    ran = []

    def recording(scenario, timeout):
        ran.append((scenario.cluster.nodes, scenario.seed))
        return sweep._run_point(scenario, timeout)

    def sweep_seeds(seeds):
        options = sweep._Options(1, None, None, False, False, False, cli=False)
        return sweep._sweep(from_dict(TINY), {"cluster.nodes": [2, 3]}, tmp_path, options, progress=False,
                            run_point=recording, seeds=seeds)

    first, skipped = sweep_seeds([0, 1])
    assert skipped == 0 and ran == [(2, 0), (2, 1), (3, 0), (3, 1)]
    ran.clear()
    rows, skipped = sweep_seeds([0, 1, 2])
    assert skipped == 4 and ran == [(2, 2), (3, 2)]
    assert [r for r in rows if r["seed"] != 2] == first
    means = read_csv(tmp_path / "results-mean.csv")
    assert [(m["cluster.nodes"], m["seeds"]) for m in means] == [("2", "3"), ("3", "3")]


def test_results_mean_csv_is_the_aggregation_of_results_csv(tmp_path):
    grid = {"cluster.nodes": [1, 2], "algorithm.name": ["sgp", "allreduce"]}  # 1 node fails at every seed
    run_sweep(from_dict(TINY), grid, tmp_path, workers=2, progress=False, seeds=[0, 1, 2])
    runs = read_csv(tmp_path / "results.csv")
    means = read_csv(tmp_path / "results-mean.csv")
    assert len(runs) == 12 and len(means) == 4
    columns = [f"summary.{c}" if c in grid else c for c in sweep.SUMMARY_COLUMNS]
    assert list(means[0]) == ["cluster.nodes", "algorithm.name", "seeds",
                              *(f"{c}_{what}" for c in columns for what in ("mean", "ci95"))]
    points = {}
    for run in runs:
        points.setdefault((run["cluster.nodes"], run["algorithm.name"]), []).append(run)
    assert [(m["cluster.nodes"], m["algorithm.name"]) for m in means] == list(points)
    for mean, members in zip(means, points.values()):
        ok = [r for r in members if r["status"] == "ok"]
        assert int(mean["seeds"]) == len(ok) == (0 if mean["cluster.nodes"] == "1" else 3)
        for column in columns:
            assert_estimate(number(mean[f"{column}_mean"]), number(mean[f"{column}_ci95"]), [number(r[column]) for r in ok])
    final = [number(r["final_loss"]) for r in points[("2", "sgp")]]
    assert len(set(final)) == 3 and number(means[2]["final_loss_ci95"]) > 0
    if importlib.util.find_spec("pyarrow") is not None:
        from pyarrow import parquet

        table = parquet.read_table(tmp_path / "results-mean.parquet").to_pylist()
        assert [row["seeds"] for row in table] == [int(m["seeds"]) for m in means]
        assert [row["final_loss_mean"] for row in table] == [number(m["final_loss_mean"]) for m in means]


def test_cli_sweep_seeds_prints_the_points_as_in_results_mean(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli_sweep(None, ["cluster.nodes=2,3"], str(out), overrides=["iterations=5", "eval_every=2", "target_loss=2.1"],
                     workers=1, scheduler=None, seeds="0-2")
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "6 runs (2 points, 3 seeds each): 6 ok (0 skipped, already done), 0 failed"
    assert lines[1] == "mean ± half-width of the 95 % interval over the seeds (Student t)"
    assert lines[2].split() == ["cluster.nodes", "seeds", "s/iteration", "median", "node", "s/iteration", "time", "to",
                                "target", "s", "final", "loss", "final", "accuracy"]
    metrics = ["sim_time_per_iteration", "median_node_time_per_iteration", "time_to_target", "final_loss", "final_accuracy"]
    for line, mean in zip(lines[3:5], read_csv(out / "results-mean.csv")):
        cells = [mean["cluster.nodes"], mean["seeds"]]
        for m in metrics:
            centre, half = number(mean[f"{m}_mean"]), number(mean[f"{m}_ci95"])
            cells += ["n/a"] if centre is None else [f"{centre:.4g}"] + ([] if half is None else ["±", half_text(centre, half)])
        assert line.split() == cells
    assert lines[5] == f"tables: {out}/results.csv (one row per run), {out}/results-mean.csv (one per point)"


@pytest.mark.parametrize(
    ("grid", "overrides", "message"),
    [
        (["seed=0,1"], [], "--seeds with --grid seed=...: the seeds are given twice"),
        (["cluster.nodes=2"], ["seed=3"], "--seeds with --set seed=...: the seeds are given twice"),
    ],
)
def test_cli_sweep_seeds_given_twice_is_an_error_before_anything_runs(tmp_path, grid, overrides, message):
    with pytest.raises(SimsgpError, match=message):
        cli_sweep(None, grid, str(tmp_path / "out"), overrides=overrides, workers=1, scheduler=None, seeds="0-1")
    assert not (tmp_path / "out").exists()


def test_run_sweep_checks_seeds_and_a_grid_over_seed(tmp_path):
    with pytest.raises(SimsgpError, match="seeds with a grid over 'seed': the seeds are given twice"):
        run_sweep(from_dict(TINY), {"seed": [0]}, tmp_path / "a", workers=1, progress=False, seeds=[1])
    with pytest.raises(SimsgpError, match=r"^seeds=\[0, 0\]: seed 0 is given twice"):
        run_sweep(from_dict(TINY), {}, tmp_path / "b", workers=1, progress=False, seeds=[0, 0])
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
