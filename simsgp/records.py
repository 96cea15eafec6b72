"""Per-iteration, per-node records in preallocated numpy arrays.

A probe writes one row entry per node and iteration; nothing is appended to
Python lists in the event loop. When the number of iterations is not known in
advance (a time-limited run) the arrays double as needed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["FIELDS", "Records"]

FIELDS = ("start", "compute_end", "comm_wait", "end", "loss", "bytes_sent", "staleness")
"""What is recorded for every (iteration, node): seconds of simulated time for
``start`` (iteration begins), ``compute_end`` (forward + backward done),
``comm_wait`` (seconds of the iteration spent communicating or waiting for
peers rather than computing; by default those after compute ends) and ``end``; the mini-batch ``loss``
the ``bytes_sent`` by the node in that iteration, and the ``staleness`` of
what it used (NaN where the algorithm has none): iterations for OSGP's mixed
messages, server versions for asynchronous parameter servers, averagings
during the compute phase for AD-PSGD."""


class Records:
    """Arrays of shape ``(iterations, nodes)``, one per field of :data:`FIELDS`.

    Examples
    --------
    >>> rec = Records(n_nodes=2, capacity=1)
    >>> rec.log(1, 0, start=0.0, compute_end=0.1, end=0.3, loss=2.0, bytes_sent=8.0)
    False
    >>> round(float(rec.arrays()["comm_wait"][0, 1]), 12), rec.completed.tolist()
    (0.2, [0, 1])
    """

    def __init__(self, n_nodes: int, capacity: int):
        self.n_nodes = n_nodes
        self.completed = np.zeros(n_nodes, dtype=np.int64)
        self._data = {name: np.full((max(capacity, 1), n_nodes), np.nan) for name in FIELDS}
        self._finished = np.zeros(max(capacity, 1), dtype=np.int64)

    def log(
        self,
        node: int,
        t: int,
        *,
        start: float,
        compute_end: float,
        end: float,
        loss: float,
        bytes_sent: float,
        staleness: float = np.nan,
        comm_wait: float | None = None,
    ) -> bool:
        """Record iteration ``t`` of ``node``; True when every node has now finished ``t``."""
        data = self._data
        if t >= len(data["start"]):
            self._grow(t + 1)
            data = self._data
        data["start"][t, node] = start
        data["compute_end"][t, node] = compute_end
        data["comm_wait"][t, node] = end - compute_end if comm_wait is None else comm_wait
        data["end"][t, node] = end
        data["loss"][t, node] = loss
        data["bytes_sent"][t, node] = bytes_sent
        data["staleness"][t, node] = staleness
        self.completed[node] = t + 1
        self._finished[t] += 1
        return bool(self._finished[t] == self.n_nodes)

    def finished_at(self, t: int) -> float:
        """When the last node finished iteration ``t`` (NaN while some node has not)."""
        return float(self._data["end"][t].max())

    def _grow(self, needed: int) -> None:
        rows = max(needed, 2 * len(self._data["start"]))
        for name, old in self._data.items():
            new = np.full((rows, self.n_nodes), np.nan)
            new[: len(old)] = old
            self._data[name] = new
        finished = np.zeros(rows, dtype=np.int64)
        finished[: len(self._finished)] = self._finished
        self._finished = finished

    def arrays(self) -> dict[str, np.ndarray]:
        """The recorded arrays, trimmed to the iterations any node completed."""
        rows = int(self.completed.max(initial=0))
        return {name: values[:rows].copy() for name, values in self._data.items()}
