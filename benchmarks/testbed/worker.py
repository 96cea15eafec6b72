"""One testbed host's process: runs the planned workloads over torch.distributed (gloo, TCP) and records times.

Started by :mod:`benchmarks.testbed.run` inside a host namespace::

    ip netns exec simsgp-tb-h0 python benchmarks/testbed/worker.py --rank 0 --world 5 \\
        --master 10.213.0.1:29500 --plan plan.json --out rank0.json

The plan is a JSON list of workloads ``{"name", "kind", "nodes", "payload", "compute",
"slow": {rank: factor}, "iterations", "warmup"}``; ``kind`` is one of

``sgp``
    compute, non-blocking send to this iteration's out-peer of simsgp's
    ``dynamic-directed-exponential`` graph, blocking receive from the in-peer, wait for the send;
``ring``
    ring allreduce written with isend / recv: 2 (N - 1) steps of M / N chunks (reduce-scatter, allgather);
``gloo``
    ``dist.all_reduce`` of the M-byte float32 tensor over the N workers;
``ps``
    N workers send M to the server (rank N), which waits for all of them, then sends M back to each;
``dpsgd``
    simsgp's ``dpsgd`` order on the ``dynamic-bipartite-exponential`` graph: an active node sends
    (blocking), then receives; a passive node receives, then sends.

Compute is emulated by ``time.sleep(compute * slow.get(rank, 1))``. Ranks not in a workload
(``rank >= nodes``; the server for ``ps``) wait at the barrier that starts the next one. Each
rank writes ``{name: [wall-clock end of iteration k, ...]}`` (warm-up included) to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from typing import Any


def _peers(kind: str, nodes: int, rank: int, t: int) -> tuple[int, int, bool]:
    """(out-peer, in-peer, passive) of ``rank`` at iteration ``t`` in simsgp's graph for ``kind``."""
    from simsgp.graphs import make

    graph = make("dynamic-directed-exponential" if kind == "sgp" else "dynamic-bipartite-exponential", nodes)
    out = graph.out_peers(t)
    (dst,) = out[rank]
    (src,) = [j for j in range(nodes) if rank in out[j]]
    return dst, src, rank in getattr(graph, "passive", frozenset())


def run_workload(dist: Any, torch: Any, spec: dict[str, Any], rank: int, groups: dict[Any, Any]) -> list[float]:
    """Run one workload on this rank; return the wall-clock end time of every iteration."""
    kind, n, payload = spec["kind"], int(spec["nodes"]), float(spec["payload"])
    split = bool(spec.get("split", False))

    def group(src: int, dst: int) -> Any:
        # split: messages from a lower to a higher rank on one gloo group's connections, the others on a second
        # group's, so that no TCP connection carries data both ways (see README: gloo's rendezvous notices)
        return groups[("dir", src < dst)] if split else None

    def isend(t: Any, dst: int) -> Any:
        return dist.isend(t, dst=dst, group=group(rank, dst))

    def irecv(t: Any, src: int) -> Any:
        return dist.irecv(t, src=src, group=group(src, rank))

    def send(t: Any, dst: int) -> None:
        isend(t, dst).wait()

    def recv(t: Any, src: int) -> None:
        irecv(t, src).wait()

    iterations = int(spec["warmup"]) + int(spec["iterations"])
    compute = float(spec["compute"]) * float(spec.get("slow", {}).get(str(rank), 1.0))
    workers = n
    in_it = rank < workers if kind != "ps" else rank <= workers
    ends: list[float] = []
    dist.barrier()
    if not in_it:
        return ends
    elements = max(int(payload) // 4, 1)
    sbuf = torch.ones(elements, dtype=torch.float32)
    rbuf = torch.empty(elements, dtype=torch.float32)
    schedule = [_peers(kind, n, rank, t) for t in range(iterations)] if kind in ("sgp", "dpsgd") else []
    chunk = -(-elements // n)
    for t in range(iterations):
        if kind == "ps" and rank == workers:  # the server: incast, then broadcast
            reqs = [irecv(torch.empty(elements, dtype=torch.float32), w) for w in range(workers)]
            for r in reqs:
                r.wait()
            reqs = [isend(sbuf, w) for w in range(workers)]
            for r in reqs:
                r.wait()
            ends.append(time.time())
            continue
        time.sleep(compute)
        if kind == "sgp":
            dst, src, _ = schedule[t]
            req = isend(sbuf, dst)
            recv(rbuf, src)
            req.wait()
        elif kind == "dpsgd":
            dst, src, passive = schedule[t]
            if passive:
                recv(rbuf, src)
                send(sbuf, dst)
            else:
                send(sbuf, dst)
                recv(rbuf, src)
        elif kind == "ring":
            # reduce-scatter then allgather, 2 (n - 1) steps of one chunk each; the receive of step
            # s + 1 is posted before step s waits, so the receiver's ready notice never delays the data
            right, left = (rank + 1) % n, (rank - 1) % n
            tmps = [torch.empty(chunk, dtype=torch.float32) for _ in range(2)]

            def post(step: int, left: int = left, tmps: list[Any] = tmps) -> Any:
                r_idx = (rank - step - 1) % n
                r_lo, r_hi = r_idx * chunk, min((r_idx + 1) * chunk, elements)
                target = tmps[step % 2][: r_hi - r_lo] if step < n - 1 else sbuf[r_lo:r_hi]
                return irecv(target, left), target, r_lo, r_hi

            pending = post(0)
            for step in range(2 * (n - 1)):
                s_idx = (rank - step) % n
                req = isend(sbuf[s_idx * chunk: min((s_idx + 1) * chunk, elements)], right)
                rreq, target, r_lo, r_hi = pending
                if step + 1 < 2 * (n - 1) and step + 1 != n - 1:
                    pending = post(step + 1)
                rreq.wait()
                if step < n - 1:  # reduce-scatter: add the neighbour's partial sum
                    sbuf[r_lo:r_hi].add_(target)
                if step + 1 == n - 1:  # the first allgather receive lands in sbuf: post it once reduced
                    pending = post(step + 1)
                req.wait()
            sbuf.fill_(1.0)
        elif kind == "gloo":
            dist.all_reduce(sbuf, group=groups[n])
            sbuf.fill_(1.0)
        elif kind == "ps":
            send(sbuf, workers)
            recv(rbuf, workers)
        else:
            raise ValueError(f"unknown workload kind {kind!r}")
        ends.append(time.time())
    return ends


def warm_up_connections(dist: Any, torch: Any, plan: list[dict[str, Any]], rank: int, world: int,
                        groups: dict[Any, Any]) -> None:
    """Send the largest payload once over every connection the plan may use, so no workload meets a cold one.

    A fresh TCP connection starts with a small congestion window (and BBR with no bandwidth
    estimate); what it learns here is kept until an idle spell longer than its RTO (with
    ``tcp_slow_start_after_idle = 1``) or for good (with 0).
    """
    size = max(int(float(w["payload"])) // 4 for w in plan)
    sbuf, rbuf = torch.ones(size, dtype=torch.float32), torch.empty(size, dtype=torch.float32)
    choices = [None] if not any(w.get("split") for w in plan) else [None, ("dir", True), ("dir", False)]
    for choice in choices:
        for k in range(1, world):
            dst, src = (rank + k) % world, (rank - k) % world
            if choice is None:
                req = dist.isend(sbuf, dst=dst)
                dist.recv(rbuf, src=src)
            else:  # a message lower -> higher on ("dir", True) only: both groups' both ways get used over k
                req = dist.isend(sbuf, dst=dst, group=groups[("dir", rank < dst)])
                dist.recv(rbuf, src=src, group=groups[("dir", src < rank)])
            req.wait()
    for n in sorted(k for k in groups if isinstance(k, int)):
        if rank < n:
            for _ in range(2):
                dist.all_reduce(sbuf, group=groups[n])
    dist.barrier()


def main(argv: list[str] | None = None) -> int:
    """Entry point: join the process group, run the plan, write this rank's times."""
    parser = argparse.ArgumentParser(description="simsgp testbed worker (one per host namespace)")
    parser.add_argument("--rank", type=int, required=True)
    parser.add_argument("--world", type=int, required=True)
    parser.add_argument("--master", required=True, help="HOST:PORT of rank 0's store")
    parser.add_argument("--plan", required=True, help="JSON file with the workloads")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    # gloo's shared-memory allreduce (some builds) keys on LOCAL_WORLD_SIZE: every host is its own node
    os.environ["LOCAL_WORLD_SIZE"] = "1"
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "eth0")
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)
    with open(args.plan, encoding="utf-8") as fh:
        plan = json.load(fh)
    dist.init_process_group(
        "gloo", init_method=f"tcp://{args.master}", rank=args.rank, world_size=args.world,
        timeout=timedelta(seconds=300),
    )
    groups: dict[Any, Any] = {}
    if any(w.get("split") for w in plan):
        groups[("dir", True)] = dist.new_group(list(range(args.world)))
        groups[("dir", False)] = dist.new_group(list(range(args.world)))
    for n in sorted({int(w["nodes"]) for w in plan if w["kind"] == "gloo"}):
        groups[n] = dist.new_group(list(range(n))) if n < args.world else dist.group.WORLD
    warm_up_connections(dist, torch, plan, args.rank, args.world, groups)
    result: dict[str, Any] = {}
    for spec in plan:
        result[spec["name"]] = run_workload(dist, torch, spec, args.rank, groups)
    dist.barrier()
    dist.destroy_process_group()
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
