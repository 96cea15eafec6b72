import json
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.collections import PolyCollection
from scipy import stats as scipy_stats

import simsgp
from simsgp.cli import main
from simsgp.errors import SimsgpError
from simsgp.report import plot as plot_mod
from simsgp.report import runs as runs_mod
from simsgp.report.bands import common_grid, mean_band
from simsgp.report.plot import (
    RUN_FIGURES,
    accuracy_vs_time,
    cli_plot,
    loss_vs_time,
    plot_sweep,
    save,
    staleness_histogram,
    time_breakdown,
    time_per_iteration_vs_nodes,
)
from simsgp.report.style import COLORS, LINE_STYLES, line_style, plain_number, spans_decades
from simsgp.scenario import from_dict, to_dict

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def results():
    """Small real runs: SGP and OSGP (with staleness) on 2 nodes."""
    return [
        simsgp.run({"iterations": 6, "eval_every": 2, "cluster": {"nodes": 2}, "algorithm": {"name": name}})
        for name in ("sgp", "osgp")
    ]


def _record(point, *, summary=None, evaluations=None, status="ok", base=None, key=None):
    """A hand-written sweep run record at ``point`` (dotted keys applied to ``base``, default: the default scenario)."""
    nested = json.loads(json.dumps(base or {}))
    for dotted, value in point.items():
        if value is None:
            continue
        *parents, leaf = dotted.split(".")
        node = nested
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    nodes = point.get("cluster.nodes", 8)
    defaults = {
        "sim_time_per_iteration": 0.1 * nodes,
        "node_compute_fraction": [0.6] * nodes,
        "node_comm_wait_fraction": [0.4] * nodes,
        "node_send_fraction": [0.3] * nodes,
        "staleness_histogram": [],
    }
    return {
        "key": key or ("k" + "-".join(str(v) for v in point.values())),
        "status": status,
        "point": point,
        "scenario": to_dict(from_dict(nested)),
        "version": simsgp.__version__,
        "summary": {**defaults, **(summary or {})},
        "evaluations": evaluations
        or {"iteration": [1, 2], "sim_time": [0.5, 1.0], "loss": [2.0, 1.5], "accuracy": [None, None]},
        "error": None if status == "ok" else "RuntimeError: boom",
        "wall_seconds": 0.1,
    }


def _curve(times, values, accuracy=None):
    return {
        "iteration": list(range(1, len(times) + 1)),
        "sim_time": list(times),
        "loss": list(values),
        "accuracy": list(accuracy) if accuracy is not None else [None] * len(times),
    }


def _labels(ax):
    return [line.get_label() for line in ax.get_lines()]


def _legend_texts(legend):
    return [t.get_text() for t in legend.get_texts()]


def _band(collection):
    """``{x: (low, high)}`` of a ``fill_between`` polygon."""
    vertices = collection.get_paths()[0].vertices
    out = {}
    for x, y in vertices:
        low, high = out.get(round(x, 12), (math.inf, -math.inf))
        out[round(x, 12)] = (min(low, y), max(high, y))
    return out


def _t_half(values):
    """Half-width of the 95 % Student-t interval of ``values``, straight from numpy and scipy."""
    values = np.asarray(values, dtype=float)
    return scipy_stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values))


# --- loss and accuracy against time ------------------------------------------------------


def test_loss_vs_time_lines_match_evaluations(results):
    ax = loss_vs_time(results).axes[0]
    lines = ax.get_lines()
    assert _labels(ax) == ["sgp", "osgp"]
    for line, result in zip(lines, results):
        np.testing.assert_array_equal(line.get_xdata(), result.evaluations["sim_time"])
        np.testing.assert_array_equal(line.get_ydata(), result.evaluations["loss"])
    assert (ax.get_xlabel(), ax.get_ylabel(), ax.get_title()) == (
        "simulated time (s)", "training loss", "training loss against simulated time"
    )
    assert ax.get_legend().get_title().get_text() == "algorithm"
    assert ax.get_xscale() == ax.get_yscale() == "linear"


def test_accuracy_vs_time_draws_test_accuracy(results):
    ax = accuracy_vs_time(results).axes[0]
    for line, result in zip(ax.get_lines(), results):
        np.testing.assert_array_equal(line.get_ydata(), result.evaluations["accuracy"])
    assert (ax.get_ylabel(), ax.get_title()) == ("test accuracy", "test accuracy against simulated time")


def test_loss_vs_time_explicit_keys_use_short_names_and_drop_missing_values():
    runs = [
        _record({"cluster.nodes": 2, "seed": 1}, evaluations=_curve([0.5, 1.0], [0.0, 0.0], [0.25, None])),
        _record({"cluster.nodes": 4, "seed": 1}, evaluations=_curve([0.7], [0.0], [0.5])),
    ]
    ax = loss_vs_time(runs, label_key=["cluster.nodes", "seed"], metric="accuracy").axes[0]
    (a, b) = ax.get_lines()
    assert (a.get_label(), b.get_label()) == ("nodes=2, seed=1", "nodes=4, seed=1")
    np.testing.assert_array_equal(a.get_xdata(), [0.5])  # the missing accuracy at 1.0 is left out
    np.testing.assert_array_equal(a.get_ydata(), [0.25])
    np.testing.assert_array_equal(b.get_ydata(), [0.5])
    assert ax.get_ylabel() == "test accuracy" and ax.get_legend().get_title().get_text() == ""


def test_loss_vs_time_labels_only_the_keys_that_vary():
    runs = [
        _record({"algorithm.name": name, "cluster.slow_nodes.3": slow, "cluster.nodes": 8})
        for name in ("sgp", "adpsgd") for slow in (4.0, 1.0)
    ]
    ax = loss_vs_time(runs).axes[0]
    assert _labels(ax) == ["sgp, slow[3]=4", "sgp, slow[3]=1", "adpsgd, slow[3]=4", "adpsgd, slow[3]=1"]
    assert ax.get_legend().get_title().get_text() == ""


def test_loss_vs_time_grid_key_that_does_not_apply_is_left_out_of_the_label():
    runs = [_record({"algorithm.name": "sgp", "algorithm.tau": None})]
    runs += [_record({"algorithm.name": "osgp", "algorithm.tau": tau}) for tau in (1, 2)]
    assert _labels(loss_vs_time(runs).axes[0]) == ["sgp", "osgp, tau=1", "osgp, tau=2"]


def test_loss_vs_time_without_finite_values_says_so():
    ax = loss_vs_time([_record({}, evaluations=_curve([], []))]).axes[0]
    assert not ax.get_lines() and [t.get_text() for t in ax.texts] == ["no training loss recorded"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "speed"}, "metric='speed'; expected one of"),
        ({"label_key": "algorithm.colour"}, "'algorithm.colour' is not a scenario field"),
        ({"facet": "cluster.nodes"}, (r"^facet='cluster.nodes' is not a key whose values differ between the runs; "
                                      r"expected a key whose values differ, but the runs differ in none$")),
    ],
)
def test_loss_vs_time_rejects_bad_options(kwargs, match):
    with pytest.raises(SimsgpError, match=match):
        loss_vs_time([_record({})], **kwargs)


def test_plot_rejects_failed_run():
    with pytest.raises(SimsgpError, match="status 'failed'"):
        time_breakdown(_record({}, status="failed"))


# --- legends and line styles -------------------------------------------------------------


def test_line_styles_do_not_repeat_a_colour_and_dash_before_forty_lines():
    pairs = [(line_style(k)["color"], line_style(k)["linestyle"]) for k in range(len(COLORS) * len(LINE_STYLES))]
    assert len(set(pairs)) == len(pairs) == 40
    assert line_style(40) == line_style(0)


def _many(n):
    return [
        _record({"algorithm.lr": 0.01 * (k + 1)}, evaluations=_curve([1.0, 2.0], [1.0 + k, 0.5 + k])) for k in range(n)
    ]


def test_twenty_lines_have_twenty_styles_and_the_legend_outside_the_axes():
    fig = loss_vs_time(_many(20))
    ax = fig.axes[0]
    lines = ax.get_lines()
    assert _labels(ax) == [f"lr={plain_number(0.01 * (k + 1))}" for k in range(20)]
    assert len({(line.get_color(), line.get_linestyle()) for line in lines}) == 20
    fig.draw_without_rendering()
    legend = ax.get_legend()
    assert _legend_texts(legend) == _labels(ax)
    assert legend.get_window_extent().x0 >= ax.get_window_extent().x1


def test_six_lines_keep_the_legend_inside_the_axes():
    fig = loss_vs_time(_many(6))
    fig.draw_without_rendering()
    ax = fig.axes[0]
    legend, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    assert box.x0 <= legend.x0 and legend.x1 <= box.x1 and box.y0 <= legend.y0 and legend.y1 <= box.y1


def test_short_names_of_keys():
    assert runs_mod.short_names(["algorithm.name", "task.name", "cluster.slow_nodes.3", "cluster.compute.mean"]) == {
        "algorithm.name": "", "task.name": "task", "cluster.slow_nodes.3": "slow[3]", "cluster.compute.mean": "mean"
    }
    assert runs_mod.short_names(["network.latency", "cluster.latency"]) == {
        "network.latency": "network.latency", "cluster.latency": "cluster.latency"
    }


def test_varying_keys_of_results_leave_out_what_the_algorithm_name_implies(results):
    records = [runs_mod.as_run(r) for r in results]
    assert runs_mod.varying_keys(records) == ["algorithm.name"]  # not osgp's tau nor its graph


def test_varying_keys_tell_apart_two_sweeps_of_the_same_keys_from_different_bases():
    a = _record({"algorithm.name": "sgp"})
    b = _record({"algorithm.name": "sgp"}, base={"cluster": {"slow_nodes": {"3": 4.0}}})
    assert runs_mod.varying_keys([a, b]) == ["cluster.slow_nodes.3"]
    assert _labels(loss_vs_time([a, b]).axes[0]) == ["sgp", "slow[3]=4"]


# --- facets ----------------------------------------------------------------------------


def _algorithms_by_slowdown():
    runs = []
    for k, (name, slow) in enumerate((n, s) for n in ("sgp", "adpsgd", "allreduce") for s in (1.0, 4.0)):
        times = [0.5 * slow, 1.0 * slow]
        runs.append(_record({"algorithm.name": name, "cluster.slow_nodes.3": slow},
                            evaluations=_curve(times, [2.0 - 0.1 * k, 1.0 - 0.1 * k])))
    return runs


def test_facets_one_panel_per_value_with_shared_axes():
    runs = _algorithms_by_slowdown()
    fig = loss_vs_time(runs, facet="algorithm.name")
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["adpsgd", "allreduce", "sgp"]
    assert fig.get_suptitle() == "training loss against simulated time"
    for ax in axes[1:]:
        assert ax.get_shared_x_axes().joined(axes[0], ax) and ax.get_shared_y_axes().joined(axes[0], ax)
    by_name = {(r["point"]["algorithm.name"], r["point"]["cluster.slow_nodes.3"]): r for r in runs}
    for ax in axes:
        assert _labels(ax) == ["slow[3]=1", "slow[3]=4"]
        for line, slow in zip(ax.get_lines(), (1.0, 4.0)):
            np.testing.assert_array_equal(line.get_ydata(), by_name[ax.get_title(), slow]["evaluations"]["loss"])
    assert [ax.get_xlabel() for ax in axes] == ["simulated time (s)"] * 3
    assert [ax.get_ylabel() for ax in axes] == ["training loss", "", ""]
    (legend,) = fig.legends
    assert _legend_texts(legend) == ["slow[3]=1", "slow[3]=4"]
    styles = {(line.get_label(), line.get_color(), line.get_linestyle()) for ax in axes for line in ax.get_lines()}
    assert len(styles) == 2  # a label has one style in every panel


def test_facets_wrap_into_rows_and_label_only_the_outer_axes():
    runs = [_record({"cluster.nodes": n, "algorithm.name": a}) for n in (2, 4, 6, 8, 10) for a in ("sgp", "dpsgd")]
    fig = time_per_iteration_vs_nodes(runs, facet="cluster.nodes")
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["nodes=2", "nodes=4", "nodes=6", "nodes=8", "nodes=10"]
    # 3 per row; the third panel of the first row has no panel below it, so it keeps its x label
    assert [bool(ax.get_xlabel()) for ax in fig.axes] == [False, False, True, True, True]
    assert [bool(ax.get_ylabel()) for ax in fig.axes] == [True, False, False, True, False]


# --- log axes and tick labels ------------------------------------------------------------


def test_spans_decades_and_plain_numbers():
    assert spans_decades([1e-3, 0.2]) and not spans_decades([1e-3, 0.1]) and not spans_decades([0.0, 5.0, 1e6])
    assert not spans_decades([])
    assert [plain_number(x) for x in (0.01, 0.1, 1, 10, 1000, 1e6)] == ["0.01", "0.1", "1", "10", "1000", "1e6"]


def test_loss_spanning_decades_gets_a_log_axis_with_plain_tick_labels():
    runs = [_record({}, evaluations=_curve([1.0, 2.0, 3.0], [2.0, 0.1, 0.005]))]
    fig = loss_vs_time(runs)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert (ax.get_yscale(), ax.get_xscale()) == ("log", "linear")
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert {"0.01", "0.1", "1"} <= set(labels) and not any("$" in t or "times" in t for t in labels)
    assert not any(t.get_text() for t in ax.yaxis.get_minorticklabels())


def test_runs_whose_durations_span_decades_get_a_log_time_axis():
    runs = [
        _record({"cluster.nodes": 2}, evaluations=_curve([0.1, 0.2], [1.0, 0.9])),
        _record({"cluster.nodes": 4}, evaluations=_curve([10.0, 30.0], [1.0, 0.9])),
    ]
    assert loss_vs_time(runs).axes[0].get_xscale() == "log"


def test_node_counts_spanning_a_decade_get_a_log2_axis_labelled_by_count():
    runs = [_record({"cluster.nodes": n}, summary={"sim_time_per_iteration": 0.01 * n**2}) for n in (4, 8, 16, 32, 64)]
    fig = time_per_iteration_vs_nodes(runs)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.xaxis.get_transform().base == 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "8", "16", "32", "64"]
    assert ax.get_yscale() == "log"  # 0.16 .. 40.96 s
    assert not any(t.get_text() for t in ax.xaxis.get_minorticklabels())
    assert ax.get_xlabel() == "nodes" and ax.get_ylabel() == "simulated time per iteration (s)"


def test_few_node_counts_keep_a_linear_axis_with_integer_ticks():
    runs = [_record({"cluster.nodes": n}) for n in (2, 3, 4)]
    fig = time_per_iteration_vs_nodes(runs)
    fig.draw_without_rendering()
    ax = fig.axes[0]
    assert (ax.get_xscale(), ax.get_yscale()) == ("linear", "linear")
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "3", "4"]


# --- seeds: mean and 95 % band ---------------------------------------------------------------


def test_seeds_on_a_common_time_grid_match_a_direct_computation():
    times = [[0.5, 1.0, 1.5, 2.0], [0.6, 1.1, 1.7, 2.1], [0.4, 0.9, 1.4, 1.9]]
    losses = [[2.0, 1.5, 1.0, 0.8], [2.2, 1.4, 1.1, 0.7], [1.9, 1.6, 0.9, 0.9]]
    runs = [_record({"algorithm.name": "sgp", "seed": s}, evaluations=_curve(t, y))
            for s, (t, y) in enumerate(zip(times, losses))]
    runs.append(_record({"algorithm.name": "adpsgd", "seed": 0}, evaluations=_curve([1.0, 2.0], [1.0, 0.5])))
    ax = loss_vs_time(runs).axes[0]
    sgp, adpsgd = ax.get_lines()
    assert _labels(ax) == ["sgp", "adpsgd"]
    grid = sorted(x for t in times for x in t if 0.6 <= x <= 1.9)  # latest first to earliest last evaluation
    np.testing.assert_allclose(sgp.get_xdata(), grid, rtol=0, atol=0)
    on_grid = np.array([np.interp(grid, t, y) for t, y in zip(times, losses)])
    np.testing.assert_allclose(sgp.get_ydata(), on_grid.mean(axis=0), rtol=1e-12)
    (band,) = [c for c in ax.collections if isinstance(c, PolyCollection)]  # adpsgd has one seed: no band
    edges = _band(band)
    for j, x in enumerate(grid):
        half = _t_half(on_grid[:, j])
        mean = on_grid[:, j].mean()
        assert edges[round(x, 12)] == pytest.approx((mean - half, mean + half), rel=1e-9)
    assert band.get_facecolor()[0][:3] == pytest.approx(_rgb(sgp.get_color()))
    np.testing.assert_array_equal(adpsgd.get_ydata(), [1.0, 0.5])
    assert ax.get_title() == "training loss against simulated time\nmean of 1 to 3 seeds, shaded: its 95 % interval"


def _rgb(color):
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def test_seeds_of_time_per_iteration_are_one_point_with_a_band():
    values = {(2, 0): 0.2, (2, 1): 0.25, (2, 2): 0.22, (4, 0): 0.4, (4, 1): 0.5, (4, 2): 0.43}
    runs = [_record({"cluster.nodes": n, "seed": s}, summary={"sim_time_per_iteration": y}) for (n, s), y in values.items()]
    ax = time_per_iteration_vs_nodes(runs).axes[0]
    (line,) = ax.get_lines()
    assert line.get_label() == "sgp" and line.get_xdata().tolist() == [2, 4]
    per_node = [[values[n, s] for s in range(3)] for n in (2, 4)]
    np.testing.assert_allclose(line.get_ydata(), [np.mean(v) for v in per_node], rtol=1e-12)
    edges = _band(ax.collections[0])
    for n, v in zip((2, 4), per_node):
        assert edges[n] == pytest.approx((np.mean(v) - _t_half(v), np.mean(v) + _t_half(v)), rel=1e-9)
    assert ax.get_title().endswith("mean of 3 seeds, shaded: its 95 % interval")


def test_time_per_iteration_vs_nodes_groups():
    runs = [
        _record({"algorithm.name": name, "cluster.nodes": n}, summary={"sim_time_per_iteration": y})
        for name, n, y in [("sgp", 4, 0.3), ("sgp", 2, 0.2), ("allreduce", 2, 0.25), ("allreduce", 4, 0.4)]
    ]
    ax = time_per_iteration_vs_nodes(runs).axes[0]
    sgp, allreduce = ax.get_lines()
    assert (allreduce.get_label(), sgp.get_label()) == ("allreduce", "sgp")
    assert sgp.get_xdata().tolist() == [2, 4] and allreduce.get_xdata().tolist() == [2, 4]
    np.testing.assert_allclose(sgp.get_ydata(), [0.2, 0.3], rtol=1e-12)
    np.testing.assert_allclose(allreduce.get_ydata(), [0.25, 0.4], rtol=1e-12)
    assert sgp.get_marker() == "o" and not ax.collections  # one run per point: no band


def test_common_grid_and_mean_band_edges():
    assert common_grid([]).size == 0 and common_grid([np.array([1.0]), np.array([])]).size == 0
    band = mean_band([(np.array([1.0, 2.0]), np.array([np.nan, np.nan])), (np.array([1.0, 2.0]), np.array([3.0, 5.0]))])
    assert band.seeds == 1 and band.mean.tolist() == [3.0, 5.0] and np.isnan(band.half).all()


@given(
    st.lists(st.lists(st.floats(0.01, 10.0), min_size=2, max_size=6, unique=True), min_size=2, max_size=5),
    st.integers(0, 2**32 - 1),
)
def test_mean_band_is_the_mean_of_the_interpolated_curves(raw_times, seed):
    rng = np.random.default_rng(seed)
    times = [np.sort(np.array(t)) for t in raw_times]
    values = [rng.normal(size=len(t)) for t in times]
    band = mean_band(list(zip(times, values)))
    grid = np.unique(np.concatenate(times))
    grid = grid[(grid >= max(t[0] for t in times)) & (grid <= min(t[-1] for t in times))]
    np.testing.assert_array_equal(band.time, grid)
    on_grid = np.array([np.interp(grid, t, v) for t, v in zip(times, values)])
    np.testing.assert_allclose(band.mean, on_grid.mean(axis=0), rtol=1e-9, atol=1e-12)
    expected = [_t_half(on_grid[:, j]) for j in range(len(grid))]
    np.testing.assert_allclose(band.half, expected, rtol=1e-9, atol=1e-12)


# --- figures of one run ------------------------------------------------------------------


def test_time_breakdown_stacks_node_fractions(results):
    summary = results[1].summary
    ax = time_breakdown(results[1]).axes[0]
    compute, wait = ax.containers
    assert [p.get_height() for p in compute] == pytest.approx(summary["node_compute_fraction"], rel=1e-12)
    assert [p.get_height() for p in wait] == pytest.approx(summary["node_comm_wait_fraction"], rel=1e-12)
    assert [p.get_y() for p in wait] == pytest.approx(summary["node_compute_fraction"], rel=1e-12)
    (send,) = ax.get_lines()
    assert send.get_ydata().tolist() == summary["node_send_fraction"] and send.get_xdata().tolist() == [0, 1]
    assert send.get_marker() == "D" and ax.get_title() == "time breakdown: osgp, 2 nodes"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("node", "fraction of the run's time")


def test_time_breakdown_title_carries_the_run_label_and_many_nodes_get_fewer_ticks():
    record = {**_record({"cluster.nodes": 64}), "label": "sgp, slow[3]=4"}
    ax = time_breakdown(record).axes[0]
    assert ax.get_title() == "time breakdown: sgp, slow[3]=4"
    assert len(ax.patches) == 128 and len(ax.get_xticks()) < 20
    (send,) = ax.get_lines()
    assert send.get_marker() == "" and send.get_ydata().tolist() == [0.3] * 64


def test_staleness_histogram_bars(results):
    counts = results[1].summary["staleness_histogram"]
    assert sum(counts) > 0
    ax = staleness_histogram(results[1]).axes[0]
    assert [p.get_height() for p in ax.patches] == counts
    assert [p.get_x() + p.get_width() / 2 for p in ax.patches] == pytest.approx(range(len(counts)))
    assert not ax.texts and ax.get_yscale() == "linear"
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("staleness (iterations from a round's launch to its mix)", "node iterations")


def test_staleness_histogram_with_a_long_tail_gets_a_log_axis():
    ax = staleness_histogram({**_record({}, summary={"staleness_histogram": [5000, 300, 0, 2]}), "label": "x"}).axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "staleness: x"


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


# --- sweep folders -----------------------------------------------------------------------


def _sweep_folder(tmp, records):
    (tmp / "runs").mkdir(parents=True)
    for k, record in enumerate(records):
        (tmp / "runs" / f"{k:02d}.json").write_text(json.dumps(record))
    return tmp


def _names(paths, root):
    return [str(p.relative_to(root)) for p in paths if p.suffix == ".png"]


def test_plot_sweep_writes_every_figure(tmp_path):
    records = [
        _record({"cluster.nodes": n, "algorithm.name": name}, summary={"staleness_histogram": [1, 3]},
                evaluations=_curve([0.5, 1.0], [2.0, 1.5], [0.5, 0.75]))
        for name in ("sgp", "osgp") for n in (4, 2)
    ]
    failed = _record({"cluster.nodes": 8, "algorithm.name": "sgp"}, status="failed")
    out = _sweep_folder(tmp_path / "out", [*records, failed])
    paths = plot_sweep(out)
    runs = ["nodes=2_osgp", "nodes=2_sgp", "nodes=4_osgp", "nodes=4_sgp"]
    assert _names(paths, out / "plots") == [
        "loss_vs_time.png", "accuracy_vs_time.png", "time_per_iteration_vs_nodes.png",
        *[f"time_breakdown-{r}.png" for r in runs], *[f"staleness_histogram-{r}.png" for r in runs],
    ]
    assert [p.suffix for p in paths] == [".png", ".svg"] * (len(paths) // 2)
    for path in paths:
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) if path.suffix == ".png" else b"<svg" in data
    svg = (out / "plots" / "loss_vs_time.svg").read_text()
    for label in ("nodes=2, osgp", "nodes=4, sgp"):
        assert label in svg
    assert "time breakdown: nodes=2, osgp" in (out / "plots" / "time_breakdown-nodes=2_osgp.svg").read_text()


def test_plot_sweep_one_run_keeps_plain_names(tmp_path, capsys):
    out = _sweep_folder(tmp_path / "out", [_record({"seed": 0})])
    assert cli_plot(str(out), str(tmp_path / "figs")) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / "figs" / f"{name}.{fmt}")
                       for name in ("loss_vs_time", "time_breakdown", "staleness_histogram") for fmt in ("png", "svg")]
    assert "time breakdown: sgp, 8 nodes" in (tmp_path / "figs" / "time_breakdown.svg").read_text()


def test_plot_sweep_seeds_are_one_line_and_each_run_has_its_breakdown(tmp_path):
    records = [_record({"seed": s}, evaluations=_curve([0.5, 1.0], [2.0 + s, 1.0 + s])) for s in (0, 1)]
    out = _sweep_folder(tmp_path / "out", records)
    paths = plot_sweep(out)
    assert _names(paths, out / "plots") == [
        "loss_vs_time.png", "time_breakdown-seed=0.png", "time_breakdown-seed=1.png",
        "staleness_histogram-seed=0.png", "staleness_histogram-seed=1.png",
    ]


@pytest.fixture
def svg_only(monkeypatch):
    """Sweep figures as SVG alone, which halves the time these tests take (both formats: the test above)."""
    monkeypatch.setattr(plot_mod, "_FORMATS", ("svg",))


def _two_sweeps(tmp):
    """The README's folder: a slow-node sweep over algorithms and a default sweep over cluster sizes."""
    slow = {"cluster": {"slow_nodes": {"3": 4.0}}}
    first = [_record({"algorithm.name": a, "cluster.slow_nodes.3": s}, base=slow, key=f"a{a}{s}")
             for a, s in (("sgp", 1.0), ("sgp", 4.0), ("adpsgd", 4.0))]
    second = [_record({"cluster.nodes": n}, key=f"n{n}", evaluations=_curve([0.1 * n], [1.0 / n])) for n in (8, 16)]
    return _sweep_folder(tmp, [*second, *first])


def _svgs(paths, root):
    return [str(p.relative_to(root)) for p in paths]


def test_plot_sweep_draws_each_sweep_of_a_folder_on_its_own(tmp_path, svg_only):
    out = _two_sweeps(tmp_path / "out")
    paths = plot_sweep(out, dest_dir=tmp_path / "figs")
    first, second = "algorithm.name+cluster.slow_nodes.3", "cluster.nodes"
    runs = ["adpsgd_slow3=4", "sgp_slow3=1", "sgp_slow3=4"]
    assert _svgs(paths, tmp_path / "figs") == [
        f"{first}/loss_vs_time.svg",
        *[f"{first}/time_breakdown-{r}.svg" for r in runs], *[f"{first}/staleness_histogram-{r}.svg" for r in runs],
        f"{second}/loss_vs_time.svg", f"{second}/time_per_iteration_vs_nodes.svg",
        *[f"{second}/{f}-nodes={n}.svg" for f in ("time_breakdown", "staleness_histogram") for n in (8, 16)],
    ]
    svg = (tmp_path / "figs" / first / "loss_vs_time.svg").read_text()
    assert "sgp, slow[3]=4" in svg and "nodes=" not in svg
    # plotting again into the same folder is fine: it holds only figures, in sub-folders
    again = plot_sweep(out, dest_dir=tmp_path / "figs", where={"cluster.nodes": 16})
    assert _svgs(again, tmp_path / "figs") == ["loss_vs_time.svg", "time_breakdown.svg", "staleness_histogram.svg"]


def test_cli_plot_reproduces_the_readme_two_sweep_folder(tmp_path, capsys, svg_only):
    out = _two_sweeps(tmp_path / "runs")
    assert main(["plot", str(out), "--run", "n8"]) == 0
    assert capsys.readouterr().out.split() == [str(out / "plots" / name) for name in (
        "algorithm.name+cluster.slow_nodes.3/loss_vs_time.svg", "cluster.nodes/loss_vs_time.svg",
        "cluster.nodes/time_per_iteration_vs_nodes.svg", "cluster.nodes/time_breakdown-nodes=8.svg",
        "cluster.nodes/staleness_histogram-nodes=8.svg")]


def test_plot_sweep_where_selects_runs(tmp_path, svg_only):
    out = _two_sweeps(tmp_path / "out")
    paths = plot_sweep(out, dest_dir=tmp_path / "figs", where={"algorithm.name": "sgp", "cluster.slow_nodes.3": 4})
    assert _svgs(paths, tmp_path / "figs") == ["loss_vs_time.svg", "time_breakdown.svg", "staleness_histogram.svg"]
    assert "time breakdown: sgp, 8 nodes" in (tmp_path / "figs" / "time_breakdown.svg").read_text()


def test_cli_plot_where_alternatives_facet_and_run(tmp_path, capsys, svg_only):
    out = _two_sweeps(tmp_path / "out")
    argv = ["plot", str(out), "--dest", str(tmp_path / "figs"), "--where", "cluster.slow_nodes.3=1",
            "--where", "cluster.slow_nodes.3=4.0", "--facet", "algorithm.name", "--run", "asgp4"]
    assert main(argv) == 0
    assert capsys.readouterr().out.split() == [str(tmp_path / "figs" / name) for name in (
        "loss_vs_time.svg", "time_breakdown-sgp_slow3=4.svg", "staleness_histogram-sgp_slow3=4.svg")]
    svg = (tmp_path / "figs" / "loss_vs_time.svg").read_text()
    assert "adpsgd" in svg and "slow[3]=1" in svg and "slow[3]=4" in svg  # panel titles and the legend


_VARYING = "['algorithm.name', 'cluster.slow_nodes.3', 'cluster.nodes']"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--facet", "cluster.nodez"],
         f"--facet='cluster.nodez' is not a key whose values differ between the runs; expected one of {_VARYING}"),
        (["--where", "cluster.nodez=8"],
         ("--where cluster.nodez=8: no run has the key 'cluster.nodez'; expected a dotted scenario key such as the "
          f"ones the runs differ in, {_VARYING}")),
        (["--where", "algorithm.name=dcasgd"],
         "--where algorithm.name='dcasgd' selects no run; the runs have {'algorithm.name': ['adpsgd', 'sgp']}"),
        (["--where", "algorithm.name"], "--where='algorithm.name'; expected KEY=VALUE, such as --where algorithm.name=sgp"),
        (["--run", "zz"], ("--run='zz' matches no run; expected a run key (a file name in the runs folder) or a unique "
                           "prefix of one, such as aadpsgd4.0, asgp1.0, asgp4.0, n16, n8")),
        (["--run", "a"], "--run='a' matches 3 runs (aadpsgd4.0, asgp1.0, asgp4.0); give more of the key"),
    ],
)
def test_cli_plot_bad_options_are_one_line(tmp_path, capsys, args, message):
    out = _two_sweeps(tmp_path / "out")
    assert main(["plot", str(out), *args]) == 2
    assert capsys.readouterr().err == f"simsgp: error: {message}\n"
    assert not (out / "plots").exists()


def test_run_figures_is_a_table_of_one_run_figures():
    assert list(RUN_FIGURES) == ["time_breakdown", "staleness_histogram", "progress_timeline", "link_utilization"]
    record = {**_record({}), "label": "sgp"}
    assert [RUN_FIGURES[name](record).axes[0].get_title() for name in ("time_breakdown", "staleness_histogram")] == [
        "time breakdown: sgp", "staleness: sgp"
    ]


def test_plot_sweep_without_finished_runs_raises(tmp_path):
    with pytest.raises(SimsgpError, match="has no runs folder"):
        plot_sweep(tmp_path)
    out = _sweep_folder(tmp_path / "out", [_record({}, status="failed")])
    with pytest.raises(SimsgpError, match="holds no finished run"):
        plot_sweep(out)


@pytest.mark.parametrize(("algorithm", "unit"), [
    ("osgp", "iterations from a round's launch to its mix"), ("adpsgd", "averagings by peers during the compute"),
    ("ps-async", "server versions behind"), ("dcasgd", "server versions behind"),
])
def test_the_staleness_axis_says_what_the_algorithm_counts(algorithm, unit):
    record = {**_record({}, base={"algorithm": {"name": algorithm}}, summary={"staleness_histogram": [1, 2]}), "label": "x"}
    assert staleness_histogram(record).axes[0].get_xlabel() == f"staleness ({unit})"
