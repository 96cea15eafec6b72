"""Figures of one run over simulated time: each node's progress, and the busiest links' utilisation.

Like :mod:`simsgp.report.plot`, each function takes a :class:`simsgp.Result`
or a sweep run record and returns a new :class:`matplotlib.figure.Figure`
without touching pyplot's global state. The data come from
:mod:`simsgp.report.series`: a Result gives every iteration and every link
sample; a run record its compact ``timeline`` and ``links`` entries, and one
written before simsgp kept them gives a figure with a note saying so.

Examples
--------
>>> import simsgp
>>> result = simsgp.run({"iterations": 5, "cluster": {"nodes": 2}, "eval_every": 0})
>>> [line.get_label() for line in progress_timeline(result).axes[0].get_lines()]
['node 0', 'node 1']
>>> [ax.patches[0].get_label() for ax in link_utilization(result).axes]
['h0.up', 'h1.up', 'h0.down', 'h1.down']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from simsgp.report import series
from simsgp.report.runs import Run, as_run, describe

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["link_utilization", "progress_timeline"]

_SIZE = (6.4, 4.0)
_RERUN = "rerun the sweep with this simsgp version to record it"


def progress_timeline(run: Run) -> Figure:
    """Iterations each node had completed against simulated time, so that a straggler shows.

    Parameters
    ----------
    run : Result or run record
        One finished run.

    Returns
    -------
    Figure
        One axes. With at most :data:`simsgp.report.series.ALL_NODES_UP_TO`
        nodes, one line per node through ``(records["end"][t, i], t + 1)``,
        labelled ``node i``, the slowest (if some node is behind another)
        drawn wider and labelled ``node i (slowest)``. With more, the
        envelope: lines of the time by which the first node, half the nodes
        (the median) and every node had completed each iteration count, the
        band between the first and the last shaded, and the
        :data:`~simsgp.report.series.SLOWEST` slowest nodes' own lines (the
        slowest first, marked as above); the legend says so. A run record
        keeps at most
        :data:`~simsgp.report.series.TIMELINE_POINTS` iterations; one
        without the entry gives a note and no lines.

    Raises
    ------
    SimsgpError
        A failed run, or a run record whose entry is not what simsgp writes.
    """
    described, data = _description(run), series.timeline_of(run)
    fig, ax = _axes(f"progress of each node: {described}")
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel("iterations completed")
    if data is None:
        _note(ax, f"no per-node timeline in this run record; {_RERUN}")
        return fig
    iterations, n = data["iterations"], data["n_nodes"]
    envelope = data["envelope"]
    if envelope is not None:
        ax.fill_betweenx(iterations, envelope["first"], envelope["last"], color="tab:gray", alpha=0.2, linewidth=0)
        for key, what, style in (("first", "first", ":"), ("half", "half (median)", "-"), ("last", "last", "--")):
            ax.plot(envelope[key], iterations, color="black", linestyle=style, linewidth=1.2,
                    label=f"{what} of {n} nodes")
    nodes = data["nodes"].tolist()
    slowest = _straggler(data)
    for k, node in enumerate(nodes):
        first = k == slowest
        ax.plot(data["end"][:, k], iterations, linewidth=2.5 if first else 1.0, zorder=3 if first else 2,
                label=f"node {node} (slowest)" if first else f"node {node}")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    title = f"{n} nodes: envelope and the {len(data['nodes'])} slowest" if envelope is not None else None
    ax.legend(title=title, fontsize="small", ncols=1 + len(ax.get_lines()) // 17, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    return fig


def link_utilization(run: Run) -> Figure:
    """The fraction of capacity the busiest links used over simulated time, one panel per link.

    Parameters
    ----------
    run : Result or run record
        One finished run.

    Returns
    -------
    Figure
        One axes per link, stacked with a shared time axis, for the
        :data:`~simsgp.report.series.TOP_LINKS` links that used the largest
        share of their capacity, the summary's ``busiest_link`` first. Each
        holds one step curve (a :class:`matplotlib.patches.StepPatch` in
        ``ax.patches``, labelled with the link's name, such as ``h0.up``):
        over each interval between two samples of the run's link counters,
        the bytes the link carried over its capacity times the interval
        (:func:`simsgp.report.series.utilization`), exact and at most 1. The
        analytic mode samples only the start and the end (one interval). A
        run in which no link carried anything, or a run record without the
        entry, gives one axes with a note and no curve.

    Raises
    ------
    SimsgpError
        A failed run, or a run record whose entry is not what simsgp writes.
    """
    described, data = _description(run), series.links_of(run)
    names = [] if data is None else data["names"]
    fig = Figure(figsize=(_SIZE[0], 1.4 + 0.75 * max(len(names), 2)), layout="constrained")
    axes = fig.subplots(max(len(names), 1), 1, sharex=True, squeeze=False)[:, 0]
    fig.suptitle(f"link utilisation: {described}")
    fig.supylabel("utilisation (fraction of capacity)")
    axes[-1].set_xlabel("simulated time (s)")
    if data is None or not names:
        _note(axes[0], "no link carried any bytes" if data else f"no link samples in this run record; {_RERUN}")
        return fig
    time = data["time"]
    used = series.utilization(time, data["carried"], data["capacity"])
    for k, (ax, name) in enumerate(zip(axes, names)):
        ax.stairs(used[:, k], time, label=name, fill=True, color=f"C{k}", alpha=0.8)
        ax.set_ylim(0.0, 1.05)
        ax.set_yticks([0.0, 0.5, 1.0])
        ax.grid(alpha=0.3)
        ax.text(1.01, 0.5, name, transform=ax.transAxes, ha="left", va="center")
    axes[0].set_xlim(time[0], time[-1])
    axes[0].set_title(f"busiest {len(names)} of {data['n_links']} links, by share of capacity over the run",
                      fontsize="medium")
    return fig


def _straggler(data: dict[str, Any]) -> int | None:
    """The column of the slowest node kept, ``None`` when no node is behind another."""
    end, envelope = data["end"], data["envelope"]
    if envelope is None:
        order = series.slowest_nodes(end, end.shape[1])
        if not order.size:
            return None
        slowest, fastest = int(order[0]), end[:, order[-1]]
    else:  # the kept nodes are the slowest first; the fastest pace is the envelope's first
        slowest, fastest = 0, envelope["first"]
    return None if np.array_equal(end[:, slowest], fastest, equal_nan=True) else slowest


def _description(run: Run) -> str:
    """The run as the figures of :mod:`simsgp.report.plot` describe it; a failed run is an error there."""
    return describe(as_run(run))


def _axes(title: str) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(_SIZE[0] + 1.6, _SIZE[1]), layout="constrained")  # the legend goes right of the axes
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.grid(alpha=0.3)
    return fig, ax


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", wrap=True)
