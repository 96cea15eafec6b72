"""Asynchronous parameter server (Recht et al. 2011; Dean et al. 2012), sharded over ``servers`` hosts.

Each worker runs on its own clock: compute the gradient at the parameters it
holds, push slice ``s`` to server ``s`` with the version it was computed on,
wait for every server's reply, repeat. A server applies each gradient as it
arrives (first come, first served), bumps its version and sends the worker the
new slice. The recorded staleness is the largest, over servers, of the
server's version when it applied the gradient minus the version the gradient
was computed on (0 when nobody else got in between).

``start(ctx, compensate=...)`` lets DC-ASGD transform each gradient with the
server's current slice and the slice that worker last received.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.algorithms._node import start_compute
from simsgp.algorithms._servers import ServerState
from simsgp.mailbox import post

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "Compensation", "start"]

DEFAULT_GRAPH = None
HAS_SERVERS = True

Compensation = Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``(server, grad, params_now, params_stale) -> grad`` applied before the step."""


def start(ctx: RunContext, compensate: Compensation | None = None) -> None:
    """Start the worker and server processes."""
    servers = ServerState(ctx)
    for node in range(ctx.n):
        ctx.env.process(_worker(ctx, node, servers))
    for s in range(len(servers.hosts)):
        ctx.env.process(_server(ctx, s, servers, compensate))


def _worker(ctx: RunContext, i: int, servers: ServerState) -> Generator[Any, Any, None]:
    env, box = ctx.env, ctx.mailboxes[i]
    versions = [0] * len(servers.hosts)
    for t in range(ctx.max_iterations):
        start = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        compute_end = env.now
        loss, grad = ctx.task.grad(i, ctx.x[i], batch)
        for s, host in enumerate(servers.hosts):
            payload = (grad[servers.slices[s]], versions[s])
            post(ctx.network, ctx.mailboxes, i, host, "push", payload, servers.message_bytes)
        staleness = 0
        for message in (yield box.get(t, len(servers.hosts))):
            s = message.src - ctx.n
            ctx.x[i][servers.slices[s]], versions[s], lag = message.payload
            staleness = max(staleness, lag)
        ctx.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss, staleness=staleness)


def _server(
    ctx: RunContext, s: int, servers: ServerState, compensate: Compensation | None
) -> Generator[Any, Any, None]:
    host, box, part = servers.hosts[s], ctx.mailboxes[servers.hosts[s]], servers.slices[s]
    sent_to = ctx.xp.stack([servers.params[part]] * ctx.n)  # the slice each worker last received
    replies = [0] * ctx.n
    while True:
        for message in (yield box.get("push", 1)):
            worker, (grad, version) = message.src, message.payload
            lag = servers.version[s] - version
            if compensate is not None:
                grad = compensate(s, grad, servers.params[part], sent_to[worker])
            updated = servers.step(s, grad)
            sent_to[worker] = updated
            post(ctx.network, ctx.mailboxes, host, worker, replies[worker], (updated, servers.version[s], lag), servers.message_bytes)
            replies[worker] += 1
