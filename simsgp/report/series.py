"""Per-node progress and link utilisation over a run, as compact series for figures and sweep run files.

Pure numpy: these functions read a run's records (``records["end"]``, shape
iterations x nodes) and its sampled link counters (:attr:`simsgp.Result.network`)
and never touch the clock. A :class:`simsgp.Result` holds the full data; a
sweep keeps in each run file the compact form of :func:`run_entries`:

- ``timeline``: per-node completion times at most :data:`TIMELINE_POINTS`
  iterations (every k-th, and the last: :func:`spread`); with more than
  :data:`ALL_NODES_UP_TO` nodes only the :data:`SLOWEST` slowest nodes and the
  envelope of all of them (when the first node, half the nodes and the last
  node had completed each iteration);
- ``links``: the cumulative bytes of the :data:`TOP_LINKS` busiest links at
  most :data:`LINK_POINTS` of the sample instants (every k-th, and the last). Bytes over an
  interval between two kept instants, over capacity times its length, is
  that link's exact mean utilisation there (:func:`utilization`).

:func:`timeline_of` and :func:`links_of` read either form back; a run file
written before these entries existed gives ``None``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from simsgp.errors import SimsgpError, shown
from simsgp.report.result import Result, jsonable

__all__ = [
    "ALL_NODES_UP_TO",
    "LINK_POINTS",
    "SLOWEST",
    "TIMELINE_POINTS",
    "TOP_LINKS",
    "busiest",
    "link_series",
    "links_of",
    "run_entries",
    "slowest_nodes",
    "spread",
    "timeline",
    "timeline_of",
    "utilization",
]

TIMELINE_POINTS = 200
"""The most iterations a sweep run file keeps of the per-node timeline."""
LINK_POINTS = 200
"""The most sample instants a sweep run file keeps of the link counters."""
TOP_LINKS = 8
"""How many of the busiest links are kept and drawn."""
ALL_NODES_UP_TO = 32
"""Up to this many nodes every node's line is kept; beyond, the envelope and the slowest nodes."""
SLOWEST = 3
"""How many of the slowest nodes are kept beside the envelope."""


def spread(count: int, limit: int | None) -> np.ndarray:
    """Indices ``0 .. count - 1``, or at most ``limit`` of them at one even step, and the last.

    Sampled counters are evenly spaced in node-iterations; one step keeps
    them so (an uneven one would show as a change of pattern where the
    step changes), only the last interval may be shorter.

    Parameters
    ----------
    count : int
        How many points there are.
    limit : int or None
        The most indices returned, at least 2; ``None``: all of them.

    Examples
    --------
    >>> spread(10, 4).tolist(), spread(11, 4).tolist(), spread(3, 4).tolist(), spread(0, 4).tolist()
    ([0, 3, 6, 9], [0, 4, 8, 10], [0, 1, 2], [])
    """
    if limit is not None and limit < 2:
        raise ValueError(f"limit={limit}; expected at least 2 (the first and the last point)")
    if limit is None or count <= limit:
        return np.arange(count)
    step = -(-(count - 1) // (limit - 1))  # ceil: then at most limit - 1 steps fit, the last point included
    kept = np.arange(0, count, step)
    return kept if kept[-1] == count - 1 else np.append(kept, count - 1)


def slowest_nodes(end: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` slowest nodes, slowest first: fewest iterations completed, then the latest last one, then by index.

    ``end`` has shape ``(iterations, nodes)``, NaN for the iterations a node did not complete.

    Examples
    --------
    >>> end = np.array([[1.0, 2.0, 1.0], [2.0, np.nan, 3.0]])
    >>> slowest_nodes(end, 2).tolist()
    [1, 2]
    """
    done = (~np.isnan(end)).sum(axis=0)
    last = np.array([end[d - 1, i] if d else math.inf for i, d in enumerate(done.tolist())])
    return np.lexsort((np.arange(end.shape[1]), -last, done))[:k]


def timeline(
    end: np.ndarray,
    *,
    limit: int | None = None,
    all_nodes_up_to: int = ALL_NODES_UP_TO,
    slowest: int = SLOWEST,
) -> dict[str, Any]:
    """When each node completed each iteration, at most ``limit`` iterations.

    Parameters
    ----------
    end : ndarray, shape (iterations, nodes)
        ``records["end"]`` of a run: when node ``i`` completed iteration
        ``t`` (NaN where it did not).
    limit : int, keyword-only, optional
        The most iterations kept (:func:`spread`: every k-th, the first and
        the last among them); ``None``: all.
    all_nodes_up_to : int, keyword-only
        With at most this many nodes every node is kept, else the envelope
        and the ``slowest`` slowest nodes (:func:`slowest_nodes`).
    slowest : int, keyword-only
        How many slowest nodes are kept beside the envelope.

    Returns
    -------
    dict
        ``n_nodes``; ``iterations`` (int array, ``t + 1``: how many a node
        has completed at the time beside it); ``nodes`` (the kept nodes);
        ``end`` (shape ``(len(iterations), len(nodes))``, seconds, NaN where
        not completed); ``envelope``: ``None`` when every node is kept, else
        ``first``, ``half`` and ``last``, for each kept iteration the
        time by which one node, ``ceil(nodes / 2)`` nodes and every node had
        completed it (NaN where too few ever did). At time ``x`` on the
        ``half`` line, at least half the nodes have completed its
        iteration count: it is the median of the iterations completed.

    Examples
    --------
    >>> end = np.array([[1.0, 2.0, 4.0], [3.0, 4.0, np.nan]])
    >>> series = timeline(end, all_nodes_up_to=2, slowest=1)
    >>> series["iterations"].tolist(), series["nodes"].tolist(), series["end"].tolist()
    ([1, 2], [2], [[4.0], [nan]])
    >>> {key: values.tolist() for key, values in series["envelope"].items()}
    {'first': [1.0, 3.0], 'half': [2.0, 4.0], 'last': [4.0, nan]}
    """
    n = end.shape[1]
    rows = spread(end.shape[0], limit)
    envelope = None
    if n <= all_nodes_up_to:
        nodes = np.arange(n)
    else:
        nodes = slowest_nodes(end, slowest)
        times = np.sort(np.where(np.isnan(end[rows]), np.inf, end[rows]), axis=1)
        order = {"first": 0, "half": (n + 1) // 2 - 1, "last": n - 1}
        envelope = {key: _nan_for_inf(times[:, k]) for key, k in order.items()}
    return {"n_nodes": n, "iterations": rows + 1, "nodes": nodes, "end": end[rows][:, nodes], "envelope": envelope}


def utilization(time: np.ndarray, carried: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Mean fraction of capacity each link used over each interval between samples.

    Parameters
    ----------
    time : ndarray, shape (k,)
        Sample instants, increasing.
    carried : ndarray, shape (k, links)
        Bytes each link had carried by each instant.
    capacity : ndarray, shape (links,)
        Bytes per second of each link.

    Returns
    -------
    ndarray, shape (k - 1, links)
        ``(carried[j + 1] - carried[j]) / (capacity * (time[j + 1] - time[j]))``.

    Examples
    --------
    >>> utilization(np.array([0.0, 2.0, 3.0]), np.array([[0.0], [100.0], [100.0]]), np.array([100.0]))
    array([[0.5],
           [0. ]])
    """
    return np.diff(carried, axis=0) / (capacity * np.diff(time)[:, None])


def busiest(carried: np.ndarray, capacity: np.ndarray, k: int = TOP_LINKS) -> np.ndarray:
    """The ``k`` links that used the largest share of their capacity (``carried / capacity``), most first.

    Links that carried nothing are left out; ties go to the lower index, so
    the first is the summary's ``busiest_link`` whenever some link carried bytes.

    Examples
    --------
    >>> busiest(np.array([10.0, 0.0, 30.0, 10.0]), np.array([10.0, 10.0, 60.0, 10.0]), 3).tolist()
    [0, 3, 2]
    """
    share = carried / capacity
    order = np.argsort(-share, kind="stable")
    return order[share[order] > 0][:k]


def link_series(network: Mapping[str, np.ndarray], *, links: int = TOP_LINKS, limit: int | None = None) -> dict[str, Any]:
    """The sampled counters of the busiest links (:func:`busiest` at the end of the run), at most ``limit`` instants.

    Parameters
    ----------
    network : mapping of ndarray
        :attr:`simsgp.Result.network`: ``time``, ``carried``, ``capacity``, ``names``.
    links : int, keyword-only
        How many links are kept.
    limit : int, keyword-only, optional
        The most instants kept (the first and the last among them); ``None``: all.

    Returns
    -------
    dict
        ``n_links`` (the run's), then of the kept links ``names``,
        ``capacity`` (bytes per second), and ``time`` (shape ``(k,)``) and
        ``carried`` (shape ``(k, kept links)``) as in ``network``.

    Examples
    --------
    >>> network = {"time": np.array([0.0, 1.0, 2.0]), "carried": np.array([[0.0, 0.0], [0.0, 5.0], [4.0, 5.0]]),
    ...            "capacity": np.array([10.0, 10.0]), "names": np.array(["a", "b"])}
    >>> series = link_series(network, links=1, limit=2)
    >>> series["names"], series["time"].tolist(), series["carried"].tolist()
    (['b'], [0.0, 2.0], [[0.0], [5.0]])
    """
    capacity, carried = np.asarray(network["capacity"]), np.asarray(network["carried"])
    top = busiest(carried[-1], capacity, links)
    rows = spread(len(network["time"]), limit)
    return {
        "n_links": len(capacity),
        "names": [str(name) for name in np.asarray(network["names"])[top]],
        "capacity": capacity[top],
        "time": np.asarray(network["time"])[rows],
        "carried": carried[rows][:, top],
    }


def run_entries(result: Result) -> dict[str, Any]:
    """The ``timeline`` and ``links`` entries of a sweep run file for ``result``, as JSON-ready data.

    ``links`` is ``None`` for a result without link samples.
    """
    series = {
        "timeline": timeline(result.records["end"], limit=TIMELINE_POINTS),
        "links": None if result.network is None else link_series(result.network, limit=LINK_POINTS),
    }
    return jsonable(_plain(series))


def timeline_of(run: Result | Mapping[str, Any]) -> dict[str, Any] | None:
    """The :func:`timeline` of a Result (every iteration) or of a sweep run record (its ``timeline`` entry).

    Returns ``None`` for a run record without the entry (written before simsgp kept it).

    Raises
    ------
    SimsgpError
        The record's entry is not what :func:`run_entries` writes.
    """
    if isinstance(run, Result):
        return timeline(run.records["end"])
    entry = run.get("timeline")
    if entry is None:
        return None
    where = _where(run, "timeline")
    data = _entry(entry, where, {"n_nodes": 0, "iterations": 1, "nodes": 1, "end": None, "envelope": None})
    data["end"] = _array(data["end"], 2, where, "end", empty=(0, len(data["nodes"])))
    if data["end"].shape != (len(data["iterations"]), len(data["nodes"])):
        raise SimsgpError(f"{where}: 'end' has shape {data['end'].shape}; expected (iterations, nodes)")
    envelope = entry["envelope"]
    if envelope is not None:
        data["envelope"] = _entry(envelope, f"{where}.envelope", {"first": 1, "half": 1, "last": 1})
    data["iterations"], data["nodes"] = data["iterations"].astype(np.int64), data["nodes"].astype(np.int64)
    return data


def links_of(run: Result | Mapping[str, Any]) -> dict[str, Any] | None:
    """The :func:`link_series` of a Result (every sample) or of a sweep run record (its ``links`` entry).

    Returns ``None`` for a Result without link samples or a run record without the entry.

    Raises
    ------
    SimsgpError
        The record's entry is not what :func:`run_entries` writes.
    """
    if isinstance(run, Result):
        return None if run.network is None else link_series(run.network)
    entry = run.get("links")
    if entry is None:
        return None
    where = _where(run, "links")
    data = _entry(entry, where, {"n_links": 0, "names": None, "capacity": 1, "time": 1, "carried": 2})
    names = data["names"]
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise SimsgpError(f"{where}: 'names' is not a list of link names")
    if data["carried"].shape != (len(data["time"]), len(names)) or len(data["capacity"]) != len(names):
        raise SimsgpError(f"{where}: 'carried' has shape {data['carried'].shape}; expected (instants, links)")
    return data


def _nan_for_inf(values: np.ndarray) -> np.ndarray:
    return np.where(np.isinf(values), np.nan, values)


def _plain(data: Any) -> Any:
    """``data`` with every array as a list (and numpy scalars as Python ones)."""
    if isinstance(data, dict):
        return {key: _plain(value) for key, value in data.items()}
    if isinstance(data, np.ndarray):
        return data.tolist()
    return data


def _where(run: Mapping[str, Any], key: str) -> str:
    return f"run {run.get('key', '?')}: {key!r}"


def _entry(entry: Any, where: str, dims: Mapping[str, int | None]) -> dict[str, Any]:
    """The fields ``dims`` of a JSON entry: a count (0), a float array of that many dimensions (null as NaN), or as is (None)."""
    if not isinstance(entry, Mapping) or not all(key in entry for key in dims):
        raise SimsgpError(f"{where}: expected an object with {sorted(dims)}, as simsgp sweep writes")
    data: dict[str, Any] = {}
    for key, ndim in dims.items():
        value = entry[key]
        if ndim is None:
            data[key] = value
        elif ndim == 0:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise SimsgpError(f"{where}: {key!r} is {shown(value)}; expected a count")
            data[key] = value
        else:
            data[key] = _array(value, ndim, where, key)
    return data


def _array(value: Any, ndim: int, where: str, key: str, *, empty: tuple[int, ...] | None = None) -> np.ndarray:
    """``value`` as a float array of ``ndim`` dimensions (null as NaN); an empty list as shape ``empty`` when given."""
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        array = None
    if array is not None and array.size == 0 and empty is not None:
        array = array.reshape(empty)
    if array is None or array.ndim != ndim:
        raise SimsgpError(f"{where}: {key!r} is not a {ndim}-dimensional array of numbers")
    return array
