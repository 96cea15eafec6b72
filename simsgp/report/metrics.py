"""Metrics of a run, computed from its records, network counters and final state.

Pure functions: they read arrays and the task, never the clock. Node models
``z`` and weights ``w`` may be arrays of any backend (see
:mod:`simsgp.learn.backend`); the metrics are computed there and returned as floats.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simsgp.learn.backend import array_namespace

__all__ = [
    "EVALUATION_FIELDS",
    "consensus_distance",
    "evaluate",
    "model_metrics",
    "staleness_histogram",
    "summarize",
    "time_to_target",
]

EVALUATION_FIELDS = (
    "iteration", "sim_time", "loss", "accuracy", "consensus_distance", "weight_min", "weight_max"
)
"""Columns of one evaluation point (see :func:`evaluate`)."""


def consensus_distance(z: np.ndarray) -> float:
    """Mean Euclidean distance of the node models (rows) to their average.

    Examples
    --------
    >>> consensus_distance(np.array([[0.0, 0.0], [2.0, 0.0]]))
    1.0
    """
    xp = array_namespace(z)
    diff = z - xp.mean(z, axis=0)
    return float(xp.mean(xp.sqrt(xp.sum(diff * diff, axis=1))))


def model_metrics(z: Any, w: Any, task: Any) -> dict[str, float]:
    """Loss, accuracy, consensus distance and weight range of the node models.

    ``loss`` and ``accuracy`` are means over nodes of each node's model (row
    of ``z``) on the full training data and the test data (NaN accuracy where
    the task has none; both NaN without a task, in a timing-only run).

    Examples
    --------
    >>> from simsgp.tasks import QuadraticTask
    >>> task = QuadraticTask(np.ones(1), np.array([[0.0], [2.0]]))
    >>> model_metrics(np.array([[1.0], [3.0]]), np.array([0.5, 1.5]), task)
    {'loss': 1.0, 'accuracy': nan, 'consensus_distance': 1.0, 'weight_min': 0.5, 'weight_max': 1.5}
    """
    xp = array_namespace(z)
    accuracy = None if task is None else task.accuracy_many(z)
    return {
        "loss": math.nan if task is None else float(xp.mean(task.loss_many(z))),
        "accuracy": math.nan if accuracy is None else float(xp.mean(accuracy)),
        "consensus_distance": consensus_distance(z),
        "weight_min": float(xp.min(w)),
        "weight_max": float(xp.max(w)),
    }


def evaluate(iteration: int, sim_time: float, z: Any, w: Any, task: Any) -> tuple[float, ...]:
    """One evaluation point, in the order of :data:`EVALUATION_FIELDS` (see :func:`model_metrics`)."""
    return (float(iteration), float(sim_time), *model_metrics(z, w, task).values())


def time_to_target(
    evaluations: Mapping[str, np.ndarray], *, accuracy: float | None = None, loss: float | None = None
) -> dict[str, float | int | None]:
    """When the nodes' mean accuracy first reached ``accuracy`` and their mean loss fell to ``loss``.

    Both targets must hold at one evaluation point when both are given. The
    target was reached between that point and the one before it (or the
    start of the run), so their distance in simulated seconds is the
    answer's resolution.

    Returns
    -------
    dict
        ``time_to_target`` (simulated seconds of the first evaluation point
        that meets the targets), ``iterations_to_target`` and
        ``time_to_target_resolution``; all ``None`` when it was never met.

    Examples
    --------
    >>> ev = {"iteration": np.array([5.0, 10.0, 15.0]), "sim_time": np.array([0.5, 1.0, 1.5]),
    ...       "accuracy": np.array([0.5, 0.91, 0.95]), "loss": np.array([2.0, 0.4, 0.3])}
    >>> time_to_target(ev, accuracy=0.9)
    {'time_to_target': 1.0, 'iterations_to_target': 10, 'time_to_target_resolution': 0.5}
    >>> time_to_target(ev, accuracy=0.9, loss=0.35)["time_to_target"]
    1.5
    """
    met = np.ones(len(evaluations["sim_time"]), dtype=bool)
    if accuracy is not None:
        met &= evaluations["accuracy"] >= accuracy  # NaN never meets a target
    if loss is not None:
        met &= evaluations["loss"] <= loss
    hits = np.flatnonzero(met)
    if not hits.size:
        return {"time_to_target": None, "iterations_to_target": None, "time_to_target_resolution": None}
    k = int(hits[0])
    times = evaluations["sim_time"]
    before = float(times[k - 1]) if k else 0.0
    return {
        "time_to_target": float(times[k]),
        "iterations_to_target": int(evaluations["iteration"][k]),
        "time_to_target_resolution": float(times[k]) - before,
    }


def staleness_histogram(staleness: np.ndarray) -> list[int]:
    """Counts of each integer staleness value 0, 1, 2, ... (NaN entries skipped).

    Examples
    --------
    >>> staleness_histogram(np.array([[1.0, np.nan], [1.0, 3.0]]))
    [0, 2, 0, 1]
    """
    values = staleness[~np.isnan(staleness)].astype(np.int64)
    return np.bincount(values).tolist() if values.size else []


def summarize(
    records: dict[str, np.ndarray],
    z: Any,
    w: Any,
    task: Any,
    network: Any,
    *,
    time_limit: float | None = None,
    absent: Sequence[int] = (),
) -> dict[str, Any]:
    """The summary of a run: its pace, its models' quality, and where time and bytes went.

    Parameters
    ----------
    records : dict of ndarray
        Arrays of shape ``(iterations, nodes)`` as from :class:`simsgp.sim.records.Records`.
    z : array, shape (nodes, d)
        Final de-biased parameters of every node.
    w : array, shape (nodes,)
        Final push-sum weights.
    task : Task
        Evaluates loss and accuracy of every node's model.
    network : Network
        Its byte and busy-time counters (workers first, then any servers).
    time_limit : float, optional
        The run's limit in simulated seconds, if it had one.
    absent : sequence of int, default ()
        Nodes failed at the end of the run: left out of ``iterations`` and
        of the median pace (listed as ``down_at_end``).

    Returns
    -------
    dict
        ``iterations`` (completed by every node not ``absent``), ``sim_time``
        (when the last node finished its last iteration),
        ``sim_time_per_iteration`` (``sim_time`` over ``iterations``: the
        slowest node's pace; ``None`` without iterations),
        ``node_time_per_iteration`` (each node's own pace: when it finished
        its last iteration over the iterations it did; ``None`` for a node
        that finished none) and its median over the nodes not ``absent``
        ``median_node_time_per_iteration``, ``down_at_end``, ``final_loss`` and
        ``final_accuracy`` (means over nodes of each node's model on the full
        training / test data), ``consensus_distance``; per node the fractions
        of its time computing and waiting for communication, and of the run
        its uplink was busy sending; bytes sent per host, bytes carried per
        link, ``span`` (the simulated seconds the run covers: ``time_limit``
        when given, else ``sim_time``), ``max_link_utilization`` (the largest
        bytes a link carried over its capacity times ``span``; at most 1) and
        the ``busiest_link``, the staleness histogram and the push-sum
        weight range.
    """
    end, start = records["end"], records["start"]
    done = (~np.isnan(end)).sum(axis=0)
    present = np.ones(len(done), dtype=bool)
    present[list(absent)] = False
    iterations = int(done[present].min(initial=done.max(initial=0)))
    last_end = np.array([end[k - 1, i] if k else 0.0 for i, k in enumerate(done)])
    sim_time = float(last_end.max(initial=0.0))
    busy = np.nansum(end - start, axis=0)
    wait = np.nansum(records["comm_wait"], axis=0)
    compute = busy - wait
    n = len(w)
    topology = network.topology
    model = model_metrics(z, w, task)
    span = sim_time if time_limit is None else time_limit
    carried = network.carried_bytes
    utilization = carried / (topology.capacity * span) if span else np.zeros_like(carried)
    busiest = int(np.argmax(utilization))
    pace = np.where(done > 0, last_end / np.maximum(done, 1), np.nan)
    counted = pace[present & (done > 0)]
    return {
        "iterations": iterations,
        "sim_time": sim_time,
        "sim_time_per_iteration": sim_time / iterations if iterations else None,
        "node_time_per_iteration": [_finite_or_none(p) for p in pace.tolist()],
        "median_node_time_per_iteration": float(np.median(counted)) if counted.size else None,
        "down_at_end": sorted(int(i) for i in absent),
        "final_loss": _finite_or_none(model["loss"]),
        "final_accuracy": _finite_or_none(model["accuracy"]),
        "consensus_distance": model["consensus_distance"],
        "compute_fraction": _ratio(compute.sum(), busy.sum()),
        "comm_wait_fraction": _ratio(wait.sum(), busy.sum()),
        "node_compute_fraction": [_ratio(c, b) for c, b in zip(compute, busy)],
        "node_comm_wait_fraction": [_ratio(c, b) for c, b in zip(wait, busy)],
        "node_send_fraction": [_ratio(busy_s, span) for busy_s in network.link_busy[:n]],
        "bytes_sent": float(network.bytes_sent.sum()),
        "node_bytes_sent": network.bytes_sent.tolist(),
        "link_bytes": dict(zip(topology.link_names, carried.tolist())),
        "span": span,
        "max_link_utilization": float(utilization[busiest]),
        "busiest_link": topology.link_names[busiest],
        "staleness_histogram": staleness_histogram(records["staleness"]),
        "weight_min": model["weight_min"],
        "weight_max": model["weight_max"],
    }


def _finite_or_none(value: float) -> float | None:
    """``None`` for NaN (no objective, as in timing-only runs), so JSON stays valid."""
    return None if np.isnan(value) else value


def _ratio(part: float, whole: float) -> float | None:
    return float(part / whole) if whole else None
