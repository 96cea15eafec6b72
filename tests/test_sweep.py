import csv
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import simsgp
from simsgp import sweep
from simsgp.errors import ScenarioError, SimsgpError
from simsgp.scenario import apply_overrides, from_dict, to_dict
from simsgp.sweep import cli_sweep, expand_grid, load_runs, parse_grid, run_sweep, scenario_key

TINY = {"iterations": 5, "eval_every": 0, "cluster": {"nodes": 2}, "task": {"payload": "task"}}


@pytest.fixture
def base():
    return from_dict(TINY)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_files(out):
    """Every file in the runs folder, hidden ones included, with its mtime and bytes."""
    folder = out / "runs"
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


# --- grids ----------------------------------------------------------------------


def test_parse_grid_reads_toml_literals_in_order():
    grid = parse_grid(["cluster.nodes=4,8,16", "algorithm.name=sgp,allreduce", "algorithm.overlap=true,false"])
    assert grid == {"cluster.nodes": [4, 8, 16], "algorithm.name": ["sgp", "allreduce"], "algorithm.overlap": [True, False]}
    assert list(grid) == ["cluster.nodes", "algorithm.name", "algorithm.overlap"]


def test_parse_grid_keeps_commas_inside_quotes_and_arrays():
    grid = parse_grid(['task.name="a,\\"b",c', "x=[1, 2],[3]", "y={ a = 1, b = 'p,q' }", "network.latency=1e-3, 5e-3"])
    assert grid == {
        "task.name": ['a,"b', "c"], "x": [[1, 2], [3]], "y": [{"a": 1, "b": "p,q"}], "network.latency": [1e-3, 5e-3],
    }


@pytest.mark.parametrize("spec", ["cluster.nodes", "=4,8", "cluster.nodes=", "cluster.nodes=4,,8", "cluster.nodes=4,"])
def test_parse_grid_rejects_bad_spec_naming_it(spec):
    with pytest.raises(ScenarioError, match="grid spec") as info:
        parse_grid([spec])
    assert repr(spec) in str(info.value)


def test_parse_grid_rejects_key_given_twice():
    with pytest.raises(ScenarioError, match="'cluster.nodes' is already in the grid"):
        parse_grid(["cluster.nodes=4", "cluster.nodes=8"])


def test_expand_grid_first_key_varies_slowest():
    points = expand_grid({"a": [1, 2], "b": ["x", "y", "z"]})
    assert [(p["a"], p["b"]) for p in points] == [(1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z")]
    assert [list(p) for p in points] == [["a", "b"]] * 6


@pytest.mark.parametrize("values", [[], "sgp", 4])
def test_expand_grid_rejects_values_that_are_not_a_list(values):
    with pytest.raises(ScenarioError, match="grid key 'algorithm.name'"):
        expand_grid({"algorithm.name": values})


def test_scenario_key_depends_only_on_resolved_scenario(base):
    via_override = apply_overrides(base, ["cluster.nodes=4"])
    via_dict = from_dict({**TINY, "cluster": {"nodes": 4}})
    assert scenario_key(via_override) == scenario_key(via_dict)
    assert scenario_key(via_override) != scenario_key(base)
    assert len(scenario_key(base)) == 16 and int(scenario_key(base), 16) >= 0


def test_scenario_key_same_after_revalidation(base):
    """Defaults that are ints in float fields hash like the floats an override gives."""
    assert scenario_key(apply_overrides(base, [])) == scenario_key(base)


# --- local runs -----------------------------------------------------------------


def test_run_sweep_writes_one_ok_file_per_point_and_a_table(base, tmp_path):
    grid = {"cluster.nodes": [2, 4], "algorithm.name": ["sgp", "allreduce"]}
    rows = run_sweep(base, grid, tmp_path, workers=2, progress=False)

    assert [(r["cluster.nodes"], r["algorithm.name"], r["status"]) for r in rows] == [
        (2, "sgp", "ok"), (2, "allreduce", "ok"), (4, "sgp", "ok"), (4, "allreduce", "ok"),
    ]
    runs = load_runs(tmp_path)
    assert sorted(f.name for f in (tmp_path / "runs").iterdir()) == sorted(f"{r['key']}.json" for r in rows)
    assert {r["status"] for r in runs} == {"ok"} and {r["error"] for r in runs} == {None}

    table = read_csv(tmp_path / "results.csv")
    assert list(table[0]) == [
        "cluster.nodes", "algorithm.name", "key", "status", "error", *sweep.SUMMARY_COLUMNS, "wall_seconds",
    ]
    assert [(t["cluster.nodes"], t["algorithm.name"], t["key"]) for t in table] == [
        (str(r["cluster.nodes"]), r["algorithm.name"], r["key"]) for r in rows
    ]

    scenario = apply_overrides(base, ["cluster.nodes=4", "algorithm.name=allreduce"])
    direct = simsgp.run(scenario)
    record = next(r for r in runs if r["key"] == scenario_key(scenario))
    assert record["point"] == {"cluster.nodes": 4, "algorithm.name": "allreduce"}
    assert record["scenario"] == json.loads(json.dumps(to_dict(direct.scenario)))  # resolved, as the run used it
    assert record["version"] == simsgp.__version__
    assert record["summary"] == json.loads(json.dumps(direct.summary))
    assert record["evaluations"] == direct.to_dict()["evaluations"]
    assert float(table[3]["sim_time"]) == rows[3]["sim_time"] == direct.summary["sim_time"]
    assert float(table[3]["bytes_sent"]) == direct.summary["bytes_sent"]


def test_run_sweep_records_failing_points_and_runs_the_others(base, tmp_path):
    """A point that does not validate and one that fails at run time both become failed rows."""
    grid = {"cluster.nodes": [1, 2], "algorithm.peers_per_itr": [1, 5]}
    rows = run_sweep(base, grid, tmp_path, workers=2, progress=False)

    assert [r["status"] for r in rows] == ["failed", "failed", "ok", "failed"]
    assert rows[0]["error"] == rows[1]["error"] == "ScenarioError: cluster.nodes=1; expected an integer >= 2"
    assert rows[3]["error"].startswith("ScenarioError: algorithm.graph='dynamic-directed-exponential' with algorithm.peers_per_itr=5")
    assert rows[3]["sim_time"] is None and rows[2]["sim_time"] > 0
    by_key = {r["key"]: r for r in load_runs(tmp_path)}
    assert by_key[rows[0]["key"]]["scenario"] is None
    assert by_key[rows[3]["key"]]["scenario"]["algorithm"]["peers_per_itr"] == 5
    assert by_key[rows[3]["key"]]["error"] == rows[3]["error"]
    table = read_csv(tmp_path / "results.csv")
    assert [(t["status"], t["error"], t["sim_time"]) for t in table][2:] == [
        ("ok", "", repr(rows[2]["sim_time"])), ("failed", rows[3]["error"], ""),
    ]


def test_run_sweep_runs_a_repeated_scenario_once(base, tmp_path):
    rows = run_sweep(base, {"seed": [3, 3]}, tmp_path, workers=2, progress=False)
    assert rows[0]["key"] == rows[1]["key"] and rows[0] == rows[1]
    assert len(load_runs(tmp_path)) == 1


def test_run_sweep_writes_mixed_type_column_as_toml_literals(base, tmp_path):
    run_sweep(base, parse_grid(['task.payload="task",1e6']), tmp_path, workers=1, progress=False)
    assert [t["task.payload"] for t in read_csv(tmp_path / "results.csv")] == ['"task"', "1000000.0"]


def test_run_sweep_parquet_table_matches_csv(base, tmp_path):
    parquet = pytest.importorskip("pyarrow.parquet", reason="pyarrow is optional; the test extra installs it")
    rows = run_sweep(base, parse_grid(["cluster.nodes=2,3", 'task.payload="task",1e6']), tmp_path, workers=1, progress=False)
    table = parquet.read_table(tmp_path / "results.parquet").to_pylist()
    assert [list(row) for row in table] == [list(row) for row in read_csv(tmp_path / "results.csv")]
    assert [(t["cluster.nodes"], t["task.payload"], t["key"]) for t in table] == [
        (r["cluster.nodes"], '"task"' if r["task.payload"] == "task" else "1000000.0", r["key"]) for r in rows
    ]
    assert [t["sim_time_per_iteration"] for t in table] == [r["sim_time_per_iteration"] for r in rows]


def test_run_sweep_names_summary_column_apart_from_grid_key(base, tmp_path):
    rows = run_sweep(base, {"iterations": [3]}, tmp_path, workers=1, progress=False)
    assert rows[0]["iterations"] == 3 and rows[0]["summary.iterations"] == 3
    assert "summary.iterations" in read_csv(tmp_path / "results.csv")[0]


def test_run_sweep_resume_skips_ok_runs_without_rewriting(base, tmp_path):
    grid = {"cluster.nodes": [1, 2, 4]}
    first = run_sweep(base, grid, tmp_path, workers=2, progress=False)
    before = run_files(tmp_path)
    time.sleep(0.01)
    second = run_sweep(base, grid, tmp_path, workers=2, progress=False)
    after = run_files(tmp_path)

    assert second == first  # wall_seconds included: nothing ran again
    ok = {f"{r['key']}.json" for r in first if r["status"] == "ok"}
    assert {name: after[name] for name in ok} == {name: before[name] for name in ok}
    failed = f"{first[0]['key']}.json"
    assert after[failed][0] > before[failed][0]  # failed points are retried


def test_run_sweep_reruns_a_run_recorded_as_failed(base, tmp_path):
    rows = run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1, progress=False)
    path = tmp_path / "runs" / f"{rows[1]['key']}.json"
    record = json.loads(path.read_text())
    path.write_text(json.dumps({**record, "status": "failed", "wall_seconds": -1.0}))
    again = run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1, progress=False)
    assert again[0] == rows[0]
    assert again[1]["status"] == "ok" and again[1]["wall_seconds"] >= 0
    assert json.loads(path.read_text())["status"] == "ok"


@pytest.mark.slow
def test_run_sweep_killed_loses_no_finished_run(tmp_path):
    grid = {"seed": list(range(30))}
    scenario = {"iterations": 150, "eval_every": 0, "cluster": {"nodes": 8}, "task": {"payload": "task"}}
    script = textwrap.dedent(f"""
        from simsgp.scenario import from_dict
        from simsgp.sweep import run_sweep
        run_sweep(from_dict({scenario!r}), {grid!r}, {str(tmp_path)!r}, workers=1, progress=False)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    runs = tmp_path / "runs"
    deadline = time.monotonic() + 20
    while not (runs.is_dir() and any(runs.glob("*.json"))):
        assert proc.poll() is None, "the sweep ended before any run finished"
        assert time.monotonic() < deadline, "no run finished within 20 s"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()

    finished = {}
    for name, (mtime, data) in run_files(tmp_path).items():
        if name.endswith(".json"):
            assert json.loads(data)["status"] == "ok"
            finished[name] = mtime
        else:
            assert name.startswith(".") and name.endswith(".tmp")  # an interrupted write, never read as a run
    assert 0 < len(finished) < 30, "the sweep was not killed midway"
    assert not (tmp_path / "results.csv").exists()

    rows = run_sweep(from_dict(scenario), grid, tmp_path, workers=2, progress=False)
    assert [r["status"] for r in rows] == ["ok"] * 30
    after = run_files(tmp_path)
    assert sorted(after) == sorted(f"{r['key']}.json" for r in rows)  # stale temporary files cleared
    assert {name: after[name][0] for name in finished} == finished


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_run_sweep_progress_bar_on_a_terminal(base, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", _Terminal())
    run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1)
    err = sys.stderr.getvalue()
    assert err.startswith("\rsweep 0/2 runs, 0 failed, 0:00 elapsed, ~? left")
    assert "\rsweep 2/2 runs, 0 failed, 0:00 elapsed, ~0:00 left" in err and err.endswith("\n")
    monkeypatch.setattr(sys, "stderr", _Terminal())
    run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1)
    assert sys.stderr.getvalue().startswith("\rsweep 0/0 runs, 2 skipped, 0 failed")


def test_run_sweep_progress_elsewhere_is_one_plain_line_at_the_end(base, tmp_path, capsys):
    run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1)
    assert capsys.readouterr().err == "sweep 2/2 runs, 0 failed, 0:00 elapsed, ~0:00 left\n"
    run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1, progress=False)
    assert capsys.readouterr().err == ""


def test_run_sweep_rejects_bad_workers(base, tmp_path):
    with pytest.raises(SimsgpError, match="workers=0; expected an integer >= 1"):
        run_sweep(base, {"seed": [0]}, tmp_path, workers=0, progress=False)


def test_run_sweep_without_dask_says_how_to_install(base, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(SimsgpError, match=r"pip install 'simsgp\[dask\]'"):
        run_sweep(base, {"seed": [0]}, tmp_path, scheduler="tcp://127.0.0.1:1", progress=False)


def test_load_runs_rejects_folder_without_runs(tmp_path):
    with pytest.raises(SimsgpError, match="has no runs folder"):
        load_runs(tmp_path)


def test_cli_sweep_prints_summary_and_exit_code(tmp_path, capsys):
    out = str(tmp_path / "out")
    code = cli_sweep(None, ["cluster.nodes=1,2"], out, overrides=["iterations=5", "eval_every=0"], workers=1, scheduler=None)
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[:2] == [
        "2 points: 1 ok (0 skipped, already done), 1 failed",
        "  failed cluster.nodes=1: ScenarioError: cluster.nodes=1; expected an integer >= 2",
    ]
    assert lines[-1] == f"tables: {out}/results.csv (one row per run), {out}/results-mean.csv (one per point)"
    assert len(lines) == 6  # and the table of points: a header and a line per point (tests/test_seeds.py)
    assert cli_sweep(None, ["cluster.nodes=2"], out, overrides=["iterations=5", "eval_every=0"], workers=1, scheduler=None) == 0
    assert capsys.readouterr().out.splitlines()[0] == "1 points: 1 ok (1 skipped, already done), 0 failed"


# --- Dask -------------------------------------------------------------------------


def test_run_sweep_on_dask_cluster_matches_local(base, tmp_path):
    distributed = pytest.importorskip("distributed")
    grid = {"cluster.nodes": [2, 4]}
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        rows = run_sweep(base, grid, tmp_path / "dask", scheduler=cluster.scheduler_address, progress=False)
    local = run_sweep(base, grid, tmp_path / "local", workers=1, progress=False)
    assert [r["status"] for r in rows] == ["ok", "ok"]
    drop = {"wall_seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in rows] == [
        {k: v for k, v in r.items() if k not in drop} for r in local
    ]
    assert len(load_runs(tmp_path / "dask")) == 2
