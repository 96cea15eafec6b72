"""The command line, run in-process."""

import json
import subprocess
import sys

import pytest

from simsgp.cli import main


def test_cli_run_prints_readable_summary(capsys):
    assert main(["run", "--set", "iterations=5", "--set", "cluster.nodes=4"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("sgp on 4 nodes, 5 iterations")
    for label in ("s per iteration", "final loss", "final accuracy", "time computing", "time communicating"):
        assert label in out


def test_cli_run_header_names_a_non_numpy_backend(capsys):
    pytest.importorskip("torch", reason="PyTorch is optional: pip install 'simsgp[torch]'")
    assert main(["run", "--set", "iterations=2", "--set", "cluster.nodes=2", "--set", "backend=torch"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("sgp on 2 nodes, 2 iterations (simsgp ") and header.endswith(", seed 0, torch on cpu)")


def test_cli_run_progress_line_on_stderr(capsys, tmp_path):
    argv = ["run", "--set", "iterations=3", "--set", "cluster.nodes=2", "--set", 'task.payload="task"']
    assert main([*argv, "--progress"]) == 0
    err = capsys.readouterr().err  # not a terminal: one plain line at the end, no carriage returns
    assert err.startswith("run 3/3 iterations, sim 0.3") and err.endswith(" left\n") and "\r" not in err
    assert main([*argv, "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    assert main(argv) == 0  # stderr is not a terminal here: no line by default
    assert capsys.readouterr().err == ""
    limited = tmp_path / "limited.toml"
    limited.write_text("time_limit = 0.35\n[cluster]\nnodes = 2\n")
    assert main(["run", str(limited), "--progress"]) == 0
    last = capsys.readouterr().err.rstrip("\n").split("\r")[-1]
    assert last.startswith("run 0.3") and "/0.35 simulated s, 3 iterations," in last


def test_progress_line_counts_in_plain_figures():
    import io

    from simsgp.report.progress import ProgressLine

    out = io.StringIO()
    line = ProgressLine("run", 2_000_000, "iterations", interval=0, stream=out)
    line.update(1_500_000, "sim 12.5 s")
    line.close()
    assert out.getvalue().split("\r")[-1].startswith("run 1500000/2000000 iterations, sim 12.5 s, 0:00 elapsed, ~0:00 left")


def test_cli_run_json_has_resolved_scenario(capsys, tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('iterations = 3\n[cluster]\nnodes = 3\n[algorithm]\nname = "allreduce"\n')
    assert main(["run", str(path), "--json", "--set", "seed=4"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scenario"]["seed"] == 4 and data["scenario"]["algorithm"]["name"] == "allreduce"
    assert data["summary"]["iterations"] == 3 and data["version"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--set", "cluster.nodes=1"], "cluster.nodes=1; expected an integer >= 2"),
        (["run", "--set", "network.bandwidth=-1"], "network.bandwidth=-1.0; expected a positive"),
        (["run", "missing.toml"], "no such file"),
        (["run", "--set", "algorithm.nme=sgp"], "did you mean 'name'"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsgp: error: ") and message in err and len(err.strip().splitlines()) == 1


def test_cli_run_unparsable_toml(capsys, tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[cluster\n")
    assert main(["run", str(path)]) == 2
    assert "does not parse as TOML" in capsys.readouterr().err


def test_cli_graphs_prints_schedule_and_gap(capsys):
    assert main(["graphs", "dynamic-directed-exponential", "--nodes", "8"]) == 0
    out = capsys.readouterr().out
    assert "spectral gap" in out.lower() and "column-stochastic" in out.lower()


def test_cli_scenarios_lists_presets(capsys):
    assert main(["scenarios"]) == 0
    assert capsys.readouterr().out.startswith("default ")


def test_cli_run_trace_writes_perfetto_json(capsys, tmp_path):
    path = tmp_path / "timeline.json"
    assert main(["run", "--set", "iterations=3", "--set", "cluster.nodes=2", "--trace", str(path)]) == 0
    events = json.loads(path.read_text())["traceEvents"]
    assert sum(e["name"] == "compute" for e in events) == 6
    assert sum(e["ph"] == "s" for e in events) == sum(e["ph"] == "f" for e in events) == 6


def test_cli_sweep_then_plot(capsys, tmp_path):
    out = tmp_path / "runs"
    argv = ["sweep", "--set", "iterations=3", "--set", "eval_every=1", "--grid", "cluster.nodes=2,3", "--out", str(out), "--workers", "1"]
    assert main(argv) == 0
    assert (out / "results.csv").read_text().count("\n") == 3
    assert main(argv) == 0  # resumed: nothing reruns
    assert "2 skipped" in capsys.readouterr().out
    assert main(["plot", str(out)]) == 0
    assert (out / "plots" / "loss_vs_time.svg").exists()


def test_cli_sweep_bad_grid_is_one_line(capsys, tmp_path):
    assert main(["sweep", "--grid", "cluster.nodes", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("simsgp: error: ")


def test_cli_calibrate_fits_and_predicts(capsys):
    argv = ["calibrate", "paper-resnet50-10gbe", "--measure", "sgp:4=0.377", "--measure", "dpsgd:4=0.628", "--predict", "dpsgd:8=0.618"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("fitted:\n  cluster.compute.mean@sgp ") and "dpsgd:8 " in out and "held out" in out
    # two points cannot fix three values (a compute time per algorithm and the efficiency): said, not hidden
    assert "warning: under-determined: 3 parameters from 2 points" in out


def test_cli_reproduce_paper_prints_every_cell(capsys):
    assert main(["reproduce", "paper"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 + 16 + 1 and lines[2].split()[:4] == ["allreduce:4", "recursive", "doubling", "0.704"]
    assert lines[-1].startswith("held out (16 points): worst ")


def test_cli_bad_measurement(capsys):
    assert main(["calibrate", "--measure", "sgp=0.3"]) == 2
    assert "ALGORITHM:NODES=SECONDS" in capsys.readouterr().err


def test_cli_output_into_a_closed_pipe_stops_quietly():
    """`simsgp run | head -1`: no BrokenPipeError traceback on stderr."""
    code = "from simsgp.cli import main; raise SystemExit(main(['run', '--set', 'iterations=2', '--set', 'cluster.nodes=2']))"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.stdout.close()  # the reader is gone before the first line
    stderr = process.stderr.read()
    assert process.wait(timeout=120) == 141 and "Traceback" not in stderr
