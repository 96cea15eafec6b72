"""Parallel SGD with an exact gradient average by ring allreduce (Goyal et al. 2017).

Iteration ``t`` at node ``i``: compute the mini-batch gradient at ``x_i``, take
part in a ring allreduce of the gradient (real flows on the network), then take
the same SGD step as every other node with the average gradient.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.collectives import ring_allreduce
from simsgp.optim import sgd_update

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "start"]

DEFAULT_GRAPH = None


class _GradientAverage:
    """Gradients deposited by the nodes and their mean, computed once per iteration.

    The first node to finish iteration ``t``'s allreduce computes the mean; by
    then every node has deposited its gradient (the ring passes through all of
    them) and none has yet deposited iteration ``t + 1``'s.
    """

    def __init__(self, n: int, dim: int):
        self.grads = np.zeros((n, dim))
        self._iteration = -1
        self._mean = np.zeros(dim)

    def mean(self, t: int) -> np.ndarray:
        if self._iteration != t:
            self._mean = self.grads.mean(axis=0)
            self._iteration = t
        return self._mean


def start(ctx: RunContext) -> None:
    """Start one allreduce-SGD process per node."""
    average = _GradientAverage(ctx.n, ctx.x.shape[1])
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node, average))


def _node(ctx: RunContext, i: int, average: _GradientAverage) -> Generator[Any, Any, None]:
    env, task, rng = ctx.env, ctx.task, ctx.batch_rngs[i]
    for t in range(ctx.max_iterations):
        start = env.now
        batch = task.sample_batch(i, rng)
        yield env.timeout(ctx.compute.duration(i, env.now))
        compute_end = env.now
        loss, average.grads[i] = task.grad(i, ctx.x[i], batch)
        yield from ring_allreduce(ctx.network, ctx.mailboxes, i, ctx.n, ctx.nbytes, t)
        ctx.x[i], ctx.momentum[i] = sgd_update(ctx.x[i], average.mean(t), ctx.momentum[i], ctx.sgd)
        ctx.records.log(
            i, t, start=start, compute_end=compute_end, end=env.now, loss=loss,
            bytes_sent=2 * (ctx.n - 1) / ctx.n * ctx.nbytes,
        )
