"""Flows with max-min fair sharing: messages moved over the links of a :class:`~simsgp.sim.topology.Topology`.

A message from host ``src`` to host ``dst`` is a *flow* over the links of its
route. Messages between the same pair of hosts go in order over one
connection (as over one TCP stream): a message starts when the one before it
on that connection has left. While flows are active, every flow gets its max-min fair rate
(progressive filling): the most contended link fixes the rate of its flows, the
capacity they use is taken from their other links, and so on. Rates are
recomputed when a flow starts or ends, only for the flows that share links with
it (directly or through other flows), and each changed flow's completion event
is rescheduled. After its last byte leaves, a message is delivered one route
latency later: latency is paid once per message.

Closed forms this model reproduces on a star (one full-duplex NIC per host,
non-blocking switch), with alpha the latency, ``B`` the NIC bandwidth and ``M``
the message size:

- one push to one peer: ``alpha + M / B``;
- one host pushing ``M`` to ``k`` peers at once: ``alpha + k M / B``;
- ``k`` hosts pushing ``M`` to one host (incast): ``alpha + k M / B``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from functools import partial
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import Event

from simsgp.sim.simpy_internals import succeed_after
from simsgp.sim.topology import Topology

__all__ = ["Network"]


class _Connection:
    """The route from one host to another and the messages queued on it, first in first out."""

    __slots__ = ("latency", "links", "lone_rate", "queue")

    def __init__(self, links: tuple[int, ...], latency: float, lone_rate: float):
        self.links = links
        self.latency = latency
        self.lone_rate = lone_rate  # a flow alone on these links gets the smallest capacity
        self.queue: deque[_Flow] = deque()


class _Flow:
    """One message in transit; mutable bookkeeping owned by :class:`Network`.

    ``timer`` is the pending completion event for the current rate (``None``
    once the flow has ended); a timer that is no longer the flow's is ignored.
    """

    __slots__ = ("connection", "delivered", "links", "rate", "remaining", "seq", "size", "t_last", "timer", "value")

    def __init__(self, seq: int, connection: _Connection, size: float, delivered: simpy.Event, value: Any):
        self.seq = seq
        self.connection = connection
        self.links = connection.links
        self.size = size
        self.remaining = size
        self.rate = 0.0
        self.t_last = 0.0  # set when the flow starts
        self.timer: simpy.Event | None = None
        self.delivered = delivered
        self.value = value


_DONE_RTOL = 1e-12
"""A flow with at most this fraction of its bytes left is finished (float residue)."""


class Network:
    """Moves messages over a :class:`Topology` inside a SimPy environment.

    Parameters
    ----------
    env : simpy.Environment
        The environment whose clock the transfers follow.
    topology : Topology
        Links, capacities, routes and latencies.
    record_messages : bool, default False
        Keep a log of every message (for traces); off by default, costs nothing then.
    eager_limit : float or None, default None
        How sends complete (:func:`simsgp.sim.mailbox.post`): None streams
        every message; else messages of at most this many bytes are eager
        and larger ones rendezvous.
    one_per_pair : bool, default False
        One connection carries both directions between two hosts (gloo's
        single TCP connection per pair of ranks, whose rendezvous notices
        queue behind data): a message waits for the one before it, until it
        has left when both go the same way, until it has arrived when they go
        opposite ways (its sender hears only then). By default each direction
        has its own connection.

    Attributes
    ----------
    messages : list of tuple or None
        With ``record_messages``: ``(src, dst, t_send, t_delivered, nbytes)``
        of every delivered message, in delivery order.

    Notes
    -----
    ``bytes_sent``, ``link_bytes`` and ``link_busy`` (seconds a link carried
    at least one flow, up to the last time a flow on it ended; a host's
    uplink busy time is the time it spent sending) are kept in Python lists,
    cheap to update per message, and read as arrays.

    Examples
    --------
    >>> from simsgp.sim.topology import star
    >>> env = simpy.Environment()
    >>> net = Network(env, star(2, bandwidth=100.0, latency=0.5))
    >>> done = net.send(0, 1, 200.0, value="hello")
    >>> env.run()
    >>> env.now, done.value
    (2.5, 'hello')
    """

    def __init__(
        self, env: simpy.Environment, topology: Topology, *, record_messages: bool = False,
        eager_limit: float | None = None, one_per_pair: bool = False,
    ):
        self.env = env
        self.eager_limit = eager_limit
        self.one_per_pair = one_per_pair
        self.messages: list[tuple[int, int, float, float, float]] | None = [] if record_messages else None
        self.topology = topology
        self.capacity = [float(c) for c in topology.capacity]
        self._sent = [0.0] * topology.n_hosts
        self._link_bytes = [0.0] * len(self.capacity)
        self._link_busy = [0.0] * len(self.capacity)
        self._on_link: list[dict[_Flow, None]] = [{} for _ in self.capacity]
        self._busy_since = [0.0] * len(self.capacity)
        self._flows_started = 0
        self._connections: dict[tuple[int, int], _Connection] = {}

    @property
    def bytes_sent(self) -> np.ndarray:
        """Bytes each host has put on the network so far (a copy)."""
        return np.array(self._sent)

    @property
    def link_bytes(self) -> np.ndarray:
        """Bytes that have entered each link so far (a copy)."""
        return np.array(self._link_bytes)

    @property
    def link_busy(self) -> np.ndarray:
        """Seconds each link has carried at least one flow (a copy)."""
        return np.array(self._link_busy)

    @property
    def carried_bytes(self) -> np.ndarray:
        """Bytes each link has carried so far: those that entered it, less what flows on it or queued still have to send.

        Every connection with messages queued has the first of them on its
        links, so the flows on the links (each taken at its route's first
        link) reach every pending message: the cost is that of the links and
        the messages in flight, not of every connection ever opened.
        """
        carried = list(self._link_bytes)
        now = self.env.now
        for first, flows in enumerate(self._on_link):
            for head in flows:
                if head.links[0] != first:
                    continue
                for k, flow in enumerate(head.connection.queue):  # the head is on the wire, the rest wait whole
                    left = flow.remaining - flow.rate * (now - flow.t_last) if k == 0 else flow.size
                    for link in flow.links:
                        carried[link] -= left
        return np.array(carried)

    def sent_by(self, host: int) -> float:
        """Bytes ``host`` has put on the network so far."""
        return self._sent[host]

    def count(self, src: int, links: tuple[int, ...], nbytes: float, busy: dict[int, float] | None = None) -> None:
        """Add a transfer's bytes (and, for transfers not simulated as flows, busy seconds per link)."""
        self._sent[src] += nbytes
        for link in links:
            self._link_bytes[link] += nbytes
        for link, seconds in (busy or {}).items():
            self._link_busy[link] += seconds

    def send(self, src: int, dst: int, nbytes: float, value: Any = None) -> simpy.Event:
        """Start a message of ``nbytes`` from ``src`` to ``dst``.

        Parameters
        ----------
        src, dst : int
            Host indices.
        nbytes : float
            Message size in bytes, at least 0.
        value : object, optional
            What the returned event carries when the message is delivered.

        Returns
        -------
        simpy.Event
            Succeeds with ``value`` when the message has arrived at ``dst``.
        """
        env = self.env
        delivered = Event(env)
        if src == dst:  # a share a node keeps for itself never touches the network
            return delivered.succeed(value)
        if self.messages is not None:
            log, t_send = self.messages, env.now
            delivered.callbacks.append(lambda _: log.append((src, dst, t_send, env.now, float(nbytes))))
        connection = self._connections.get((src, dst))
        if connection is None:
            connection = self._connect(src, dst)
        self.count(src, connection.links, nbytes)
        queue = connection.queue
        if nbytes <= 0 and not queue:  # nothing ahead of it and nothing to carry: latency only
            succeed_after(env, delivered, connection.latency, value)
            return delivered
        self._flows_started += 1
        flow = _Flow(self._flows_started, connection, max(float(nbytes), 0.0), delivered, value)
        queue.append(flow)
        if len(queue) == 1:  # the connection is idle: start now
            self._start_and_rate(flow, env.now)
        return delivered

    def _connect(self, src: int, dst: int) -> _Connection:
        """The connection from ``src`` to ``dst``, opened on its first message."""
        links = self.topology.route(src, dst)
        connection = _Connection(links, self.topology.latency(src, dst), min(self.capacity[link] for link in links))
        reverse = self._connections.get((dst, src)) if self.one_per_pair else None
        if reverse is not None:  # one queue for both directions (see _end for when the next one starts)
            connection.queue = reverse.queue
        self._connections[src, dst] = connection
        return connection

    def _start_and_rate(self, flow: _Flow, now: float) -> None:
        """Start ``flow`` at ``now`` and set rates: directly when it is alone on its links, else by max-min."""
        if self._start(flow, now):
            flow.rate = flow.connection.lone_rate
            self._schedule_completion(flow)
        else:
            self._reshare(flow.links)

    def _start_queued(self, flow: _Flow, _event: simpy.Event) -> None:
        """Start ``flow``, the head of its connection's queue, when ``_event`` fires."""
        self._start_and_rate(flow, self.env.now)

    def _start(self, flow: _Flow, now: float) -> bool:
        """Put ``flow`` on its links at ``now``; True when it is alone on every one of them.

        Rates are set by the caller (a lone flow's is its connection's
        ``lone_rate``; others come from a reshare).
        """
        flow.t_last = now
        alone = True
        for link in flow.links:
            on_link = self._on_link[link]
            if on_link:
                alone = False
            else:
                self._busy_since[link] = now
            on_link[flow] = None
        return alone

    def active_flows(self) -> int:
        """Number of messages still being transmitted (not counting latency)."""
        return len({f for flows in self._on_link for f in flows})

    def _reshare(self, links: Sequence[int]) -> None:
        """Recompute max-min fair rates of every flow connected to ``links``.

        Flows whose last byte leaves at this instant (same-time completions,
        found by their float residue) end first, those queued behind them
        start, and the component is gathered again from every link it held:
        the flows that shared links only with the ended ones are re-rated too.
        """
        now = self.env.now
        while True:
            flows, touched = self._component(links)
            finished = []
            for flow in flows:
                flow.remaining -= flow.rate * (now - flow.t_last)
                flow.t_last = now
                if flow.remaining <= _DONE_RTOL * flow.size:
                    finished.append(flow)
            if not finished:
                break
            links = touched + self._end(finished)
        if not flows:
            return
        rates = _max_min_rates(flows, touched, self.capacity, self._on_link)
        for flow, rate in zip(flows, rates):
            if rate != flow.rate:
                flow.rate = rate
                self._schedule_completion(flow)

    def _component(self, links: Sequence[int]) -> tuple[list[_Flow], list[int]]:
        """Flows (in send order) and links (by index) reachable from ``links`` through shared flows."""
        seen_links = dict.fromkeys(links)
        seen_flows: dict[_Flow, None] = {}
        frontier = list(links)
        while frontier:
            link = frontier.pop()
            for flow in self._on_link[link]:
                if flow in seen_flows:
                    continue
                seen_flows[flow] = None
                for other in flow.links:
                    if other not in seen_links:
                        seen_links[other] = None
                        frontier.append(other)
        return sorted(seen_flows, key=_send_order), sorted(seen_links)

    def _schedule_completion(self, flow: _Flow) -> None:
        """Schedule the end of ``flow`` at its current rate; an earlier timer of it is now void."""
        timer = Event(self.env)
        timer.callbacks.append(self._on_timer)
        flow.timer = timer
        succeed_after(self.env, timer, flow.remaining / flow.rate, flow)

    def _on_timer(self, timer: simpy.Event) -> None:
        flow = cast(_Flow, timer.value)
        if flow.timer is timer:  # otherwise the rate changed and a newer timer exists
            flow.remaining = 0.0
            touched = self._end((flow,))
            if touched:  # re-rate what shared its links and what starts behind it
                self._reshare(touched)

    def _end(self, flows: Sequence[_Flow]) -> list[int]:
        """Take ``flows`` off their links, schedule their deliveries, start what is queued behind them.

        Returns the links whose flows need new rates: those still carrying
        flows and those of the flows just started (no rates are set here).
        """
        env, now, on_link = self.env, self.env.now, self._on_link
        touched: list[int] = []
        for flow in flows:
            flow.timer = None  # voids any pending timer
            for link in flow.links:
                flows_on_link = on_link[link]
                del flows_on_link[flow]
                if flows_on_link:
                    touched.append(link)
                else:
                    self._link_busy[link] += now - self._busy_since[link]
            connection = flow.connection
            succeed_after(env, flow.delivered, connection.latency, flow.value)
            queue = connection.queue
            queue.popleft()
            if queue:
                following = queue[0]
                if following.connection is connection or connection.latency <= 0:
                    self._start(following, now)
                    touched.extend(following.links)
                else:  # the other way over one connection per pair: its sender hears of it once this one has arrived
                    env.timeout(connection.latency).callbacks.append(partial(self._start_queued, following))
        return list(dict.fromkeys(touched))


def _send_order(flow: _Flow) -> int:
    return flow.seq


def _max_min_rates(
    flows: list[_Flow],
    links: list[int],
    capacity: list[float],
    on_link: list[dict[_Flow, None]],
) -> list[float]:
    """Max-min fair rates of ``flows`` by progressive filling over ``links``.

    Repeatedly the link with the smallest fair share (residual capacity over
    its flows whose rate is not yet fixed) fixes those flows at that share;
    their rate is then taken from every other link they cross. Ties go to the
    lowest link index, so the result does not depend on set order.
    """
    residual = {link: capacity[link] for link in links}
    unfixed = {link: len(on_link[link]) for link in links}
    rate: dict[_Flow, float] = {}
    while len(rate) < len(flows):
        bottleneck = min((l for l in links if unfixed[l] > 0), key=lambda l: residual[l] / unfixed[l])
        share = residual[bottleneck] / unfixed[bottleneck]
        for flow in on_link[bottleneck]:
            if flow in rate:
                continue
            rate[flow] = share
            for link in flow.links:
                residual[link] -= share
                unfixed[link] -= 1
    return [rate[flow] for flow in flows]
