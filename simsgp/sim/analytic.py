"""Analytic timing of collectives: the event model's arithmetic without one event per flow.

Synchronous algorithms (allreduce, Local SGD, the synchronous parameter
server) follow a fixed pattern of messages, so their times follow from a
recursion over the messages instead of a SimPy run. The functions here
reproduce the event mode's rules exactly where the pattern makes them
closed-form, and the callers check those conditions first:

- ring allreduce where the ring's connections share no link (true on a star,
  on racks and on sites): each connection is a FIFO queue of transfers at the
  rate of its slowest link, then the route latency;
- many flows through one shared link, each alone on its other links (a
  parameter server's incast or broadcast): max-min fair sharing reduces to
  water-filling on that link, integrated between arrivals and departures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["account", "connection_rates", "disjoint_routes", "ring_allreduce", "shared_link", "shared_link_of"]

_DONE_RTOL = 1e-12
"""As in the event mode: a flow with this fraction of its bytes left is done."""


def ring_allreduce(
    ready: np.ndarray, free: np.ndarray, chunk: float, rate: np.ndarray, latency: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finish times of a ring allreduce entered by node ``i`` at ``ready[i]``.

    Node ``i`` sends to ``i + 1`` over connection ``i``; in each of the
    ``2 (p - 1)`` steps it sends once it has received the previous step's
    chunk (or, at step 0, at ``ready[i]``), after the connection's previous
    transfer has left (``free``), at ``rate[i]``; the chunk arrives
    ``latency[i]`` after its last byte.

    Parameters
    ----------
    ready : ndarray, shape (p,)
        When each node enters the collective.
    free : ndarray, shape (p,)
        When each connection's previous transfer ended.
    chunk : float
        Bytes per step (the message over ``p``).
    rate, latency : ndarray, shape (p,)
        Bytes per second and seconds of each connection.

    Returns
    -------
    finish : ndarray
        When each node has received its last chunk.
    free : ndarray
        When each connection's last transfer ended.
    busy : ndarray
        Seconds each connection spent transferring.

    Examples
    --------
    >>> p = 4
    >>> finish, free, busy = ring_allreduce(np.zeros(p), np.zeros(p), 1.0, np.ones(p), np.full(p, 0.5))
    >>> finish.tolist()   # 2 (p - 1) steps of 1 + 0.5 s
    [9.0, 9.0, 9.0, 9.0]
    """
    send = np.array(ready, dtype=float)
    transfer = chunk / rate
    free = np.array(free, dtype=float)
    busy = np.zeros_like(send)
    arrive = np.empty_like(send)
    for _ in range(2 * (len(send) - 1)):  # in place: this loop is O(p) steps of O(p) work
        np.maximum(send, free, out=free)
        free += transfer
        busy += transfer
        np.add(free, latency, out=arrive)
        send[1:] = arrive[:-1]  # node i receives what connection i - 1 carried
        send[0] = arrive[-1]
    return send, free, busy


def shared_link(
    arrivals: np.ndarray, sizes: np.ndarray, caps: np.ndarray, capacity: float
) -> tuple[np.ndarray, float]:
    """Transfer end times of flows that share one link of ``capacity``.

    Flow ``k`` starts at ``arrivals[k]`` with ``sizes[k]`` bytes and may not
    exceed ``caps[k]`` (its other links). While flows are active the link is
    shared max-min fairly: water-filling, capped flows first.

    Returns
    -------
    ends : ndarray
        When each flow's last byte left.
    busy : float
        Seconds the shared link carried at least one flow.

    Examples
    --------
    >>> ends, busy = shared_link(np.array([0.0, 0.0, 1.0]), np.full(3, 2.0), np.full(3, 10.0), 2.0)
    >>> ends.tolist(), busy   # two share 2 B/s, then three, then one
    ([2.5, 2.5, 3.0], 3.0)
    """
    arrivals = np.asarray(arrivals, dtype=float)
    remaining = np.asarray(sizes, dtype=float).copy()
    ends = np.full(len(arrivals), np.nan)
    order = np.argsort(arrivals, kind="stable")
    active = np.zeros(len(arrivals), dtype=bool)
    now, k, busy = float(arrivals[order[0]]), 0, 0.0
    while k < len(order) or active.any():
        while k < len(order) and arrivals[order[k]] <= now:
            active[order[k]] = True
            k += 1
        if not active.any():
            now = float(arrivals[order[k]])
            continue
        index = np.flatnonzero(active)
        rates = _water_fill(caps[index], capacity)
        step = float((remaining[index] / rates).min())
        if k < len(order):
            step = min(step, float(arrivals[order[k]]) - now)
        remaining[index] -= rates * step
        now += step
        busy += step
        done = index[remaining[index] <= _DONE_RTOL * np.asarray(sizes, dtype=float)[index]]
        ends[done] = now
        active[done] = False
    return ends, busy


def _water_fill(caps: np.ndarray, capacity: float) -> np.ndarray:
    """Max-min fair rates of flows with individual caps on one link of ``capacity``."""
    order = np.argsort(caps, kind="stable")
    rates = np.empty(len(caps))
    left, count = capacity, len(caps)
    for position, flow in enumerate(order):
        share = left / (count - position)
        rates[flow] = min(caps[flow], share)
        left -= rates[flow]
    return rates


def shared_link_of(topology, pairs: Sequence[tuple[int, int]]) -> int | None:
    """The one link every route of ``pairs`` crosses, if the routes share exactly that one."""
    common = set.intersection(*(set(topology.route(s, d)) for s, d in pairs))
    if len(common) != 1:
        return None
    link = common.pop()
    return link if disjoint_routes(topology, pairs, shared=link) else None


def connection_rates(topology, pairs: Sequence[tuple[int, int]], *, skip: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rate (slowest link of the route, ignoring link ``skip``) and latency of each ``(src, dst)`` connection."""
    rate = np.array([
        min((topology.capacity[link] for link in topology.route(s, d) if link != skip), default=np.inf)
        for s, d in pairs
    ])
    latency = np.array([topology.latency(s, d) for s, d in pairs])
    return rate, latency


def disjoint_routes(topology, pairs: Sequence[tuple[int, int]], *, shared: int | None = None) -> bool:
    """Whether the routes of ``pairs`` use no link twice (other than the link ``shared``)."""
    seen: set[int] = set()
    for s, d in pairs:
        for link in topology.route(s, d):
            if link != shared and link in seen:
                return False
            seen.add(link)
    return True


def account(
    network,
    pairs: Sequence[tuple[int, int]],
    nbytes: np.ndarray,
    busy: np.ndarray,
    *,
    shared: int | None = None,
    shared_busy: float = 0.0,
) -> None:
    """Add the bytes and busy seconds of connections ``pairs`` to the network's counters.

    ``busy[k]`` goes to the links of route ``k`` other than ``shared``, whose
    own busy time is ``shared_busy`` (the other links carry one flow each).
    """
    for (src, dst), b, seconds in zip(pairs, nbytes, busy):
        route = network.topology.route(src, dst)
        network.count(src, route, float(b), {link: float(seconds) for link in route if link != shared})
    if shared is not None:
        network.count(0, (), 0.0, {shared: shared_busy})
