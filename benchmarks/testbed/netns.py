"""Emulated star cluster in Linux network namespaces: N hosts, one switch, a tbf-shaped full-duplex NIC each.

:class:`Testbed` builds, as root,

- one namespace per host, ``simsgp-tb-h0`` .. ``simsgp-tb-h{N-1}``, holding loopback and
  ``eth0`` with address ``10.213.0.{i+1}/24`` (no default route: nothing leaves the testbed);
- one switch namespace ``simsgp-tb-sw`` holding a Linux bridge ``br0`` and the other end
  ``p{i}`` of every host's veth pair;
- a shaper of rate ``R`` on *both* ends of every veth pair: the host-side egress is the
  host's uplink, the bridge-side egress its downlink. Each host so has a full-duplex NIC of
  rate ``R`` on a non-blocking switch, which is what simsgp's ``star`` topology models. The
  downlink (a switch port) is a ``tbf`` with a FIFO behind it. The uplink is by default
  ``htb`` with one class per destination host sharing ``R`` round-robin: a host's own
  queue in front of its NIC is fair between flows on real Linux hosts (``fq_codel``, the
  default qdisc of current distributions, or ``fq``), which this kernel does not have.

Everything is removed on exit, after errors, on SIGINT / SIGTERM (signal handlers) and at
interpreter exit (atexit); leftovers of a crashed run are removed when a testbed starts.

>>> Testbed.PREFIX
'simsgp-tb-'
"""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from types import FrameType, TracebackType
from typing import Any, ClassVar

__all__ = ["Testbed", "TestbedUnavailable", "cleanup_leftovers", "list_namespaces"]

SUBNET = "10.213.0"
"""The /24 the testbed uses (addresses exist only inside its namespaces)."""
LOCK = "/run/simsgp-testbed.lock"
"""One testbed at a time on a machine (a new one removes the namespaces of any other)."""


class TestbedUnavailable(RuntimeError):
    """The testbed cannot be built here (not root, no ``ip netns``, no ``tc``): a reason to skip."""

    __test__ = False  # not a pytest test class


def _run(cmd: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def list_namespaces(prefix: str = "simsgp-tb-") -> list[str]:
    """Names of the network namespaces starting with ``prefix`` (``ip netns list``)."""
    proc = _run(["ip", "netns", "list"], check=False)
    names = [line.split()[0] for line in proc.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(prefix)]


def _kill_namespace_processes(ns: str) -> None:
    proc = _run(["ip", "netns", "pids", ns], check=False)
    for pid in proc.stdout.split():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def cleanup_leftovers(prefix: str = "simsgp-tb-") -> list[str]:
    """Kill the processes in and delete every namespace whose name starts with ``prefix``; return their names."""
    names = list_namespaces(prefix)
    for ns in names:
        _kill_namespace_processes(ns)
        _run(["ip", "netns", "delete", ns], check=False)
    return names


def check_available() -> None:
    """Raise :class:`TestbedUnavailable` with the reason when namespaces cannot be made here."""
    if os.name != "posix" or not hasattr(os, "geteuid"):
        raise TestbedUnavailable("the testbed needs Linux network namespaces")
    if os.geteuid() != 0:
        raise TestbedUnavailable("the testbed needs root (ip netns, tc): run it with sudo")
    for tool in ("ip", "tc"):
        if shutil.which(tool) is None:
            raise TestbedUnavailable(f"the testbed needs the {tool!r} command (iproute2)")
    probe = "simsgp-tb-probe"
    _run(["ip", "netns", "delete", probe], check=False)
    proc = _run(["ip", "netns", "add", probe], check=False)
    if proc.returncode != 0:
        raise TestbedUnavailable(f"'ip netns add' fails here: {proc.stderr.strip()}")
    try:
        proc = _run(["ip", "netns", "exec", probe, "tc", "qdisc", "add", "dev", "lo", "root", "tbf",
                     "rate", "1mbit", "burst", "32kb", "latency", "50ms"], check=False)
        if proc.returncode != 0:
            raise TestbedUnavailable(f"'tc qdisc ... tbf' fails here: {proc.stderr.strip()}")
    finally:
        _run(["ip", "netns", "delete", probe], check=False)


class Testbed:
    """A star of ``hosts`` network namespaces on one bridge, every NIC shaped to ``rate_bps`` each way.

    Parameters
    ----------
    hosts
        Number of host namespaces (``simsgp-tb-h0`` ..).
    rate_bps
        Line rate of every host NIC, bits per second, each direction (a ``tbf`` on both veth ends).
    burst_bytes
        ``tbf`` bucket size (48 KiB by default). It must hold a whole GSO packet, else tbf
        splits it into MTU-sized packets, which costs CPU per packet on every hop.
    gso_max_bytes
        ``gso_max_size`` of both veth ends (32 KiB by default; the kernel's is 64 KiB): TCP
        hands the shaper super-packets of at most this size, so the bucket can stay small
        (a full bucket is sent at once after an idle spell: ``burst / rate`` of free time)
        while the packet rate, and so the CPU load, stays low.
    queue_s
        Depth of the FIFO behind every shaper, seconds at ``rate_bps`` (``tbf``'s ``latency``
        with ``child_qdisc="fifo"``; a ``bfifo`` per destination in a fair uplink).
    uplink
        The host's own egress queue: ``"fair"`` (default: an ``htb`` class and FIFO per
        destination host, served round-robin in quanta of one GSO packet, as ``fq_codel``
        serves flows) or ``"fifo"`` (one ``tbf`` FIFO for all, like the downlink).
    child_qdisc
        The queue behind the shaper: ``"fifo"`` (default: tbf's own byte FIFO of ``queue_s``)
        or a ``tc`` qdisc spec such as ``"fq_codel"`` where the kernel has it (this one has
        only the FIFOs, htb and tbf).
    ecn
        ``net.ipv4.tcp_ecn`` in the host namespaces (None: the kernel's default).
    slow_start_after_idle
        Value of ``net.ipv4.tcp_slow_start_after_idle`` in every host namespace. The kernel
        default (1, kept here) shrinks a connection's congestion window back to its initial 10
        segments after an idle RTO; 0 keeps the window, as a fluid model assumes.
    congestion_control
        ``net.ipv4.tcp_congestion_control`` in the host namespaces (None: inherit).

    Examples
    --------
    ::

        with Testbed(4, 100e6) as tb:
            tb.exec(0, ["ip", "addr"])
    """

    __test__ = False  # not a pytest test class
    PREFIX = "simsgp-tb-"
    _live: ClassVar[list[Testbed]] = []
    _handlers_installed = False

    def __init__(
        self,
        hosts: int,
        rate_bps: float,
        burst_bytes: int = 48 * 1024,
        gso_max_bytes: int = 32 * 1024,
        queue_s: float = 0.02,
        child_qdisc: str = "fifo",
        uplink: str = "fair",
        ecn: int | None = None,
        slow_start_after_idle: int = 1,
        congestion_control: str | None = None,
    ) -> None:
        if hosts < 1 or hosts > 250:
            raise ValueError(f"hosts must be 1 .. 250, not {hosts}")
        self.hosts = hosts
        self.rate_bps = float(rate_bps)
        self.burst_bytes = int(burst_bytes)
        self.gso_max_bytes = int(gso_max_bytes)
        if self.burst_bytes < self.gso_max_bytes + 2048:
            raise ValueError(f"burst_bytes {burst_bytes} must exceed gso_max_bytes {gso_max_bytes} (+ headers)")
        self.queue_s = float(queue_s)
        self.child_qdisc = child_qdisc
        if uplink not in ("fair", "fifo"):
            raise ValueError(f"uplink must be 'fair' or 'fifo', not {uplink!r}")
        self.uplink = uplink
        self.ecn = ecn
        self.slow_start_after_idle = int(slow_start_after_idle)
        self.congestion_control = congestion_control
        self.switch = f"{self.PREFIX}sw"
        self._built = False
        self._lock_fd: int | None = None

    # names -----------------------------------------------------------------------------
    def ns(self, i: int) -> str:
        """Namespace name of host ``i``."""
        return f"{self.PREFIX}h{i}"

    def address(self, i: int) -> str:
        """IPv4 address of host ``i`` (``10.213.0.{i+1}``)."""
        return f"{SUBNET}.{i + 1}"

    @property
    def namespaces(self) -> list[str]:
        """Every namespace of this testbed, hosts first, switch last."""
        return [self.ns(i) for i in range(self.hosts)] + [self.switch]

    def exec_prefix(self, i: int) -> list[str]:
        """The command prefix that runs a program inside host ``i``'s namespace."""
        return ["ip", "netns", "exec", self.ns(i)]

    def exec(self, i: int, cmd: Sequence[str], check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run ``cmd`` inside host ``i``'s namespace and wait for it."""
        return _run(self.exec_prefix(i) + list(cmd), check=check)

    # build -----------------------------------------------------------------------------
    def _tbf(self, ns: str, dev: str, rate_bps: float) -> None:
        shaper = ["tbf", "rate", f"{int(rate_bps)}bit", "burst", str(self.burst_bytes),
                  "latency", f"{int(self.queue_s * 1e6)}us"]
        tc = ["ip", "netns", "exec", ns, "tc", "qdisc"]
        _run([*tc, "del", "dev", dev, "root"], check=False)
        _run([*tc, "add", "dev", dev, "root", "handle", "1:", *shaper])
        if self.child_qdisc != "fifo":
            _run([*tc, "add", "dev", dev, "parent", "1:1", "handle", "10:", *self.child_qdisc.split()])

    def _fair(self, i: int, rate_bps: float) -> None:
        """Host ``i``'s uplink: ``htb`` at ``rate_bps``, one class + ``bfifo`` per other host, round-robin between them.

        Each class is guaranteed an equal part of the rate and may borrow all of it, so
        backlogged classes share the NIC equally and a lone one gets all of it; class
        ``1:2`` takes what is not IPv4 to another host (ARP).
        """
        rate, burst = f"{int(rate_bps)}bit", str(self.burst_bytes)
        others = [j for j in range(self.hosts) if j != i]
        share = f"{max(int(rate_bps / (len(others) + 1)), 8000)}bit"
        leaf = ["htb", "rate", share, "ceil", rate, "burst", burst, "cburst", burst,
                "quantum", str(self.gso_max_bytes + 2048)]
        limit = str(max(int(self.queue_s * rate_bps / 8), 2 * self.burst_bytes))
        lines = ["qdisc add dev eth0 root handle 1: htb default 2",
                 f"class add dev eth0 parent 1: classid 1:1 htb rate {rate} ceil {rate} burst {burst} cburst {burst}"]
        for minor in [2] + [10 + j for j in others]:
            lines += [f"class add dev eth0 parent 1:1 classid 1:{minor:x} {' '.join(leaf)}",
                      f"qdisc add dev eth0 parent 1:{minor:x} handle {minor:x}: bfifo limit {limit}"]
        lines += [f"filter add dev eth0 parent 1: protocol ip prio 1 u32 match ip dst {self.address(j)}/32 "
                  f"flowid 1:{10 + j:x}" for j in others]
        self.exec(i, ["tc", "qdisc", "del", "dev", "eth0", "root"], check=False)
        proc = subprocess.run([*self.exec_prefix(i), "tc", "-batch", "-"], input="\n".join(lines),
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            why = " ".join(proc.stderr.split())[:300]
            raise TestbedUnavailable(f"a fair uplink needs htb and the u32 classifier (else uplink='fifo'): {why}")

    def set_rate(self, rate_bps: float) -> None:
        """Reshape every NIC, both directions, to ``rate_bps`` bits per second (the namespaces stay)."""
        self.rate_bps = float(rate_bps)
        for i in range(self.hosts):
            if self.uplink == "fair":
                self._fair(i, rate_bps)
            else:
                self._tbf(self.ns(i), "eth0", rate_bps)
            self._tbf(self.switch, f"p{i}", rate_bps)

    def _sysctl(self, ns: str, key: str, value: Any) -> None:
        _run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{key}={value}"])

    def build(self) -> None:
        """Create the namespaces, bridge, veth pairs, addresses and shapers (after removing leftovers)."""
        check_available()
        self._lock(timeout=900)
        cleanup_leftovers(self.PREFIX)
        self._register()
        self._built = True
        sw = self.switch
        _run(["ip", "netns", "add", sw])
        _run(["ip", "-n", sw, "link", "set", "lo", "up"])
        _run(["ip", "-n", sw, "link", "add", "br0", "type", "bridge", "stp_state", "0", "forward_delay", "0"])
        _run(["ip", "-n", sw, "link", "set", "br0", "up"])
        for i in range(self.hosts):
            h = self.ns(i)
            _run(["ip", "netns", "add", h])
            _run(["ip", "-n", h, "link", "set", "lo", "up"])
            _run(["ip", "-n", h, "link", "add", "eth0", "type", "veth", "peer", "name", f"p{i}", "netns", sw])
            for ns, dev in ((h, "eth0"), (sw, f"p{i}")):
                _run(["ip", "-n", ns, "link", "set", "dev", dev, "gso_max_size", str(self.gso_max_bytes)])
            _run(["ip", "-n", sw, "link", "set", f"p{i}", "master", "br0"])
            _run(["ip", "-n", sw, "link", "set", f"p{i}", "up"])
            _run(["ip", "-n", h, "addr", "add", f"{self.address(i)}/24", "dev", "eth0"])
            _run(["ip", "-n", h, "link", "set", "eth0", "up"])
            self._sysctl(h, "net.ipv4.tcp_slow_start_after_idle", self.slow_start_after_idle)
            if self.ecn is not None:
                self._sysctl(h, "net.ipv4.tcp_ecn", self.ecn)
            if self.congestion_control:
                self._sysctl(h, "net.ipv4.tcp_congestion_control", self.congestion_control)
        self.set_rate(self.rate_bps)
        self._check_isolated()

    def _lock(self, timeout: float) -> None:
        self._lock_fd = os.open(LOCK, os.O_CREAT | os.O_RDWR, 0o600)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self._lock_fd)
                    self._lock_fd = None
                    raise TestbedUnavailable(f"another testbed holds {LOCK} for more than {timeout:.0f} s") from None
                time.sleep(0.5)

    def _check_isolated(self) -> None:
        for i in range(self.hosts):
            routes = _run(["ip", "-n", self.ns(i), "route", "show"]).stdout
            if "default" in routes:
                raise RuntimeError(f"{self.ns(i)} has a default route: {routes.strip()}")

    def qdisc_stats(self) -> dict[str, dict[str, int]]:
        """Bytes, packets and drops sent through each shaper: ``{"h0.up": {...}, "h0.down": {...}}``."""
        out: dict[str, dict[str, int]] = {}
        for i in range(self.hosts):
            for name, ns, dev in ((f"h{i}.up", self.ns(i), "eth0"), (f"h{i}.down", self.switch, f"p{i}")):
                text = _run(["ip", "netns", "exec", ns, "tc", "-s", "qdisc", "show", "dev", dev]).stdout
                words = text.replace(",", " ").replace("(", " ").replace(")", " ").split()
                stats = {"bytes": 0, "packets": 0, "dropped": 0}
                for k, w in enumerate(words[:-1]):
                    if w == "Sent" and words[k + 1].isdigit():
                        stats["bytes"] = int(words[k + 1])
                        stats["packets"] = int(words[k + 3])
                    if w == "dropped" and words[k + 1].isdigit():
                        stats["dropped"] = int(words[k + 1])
                        break
                out[name] = stats
        return out

    # teardown --------------------------------------------------------------------------
    def destroy(self) -> None:
        """Kill what runs in the namespaces and delete them (idempotent)."""
        if not self._built:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
            return
        for ns in self.namespaces:
            _kill_namespace_processes(ns)
        for ns in self.namespaces:
            _run(["ip", "netns", "delete", ns], check=False)
        self._built = False
        if self in Testbed._live:
            Testbed._live.remove(self)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def _register(self) -> None:
        Testbed._live.append(self)
        if Testbed._handlers_installed:
            return
        Testbed._handlers_installed = True
        atexit.register(Testbed._destroy_all)
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)

            def handler(signum: int, frame: FrameType | None, previous: Any = previous) -> None:
                Testbed._destroy_all()
                if callable(previous) and previous not in (signal.SIG_IGN, signal.SIG_DFL):
                    previous(signum, frame)
                elif signum == signal.SIGINT:
                    raise KeyboardInterrupt
                else:
                    raise SystemExit(128 + signum)

            try:
                signal.signal(sig, handler)
            except ValueError:  # not the main thread: atexit and finally still clean up
                pass

    @staticmethod
    def _destroy_all() -> None:
        for tb in list(Testbed._live):
            tb.destroy()

    def __enter__(self) -> Testbed:  # noqa: PYI034 (typing.Self needs Python 3.11)
        try:
            self.build()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.destroy()
