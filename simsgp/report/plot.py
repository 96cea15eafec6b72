"""Figures of runs and sweeps with matplotlib.

Every plotting function takes runs either as :class:`simsgp.Result` objects
or as run records of a sweep folder (``OUT/runs/<key>.json``: ``point``,
``scenario``, ``summary``, ``evaluations``, ``status``) and returns a new
:class:`matplotlib.figure.Figure`; nothing touches pyplot's global state, so
no display is needed. :func:`save` writes a figure as PNG and SVG and
:func:`plot_sweep` draws the standard figures of a whole sweep folder.

Runs are labelled and grouped by dotted scenario keys, the spelling of
``--set`` and of sweep grids (``"algorithm.name"``, ``"cluster.nodes"``).
The engine never imports this module.

Examples
--------
>>> import simsgp
>>> runs = [simsgp.run({"iterations": 4, "cluster": {"nodes": 2}, "algorithm": {"name": name}})
...         for name in ("sgp", "allreduce")]
>>> fig = loss_vs_time(runs)
>>> [line.get_label() for line in fig.axes[0].get_lines()]
['sgp', 'allreduce']
"""

from __future__ import annotations

import io
import json
import numbers
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from simsgp.errors import SimsgpError
from simsgp.outputs import check_folder_target, write_atomic
from simsgp.report.metrics import EVALUATION_FIELDS
from simsgp.report.result import Result
from simsgp.sweep import load_runs

__all__ = [
    "cli_plot",
    "loss_vs_time",
    "plot_sweep",
    "save",
    "staleness_histogram",
    "time_breakdown",
    "time_per_iteration_vs_nodes",
]

Run = Result | Mapping[str, Any]
"""A :class:`simsgp.Result` or a sweep run record."""

Keys = str | Sequence[str]
"""One dotted scenario key, or several."""

_SIZE = (6.4, 4.0)


def loss_vs_time(runs: Sequence[Run], *, label_key: Keys = "algorithm.name", metric: str = "loss") -> Figure:
    """One line per run of an evaluation metric against simulated time.

    Parameters
    ----------
    runs : sequence of Result or run record
        The runs, drawn in this order.
    label_key : str or sequence of str, keyword-only
        Dotted scenario key(s) whose values label each line: the bare value
        for one key (``"sgp"``), ``key=value`` pairs joined by commas for
        several.
    metric : str, keyword-only
        The evaluation column on the y axis, one of
        :data:`simsgp.report.metrics.EVALUATION_FIELDS` except ``sim_time``.

    Returns
    -------
    Figure
        One axes; x is ``evaluations["sim_time"]``, y ``evaluations[metric]``
        (missing values, such as the accuracy of a task without test data,
        as NaN).

    Raises
    ------
    SimsgpError
        A failed run, an unknown ``metric`` or a ``label_key`` that is not a
        scenario field.
    """
    if metric not in EVALUATION_FIELDS or metric == "sim_time":
        allowed = [f for f in EVALUATION_FIELDS if f != "sim_time"]
        raise SimsgpError(f"metric={metric!r}; expected one of {allowed}")
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for run in map(_as_run, runs):
        evaluations = run["evaluations"]
        x, y = _floats(evaluations["sim_time"]), _floats(evaluations[metric])
        ax.plot(x, y, marker=".", label=_label(run, label_key))
    ax.set_xlabel("simulated time (s)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.set_title(f"{metric.replace('_', ' ')} against simulated time")
    ax.grid(alpha=0.3)
    ax.legend(title=_keys_title(label_key), fontsize="small")
    return fig


def time_per_iteration_vs_nodes(runs: Sequence[Run], *, group_key: Keys = "algorithm.name") -> Figure:
    """Simulated time per iteration against the number of nodes, one line per group.

    Parameters
    ----------
    runs : sequence of Result or run record
        The runs; those with the same group and node count (such as
        replications over seeds) are averaged into one point.
    group_key : str or sequence of str, keyword-only
        Dotted scenario key(s) whose values make a group (labelled as in
        :func:`loss_vs_time`).

    Returns
    -------
    Figure
        One axes; per group a line with markers through ``(cluster.nodes,
        summary["sim_time_per_iteration"])``, nodes ascending, groups in
        order of first appearance.

    Raises
    ------
    SimsgpError
        A failed run or a ``group_key`` that is not a scenario field.

    Examples
    --------
    >>> import simsgp
    >>> runs = [simsgp.run({"iterations": 3, "cluster": {"nodes": n}, "eval_every": 0}) for n in (2, 4)]
    >>> line, = time_per_iteration_vs_nodes(runs).axes[0].get_lines()
    >>> line.get_label(), line.get_xdata().tolist()
    ('sgp', [2, 4])
    """
    points: dict[str, dict[int, list[float]]] = {}
    for run in map(_as_run, runs):
        per_iteration = run["summary"]["sim_time_per_iteration"]
        nodes = _lookup(run, "cluster.nodes")
        points.setdefault(_label(run, group_key), {}).setdefault(nodes, []).append(
            np.nan if per_iteration is None else per_iteration
        )
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.add_subplot()
    for label, by_nodes in points.items():
        nodes = sorted(by_nodes)
        ax.plot(nodes, [float(np.mean(by_nodes[n])) for n in nodes], marker="o", label=label)
    ax.set_xlabel("nodes")
    ax.set_ylabel("simulated time per iteration (s)")
    ax.set_title("time per iteration against cluster size")
    ax.grid(alpha=0.3)
    ax.legend(title=_keys_title(group_key), fontsize="small")
    return fig


def time_breakdown(run: Run) -> Figure:
    """Where each node's time went: stacked compute and communication-wait fractions.

    Parameters
    ----------
    run : Result or run record
        One finished run.

    Returns
    -------
    Figure
        One axes with a bar per node: ``summary["node_compute_fraction"]``
        at the bottom, ``summary["node_comm_wait_fraction"]`` stacked on it,
        and ``summary["node_send_fraction"]`` (the node's uplink busy) as
        markers on a line. Fractions a node has none of (it did no
        iteration) are NaN.

    Examples
    --------
    >>> import simsgp
    >>> ax = time_breakdown(simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "eval_every": 0})).axes[0]
    >>> [c.get_label() for c in ax.containers], len(ax.patches)
    (['compute', 'communication wait'], 4)
    """
    run = _as_run(run)
    summary = run["summary"]
    compute = _floats(summary["node_compute_fraction"])
    wait = _floats(summary["node_comm_wait_fraction"])
    send = _floats(summary["node_send_fraction"])
    nodes = np.arange(len(compute))
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.add_subplot()
    ax.bar(nodes, compute, label="compute", color="tab:blue")
    ax.bar(nodes, wait, bottom=compute, label="communication wait", color="tab:orange")
    ax.plot(nodes, send, marker="D", linestyle=":", color="black", label="uplink busy (send)")
    ax.set_xticks(nodes)
    ax.set_xlabel("node")
    ax.set_ylabel("fraction of time")
    ax.set_ylim(0, 1.2)  # room for the legend above the full bars
    ax.set_title(f"time breakdown: {_describe(run)}")
    ax.legend(fontsize="small", loc="upper center", ncols=3)
    return fig


def staleness_histogram(run: Run) -> Figure:
    """Bar chart of how many (node, iteration) pairs used each staleness value.

    Parameters
    ----------
    run : Result or run record
        One finished run.

    Returns
    -------
    Figure
        One axes with a bar per staleness value ``0, 1, ...`` of
        ``summary["staleness_histogram"]``; for algorithms without staleness
        (an empty histogram) no bars but a centred note saying so.

    Examples
    --------
    >>> import simsgp
    >>> ax = staleness_histogram(simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "eval_every": 0})).axes[0]
    >>> len(ax.patches), ax.texts[0].get_text()
    (0, 'no staleness recorded: sgp has none')
    """
    run = _as_run(run)
    counts = run["summary"]["staleness_histogram"]
    fig = Figure(figsize=_SIZE, layout="constrained")
    ax = fig.add_subplot()
    if counts:
        values = np.arange(len(counts))
        ax.bar(values, counts, color="tab:purple")
        ax.set_xticks(values)
    else:
        ax.text(0.5, 0.5, f"no staleness recorded: {_lookup(run, 'algorithm.name')} has none",
                transform=ax.transAxes, ha="center", va="center")
        ax.set_xticks([])
        ax.set_yticks([])
    ax.set_xlabel("staleness")
    ax.set_ylabel("node iterations")
    ax.set_title(f"staleness: {_describe(run)}")
    return fig


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


_FIGURES = ("loss_vs_time", "time_per_iteration_vs_nodes", "time_breakdown", "staleness_histogram")
_FORMATS = ("png", "svg")


def plot_sweep(out_dir: str | Path, *, dest_dir: str | Path | None = None, force: bool = False) -> list[Path]:
    """Draw the standard figures of a sweep folder as PNG and SVG.

    Reads every finished run (``status == "ok"``) of ``out_dir/runs/*.json``
    (see :func:`simsgp.sweep.load_runs`, which skips, with a warning, files
    that are not run records). Lines are labelled by the grid keys whose
    values differ between those runs (``algorithm.name`` when none do); runs
    are ordered by those values.

    Parameters
    ----------
    out_dir : str or Path
        Output folder of a sweep.
    dest_dir : str or Path, keyword-only, optional
        Where the figures go (default ``out_dir/plots``): a new folder, or one
        holding only figures with the names below.
    force : bool, keyword-only
        Write into an existing ``dest_dir`` that holds other files.

    Returns
    -------
    list of Path
        The written files: ``loss_vs_time``; ``time_per_iteration_vs_nodes``
        when the runs span more than one node count (grouped by the other
        differing grid keys, seeds averaged); ``time_breakdown`` and
        ``staleness_histogram`` of the first run; each ``.png`` then ``.svg``.

    Raises
    ------
    SimsgpError
        ``out_dir`` has no ``runs`` folder or no finished run in it, or
        ``dest_dir`` is a file, a symbolic link, cannot be made or holds other
        files (without ``force``); nothing is drawn then.
    """
    return _plot_sweep(Path(out_dir), dest_dir, force=force, option="dest_dir")


def _plot_sweep(out: Path, dest_dir: str | Path | None, *, force: bool, option: str) -> list[Path]:
    """:func:`plot_sweep`, naming ``dest_dir`` as ``option`` in errors."""
    dest = check_folder_target(
        out / "plots" if dest_dir is None else dest_dir,
        option=option,
        what="made by simsgp plot",
        force=force,
        ours=_holds_only_figures,
    )
    runs = _finished_runs(out)
    keys = _varying_keys(runs)
    runs.sort(key=lambda run: [_order(run["point"].get(key)) for key in keys])
    written = save(loss_vs_time(runs, label_key=keys or "algorithm.name"), dest / "loss_vs_time", formats=_FORMATS)
    if len({_lookup(run, "cluster.nodes") for run in runs}) > 1:
        groups = [key for key in keys if key not in ("cluster.nodes", "seed")] or "algorithm.name"
        figure = time_per_iteration_vs_nodes(runs, group_key=groups)
        written += save(figure, dest / "time_per_iteration_vs_nodes", formats=_FORMATS)
    written += save(time_breakdown(runs[0]), dest / "time_breakdown", formats=_FORMATS)
    written += save(staleness_histogram(runs[0]), dest / "staleness_histogram", formats=_FORMATS)
    return written


def _holds_only_figures(folder: Path) -> bool:
    """Whether every entry of ``folder`` is a figure :func:`plot_sweep` writes (or a temporary file of one)."""
    names = {f"{name}.{fmt}" for name in _FIGURES for fmt in _FORMATS}
    return all(
        path.name in names or (path.name.startswith(".") and path.name.endswith(".tmp")) for path in folder.iterdir()
    )


def cli_plot(out_dir: str, dest: str | None, *, force: bool = False) -> int:
    """``simsgp plot``: draw a sweep folder's figures (see :func:`plot_sweep`) and print their paths.

    Errors name ``--dest`` and ``--force`` as the command line spells them.

    Returns
    -------
    int
        0.
    """
    for path in _plot_sweep(Path(out_dir), dest, force=force, option="--dest"):
        print(path)
    return 0


# --- helpers ------------------------------------------------------------------------


def _as_run(run: Run) -> Mapping[str, Any]:
    """A run record (``point``, ``scenario``, ``summary``, ``evaluations``) of a Result or a finished record."""
    if isinstance(run, Result):
        return {"point": {}, "status": "ok", **run.to_dict()}
    if run.get("status", "ok") != "ok":
        raise SimsgpError(
            f"run {run.get('key', '?')} has status {run['status']!r} ({run.get('error')}); "
            "only finished runs can be plotted"
        )
    return run


def _lookup(run: Mapping[str, Any], key: str) -> Any:
    """The value of dotted ``key`` in the run's resolved scenario."""
    value: Any = run["scenario"]
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            raise SimsgpError(f"{key!r} is not a scenario field; expected a dotted key such as 'algorithm.name'")
        value = value[part]
    return value


def _label(run: Mapping[str, Any], keys: Keys) -> str:
    if isinstance(keys, str):
        return str(_lookup(run, keys))
    return ", ".join(f"{key}={_lookup(run, key)}" for key in keys)


def _keys_title(keys: Keys) -> str | None:
    return keys if isinstance(keys, str) else None


def _describe(run: Mapping[str, Any]) -> str:
    return f"{_lookup(run, 'algorithm.name')}, {_lookup(run, 'cluster.nodes')} nodes"


def _floats(values: Sequence[float | None] | np.ndarray) -> np.ndarray:
    """``values`` as floats, ``None`` (JSON's NaN) as NaN."""
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _finished_runs(out: Path) -> list[dict[str, Any]]:
    """The finished runs of a sweep folder (see :func:`simsgp.sweep.load_runs`)."""
    runs = [run for run in load_runs(out) if run["status"] == "ok"]
    if not runs:
        raise SimsgpError(f"{str(out / 'runs')!r} holds no finished run (status 'ok'); run the sweep first")
    return runs


def _varying_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The grid keys, in first-seen order, whose values differ between ``runs``."""
    keys = list(dict.fromkeys(key for run in runs for key in run["point"]))
    return [key for key in keys if len({json.dumps(run["point"].get(key), sort_keys=True) for run in runs}) > 1]


def _order(value: Any) -> tuple[int, Any]:
    """Sort key: numbers by value, then anything else by its text."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))
