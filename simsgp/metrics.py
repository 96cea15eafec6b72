"""Metrics of a run, computed from its records, network counters and final state.

Pure functions: they read arrays and the task, never the clock. Node models
``z`` and weights ``w`` may be arrays of any backend (see
:mod:`simsgp.backend`); the metrics are computed there and returned as floats.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from simsgp.backend import array_namespace

__all__ = [
    "EVALUATION_FIELDS", "consensus_distance", "evaluate", "model_metrics", "staleness_histogram", "summarize"
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
    the task has none).

    Examples
    --------
    >>> from simsgp.tasks import QuadraticTask
    >>> task = QuadraticTask(np.ones(1), np.array([[0.0], [2.0]]))
    >>> model_metrics(np.array([[1.0], [3.0]]), np.array([0.5, 1.5]), task)
    {'loss': 1.0, 'accuracy': nan, 'consensus_distance': 1.0, 'weight_min': 0.5, 'weight_max': 1.5}
    """
    xp = array_namespace(z)
    accuracy = task.accuracy_many(z)
    return {
        "loss": float(xp.mean(task.loss_many(z))),
        "accuracy": math.nan if accuracy is None else float(xp.mean(accuracy)),
        "consensus_distance": consensus_distance(z),
        "weight_min": float(xp.min(w)),
        "weight_max": float(xp.max(w)),
    }


def evaluate(iteration: int, sim_time: float, z: Any, w: Any, task: Any) -> tuple[float, ...]:
    """One evaluation point, in the order of :data:`EVALUATION_FIELDS` (see :func:`model_metrics`)."""
    return (float(iteration), float(sim_time), *model_metrics(z, w, task).values())


def staleness_histogram(staleness: np.ndarray) -> list[int]:
    """Counts of each integer staleness value 0, 1, 2, ... (NaN entries skipped).

    Examples
    --------
    >>> staleness_histogram(np.array([[1.0, np.nan], [1.0, 3.0]]))
    [0, 2, 0, 1]
    """
    values = staleness[~np.isnan(staleness)].astype(np.int64)
    return np.bincount(values).tolist() if values.size else []


def summarize(records: dict[str, np.ndarray], z: Any, w: Any, task: Any, network: Any) -> dict[str, Any]:
    """The summary of DESIGN.md section 5 plus where time and bytes went.

    Parameters
    ----------
    records : dict of ndarray
        Arrays of shape ``(iterations, nodes)`` as from :class:`simsgp.records.Records`.
    z : array, shape (nodes, d)
        Final de-biased parameters of every node.
    w : array, shape (nodes,)
        Final push-sum weights.
    task : Task
        Evaluates loss and accuracy of every node's model.
    network : Network
        Its byte and busy-time counters (workers first, then any servers).

    Returns
    -------
    dict
        ``iterations`` (completed by every node), ``sim_time`` (when the last
        node finished its last iteration), ``sim_time_per_iteration``,
        ``node_time_per_iteration``, ``final_loss`` and ``final_accuracy``
        (means over nodes of each node's model on the full training / test
        data), ``consensus_distance``; per node the fractions of its time
        computing, waiting for communication and sending (its uplink busy),
        bytes sent per host and per link, the staleness histogram and the
        push-sum weight range.
    """
    end, start = records["end"], records["start"]
    done = (~np.isnan(end)).sum(axis=0)
    iterations = int(done.min())
    last_end = np.array([end[k - 1, i] if k else 0.0 for i, k in enumerate(done)])
    sim_time = float(last_end.max(initial=0.0))
    busy = np.nansum(end - start, axis=0)
    wait = np.nansum(records["comm_wait"], axis=0)
    compute = busy - wait
    n = len(w)
    topology = network.topology
    model = model_metrics(z, w, task)
    return {
        "iterations": iterations,
        "sim_time": sim_time,
        "sim_time_per_iteration": sim_time / iterations if iterations else None,
        "node_time_per_iteration": (last_end / np.maximum(done, 1)).tolist(),
        "final_loss": _finite_or_none(model["loss"]),
        "final_accuracy": _finite_or_none(model["accuracy"]),
        "consensus_distance": model["consensus_distance"],
        "compute_fraction": _ratio(compute.sum(), busy.sum()),
        "comm_wait_fraction": _ratio(wait.sum(), busy.sum()),
        "node_compute_fraction": [_ratio(c, b) for c, b in zip(compute, busy)],
        "node_comm_wait_fraction": [_ratio(c, b) for c, b in zip(wait, busy)],
        "node_send_fraction": [_ratio(busy_s, end_s) for busy_s, end_s in zip(network.link_busy[:n], last_end)],
        "bytes_sent": float(network.bytes_sent.sum()),
        "node_bytes_sent": network.bytes_sent.tolist(),
        "link_bytes": dict(zip(topology.link_names, network.link_bytes.tolist())),
        "staleness_histogram": staleness_histogram(records["staleness"]),
        "weight_min": model["weight_min"],
        "weight_max": model["weight_max"],
    }


def _finite_or_none(value: float) -> float | None:
    """``None`` for NaN (no objective, as in timing-only runs), so JSON stays valid."""
    return None if np.isnan(value) else value


def _ratio(part: float, whole: float) -> float | None:
    return float(part / whole) if whole else None
