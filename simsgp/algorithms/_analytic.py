"""The lockstep driver of the analytic mode, shared by the synchronous algorithms.

All nodes go through iteration ``t`` together: each draws its compute time
from its own stream (the same draws as the event mode), the algorithm's
``communicate`` returns when every node finishes, its ``learn`` does the
iteration's math on the stacked state (skipped in timing-only runs), and the
probes record as in the event mode.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simsgp.errors import ScenarioError

if TYPE_CHECKING:
    from simsgp.engine import RunContext

Communicate = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""``(t, start, compute) -> end``: when each node finishes iteration ``t``."""

Learn = Callable[[int, np.ndarray], None]
"""``(t, losses)``: iteration ``t``'s math on the stacked state; writes each node's loss into ``losses``."""


def run_iterations(ctx: RunContext, communicate: Communicate, learn: Learn) -> None:
    """Advance every node through the scenario's iterations."""
    if ctx.scenario.iterations is None:
        raise ScenarioError("analytic = true needs iterations; time_limit runs need the event mode")
    n = ctx.n
    end = np.zeros(n)
    losses = np.full(n, np.nan)
    for t in range(ctx.scenario.iterations):
        start = end
        compute = np.array([ctx.compute.duration(i, start[i]) for i in range(n)])
        end = communicate(t, start, compute)
        if ctx.math:
            learn(t, losses)
        for i in range(n):
            ctx.log(i, t, start=start[i], compute_end=start[i] + compute[i], end=end[i], loss=losses[i])
    ctx.env.run(until=float(end.max()))  # the clock reads the run's end, as in the event mode


def gradients(ctx: RunContext, losses: np.ndarray) -> np.ndarray:
    """Every node's mini-batch gradient at its parameters (losses written into ``losses``)."""
    grads = ctx.xp.empty_like(ctx.x)
    for i in range(ctx.n):
        losses[i], grads[i] = ctx.task.grad(i, ctx.x[i], ctx.task.sample_batch(i, ctx.batch_rngs[i]))
    return grads


def unsupported(ctx: RunContext, why: str) -> ScenarioError:
    """The error for a scenario the analytic mode cannot time exactly."""
    return ScenarioError(f"analytic = true with algorithm.name={ctx.scenario.algorithm.name!r}: {why}; use the event mode")
