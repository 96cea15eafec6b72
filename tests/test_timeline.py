"""Per-node progress and link utilisation figures, from Results and from sweep run records."""

import json

import numpy as np
import pytest
from matplotlib.patches import StepPatch

import simsgp
from simsgp.errors import SimsgpError
from simsgp.report import series
from simsgp.report.timeline import link_utilization, progress_timeline
from simsgp.sweep import load_runs, run_sweep


def _run(nodes, iterations=8, algorithm="sgp", **cluster):
    return simsgp.run({
        "iterations": iterations, "timing_only": True,
        "cluster": {"nodes": nodes, "compute": {"model": "constant", "mean": 0.1}, **cluster},
        "algorithm": {"name": algorithm}, "task": {"payload": 5e7},
    })


@pytest.fixture(scope="module")
def straggler():
    """AD-PSGD on 4 nodes with node 3 three times slower: it falls behind."""
    return _run(4, algorithm="adpsgd", slow_nodes={"3": 3.0})


def test_progress_timeline_draws_each_node_from_its_records(straggler):
    ax = progress_timeline(straggler).axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["node 0", "node 1", "node 2", "node 3 (slowest)"]
    end = straggler.records["end"]
    for i, line in enumerate(lines):
        np.testing.assert_array_equal(line.get_xdata(), end[:, i])
        np.testing.assert_array_equal(line.get_ydata(), np.arange(1, len(end) + 1))
    assert lines[3].get_linewidth() > lines[0].get_linewidth()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("simulated time (s)", "iterations completed")
    assert ax.get_title() == "progress of each node: adpsgd, 4 nodes"


def test_progress_timeline_names_no_straggler_when_all_nodes_keep_pace():
    labels = [line.get_label() for line in progress_timeline(_run(2, iterations=3)).axes[0].get_lines()]
    assert labels == ["node 0", "node 1"]


def test_progress_timeline_of_many_nodes_draws_the_envelope_and_the_slowest():
    result = _run(40, iterations=5, algorithm="adpsgd", slow_nodes={"7": 3.0, "21": 2.0})
    ax = progress_timeline(result).axes[0]
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [
        "first of 40 nodes", "half (median) of 40 nodes", "last of 40 nodes", "node 7 (slowest)", "node 21", "node 0"
    ]
    end = result.records["end"]
    ordered = np.sort(end, axis=1)
    for line, column in zip(lines, (ordered[:, 0], ordered[:, 19], ordered[:, 39], end[:, 7], end[:, 21], end[:, 0])):
        np.testing.assert_array_equal(line.get_xdata(), column)
        np.testing.assert_array_equal(line.get_ydata(), np.arange(1, 6))
    assert ax.get_legend().get_title().get_text() == "40 nodes: envelope and the 3 slowest"
    assert len(ax.collections) == 1  # the band between the first and the last


def test_link_utilization_draws_the_busiest_links_exactly(straggler):
    fig = link_utilization(straggler)
    net = straggler.network
    top = series.busiest(net["carried"][-1], net["capacity"])
    assert len(fig.axes) == len(top) == min(8, int((net["carried"][-1] > 0).sum()))
    for ax, link in zip(fig.axes, top):
        (patch,) = ax.patches
        assert isinstance(patch, StepPatch) and patch.get_label() == net["names"][link]
        values, edges, _ = patch.get_data()
        np.testing.assert_array_equal(edges, net["time"])
        expected = np.diff(net["carried"][:, link]) / (net["capacity"][link] * np.diff(net["time"]))
        np.testing.assert_array_equal(values, expected)
        assert values.max() <= 1 + 1e-9
    assert fig.axes[0].patches[0].get_label() == straggler.summary["busiest_link"]
    assert fig.axes[-1].get_xlabel() == "simulated time (s)"
    assert fig.get_supylabel() == "utilisation (fraction of capacity)"
    assert fig.get_suptitle() == "link utilisation: adpsgd, 4 nodes"


def test_link_utilization_of_a_run_that_sent_nothing_says_so():
    result = simsgp.run({  # Local SGD averages first after 5 local steps: never, in 2 iterations
        "iterations": 2, "timing_only": True, "cluster": {"nodes": 2}, "algorithm": {"name": "localsgd", "local_steps": 5},
    })
    (ax,) = link_utilization(result).axes
    assert not ax.patches and ax.texts[0].get_text() == "no link carried any bytes"


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    base = simsgp.scenario.from_dict({
        "iterations": 250, "timing_only": True, "cluster": {"nodes": 3, "slow_nodes": {"1": 2.0}},
        "algorithm": {"name": "adpsgd"}, "task": {"payload": 5e7}, "network": {"topology": "star-10gbe"},
    })
    run_sweep(base, {"cluster.nodes": [2, 4]}, out, workers=1, progress=False)
    return out


def test_sweep_run_files_keep_a_compact_timeline_and_link_series(sweep_dir):
    runs = load_runs(sweep_dir)
    assert len(runs) == 2
    for record in runs:
        nodes = record["scenario"]["cluster"]["nodes"]
        result = simsgp.run(record["scenario"])
        timeline = series.timeline_of(record)
        rows = series.spread(250, series.TIMELINE_POINTS)
        assert len(rows) <= series.TIMELINE_POINTS and timeline["iterations"][[0, -1]].tolist() == [1, 250]
        np.testing.assert_array_equal(timeline["iterations"], rows + 1)
        np.testing.assert_array_equal(timeline["end"], result.records["end"][rows])
        links = series.links_of(record)
        assert len(links["time"]) <= series.LINK_POINTS and links["n_links"] == 2 * nodes
        assert links["names"][0] == record["summary"]["busiest_link"]
        total = [record["summary"]["link_bytes"][name] for name in links["names"]]
        np.testing.assert_allclose(links["carried"][-1], total, rtol=1e-12)
        used = series.utilization(links["time"], links["carried"], links["capacity"])
        assert used.max() <= 1 + 1e-9


def test_figures_of_a_sweep_record_draw_its_entries(sweep_dir):
    record = load_runs(sweep_dir)[0]
    lines = progress_timeline(record).axes[0].get_lines()
    entry = record["timeline"]
    assert len(lines) == entry["n_nodes"] == len(entry["nodes"])
    np.testing.assert_array_equal(lines[0].get_ydata(), entry["iterations"])
    np.testing.assert_array_equal(lines[0].get_xdata(), np.array(entry["end"])[:, 0])
    fig = link_utilization(record)
    assert [ax.patches[0].get_label() for ax in fig.axes] == record["links"]["names"]
    np.testing.assert_array_equal(fig.axes[0].patches[0].get_data()[1], record["links"]["time"])


def test_an_older_run_file_without_the_entries_loads_and_gives_notes(sweep_dir, tmp_path):
    record = load_runs(sweep_dir)[0]
    del record["timeline"], record["links"]
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / f"{record['key']}.json").write_text(json.dumps(record))
    (old,) = load_runs(tmp_path)
    ax = progress_timeline(old).axes[0]
    assert not ax.get_lines() and ax.texts[0].get_text().startswith("no per-node timeline in this run record")
    (ax,) = link_utilization(old).axes
    assert not ax.patches and ax.texts[0].get_text().startswith("no link samples in this run record")


def test_figures_of_a_failed_run_are_an_error():
    failed = {"key": "k", "status": "failed", "error": "RuntimeError: boom"}
    for figure in (progress_timeline, link_utilization):
        with pytest.raises(SimsgpError, match="run k has status 'failed'"):
            figure(failed)


def test_progress_timeline_of_many_nodes_in_step_marks_no_straggler():
    labels = [line.get_label() for line in progress_timeline(_run(34, iterations=2)).axes[0].get_lines()]
    assert labels[3:] == ["node 0", "node 1", "node 2"]  # all tie: the lowest indices, none marked
