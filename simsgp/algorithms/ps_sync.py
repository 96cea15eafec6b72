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

from simsgp.algorithms._node import compute_phase
from simsgp.algorithms._servers import ServerState
from simsgp.mailbox import post

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "start"]

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
        batch = yield from compute_phase(ctx, i)
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
        grads = np.stack([m.payload for m in sorted(pushed, key=lambda m: m.src)])
        updated = servers.step(s, grads.mean(axis=0))
        for worker in range(ctx.n):
            post(ctx.network, ctx.mailboxes, host, worker, t, updated, servers.message_bytes)
