"""Runs as the figures see them: their values by dotted key, the keys that tell them apart, short labels, selection.

A run is a :class:`simsgp.Result` or a run record of a sweep folder
(``OUT/runs/<key>.json``: ``key``, ``point``, ``scenario``, ``summary``,
``evaluations``, ``status``; see :func:`simsgp.sweep.load_runs`). Keys are
dotted scenario keys, the spelling of ``--set`` and of sweep grids
(``"algorithm.name"``, ``"cluster.slow_nodes.3"``).

Examples
--------
>>> short_names(["algorithm.name", "cluster.slow_nodes.3", "cluster.nodes", "task.name"])
{'algorithm.name': '', 'cluster.slow_nodes.3': 'slow[3]', 'cluster.nodes': 'nodes', 'task.name': 'task'}
>>> run = {"point": {"algorithm.name": "sgp", "cluster.slow_nodes.3": 4.0}, "scenario": {}}
>>> label(run, ["algorithm.name", "cluster.slow_nodes.3"])
'sgp, slow[3]=4'
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from simsgp.errors import SimsgpError, shown
from simsgp.report.result import Result
from simsgp.report.style import plain_number
from simsgp.scenario.loader import _parse_literal
from simsgp.scenario.schema import AlgorithmConfig, TaskConfig

__all__ = [
    "MAP_NAMES",
    "Run",
    "as_run",
    "describe",
    "find_run",
    "format_value",
    "has_key",
    "label",
    "lookup",
    "order",
    "parse_where",
    "select",
    "short_names",
    "slug",
    "sweeps",
    "value",
    "varying_keys",
]

Run = Result | Mapping[str, Any]
"""A :class:`simsgp.Result` or a sweep run record."""

MAP_NAMES = {"cluster.slow_nodes": "slow"}
"""Short names of the scenario tables keyed by node: ``cluster.slow_nodes.3`` is ``slow[3]`` in a legend."""

_COMMON = {"algorithm": AlgorithmConfig, "task": TaskConfig}  # tables whose other keys depend on their name

_ABSENT = object()


def as_run(run: Run) -> Mapping[str, Any]:
    """A run record (``point``, ``scenario``, ``summary``, ``evaluations``) of a Result or a finished record.

    Raises
    ------
    SimsgpError
        A record whose status is not ``"ok"``.
    """
    if isinstance(run, Result):
        return {"point": {}, "status": "ok", **run.to_dict()}
    if run.get("status", "ok") != "ok":
        raise SimsgpError(
            f"run {run.get('key', '?')} has status {run['status']!r} ({run.get('error')}); "
            "only finished runs can be plotted"
        )
    return run


def lookup(run: Mapping[str, Any], key: str) -> Any:
    """The value of dotted ``key`` in the run's resolved scenario.

    Raises
    ------
    SimsgpError
        The scenario has no such key.
    """
    found = _find(run["scenario"], key)
    if found is _ABSENT:
        raise SimsgpError(f"{key!r} is not a scenario field; expected a dotted key such as 'algorithm.name'")
    return found


def value(run: Mapping[str, Any], key: str) -> Any:
    """The run's value of ``key``: its grid value if its ``point`` has one, else its scenario's; ``None`` if neither.

    A grid value of ``None`` (the key does not apply to the run's algorithm
    or task, see :func:`simsgp.sweep.applicable_point`) stays ``None``.
    """
    point = run.get("point") or {}
    if key in point:
        return point[key]
    found = _find(run["scenario"], key)
    return None if found is _ABSENT else found


def has_key(run: Mapping[str, Any], key: str) -> bool:
    """Whether the run's point or scenario has ``key``."""
    return key in (run.get("point") or {}) or _find(run["scenario"], key) is not _ABSENT


def describe(run: Mapping[str, Any]) -> str:
    """The run's name in a figure title: its ``label`` if it carries a non-empty one, else ``"sgp, 8 nodes"``."""
    return run.get("label") or f"{lookup(run, 'algorithm.name')}, {lookup(run, 'cluster.nodes')} nodes"


def short_names(keys: Sequence[str]) -> dict[str, str]:
    """The name of each key in a legend: ``""`` for ``algorithm.name`` (the value alone), else a short one.

    ``<table>.name`` is the table (``task``), a key of a table keyed by node
    is its :data:`MAP_NAMES` name (or its parent's last part) with the node in
    brackets (``slow[3]``), any other key its last part (``nodes``, ``tau``);
    keys whose short names clash keep their full dotted spelling.
    """
    names = {key: _short_name(key) for key in keys}
    clashing = {n for n in names.values() if list(names.values()).count(n) > 1}
    return {key: key if name in clashing else name for key, name in names.items()}


def _short_name(key: str) -> str:
    if key == "algorithm.name":
        return ""
    parent, _, leaf = key.rpartition(".")
    if leaf == "name" and parent:
        return parent.rpartition(".")[2]
    if leaf.isdigit() and parent:
        return f"{MAP_NAMES.get(parent, parent.rpartition('.')[2])}[{leaf}]"
    return leaf


def format_value(v: Any) -> str:
    """A value as a legend shows it: ``4`` for ``4.0``, ``true``, ``sgp``, JSON for lists and tables.

    Examples
    --------
    >>> [format_value(v) for v in (4.0, 1.25e9, True, "sgp", [1, 2])]
    ['4', '1.25e9', 'true', 'sgp', '[1,2]']
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, numbers.Real):
        return str(v) if isinstance(v, numbers.Integral) else plain_number(float(v))
    if isinstance(v, str):
        return v
    return json.dumps(v, separators=(",", ":"), sort_keys=True)


def label(run: Mapping[str, Any], keys: Sequence[str], names: Mapping[str, str] | None = None) -> str:
    """The run's values of ``keys``, joined by ``", "``: ``"sgp, slow[3]=4"`` (keys it has no value for left out).

    ``names`` are the short names (default: :func:`short_names` of ``keys``).
    """
    names = short_names(keys) if names is None else names
    parts = []
    for key in keys:
        v = value(run, key)
        if v is not None:
            parts.append(format_value(v) if names[key] == "" else f"{names[key]}={format_value(v)}")
    return ", ".join(parts)


def varying_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """The keys whose values differ between ``runs``, in first-seen order.

    Runs with grid points are told apart by their grid keys. Runs without
    (Results) are told apart by the scenario keys whose values differ,
    leaving out, when ``algorithm.name`` (or ``task.name``) differs, the keys
    of that table other than the ones every algorithm (task) has, which
    follow from the name. If that leaves two runs with the same values and
    the same seed but different scenarios (runs of two sweeps over the same
    keys from different base scenarios), the scenario keys that differ are
    added.
    """
    if any(run.get("point") for run in runs):
        keys = list(dict.fromkeys(key for run in runs for key in run["point"]))
    else:
        keys = _scenario_keys(runs)
    vary = [key for key in keys if _differ(runs, key)]
    apart: dict[str, set[str]] = {}
    for run in runs:
        same = apart.setdefault(_canonical([value(run, k) for k in vary if k != "seed"]), set())
        seed = _canonical(value(run, "seed"))
        if seed in same:
            return vary + [key for key in _scenario_keys(runs) if key not in vary and _differ(runs, key)]
        same.add(seed)
    return vary


def _differ(runs: Sequence[Mapping[str, Any]], key: str) -> bool:
    return len({_canonical(value(run, key)) for run in runs}) > 1


def _scenario_keys(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every leaf key of the runs' scenarios, first-seen order, without the name-dependent keys of a varying name."""
    keys = list(dict.fromkeys(key for run in runs for key in _leaves(run["scenario"])))
    dependent = {
        table for table in _COMMON if len({_canonical(_find(run["scenario"], f"{table}.name")) for run in runs}) > 1
    }
    common = {table: {f.name for f in dataclasses.fields(cls)} for table, cls in _COMMON.items()}
    return [
        key for key in keys
        if key.partition(".")[0] not in dependent or key.partition(".")[2] in common[key.partition(".")[0]]
    ]


def _leaves(data: Mapping[str, Any], prefix: str = "") -> Iterable[str]:
    for name, item in data.items():
        if isinstance(item, Mapping):
            yield from _leaves(item, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _find(data: Any, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, Mapping) or part not in data:
            return _ABSENT
        data = data[part]
    return data


def _canonical(v: Any) -> str:
    """One spelling per value, so that values compare by content (``4`` and ``4.0`` alike)."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        v = float(v)
    return json.dumps(None if v is _ABSENT else v, sort_keys=True)


def order(v: Any) -> tuple[int, Any]:
    """Sort key of a value: numbers by value, then anything else by its text (``None`` last)."""
    if isinstance(v, numbers.Real) and not isinstance(v, bool):
        return (0, v)
    return (2, "") if v is None else (1, str(v))


def sweeps(runs: Sequence[Mapping[str, Any]]) -> list[tuple[tuple[str, ...], list[Mapping[str, Any]]]]:
    """The runs grouped by the keys of their grid points (one group per sweep written into the folder).

    Each group's keys are in the order of its first run's point; groups
    are sorted by their keys joined by ``+``, runs in a group keep their order.
    """
    groups: dict[frozenset[str], tuple[tuple[str, ...], list[Mapping[str, Any]]]] = {}
    for run in runs:
        point = run.get("point") or {}
        groups.setdefault(frozenset(point), (tuple(point), []))[1].append(run)
    return sorted(groups.values(), key=lambda group: "+".join(group[0]))


def parse_where(specs: Iterable[str], option: str) -> list[tuple[str, Any]]:
    """``KEY=VALUE`` conditions, each value read as a TOML literal (bare text as a string), as ``--set`` does.

    Examples
    --------
    >>> parse_where(["algorithm.name=sgp", "cluster.slow_nodes.3=4"], "--where")
    [('algorithm.name', 'sgp'), ('cluster.slow_nodes.3', 4)]
    """
    conditions = []
    for spec in specs:
        key, sep, raw = spec.partition("=")
        if not sep or not key.strip():
            raise SimsgpError(f"{option}={shown(spec)}; expected KEY=VALUE, such as {option} algorithm.name=sgp")
        conditions.append((key.strip(), _parse_literal(raw.strip())))
    return conditions


def select(
    runs: Sequence[Mapping[str, Any]], conditions: Sequence[tuple[str, Any]], option: str
) -> list[Mapping[str, Any]]:
    """The runs meeting every condition: a run's :func:`value` of a key equals one of the values given for it.

    Conditions on one key are alternatives (``--where algorithm.name=sgp
    --where algorithm.name=adpsgd``); conditions on different keys must all
    hold. Numbers compare by value (``4`` equals ``4.0``).

    Raises
    ------
    SimsgpError
        A key that no run has, or conditions that leave no run; the
        message names ``option`` and the values the runs have.
    """
    wanted: dict[str, set[str]] = {}
    for key, v in conditions:
        if not any(has_key(run, key) for run in runs):
            raise SimsgpError(
                f"{option} {key}={shown(v)}: no run has the key {key!r}; expected a dotted scenario key "
                f"such as the ones the runs differ in, {_all_varying(runs)}"
            )
        wanted.setdefault(key, set()).add(_canonical(v))
    chosen = [run for run in runs if all(_canonical(value(run, k)) in vs for k, vs in wanted.items())]
    if not chosen:
        given = " ".join(f"{option} {k}={shown(v)}" for k, v in conditions)
        have = {k: list(dict.fromkeys(format_value(v) for v in sorted((value(r, k) for r in runs), key=order)))
                for k in wanted}
        raise SimsgpError(f"{given} selects no run; the runs have {have}")
    return chosen


def _all_varying(runs: Sequence[Mapping[str, Any]]) -> list[str]:
    return list(dict.fromkeys(k for _, group in sweeps(runs) for k in varying_keys(group)))


def find_run(runs: Sequence[Mapping[str, Any]], prefix: str, option: str) -> Mapping[str, Any]:
    """The run whose ``key`` is ``prefix`` or starts with it, the only one.

    Raises
    ------
    SimsgpError
        No run, or several, match; the message names ``option`` and some keys.
    """
    matching = [run for run in runs if str(run.get("key", "")).startswith(prefix)] if prefix else []
    exact = [run for run in matching if run["key"] == prefix]
    if len(exact) == 1 or len(matching) == 1:
        return (exact or matching)[0]
    keys = sorted(str(run.get("key", "")) for run in (matching or runs))
    shown_keys = ", ".join(k[:12] for k in keys[:6]) + (", ..." if len(keys) > 6 else "")
    if matching:
        raise SimsgpError(f"{option}={shown(prefix)} matches {len(matching)} runs ({shown_keys}); give more of the key")
    raise SimsgpError(
        f"{option}={shown(prefix)} matches no run; expected a run key (a file name in the runs folder) "
        f"or a unique prefix of one, such as {shown_keys}"
    )


def slug(text: str) -> str:
    """``text`` as part of a file name: ``"sgp, slow[3]=4"`` is ``"sgp_slow3=4"``.

    Examples
    --------
    >>> slug("sgp, slow[3]=4, seed=2"), slug("algorithm.name+cluster.slow_nodes.3")
    ('sgp_slow3=4_seed=2', 'algorithm.name+cluster.slow_nodes.3')
    """
    text = text.replace(", ", "_").replace("[", "").replace("]", "")
    return "".join(c if c.isascii() and (c.isalnum() or c in "._=+-") else "-" for c in text)
