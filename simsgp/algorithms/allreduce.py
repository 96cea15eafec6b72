"""Parallel SGD with an exact gradient average by allreduce (Goyal et al. 2017).

Iteration ``t`` at node ``i``: compute the mini-batch gradient at ``x_i`` (its
value does not depend on when, so the math is done when the phase starts), take
part in an allreduce of the gradient (real flows on the network; ``collective``
one of :data:`simsgp.sim.collectives.COLLECTIVES`), then take the same SGD
step as every other node with the average gradient.

With ``overlap = true`` the gradient is cut into buckets of ``bucket_bytes``
(PyTorch DDP's 25 MiB by default) that backward produces one after the other:
the forward pass takes ``1 - backward_fraction`` of the compute time, then
bucket ``b`` of ``B`` is ready after ``(b + 1) / B`` of the backward pass (in
proportion to its bytes) and its allreduce starts as soon as it is ready and
the previous bucket's allreduce is done (collectives run in order on one
stream).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.algorithms._analytic import gradients, run_iterations, unsupported
from simsgp.algorithms.base import register
from simsgp.algorithms.steps import draw_batch, gradient, per_node, wait
from simsgp.checks import fraction, one_of, positive
from simsgp.fields import setting
from simsgp.learn.backend import array_namespace
from simsgp.learn.optim import sgd_update
from simsgp.sim import analytic
from simsgp.sim.budget import check_count
from simsgp.sim.collectives import (
    COLLECTIVES,
    DEFAULT_CHUNK_BYTES,
    CollectiveOptions,
    bucket_sizes,
    messages_per_node,
    node_steps,
    run_steps,
)

if TYPE_CHECKING:
    from simsgp.sim.world import Run

__all__ = [
    "MAX_BUCKETS", "AllreduceParams", "AllreduceSGD", "CollectiveParams", "CollectiveTimer", "MeanOnce", "bucket_ready_times",
]


@dataclass(frozen=True)
class CollectiveParams:
    """The allreduce's message pattern.

    ``collective``: one of :data:`simsgp.sim.collectives.COLLECTIVES`;
    ``chunk_bytes``: the pipeline chunk of ``tree``; ``leader_collective``:
    what the server leaders run in ``hierarchical``.
    """

    collective: str = setting("ring", help="message pattern of the allreduce (see simsgp.sim.collectives)")
    chunk_bytes: float = setting(DEFAULT_CHUNK_BYTES, help="pipeline chunk of the tree collective", unit="B")
    leader_collective: str = setting("ring", help="collective among the server leaders of the hierarchical one")

    def __post_init__(self) -> None:
        one_of("algorithm.collective", self.collective, COLLECTIVES)
        positive("algorithm.chunk_bytes", self.chunk_bytes)
        one_of("algorithm.leader_collective", self.leader_collective, set(COLLECTIVES) - {"hierarchical"})

    def options(self, run: Run) -> CollectiveOptions:
        """The collective's options in ``run``: these, the world's reduce rate and the topology's servers."""
        return CollectiveOptions(
            reduce_rate=run.world.reduce_rate,
            chunk_bytes=self.chunk_bytes,
            leader=self.leader_collective,
            groups=run.world.network.topology.groups[: run.n],
        )

    def messages(self, nodes: int, nbytes: float) -> int:
        """The most messages a node sends in one allreduce of ``nbytes`` (servers unknown here: one worker each)."""
        return messages_per_node(self.collective, nodes, nbytes, CollectiveOptions(chunk_bytes=self.chunk_bytes,
                                                                                   leader=self.leader_collective))


@dataclass(frozen=True)
class AllreduceParams(CollectiveParams):
    """Allreduce SGD's parameters beside the collective.

    ``overlap``: allreduce gradient buckets while backward still runs, as
    PyTorch DDP does; ``bucket_bytes``: the bucket size (DDP's 25 MiB);
    ``backward_fraction``: the share of the compute time backward takes.
    """

    overlap: bool = setting(False, help="allreduce gradient buckets while backward still runs (PyTorch DDP)")
    bucket_bytes: float = setting(float(25 * 2**20), help="gradient bucket size with overlap (DDP: 25 MiB)", unit="B")
    backward_fraction: float = setting(2 / 3, help="share of the compute time that backward takes")

    def __post_init__(self) -> None:
        super().__post_init__()
        positive("algorithm.bucket_bytes", self.bucket_bytes)
        fraction("algorithm.backward_fraction", self.backward_fraction)

    def buckets(self, nbytes: float) -> list[float]:
        """The gradient's buckets, in bytes (one bucket without overlap)."""
        return bucket_sizes(nbytes, self.bucket_bytes) if self.overlap else [nbytes]


class MeanOnce:
    """Rows deposited by the nodes and their mean, computed once per round.

    The first node to finish round ``t``'s allreduce computes the mean; by then
    every node has deposited its row (the collective passes through all of
    them) and none has yet deposited round ``t + 1``'s.
    """

    def __init__(self, rows: Any):
        self.rows = rows
        self._round = -1
        self._mean: Any = None

    def mean(self, t: int) -> Any:
        """Mean of the deposited rows for round ``t``."""
        if self._round != t:
            self._mean = array_namespace(self.rows).mean(self.rows, axis=0)
            self._round = t
        return self._mean


def bucket_ready_times(start, compute, buckets: list[float], backward_fraction: float) -> list:
    """When each gradient bucket is ready, given the compute phase ``[start, start + compute]``.

    ``start`` and ``compute`` may be floats or arrays over nodes.

    Examples
    --------
    >>> bucket_ready_times(0.0, 3.0, [1.0, 1.0], 2 / 3)
    [2.0, 3.0]
    """
    forward = compute * (1.0 - backward_fraction)
    done = np.cumsum(buckets) / sum(buckets)
    return [start + forward + (compute - forward) * float(f) for f in done[:-1]] + [start + compute]


MAX_BUCKETS = 1_000_000
"""Most gradient buckets per iteration (``algorithm.bucket_bytes`` small against the payload)."""


@register
class AllreduceSGD:
    """Parallel SGD with an exact gradient average by allreduce (Goyal et al. 2017)."""

    name = "allreduce"
    params = AllreduceParams

    def messages_per_iteration(self, params: AllreduceParams, nodes: int, nbytes: float) -> float:
        """Messages a node sends per iteration: one per collective step and gradient bucket.

        Raises
        ------
        ScenarioError
            ``algorithm.bucket_bytes`` splits the gradient into more than :data:`MAX_BUCKETS`.
        """
        buckets = nbytes / params.bucket_bytes if params.overlap else 1.0
        check_count(
            "algorithm.bucket_bytes", params.bucket_bytes, buckets, MAX_BUCKETS, f"buckets of the {nbytes:.6g}-byte gradient"
        )
        return params.messages(nodes, nbytes) * math.ceil(buckets)

    def start(self, run: Run, params: AllreduceParams) -> None:
        """Start one allreduce-SGD process per node."""
        average = MeanOnce(run.state.backend.zeros(run.state.x.shape))
        buckets = params.buckets(run.nbytes)
        per_node(run, _node, average, buckets, params)

    def run_analytic(self, run: Run, params: AllreduceParams) -> None:
        """Time every iteration with :class:`CollectiveTimer` instead of flows; same math, same records."""
        timer = CollectiveTimer(run, params)
        buckets = params.buckets(run.nbytes)

        def communicate(t: int, start: np.ndarray, compute: np.ndarray) -> np.ndarray:
            finish = start
            for size, ready in zip(buckets, bucket_ready_times(start, compute, buckets, params.backward_fraction)):
                finish = timer.allreduce(np.maximum(ready, finish), size)
            return finish

        def learn(t: int, losses: np.ndarray) -> None:
            state = run.state
            mean = state.xp.mean(gradients(run, losses), axis=0)
            state.x[:], state.momentum[:] = sgd_update(state.x, mean, state.momentum, run.learner.sgd)

        run_iterations(run, communicate, learn)


def _node(run: Run, i: int, average: MeanOnce, buckets: list[float], params: AllreduceParams) -> Generator[Any, Any, None]:
    env, n, world = run.world.env, run.n, run.world
    options = params.options(run)
    steps = {size: node_steps(params.collective, i, n, size, options) for size in buckets}
    for t in range(run.iterations):
        start = env.now
        loss, average.rows[i] = gradient(run, i, run.state.x[i], draw_batch(run, i))
        compute = run.world.compute.duration(i, env.now)
        ready = bucket_ready_times(start, compute, buckets, params.backward_fraction)
        for b, (size, at) in enumerate(zip(buckets, ready)):
            if at > env.now:
                yield wait(run, at - env.now)
            yield from run_steps(world.network, world.mailboxes, i, steps[size], (t, b), options.reduce_rate)
        run.state.x[i], run.state.momentum[i] = sgd_update(run.state.x[i], average.mean(t), run.state.momentum[i], run.learner.sgd)
        run.log(i, t, start=start, compute_end=start + compute, end=env.now, loss=loss)


class CollectiveTimer:
    """Analytic allreduce: the ring's own recursion (its connections share no link), any other schedule by
    :class:`simsgp.sim.analytic.ScheduleTimer`, which checks as it goes that its time is the event mode's."""

    def __init__(self, run: Run, params: CollectiveParams):
        n, topology = run.n, run.world.network.topology
        self.network = run.world.network
        options = params.options(run)
        self.pairs = [(i, (i + 1) % n) for i in range(n)]
        eager_limit = run.world.network.eager_limit
        ring = params.collective == "ring" and not options.reduce_rate and eager_limit is None
        if ring and not analytic.disjoint_routes(topology, self.pairs):
            raise unsupported(f"ring neighbours share links on topology {topology.name!r}")
        self.schedule = None if ring else analytic.ScheduleTimer(topology, params.collective, n, options, eager_limit)
        self.rate, self.latency = analytic.connection_rates(topology, self.pairs)
        self.free = np.zeros(n)

    def allreduce(self, ready: np.ndarray, nbytes: float) -> np.ndarray:
        """When each node finishes an allreduce of ``nbytes`` entered at ``ready``."""
        if self.schedule is not None:
            finish, counts = self.schedule.allreduce(ready, nbytes)
            for src, dst, size, seconds in counts:
                self.network.count(src, self.network.topology.route(src, dst), size, seconds)
            return finish
        n = len(ready)
        finish, self.free, busy = analytic.ring_allreduce(ready, self.free, nbytes / n, self.rate, self.latency)
        analytic.account(self.network, self.pairs, np.full(n, 2 * (n - 1) * nbytes / n), busy)
        return finish
