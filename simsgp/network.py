"""Physical network: links with capacity and latency, flows with max-min fair sharing.

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

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from simpy.events import NORMAL

from simsgp.errors import TopologyError

__all__ = [
    "Topology",
    "star",
    "TOPOLOGY_DIR",
    "available_topologies",
    "load_topology",
    "Network",
]

try:  # Python >= 3.11
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib

TOPOLOGY_DIR = Path(__file__).resolve().parent.parent / "topologies"
"""Folder of the shipped physical network descriptions (TOML files)."""


@dataclass(frozen=True)
class Topology:
    """A physical network: capacitated links and the route between every pair of hosts.

    Parameters
    ----------
    name : str
        Name of the topology, for reports.
    n_hosts : int
        Number of hosts (workers, then servers).
    capacity : numpy.ndarray
        Bytes per second of every link, after any efficiency factor.
    route : callable
        ``route(src, dst) -> tuple[int, ...]``: the links a flow from ``src`` to
        ``dst`` crosses.
    latency : callable
        ``latency(src, dst) -> float``: seconds added once per message.
    link_names : tuple of str
        A readable name per link (``"h3.up"``), for reports and errors.
    """

    name: str
    n_hosts: int
    capacity: np.ndarray
    route: Callable[[int, int], tuple[int, ...]]
    latency: Callable[[int, int], float]
    link_names: tuple[str, ...] = field(default=())


def star(
    n_hosts: int,
    bandwidth: float | Sequence[float],
    latency: float,
    *,
    down_bandwidth: float | Sequence[float] | None = None,
    efficiency: float = 1.0,
    name: str = "star",
) -> Topology:
    """Hosts with full-duplex NICs on one non-blocking switch.

    Link ``h`` is host ``h``'s uplink (host to switch) and link ``n_hosts + h``
    its downlink, so a flow from ``s`` to ``d`` crosses ``(s, n_hosts + d)``.

    Parameters
    ----------
    n_hosts : int
        Number of hosts, at least 1.
    bandwidth : float or sequence of float
        Uplink bytes per second, one value for all hosts or one per host.
    latency : float
        Seconds per message, host to host, at least 0.
    down_bandwidth : float or sequence of float, optional
        Downlink bytes per second; defaults to ``bandwidth``.
    efficiency : float, default 1.0
        Fraction of line rate that transfers reach, in (0, 1].
    name : str, default "star"
        Name for reports.

    Returns
    -------
    Topology

    Examples
    --------
    >>> topo = star(4, 1.25e9, 20e-6)
    >>> topo.route(0, 3)
    (0, 7)
    >>> float(topo.capacity[7]), topo.latency(0, 3)
    (1250000000.0, 2e-05)
    """
    if n_hosts < 1:
        raise TopologyError(f"n_hosts={n_hosts}; expected at least 1")
    up = _per_host("bandwidth", bandwidth, n_hosts)
    down = up if down_bandwidth is None else _per_host("down_bandwidth", down_bandwidth, n_hosts)
    _check_nonnegative("latency", latency)
    if not 0.0 < efficiency <= 1.0:
        raise TopologyError(f"efficiency={efficiency!r}; expected a fraction in (0, 1]")
    capacity = np.concatenate([up, down]) * efficiency
    names = tuple(f"h{h}.up" for h in range(n_hosts)) + tuple(f"h{h}.down" for h in range(n_hosts))
    alpha = float(latency)
    return Topology(
        name=name,
        n_hosts=n_hosts,
        capacity=capacity,
        route=lambda src, dst: (src, n_hosts + dst),
        latency=lambda src, dst: alpha,
        link_names=names,
    )


def _per_host(what: str, value: float | Sequence[float], n_hosts: int) -> np.ndarray:
    values = np.broadcast_to(np.asarray(value, dtype=float), (n_hosts,)).copy()
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        host = int(np.flatnonzero(bad)[0])
        raise TopologyError(f"{what}={values[host]!r} for host {host}; expected a positive number of bytes per second")
    return values


def _check_nonnegative(what: str, value: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise TopologyError(f"{what}={value!r}; expected a number of seconds >= 0")


_KINDS: dict[str, Callable[..., Topology]] = {"star": star}
_FILE_KEYS = {"name", "kind", "description", "source", "bandwidth", "latency", "efficiency"}


def available_topologies() -> list[str]:
    """Names of the topology files shipped in ``topologies/``.

    Examples
    --------
    >>> "star-10gbe" in available_topologies()
    True
    """
    return sorted(p.stem for p in TOPOLOGY_DIR.glob("*.toml"))


def load_topology(
    name_or_path: str | Path,
    n_hosts: int,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Topology:
    """Build a topology from a shipped name (``"star-10gbe"``) or a TOML file path.

    Parameters
    ----------
    name_or_path : str or Path
        A name from :func:`available_topologies` or the path of a TOML file.
    n_hosts : int
        Number of hosts to place on it.
    overrides : mapping, optional
        Values that replace the file's (``bandwidth``, ``latency``,
        ``efficiency``); ``None`` values are ignored.

    Returns
    -------
    Topology

    Raises
    ------
    TopologyError
        Unknown name, unreadable file, unknown key or bad value.

    Examples
    --------
    >>> topo = load_topology("star-10gbe", 8, overrides={"latency": 1e-3})
    >>> topo.latency(0, 1)
    0.001
    """
    path = Path(name_or_path)
    if path.suffix != ".toml":
        path = TOPOLOGY_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise TopologyError(
            f"network.topology={str(name_or_path)!r}: no such topology; "
            f"expected one of {available_topologies()} or the path of a .toml file"
        )
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"topology file {path} does not parse: {exc}") from None
    unknown = sorted(set(spec) - _FILE_KEYS)
    if unknown:
        raise TopologyError(f"topology file {path}: unknown key(s) {unknown}; expected keys from {sorted(_FILE_KEYS)}")
    spec.update({k: v for k, v in (overrides or {}).items() if v is not None})
    kind = spec.get("kind", "star")
    if kind not in _KINDS:
        raise TopologyError(f"topology file {path}: kind={kind!r}; expected one of {sorted(_KINDS)}")
    try:
        return _KINDS[kind](
            n_hosts,
            spec["bandwidth"],
            spec["latency"],
            efficiency=spec.get("efficiency", 1.0),
            name=spec.get("name", path.stem),
        )
    except KeyError as exc:
        raise TopologyError(f"topology file {path}: missing key {exc.args[0]!r}") from None


class _Flow:
    """One message in transit; mutable bookkeeping owned by :class:`Network`."""

    __slots__ = ("seq", "src", "dst", "size", "links", "remaining", "rate", "t_last", "version", "delivered", "value")

    def __init__(self, seq: int, src: int, dst: int, size: float, links: tuple[int, ...], now: float, delivered, value):
        self.seq = seq
        self.src = src
        self.dst = dst
        self.size = size
        self.links = links
        self.remaining = size
        self.rate = 0.0
        self.t_last = now
        self.version = 0
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

    Attributes
    ----------
    bytes_sent : numpy.ndarray
        Bytes each host has put on the network so far.
    link_bytes : numpy.ndarray
        Bytes that have entered each link so far.
    messages : list of tuple or None
        With ``record_messages``: ``(src, dst, t_send, t_delivered, nbytes)``
        of every delivered message, in delivery order.
    link_busy : numpy.ndarray
        Seconds each link has carried at least one flow (up to the last
        time a flow on it ended); a host's uplink busy time is the time it
        spent sending.

    Examples
    --------
    >>> env = simpy.Environment()
    >>> net = Network(env, star(2, bandwidth=100.0, latency=0.5))
    >>> done = net.send(0, 1, 200.0, value="hello")
    >>> env.run()
    >>> env.now, done.value
    (2.5, 'hello')
    """

    def __init__(self, env: simpy.Environment, topology: Topology, *, record_messages: bool = False):
        self.env = env
        self.messages: list[tuple[int, int, float, float, float]] | None = [] if record_messages else None
        self.topology = topology
        self.capacity = [float(c) for c in topology.capacity]
        self.bytes_sent = np.zeros(topology.n_hosts)
        self.link_bytes = np.zeros(len(self.capacity))
        self.link_busy = np.zeros(len(self.capacity))
        self._on_link: list[dict[_Flow, None]] = [{} for _ in self.capacity]
        self._busy_since = [0.0] * len(self.capacity)
        self._flows_started = 0
        self._connections: dict[tuple[int, int], deque[_Flow]] = {}

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
        delivered = env.event()
        if src == dst:  # a share a node keeps for itself never touches the network
            return delivered.succeed(value)
        self.bytes_sent[src] += nbytes
        if self.messages is not None:
            log, t_send = self.messages, env.now
            delivered.callbacks.append(lambda _: log.append((src, dst, t_send, env.now, float(nbytes))))
        latency = self.topology.latency(src, dst)
        if nbytes <= 0:
            _succeed_after(env, delivered, latency, value)
            return delivered
        links = self.topology.route(src, dst)
        self.link_bytes[list(links)] += nbytes
        self._flows_started += 1
        flow = _Flow(self._flows_started, src, dst, float(nbytes), links, env.now, delivered, value)
        queue = self._connections.setdefault((src, dst), deque())
        queue.append(flow)
        if len(queue) == 1:  # the connection is idle: start now
            self._start(flow)
            self._reshare(links)
        return delivered

    def _start(self, flow: _Flow) -> None:
        """Put ``flow`` on its links (rates are set by the caller's reshare)."""
        now = self.env.now
        flow.t_last = now
        for link in flow.links:
            on_link = self._on_link[link]
            if not on_link:
                self._busy_since[link] = now
            on_link[flow] = None

    def active_flows(self) -> int:
        """Number of messages still being transmitted (not counting latency)."""
        return len({f for flows in self._on_link for f in flows})

    def _reshare(self, links: tuple[int, ...]) -> None:
        """Recompute max-min fair rates of every flow connected to ``links``."""
        flows, touched = self._component(links)
        if not flows:
            return
        now = self.env.now
        finished = []
        for flow in flows:
            flow.remaining -= flow.rate * (now - flow.t_last)
            flow.t_last = now
            if flow.rate > 0 and flow.remaining <= _DONE_RTOL * flow.size:
                finished.append(flow)
        if finished:
            # Flows whose last byte left just now (same-time completions): end
            # them together so the survivors are re-rated once.
            self._finish(finished)
            return
        rates = _max_min_rates(flows, touched, self.capacity, self._on_link)
        for flow, rate in zip(flows, rates):
            if rate != flow.rate:
                flow.rate = rate
                flow.version += 1
                self._schedule_completion(flow)

    def _component(self, links: tuple[int, ...]) -> tuple[list[_Flow], list[int]]:
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
        version = flow.version
        timer = self.env.timeout(flow.remaining / flow.rate)
        timer.callbacks.append(lambda _event: self._on_timer(flow, version))

    def _on_timer(self, flow: _Flow, version: int) -> None:
        if flow.version == version:  # otherwise the rate changed and a newer timer exists
            flow.remaining = 0.0
            self._finish([flow])

    def _finish(self, flows: list[_Flow]) -> None:
        """End the transfer of ``flows``, start what waits behind them, re-rate once."""
        now = self.env.now
        touched: dict[int, None] = {}
        for flow in flows:
            flow.version += 1  # cancels any pending timer
            for link in flow.links:
                on_link = self._on_link[link]
                del on_link[flow]
                if not on_link:
                    self.link_busy[link] += now - self._busy_since[link]
                touched[link] = None
            _succeed_after(self.env, flow.delivered, self.topology.latency(flow.src, flow.dst), flow.value)
            queue = self._connections[flow.src, flow.dst]
            queue.popleft()
            if queue:
                self._start(queue[0])
                touched.update(dict.fromkeys(queue[0].links))
        self._reshare(tuple(touched))


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


def _succeed_after(env: simpy.Environment, event: simpy.Event, delay: float, value: Any) -> None:
    """Trigger an existing ``event`` with ``value`` after ``delay`` seconds.

    This is what :class:`simpy.Timeout` does in its constructor, applied to an
    event handed out earlier; it costs one scheduled event.
    """
    event._ok = True
    event._value = value
    env.schedule(event, NORMAL, delay)
