"""Synchronous parameter server (Dean et al. 2012; Li et al. 2014), sharded over ``servers`` hosts.

Iteration ``t``: every worker computes its gradient at the parameters it was
last sent and pushes slice ``s`` of it to server ``s``; each server waits for
all ``p`` workers (incast on its NIC, modelled by the network), averages,
steps its slice and broadcasts it back; a worker starts the next iteration
once it has every slice. With one server on a star and constant compute ``c``
an iteration takes ``c + 2 (alpha + p M / B)``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp import analytic
from simsgp.algorithms._analytic import gradients, run_iterations, unsupported
from simsgp.algorithms._node import start_compute
from simsgp.algorithms._servers import ServerState
from simsgp.mailbox import post

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "run_analytic", "start"]

DEFAULT_GRAPH = None
HAS_SERVERS = True


def start(ctx: RunContext) -> None:
    """Start the worker and server processes."""
    servers = ServerState(ctx)
    for node in range(ctx.n):
        ctx.env.process(_worker(ctx, node, servers))
    for s in range(len(servers.hosts)):
        ctx.env.process(_server(ctx, s, servers))


def _worker(ctx: RunContext, i: int, servers: ServerState) -> Generator[Any, Any, None]:
    env, box = ctx.env, ctx.mailboxes[i]
    for t in range(ctx.max_iterations):
        start = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        compute_end = env.now
        loss, grad = ctx.task.grad(i, ctx.x[i], batch)
        for s, host in enumerate(servers.hosts):
            post(ctx.network, ctx.mailboxes, i, host, t, grad[servers.slices[s]], servers.message_bytes)
        for message in (yield box.get(t, len(servers.hosts))):
            ctx.x[i][servers.slices[message.src - ctx.n]] = message.payload
        ctx.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)


def _server(ctx: RunContext, s: int, servers: ServerState) -> Generator[Any, Any, None]:
    host, box = servers.hosts[s], ctx.mailboxes[servers.hosts[s]]
    for t in range(ctx.max_iterations):
        pushed = yield box.get(t, ctx.n)
        grads = ctx.xp.stack([m.payload for m in sorted(pushed, key=lambda m: m.src)])
        updated = servers.step(s, ctx.xp.mean(grads, axis=0))
        for worker in range(ctx.n):
            post(ctx.network, ctx.mailboxes, host, worker, t, updated, servers.message_bytes)


def run_analytic(ctx: RunContext) -> None:
    """One server: the incast and the broadcast each share one server link (water-filling)."""
    servers = ServerState(ctx)
    if len(servers.hosts) != 1:
        raise unsupported(ctx, "only one server has an exact analytic form (several couple the workers' uplinks)")
    host, n, topology, network = servers.hosts[0], ctx.n, ctx.network.topology, ctx.network
    up = [(i, host) for i in range(n)]
    down = [(host, i) for i in range(n)]
    incast, broadcast = analytic.shared_link_of(topology, up), analytic.shared_link_of(topology, down)
    if incast is None or broadcast is None:
        raise unsupported(ctx, f"workers' routes to the server share more than one link on {topology.name!r}")
    up_rate, up_latency = analytic.connection_rates(topology, up, skip=incast)
    down_rate, down_latency = analytic.connection_rates(topology, down, skip=broadcast)
    size = np.full(n, servers.message_bytes)

    def communicate(t: int, start: np.ndarray, compute: np.ndarray) -> np.ndarray:
        pushed = start + compute
        sent, incast_busy = analytic.shared_link(pushed, size, up_rate, topology.capacity[incast])
        ready = float((sent + up_latency).max())
        returned, broadcast_busy = analytic.shared_link(np.full(n, ready), size, down_rate, topology.capacity[broadcast])
        analytic.account(network, up, size, sent - pushed, shared=incast, shared_busy=incast_busy)
        analytic.account(network, down, size, returned - ready, shared=broadcast, shared_busy=broadcast_busy)
        return returned + down_latency

    def learn(t: int, losses: np.ndarray) -> None:
        ctx.x[:] = servers.step(0, ctx.xp.mean(gradients(ctx, losses), axis=0))

    run_iterations(ctx, communicate, learn)

