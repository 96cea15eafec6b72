"""How simsgp's figures look: line styles, axis scales and tick labels, legends and the names of quantities.

Every figure of :mod:`simsgp.report.plot` draws its lines with
:func:`line_style`, names its axes from :data:`QUANTITIES`, picks linear
or log axes with :func:`scale_axis` (and :func:`node_axis` for cluster
sizes) and places its legend with :func:`place_legend`, so that figures look
alike and stay readable with many lines.

Examples
--------
>>> line_style(0)["color"] == line_style(10)["color"], line_style(0)["linestyle"], line_style(10)["linestyle"]
(True, '-', '--')
>>> spans_decades([0.5, 40.0]), spans_decades([0.5, 51.0])
(False, True)
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, MaxNLocator, NullFormatter, NullLocator

__all__ = [
    "COLORS",
    "DECADES",
    "LEGEND_INSIDE",
    "LINE_STYLES",
    "QUANTITIES",
    "SIZE",
    "line_style",
    "node_axis",
    "place_legend",
    "plain_number",
    "scale_axis",
    "spans_decades",
]

SIZE = (6.4, 4.0)
"""Width and height in inches of a figure with one axes."""

COLORS = (
    "tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple",
    "tab:brown", "tab:pink", "tab:gray", "tab:olive", "tab:cyan",
)
"""Line colours, in order (matplotlib's ten-colour "tab10" palette, readable by most colour-blind readers)."""

LINE_STYLES = (("-", "o"), ("--", "s"), ("-.", "^"), (":", "D"))
"""Dash pattern and marker of each pass through :data:`COLORS`."""

LEGEND_INSIDE = 6
"""The most legend entries drawn inside the axes; more go to the right of them."""

DECADES = 100.0
"""Positive data whose largest value is more than this many times its smallest is drawn on a log axis."""

QUANTITIES = {
    "iteration": "iteration",
    "sim_time": "simulated time (s)",
    "loss": "training loss",
    "accuracy": "test accuracy",
    "consensus_distance": "consensus distance",
    "weight_min": "smallest push-sum weight",
    "weight_max": "largest push-sum weight",
    "sim_time_per_iteration": "simulated time per iteration (s)",
    "nodes": "nodes",
}
"""Axis label of each quantity, by its column name in the evaluations or the summary."""


def line_style(k: int) -> dict[str, Any]:
    """Keyword arguments of ``Axes.plot`` for the ``k``-th line (from 0) of a figure.

    The colour runs through :data:`COLORS` and the dash pattern and marker
    change after each pass, so no (colour, dash) pair repeats before
    ``len(COLORS) * len(LINE_STYLES)`` (40) lines.

    Examples
    --------
    >>> line_style(12)
    {'color': 'tab:green', 'linestyle': '--', 'marker': 's'}
    """
    dash, marker = LINE_STYLES[(k // len(COLORS)) % len(LINE_STYLES)]
    return {"color": COLORS[k % len(COLORS)], "linestyle": dash, "marker": marker}


def plain_number(x: float, pos: int | None = None) -> str:
    """A tick label without mathtext: ``0.1``, ``1``, ``250``, ``1e6``, ``2.5e-5``.

    ``pos`` is the tick's index, which matplotlib passes and this ignores.

    Examples
    --------
    >>> [plain_number(x) for x in (0.1, 1.0, 250.0, 1e6, 2.5e-05, 0.30000000000000004, 0.0)]
    ['0.1', '1', '250', '1e6', '2.5e-5', '0.3', '0']
    """
    del pos
    mantissa, _, exponent = f"{x:.6g}".partition("e")
    return f"{mantissa}e{int(exponent)}" if exponent else mantissa


def spans_decades(values: Iterable[float], ratio: float = DECADES) -> bool:
    """Whether the finite ``values`` are all positive and the largest is more than ``ratio`` times the smallest."""
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) > ratio * min(finite)


def scale_axis(ax: Axes, axis: str, values: Iterable[float], *, ratio: float = DECADES) -> bool:
    """Make ``ax``'s ``axis`` (``"x"`` or ``"y"``) logarithmic if ``values`` span decades; plain tick labels either way.

    A log axis (see :func:`spans_decades`) gets major ticks at powers of ten
    labelled as plain numbers (``0.01``, ``1``, ``100``) and unlabelled minor
    ticks; a linear axis gets plain labels too, never an offset or a
    ``1e-5`` factor at its end.

    Returns
    -------
    bool
        Whether the axis is now logarithmic.
    """
    log = spans_decades(values, ratio)
    target = ax.xaxis if axis == "x" else ax.yaxis
    if log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        target.set_major_locator(LogLocator(base=10))
        target.set_minor_formatter(NullFormatter())
    target.set_major_formatter(FuncFormatter(plain_number))
    return log


def node_axis(ax: Axes, nodes: Sequence[int]) -> bool:
    """Put cluster sizes on ``ax``'s x axis: log base 2 when they span a decade or nearly (largest >= 8 x smallest).

    Ticks sit at the node counts drawn (at powers of two when there are
    more than ten), labelled as plain integers (``4``, ``8``, ``1024``),
    without minor ticks.

    Returns
    -------
    bool
        Whether the axis is logarithmic.
    """
    values = sorted({int(n) for n in nodes})
    log = bool(values) and values[-1] >= 8 * values[0]
    if log:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(NullLocator())
    if len(values) <= 10:
        ax.xaxis.set_major_locator(FixedLocator(values))
    elif log:
        first, last = math.floor(math.log2(values[0])), math.ceil(math.log2(values[-1]))
        ax.xaxis.set_major_locator(FixedLocator([2.0**k for k in range(first, last + 1)]))
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, pos: str(round(x))))
    ax.xaxis.set_minor_formatter(NullFormatter())
    return log


def place_legend(fig: Figure, handles: Sequence[Any], labels: Sequence[str], *, ax: Axes | None = None,
                 title: str | None = None) -> None:
    """A legend of ``handles`` with ``labels``, if there are any: in ``ax``, or for the whole figure.

    With at most :data:`LEGEND_INSIDE` entries it sits inside ``ax`` where
    it covers least; with more, or for a figure of several axes (``ax``
    ``None``), to the right of the axes, in columns of up to 24 entries, and
    the figure is widened by the legend's width so that the axes keep
    theirs.
    """
    if not handles:
        return
    columns = math.ceil(len(labels) / 24)
    options: dict[str, Any] = {"title": title, "fontsize": "small", "ncols": columns}
    if ax is None or len(labels) > LEGEND_INSIDE:
        width, height = fig.get_size_inches()
        longest = max(len(text) for text in [*labels, title or ""])
        fig.set_size_inches(width + columns * (0.8 + 0.075 * longest), height)
    if ax is None:
        fig.legend(handles, labels, loc="outside right upper", **options)
    elif len(labels) <= LEGEND_INSIDE:
        ax.legend(handles, labels, **options)
    else:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, **options)
