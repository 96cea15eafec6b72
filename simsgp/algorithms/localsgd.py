"""Local SGD (Stich 2019; Lin et al. 2020): ``H`` local steps, then an allreduce of the parameters.

Iteration ``t`` at node ``i``: compute the gradient at ``x_i`` and step locally;
after every ``local_steps``-th iteration, allreduce the parameters (the
scenario's ``collective``) and replace ``x_i`` by the average. Momentum buffers
stay local.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.algorithms._analytic import gradients, run_iterations
from simsgp.algorithms._node import sgd_step, start_compute
from simsgp.algorithms.allreduce import MeanOnce, RingTimer
from simsgp.collectives import allreduce, messages_per_node
from simsgp.optim import sgd_update

if TYPE_CHECKING:
    from simsgp.engine import RunContext
    from simsgp.scenario import Scenario

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "messages_per_iteration", "run_analytic", "start"]

DEFAULT_GRAPH = None
HAS_SERVERS = False


def messages_per_iteration(scenario: Scenario, nbytes: float) -> float:
    """Messages a node sends per iteration: one allreduce of the parameters every ``local_steps``."""
    cfg = scenario.algorithm
    return messages_per_node(cfg.collective, scenario.cluster.nodes) / cfg.local_steps


def start(ctx: RunContext) -> None:
    """Start one Local SGD process per node."""
    average = MeanOnce(ctx.backend.zeros(ctx.x.shape))
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node, average))


def _node(ctx: RunContext, i: int, average: MeanOnce) -> Generator[Any, Any, None]:
    env, cfg = ctx.env, ctx.scenario.algorithm
    for t in range(ctx.max_iterations):
        start = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        compute_end = env.now
        loss, ctx.x[i] = sgd_step(ctx, i, batch)
        if (t + 1) % cfg.local_steps == 0:
            average.rows[i] = ctx.x[i]
            yield from allreduce(cfg.collective, ctx.network, ctx.mailboxes, i, ctx.n, ctx.nbytes, t)
            ctx.x[i] = average.mean(t)
        ctx.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)


def run_analytic(ctx: RunContext) -> None:
    """Local steps on the stacked state; the parameter allreduce timed by :class:`RingTimer`."""
    ring = RingTimer(ctx)
    local_steps = ctx.scenario.algorithm.local_steps

    def communicate(t: int, start: np.ndarray, compute: np.ndarray) -> np.ndarray:
        return ring.allreduce(start + compute, ctx.nbytes) if (t + 1) % local_steps == 0 else start + compute

    def learn(t: int, losses: np.ndarray) -> None:
        ctx.x[:], ctx.momentum[:] = sgd_update(ctx.x, gradients(ctx, losses), ctx.momentum, ctx.sgd)
        if (t + 1) % local_steps == 0:
            ctx.x[:] = ctx.xp.mean(ctx.x, axis=0)

    run_iterations(ctx, communicate, learn)
