"""Validate simsgp's timing predictions against real TCP on an emulated star cluster (run as root).

For every node count N and NIC rate R it

1. builds N + 1 host namespaces on one bridge, each NIC shaped to R both ways (:mod:`.netns`);
2. measures the single-flow latency and bandwidth with ``simsgp.probe``'s ping-pong between
   hosts 0 and 1 and fits ``seconds = alpha + bytes / B`` (:func:`simsgp.probe.fit_alpha_beta`);
3. runs the workloads (:mod:`.worker`: SGP, ring allreduce by isend/recv, gloo's
   ``all_reduce``, parameter server, D-PSGD, SGP with node 0 three times slower) with one
   gloo process per host, compute emulated by ``time.sleep``;
4. runs simsgp (timing only) with ``network.bandwidth = B``, ``network.latency = alpha`` and
   the same compute, payload and iterations, and prints measured against predicted seconds per
   iteration.

Seconds per iteration, measured and predicted alike, are the steady-state pace of the slowest
worker: (end of the last iteration - end of the last warm-up iteration) / timed iterations,
the end of an iteration being when the last worker finishes it (simsgp: ``sim_time`` of a run
with warm-up + timed iterations minus that of a run with the warm-up only). The testbed's conditions
(reno, a 20 ms FIFO, 32 KiB GSO, a fair queue in every host, one gloo group per direction) and why: README.md.

Usage (root; from the repository root)::

    sudo .venv/bin/python -m benchmarks.testbed                      # N = 4, 8; 100 and 400 Mbit/s
    sudo .venv/bin/python -m benchmarks.testbed --nodes 4 --rates 100 --workloads sgp,gloo --iterations 4
    sudo .venv/bin/python -m benchmarks.testbed --json results.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: benchmarks/testbed/run.py
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks.testbed.netns import Testbed, TestbedUnavailable, cleanup_leftovers
else:
    from .netns import Testbed, TestbedUnavailable, cleanup_leftovers

__all__ = ["WORKLOADS", "Row", "main", "measure_link", "predict", "run_config"]

WORKER = Path(__file__).resolve().with_name("worker.py")
REPO = Path(__file__).resolve().parents[2]

WORKLOADS: dict[str, dict[str, Any]] = {
    # name: worker kind, simsgp settings; optional: slow nodes, a fixed M, split (default True: one connection per direction)
    "sgp": {"kind": "sgp", "sets": ["algorithm.name=sgp"]},
    "ring": {"kind": "ring", "sets": ["algorithm.name=allreduce", "algorithm.collective=ring"]},
    "gloo": {"kind": "gloo", "sets": ["algorithm.name=allreduce", "algorithm.collective=ring"]},
    "ps": {"kind": "ps", "sets": ["algorithm.name=ps-sync", "algorithm.servers=1"]},
    "dpsgd": {"kind": "dpsgd", "sets": ["algorithm.name=dpsgd"]},
    "sgp-slow": {"kind": "sgp", "sets": ["algorithm.name=sgp"], "slow": {"0": 3.0}},
    # SGP on gloo's own connections (one TCP connection per pair, both directions: README, finding 1)
    "sgp-1conn": {"kind": "sgp", "sets": ["algorithm.name=sgp", "network.connections=one-per-pair"], "split": False},
    # the parameter server with 1 MB messages (README, finding 3)
    "ps-short": {"kind": "ps", "sets": ["algorithm.name=ps-sync", "algorithm.servers=1"], "payload": 1e6},
}
"""The workloads and the simsgp scenario each is compared with (``payload``: a fixed M, else ``--payload``)."""


@dataclass
class Row:
    """One line of the table."""

    workload: str
    nodes: int
    rate_mbit: float
    measured: float
    predicted: float
    payload: float
    cpu_busy: float
    cpu_workers: float
    alpha: float
    bandwidth: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def error(self) -> float:
        """Relative error of the prediction, (predicted - measured) / measured."""
        return (self.predicted - self.measured) / self.measured


class _CpuSampler(threading.Thread):
    """Samples CPU time every 0.1 s: the whole machine's (/proc/stat) and the tracked worker processes'.

    The machine may be shared, so the workers' own share (their user + system time over
    wall time and cores) is what tells whether the testbed itself is CPU-bound.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[tuple[float, int, int, int]] = []
        self.pids: list[int] = []
        self._halt = threading.Event()
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._cpus = os.cpu_count() or 1

    @staticmethod
    def _machine() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            values = [int(v) for v in fh.readline().split()[1:]]
        idle = values[3] + values[4]
        return sum(values) - idle, sum(values)

    def _workers(self) -> int:
        total = 0
        for pid in list(self.pids):
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                pass
        return total

    def run(self) -> None:
        while not self._halt.is_set():
            busy, total = self._machine()
            self.samples.append((time.time(), busy, total, self._workers()))
            self._halt.wait(0.1)

    def stop(self) -> None:
        """Stop sampling."""
        self._halt.set()
        self.join()

    def busy(self, start: float, end: float) -> tuple[float, float]:
        """(machine busy fraction, workers' busy fraction) of all cores between wall-clock ``start`` and ``end``."""
        inside = [s for s in self.samples if start <= s[0] <= end]
        if len(inside) < 2:
            return float("nan"), float("nan")
        first, last = inside[0], inside[-1]
        machine = (last[1] - first[1]) / max(last[2] - first[2], 1)
        workers = (last[3] - first[3]) / self._ticks / ((last[0] - first[0]) * self._cpus)
        return machine, max(workers, 0.0)


def _launch(tb: Testbed, ranks: Sequence[int], argv_of: Any, timeout: float, env: dict[str, str],
            sampler: _CpuSampler | None = None) -> None:
    procs: list[subprocess.Popen[bytes]] = []
    with contextlib.ExitStack() as stack:
        logs = [stack.enter_context(tempfile.TemporaryFile(mode="w+")) for _ in ranks]
        try:
            for r, log in zip(ranks, logs):
                procs.append(subprocess.Popen(tb.exec_prefix(r) + argv_of(r), stdout=log, stderr=subprocess.STDOUT,
                                              env=env, cwd=REPO))
            if sampler is not None:
                sampler.pids = [p.pid for p in procs]  # ip netns exec execs the program: the same pid
            deadline = time.time() + timeout
            for k, (r, p) in enumerate(zip(ranks, procs)):
                try:
                    rc = p.wait(timeout=max(deadline - time.time(), 0.1))
                except subprocess.TimeoutExpired:
                    raise RuntimeError(f"testbed rank {r} did not finish within {timeout:.0f} s") from None
                if rc != 0:
                    logs[k].seek(0)
                    raise RuntimeError(f"testbed rank {r} failed ({rc}):\n{logs[k].read()[-2000:]}")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()


_PORT = [29500]


def _port() -> int:
    _PORT[0] += 1
    return _PORT[0]


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_", "LOCAL_"))}
    env.update(OMP_NUM_THREADS="1", GLOO_SOCKET_IFNAME="eth0", LOCAL_WORLD_SIZE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def measure_link(tb: Testbed, sizes: Sequence[float], repeats: int, workdir: Path) -> dict[str, Any]:
    """``simsgp.probe``'s p2p between hosts 0 and 1; returns the file's document plus the fitted alpha and B."""
    from simsgp.probe import fit_alpha_beta

    out = workdir / "probe.json"
    port = _port()

    def argv(r: int) -> list[str]:
        return ["env", f"RANK={r}", "WORLD_SIZE=2", f"MASTER_ADDR={tb.address(0)}", f"MASTER_PORT={port}",
                sys.executable, "-m", "simsgp.probe", "--skip", "compute,allreduce",
                "--sizes", ",".join(f"{s:g}" for s in sizes), "--repeats", str(repeats), "--warmup", "2",
                "--out", str(out)]

    _launch(tb, [0, 1], argv, timeout=300, env=_env())
    doc = json.loads(out.read_text())
    alpha, bandwidth = fit_alpha_beta(doc["p2p"])
    doc["fit"] = {"latency": alpha, "bandwidth": bandwidth}
    return doc


def run_workloads(tb: Testbed, plan: list[dict[str, Any]], workdir: Path, timeout: float,
                  sampler: _CpuSampler | None = None) -> dict[str, list[list[float]]]:
    """Run ``plan`` with one worker per host; return ``{name: [ends of rank 0, ends of rank 1, ...]}``."""
    plan_file = workdir / "plan.json"
    plan_file.write_text(json.dumps(plan))
    port = _port()
    world = tb.hosts

    def argv(r: int) -> list[str]:
        return [sys.executable, str(WORKER), "--rank", str(r), "--world", str(world),
                "--master", f"{tb.address(0)}:{port}", "--plan", str(plan_file), "--out", str(workdir / f"rank{r}.json")]

    _launch(tb, list(range(world)), argv, timeout=timeout, env=_env(), sampler=sampler)
    per_rank = [json.loads((workdir / f"rank{r}.json").read_text()) for r in range(world)]
    return {spec["name"]: [per_rank[r][spec["name"]] for r in range(world)] for spec in plan}


def steady_pace(ends_per_rank: Sequence[Sequence[float]], warmup: int) -> tuple[float, float, float]:
    """(seconds per iteration after warm-up, window start, window end) from every rank's iteration ends."""
    ranks = [e for e in ends_per_rank if e]
    count = min(len(e) for e in ranks)
    last = [max(e[k] for e in ranks) for k in range(count)]
    return (last[-1] - last[warmup - 1]) / (count - warmup), last[warmup - 1], last[-1]


def _simulate(sets: list[str]) -> float:
    import simsgp
    from simsgp.scenario import apply_overrides, load

    return float(simsgp.run(apply_overrides(load("default"), sets)).summary["sim_time"])


def predict(workload: str, nodes: int, bandwidth: float, latency: float, compute: float, payload: float,
            iterations: int, warmup: int, collective: str | None = None, rendezvous: bool = False) -> float:
    """simsgp's steady-state seconds per iteration of ``workload`` (timing only), as :func:`steady_pace` measures.

    ``rendezvous``: every message waits for its receiver to ask (``network.eager_limit = 1``),
    as gloo's sends do; else simsgp's default (a message streams as soon as it is sent).
    """
    spec = WORKLOADS[workload]
    sets = ["network.eager_limit=1"] if rendezvous else []
    sets += [f"cluster.nodes={nodes}", f"network.bandwidth={bandwidth!r}", f"network.latency={latency!r}",
             "network.topology=star-10gbe", "network.efficiency=1.0", f"cluster.compute.mean={compute!r}",
             f"task.payload={payload!r}", "timing_only=true", *spec["sets"]]
    if collective is not None:
        sets = [s for s in sets if not s.startswith("algorithm.collective=")] + [f"algorithm.collective={collective}"]
    for node, factor in spec.get("slow", {}).items():
        sets.append(f"cluster.slow_nodes.{node}={factor}")
    full = _simulate([*sets, f"iterations={warmup + iterations}"])
    head = _simulate([*sets, f"iterations={warmup}"]) if warmup else 0.0
    return (full - head) / iterations


def rendezvous_sgp_pace(nodes: int, compute: float, slow: dict[str, float], latency: float, bandwidth: float,
                        payload: float, iterations: int = 60, warmup: int = 20) -> float:
    """SGP's steady pace if a push starts only once its receiver has posted the receive (gloo's rendezvous).

    The model the testbed's sgp-slow numbers point to, simsgp's ``network.eager_limit``
    in closed form for SGP with one peer (an independent check of simsgp's rendezvous sends): node i
    posts its send and its receive at ``start_i + c_i``; the push from i to j flows from
    ``max(post_i, post_j)`` for ``latency + payload / bandwidth`` (one message in and one out
    per node at a time, so no link is shared); i's send is done once handed to the kernel
    (at that start: the message fits the socket buffer) and i's iteration ends when its own
    in-peer's push has arrived. In simsgp a push flows from ``post_i`` on, into a receiver
    that may still be busy with an earlier message, and the two share its downlink.

    Examples
    --------
    >>> round(rendezvous_sgp_pace(4, 0.1, {}, 0.0, 1e7, 1e6), 4)  # no slow node: c + M / B, as simsgp
    0.2
    """
    from simsgp.graphs import make

    graph = make("dynamic-directed-exponential", nodes)
    factor = [float(slow.get(str(i), 1.0)) for i in range(nodes)]
    start = [0.0] * nodes
    last = []
    for t in range(iterations):
        out = graph.out_peers(t)
        post = [start[i] + compute * factor[i] for i in range(nodes)]
        end = list(post)
        for i in range(nodes):
            (j,) = out[i]
            begin = max(post[i], post[j])
            end[i] = max(end[i], begin)  # i's send is handed over once j has posted its receive
            end[j] = max(end[j], begin + latency + payload / bandwidth)
        start = end
        last.append(max(end))
    return (last[-1] - last[warmup - 1]) / (iterations - warmup)


def serialized_pairs_sgp_pace(nodes: int, compute: float, latency: float, bandwidth: float, payload: float,
                              iterations: int, warmup: int) -> float:
    """SGP's pace on gloo's own connections: an iteration whose pushes are pairwise exchanges takes 2 M / B.

    gloo's receiver notice queues behind the receiver's own outgoing message on the shared
    connection, so r -> s and s -> r run one after the other (see README, finding 1). The
    mean is over the timed iterations ``warmup + 1 .. warmup + iterations``, as measured.

    Examples
    --------
    >>> round(serialized_pairs_sgp_pace(4, 0.1, 0.0, 1e7, 1e6, 4, 0), 4)  # offsets 1, 3, 2, 2: two of four pairwise
    0.25
    """
    from simsgp.graphs import make

    graph = make("dynamic-directed-exponential", nodes)
    total = 0.0
    for t in range(warmup, warmup + iterations):
        out = graph.out_peers(t)
        pairwise = all(out[out[i][0]][0] == i for i in range(nodes))
        total += compute + (2 if pairwise else 1) * (latency + payload / bandwidth)
    return total / iterations


def fifo_ps_pace(nodes: int, compute: float, latency: float, bandwidth: float, payload: float,
                 iterations: int = 40, warmup: int = 10) -> float:
    """ps-sync's steady pace if the server's NIC served its N concurrent messages one after another (FIFO).

    The other bound to simsgp's fair sharing (all N finish together): worker k gets the
    broadcast after (k + 1) M / B, computes, and its push queues behind the earlier ones
    on the server's downlink; the server broadcasts once the last push is in.

    Examples
    --------
    >>> round(fifo_ps_pace(4, 0.1, 0.0, 1e7, 1e6), 4)  # c + (N + 1) M / B
    0.6
    """
    m = payload / bandwidth
    t0, last = 0.0, []
    for _ in range(iterations):
        got = [t0 + (k + 1) * m + latency for k in range(nodes)]
        free = 0.0
        for k in range(nodes):
            free = max(free, got[k] + compute) + m
        t0 = free + latency
        last.append(t0)
    return (last[-1] - last[warmup - 1]) / (iterations - warmup)


def run_config(
    nodes: int,
    rates_mbit: Sequence[float],
    workloads: Sequence[str],
    payload: float,
    compute: float,
    iterations: int,
    warmup: int,
    probe_sizes: Sequence[float] = (1e3, 1e5, 1e6, 4e6),
    probe_repeats: int = 5,
    slow_start_after_idle: int = 1,
    congestion_control: str | None = "reno",
    burst_bytes: int = 48 * 1024,
    gso_max_bytes: int = 32 * 1024,
    queue_s: float = 0.02,
    child_qdisc: str = "fifo",
    uplink: str = "fair",
    timeout: float = 600,
    log: Any = None,
) -> list[Row]:
    """Build one testbed of ``nodes`` (+1 for ``ps``) hosts and return a :class:`Row` per rate and workload."""
    rows: list[Row] = []
    hosts = nodes + 1 if any(WORKLOADS[w]["kind"] == "ps" for w in workloads) else nodes
    extra_collectives = ("recursive-doubling", "halving-doubling")
    sampler = _CpuSampler()
    sampler.start()
    try:
        with Testbed(hosts, rates_mbit[0] * 1e6, slow_start_after_idle=slow_start_after_idle,
                     congestion_control=congestion_control, burst_bytes=burst_bytes, queue_s=queue_s,
                     child_qdisc=child_qdisc, uplink=uplink, gso_max_bytes=gso_max_bytes) as tb, \
                tempfile.TemporaryDirectory(prefix="simsgp-tb-") as tmp:
            workdir = Path(tmp)
            os.chmod(workdir, 0o755)
            for rate in rates_mbit:
                tb.set_rate(rate * 1e6)
                link = measure_link(tb, probe_sizes, probe_repeats, workdir)
                alpha, bandwidth = link["fit"]["latency"], link["fit"]["bandwidth"]
                if log:
                    print(f"N={nodes} rate={rate:g} Mbit/s: probe latency {alpha * 1e6:.0f} us, bandwidth "
                          f"{bandwidth / 1e6:.3f} MB/s ({bandwidth * 8 / (rate * 1e6):.1%} of line rate)", file=log)
                plan = []
                for name in workloads:
                    spec = WORKLOADS[name]
                    plan.append({"name": name, "kind": spec["kind"], "nodes": nodes,
                                 "payload": spec.get("payload", payload), "compute": compute,
                                 "slow": spec.get("slow", {}), "iterations": iterations, "warmup": warmup,
                                 "split": spec.get("split", True)})
                before = tb.qdisc_stats()
                ends = run_workloads(tb, plan, workdir, timeout, sampler)
                after = tb.qdisc_stats()
                drops = sum(after[k]["dropped"] - before[k]["dropped"] for k in after)
                for spec in plan:
                    name = spec["name"]
                    measured, t0, t1 = steady_pace(ends[name], warmup)
                    predicted = predict(name, nodes, bandwidth, alpha, compute, spec["payload"], iterations, warmup,
                                        rendezvous=True)  # gloo's sends are rendezvous
                    extra = {}
                    if name == "sgp-slow":
                        extra["streamed"] = predict(name, nodes, bandwidth, alpha, compute, spec["payload"], iterations,
                                                    warmup)
                        extra["rendezvous closed form"] = rendezvous_sgp_pace(nodes, compute, spec["slow"], alpha,
                                                                              bandwidth, spec["payload"])
                    if name == "sgp-1conn":
                        extra["serialized pairs"] = serialized_pairs_sgp_pace(nodes, compute, alpha, bandwidth,
                                                                              spec["payload"], iterations, warmup)
                    if spec["kind"] == "ps":
                        extra["fifo"] = fifo_ps_pace(nodes, compute, alpha, bandwidth, spec["payload"])
                        workers_ends = ends[name][:nodes]
                        spread = [max(e[k] for e in workers_ends) - min(e[k] for e in workers_ends)
                                  for k in range(warmup, warmup + iterations)]
                        extra["spread"] = sum(spread) / len(spread)  # s between first and last worker done
                    if name == "gloo":
                        for c in extra_collectives:
                            extra[c] = predict(name, nodes, bandwidth, alpha, compute, spec["payload"], iterations,
                                               warmup, collective=c, rendezvous=True)
                    row = Row(name, nodes, rate, measured, predicted, spec["payload"], *sampler.busy(t0, t1), alpha,
                              bandwidth, extra)
                    rows.append(row)
                    if log:
                        print(_format_row(row), file=log)
                if log and drops:
                    print(f"  (tbf dropped {drops} packets during these workloads)", file=log)
    finally:
        sampler.stop()
    return rows


HEADER = f"{'workload':<10}{'N':>3}{'Mbit/s':>8}{'M (MB)':>8}{'measured':>10}{'predicted':>11}{'error':>8}{'CPU':>6}{'mine':>6}"


def _format_row(row: Row) -> str:
    text = (f"{row.workload:<10}{row.nodes:>3}{row.rate_mbit:>8g}{row.payload / 1e6:>8g}{row.measured:>10.4f}"
            f"{row.predicted:>11.4f}{row.error:>+8.1%}{row.cpu_busy:>6.0%}{row.cpu_workers:>6.0%}")
    for name, value in row.extra.items():
        if name == "spread":
            text += f"   [workers finish {value:.3f} s apart]"
        else:
            text += f"   [{name}: {value:.4f}, {(value - row.measured) / row.measured:+.1%}]"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build, measure, predict, print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.testbed", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[4, 8], help="worker counts (default 4 8)")
    parser.add_argument("--rates", type=float, nargs="+", default=[100, 400], help="NIC rates, Mbit/s (default 100 400)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS), help=f"comma-separated, of {', '.join(WORKLOADS)}")
    parser.add_argument("--payload", type=float, default=4e6, help="message bytes M (default 4e6)")
    parser.add_argument("--compute", type=float, default=0.1, help="emulated compute seconds per iteration (default 0.1)")
    parser.add_argument("--iterations", type=int, default=8, help="timed iterations (default 8)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations first (default 2)")
    parser.add_argument("--slow-start-after-idle", type=int, default=1, choices=(0, 1),
                        help="net.ipv4.tcp_slow_start_after_idle in the hosts (default 1, the kernel's)")
    parser.add_argument("--cc", default="reno",
                        help="TCP congestion control in the hosts (default reno; 'inherit': the host's, here bbr)")
    parser.add_argument("--burst", type=int, default=48 * 1024, help="tbf bucket, bytes (default 49152)")
    parser.add_argument("--gso", type=int, default=32 * 1024, help="gso_max_size of every veth, bytes (default 32768)")
    parser.add_argument("--queue", type=float, default=0.02, help="depth of the tbf FIFO, seconds (default 0.02)")
    parser.add_argument("--qdisc", default="fifo", help="queue behind each shaper: fifo (default, tbf's own) or a tc qdisc")
    parser.add_argument("--uplink", default="fair", choices=("fair", "fifo"),
                        help="a host's own queue: fair between destinations (default, as fq_codel) or one FIFO")
    parser.add_argument("--json", default=None, help="also write the rows to this file")
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    if args.warmup < 1 or args.iterations < 1:
        parser.error("need --warmup >= 1 and --iterations >= 1")
    left = cleanup_leftovers()
    if left:
        print(f"removed leftover namespaces {left}", file=sys.stderr)
    print(HEADER)
    rows: list[Row] = []
    try:
        for n in args.nodes:
            rows += run_config(n, args.rates, workloads, args.payload, args.compute, args.iterations,
                               args.warmup, slow_start_after_idle=args.slow_start_after_idle,
                               congestion_control=None if args.cc == "inherit" else args.cc,
                               burst_bytes=args.burst, gso_max_bytes=args.gso, queue_s=args.queue,
                               child_qdisc=args.qdisc, uplink=args.uplink, log=sys.stdout)
    except TestbedUnavailable as exc:
        print(f"testbed unavailable: {exc}", file=sys.stderr)
        return 2
    print()
    print(HEADER)
    for row in rows:
        print(_format_row(row))
    worst = max((abs(r.error) for r in rows), default=0.0)
    print(f"worst |error| {worst:.1%} over {len(rows)} rows")
    if args.json:
        Path(args.json).write_text(json.dumps([{**asdict(r), "error": r.error} for r in rows], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
