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
  water-filling on that link, integrated between arrivals and departures;
- any other collective's schedule (:class:`ScheduleTimer`): each round's
  transfers take their connection in order (FIFO) at the rate they would get
  if the transfers posted in the same round were the only ones on their
  links; afterwards the timer checks that this was so (transfers that meet on
  a link meet exactly, at equal shares, and nothing else overlaps) and
  refuses the scenario otherwise, so a time it gives is the event mode's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simsgp.errors import ScenarioError
from simsgp.sim.collectives import CollectiveOptions, node_steps

__all__ = [
    "ScheduleTimer", "account", "connection_rates", "disjoint_routes", "ring_allreduce", "shared_link", "shared_link_of",
]

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


_SAME = 1e-12
"""Relative tolerance within which two transfers' times are the same instant."""


@dataclass(frozen=True)
class _Plan:
    """One collective's transfers as arrays, grouped by the round that posts them and the round that takes them."""

    src: np.ndarray
    dst: np.ndarray
    nbytes: np.ndarray
    connection: np.ndarray
    rate: np.ndarray
    latency: np.ndarray
    link: np.ndarray
    link_transfer: np.ndarray
    rounds: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]
    """``link[k]`` is a link that transfer ``link_transfer[k]`` crosses; per round: the transfers it posts, those
    it takes, the nodes that take and the bytes they add."""


class ScheduleTimer:
    """Times a collective's schedule (:mod:`simsgp.sim.collectives`) without events, and checks that it may.

    Parameters
    ----------
    topology : Topology
        The physical network.
    kind : str
        The collective's name.
    p : int
        Nodes taking part (hosts ``0 .. p - 1``).
    options : CollectiveOptions
        The collective's options (its reduce rate among them).
    eager_limit : float or None
        The network's (:func:`simsgp.sim.mailbox.post`): a rendezvous
        transfer starts once its receiver reaches the round that takes it,
        and a node then ends only when its own sends have completed.

    Notes
    -----
    Connection FIFO state and each link's last busy instant carry over from
    one call to the next, so a transfer of one allreduce that would overlap
    one of the previous allreduce is caught too.
    """

    def __init__(self, topology, kind: str, p: int, options: CollectiveOptions, eager_limit: float | None = None):
        self.topology, self.kind, self.p, self.options = topology, kind, p, options
        self.eager_limit = eager_limit
        self._plans: dict[float, _Plan] = {}
        self._connections: dict[tuple[int, int], int] = {}
        self.free = np.zeros(0)
        self.link_free = np.zeros(len(topology.capacity))

    def allreduce(self, ready: np.ndarray, nbytes: float) -> tuple[np.ndarray, list[tuple[int, int, float, dict[int, float]]]]:
        """When each node finishes an allreduce of ``nbytes`` entered at ``ready``, and the transfers to account.

        Returns
        -------
        finish : ndarray
            When each node has done its last step.
        counts : list
            ``(src, dst, nbytes, busy)`` per transfer, ``busy`` the seconds it
            adds to each link, for :meth:`simsgp.sim.flows.Network.count`.

        Raises
        ------
        ScenarioError
            Transfers would share a link other than in equal, simultaneous
            shares (the event mode's max-min sharing then has no such form).
        """
        plan = self._plans.get(nbytes) or self._plan(nbytes)
        now = np.array(ready, dtype=float)
        n = len(plan.src)
        posted_at, start, end = np.empty(n), np.empty(n), np.empty(n)
        limit, rate = self.eager_limit, self.options.reduce_rate
        rendezvous = plan.nbytes > limit if limit is not None else np.zeros(n, dtype=bool)
        for posted, taken, nodes, adds in plan.rounds:
            posted_at[posted] = now[plan.src[posted]]
            self._transfer(plan, posted[~rendezvous[posted]], posted_at, start, end)
            self._transfer(plan, taken[rendezvous[taken]], posted_at, start, end, asked=now)
            if len(taken):
                np.maximum.at(now, plan.dst[taken], end[taken] + plan.latency[taken])
            if rate and len(nodes):
                now[nodes] += adds / rate
        if limit is not None:  # a blocking collective returns once its sends have completed
            np.maximum.at(now, plan.src, np.where(rendezvous, end + plan.latency, posted_at))
        busy = self._check(plan, start, end)
        counts = [(int(plan.src[k]), int(plan.dst[k]), float(plan.nbytes[k]), busy[k]) for k in range(len(plan.src))]
        return now, counts

    def _transfer(
        self, plan: _Plan, which: np.ndarray, posted_at: np.ndarray, start: np.ndarray, end: np.ndarray,
        asked: np.ndarray | None = None,
    ) -> None:
        """Start transfers ``which`` in order on their connections (not before their receiver asked, if ``asked``)."""
        if not len(which):
            return
        conn = plan.connection[which]
        begin = np.maximum(posted_at[which], self.free[conn])
        start[which] = begin if asked is None else np.maximum(begin, asked[plan.dst[which]])
        end[which] = start[which] + plan.nbytes[which] / plan.rate[which]
        self.free[conn] = end[which]

    def _plan(self, nbytes: float) -> _Plan:
        topology, p = self.topology, self.p
        rows: list[tuple[int, int, float, int, int]] = []  # src, dst, bytes, posting round, taking round
        takes: dict[int, list[tuple[int, float]]] = {}
        for node in range(p):
            for step in node_steps(self.kind, node, p, nbytes, self.options):
                rows.extend((node, dst, size, step.round, k) for dst, size, k in step.sends)
                if step.receives or step.add:
                    takes.setdefault(step.round, []).append((node, step.add))
        src, dst, size, post_round, take_round = (np.array(column) for column in zip(*rows)) if rows else [np.zeros(0, int)] * 5
        connection = np.array([self._connection(int(s), int(d)) for s, d in zip(src, dst)], dtype=int)
        if len(self.free) < len(self._connections):
            self.free = np.concatenate([self.free, np.zeros(len(self._connections) - len(self.free))])
        routes = [topology.route(int(s), int(d)) for s, d in zip(src, dst)]
        link = np.array([x for route in routes for x in route], dtype=int)
        link_transfer = np.repeat(np.arange(len(routes)), [len(route) for route in routes])
        rate = np.full(len(routes), np.inf)
        for r in np.unique(post_round):
            mine = np.flatnonzero(post_round == r)
            on = np.isin(link_transfer, mine)
            shares = np.bincount(link[on], minlength=len(topology.capacity))
            np.minimum.at(rate, link_transfer[on], topology.capacity[link[on]] / shares[link[on]])
        rounds = []
        for r in sorted(set(post_round.tolist()) | set(takes)):
            nodes = np.array([node for node, _ in takes.get(r, [])], dtype=int)
            adds = np.array([add for _, add in takes.get(r, [])])
            rounds.append((np.flatnonzero(post_round == r), np.flatnonzero(take_round == r), nodes, adds))
        latency = np.array([topology.latency(int(s), int(d)) for s, d in zip(src, dst)])
        plan = _Plan(src, dst, size.astype(float), connection, rate, latency, link, link_transfer, rounds)
        self._plans[nbytes] = plan
        return plan

    def _connection(self, src: int, dst: int) -> int:
        return self._connections.setdefault((src, dst), len(self._connections))

    def _check(self, plan: _Plan, start: np.ndarray, end: np.ndarray) -> list[dict[int, float]]:
        """Each transfer's busy seconds per link, after checking that the rates the timer used are the event mode's."""
        link, owner = plan.link, plan.link_transfer
        s, e = start[owner], end[owner]
        order = np.lexsort((e, s, link))
        link, owner, s, e = link[order], owner[order], s[order], e[order]
        scale = _SAME * max(1.0, float(np.abs(end).max(initial=0.0)))
        late = s < self.link_free[link] - scale
        if late.any():
            k = int(np.flatnonzero(late)[0])
            self._refuse(int(link[k]), float(s[k]), "a transfer of the previous allreduce is still on it")
        same_link = link[1:] == link[:-1]
        overlap = same_link & (s[1:] < e[:-1] - scale)
        equal = (np.abs(s[1:] - s[:-1]) <= scale) & (np.abs(e[1:] - e[:-1]) <= scale)
        if (overlap & ~equal).any():
            k = int(np.flatnonzero(overlap & ~equal)[0])
            self._refuse(int(link[k]), float(s[k + 1]), "transfers overlap on it without starting and ending together")
        group = np.concatenate([[0], np.cumsum(~(same_link & overlap))])
        size = np.bincount(group)[group]
        fair = np.full(len(plan.src), np.inf)
        np.minimum.at(fair, owner, self.topology.capacity[link] / size)
        wrong = np.abs(fair - plan.rate) > _SAME * plan.rate
        if wrong.any():
            k = int(np.flatnonzero(wrong)[0])
            self._refuse(int(plan.link[plan.link_transfer == k][0]), float(start[k]), "its flows do not share it equally")
        np.maximum.at(self.link_free, link, e)
        busy: list[dict[int, float]] = [{} for _ in plan.src]
        first = np.concatenate([[True], group[1:] != group[:-1]])
        for x, k, seconds in zip(link[first], owner[first], (e - s)[first]):
            busy[k][int(x)] = float(seconds)
        return busy

    def _refuse(self, link: int, when: float, why: str) -> None:
        names = self.topology.link_names
        name = names[link] if link < len(names) else f"link {link}"
        raise ScenarioError(
            f"analytic = true: algorithm.collective={self.kind!r} at {when:.6g} s on {name}: {why}, so max-min "
            "sharing has no closed form there (nodes entering at different times, or an incomplete tree); "
            "use the event mode"
        )
