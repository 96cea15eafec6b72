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

from simsgp.algorithms._analytic import gradients, run_iterations, unsupported
from simsgp.algorithms._servers import ServerState
from simsgp.algorithms.base import ServerParams, register
from simsgp.algorithms.steps import gradient, per_node, start_compute
from simsgp.sim import analytic
from simsgp.sim.mailbox import post

if TYPE_CHECKING:
    from simsgp.sim.world import Run

__all__ = ["SynchronousParameterServer"]


@register
class SynchronousParameterServer:
    """Synchronous parameter server: every worker's gradient averaged each iteration."""

    name = "ps-sync"
    params = ServerParams

    def start(self, run: Run, params: ServerParams) -> None:
        """Start the worker and server processes."""
        servers = ServerState(run, params.servers)
        per_node(run, _worker, servers)
        for s in range(len(servers.hosts)):
            run.world.env.process(_server(run, s, servers))

    def run_analytic(self, run: Run, params: ServerParams) -> None:
        """One server: the incast and the broadcast each share one server link (water-filling)."""
        _run_analytic(run, ServerState(run, params.servers))


def _worker(run: Run, i: int, servers: ServerState) -> Generator[Any, Any, None]:
    env, box = run.world.env, run.world.mailboxes[i]
    for t in range(run.iterations):
        start = env.now
        batch, computed = start_compute(run, i)
        yield computed
        compute_end = env.now
        loss, grad = gradient(run, i, run.state.x[i], batch)
        for s, host in enumerate(servers.hosts):
            post(run.world.network, run.world.mailboxes, i, host, t, grad[servers.slices[s]], servers.message_bytes)
        for message in (yield box.get(t, len(servers.hosts))):
            run.state.x[i][servers.slices[message.src - run.n]] = message.payload
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)


def _server(run: Run, s: int, servers: ServerState) -> Generator[Any, Any, None]:
    host, box = servers.hosts[s], run.world.mailboxes[servers.hosts[s]]
    for t in range(run.iterations):
        pushed = yield box.get(t, run.n)
        grads = run.state.xp.stack([m.payload for m in sorted(pushed, key=lambda m: m.src)])
        updated = servers.step(s, run.state.xp.mean(grads, axis=0))
        for worker in range(run.n):
            post(run.world.network, run.world.mailboxes, host, worker, t, updated, servers.message_bytes)


def _run_analytic(run: Run, servers: ServerState) -> None:
    if len(servers.hosts) != 1:
        raise unsupported("only one server has an exact analytic form (several couple the workers' uplinks)")
    host, n, topology, network = servers.hosts[0], run.n, run.world.network.topology, run.world.network
    up = [(i, host) for i in range(n)]
    down = [(host, i) for i in range(n)]
    incast, broadcast = analytic.shared_link_of(topology, up), analytic.shared_link_of(topology, down)
    if incast is None or broadcast is None:
        raise unsupported(f"workers' routes to the server share more than one link on {topology.name!r}")
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
        run.state.x[:] = servers.step(0, run.state.xp.mean(gradients(run, losses), axis=0))

    run_iterations(run, communicate, learn)

