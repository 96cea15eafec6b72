import json

import numpy as np
import pytest

import simsgp
from simsgp.errors import SimsgpError
from simsgp.report.plot import (
    cli_plot,
    loss_vs_time,
    plot_sweep,
    save,
    staleness_histogram,
    time_breakdown,
    time_per_iteration_vs_nodes,
)
from simsgp.scenario import from_dict, to_dict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results():
    """Small real runs: SGP and OSGP (with staleness) on 2 nodes."""
    return [
        simsgp.run({"iterations": 6, "eval_every": 2, "cluster": {"nodes": 2}, "algorithm": {"name": name}})
        for name in ("sgp", "osgp")
    ]


def _record(point, *, summary=None, evaluations=None, status="ok"):
    """A hand-written sweep run record at ``point`` (dotted keys applied to the default scenario)."""
    nested = {}
    for key, value in point.items():
        *parents, leaf = key.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    nodes = point.get("cluster.nodes", 8)
    base = {
        "sim_time_per_iteration": 0.1 * nodes,
        "node_compute_fraction": [0.6] * nodes,
        "node_comm_wait_fraction": [0.4] * nodes,
        "node_send_fraction": [0.3] * nodes,
        "staleness_histogram": [],
    }
    return {
        "key": "-".join(str(v) for v in point.values()),
        "status": status,
        "point": point,
        "scenario": to_dict(from_dict(nested)),
        "version": simsgp.__version__,
        "summary": {**base, **(summary or {})},
        "evaluations": evaluations
        or {"iteration": [1, 2], "sim_time": [0.5, 1.0], "loss": [2.0, 1.5], "accuracy": [None, None]},
        "error": None if status == "ok" else "RuntimeError: boom",
        "wall_seconds": 0.1,
    }


def test_loss_vs_time_lines_match_evaluations(results):
    ax = loss_vs_time(results).axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["sgp", "osgp"]
    for line, result in zip(lines, results):
        np.testing.assert_array_equal(line.get_xdata(), result.evaluations["sim_time"])
        np.testing.assert_array_equal(line.get_ydata(), result.evaluations["loss"])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_legend().get_title().get_text()) == (
        "simulated time (s)", "loss", "algorithm.name"
    )


def test_loss_vs_time_run_records_metric_and_keys():
    runs = [
        _record(
            {"cluster.nodes": 2, "seed": 1},
            evaluations={"iteration": [1, 2], "sim_time": [0.5, 1.0], "accuracy": [0.25, None]},
        ),
        _record({"cluster.nodes": 4, "seed": 1}, evaluations={"iteration": [1], "sim_time": [0.7], "accuracy": [0.5]}),
    ]
    ax = loss_vs_time(runs, label_key=["cluster.nodes", "seed"], metric="accuracy").axes[0]
    (a, b) = ax.get_lines()
    assert (a.get_label(), b.get_label()) == ("cluster.nodes=2, seed=1", "cluster.nodes=4, seed=1")
    np.testing.assert_array_equal(a.get_xdata(), [0.5, 1.0])
    np.testing.assert_array_equal(a.get_ydata(), [0.25, np.nan])
    np.testing.assert_array_equal(b.get_ydata(), [0.5])
    assert ax.get_ylabel() == "accuracy" and ax.get_legend().get_title().get_text() == ""


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "speed"}, "metric='speed'; expected one of"),
        ({"label_key": "algorithm.colour"}, "'algorithm.colour' is not a scenario field"),
    ],
)
def test_loss_vs_time_rejects_bad_options(kwargs, match):
    with pytest.raises(SimsgpError, match=match):
        loss_vs_time([_record({})], **kwargs)


def test_plot_rejects_failed_run():
    with pytest.raises(SimsgpError, match="status 'failed'"):
        time_breakdown(_record({}, status="failed"))


def test_time_per_iteration_vs_nodes_groups_and_averages():
    runs = [
        _record({"algorithm.name": name, "cluster.nodes": n, "seed": seed}, summary={"sim_time_per_iteration": y})
        for name, n, seed, y in [
            ("sgp", 4, 0, 0.3),
            ("sgp", 2, 0, 0.2),
            ("allreduce", 2, 0, 0.25),
            ("sgp", 4, 1, 0.5),
            ("allreduce", 4, 0, 0.4),
        ]
    ]
    ax = time_per_iteration_vs_nodes(runs).axes[0]
    sgp, allreduce = ax.get_lines()
    assert (sgp.get_label(), allreduce.get_label()) == ("sgp", "allreduce")
    assert sgp.get_xdata().tolist() == [2, 4] and allreduce.get_xdata().tolist() == [2, 4]
    np.testing.assert_allclose(sgp.get_ydata(), [0.2, 0.4], rtol=1e-12)
    np.testing.assert_allclose(allreduce.get_ydata(), [0.25, 0.4], rtol=1e-12)
    assert sgp.get_marker() == "o" and ax.get_xlabel() == "nodes"


def test_time_breakdown_stacks_node_fractions(results):
    summary = results[1].summary
    ax = time_breakdown(results[1]).axes[0]
    compute, wait = ax.containers
    assert [p.get_height() for p in compute] == pytest.approx(summary["node_compute_fraction"], rel=1e-12)
    assert [p.get_height() for p in wait] == pytest.approx(summary["node_comm_wait_fraction"], rel=1e-12)
    assert [p.get_y() for p in wait] == pytest.approx(summary["node_compute_fraction"], rel=1e-12)
    (send,) = ax.get_lines()
    assert send.get_ydata().tolist() == summary["node_send_fraction"] and send.get_xdata().tolist() == [0, 1]
    assert ax.get_title() == "time breakdown: osgp, 2 nodes"


def test_staleness_histogram_bars(results):
    counts = results[1].summary["staleness_histogram"]
    assert sum(counts) > 0
    ax = staleness_histogram(results[1]).axes[0]
    assert [p.get_height() for p in ax.patches] == counts
    assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == pytest.approx(range(len(counts)))
    assert not ax.texts


def test_staleness_histogram_empty_says_so(results):
    ax = staleness_histogram(results[0]).axes[0]
    assert not ax.patches
    assert [t.get_text() for t in ax.texts] == ["no staleness recorded: sgp has none"]


def test_save_writes_png_and_svg(results, tmp_path):
    paths = save(loss_vs_time(results), tmp_path / "deep" / "loss.v1")
    assert paths == [tmp_path / "deep" / "loss.v1.png", tmp_path / "deep" / "loss.v1.svg"]
    assert paths[0].read_bytes()[:8] == PNG_MAGIC
    svg = paths[1].read_text()
    assert "<svg" in svg and "simulated time (s)" in svg


def _sweep_folder(tmp, records):
    (tmp / "runs").mkdir(parents=True)
    for k, record in enumerate(records):
        (tmp / "runs" / f"{k:02d}.json").write_text(json.dumps(record))
    return tmp


def test_plot_sweep_writes_every_figure(tmp_path):
    records = [
        _record({"cluster.nodes": n, "algorithm.name": name}, summary={"staleness_histogram": [1, 3]})
        for name in ("sgp", "osgp") for n in (4, 2)
    ]
    failed = _record({"cluster.nodes": 8, "algorithm.name": "sgp"}, status="failed")
    out = _sweep_folder(tmp_path / "out", [*records, failed])
    paths = plot_sweep(out)
    names = ["loss_vs_time", "time_per_iteration_vs_nodes", "time_breakdown", "staleness_histogram"]
    assert paths == [out / "plots" / f"{name}.{fmt}" for name in names for fmt in ("png", "svg")]
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) if path.suffix == ".png" else b"<svg" in data
    svg = (out / "plots" / "loss_vs_time.svg").read_text()
    for label in ("cluster.nodes=2, algorithm.name=osgp", "cluster.nodes=4, algorithm.name=sgp"):
        assert label in svg
    assert "time breakdown: osgp, 2 nodes" in (out / "plots" / "time_breakdown.svg").read_text()


def test_plot_sweep_one_node_count_skips_scaling_plot(tmp_path, capsys):
    out = _sweep_folder(tmp_path / "out", [_record({"seed": s}) for s in (0, 1)])
    assert cli_plot(str(out), str(tmp_path / "figs")) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "figs" / f"{name}.{fmt}")
                       for name in ("loss_vs_time", "time_breakdown", "staleness_histogram") for fmt in ("png", "svg")]


def test_plot_sweep_without_finished_runs_raises(tmp_path):
    with pytest.raises(SimsgpError, match="has no runs folder"):
        plot_sweep(tmp_path)
    out = _sweep_folder(tmp_path / "out", [_record({}, status="failed")])
    with pytest.raises(SimsgpError, match="holds no finished run"):
        plot_sweep(out)
