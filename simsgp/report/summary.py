"""The readable account of a run: one set of rows, shown as text (the command line) or as an HTML table (Jupyter).

:func:`summary_table` builds the rows once; :func:`format_summary` lays them
out as text and :func:`summary_html` as HTML, so the two cannot disagree.
:func:`check_summary` says whether a summary (read back from JSON, say) has
every entry the rows read, of the right type. This module imports nothing
heavy at import time: the command line imports it on start-up.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from simsgp.errors import SimsgpError, shown

if TYPE_CHECKING:
    from simsgp.report.result import Result
    from simsgp.scenario import Scenario

__all__ = [
    "EVALUATION_COLUMNS",
    "SummaryTable",
    "check_summary",
    "format_summary",
    "summary_html",
    "summary_line",
    "summary_table",
]

EVALUATION_COLUMNS = ("iteration", "sim time s", "loss", "accuracy", "consensus")
"""Headings of the table of evaluation points."""

_LABEL_WIDTH = 22  # the text layout: two spaces, the label padded to this width, the value


class SummaryTable(NamedTuple):
    """What the summary shows, as formatted strings.

    Attributes
    ----------
    title : str
        The algorithm, nodes, iterations, version, seed (and backend).
    rows : list of (str, str)
        A label and its value, such as ``("final accuracy", "0.9554")``.
    evaluations : list of tuple of str
        Some evaluation points (at most ``max_rows``, evenly spread, the
        first and last among them), one string per :data:`EVALUATION_COLUMNS`.
    """

    title: str
    rows: list[tuple[str, str]]
    evaluations: list[tuple[str, ...]]


def summary_table(result: Result, *, max_rows: int = 10) -> SummaryTable:
    """The title, labelled rows and evaluation points of the summary of ``result``.

    Examples
    --------
    >>> from simsgp import run
    >>> table = summary_table(run({"iterations": 4, "cluster": {"nodes": 2}}), max_rows=2)
    >>> table.title
    'sgp on 2 nodes, 4 iterations (simsgp 0.1.0, seed 0)'
    >>> [label for label, _ in table.rows][:3], [row[0] for row in table.evaluations]
    (['simulated time', 'per node', 'final loss'], ['1', '4'])
    """
    s, sc = result.summary, result.scenario
    backend = "" if sc.backend == "numpy" else f", {sc.backend} on {sc.device}"
    header = f"{sc.algorithm.name} on {sc.cluster.nodes} nodes, {s['iterations']} iterations"
    title = f"{header} (simsgp {result.version}, seed {sc.seed}{backend})"
    rows: list[tuple[str, str]] = []
    if s["iterations"]:
        pace = [p for p in s["node_time_per_iteration"] if p is not None]
        rows += [
            (
                "simulated time",
                f"{s['sim_time']:.6g} s, {s['sim_time_per_iteration']:.6g} s per iteration (the slowest node's pace)",
            ),
            (
                "per node",
                (
                    f"{min(pace):.4g} / {s['median_node_time_per_iteration']:.4g} / {max(pace):.4g} "
                    "s per iteration (min / median / max of each node's own pace)"
                ),
            ),
        ]
    else:
        limit = f" within time_limit={sc.time_limit:g} s" if sc.time_limit is not None else ""
        rows.append(("simulated time", f"{s['span']:.6g} s: 0 iterations completed by every node{limit}"))
    if s["down_at_end"]:
        nodes = ", ".join(map(str, s["down_at_end"]))
        rows.append(("down at the end", f"node(s) {nodes}: the others went on without them"))
    if sc.has_target:
        rows.append(("time to target", _time_to_target(s, sc)))
    rows += [
        ("final loss", _number(s["final_loss"], ".6g")),
        ("final accuracy", _number(s["final_accuracy"], ".4f")),
        ("consensus distance", _number(s["consensus_distance"], ".3g")),
        ("time computing", f"{_percent(s['compute_fraction'])} (per node {_spread(s['node_compute_fraction'], '.1%')})"),
        ("time communicating", f"{_percent(s['comm_wait_fraction'])} (sending or waiting for peers)"),
        ("uplink busy", f"per node {_spread(s['node_send_fraction'], '.1%')} of the run"),
        ("busiest link", f"{s['busiest_link']}, {_percent(s['max_link_utilization'])} of its capacity"),
        ("bytes sent", f"{s['bytes_sent']:.4g} (per node {_spread(s['node_bytes_sent'], '.3g')})"),
        ("push-sum weight", f"{s['weight_min']:.4g} .. {s['weight_max']:.4g}"),
    ]
    if s["staleness_histogram"]:
        rows.append(("staleness", ", ".join(f"{k}: {c}" for k, c in enumerate(s["staleness_histogram"]) if c)))
    if any(s["down_time"]):
        rows.append(("down time", ", ".join(f"node {i}: {d:.4g} s" for i, d in enumerate(s["down_time"]) if d)))
    return SummaryTable(title, rows, _evaluation_rows(result.evaluations, max_rows))


def _evaluation_rows(ev: Mapping[str, Any], max_rows: int) -> list[tuple[str, ...]]:
    """At most ``max_rows`` evaluation points, evenly spread over the run (the first and the last among them)."""
    count = len(ev["iteration"])
    if not count:
        return []
    import numpy as np  # only when a run has evaluations: the command line imports this module on start-up

    picked = np.unique(np.linspace(0, count - 1, min(max_rows, count)).astype(int))
    return [
        (
            str(int(ev["iteration"][k])),
            format(ev["sim_time"][k], ".4g"),
            format(ev["loss"][k], ".4g"),
            _number(ev["accuracy"][k], ".4f"),
            _number(ev["consensus_distance"][k], ".3g"),
        )
        for k in picked
    ]


def summary_line(result: Result) -> str:
    """The run in a few words: algorithm, nodes, iterations, time per iteration, final accuracy.

    Examples
    --------
    >>> from simsgp import run
    >>> summary_line(run({"iterations": 4, "cluster": {"nodes": 2}, "timing_only": True}))
    'sgp, 2 nodes, 4 iterations, 0.1 s/it, accuracy n/a'
    """
    s, sc = result.summary, result.scenario
    pace, accuracy = _number(s.get("sim_time_per_iteration"), ".4g"), _number(s.get("final_accuracy"), ".4f")
    return f"{sc.algorithm.name}, {sc.cluster.nodes} nodes, {s.get('iterations')} iterations, {pace} s/it, accuracy {accuracy}"


def format_summary(result: Result, *, max_rows: int = 10) -> str:
    """A short human-readable account of a run: time, accuracy, where time and bytes went.

    The rows of :func:`summary_table`, one line each, then at most
    ``max_rows`` evaluation points.

    Examples
    --------
    >>> from simsgp import run
    >>> print(format_summary(run({"iterations": 2, "cluster": {"nodes": 2}})).splitlines()[0])
    sgp on 2 nodes, 2 iterations (simsgp 0.1.0, seed 0)
    """
    table = summary_table(result, max_rows=max_rows)
    lines = [table.title, *(f"  {label:<{_LABEL_WIDTH}}{value}" for label, value in table.rows)]
    if table.evaluations:
        lines += [_evaluation_line(cells) for cells in [EVALUATION_COLUMNS, *table.evaluations]]
    return "\n".join(lines)


def _evaluation_line(cells: tuple[str, ...]) -> str:
    iteration, sim_time, loss, accuracy, consensus = cells
    return f"  {iteration:>9}   {sim_time:>10}   {loss:<8}  {accuracy:<8}  {consensus}"


def summary_html(result: Result, *, max_rows: int = 10) -> str:
    """The rows of :func:`summary_table` as HTML: a table of labelled rows, then one of the evaluation points.

    Examples
    --------
    >>> from simsgp import run
    >>> page = summary_html(run({"iterations": 2, "cluster": {"nodes": 2}}))
    >>> page.startswith("<div class=\\"simsgp-result\\"><table><caption>sgp on 2 nodes"), "<th>final loss</th>" in page
    (True, True)
    """
    table = summary_table(result, max_rows=max_rows)
    esc = html.escape
    rows = "".join(f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>" for label, value in table.rows)
    parts = [f'<div class="simsgp-result"><table><caption>{esc(table.title)}</caption><tbody>{rows}</tbody></table>']
    if table.evaluations:
        head = "".join(f"<th>{esc(name)}</th>" for name in EVALUATION_COLUMNS)
        body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in cells) + "</tr>" for cells in table.evaluations)
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts) + "</div>"


def _time_to_target(summary: Mapping[str, Any], scenario: Scenario) -> str:
    """``1.2 s (iteration 120; reached after the check at 1.1 s)``, or when it was never reached."""
    goals = [f"accuracy >= {scenario.target_accuracy:g}"] if scenario.target_accuracy is not None else []
    goals += [f"loss <= {scenario.target_loss:g}"] if scenario.target_loss is not None else []
    goal = " and ".join(goals)
    if summary["time_to_target"] is None:
        return f"{goal} not reached (checked every {scenario.eval_every} iterations)"
    seconds, resolution = summary["time_to_target"], summary["time_to_target_resolution"]
    return (
        f"{seconds:.6g} s to {goal} (iteration {summary['iterations_to_target']}; "
        f"reached within the {resolution:.3g} s since the check before)"
    )


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, fmt)


def _percent(value: float | None) -> str:
    return _number(value, ".1%")


def _spread(values: list[float | None], fmt: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    low, high = min(known), max(known)
    return format(low, fmt) if low == high else f"{format(low, fmt)} .. {format(high, fmt)}"


# --- what the rows read -----------------------------------------------------------

_NUMBER, _INT, _TEXT = "a number", "an integer", "a string"
_OR_NULL, _LIST_OF = " or null", "a list of "

_READS: dict[str, str] = {
    "iterations": _INT,
    "sim_time": _NUMBER,
    "sim_time_per_iteration": _NUMBER + _OR_NULL,
    "node_time_per_iteration": _LIST_OF + _NUMBER + _OR_NULL,
    "median_node_time_per_iteration": _NUMBER + _OR_NULL,
    "span": _NUMBER,
    "down_at_end": _LIST_OF + _INT,
    "final_loss": _NUMBER + _OR_NULL,
    "final_accuracy": _NUMBER + _OR_NULL,
    "consensus_distance": _NUMBER + _OR_NULL,
    "compute_fraction": _NUMBER + _OR_NULL,
    "comm_wait_fraction": _NUMBER + _OR_NULL,
    "node_compute_fraction": _LIST_OF + _NUMBER + _OR_NULL,
    "node_send_fraction": _LIST_OF + _NUMBER + _OR_NULL,
    "busiest_link": _TEXT,
    "max_link_utilization": _NUMBER + _OR_NULL,
    "bytes_sent": _NUMBER,
    "node_bytes_sent": _LIST_OF + _NUMBER + _OR_NULL,
    "weight_min": _NUMBER,
    "weight_max": _NUMBER,
    "staleness_histogram": _LIST_OF + _INT,
    "down_time": _LIST_OF + _NUMBER,
}
"""Each summary entry the rows read, and what it must be (as JSON names it)."""

_TARGET_READS = {
    "time_to_target": _NUMBER + _OR_NULL,
    "time_to_target_resolution": _NUMBER + _OR_NULL,
    "iterations_to_target": _INT + _OR_NULL,
}
"""The entries the rows read when the scenario has a target."""


def check_summary(summary: Mapping[str, Any], *, has_target: bool) -> None:
    """Raise unless ``summary`` has every entry :func:`summary_table` reads, each of its type.

    Raises
    ------
    SimsgpError
        Naming the first entry missing or of the wrong type.

    Examples
    --------
    >>> check_summary({"iterations": "5"}, has_target=False)
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: summary['iterations']='5'; expected an integer
    """
    expected = {**_READS, **(_TARGET_READS if has_target else {})}
    for key, kind in expected.items():
        if key not in summary:
            raise SimsgpError(f"summary has no {key!r}; expected {kind}")
        if not _is(summary[key], kind):
            raise SimsgpError(f"summary[{key!r}]={shown(summary[key])}; expected {kind}")


def _is(value: Any, kind: str) -> bool:
    if kind.startswith(_LIST_OF):
        return isinstance(value, list) and all(_is(item, kind.removeprefix(_LIST_OF)) for item in value)
    if kind.endswith(_OR_NULL) and value is None:
        return True
    kind = kind.removesuffix(_OR_NULL)
    if isinstance(value, bool):
        return False
    if kind == _INT:
        return isinstance(value, int)
    if kind == _NUMBER:
        return isinstance(value, (int, float))
    return isinstance(value, str)
