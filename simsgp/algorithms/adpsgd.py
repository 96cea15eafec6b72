"""AD-PSGD (Lian et al. 2018): asynchronous decentralized SGD with pairwise averaging.

Every node runs two processes. The compute process reads its parameters when
a forward pass starts, computes the gradient there, and applies the step to
the parameters as they are when the backward pass ends: averagings that
landed meanwhile are kept, so gradients are taken on parameters that moved.

Active nodes (odd ranks of the bipartite graph) also run a gossip process that
averages with one passive peer at a time, the peer of the graph's next round
(the official code's gossiper advances its graph once per exchange). The pair
exchanges copies of their models taken when the exchange starts (two flows,
one each way, at the same time). When both have arrived, each node moves by
half the difference of the two copies, ``x_i += (sent_j - sent_i) / 2``: the
average of what was sent, plus the local steps each node took while the
copies travelled (as the official code, which averages the models it sent
and applies the steps that came meanwhile after). The sum of the models is
conserved. A passive node averages with one active node at a time.

An exchange takes the time its transfers take: the gossip process starts its
next exchange only when the current one is done, and at most one per local
iteration (it waits for an iteration to finish since the last exchange
began; iterations it could not keep up with are not made up later). A node's
last iteration ends when its exchange in flight, if any, is done; no
exchange starts after that. On slow links averagings therefore get rarer,
and what they average is older: the staleness recorded with an iteration in
which an averaging landed is the number of the node's iterations since the
copy it sent was taken (0 when the exchange fits in one iteration; NaN in
iterations without an averaging).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from simsgp.algorithms.base import GraphParams, register
from simsgp.algorithms.steps import compute_step
from simsgp.errors import GraphError

if TYPE_CHECKING:
    from simsgp.graphs import GraphSchedule
    from simsgp.sim.world import GossipRun

__all__ = ["ADPSGD", "ADPSGDParams", "pairwise_average"]


@dataclass(frozen=True)
class ADPSGDParams(GraphParams):
    """AD-PSGD's parameters: its bipartite communication graph (default: the bipartite exponential graph)."""

    graph: str = "dynamic-bipartite-exponential"


@register
class ADPSGD:
    """Asynchronous decentralized parallel SGD (Lian et al., ICML 2018): pairwise averaging in a gossip thread."""

    name = "adpsgd"
    staleness = "averagings by peers during the compute"
    params = ADPSGDParams

    def check_graph(self, schedule: GraphSchedule) -> None:
        """AD-PSGD pairs active with passive nodes: the graph must be bipartite."""
        if not schedule.passive:
            raise GraphError(
                "AD-PSGD needs a bipartite graph with passive nodes, "
                "such as 'dynamic-bipartite-exponential' or 'dynamic-bipartite-linear'"
            )

    def start(self, run: GossipRun, params: ADPSGDParams) -> None:
        """Start a compute process per node and a gossip process per active node."""
        progress = _Progress(run.world.env, run.n)
        locks = [simpy.Resource(run.world.env, capacity=1) for _ in range(run.n)]
        for node in range(run.n):
            run.world.env.process(_compute(run, node, progress))
            if node not in run.graph.passive:
                run.world.env.process(_gossip(run, node, progress, locks))


def pairwise_average(x: np.ndarray, i: int, j: int, sent_i: np.ndarray, sent_j: np.ndarray) -> None:
    """Average the copies ``sent_i`` and ``sent_j`` that rows ``i`` and ``j`` of ``x`` exchanged, in place.

    Each row moves by half the difference of the copies, so it becomes their
    average plus what it changed since its copy was taken; the sum of the
    rows is conserved.

    Examples
    --------
    >>> x = np.array([[0.0], [2.0], [5.0]])
    >>> pairwise_average(x, 0, 1, x[0].copy(), x[1].copy())
    >>> x.ravel().tolist()
    [1.0, 1.0, 5.0]
    >>> sent = x[0].copy()
    >>> x[0] -= 0.5                      # a local step while the copies travel
    >>> pairwise_average(x, 0, 2, sent, x[2].copy())
    >>> x.ravel().tolist()
    [2.5, 1.0, 3.0]
    """
    half = 0.5 * (sent_j - sent_i)
    x[i] = x[i] + half
    x[j] = x[j] - half


class _Progress:
    """Iterations finished per node and the averagings that landed in the current one.

    ``tick[i]`` succeeds when node ``i`` finishes an iteration,
    ``stopped[i]`` when it has finished its last; ``exchanging[i]`` is the
    event of active node ``i``'s exchange on the wire (``None`` between
    exchanges); ``landed[i]`` the iterations at which the copies averaged
    into node ``i`` during its current iteration were taken.
    """

    def __init__(self, env: simpy.Environment, n: int):
        self.env = env
        self.iterations = [0] * n
        self.tick = [env.event() for _ in range(n)]
        self.stopped = [env.event() for _ in range(n)]
        self.exchanging: list[simpy.Event | None] = [None] * n
        self.landed: list[list[int]] = [[] for _ in range(n)]

    def finished_iteration(self, i: int) -> float:
        """Count node ``i``'s iteration done; the staleness of what landed in it (NaN if nothing did)."""
        t = self.iterations[i]
        landed, self.landed[i] = self.landed[i], []
        self.iterations[i] = t + 1
        tick, self.tick[i] = self.tick[i], self.env.event()
        tick.succeed()
        return float(t - min(landed)) if landed else math.nan


def _compute(run: GossipRun, i: int, progress: _Progress) -> Generator[Any, Any, None]:
    env, last = run.world.env, run.iterations - 1
    for t in range(run.iterations):
        start = env.now
        read = run.state.xp.asarray(run.state.x[i], copy=True) if run.learner.math else None
        loss, run.state.x[i] = yield from compute_step(run, i, at=read)
        compute_end = env.now
        if t == last:
            progress.stopped[i].succeed()
            if progress.exchanging[i] is not None:
                yield progress.exchanging[i]
        staleness = progress.finished_iteration(i)
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss, staleness=staleness)


def _gossip(run: GossipRun, i: int, progress: _Progress, locks: list[simpy.Resource]) -> Generator[Any, Any, None]:
    env, graph, network = run.world.env, run.graph, run.world.network
    seen = 0  # iterations finished when the last exchange began
    stopped = progress.stopped[i]
    for r in itertools.count():
        while progress.iterations[i] <= seen and not stopped.triggered:
            yield progress.tick[i] | stopped
        if stopped.triggered:
            return
        seen = progress.iterations[i]
        for j in graph.out_peers(r)[i]:
            with locks[j].request() as turn:
                yield turn | stopped
                if not turn.triggered:  # the node finished meanwhile: no exchange starts now
                    return
                taken = (progress.iterations[i], progress.iterations[j])
                sent = (run.state.xp.asarray(run.state.x[i], copy=True), run.state.xp.asarray(run.state.x[j], copy=True)) if run.learner.math else None
                exchange = progress.exchanging[i] = simpy.AllOf(
                    env, [network.send(i, j, run.nbytes), network.send(j, i, run.nbytes)]
                )
                yield exchange
                progress.exchanging[i] = None
                if sent is not None:
                    pairwise_average(run.state.x, i, j, *sent)
                progress.landed[i].append(taken[0])
                progress.landed[j].append(taken[1])
