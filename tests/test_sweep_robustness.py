"""Sweeps under adversity: stale inputs, corrupt run files, crashing or hanging points, Ctrl-C, two sweeps, bad paths."""

import functools
import gc
import hashlib
import json
import math
import multiprocessing
import os
import re
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from matplotlib.figure import Figure

import simsgp
from simsgp import outputs, sweep
from simsgp.cli import main
from simsgp.errors import ScenarioError, SimsgpError, TopologyError, shown
from simsgp.outputs import check_file_target, check_folder_target, write_atomic
from simsgp.report.plot import RUN_FIGURES, _finished_runs, plot_sweep, save
from simsgp.scenario import from_dict
from simsgp.sim.budget import LargeRunWarning
from simsgp.sim.topology import topology_path
from simsgp.sweep import SweepInterrupted, iter_grid, load_runs, run_sweep

TINY = {"iterations": 3, "cluster": {"nodes": 2}, "eval_every": 0}


@pytest.fixture
def base():
    return from_dict(TINY)


@pytest.fixture(autouse=True)
def no_gc_callbacks():
    """A SIGINT that lands while Python runs a gc callback (hypothesis installs one) is swallowed as unraisable;
    the Ctrl-C tests send real SIGINTs, so none may be lost that way."""
    saved = gc.callbacks[:]
    gc.callbacks.clear()
    yield
    gc.callbacks.extend(saved)


def sweep_with(base, grid, out, run_point=None, *, workers=1, timeout=None, reuse_other_versions=False):
    """``(rows, skipped)`` of a sweep through the internal seam that swaps the function running each point."""
    options = sweep._Options(workers, None, timeout, False, reuse_other_versions, False, cli=False)
    return sweep._sweep(base, grid, out, options, progress=False, run_point=run_point)


def strict_json(data):
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(data, parse_constant=refuse)


def leftovers(folder):
    """Hidden temporary files anywhere under ``folder``."""
    return sorted(p.name for p in Path(folder).rglob(".*.tmp"))


# run points handed to the sweep in tests; module level, so worker processes can run them

REAL_RUN_POINT = sweep._run_point


def dies_on_seeds_1_and_2(scenario, timeout):
    if scenario.seed == 1:
        os._exit(3)
    if scenario.seed == 2:
        os.kill(os.getpid(), signal.SIGKILL)
    return REAL_RUN_POINT(scenario, timeout)


def interrupted_at_seed_3(scenario, timeout):
    if scenario.seed == 3:
        raise KeyboardInterrupt
    return REAL_RUN_POINT(scenario, timeout)


def ctrl_c_from_seed_3(scenario, timeout):
    """As if Ctrl-C reached the sweep's process while a worker runs seed 3."""
    if scenario.seed == 3:
        os.kill(os.getppid(), signal.SIGINT)
        time.sleep(60)
    return REAL_RUN_POINT(scenario, timeout)


def non_finite(scenario, timeout):
    outcome = REAL_RUN_POINT(scenario, timeout)
    outcome["summary"].update(final_loss=math.nan, sim_time=math.inf, staleness_histogram=[-math.inf, 1.0])
    outcome["wall_seconds"] = math.nan
    return outcome


def sleeps_on_seed_1(scenario, timeout):
    if scenario.seed == 1:
        time.sleep(2)
    return REAL_RUN_POINT(scenario, timeout)


# --- stale results ---------------------------------------------------------------


def test_edited_compute_trace_is_run_again(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("0.1,0.1\n")
    base = from_dict({**TINY, "cluster": {"nodes": 2, "compute": {"model": "trace", "path": str(trace)}}})
    out = tmp_path / "out"
    (first,), _ = sweep_with(base, {"seed": [0]}, out)
    assert first["status"] == "ok"
    record = load_runs(out)[0]
    digest = hashlib.sha256(b"0.1,0.1\n").hexdigest()
    assert record["inputs"]["cluster.compute.path"] == {"path": str(trace), "sha256": digest}
    assert set(record["inputs"]) == {"cluster.compute.path", "network.topology"}

    _, skipped = sweep_with(base, {"seed": [0]}, out)
    assert skipped == 1  # unchanged inputs: reused

    trace.write_text("0.5,0.5\n")
    (second,), skipped = sweep_with(base, {"seed": [0]}, out)
    assert skipped == 0 and second["key"] == first["key"]
    assert second["sim_time"] > 4 * first["sim_time"]
    assert load_runs(out)[0]["summary"]["sim_time"] == second["sim_time"]


def test_edited_topology_file_is_run_again(tmp_path):
    topology = tmp_path / "net.toml"
    topology.write_text(topology_path("star-10gbe").read_text())
    base = from_dict({**TINY, "network": {"topology": str(topology)}, "task": {"payload": 1e8}})
    out = tmp_path / "out"
    (first,), _ = sweep_with(base, {"seed": [0]}, out)
    topology.write_text(topology.read_text().replace("bandwidth = 1.25e9", "bandwidth = 1.25e7"))
    (second,), skipped = sweep_with(base, {"seed": [0]}, out)
    assert skipped == 0 and second["sim_time"] > 10 * first["sim_time"]


def test_run_of_another_version_is_redone_unless_asked(base, tmp_path):
    (first,), _ = sweep_with(base, {"seed": [0]}, tmp_path)
    path = tmp_path / "runs" / f"{first['key']}.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": "0.0.1", "wall_seconds": -1.0}))

    (kept,), skipped = sweep_with(base, {"seed": [0]}, tmp_path, reuse_other_versions=True)
    assert skipped == 1 and kept["wall_seconds"] == -1.0

    (redone,), skipped = sweep_with(base, {"seed": [0]}, tmp_path)
    assert skipped == 0 and redone["wall_seconds"] > 0
    assert json.loads(path.read_text())["version"] == simsgp.__version__


def test_cli_reuse_other_versions(tmp_path, capsys):
    argv = ["sweep", "--set", "iterations=2", "--set", "eval_every=0", "--grid", "seed=0", "--out", str(tmp_path),
            "--workers", "1"]
    assert main(argv) == 0
    (path,) = (tmp_path / "runs").glob("*.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), "version": "0.0.1"}))
    capsys.readouterr()
    assert main([*argv, "--reuse-other-versions"]) == 0
    assert capsys.readouterr().out.startswith("1 points: 1 ok (1 skipped, already done)")
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("1 points: 1 ok (0 skipped, already done)")


def test_unreadable_input_file_fails_only_its_point(base, tmp_path, monkeypatch):
    real = sweep.input_files

    def files(scenario):
        return {**real(scenario), "cluster.compute.path": tmp_path / "gone.csv"} if scenario.seed == 1 else real(scenario)

    monkeypatch.setattr(sweep, "input_files", files)
    rows, _ = sweep_with(base, {"seed": [0, 1]}, tmp_path / "out")
    assert [r["status"] for r in rows] == ["ok", "failed"]
    gone = str(tmp_path / "gone.csv")
    assert rows[1]["error"].startswith(f"ScenarioError: cluster.compute.path={shown(gone)}: cannot read the file (")


def test_any_simsgp_error_while_resolving_fails_only_that_point(base, tmp_path, monkeypatch):
    real = sweep.apply_overrides

    def resolve(scenario, overrides):
        if "seed=1" in overrides:
            raise TopologyError("network: the racks do not fit")
        return real(scenario, overrides)

    monkeypatch.setattr(sweep, "apply_overrides", resolve)
    rows = run_sweep(base, {"seed": [0, 1, 2]}, tmp_path, workers=1, progress=False)
    assert [r["status"] for r in rows] == ["ok", "failed", "ok"]
    assert rows[1]["error"] == "TopologyError: network: the racks do not fit"


# --- corrupt run files -----------------------------------------------------------


def _spoil_wrong_type(path):
    path.write_text(json.dumps({**json.loads(path.read_text()), "summary": [1, 2]}))


def _spoil_missing_key(path):
    record = json.loads(path.read_text())
    del record["status"]
    path.write_text(json.dumps(record))


@pytest.mark.parametrize(
    ("spoil", "reason"),
    [
        (lambda p: p.write_bytes(b"\xff\xfe{}"), "not UTF-8 text"),
        (lambda p: p.write_text('{"key": '), "not JSON"),
        (lambda p: p.write_text("[]"), "a JSON list, not an object"),
        (_spoil_missing_key, "no 'status'"),
        (_spoil_wrong_type, "'summary' is a list"),
    ],
    ids=["not-utf8", "not-json", "list", "missing-key", "wrong-type"],
)
def test_corrupt_run_file_is_redone_and_skipped_when_loading(base, tmp_path, spoil, reason):
    rows, _ = sweep_with(base, {"seed": [0, 1]}, tmp_path)
    path = tmp_path / "runs" / f"{rows[1]['key']}.json"
    spoil(path)

    with pytest.warns(UserWarning) as warned:
        runs = load_runs(tmp_path)
    (message,) = [str(w.message) for w in warned]
    assert len(runs) == 1 and message.startswith(f"skipping {str(path)!r}: not a run record ({reason}")

    with pytest.warns(UserWarning, match=f"is not a run record \\({re.escape(reason)}.*\\); running it again$"):
        again, skipped = sweep_with(base, {"seed": [0, 1]}, tmp_path)
    assert skipped == 1 and [r["status"] for r in again] == ["ok", "ok"]
    assert strict_json(path.read_text())["status"] == "ok"


def test_folder_in_place_of_a_run_file_fails_that_point(base, tmp_path):
    key = sweep.scenario_key(from_dict({**TINY, "seed": 1}))
    path = tmp_path / "runs" / f"{key}.json"
    path.mkdir(parents=True)
    rows, _ = sweep_with(base, {"seed": [0, 1]}, tmp_path)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[1]["error"] == f"SimsgpError: out run file={shown(str(path))} is a folder; expected a file path"
    with pytest.warns(UserWarning) as warned:
        assert len(load_runs(tmp_path)) == len(_finished_runs(tmp_path)) == 1
    assert [str(w.message) for w in warned] == [
        f"skipping {str(path)!r}: not a run record (cannot read it (Is a directory))"
    ] * 2


def test_cli_prints_a_skipped_run_file_as_one_warning_line(base, tmp_path, capsys):
    run_sweep(base, {"seed": [0]}, tmp_path, workers=1, progress=False)
    (tmp_path / "runs" / "0123456789abcdef.json").write_text("[]")
    assert main(["plot", str(tmp_path), "--dest", str(tmp_path / "figures")]) == 0
    path = tmp_path / "runs" / "0123456789abcdef.json"
    assert capsys.readouterr().err == f"simsgp: warning: skipping {str(path)!r}: not a run record (a JSON list, not an object)\n"


def test_a_run_file_that_cannot_be_written_fails_that_point(base, tmp_path, monkeypatch):
    real = sweep.write_atomic

    def write(path, data):
        if Path(path).parent.name == "runs" and b'"seed": 1' in data:
            raise SimsgpError(f"cannot write {str(path)!r}: No space left on device")
        real(path, data)

    monkeypatch.setattr(sweep, "write_atomic", write)
    rows = run_sweep(base, {"seed": [0, 1]}, tmp_path, workers=1, progress=False)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[1]["error"].endswith("No space left on device") and rows[1]["sim_time"] is None


# --- JSON is JSON ----------------------------------------------------------------


def test_every_file_written_is_strict_json_with_null_for_non_finite(base, tmp_path):
    rows, _ = sweep_with(base, {"seed": [0, 1], "cluster.nodes": [1, 2]}, tmp_path, non_finite)
    files = sorted((tmp_path / "runs").glob("*.json"))
    assert len(files) == 4
    records = [strict_json(p.read_text()) for p in files]
    ok = [r for r in records if r["status"] == "ok"]
    assert len(ok) == 2
    for record in ok:
        assert record["summary"]["final_loss"] is None and record["summary"]["sim_time"] is None
        assert record["summary"]["staleness_histogram"] == [None, 1.0] and record["wall_seconds"] is None
    assert [r["sim_time"] for r in rows] == [None, None, None, None]


# --- grids -------------------------------------------------------------------------


def test_absurd_grid_is_refused_before_anything_is_expanded(base, tmp_path):
    grid = {f"k{i}": list(range(20)) for i in range(6)}  # 64 million points
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"^the grid has 64000000 points; at most 100000 are allowed"):
        run_sweep(base, grid, tmp_path / "out", workers=1, progress=False)
    assert time.perf_counter() - start < 1 and not (tmp_path / "out").exists()
    with pytest.raises(ScenarioError, match=r"the grid has <an integer of about 3001 digits> points"):
        iter_grid({f"k{i}": list(range(10)) for i in range(3000)})


def test_iter_grid_is_lazy_and_expand_grid_lists_it():
    points = iter_grid({"a": list(range(300)), "b": list(range(300))})  # 90 000 points, produced one by one
    assert next(points) == {"a": 0, "b": 0} and next(points) == {"a": 0, "b": 1}
    assert sweep.expand_grid({"a": [1, 2], "b": [3]}) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]


# --- timeouts ----------------------------------------------------------------------


@pytest.mark.parametrize("workers", [1, 2])
def test_point_past_its_timeout_fails_and_is_redone(base, tmp_path, workers):
    previous = signal.getsignal(signal.SIGALRM)
    grid = {"iterations": [3, 10**6]}
    rows = run_sweep(base, grid, tmp_path, workers=workers, timeout=0.5, progress=False)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[1]["error"] == "timed out after 0.5 s" and 0.5 <= rows[1]["wall_seconds"] < 5
    assert signal.getsignal(signal.SIGALRM) is previous and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    rows, skipped = sweep_with(base, grid, tmp_path, workers=workers, timeout=0.3)
    assert skipped == 1 and rows[1]["error"] == "timed out after 0.3 s"


@pytest.mark.parametrize("timeout", [0, -1.0, math.inf, math.nan, True, "5"])
def test_bad_timeout_is_refused(base, tmp_path, timeout):
    with pytest.raises(SimsgpError, match=r"^timeout=.*; expected a positive finite number of seconds$"):
        run_sweep(base, {"seed": [0]}, tmp_path, timeout=timeout, progress=False)


def test_timeout_in_process_needs_the_main_thread(base, tmp_path):
    errors = []

    def sweep_in_a_thread():
        try:
            run_sweep(base, {"seed": [0]}, tmp_path, workers=1, timeout=1, progress=False)
        except SimsgpError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=sweep_in_a_thread)
    thread.start()
    thread.join()
    assert errors == [
        "timeout with workers=1 needs the main thread (a SIGALRM timer); use more workers or sweep from the main thread"
    ]


def test_cli_bad_timeout_names_the_option(tmp_path, capsys):
    assert main(["sweep", "--grid", "seed=0", "--out", str(tmp_path), "--timeout", "0"]) == 2
    assert capsys.readouterr().err == "simsgp: error: --timeout=0.0; expected a positive finite number of seconds\n"


# --- dying workers, parent death -----------------------------------------------------


def test_a_worker_that_dies_fails_only_its_point(base, tmp_path):
    rows, _ = sweep_with(base, {"seed": [0, 1, 2, 3, 4]}, tmp_path, dies_on_seeds_1_and_2, workers=2)
    assert [r["status"] for r in rows] == ["ok", "failed", "failed", "ok", "ok"]
    assert rows[1]["error"] == "worker process died (exit code 3)"
    assert rows[2]["error"] == "worker process died (killed by signal 9)"
    assert not multiprocessing.active_children()


def _alive(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_end_when_the_sweep_process_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import os, time
        from simsgp import sweep
        from simsgp.scenario import from_dict

        def hang(scenario, timeout):
            open(os.path.join({str(tmp_path)!r}, f"worker-{{os.getpid()}}"), "w").close()
            time.sleep(60)

        todo = {{str(seed): from_dict({{"seed": seed, "cluster": {{"nodes": 2}}}}) for seed in range(2)}}
        for _ in sweep._execute(todo, sweep._Options(2, None, None, False, False, False, cli=False), hang):
            pass
    """)
    parent = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 30
    while len(list(tmp_path.glob("worker-*"))) < 2:
        assert parent.poll() is None and time.monotonic() < deadline, "the workers did not start"
        time.sleep(0.02)
    workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("worker-*")]
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while any(map(_alive, workers)):
        assert time.monotonic() < deadline, "a worker outlived the sweep's process"
        time.sleep(0.02)


# --- Dask ---------------------------------------------------------------------------


def test_unreachable_scheduler_is_a_quick_one_line_error(base, tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "_CONNECT_TIMEOUT", 1.0)
    start = time.perf_counter()
    with pytest.raises(SimsgpError) as info:
        run_sweep(base, {"seed": [0]}, tmp_path, scheduler="tcp://127.0.0.1:1", progress=False)
    assert time.perf_counter() - start < 5
    assert str(info.value) == (
        "scheduler='tcp://127.0.0.1:1': no Dask scheduler answered within 1 s; expected the address of a running one"
    )
    with pytest.raises(SimsgpError, match=r"^scheduler='nonsense' is not a Dask address \(.*\); expected one such as"):
        run_sweep(base, {"seed": [0]}, tmp_path, scheduler="nonsense", progress=False)


def test_cli_unreachable_scheduler_names_the_option(tmp_path, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "_CONNECT_TIMEOUT", 0.5)
    argv = ["sweep", "--set", "iterations=2", "--grid", "seed=0", "--out", str(tmp_path), "--scheduler", "tcp://127.0.0.1:1"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsgp: error: --scheduler='tcp://127.0.0.1:1': no Dask scheduler answered within 0.5 s")
    assert len(err.splitlines()) == 1


def test_dask_cluster_without_workers_stops_the_sweep(base, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "_NO_WORKERS_GRACE", 1.0)
    monkeypatch.setattr(sweep, "_POLL", 0.1)
    match = r"the Dask cluster has had no workers for 1 s; 2 runs did not finish"
    with distributed.LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster, pytest.raises(
        SimsgpError, match=match
    ):
        run_sweep(base, {"seed": [0, 1]}, tmp_path, scheduler=cluster.scheduler_address, progress=False)


@pytest.mark.slow
def test_dask_timeout_gives_up_on_the_run(base, tmp_path, monkeypatch):
    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "_POLL", 0.1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        options = sweep._Options(1, cluster.scheduler_address, 0.5, False, False, False, cli=False)
        rows, _ = sweep._sweep(base, {"seed": [0, 1]}, tmp_path, options, progress=False, run_point=sleeps_on_seed_1)
    assert [r["status"] for r in rows] == ["ok", "failed"] and rows[1]["error"] == "timed out after 0.5 s"


# --- two sweeps on one folder, Ctrl-C --------------------------------------------------


def test_second_sweep_on_a_busy_folder_stops_at_once(base, tmp_path):
    (tmp_path / "runs").mkdir()
    in_flight = tmp_path / "runs" / ".0123456789abcdef.json.1a2b3c4d.tmp"
    in_flight.write_text("{")
    with sweep._folder_lock(tmp_path, "out") as locked:
        assert locked
        with pytest.raises(SimsgpError) as info:
            run_sweep(base, {"seed": [0]}, tmp_path, workers=1, progress=False)
        assert str(info.value) == (
            f"out={str(tmp_path)!r} is in use by another simsgp sweep (pid {os.getpid()}); "
            "wait for it to end or use another folder"
        )
        assert in_flight.exists() and not list((tmp_path / "runs").glob("*.json"))
    rows = run_sweep(base, {"seed": [0]}, tmp_path, workers=1, progress=False)
    assert rows[0]["status"] == "ok" and not in_flight.exists()  # the holder of the lock clears stale files


@pytest.mark.parametrize(("workers", "run_point"), [(1, interrupted_at_seed_3), (2, ctrl_c_from_seed_3)])
def test_ctrl_c_keeps_finished_runs_and_stops_the_workers(base, tmp_path, workers, run_point):
    start = time.perf_counter()
    with pytest.raises(SweepInterrupted) as info:
        sweep_with(base, {"seed": [0, 1, 2, 3, 4, 5]}, tmp_path, run_point, workers=workers)
    assert time.perf_counter() - start < 10
    kept = {r["point"]["seed"] for r in load_runs(tmp_path)}
    assert {0, 1, 2} <= kept if workers == 1 else kept, "finished runs were lost"
    assert 3 not in kept and info.value.finished == len(kept) and info.value.total == 6
    assert str(info.value) == f"interrupted; {len(kept)} of 6 runs finished and kept in {tmp_path} (rerun to resume)"
    assert not leftovers(tmp_path) and not multiprocessing.active_children()
    assert not (tmp_path / "results.csv").exists()


def test_cli_ctrl_c_prints_one_line_and_exits_130(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "_run_point", interrupted_at_seed_3)
    argv = ["sweep", "--set", "iterations=2", "--set", "eval_every=0", "--grid", "seed=0,1,2,3,4", "--out", str(tmp_path),
            "--workers", "1"]
    assert main(argv) == 130
    err = capsys.readouterr().err.splitlines()
    assert err[-1] == f"simsgp: interrupted; 3 of 5 runs finished and kept in {tmp_path} (rerun to resume)"


# --- modes, atomic writes --------------------------------------------------------------


def test_output_files_honour_the_umask(base, tmp_path):
    previous = os.umask(0o022)
    try:
        run_sweep(base, {"seed": [0]}, tmp_path / "out", workers=1, progress=False)
        save(Figure(), tmp_path / "out" / "plots" / "loss_vs_time")
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"results.csv", ".simsgp-sweep.lock", "loss_vs_time.png"}
    assert {stat.S_IMODE(p.stat().st_mode) for p in files} == {0o644}
    assert stat.S_IMODE((tmp_path / "out" / "runs").stat().st_mode) == 0o755


@pytest.mark.parametrize("where", ["fsync", "replace"])
@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch, where, error):
    target = tmp_path / "a.json"
    target.write_text("old")

    def fail(*args):
        raise error

    monkeypatch.setattr(outputs.os, where, fail)
    with pytest.raises(SimsgpError if isinstance(error, OSError) else KeyboardInterrupt) as info:
        write_atomic(target, b"new")
    if isinstance(error, OSError):
        assert str(info.value) == f"cannot write {str(target)!r}: No space left on device"
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["a.json"] and target.read_text() == "old"


def test_write_atomic_never_writes_through_a_link_or_over_a_folder(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("keep")
    (tmp_path / "link.txt").symlink_to(real)
    with pytest.raises(SimsgpError, match=r"link.txt' is a symbolic link; expected a plain file"):
        write_atomic(tmp_path / "link.txt", b"new")
    (tmp_path / "folder").mkdir()
    with pytest.raises(SimsgpError, match=r"folder': it is a folder; remove it or choose another path"):
        write_atomic(tmp_path / "folder", b"new")
    assert real.read_text() == "keep" and (tmp_path / "link.txt").is_symlink() and not leftovers(tmp_path)


# --- output targets -----------------------------------------------------------------------


def _refused_file_targets(tmp):
    (tmp / "dir").mkdir()
    (tmp / "file").write_text("x")
    (tmp / "link").symlink_to(tmp / "file")
    (tmp / "dangling").symlink_to(tmp / "nowhere")
    os.mkfifo(tmp / "fifo")
    return [
        ("", "--trace='' is empty; expected a path"),
        ("x" * 300, "is too long for this system; expected a shorter path"),
        ("a\0b", "holds a NUL character; expected a path"),
        (str(tmp / "missing" / "t.json"), f"folder {str(tmp / 'missing')!r} does not exist; create it first"),
        (str(tmp / "file" / "t.json"), "a part of the path before the last is a file, not a folder"),
        (str(tmp / "dir"), "is a folder; expected a file path"),
        (str(tmp / "link"), "is a symbolic link; expected a plain file path (simsgp never writes through a link)"),
        (str(tmp / "dangling"), "is a symbolic link"),
        (str(tmp / "fifo"), "is not a regular file (a device, pipe or socket); expected a file path"),
        (str(tmp / "file"), "exists and is not a trace written by simsgp; pass --force to overwrite it"),
    ]


def test_check_file_target_refusals(tmp_path):
    for path, message in _refused_file_targets(tmp_path):
        with pytest.raises(SimsgpError) as info:
            check_file_target(path, option="--trace", what="a trace written by simsgp")
        text = str(info.value)
        assert text.startswith("--trace=") and message in text and "\n" not in text and len(text) < 250, text


def test_check_file_target_accepts_new_ours_and_forced(tmp_path):
    (tmp_path / "ours.json").write_text("{}")
    (tmp_path / "theirs.json").write_text("x")
    assert check_file_target(str(tmp_path / "new.json"), option="--trace") == tmp_path / "new.json"
    assert check_file_target(tmp_path / "ours.json", option="--trace", ours=lambda p: p.read_text() == "{}")
    assert check_file_target(tmp_path / "theirs.json", option="--trace", force=True)
    with pytest.raises(SimsgpError, match="is a symbolic link"):  # force never allows a link
        (tmp_path / "link").symlink_to(tmp_path / "theirs.json")
        check_file_target(tmp_path / "link", option="--trace", force=True)


def test_check_folder_target(tmp_path):
    (tmp_path / "file").write_text("x")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "notes.txt").write_text("mine")
    (tmp_path / "link").symlink_to(tmp_path / "full")
    cases = [
        (tmp_path / "file", "is a file; expected a folder (new or made by simsgp sweep)"),
        (tmp_path / "file" / "sub", "a part of the path before the last is a file"),
        (tmp_path / "link", "is a symbolic link; expected a real folder"),
        (tmp_path / "full", "is a non-empty folder not made by simsgp sweep; pass --force to write into it"),
        ("", "is empty; expected a path"),
    ]
    for path, message in cases:
        with pytest.raises(SimsgpError, match="^--out=") as info:
            check_folder_target(path, option="--out", what="made by simsgp sweep")
        assert message in str(info.value)
    assert check_folder_target(tmp_path / "new" / "deeper", option="--out") == tmp_path / "new" / "deeper"
    assert check_folder_target(tmp_path / "full", option="--out", force=True) == tmp_path / "full"
    assert check_folder_target(tmp_path / "full", option="--out", ours=lambda p: (p / "notes.txt").exists())


def test_cli_sweep_out_file_and_plot_dest_file_fail_before_anything_runs(tmp_path, capsys):
    afile = tmp_path / "x.txt"
    afile.write_text("mine")
    sweep_argv = ["sweep", "--set", "iterations=2", "--set", "eval_every=0", "--grid", "seed=0"]
    assert main([*sweep_argv, "--out", str(afile)]) == 2
    assert capsys.readouterr().err == (
        f"simsgp: error: --out={str(afile)!r} is a file; expected a folder (new or made by simsgp sweep)\n"
    )
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    assert main([*sweep_argv, "--out", str(theirs)]) == 2
    assert "is a non-empty folder not made by simsgp sweep; pass --force" in capsys.readouterr().err
    assert not (theirs / "runs").exists()
    assert main([*sweep_argv, "--out", str(theirs), "--force", "--workers", "1"]) == 0
    assert (theirs / "results.csv").exists() and (theirs / "notes.txt").read_text() == "mine"
    capsys.readouterr()

    assert main(["plot", str(theirs), "--dest", str(afile)]) == 2
    assert capsys.readouterr().err == (
        f"simsgp: error: --dest={str(afile)!r} is a file; expected a folder (new or made by simsgp plot)\n"
    )
    assert main(["plot", str(theirs), "--dest", str(theirs)]) == 2
    assert "--dest=" in capsys.readouterr().err and not (theirs / "loss_vs_time.png").exists()
    assert main(["plot", str(theirs), "--dest", str(theirs), "--force"]) == 0
    assert (theirs / "loss_vs_time.png").exists()


def test_plot_rewrites_its_own_figures_but_not_other_files(tmp_path, capsys):
    sweep_folder = tmp_path / "out"
    run_sweep(from_dict(TINY), {"seed": [0]}, sweep_folder, workers=1, progress=False)
    plots = sweep_folder / "plots"
    plots.mkdir()
    (plots / "loss_vs_time.png").write_bytes(b"old")
    (plots / ".time_breakdown.svg.0a1b2c3d.tmp").write_bytes(b"")
    written = plot_sweep(sweep_folder)  # one run: loss against time and each figure of one run, PNG and SVG
    assert len(written) == 2 * (1 + len(RUN_FIGURES)) and (plots / "loss_vs_time.png").read_bytes() != b"old"
    (plots / "notes.txt").write_text("mine")
    with pytest.raises(SimsgpError, match=r"^dest_dir='.*plots' is a non-empty folder not made by simsgp plot; pass"):
        plot_sweep(sweep_folder)


def test_points_past_the_limits_fail_unless_the_sweep_allows_large_runs(base, tmp_path, monkeypatch):
    monkeypatch.setattr(sweep, "Limits", functools.partial(sweep.Limits, events=10))
    refused = sweep.run_sweep(base, {"seed": [0]}, tmp_path / "a", workers=1, progress=False)
    assert refused[0]["status"] == "failed" and refused[0]["error"].startswith("ResourceError: the run would process about")
    with pytest.warns(LargeRunWarning):
        allowed = sweep.run_sweep(base, {"seed": [0]}, tmp_path / "b", workers=1, progress=False, allow_large=True)
    assert allowed[0]["status"] == "ok"


def test_a_diverging_point_fails_with_the_reason_and_the_others_go_on(base, tmp_path):
    grid = {"iterations": [20], "algorithm.lr": [0.1, 1e30]}
    rows = sweep.run_sweep(base, grid, tmp_path, workers=1, progress=False)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[1]["error"].startswith("DivergenceError: the training diverged")


def test_a_grid_point_with_a_window_missing_keys_fails_alone(base, tmp_path):
    rows = sweep.run_sweep(base, {"cluster.failures": [[], [{"node": 1}]]}, tmp_path, workers=1, progress=False)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert "cluster.failures[0]: missing key 'start'" in rows[1]["error"]
