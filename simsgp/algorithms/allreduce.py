"""Parallel SGD with an exact gradient average by allreduce (Goyal et al. 2017).

Iteration ``t`` at node ``i``: compute the mini-batch gradient at ``x_i`` (its
value does not depend on when, so the math is done when the phase starts), take
part in an allreduce of the gradient (real flows on the network; ``collective``
``"ring"`` or ``"parallel"``), then take the same SGD step as every other node
with the average gradient.

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
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp import analytic
from simsgp.algorithms._analytic import gradients, run_iterations, unsupported
from simsgp.algorithms._node import wait
from simsgp.backend import array_namespace
from simsgp.budget import check_count
from simsgp.collectives import allreduce, bucket_sizes, messages_per_node
from simsgp.optim import sgd_update

if TYPE_CHECKING:
    from simsgp.engine import RunContext
    from simsgp.scenario import Scenario

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "MAX_BUCKETS", "RingTimer", "bucket_ready_times", "messages_per_iteration", "run_analytic", "start"]

DEFAULT_GRAPH = None
HAS_SERVERS = False


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


def messages_per_iteration(scenario: Scenario, nbytes: float) -> float:
    """Messages a node sends per iteration: one per collective step and gradient bucket.

    Raises
    ------
    ScenarioError
        ``algorithm.bucket_bytes`` splits the gradient into more than :data:`MAX_BUCKETS`.
    """
    cfg = scenario.algorithm
    buckets = nbytes / cfg.bucket_bytes if cfg.overlap else 1.0
    check_count("algorithm.bucket_bytes", cfg.bucket_bytes, buckets, MAX_BUCKETS, f"buckets of the {nbytes:.6g}-byte gradient")
    return messages_per_node(cfg.collective, scenario.cluster.nodes) * math.ceil(buckets)


def start(ctx: RunContext) -> None:
    """Start one allreduce-SGD process per node."""
    average = MeanOnce(ctx.backend.zeros(ctx.x.shape))
    cfg = ctx.scenario.algorithm
    buckets = bucket_sizes(ctx.nbytes, cfg.bucket_bytes) if cfg.overlap else [ctx.nbytes]
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node, average, buckets))


def _node(ctx: RunContext, i: int, average: MeanOnce, buckets: list[float]) -> Generator[Any, Any, None]:
    env, task, rng, n = ctx.env, ctx.task, ctx.batch_rngs[i], ctx.n
    cfg = ctx.scenario.algorithm
    for t in range(ctx.max_iterations):
        start = env.now
        loss, average.rows[i] = task.grad(i, ctx.x[i], task.sample_batch(i, rng))
        compute = ctx.compute.duration(i, env.now)
        ready = bucket_ready_times(start, compute, buckets, cfg.backward_fraction)
        for b, (size, at) in enumerate(zip(buckets, ready)):
            if at > env.now:
                yield wait(ctx, at - env.now)
            yield from allreduce(cfg.collective, ctx.network, ctx.mailboxes, i, n, size, (t, b))
        ctx.x[i], ctx.momentum[i] = sgd_update(ctx.x[i], average.mean(t), ctx.momentum[i], ctx.sgd)
        ctx.log(i, t, start=start, compute_end=start + compute, end=env.now, loss=loss)


class RingTimer:
    """Analytic ring allreduce over the nodes' ring connections, with their FIFO state."""

    def __init__(self, ctx: RunContext):
        n, topology = ctx.n, ctx.network.topology
        self.pairs = [(i, (i + 1) % n) for i in range(n)]
        if ctx.scenario.algorithm.collective != "ring":
            raise unsupported(ctx, "only the ring collective has an exact analytic form")
        if not analytic.disjoint_routes(topology, self.pairs):
            raise unsupported(ctx, f"ring neighbours share links on topology {topology.name!r}")
        self.network = ctx.network
        self.rate, self.latency = analytic.connection_rates(topology, self.pairs)
        self.free = np.zeros(n)

    def allreduce(self, ready: np.ndarray, nbytes: float) -> np.ndarray:
        """When each node finishes an allreduce of ``nbytes`` entered at ``ready``."""
        n = len(ready)
        finish, self.free, busy = analytic.ring_allreduce(ready, self.free, nbytes / n, self.rate, self.latency)
        analytic.account(self.network, self.pairs, np.full(n, 2 * (n - 1) * nbytes / n), busy)
        return finish


def run_analytic(ctx: RunContext) -> None:
    """Time every iteration with :class:`RingTimer` instead of flows; same math, same records."""
    cfg = ctx.scenario.algorithm
    ring = RingTimer(ctx)
    buckets = bucket_sizes(ctx.nbytes, cfg.bucket_bytes) if cfg.overlap else [ctx.nbytes]

    def communicate(t: int, start: np.ndarray, compute: np.ndarray) -> np.ndarray:
        finish = start
        for size, ready in zip(buckets, bucket_ready_times(start, compute, buckets, cfg.backward_fraction)):
            finish = ring.allreduce(np.maximum(ready, finish), size)
        return finish

    def learn(t: int, losses: np.ndarray) -> None:
        mean = ctx.xp.mean(gradients(ctx, losses), axis=0)
        ctx.x[:], ctx.momentum[:] = sgd_update(ctx.x, mean, ctx.momentum, ctx.sgd)

    run_iterations(ctx, communicate, learn)
