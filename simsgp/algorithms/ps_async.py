"""Asynchronous parameter server (Recht et al. 2011; Dean et al. 2012), sharded over ``servers`` hosts.

Each worker runs on its own clock: compute the gradient at the parameters it
holds, push slice ``s`` to server ``s`` with the version it was computed on,
wait for every server's reply, repeat. A server applies each gradient as it
arrives (first come, first served), bumps its version and sends the worker the
new slice. The recorded staleness is the largest, over servers, of the
server's version when it applied the gradient minus the version the gradient
was computed on (0 when nobody else got in between).

``start_servers(run, count, compensate=...)`` lets DC-ASGD transform each gradient with the
server's current slice and the slice that worker last received.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.algorithms._servers import ServerState
from simsgp.algorithms.base import ServerParams, register
from simsgp.algorithms.steps import gradient, per_node, start_compute
from simsgp.sim.mailbox import post

if TYPE_CHECKING:
    from simsgp.sim.world import Run

__all__ = ["AsynchronousParameterServer", "Compensation", "start_servers"]

Compensation = Callable[[int, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
"""``(server, grad, params_now, params_stale) -> grad`` applied before the step."""


@register
class AsynchronousParameterServer:
    """Asynchronous parameter server (Recht et al., NeurIPS 2011; Dean et al., NeurIPS 2012)."""

    name = "ps-async"
    staleness = "server versions behind"
    params = ServerParams

    def start(self, run: Run, params: ServerParams) -> None:
        """Start the worker and server processes."""
        start_servers(run, params.servers)


def start_servers(run: Run, count: int, compensate: Compensation | None = None) -> None:
    """Start the workers and ``count`` servers; each server applies ``compensate`` to a gradient first."""
    servers = ServerState(run, count)
    per_node(run, _worker, servers)
    for s in range(len(servers.hosts)):
        run.world.env.process(_server(run, s, servers, compensate))


def _worker(run: Run, i: int, servers: ServerState) -> Generator[Any, Any, None]:
    env, box = run.world.env, run.world.mailboxes[i]
    versions = [0] * len(servers.hosts)
    for t in range(run.iterations):
        start = env.now
        batch, computed = start_compute(run, i)
        yield computed
        compute_end = env.now
        loss, grad = gradient(run, i, run.state.x[i], batch)
        for s, host in enumerate(servers.hosts):
            payload = (grad[servers.slices[s]], versions[s])
            post(run.world.network, run.world.mailboxes, i, host, "push", payload, servers.message_bytes)
        staleness = 0
        for message in (yield box.get(t, len(servers.hosts))):
            s = message.src - run.n
            run.state.x[i][servers.slices[s]], versions[s], lag = message.payload
            staleness = max(staleness, lag)
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss, staleness=staleness)


def _server(
    run: Run, s: int, servers: ServerState, compensate: Compensation | None
) -> Generator[Any, Any, None]:
    host, box, part = servers.hosts[s], run.world.mailboxes[servers.hosts[s]], servers.slices[s]
    sent_to = run.state.xp.stack([servers.params[part]] * run.n)  # the slice each worker last received
    replies = [0] * run.n
    while True:
        for message in (yield box.get("push", 1)):
            worker, (grad, version) = message.src, message.payload
            lag = servers.version[s] - version
            if compensate is not None:
                grad = compensate(s, grad, servers.params[part], sent_to[worker])
            updated = servers.step(s, grad)
            sent_to[worker] = updated
            post(run.world.network, run.world.mailboxes, host, worker, replies[worker], (updated, servers.version[s], lag), servers.message_bytes)
            replies[worker] += 1
