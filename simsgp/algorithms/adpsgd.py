"""AD-PSGD (Lian et al. 2018): asynchronous decentralized SGD with atomic pairwise averaging.

Every node runs two processes. The compute process reads its parameters when
a forward pass starts, computes the gradient there, and applies the step to
the parameters as they are when the backward pass ends: averagings that
happened meanwhile are kept, so gradients are taken on parameters that moved
(the recorded staleness is the number of averagings during the compute phase).

Active nodes (odd ranks of the bipartite graph) also run a gossip process: at
most one averaging per local iteration, with the passive peer of the graph's
next round. The pair exchanges models (two flows, one each way, at the same
time); when both have arrived, both nodes take the average of the two models
as they are at that moment, atomically, so the sum of the models is
conserved. A passive node averages with one active node at a time.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from simsgp.algorithms._node import sgd_step, start_compute
from simsgp.errors import ScenarioError
from simsgp.graphs import GraphSchedule

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "check_graph", "start", "pairwise_average"]

DEFAULT_GRAPH = "dynamic-bipartite-exponential"
HAS_SERVERS = False


def check_graph(schedule: GraphSchedule) -> None:
    """AD-PSGD pairs active with passive nodes: the graph must be bipartite."""
    if not schedule.passive:
        raise ScenarioError(
            f"algorithm.graph={schedule.name!r}: AD-PSGD needs a bipartite graph with passive nodes, "
            "such as 'dynamic-bipartite-exponential' or 'dynamic-bipartite-linear'"
        )


def pairwise_average(x: np.ndarray, i: int, j: int) -> None:
    """Replace rows ``i`` and ``j`` of ``x`` by their average, in place.

    Examples
    --------
    >>> x = np.array([[0.0], [2.0], [5.0]])
    >>> pairwise_average(x, 0, 1)
    >>> x.ravel().tolist()
    [1.0, 1.0, 5.0]
    """
    x[i] = x[j] = 0.5 * (x[i] + x[j])


class _Progress:
    """Iterations finished and averagings taken part in, per node, with a wake-up per iteration."""

    def __init__(self, env: simpy.Environment, n: int):
        self.env = env
        self.iterations = [0] * n
        self.averagings = [0] * n
        self.tick = [env.event() for _ in range(n)]

    def finished_iteration(self, i: int) -> None:
        self.iterations[i] += 1
        tick, self.tick[i] = self.tick[i], self.env.event()
        tick.succeed()


def start(ctx: RunContext) -> None:
    """Start a compute process per node and a gossip process per active node."""
    progress = _Progress(ctx.env, ctx.n)
    locks = [simpy.Resource(ctx.env, capacity=1) for _ in range(ctx.n)]
    for node in range(ctx.n):
        ctx.env.process(_compute(ctx, node, progress))
        if node not in ctx.graph.passive:
            ctx.env.process(_gossip(ctx, node, progress, locks))


def _compute(ctx: RunContext, i: int, progress: _Progress) -> Generator[Any, Any, None]:
    env = ctx.env
    for t in range(ctx.max_iterations):
        start = env.now
        read = ctx.xp.asarray(ctx.x[i], copy=True)
        averagings = progress.averagings[i]
        batch, computed = start_compute(ctx, i)
        yield computed
        loss, ctx.x[i] = sgd_step(ctx, i, batch, at=read)
        ctx.log(
            i, t, start=start, compute_end=env.now, end=env.now, loss=loss,
            staleness=progress.averagings[i] - averagings,
        )
        progress.finished_iteration(i)


def _gossip(ctx: RunContext, i: int, progress: _Progress, locks: list[simpy.Resource]) -> Generator[Any, Any, None]:
    env, graph, network = ctx.env, ctx.graph, ctx.network
    for r in range(ctx.max_iterations):
        while progress.iterations[i] <= r:
            yield progress.tick[i]
        for j in graph.out_peers(r)[i]:
            with locks[j].request() as turn:
                yield turn
                yield simpy.AllOf(env, [network.send(i, j, ctx.nbytes), network.send(j, i, ctx.nbytes)])
                pairwise_average(ctx.x, i, j)
                progress.averagings[i] += 1
                progress.averagings[j] += 1
