"""Local SGD (Stich 2019; Lin et al. 2020): ``H`` local steps, then an allreduce of the parameters.

Iteration ``t`` at node ``i``: compute the gradient at ``x_i`` and step locally;
after every ``local_steps``-th iteration, allreduce the parameters (the
scenario's ``collective``) and replace ``x_i`` by the average. Momentum buffers
stay local.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.algorithms._analytic import gradients, run_iterations
from simsgp.algorithms.allreduce import CollectiveParams, CollectiveTimer, MeanOnce
from simsgp.algorithms.base import register
from simsgp.algorithms.steps import compute_step, per_node
from simsgp.checks import at_least
from simsgp.fields import setting
from simsgp.learn.optim import sgd_update
from simsgp.sim.collectives import node_steps, run_steps

if TYPE_CHECKING:
    from simsgp.sim.world import Run

__all__ = ["LocalSGD", "LocalSGDParams"]


@dataclass(frozen=True)
class LocalSGDParams(CollectiveParams):
    """Local SGD's parameters beside the collective: ``local_steps``, the H local steps between averagings."""

    local_steps: int = setting(4, help="local SGD steps between two averagings of the parameters (H)")

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("algorithm.local_steps", self.local_steps, 1)


@register
class LocalSGD:
    """Local SGD (Stich, ICLR 2019; Lin et al., ICLR 2020): local steps, then an allreduce of the parameters."""

    name = "localsgd"
    params = LocalSGDParams

    def messages_per_iteration(self, params: LocalSGDParams, nodes: int, nbytes: float) -> float:
        """Messages a node sends per iteration: one allreduce of the parameters every ``local_steps``."""
        return params.messages(nodes, nbytes) / params.local_steps

    def start(self, run: Run, params: LocalSGDParams) -> None:
        """Start one Local SGD process per node."""
        average = MeanOnce(run.state.backend.zeros(run.state.x.shape))
        per_node(run, _node, average, params)

    def run_analytic(self, run: Run, params: LocalSGDParams) -> None:
        """Local steps on the stacked state; the parameter allreduce timed by :class:`CollectiveTimer`."""
        timer = CollectiveTimer(run, params)
        local_steps, state = params.local_steps, run.state

        def communicate(t: int, start: np.ndarray, compute: np.ndarray) -> np.ndarray:
            return timer.allreduce(start + compute, run.nbytes) if (t + 1) % local_steps == 0 else start + compute

        def learn(t: int, losses: np.ndarray) -> None:
            state.x[:], state.momentum[:] = sgd_update(state.x, gradients(run, losses), state.momentum, run.learner.sgd)
            if (t + 1) % local_steps == 0:
                state.x[:] = state.xp.mean(state.x, axis=0)

        run_iterations(run, communicate, learn)


def _node(run: Run, i: int, average: MeanOnce, params: LocalSGDParams) -> Generator[Any, Any, None]:
    env, world = run.world.env, run.world
    options = params.options(run)
    steps = node_steps(params.collective, i, run.n, run.nbytes, options)
    for t in range(run.iterations):
        start = env.now
        loss, run.state.x[i] = yield from compute_step(run, i)
        compute_end = env.now
        if (t + 1) % params.local_steps == 0:
            average.rows[i] = run.state.x[i]
            yield from run_steps(world.network, world.mailboxes, i, steps, t, options.reduce_rate)
            run.state.x[i] = average.mean(t)
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
