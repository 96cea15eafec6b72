"""A deliberately simple fluid network, for tests only: the reference :class:`simsgp.sim.flows.Network` must match.

Nothing here is incremental. At every event (a message is sent, a transfer
ends) the max-min fair rates of *all* active transfers are recomputed from
scratch by progressive filling in its textbook form: every unfrozen flow's
rate rises at the same pace until some link is full, the flows on full links
freeze, and so on. Between events every active transfer moves at its rate.

The rules shared with the model under test are the physical ones, stated in
:mod:`simsgp.sim.flows`: messages between one pair of hosts go one after the
other (FIFO), a message starts when the one before it on its pair has left
(or at its send time), a message is delivered one route latency after its
last byte left, a message to oneself is delivered at once, and a zero-byte
message only waits for what is ahead of it and pays the latency.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

import numpy as np

from simsgp.sim.topology import Topology

_FINISHED = 1e-10
"""A transfer with at most this fraction of its bytes left at an event is done (float residue)."""


def max_min_rates(incidence: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Max-min fair rates of flows (columns of the link-by-flow ``incidence``) by uniform filling.

    Examples
    --------
    >>> incidence = np.array([[1, 1], [0, 1]], dtype=bool)   # link 0 carries both, link 1 only flow 1
    >>> max_min_rates(incidence, np.array([3.0, 1.0])).tolist()
    [2.0, 1.0]
    """
    n_flows = incidence.shape[1]
    rate = np.zeros(n_flows)
    residual = capacity.astype(float).copy()
    rising = incidence.any(axis=0)
    while rising.any():
        count = incidence[:, rising].sum(axis=1)
        used = count > 0
        step = np.min(residual[used] / count[used])
        rate[rising] += step
        residual -= step * count
        full = used & (residual <= 1e-12 * capacity)
        rising &= ~incidence[full].any(axis=0)
    return rate


def deliveries(topology: Topology, sends: Sequence[tuple[float, int, int, float]]) -> list[float]:
    """Delivery time of every message ``(t_send, src, dst, nbytes)``, in the order given."""
    n_links = len(topology.capacity)
    capacity = np.asarray(topology.capacity, dtype=float)
    delivered = [np.nan] * len(sends)
    order = sorted(range(len(sends)), key=lambda k: (sends[k][0], k))
    queues: dict[tuple[int, int], deque[int]] = {}
    remaining: dict[int, float] = {}  # transfers on the wire: message -> bytes left
    now, next_send = 0.0, 0

    def start_heads() -> None:
        """Put the first message of every pair on the wire; zero-byte ones are done at once."""
        for (src, dst), queue in queues.items():
            while queue and queue[0] not in remaining:
                head = queue[0]
                if sends[head][3] > 0:
                    remaining[head] = float(sends[head][3])
                    break
                delivered[head] = now + topology.latency(src, dst)
                queue.popleft()

    while next_send < len(order) or any(queues.values()):
        while next_send < len(order) and sends[order[next_send]][0] <= now:
            k = order[next_send]
            _, src, dst, _ = sends[k]
            if src == dst:
                delivered[k] = now
            else:
                queues.setdefault((src, dst), deque()).append(k)
            next_send += 1
        start_heads()
        active = list(remaining)
        horizon = sends[order[next_send]][0] - now if next_send < len(order) else np.inf
        if not active:
            if next_send < len(order):
                now = sends[order[next_send]][0]
            continue
        incidence = np.zeros((n_links, len(active)), dtype=bool)
        for column, k in enumerate(active):
            incidence[list(topology.route(sends[k][1], sends[k][2])), column] = True
        rate = max_min_rates(incidence, capacity)
        left = np.array([remaining[k] for k in active])
        step = float(np.min(left / rate))
        if horizon <= step:  # the next send comes first (or together): stop exactly at its time
            step, now = horizon, sends[order[next_send]][0]
        else:
            now += step
        for k, r in zip(active, rate):
            remaining[k] -= r * step
            if remaining[k] <= _FINISHED * sends[k][3]:
                del remaining[k]
                src, dst = sends[k][1], sends[k][2]
                delivered[k] = now + topology.latency(src, dst)
                queues[src, dst].popleft()
    return delivered
