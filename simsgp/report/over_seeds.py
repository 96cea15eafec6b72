"""Several seeds per point: the seeds option, the mean and 95 % interval of each metric, and their tables.

``simsgp run --seeds 0-4`` runs a scenario once per seed and
``simsgp sweep --seeds 0-4`` runs every grid point once per seed; both report
each metric as its mean over the seeds and the half-width of its 95 %
Student-t confidence interval (:func:`simsgp.report.stats.mean_ci`). The
functions here are pure: they read summaries or table rows and return rows
or text, and never run a simulation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from simsgp.errors import SimsgpError, shown
from simsgp.report.stats import LEVEL, mean_ci

__all__ = [
    "MAX_SEEDS",
    "POINT_METRICS",
    "RUN_METRICS",
    "Aggregate",
    "aggregate",
    "aggregates_dict",
    "check_no_seed_key",
    "check_seeds",
    "format_aggregates",
    "format_points",
    "format_seeds",
    "parse_seeds",
    "point_means",
]

MAX_SEEDS = 1000
"""The most seeds one ``--seeds`` may name."""

RUN_METRICS = (
    "iterations",
    "sim_time",
    "sim_time_per_iteration",
    "median_node_time_per_iteration",
    "time_to_target",
    "final_loss",
    "final_accuracy",
    "consensus_distance",
    "compute_fraction",
    "comm_wait_fraction",
    "bytes_sent",
    "max_link_utilization",
)
"""The scalar summary metrics that ``simsgp run --seeds`` reports and a sweep's tables hold, in column order."""

POINT_METRICS = (
    "sim_time_per_iteration",
    "median_node_time_per_iteration",
    "time_to_target",
    "final_loss",
    "final_accuracy",
)
"""The metrics of the table of points that ``simsgp sweep`` prints, in column order."""

_LABELS = {
    "iterations": "iterations",
    "sim_time": "simulated time s",
    "sim_time_per_iteration": "time per iteration s",
    "median_node_time_per_iteration": "median node time per iteration s",
    "time_to_target": "time to target s",
    "final_loss": "final loss",
    "final_accuracy": "final accuracy",
    "consensus_distance": "consensus distance",
    "compute_fraction": "fraction of time computing",
    "comm_wait_fraction": "fraction of time communicating",
    "max_link_utilization": "busiest link utilization",
    "bytes_sent": "bytes sent",
}
"""How the run table names each metric."""

_HEADERS = {
    "sim_time_per_iteration": "s/iteration",
    "median_node_time_per_iteration": "median node s/iteration",
    "time_to_target": "time to target s",
    "final_loss": "final loss",
    "final_accuracy": "final accuracy",
}
"""Column headers of the table of points (short, so that the table fits a terminal)."""

_FORMS = "a range 0-4, a list 0,3,7 or both 0-2,5 (integers >= 0, each once)"
_ITEM = re.compile(r"\s*([0-9]{1,19})\s*(?:-\s*([0-9]{1,19})\s*)?")
_ROUNDING = 1e-12  # a half-width at most this times the mean is rounding error (float64 holds ~16 digits)
_SHOWN_SEEDS = 8  # the run table lists each seed's value up to this many seeds
_LEVEL_TEXT = f"{LEVEL:.0%}".replace("%", " %")


# --- the seeds option -----------------------------------------------------------


def parse_seeds(spec: str, *, option: str = "--seeds") -> list[int]:
    """The seeds of a spec such as ``"0-4"``, ``"0,3,7"`` or ``"0-2,5"``, in the order given.

    A range ``a-b`` includes both ends and needs ``a <= b``; items are
    separated by commas. A range is counted before it is expanded, so
    ``0-999999999`` is refused at once.

    Parameters
    ----------
    spec : str
        The value of the option.
    option : str, default ``"--seeds"``
        Its name, for the error message.

    Returns
    -------
    list of int
        At least one and at most :data:`MAX_SEEDS` distinct seeds ``>= 0``.

    Raises
    ------
    SimsgpError
        An empty spec or item, a malformed item, a range that runs
        backwards, a seed given twice or more than :data:`MAX_SEEDS` seeds;
        the message names the option, the value and the allowed forms.

    Examples
    --------
    >>> parse_seeds("0-4"), parse_seeds("0,3,7"), parse_seeds("0-2,5")
    ([0, 1, 2, 3, 4], [0, 3, 7], [0, 1, 2, 5])
    >>> parse_seeds("0-2,2")
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: --seeds='0-2,2': seed 2 is given twice; expected a range 0-4, a list 0,3,7 or both 0-2,5 (integers >= 0, each once)
    """
    ranges = []
    for item in spec.split(","):
        match = _ITEM.fullmatch(item)
        if match is None:
            raise SimsgpError(f"{option}={shown(spec)}: {shown(item.strip())} is not a seed or a range; expected {_FORMS}")
        low = int(match[1])
        high = low if match[2] is None else int(match[2])
        if high < low:
            raise SimsgpError(f"{option}={shown(spec)}: the range {low}-{high} runs backwards; expected {_FORMS}")
        ranges.append((low, high))
    count = sum(high - low + 1 for low, high in ranges)
    if count > MAX_SEEDS:
        raise SimsgpError(f"{option}={shown(spec)} names {shown(count)} seeds; at most {MAX_SEEDS} are allowed")
    return check_seeds([seed for low, high in ranges for seed in range(low, high + 1)], option=option, spec=spec)


def check_seeds(seeds: Any, *, option: str = "seeds", spec: str | None = None) -> list[int]:
    """``seeds`` as a list of ints, checked: 1 to :data:`MAX_SEEDS` distinct integers ``>= 0``.

    Parameters
    ----------
    seeds : sequence of int
        The seeds, in the order they are to run.
    option : str, default ``"seeds"``
        The name of the argument or option, for the error message.
    spec : str, optional
        The text the seeds were read from, shown in the message instead of ``seeds``.

    Raises
    ------
    SimsgpError
        Not a non-empty sequence of integers ``>= 0``, a seed given twice, or too many.

    Examples
    --------
    >>> check_seeds((3, 1))
    [3, 1]
    >>> check_seeds([1, -1])
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: seeds=[1, -1]: -1 is not a seed; expected a range 0-4, a list 0,3,7 or both 0-2,5 (integers >= 0, each once)
    """
    given = f"{option}={shown(seeds if spec is None else spec)}"
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds:
        raise SimsgpError(f"{given}: expected a non-empty list of seeds, {_FORMS}")
    if len(seeds) > MAX_SEEDS:
        raise SimsgpError(f"{given} names {len(seeds)} seeds; at most {MAX_SEEDS} are allowed")
    seen: set[int] = set()
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise SimsgpError(f"{given}: {shown(seed)} is not a seed; expected {_FORMS}")
        if seed in seen:
            raise SimsgpError(f"{given}: seed {seed} is given twice; expected {_FORMS}")
        seen.add(seed)
    return [int(seed) for seed in seeds]


def check_no_seed_key(keys: Iterable[str], *, given: str, option: str = "--seeds") -> None:
    """Refuse a ``seed`` among ``keys`` (of ``--set`` or ``--grid``, named by ``given``) when ``option`` gives the seeds.

    Examples
    --------
    >>> check_no_seed_key(["cluster.nodes"], given="--set seed=...")
    >>> check_no_seed_key(["seed"], given="--set seed=...")
    Traceback (most recent call last):
    ...
    simsgp.errors.SimsgpError: --seeds with --set seed=...: the seeds are given twice; keep --seeds, which replaces the scenario's seed
    """
    if "seed" in (key.strip() for key in keys):
        raise SimsgpError(
            f"{option} with {given}: the seeds are given twice; keep {option}, which replaces the scenario's seed"
        )


def format_seeds(seeds: Sequence[int]) -> str:
    """The shortest spec of ``seeds`` that :func:`parse_seeds` reads back: runs of consecutive seeds as ranges.

    Examples
    --------
    >>> format_seeds([0, 1, 2, 3, 4]), format_seeds([0, 3, 7]), format_seeds([0, 1, 2, 5]), format_seeds([4, 5, 6, 1])
    ('0-4', '0,3,7', '0-2,5', '4-6,1')
    """
    items: list[str] = []
    start = 0
    for k in range(1, len(seeds) + 1):
        if k == len(seeds) or seeds[k] != seeds[k - 1] + 1:
            low, high = seeds[start], seeds[k - 1]
            items += [str(low)] if low == high else [f"{low}-{high}"] if high > low + 1 else [str(low), str(high)]
            start = k
    return ",".join(items)


# --- one scenario, several seeds ------------------------------------------------


class Aggregate(NamedTuple):
    """One metric over the seeds of a point.

    Attributes
    ----------
    metric : str
        The summary key, such as ``"final_loss"``.
    mean, ci95 : float
        The mean of the known values and the half-width of its 95 %
        Student-t confidence interval (NaN with fewer than two values; the
        mean is NaN without any).
    seeds : int
        How many values the mean is over: a failed run, or a value a run
        lacks (a target not reached, an accuracy on a task without labels),
        is left out.
    values : tuple of float or None
        Each seed's value, in the order of the seeds (``None``: unknown).
    """

    metric: str
    mean: float
    ci95: float
    seeds: int
    values: tuple[float | None, ...]


def aggregate(summaries: Sequence[Mapping[str, Any] | None], metrics: Sequence[str] = RUN_METRICS) -> list[Aggregate]:
    """The mean and 95 % interval of each metric over the summaries of one scenario's seeds.

    Parameters
    ----------
    summaries : sequence of dict or None
        One run summary per seed (:attr:`simsgp.Result.summary`); ``None``
        for a seed whose run failed.
    metrics : sequence of str, default :data:`RUN_METRICS`
        The summary keys to aggregate; a key a summary lacks counts as unknown.

    Returns
    -------
    list of Aggregate
        One per metric, in the order given (see :func:`simsgp.report.stats.mean_ci`).

    Examples
    --------
    >>> rows = aggregate([{"final_loss": 1.0}, {"final_loss": 3.0}, None], ["final_loss"])
    >>> rows[0].mean, round(rows[0].ci95, 4), rows[0].seeds, rows[0].values
    (2.0, 12.7062, 2, (1.0, 3.0, None))
    """
    rows = []
    for metric in metrics:
        values = tuple(_known(None if summary is None else summary.get(metric)) for summary in summaries)
        rows.append(Aggregate(metric, *mean_ci(values), values))
    return rows


def aggregates_dict(rows: Sequence[Aggregate]) -> dict[str, dict[str, float | int | None]]:
    """The aggregates as plain data, by metric: ``mean``, ``ci95`` and ``seeds`` (NaN as ``None``, as in JSON).

    Examples
    --------
    >>> aggregates_dict(aggregate([{"final_loss": 1.0}], ["final_loss"]))
    {'final_loss': {'mean': 1.0, 'ci95': None, 'seeds': 1}}
    """
    return {row.metric: {"mean": _known(row.mean), "ci95": _known(row.ci95), "seeds": row.seeds} for row in rows}


def format_aggregates(rows: Sequence[Aggregate], seeds: Sequence[int], *, title: str) -> str:
    """The table that ``simsgp run --seeds`` prints: one line per metric, mean, half-width, seeds, each seed's value.

    Each seed's value is listed up to 8 seeds.

    Parameters
    ----------
    rows : sequence of Aggregate
        As from :func:`aggregate`.
    seeds : sequence of int
        The seeds, in the order of each row's ``values``.
    title : str
        The first line (what ran).

    Examples
    --------
    >>> rows = aggregate([{"final_loss": 1.0}, {"final_loss": 3.0}], ["final_loss"])
    >>> print(format_aggregates(rows, [0, 1], title="sgp on 2 nodes"))
    sgp on 2 nodes
    mean and 95 % interval (Student t) over seeds 0,1; seeds: how many the mean is over
                  mean  ± 95 %  seeds  seed 0  seed 1
      final loss     2      13      2       1       3
    """
    shown_seeds = list(seeds) if len(seeds) <= _SHOWN_SEEDS else []
    table = [["", "mean", f"± {_LEVEL_TEXT}", "seeds", *(f"seed {s}" for s in shown_seeds)]]
    for row in rows:
        each = [_number(v, ".4g") for v in row.values] if shown_seeds else []
        table.append([_LABELS.get(row.metric, row.metric), _number(row.mean, ".6g"), _half(row.mean, row.ci95),
                      str(row.seeds), *each])
    widths = [max(len(line[k]) for line in table) for k in range(len(table[0]))]
    lines = [title, f"mean and {_LEVEL_TEXT} interval (Student t) over seeds {format_seeds(seeds)}; seeds: how many the mean is over"]
    for line in table:
        cells = [line[0].ljust(widths[0])] + [cell.rjust(width) for cell, width in zip(line[1:], widths[1:])]
        lines.append(("  " + "  ".join(cells)).rstrip())
    return "\n".join(lines)


# --- a sweep's points, several seeds each --------------------------------------


def point_means(rows: Sequence[Mapping[str, Any]], keys: Sequence[str], columns: Sequence[str]) -> list[dict[str, Any]]:
    """One row per point over its seeds: the rows of a sweep's results table grouped by ``keys``.

    Parameters
    ----------
    rows : sequence of dict
        One row per run, as :func:`simsgp.sweep.run_sweep` returns them:
        the grid keys, ``status`` and the summary columns.
    keys : sequence of str
        The grid keys that make a point (the seed is not one of them).
    columns : sequence of str
        The summary columns to aggregate.

    Returns
    -------
    list of dict
        In the order each point first appears: its ``keys``, ``seeds`` (how
        many of its runs are ok) and, for each column ``c``, ``c_mean`` and
        ``c_ci95`` (the half-width of its 95 % Student-t interval), over the
        runs that are ok and have a value; ``None`` where there is no value
        (no run with one; one run only, for the half-width).

    Examples
    --------
    >>> rows = [{"n": 2, "seed": 0, "status": "ok", "loss": 1.0}, {"n": 2, "seed": 1, "status": "ok", "loss": 2.0},
    ...         {"n": 4, "seed": 0, "status": "failed", "loss": None}, {"n": 4, "seed": 1, "status": "ok", "loss": 5.0}]
    >>> point_means(rows, ["n"], ["loss"])  # doctest: +NORMALIZE_WHITESPACE
    [{'n': 2, 'seeds': 2, 'loss_mean': 1.5, 'loss_ci95': 6.353102368087347},
     {'n': 4, 'seeds': 1, 'loss_mean': 5.0, 'loss_ci95': None}]
    """
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault(repr([repr(row[key]) for key in keys]), []).append(row)
    means = []
    for members in groups.values():
        ok = [row for row in members if row["status"] == "ok"]
        mean_row = {key: members[0][key] for key in keys}
        mean_row["seeds"] = len(ok)
        for column in columns:
            mean, half, _ = mean_ci(row[column] for row in ok)
            mean_row[f"{column}_mean"], mean_row[f"{column}_ci95"] = _known(mean), _known(half)
        means.append(mean_row)
    return means


def format_points(
    means: Sequence[Mapping[str, Any]],
    keys: Sequence[str],
    columns: Sequence[tuple[str, str]],
    *,
    max_points: int = 30,
    more: str = "",
) -> str:
    """The table of points that ``simsgp sweep`` prints: grid values, seeds, ``mean ± half-width`` per metric.

    Parameters
    ----------
    means : sequence of dict
        As from :func:`point_means`.
    keys : sequence of str
        The grid keys to show (a ``None`` value, a key that does not apply
        to the point's algorithm or task, shows as ``-``).
    columns : sequence of (str, str)
        The column of each metric in ``means`` (``c`` of ``c_mean``) and
        the metric it holds, which names its header (see :data:`POINT_METRICS`).
    max_points : int, default 30
        The most points shown; a last line says how many more there are.
    more : str, default ""
        Where those are, for that line (such as the path of the table).

    Examples
    --------
    >>> means = [{"n": 2, "seeds": 2, "final_loss_mean": 1.5, "final_loss_ci95": 6.35},
    ...          {"n": 4, "seeds": 1, "final_loss_mean": 5.0, "final_loss_ci95": None}]
    >>> print(format_points(means, ["n"], [("final_loss", "final_loss")]))
    n  seeds  final loss
    2      2  1.5 ± 6.3
    4      1  5
    >>> print(format_points(means, ["n"], [("final_loss", "final_loss")], max_points=1, more="in t.csv"))
    n  seeds  final loss
    2      2  1.5 ± 6.3
    ... 1 more point in t.csv
    """
    table = [[*keys, "seeds", *(_HEADERS.get(metric, metric) for _, metric in columns)]]
    for row in means[:max_points]:
        cells = [_grid_value(row[key]) for key in keys] + [str(row["seeds"])]
        cells += [_estimate(row[f"{column}_mean"], row[f"{column}_ci95"]) for column, _ in columns]
        table.append(cells)
    right = {len(keys)}  # the seeds count
    widths = [max(len(line[k]) for line in table) for k in range(len(table[0]))]
    lines = [
        "  ".join(cell.rjust(w) if k in right else cell.ljust(w) for k, (cell, w) in enumerate(zip(line, widths))).rstrip()
        for line in table
    ]
    left = len(means) - max_points
    if left > 0:
        lines.append(f"... {left} more point{'s' if left > 1 else ''} {more}".rstrip())
    return "\n".join(lines)


# --- cells ----------------------------------------------------------------------


def _known(value: Any) -> float | None:
    """A number as a float, ``None`` for ``None``, NaN or inf (unknown)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, fmt)


def _estimate(mean: float | None, half: float | None) -> str:
    """``mean ± half-width`` (4 and 2 significant digits), the mean alone without a half-width, ``n/a`` without either."""
    if mean is None:
        return "n/a"
    return format(mean, ".4g") if half is None else f"{mean:.4g} ± {_half(mean, half)}"


def _half(mean: float, half: float | None) -> str:
    """A half-width to 2 significant digits; 0 when it is below the rounding error of the mean.

    Seeds that give equal values (the timing of a deterministic schedule)
    have a sample deviation of a few units in the last place of their mean,
    which is no spread.

    Examples
    --------
    >>> _half(0.1818, 8.4e-17), _half(0.1818, 3.1e-4), _half(2.0, math.nan)
    ('0', '0.00031', 'n/a')
    """
    if half is None or math.isnan(half):
        return "n/a"
    return "0" if half <= _ROUNDING * abs(mean) else format(half, ".2g")


def _grid_value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
