"""Summary metrics of a run, computed from its records and final state."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["consensus_distance", "summarize"]


def consensus_distance(z: np.ndarray) -> float:
    """Mean Euclidean distance of the node models (rows) to their average.

    Examples
    --------
    >>> consensus_distance(np.array([[0.0, 0.0], [2.0, 0.0]]))
    1.0
    """
    return float(np.linalg.norm(z - z.mean(axis=0), axis=1).mean())


def summarize(records: dict[str, np.ndarray], z: np.ndarray, w: np.ndarray, task: Any) -> dict[str, Any]:
    """The summary of DESIGN.md section 5 plus where time went.

    Parameters
    ----------
    records : dict of ndarray
        Arrays of shape ``(iterations, nodes)`` as from :class:`simsgp.records.Records`.
    z : ndarray, shape (nodes, d)
        Final de-biased parameters of every node.
    w : ndarray, shape (nodes,)
        Final push-sum weights.
    task : Task
        Evaluates loss and accuracy of every node's model.

    Returns
    -------
    dict
        ``iterations`` (completed by every node), ``sim_time`` (when the last
        node finished its last iteration), ``sim_time_per_iteration``,
        ``node_time_per_iteration``, ``final_loss`` and ``final_accuracy``
        (means over nodes of each node's model on the full training / test
        data), ``consensus_distance``, ``compute_fraction`` and
        ``comm_wait_fraction`` (of all node-seconds), ``bytes_sent`` and the
        push-sum weight range.
    """
    end = records["end"]
    done = (~np.isnan(end)).sum(axis=0)
    iterations = int(done.min())
    last_end = np.array([end[k - 1, i] if k else 0.0 for i, k in enumerate(done)])
    sim_time = float(last_end.max(initial=0.0))
    busy = np.nansum(end - records["start"])
    accuracy = task.accuracy_many(z)
    return {
        "iterations": iterations,
        "sim_time": sim_time,
        "sim_time_per_iteration": sim_time / iterations if iterations else None,
        "node_time_per_iteration": (last_end / np.maximum(done, 1)).tolist(),
        "final_loss": float(np.mean(task.loss_many(z))),
        "final_accuracy": None if accuracy is None else float(np.mean(accuracy)),
        "consensus_distance": consensus_distance(z),
        "compute_fraction": float(np.nansum(records["compute_end"] - records["start"]) / busy) if busy else None,
        "comm_wait_fraction": float(np.nansum(records["comm_wait"]) / busy) if busy else None,
        "bytes_sent": float(np.nansum(records["bytes_sent"])),
        "weight_min": float(w.min()),
        "weight_max": float(w.max()),
    }
