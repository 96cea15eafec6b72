"""Figures of runs and sweeps with matplotlib.

Every plotting function takes runs either as :class:`simsgp.Result` objects
or as run records of a sweep folder (``OUT/runs/<key>.json``: ``point``,
``scenario``, ``summary``, ``evaluations``, ``status``) and returns a new
:class:`matplotlib.figure.Figure`; nothing touches pyplot's global state, so
no display is needed. :func:`save` writes a figure as PNG and SVG and
:func:`plot_sweep` draws the standard figures of a whole sweep folder.

Figures of several runs label each line by the keys whose values differ
between the runs, in short form (:mod:`simsgp.report.runs`): ``sgp`` for
``algorithm.name``, ``nodes=16`` for ``cluster.nodes``, ``slow[3]=4`` for
``cluster.slow_nodes.3``. Runs that differ only in ``seed`` are one line, the
mean over the seeds, with a shaded band of its 95 % interval
(:func:`simsgp.report.stats.mean_ci`, as in the tables; against simulated
time on the common grid of :mod:`simsgp.report.bands`). ``facet`` draws one
panel per value of a key, with shared axes. Axes are logarithmic where the
data span decades (:mod:`simsgp.report.style`). The engine never imports
this module.

Examples
--------
>>> import simsgp
>>> runs = [simsgp.run({"iterations": 4, "cluster": {"nodes": 2}, "algorithm": {"name": name}})
...         for name in ("sgp", "allreduce")]
>>> ax = loss_vs_time(runs).axes[0]
>>> [line.get_label() for line in ax.get_lines()], ax.get_ylabel()
(['sgp', 'allreduce'], 'training loss')
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simsgp.errors import SimsgpError, shown
from simsgp.outputs import check_folder_target, write_atomic
from simsgp.report import series
from simsgp.report.bands import mean_band
from simsgp.report.metrics import EVALUATION_FIELDS
from simsgp.report.runs import (
    Run,
    as_run,
    describe,
    find_run,
    has_key,
    label,
    lookup,
    order,
    parse_where,
    select,
    short_names,
    slug,
    sweeps,
    value,
    varying_keys,
)
from simsgp.report.stats import LEVEL, mean_ci
from simsgp.report.style import QUANTITIES, SIZE, line_style, node_axis, place_legend, scale_axis
from simsgp.report.timeline import link_utilization, progress_timeline
from simsgp.sweep import load_runs

__all__ = [
    "RUN_FIGURES",
    "SWEEP_FIGURES",
    "Run",
    "accuracy_vs_time",
    "cli_plot",
    "loss_vs_time",
    "plot_sweep",
    "save",
    "staleness_histogram",
    "time_breakdown",
    "time_per_iteration_vs_nodes",
]

# the names figure modules of this package import from here (simsgp.report.runs holds them)
_as_run, _lookup, _describe = as_run, lookup, describe

Keys = str | Sequence[str]
"""One dotted scenario key, or several."""


# --- figures of several runs --------------------------------------------------------


def loss_vs_time(
    runs: Sequence[Run], *, label_key: Keys | None = None, metric: str = "loss", facet: str | None = None
) -> Figure:
    """An evaluation metric (the training loss by default) against simulated time, one line per run.

    Parameters
    ----------
    runs : sequence of Result or run record
        The runs; lines are in the order of their first run.
    label_key : str or sequence of str, keyword-only, optional
        Dotted scenario key(s) whose values label the lines (default: the
        keys whose values differ between the runs, but ``seed`` and
        ``facet``). Runs with the same values of these keys (seeds) are one
        line, their mean, with a shaded band of its 95 % interval, on the
        common time grid of :func:`simsgp.report.bands.mean_band`.
    metric : str, keyword-only
        The evaluation column on the y axis, one of
        :data:`simsgp.report.metrics.EVALUATION_FIELDS` except ``sim_time``.
    facet : str, keyword-only, optional
        A key whose values differ between the runs: one panel per value, with
        shared axes and the value as the panel's title.

    Returns
    -------
    Figure
        x is ``evaluations["sim_time"]``, y ``evaluations[metric]`` (missing
        values, such as the accuracy of a task without test data, left out);
        panels ordered by their values. The y axis is logarithmic when
        the values span more than two decades, the x axis when the runs'
        last evaluation times do. A panel without any finite value says so.

    Raises
    ------
    SimsgpError
        A failed run, an unknown ``metric``, a ``label_key`` that no run has
        or a ``facet`` whose values do not differ between the runs.
    """
    if metric not in EVALUATION_FIELDS or metric == "sim_time":
        allowed = [f for f in EVALUATION_FIELDS if f != "sim_time"]
        raise SimsgpError(f"metric={metric!r}; expected one of {allowed}")
    return _versus_time(runs, metric, label_key, facet)


def accuracy_vs_time(runs: Sequence[Run], *, label_key: Keys | None = None, facet: str | None = None) -> Figure:
    """Test accuracy against simulated time: :func:`loss_vs_time` with ``metric="accuracy"``.

    Examples
    --------
    >>> import simsgp
    >>> ax = accuracy_vs_time([simsgp.run({"iterations": 4, "cluster": {"nodes": 2}})]).axes[0]
    >>> ax.get_ylabel(), ax.get_title(), ax.get_lines()[0].get_label()
    ('test accuracy', 'test accuracy against simulated time', 'sgp')
    """
    return _versus_time(runs, "accuracy", label_key, facet)


def time_per_iteration_vs_nodes(
    runs: Sequence[Run], *, group_key: Keys | None = None, facet: str | None = None
) -> Figure:
    """Simulated time per iteration against the number of nodes, one line per group.

    Parameters
    ----------
    runs : sequence of Result or run record
        The runs; those of a group with the same node count (such as
        seeds) are one point, their mean, with a shaded band of its 95 %
        interval (:func:`simsgp.report.stats.mean_ci`).
    group_key : str or sequence of str, keyword-only, optional
        Dotted scenario key(s) whose values make a group (default: the keys
        whose values differ between the runs, but ``cluster.nodes``,
        ``seed`` and ``facet``); labelled as in :func:`loss_vs_time`.
    facet : str, keyword-only, optional
        As for :func:`loss_vs_time`.

    Returns
    -------
    Figure
        Per group a line with markers through ``(cluster.nodes,
        summary["sim_time_per_iteration"])``, nodes ascending. The x axis is
        log base 2 when the node counts span a decade or nearly (see
        :func:`simsgp.report.style.node_axis`), the y axis logarithmic when
        the times span more than two decades.

    Raises
    ------
    SimsgpError
        A failed run, a ``group_key`` that no run has or a bad ``facet``.

    Examples
    --------
    >>> import simsgp
    >>> runs = [simsgp.run({"iterations": 3, "cluster": {"nodes": n}, "eval_every": 0}) for n in (2, 4)]
    >>> line, = time_per_iteration_vs_nodes(runs).axes[0].get_lines()
    >>> line.get_label(), line.get_xdata().tolist()
    ('sgp', [2, 4])
    """
    arranged = _arrange(runs, group_key, facet, leave_out=("cluster.nodes",))
    fig, axes = _panels(len(arranged.panels))
    nodes_drawn: list[int] = []
    times: list[float] = []
    counts: list[int] = []
    for ax, (_, lines) in zip(axes, arranged.panels):
        for line_label, group in lines.items():
            by_nodes: dict[int, list[float | None]] = {}
            for run in group:
                by_nodes.setdefault(int(lookup(run, "cluster.nodes")), []).append(run["summary"]["sim_time_per_iteration"])
            nodes = sorted(by_nodes)
            stats = np.array([mean_ci(by_nodes[n])[:2] for n in nodes], dtype=float).reshape(len(nodes), 2)
            _draw(ax, np.array(nodes), stats[:, 0], stats[:, 1], line_label, arranged.styles[line_label])
            nodes_drawn += nodes
            times += stats[:, 0].tolist()
            counts += [len(by_nodes[n]) for n in nodes]
    for ax in axes:
        node_axis(ax, nodes_drawn)
        scale_axis(ax, "y", times)
    _finish(fig, axes, arranged, "time per iteration against cluster size", counts,
            QUANTITIES["nodes"], QUANTITIES["sim_time_per_iteration"])
    return fig


class _Arranged(NamedTuple):
    """The runs of a figure, in panels of lines: ``panels`` holds ``(title, {label: runs})`` pairs."""

    panels: list[tuple[str, dict[str, list[Mapping[str, Any]]]]]
    styles: dict[str, dict[str, Any]]
    legend_title: str | None


def _arrange(
    runs: Sequence[Run], keys: Keys | None, facet: str | None, *, leave_out: Sequence[str] = ()
) -> _Arranged:
    """Split ``runs`` into facet panels and, in each, lines of the runs with equal values of the label keys."""
    records = [as_run(run) for run in runs]
    vary = varying_keys(records)
    if facet is not None and facet not in vary:
        raise SimsgpError(_bad_facet("facet", facet, vary))
    if keys is None:
        chosen = [key for key in vary if key not in ("seed", facet, *leave_out)]
    else:
        chosen = [keys] if isinstance(keys, str) else list(keys)
        missing = [key for key in chosen if not any(has_key(run, key) for run in records)]
        if missing:
            raise SimsgpError(f"{missing[0]!r} is not a scenario field; expected a dotted key such as 'algorithm.name'")
    names = short_names(chosen)
    labels = [label(run, chosen, names) or str(lookup(run, "algorithm.name")) for run in records]
    styles = {name: line_style(k) for k, name in enumerate(dict.fromkeys(labels))}
    panels: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    in_panels = sorted(zip(records, labels), key=lambda pair: order(value(pair[0], facet)) if facet else (0, 0))
    for run, line_label in in_panels:
        title = "" if facet is None else label(run, [facet]) or "n/a"
        panels.setdefault(title, {}).setdefault(line_label, []).append(run)
    legend_title = "algorithm" if chosen == ["algorithm.name"] else None
    return _Arranged(list(panels.items()), styles, legend_title)


def _bad_facet(option: str, facet: str, vary: Sequence[str]) -> str:
    allowed = f"one of {list(vary)}" if vary else "a key whose values differ, but the runs differ in none"
    return f"{option}={shown(facet)} is not a key whose values differ between the runs; expected {allowed}"


def _panels(n: int) -> tuple[Figure, list[Axes]]:
    """A figure of ``n`` axes with shared x and y: one of :data:`simsgp.report.style.SIZE`, or up to 3 per row."""
    if n == 1:
        fig = Figure(figsize=SIZE, layout="constrained")
        return fig, [fig.add_subplot()]
    cols = n if n <= 3 else 2 if n == 4 else 3
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.6 * cols + 1.8, 3.0 * rows + 0.6), layout="constrained")
    grid = list(fig.subplots(rows, cols, sharex=True, sharey=True, squeeze=False).ravel())
    for spare in grid[n:]:
        spare.remove()
    return fig, grid[:n]


def _versus_time(runs: Sequence[Run], metric: str, keys: Keys | None, facet: str | None) -> Figure:
    arranged = _arrange(runs, keys, facet)
    fig, axes = _panels(len(arranged.panels))
    ends: list[float] = []
    values: list[float] = []
    counts: list[int] = []
    for ax, (_, lines) in zip(axes, arranged.panels):
        for line_label, group in lines.items():
            curves = [(_floats(run["evaluations"]["sim_time"]), _floats(run["evaluations"][metric])) for run in group]
            if len(curves) == 1:
                (time, mean), half = curves[0], np.full(len(curves[0][0]), np.nan)
            else:
                time, mean, half, _ = mean_band(curves)
            finite = np.isfinite(mean)
            if not finite.any():
                continue
            _draw(ax, time[finite], mean[finite], half[finite], line_label, arranged.styles[line_label])
            ends.append(float(time[finite][-1]))
            values += mean[finite].tolist()
            counts.append(len(group))
            if time[finite][0] <= 0:
                ends.append(0.0)  # a log axis would hide it
        if not ax.get_lines():
            ax.text(0.5, 0.5, f"no {QUANTITIES[metric]} recorded", transform=ax.transAxes, ha="center", va="center")
    for ax in axes:
        scale_axis(ax, "x", ends)
        scale_axis(ax, "y", values)
    _finish(fig, axes, arranged, f"{QUANTITIES[metric]} against simulated time", counts,
            QUANTITIES["sim_time"], QUANTITIES[metric])
    return fig


def _draw(ax: Axes, x: np.ndarray, mean: np.ndarray, half: np.ndarray, line_label: str, style: dict[str, Any]) -> None:
    """A line with markers (about a dozen along it), and its interval as a band where it has one."""
    ax.plot(x, mean, label=line_label, markersize=4, markevery=max(1, len(x) // 12), **style)
    if np.isfinite(half).any():
        ax.fill_between(x, mean - half, mean + half, color=style["color"], alpha=0.2, linewidth=0)


def _finish(fig: Figure, axes: list[Axes], arranged: _Arranged, title: str, counts: Sequence[int],
            xlabel: str, ylabel: str) -> None:
    """Titles, axis labels on the outer axes, a grid and the legend."""
    if counts and max(counts) > 1:
        seeds = f"{min(counts)}" if min(counts) == max(counts) else f"{min(counts)} to {max(counts)}"
        title += f"\nmean of {seeds} seeds, shaded: its {LEVEL:.0%} interval".replace("%", " %")
    cols = len({ax.get_subplotspec().colspan.start for ax in axes})  # type: ignore[union-attr]
    for k, ax in enumerate(axes):
        ax.grid(alpha=0.3)
        bottom, left = k + cols >= len(axes), k % cols == 0
        ax.set_xlabel(xlabel if bottom else "")
        ax.set_ylabel(ylabel if left else "")
        ax.tick_params(labelbottom=bottom, labelleft=left)
    handles: dict[str, Any] = {}
    for ax in axes:
        for handle, name in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(name, handle)
    ordered = [name for name in arranged.styles if name in handles]
    if len(axes) == 1:
        axes[0].set_title(title)
        place_legend(fig, [handles[n] for n in ordered], ordered, ax=axes[0], title=arranged.legend_title)
    else:
        fig.suptitle(title)
        for ax, (panel_title, _) in zip(axes, arranged.panels):
            ax.set_title(panel_title)
        place_legend(fig, [handles[n] for n in ordered], ordered, title=arranged.legend_title)


# --- figures of one run -------------------------------------------------------------


def time_breakdown(run: Run) -> Figure:
    """Where each node's time went: stacked compute and communication-wait fractions.

    Parameters
    ----------
    run : Result or run record
        One finished run; a record's ``label``, if it has one, names it in
        the title (see :func:`simsgp.report.runs.describe`).

    Returns
    -------
    Figure
        One axes with a bar per node: ``summary["node_compute_fraction"]``
        at the bottom, ``summary["node_comm_wait_fraction"]`` stacked on it,
        and ``summary["node_send_fraction"]`` (the node's uplink busy) as
        markers on a line (a plain line past 32 nodes, where every node is
        no longer a tick). Fractions a node has none of (it did no
        iteration) are NaN.

    Examples
    --------
    >>> import simsgp
    >>> ax = time_breakdown(simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "eval_every": 0})).axes[0]
    >>> [c.get_label() for c in ax.containers], len(ax.patches), ax.get_title()
    (['compute', 'communication wait'], 4, 'time breakdown: sgp, 2 nodes')
    """
    run = as_run(run)
    summary = run["summary"]
    compute = _floats(summary["node_compute_fraction"])
    wait = _floats(summary["node_comm_wait_fraction"])
    send = _floats(summary["node_send_fraction"])
    nodes = np.arange(len(compute))
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(nodes, compute, label="compute", color="tab:blue")
    ax.bar(nodes, wait, bottom=compute, label="communication wait", color="tab:orange")
    few = len(nodes) <= 32
    ax.plot(nodes, send, marker="D" if few else "", linestyle=":", color="black", label="uplink busy (send)")
    if few:
        ax.set_xticks(nodes)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("node")
    ax.set_ylabel("fraction of the run's time")
    ax.set_ylim(0, 1.2)  # room for the legend above the full bars
    ax.set_title(f"time breakdown: {describe(run)}")
    ax.legend(fontsize="small", loc="upper center", ncols=3)
    return fig


def staleness_histogram(run: Run) -> Figure:
    """Bar chart of how many (node, iteration) pairs used each staleness value.

    Parameters
    ----------
    run : Result or run record
        One finished run; named in the title as in :func:`time_breakdown`.

    Returns
    -------
    Figure
        One axes with a bar per staleness value ``0, 1, ...`` of
        ``summary["staleness_histogram"]`` (a log y axis when the non-zero
        counts span more than two decades); for algorithms without
        staleness (an empty histogram) no bars but a centred note saying so.

    Examples
    --------
    >>> import simsgp
    >>> ax = staleness_histogram(simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "eval_every": 0})).axes[0]
    >>> len(ax.patches), ax.texts[0].get_text()
    (0, 'no staleness recorded: sgp has none')
    """
    run = as_run(run)
    counts = run["summary"]["staleness_histogram"]
    fig = Figure(figsize=SIZE, layout="constrained")
    ax = fig.add_subplot()
    if counts:
        values = np.arange(len(counts))
        ax.bar(values, counts, color="tab:purple")
        if len(values) <= 32:
            ax.set_xticks(values)
        scale_axis(ax, "y", [c for c in counts if c > 0])
    else:
        ax.text(0.5, 0.5, f"no staleness recorded: {lookup(run, 'algorithm.name')} has none",
                transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel(f"staleness ({_staleness_unit(lookup(run, 'algorithm.name'))})")
    ax.set_ylabel("node iterations")
    ax.set_title(f"staleness: {describe(run)}")
    return fig


RUN_FIGURES: dict[str, Callable[[Run], Figure]] = {
    "time_breakdown": time_breakdown,
    "staleness_histogram": staleness_histogram,
    "progress_timeline": progress_timeline,
    "link_utilization": link_utilization,
}
"""The figures of one run that :func:`plot_sweep` draws for each run, by file name."""

SWEEP_FIGURES = ("loss_vs_time", "accuracy_vs_time", "time_per_iteration_vs_nodes")
"""The figures of several runs that :func:`plot_sweep` draws for each sweep, by file name."""


# --- files --------------------------------------------------------------------------


def save(fig: Figure, path: str | Path, *, formats: Sequence[str] = ("png", "svg")) -> list[Path]:
    """Write ``fig`` once per format to ``path`` plus the format's suffix (parents created).

    Each file is written atomically (see :func:`simsgp.outputs.write_atomic`).

    Parameters
    ----------
    fig : Figure
        The figure.
    path : str or Path
        Target without suffix; ``plots/loss`` gives ``plots/loss.png`` and
        ``plots/loss.svg``.
    formats : sequence of str, keyword-only
        matplotlib output formats.

    Returns
    -------
    list of Path
        The written files, in the order of ``formats``.

    Raises
    ------
    SimsgpError
        A target is a folder or a symbolic link, or cannot be written.
    """
    stem = Path(path)
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in formats:
        target = stem.with_name(f"{stem.name}.{fmt}")
        data = io.BytesIO()
        fig.savefig(data, format=fmt, dpi=150)
        write_atomic(target, data.getvalue())
        written.append(target)
    return written


_FORMATS = ("png", "svg")


def plot_sweep(
    out_dir: str | Path,
    *,
    dest_dir: str | Path | None = None,
    force: bool = False,
    facet: str | None = None,
    where: Mapping[str, Any] | None = None,
    run: str | None = None,
) -> list[Path]:
    """Draw the standard figures of a sweep folder as PNG and SVG.

    Reads every finished run (``status == "ok"``) of ``out_dir/runs/*.json``
    (see :func:`simsgp.sweep.load_runs`, which skips, with a warning, files
    that are not run records). A folder may hold several sweeps: runs are
    grouped by the keys of their grid points, and each group is drawn on its
    own (in ``dest_dir/<its keys joined by +>``, such as
    ``dest_dir/algorithm.name+cluster.slow_nodes.3``, when there are several
    groups), its lines labelled by the keys whose values differ in it
    (:func:`simsgp.report.runs.varying_keys`) and seeds averaged.

    Parameters
    ----------
    out_dir : str or Path
        Output folder of one or several sweeps.
    dest_dir : str or Path, keyword-only, optional
        Where the figures go (default ``out_dir/plots``): a new folder, or one
        holding only figures with the names below.
    force : bool, keyword-only
        Write into an existing ``dest_dir`` that holds other files.
    facet : str, keyword-only, optional
        A key whose values differ between the runs of a sweep: the figures
        of several runs get one panel per value (see :func:`loss_vs_time`;
        not ``time_per_iteration_vs_nodes`` for ``cluster.nodes``).
    where : mapping of str to value, keyword-only, optional
        Draw only the runs whose value of each key equals the one given
        (see :func:`simsgp.report.runs.select`).
    run : str, keyword-only, optional
        A run key, or a unique prefix of one: the figures of one run are
        drawn for it alone instead of for every run.

    Returns
    -------
    list of Path
        The written files, per group: ``loss_vs_time``; ``accuracy_vs_time``
        when some run has a test accuracy; ``time_per_iteration_vs_nodes``
        when the runs span more than one node count; then each figure of
        :data:`RUN_FIGURES` for each run (or the ``run`` given), named
        ``time_breakdown-<label>`` by the run's label in the group
        (:func:`simsgp.report.runs.slug`; its key when labels clash;
        plain ``time_breakdown`` when the group has one run); each ``.png``
        then ``.svg``.

    Raises
    ------
    SimsgpError
        ``out_dir`` has no ``runs`` folder or no finished run in it;
        ``dest_dir`` is a file, a symbolic link, cannot be made or holds
        other files (without ``force``); a ``facet`` that differs in no
        sweep; a ``where`` key no run has or that selects no run; a ``run``
        that matches no run or several. Nothing is drawn then.
    """
    options = {"dest": "dest_dir", "facet": "facet", "where": "where", "run": "run"}
    conditions = list((where or {}).items())
    return _plot_sweep(Path(out_dir), dest_dir, force=force, facet=facet, where=conditions, run=run, options=options)


def _plot_sweep(
    out: Path,
    dest_dir: str | Path | None,
    *,
    force: bool,
    facet: str | None,
    where: Sequence[tuple[str, Any]],
    run: str | None,
    options: Mapping[str, str],
) -> list[Path]:
    """:func:`plot_sweep`, naming its options as ``options`` says in errors."""
    dest = check_folder_target(
        out / "plots" if dest_dir is None else dest_dir,
        option=options["dest"],
        what="made by simsgp plot",
        force=force,
        ours=_holds_only_figures,
    )
    runs = select(_finished_runs(out), where, options["where"])
    groups = sweeps(runs)
    chosen = None if run is None else find_run(runs, run, options["run"])
    varying = {id(group): varying_keys(group) for _, group in groups}
    if facet is not None and not any(facet in keys for keys in varying.values()):
        raise SimsgpError(_bad_facet(options["facet"], facet, list(dict.fromkeys(k for v in varying.values() for k in v))))
    written = []
    for keys, group in groups:
        folder = dest if len(groups) == 1 else dest / (slug("+".join(keys)) or "no-grid")
        written += _plot_group(group, varying[id(group)], folder, facet=facet, chosen=chosen)
    return written


def _plot_group(
    runs: list[Mapping[str, Any]],
    vary: list[str],
    folder: Path,
    *,
    facet: str | None,
    chosen: Mapping[str, Any] | None,
) -> list[Path]:
    """The figures of one sweep's runs, whose keys ``vary``, into ``folder``."""
    facet = facet if facet in vary else None
    runs = sorted(runs, key=lambda r: [order(value(r, key)) for key in vary])
    written = save(loss_vs_time(runs, facet=facet), folder / "loss_vs_time", formats=_FORMATS)
    if any(np.isfinite(_floats(r["evaluations"]["accuracy"])).any() for r in runs):
        written += save(accuracy_vs_time(runs, facet=facet), folder / "accuracy_vs_time", formats=_FORMATS)
    if len({lookup(r, "cluster.nodes") for r in runs}) > 1:
        figure = time_per_iteration_vs_nodes(runs, facet=None if facet == "cluster.nodes" else facet)
        written += save(figure, folder / "time_per_iteration_vs_nodes", formats=_FORMATS)
    names = short_names(vary)
    labelled = [{**r, "label": label(r, vary, names)} for r in runs]
    suffixes = _suffixes(labelled)
    for name, draw in RUN_FIGURES.items():
        for record, suffix in zip(labelled, suffixes):
            if (chosen is None or record["key"] == chosen["key"]) and _has_data(name, record):
                written += save(draw(record), folder / f"{name}{suffix}", formats=_FORMATS)
    return written


def _staleness_unit(name: str) -> str:
    """What the staleness of algorithm ``name`` counts (its ``staleness``; iterations for one not registered here)."""
    from simsgp import algorithms

    member = algorithms.ALGORITHMS.all().get(name)
    return str(getattr(member, "staleness", "iterations behind"))


def _has_data(figure: str, record: Mapping[str, Any]) -> bool:
    """Whether a run file holds what ``figure`` draws (files written before simsgp kept timelines and link samples do not)."""
    needs = {"progress_timeline": series.timeline_of, "link_utilization": series.links_of}.get(figure)
    return needs is None or needs(record) is not None


def _suffixes(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """``-<label>`` per run as part of a file name, ``-<label>-<key>`` where labels clash; none for a lone run."""
    if len(runs) == 1:
        return [""]
    slugs = [slug(run["label"]) for run in runs]
    return [
        f"-{s}" if s and slugs.count(s) == 1 else f"-{s}-{run['key'][:10]}".replace("--", "-")
        for s, run in zip(slugs, runs)
    ]


def _holds_only_figures(folder: Path) -> bool:
    """Whether ``folder`` holds only figures :func:`plot_sweep` writes (or their temporary files), in sub-folders too."""
    names = (*SWEEP_FIGURES, *RUN_FIGURES)

    def ours(path: Path) -> bool:
        if path.is_dir() and not path.is_symlink():
            return all(map(ours, path.iterdir()))
        if path.name.startswith(".") and path.name.endswith(".tmp"):
            return True
        stem, _, fmt = path.name.rpartition(".")
        return fmt in _FORMATS and any(stem == n or stem.startswith(f"{n}-") for n in names)

    return all(map(ours, folder.iterdir()))


def cli_plot(
    out_dir: str,
    dest: str | None,
    *,
    force: bool = False,
    facet: str | None = None,
    where: Iterable[str] = (),
    run: str | None = None,
) -> int:
    """``simsgp plot``: draw a sweep folder's figures (see :func:`plot_sweep`) and print their paths.

    ``where`` holds ``KEY=VALUE`` texts, each value a TOML literal as for
    ``--set`` (bare text is a string); several for one key are
    alternatives. Errors name ``--dest``, ``--force``, ``--facet``,
    ``--where`` and ``--run`` as the command line spells them.

    Returns
    -------
    int
        0.
    """
    options = {"dest": "--dest", "facet": "--facet", "where": "--where", "run": "--run"}
    conditions = parse_where(where, "--where")
    for path in _plot_sweep(Path(out_dir), dest, force=force, facet=facet, where=conditions, run=run, options=options):
        print(path)
    return 0


# --- helpers ------------------------------------------------------------------------


def _floats(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """``values`` as floats, ``None`` (JSON's NaN) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _finished_runs(out: Path) -> list[dict[str, Any]]:
    """The finished runs of a sweep folder (see :func:`simsgp.sweep.load_runs`)."""
    runs = [run for run in load_runs(out) if run["status"] == "ok"]
    if not runs:
        raise SimsgpError(f"{str(out / 'runs')!r} holds no finished run (status 'ok'); run the sweep first")
    return runs
