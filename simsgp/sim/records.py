"""Per-iteration, per-node records in a preallocated numpy table.

A probe writes one entry per node and iteration; nothing is appended to
Python lists in the event loop. The table has one row per iteration and, in
it, one record of :data:`FIELDS` per node, written into the array's memory
in one ``struct`` call. When the number of iterations is not known in
advance (a time-limited run) the table doubles as needed.
"""

from __future__ import annotations

import math
import struct

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

_RECORD = struct.Struct(f"={len(FIELDS)}d")
"""One node's record of one iteration, as it lies in the table (native float64)."""
_END = FIELDS.index("end")


class Records:
    """A table of shape ``(iterations, nodes, len(FIELDS))``, read as one array per field.

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
        self._completed = [0] * n_nodes
        self._finished = [0] * max(capacity, 1)
        self._table = np.full((len(self._finished), n_nodes, len(FIELDS)), np.nan)

    def _grow(self, needed: int) -> None:
        """Room for at least ``needed`` iterations (at least twice the rows), keeping what was logged."""
        rows = max(needed, 2 * len(self._finished))
        table = np.full((rows, self.n_nodes, len(FIELDS)), np.nan)
        table[: len(self._table)] = self._table
        self._table = table
        self._finished.extend([0] * (rows - len(self._finished)))

    def log(
        self,
        node: int,
        t: int,
        start: float,
        compute_end: float,
        end: float,
        loss: float,
        bytes_sent: float,
        staleness: float = math.nan,
        comm_wait: float | None = None,
    ) -> bool:
        """Record iteration ``t`` of ``node``; True when every node has now finished ``t``.

        ``comm_wait`` defaults to ``end - compute_end``. The arguments come in
        this order, not in that of :data:`FIELDS`, so that the optional ones
        come last; pass them by name where the order is not obvious.
        """
        if t >= len(self._finished):
            self._grow(t + 1)
        if comm_wait is None:
            comm_wait = end - compute_end
        _RECORD.pack_into(
            self._table,  # type: ignore[arg-type]  # numpy's stubs give ndarray __buffer__ only for Python >= 3.12
            (t * self.n_nodes + node) * _RECORD.size,
            start,
            compute_end,
            comm_wait,
            end,
            loss,
            bytes_sent,
            staleness,
        )
        self._completed[node] = t + 1
        self._finished[t] += 1
        return self._finished[t] == self.n_nodes

    @property
    def completed(self) -> np.ndarray:
        """Iterations each node has completed (a copy)."""
        return np.array(self._completed, dtype=np.int64)

    def finished_at(self, t: int) -> float:
        """When the last node finished iteration ``t`` (NaN while some node has not)."""
        return float(self._table[t, :, _END].max())

    def arrays(self) -> dict[str, np.ndarray]:
        """The recorded arrays, one ``(iterations, nodes)`` array per field, trimmed to the iterations any node completed."""
        rows = max(self._completed, default=0)
        return {name: self._table[:rows, :, k].copy() for k, name in enumerate(FIELDS)}
