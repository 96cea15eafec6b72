"""Physical networks as data: capacitated links, routes and latencies between hosts.

A :class:`Topology` names every link, its bytes per second, the links a
message from one host to another crosses and the latency it pays once.
:func:`star` (full-duplex NICs on one non-blocking switch), :func:`racks`
(oversubscribed top-of-rack switches under a non-blocking core) and
:func:`sites` (data centres joined by wide-area links) and :func:`servers`
(multi-GPU servers: GPUs on a node-local link, one NIC per server) build them and check
their figures; :func:`load_topology` builds one from a TOML file, a shipped
one of :data:`TOPOLOGY_DIR` (:func:`available_topologies`) or any path.
How messages share these links is :mod:`simsgp.sim.flows`.
"""

from __future__ import annotations

import inspect
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np

from simsgp.errors import TopologyError, shown

__all__ = [
    "TOPOLOGY_DIR",
    "Topology",
    "available_topologies",
    "load_topology",
    "racks",
    "servers",
    "sites",
    "star",
    "topology_path",
]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

_PACKAGE = Path(__file__).resolve().parent.parent  # simsgp/
TOPOLOGY_DIR = _PACKAGE / "topologies" if (_PACKAGE / "topologies").is_dir() else _PACKAGE.parent / "topologies"
"""Folder of the shipped physical network descriptions (TOML files).

``simsgp/topologies/`` in an installed wheel; the repository's top-level
``topologies/`` in a source checkout or editable install.
"""


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
    groups : tuple of int
        Each host's rack, site or server (empty: every host on its own), for
        collectives that reduce inside a group first.
    """

    name: str
    n_hosts: int
    capacity: np.ndarray
    route: Callable[[int, int], tuple[int, ...]]
    latency: Callable[[int, int], float]
    link_names: tuple[str, ...] = field(default=())
    groups: tuple[int, ...] = field(default=())


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

    See Also
    --------
    racks : hosts under oversubscribed top-of-rack switches.
    sites : data centres joined by wide-area links.

    Examples
    --------
    >>> topo = star(4, 1.25e9, 20e-6)
    >>> topo.route(0, 3)
    (0, 7)
    >>> float(topo.capacity[7]), topo.latency(0, 3)
    (1250000000.0, 2e-05)
    """
    capacity, names = _host_nics(n_hosts, bandwidth, latency, down_bandwidth=down_bandwidth, efficiency=efficiency)
    alpha = float(latency)
    return Topology(
        name=name,
        n_hosts=n_hosts,
        capacity=capacity,
        route=lambda src, dst: (src, n_hosts + dst),
        latency=lambda src, dst: alpha,
        link_names=names,
    )


def racks(
    n_hosts: int,
    bandwidth: float,
    latency: float,
    *,
    rack_size: int,
    oversubscription: float,
    core_latency: float = 0.0,
    efficiency: float = 1.0,
    name: str = "racks",
) -> Topology:
    """Racks of hosts under top-of-rack (ToR) switches joined by a non-blocking core.

    Hosts ``0 .. rack_size - 1`` sit in rack 0, the next ``rack_size`` in
    rack 1, and so on; the last rack holds what is left. Every host has a
    full-duplex NIC to its ToR switch, numbered as in :func:`star` (uplink
    ``h``, downlink ``n_hosts + h``). Rack ``r`` has an uplink
    ``2 n_hosts + r`` and a downlink ``2 n_hosts + n_racks + r`` to the core,
    each of ``rack_size * bandwidth / oversubscription`` bytes per second,
    a partly filled last rack included (the ToR's ports do not depend on how
    many hosts are plugged in).

    A flow within a rack crosses ``(src.up, dst.down)`` and takes ``latency``;
    across racks it crosses ``(src.up, rack(src).up, rack(dst).down, dst.down)``
    and takes ``latency + core_latency``.

    Parameters
    ----------
    n_hosts : int
        Number of hosts, at least 1.
    bandwidth : float
        Bytes per second of every host NIC, each direction.
    latency : float
        Seconds per message between two hosts of one rack, at least 0.
    rack_size : int
        Hosts per rack, at least 1.
    oversubscription : float
        Host bandwidth of a full rack over its ToR uplink bandwidth, at least 1
        (1 is a non-blocking fabric, 4 a 4:1 ToR).
    core_latency : float, default 0.0
        Seconds a message between racks spends on top of ``latency``.
    efficiency : float, default 1.0
        Fraction of line rate that transfers reach, in (0, 1], on every link.
    name : str, default "racks"
        Name for reports.

    Returns
    -------
    Topology
        Links named ``"h3.up"``, ``"h3.down"``, ``"rack1.up"``, ``"rack1.down"``.

    Raises
    ------
    TopologyError
        A bad figure; the message names it and what is allowed.

    Examples
    --------
    >>> topo = racks(6, 1.25e9, 20e-6, rack_size=4, oversubscription=4.0, core_latency=5e-6)
    >>> topo.route(0, 3), topo.route(0, 5)
    ((0, 9), (0, 12, 15, 11))
    >>> [topo.link_names[link] for link in topo.route(0, 5)]
    ['h0.up', 'rack0.up', 'rack1.down', 'h5.down']
    >>> float(topo.capacity[12]), topo.latency(0, 3), topo.latency(0, 5)
    (1250000000.0, 2e-05, 2.5e-05)
    """
    _check_one_number("bandwidth", bandwidth, "racks expect one number for every host NIC")
    capacity, names = _host_nics(n_hosts, bandwidth, latency, down_bandwidth=None, efficiency=efficiency)
    _check_count("rack_size", rack_size)
    ratio = _real(oversubscription)
    if ratio is None or not 1 <= ratio < math.inf:
        raise TopologyError(f"oversubscription={shown(oversubscription)}; expected a finite number >= 1")
    _check_nonnegative("core_latency", core_latency)
    _check_finite_sum("latency + core_latency", latency, core_latency)
    hosts = _real(rack_size)
    assert hosts is not None  # rack_size is an integer >= 1 (checked above)
    uplink = hosts * float(bandwidth) / ratio
    if not math.isfinite(uplink):
        raise TopologyError(
            f"rack_size={shown(rack_size)}: a rack uplink of rack_size * bandwidth / oversubscription = {uplink} "
            "bytes per second; expected a finite number"
        )
    n_racks = (n_hosts + rack_size - 1) // rack_size
    rack_names = [f"rack{r}" for r in range(n_racks)]
    return _two_level(
        name,
        capacity,
        names,
        group=[h // rack_size for h in range(n_hosts)],
        group_capacity=np.full(n_racks, uplink * efficiency),
        group_links=tuple(f"{r}.up" for r in rack_names) + tuple(f"{r}.down" for r in rack_names),
        pair_latency=latency + core_latency * (1.0 - np.eye(n_racks)),
    )


def sites(
    n_hosts: int,
    bandwidth: float | Sequence[float],
    latency: float,
    *,
    site_latency: Sequence[Sequence[float]],
    wan_bandwidth: float | Sequence[float],
    site_names: Sequence[str] | None = None,
    efficiency: float = 1.0,
    name: str = "sites",
) -> Topology:
    """Sites (data centres) each with a LAN switch, joined by wide-area links.

    The hosts are split into ``len(site_latency)`` sites in blocks, as evenly
    as possible: with ``q, r = divmod(n_hosts, n_sites)`` the first ``r``
    sites hold ``q + 1`` hosts and the others ``q``; hosts ``0 .. size_0 - 1``
    are at site 0, the next ``size_1`` at site 1, and so on (so servers,
    numbered after the workers, sit at the last site). Every host has a
    full-duplex NIC to its site's non-blocking LAN switch, numbered as in
    :func:`star` (uplink ``h``, downlink ``n_hosts + h``). Site ``a`` has a
    WAN uplink ``2 n_hosts + a`` and a WAN downlink
    ``2 n_hosts + n_sites + a`` of ``wan_bandwidth``, into a WAN core that is
    not itself a bottleneck.

    A flow within a site crosses ``(src.up, dst.down)`` and takes ``latency``;
    from site ``a`` to site ``b`` it crosses
    ``(src.up, site(src).wan_up, site(dst).wan_down, dst.down)`` and takes
    ``latency + site_latency[a][b]``.

    Parameters
    ----------
    n_hosts : int
        Number of hosts, at least 1.
    bandwidth : float or sequence of float
        Bytes per second of the host NICs, each direction; one value for all
        hosts or one per host.
    latency : float
        Seconds per message between two hosts of one site, at least 0.
    site_latency : sequence of sequence of float
        Square, symmetric matrix of one-way seconds between sites, zero on the
        diagonal, no entry negative; its size is the number of sites.
    wan_bandwidth : float or sequence of float
        Bytes per second of each site's WAN uplink and downlink; one value
        for all sites or one per site.
    site_names : sequence of str, optional
        Distinct names of the sites for link names; ``"site0"``, ``"site1"``,
        ... by default.
    efficiency : float, default 1.0
        Fraction of line rate that transfers reach, in (0, 1], on every link.
    name : str, default "sites"
        Name for reports.

    Returns
    -------
    Topology
        Links named ``"h3.up"``, ``"h3.down"``, ``"<site>.wan_up"``,
        ``"<site>.wan_down"``.

    Raises
    ------
    TopologyError
        A bad figure; the message names it (and the matrix entry) and what is allowed.

    Examples
    --------
    >>> topo = sites(5, 1.25e9, 20e-6, site_latency=[[0.0, 0.04], [0.04, 0.0]],
    ...              wan_bandwidth=1.25e8, site_names=["us", "eu"])
    >>> [topo.link_names[link] for link in topo.route(0, 4)]
    ['h0.up', 'us.wan_up', 'eu.wan_down', 'h4.down']
    >>> topo.route(0, 2), float(topo.capacity[10]), topo.latency(0, 4)
    ((0, 7), 125000000.0, 0.04002)
    """
    capacity, names = _host_nics(n_hosts, bandwidth, latency, down_bandwidth=None, efficiency=efficiency)
    matrix = _site_latency_matrix(site_latency)
    n_sites = len(matrix)
    _check_finite_sum("latency + the largest site_latency", latency, matrix.max())
    wan = _positive_rates("wan_bandwidth", wan_bandwidth, n_sites, "site")
    if site_names is None:
        site_names = [f"site{a}" for a in range(n_sites)]
    elif (
        not isinstance(site_names, (list, tuple))
        or not all(isinstance(s, str) for s in site_names)
        or len(site_names) != n_sites
        or len(set(site_names)) != n_sites
    ):
        raise TopologyError(
            f"site_names={shown(site_names)}; expected {n_sites} distinct names, one per site_latency row"
        )
    per_site, extra = divmod(n_hosts, n_sites)
    sizes = [per_site + (a < extra) for a in range(n_sites)]
    return _two_level(
        name,
        capacity,
        names,
        group=[a for a, size in enumerate(sizes) for _ in range(size)],
        group_capacity=wan * efficiency,
        group_links=tuple(f"{s}.wan_up" for s in site_names) + tuple(f"{s}.wan_down" for s in site_names),
        pair_latency=latency + matrix,
    )


def servers(
    n_hosts: int,
    bandwidth: float,
    latency: float,
    *,
    gpus_per_node: int,
    gpu_bandwidth: float,
    gpu_latency: float = 0.0,
    efficiency: float = 1.0,
    name: str = "servers",
) -> Topology:
    """Multi-GPU servers: each server's GPUs on a node-local link (NVLink, PCIe), one NIC per server on a non-blocking switch.

    Every host is one GPU (one worker); hosts ``0 .. gpus_per_node - 1`` are
    server 0, and so on (the last server holds what is left). GPU ``h`` has
    a full-duplex link of ``gpu_bandwidth`` to its server's internal switch,
    numbered as in :func:`star` (up ``h``, down ``n_hosts + h``); server
    ``s`` has a NIC of ``bandwidth`` each way, uplink ``2 n_hosts + s`` and
    downlink ``2 n_hosts + n_servers + s``, which all its GPUs' traffic to
    other servers shares. A flow between GPUs of one server crosses
    ``(src.up, dst.down)`` and takes ``gpu_latency``; between servers it
    crosses ``(src.up, server(src).up, server(dst).down, dst.down)`` and takes
    ``latency``.

    Parameters
    ----------
    n_hosts : int
        Number of GPUs (workers, then servers), at least 1.
    bandwidth : float
        Bytes per second of every server NIC, each direction.
    latency : float
        Seconds per message between GPUs of different servers, at least 0.
    gpus_per_node : int
        GPUs per server, at least 1.
    gpu_bandwidth : float
        Bytes per second of every GPU's node-local link, each direction.
    gpu_latency : float, default 0.0
        Seconds per message between GPUs of one server, at least 0.
    efficiency : float, default 1.0
        Fraction of line rate that transfers reach, in (0, 1], on every link.
    name : str, default "servers"
        Name for reports.

    Returns
    -------
    Topology
        Links named ``"h3.up"``, ``"h3.down"`` (GPU links), ``"server1.up"``, ``"server1.down"``.

    Raises
    ------
    TopologyError
        A bad figure; the message names it and what is allowed.

    Examples
    --------
    >>> topo = servers(16, 1.25e9, 20e-6, gpus_per_node=8, gpu_bandwidth=1.5e11, gpu_latency=2e-6)
    >>> [topo.link_names[link] for link in topo.route(0, 9)]
    ['h0.up', 'server0.up', 'server1.down', 'h9.down']
    >>> topo.route(0, 1), topo.latency(0, 1), topo.latency(0, 9), topo.groups[7:9]
    ((0, 17), 2e-06, 2e-05, (0, 1))
    """
    _check_count("gpus_per_node", gpus_per_node)
    for key, value in (("bandwidth", bandwidth), ("gpu_bandwidth", gpu_bandwidth)):
        _check_one_number(key, value, "servers expect one number for every link")
    capacity, names = _host_nics(n_hosts, gpu_bandwidth, gpu_latency, down_bandwidth=None, efficiency=efficiency)
    n_servers = (n_hosts + gpus_per_node - 1) // gpus_per_node
    nic = _positive_rates("bandwidth", bandwidth, n_servers, "server")
    _check_nonnegative("latency", latency)
    server_names = [f"server{s}" for s in range(n_servers)]
    return _two_level(
        name,
        capacity,
        names,
        group=[h // gpus_per_node for h in range(n_hosts)],
        group_capacity=nic * efficiency,
        group_links=tuple(f"{s}.up" for s in server_names) + tuple(f"{s}.down" for s in server_names),
        pair_latency=np.where(np.eye(n_servers, dtype=bool), float(gpu_latency), float(latency)),
    )


def _host_nics(
    n_hosts: int,
    bandwidth: float | Sequence[float],
    latency: float,
    *,
    down_bandwidth: float | Sequence[float] | None,
    efficiency: float,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Check the figures every kind shares; capacities and names of the host NICs (uplinks, then downlinks)."""
    if n_hosts < 1:
        raise TopologyError(f"n_hosts={n_hosts}; expected at least 1")
    up = _positive_rates("bandwidth", bandwidth, n_hosts, "host")
    down = up if down_bandwidth is None else _positive_rates("down_bandwidth", down_bandwidth, n_hosts, "host")
    _check_nonnegative("latency", latency)
    fraction = _real(efficiency)
    if fraction is None or not 0.0 < fraction <= 1.0:
        raise TopologyError(f"efficiency={shown(efficiency)}; expected a fraction in (0, 1]")
    names = tuple(f"h{h}.up" for h in range(n_hosts)) + tuple(f"h{h}.down" for h in range(n_hosts))
    return np.concatenate([up, down]) * efficiency, names


def _two_level(
    name: str,
    host_capacity: np.ndarray,
    host_links: tuple[str, ...],
    *,
    group: list[int],
    group_capacity: np.ndarray,
    group_links: tuple[str, ...],
    pair_latency: np.ndarray,
) -> Topology:
    """Host NICs on per-group switches whose uplink and downlink join a non-blocking core.

    ``group[h]`` is host ``h``'s group, ``group_capacity`` each group link's
    bytes per second, ``group_links`` their names (uplinks, then downlinks)
    and ``pair_latency[a][b]`` the seconds from a host of group ``a`` to one of ``b``.
    """
    n_hosts, n_groups = len(group), len(group_capacity)
    table = pair_latency.tolist()

    def route(src: int, dst: int) -> tuple[int, ...]:
        a, b = group[src], group[dst]
        if a == b:
            return (src, n_hosts + dst)
        return (src, 2 * n_hosts + a, 2 * n_hosts + n_groups + b, n_hosts + dst)

    return Topology(
        name=name,
        n_hosts=n_hosts,
        capacity=np.concatenate([host_capacity, group_capacity, group_capacity]),
        route=route,
        latency=lambda src, dst: table[group[src]][group[dst]],
        link_names=host_links + group_links,
        groups=tuple(group),
    )


def _real(value: object) -> float | None:
    """``value`` as a float if it is a real number (int or float, numpy's too; not a bool), else None.

    An integer too large for a float gives an infinity of its sign.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _reals(value: object, ndim: int) -> np.ndarray | None:
    """``value`` as a float array of ``ndim`` (0, 1 or 2) dimensions if it holds only real numbers, else None.

    Lists and tuples (TOML arrays) are read entry by entry, so ``true``, ``"1"``
    and nested tables are refused instead of being converted.
    """
    if isinstance(value, np.ndarray):
        return value.astype(float) if value.ndim == ndim and value.dtype.kind in "iuf" else None
    if ndim == 0:
        number = _real(value)
        return None if number is None else np.array(number)
    if not isinstance(value, (list, tuple)):
        return None
    if ndim == 1:
        numbers = [_real(v) for v in value]
        return None if None in numbers else np.array(numbers, dtype=float)
    rows = [row for row in (_reals(v, ndim - 1) for v in value) if row is not None]
    if len(rows) < len(value) or len({row.shape for row in rows}) > 1:
        return None
    return np.array(rows, dtype=float) if rows else np.empty((0,) * ndim)


def _positive_rates(what: str, value: float | Sequence[float], count: int, item: str) -> np.ndarray:
    """``value`` as ``count`` positive finite bytes per second, one per ``item``."""
    values = _reals(value, 0)
    if values is None:
        values = _reals(value, 1)
    if values is None or values.shape not in ((), (1,), (count,)):
        expected = f"one number of bytes per second or {count}, one per {item}"
        raise TopologyError(f"{what}={shown(value)}; expected {expected}")
    scalar = values.ndim == 0
    values = np.broadcast_to(values, (count,)).copy()
    bad = ~(np.isfinite(values) & (values > 0))
    if bad.any():
        index = int(np.flatnonzero(bad)[0])
        entry = value if scalar else cast("Sequence[float]", value)[index]  # not scalar: a list, tuple or array
        raise TopologyError(
            f"{what}={shown(entry.item() if isinstance(entry, np.generic) else entry)} for {item} {index}; "
            "expected a positive finite number of bytes per second"
        )
    return values


def _check_one_number(what: str, value: Any, why: str) -> None:
    if isinstance(value, (list, tuple)) or np.ndim(value) != 0:
        raise TopologyError(f"{what}={shown(value)}; {why}")


def _check_count(what: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise TopologyError(f"{what}={shown(value)}; expected an integer >= 1")


def _check_nonnegative(what: str, value: float) -> None:
    """TopologyError unless ``value`` is a finite real number (not a bool) ``>= 0``."""
    number = _real(value)
    if number is None or not (math.isfinite(number) and number >= 0):
        raise TopologyError(f"{what}={shown(value)}; expected a finite number of seconds >= 0")


def _check_finite_sum(what: str, first: float, second: float) -> None:
    """TopologyError if two checked latencies add up to more seconds than a float holds."""
    if not math.isfinite(float(first) + float(second)):
        raise TopologyError(f"{what} = {float(first) + float(second)} seconds; expected a finite number")


def _site_latency_matrix(site_latency: Sequence[Sequence[float]]) -> np.ndarray:
    """``site_latency`` as a checked square, symmetric, nonnegative matrix with zero diagonal."""
    matrix = _reals(site_latency, 2)
    if matrix is None or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise TopologyError(
            f"site_latency={shown(site_latency)}; expected a square matrix of seconds, one row and one column per site"
        )
    negative = np.argwhere(~(np.isfinite(matrix) & (matrix >= 0)))
    if len(negative):
        a, b = negative[0]
        raise TopologyError(f"site_latency[{a}][{b}]={float(matrix[a, b])!r}; expected a number of seconds >= 0")
    loops = np.flatnonzero(np.diag(matrix))
    if len(loops):
        a = loops[0]
        raise TopologyError(f"site_latency[{a}][{a}]={float(matrix[a, a])!r}; expected 0 (a site to itself)")
    asymmetric = np.argwhere(matrix != matrix.T)
    if len(asymmetric):
        a, b = asymmetric[0]
        raise TopologyError(
            f"site_latency[{a}][{b}]={float(matrix[a, b])!r} but site_latency[{b}][{a}]={float(matrix[b, a])!r}; "
            "expected a symmetric matrix"
        )
    return matrix


_KINDS: dict[str, Callable[..., Topology]] = {"star": star, "racks": racks, "sites": sites, "servers": servers}
_LABEL_KEYS = frozenset({"name", "kind", "description", "source"})
"""File keys that describe a topology; every other key is passed to its kind's function by name."""
_FILE_KEYS: dict[str, frozenset[str]] = {
    "star": _LABEL_KEYS | {"bandwidth", "latency", "efficiency"},
    "racks": _LABEL_KEYS | {"bandwidth", "latency", "efficiency", "rack_size", "oversubscription", "core_latency"},
    "sites": _LABEL_KEYS | {"bandwidth", "latency", "efficiency", "site_latency", "wan_bandwidth", "site_names"},
    "servers": _LABEL_KEYS | {"bandwidth", "latency", "efficiency", "gpus_per_node", "gpu_bandwidth", "gpu_latency"},
}
"""Keys a topology file of each kind may hold."""


def available_topologies() -> list[str]:
    """Names of the topology files shipped in ``topologies/``.

    Examples
    --------
    >>> "star-10gbe" in available_topologies()
    True
    """
    return sorted(p.stem for p in TOPOLOGY_DIR.glob("*.toml"))


def topology_path(name_or_path: str | Path) -> Path:
    """The file of a shipped topology name, or ``name_or_path`` itself when it is a ``.toml`` path.

    Examples
    --------
    >>> topology_path("star-10gbe").name, str(topology_path("my/net.toml"))
    ('star-10gbe.toml', 'my/net.toml')
    """
    path = Path(name_or_path)
    return path if path.suffix == ".toml" else TOPOLOGY_DIR / f"{name_or_path}.toml"


def load_topology(
    name_or_path: str | Path,
    n_hosts: int,
    *,
    overrides: Mapping[str, Any] | None = None,
) -> Topology:
    """Build a topology from a shipped name (``"star-10gbe"``) or a TOML file path.

    The file's ``kind`` (``"star"`` by default, ``"racks"`` or ``"sites"``)
    picks the function that builds it (:func:`star`, :func:`racks`,
    :func:`sites`); its other keys are that function's arguments of the
    same name, and ``name``, ``description`` and ``source`` label it.

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
        Unknown name, unreadable file or one that is not UTF-8 text, unknown
        key for the file's kind, missing key or bad value (a bool, string,
        array or table where a number belongs, a number that is not finite or
        out of range); one line naming the file and the key.

    Notes
    -----
    The overrides are host figures: ``bandwidth`` sets the host NICs,
    ``latency`` the host-to-host latency within a rack or site, and
    ``efficiency`` scales every link. What lies beyond the host's switch comes
    from the file: ``core_latency`` and ``oversubscription`` (a ToR uplink
    stays ``rack_size * bandwidth / oversubscription``, so it follows an
    overridden ``bandwidth`` at the file's ratio), ``site_latency`` and
    ``wan_bandwidth``.

    Examples
    --------
    >>> topo = load_topology("star-10gbe", 8, overrides={"latency": 1e-3})
    >>> topo.latency(0, 1)
    0.001
    >>> geo = load_topology("wan-geo", 8, overrides={"bandwidth": 3.125e9})
    >>> [geo.link_names[link] for link in geo.route(0, 7)]
    ['h0.up', 'us-east.wan_up', 'asia.wan_down', 'h7.down']
    >>> float(geo.capacity[0]), float(geo.capacity[16])
    (3125000000.0, 125000000.0)
    """
    spec, path = _read_spec(name_or_path)
    kind = spec.get("kind", "star")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise TopologyError(f"topology file {path}: kind={shown(kind)}; expected one of {sorted(_KINDS)}")
    unknown = sorted(set(spec) - _FILE_KEYS[kind])
    if unknown:
        raise TopologyError(
            f"topology file {path}: unknown key(s) {shown(unknown)} for kind={kind!r}; "
            f"expected keys from {sorted(_FILE_KEYS[kind])}"
        )
    for key in sorted(_LABEL_KEYS & spec.keys()):
        if not isinstance(spec[key], str):
            raise TopologyError(f"topology file {path}: {key}={shown(spec[key])}; expected a string")
    spec.update({k: v for k, v in (overrides or {}).items() if v is not None})
    build = _KINDS[kind]
    arguments = {key: value for key, value in spec.items() if key not in _LABEL_KEYS}
    parameters = inspect.signature(build).parameters
    required = [key for key, p in parameters.items() if p.default is p.empty and key != "n_hosts"]
    missing = [key for key in required if key not in arguments]
    if missing:
        raise TopologyError(f"topology file {path}: missing key {missing[0]!r}; kind={kind!r} needs {required}")
    try:
        return build(n_hosts, name=spec.get("name", path.stem), **arguments)
    except TopologyError as exc:
        raise TopologyError(f"topology file {path}: {exc}") from None


HOST_FIGURES = ("bandwidth", "latency", "efficiency")
"""The figures a scenario's ``network`` table may override (see :func:`load_topology`)."""


def host_figures(name_or_path: str | Path) -> dict[str, float | None]:
    """The host bandwidth, latency and efficiency a topology file gives (its kind's defaults where it is silent).

    A figure that is not one number (a list of per-host bandwidths) is None.

    Examples
    --------
    >>> host_figures("star-10gbe")
    {'bandwidth': 1250000000.0, 'latency': 2e-05, 'efficiency': 1.0}
    """
    spec, _ = _read_spec(name_or_path)
    build = _KINDS.get(spec.get("kind", "star"), star)
    parameters = inspect.signature(build).parameters
    figures: dict[str, float | None] = {}
    for key in HOST_FIGURES:
        default = parameters[key].default if key in parameters else None
        value = spec.get(key, None if default is inspect.Parameter.empty else default)
        figures[key] = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    return figures


SITE_FIGURES = ("wan_bandwidth", "site_latency")
"""The wide-area figures of a ``sites`` topology that a scenario's ``network`` table may override."""


def site_figures(name_or_path: str | Path) -> dict[str, Any]:
    """The ``wan_bandwidth`` and ``site_latency`` of a ``sites`` topology file as written; empty for other kinds.

    Examples
    --------
    >>> figures = site_figures("wan-geo")
    >>> figures["wan_bandwidth"], len(figures["site_latency"]), site_figures("star-10gbe")
    (125000000.0, 4, {})
    """
    spec, _ = _read_spec(name_or_path)
    if spec.get("kind", "star") != "sites":
        return {}
    return {key: spec[key] for key in SITE_FIGURES if key in spec}


def site_overrides(
    name_or_path: str | Path, *, wan_bandwidth: Any = None, site_latency: Any = None
) -> dict[str, Any]:
    """Checked replacements of a ``sites`` topology's WAN figures (``None``: keep the file's).

    ``site_latency`` is one number (every pair of distinct sites; zero from
    a site to itself) or the full matrix; ``wan_bandwidth`` one number or
    one per site. Raises :class:`TopologyError` naming the figure when the
    topology is not of kind ``sites`` or a value does not fit its sites.

    Examples
    --------
    >>> site_overrides("wan-geo", site_latency=0.05)["site_latency"][0]
    [0.0, 0.05, 0.05, 0.05]
    >>> site_overrides("star-10gbe", site_latency=0.05)
    Traceback (most recent call last):
    ...
    simsgp.errors.TopologyError: site_latency=0.05; expected no site_latency: topology 'star-10gbe' is of kind 'star', not 'sites' (such as wan-geo)
    """
    given = {key: value for key, value in (("wan_bandwidth", wan_bandwidth), ("site_latency", site_latency))
             if value is not None}
    if not given:
        return {}
    spec, path = _read_spec(name_or_path)
    kind = spec.get("kind", "star")
    if kind != "sites":
        key, value = next(iter(given.items()))
        raise TopologyError(
            f"{key}={shown(value)}; expected no {key}: topology {path.stem!r} is of kind {kind!r}, not 'sites' (such as wan-geo)"
        )
    n_sites = len(_site_latency_matrix(spec.get("site_latency", [])))
    latency = given.get("site_latency")
    if latency is not None and _real(latency) is not None:
        _check_nonnegative("site_latency", latency)
        given["site_latency"] = [[0.0 if a == b else float(latency) for b in range(n_sites)] for a in range(n_sites)]
    elif latency is not None and len(_site_latency_matrix(latency)) != n_sites:
        raise TopologyError(f"site_latency={shown(latency)}; expected one number or a {n_sites} x {n_sites} matrix")
    if "wan_bandwidth" in given:
        _positive_rates("wan_bandwidth", given["wan_bandwidth"], n_sites, "site")
    return given


def _read_spec(name_or_path: str | Path) -> tuple[dict[str, Any], Path]:
    """The parsed TOML table of a topology name or file, and its path; a one-line TopologyError if unusable.

    The file must be UTF-8 text (a leading byte-order mark is dropped). A path
    the system refuses (too long, no permission, ...), bytes that are not
    UTF-8, nesting too deep for the parser or an integer with more digits
    than Python converts all give a TopologyError, never a traceback.
    """
    path = topology_path(name_or_path)
    try:
        data = path.read_bytes() if path.is_file() else None
    except OSError as exc:
        raise TopologyError(
            f"network.topology={shown(str(name_or_path))}: cannot read the file ({exc.strerror or type(exc).__name__})"
        ) from None
    if data is None:
        raise TopologyError(
            f"network.topology={shown(str(name_or_path))}: no such topology; "
            f"expected one of {available_topologies()} or the path of a .toml file"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TopologyError(
            f"topology file {path} is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})"
        ) from None
    if "\0" in text:
        raise TopologyError(f"topology file {path} is not UTF-8 text (it holds NUL bytes, as UTF-16 text does)")
    try:
        return tomllib.loads(text), path
    except tomllib.TOMLDecodeError as exc:
        raise TopologyError(f"topology file {path} does not parse: {exc}") from None
    except RecursionError:
        raise TopologyError(f"topology file {path} does not parse: arrays or tables are nested too deeply") from None
    except ValueError:  # int() refuses literals beyond sys.get_int_max_str_digits() digits
        raise TopologyError(f"topology file {path} does not parse: an integer has too many digits") from None
