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

from simsgp.algorithms.steps import draw_batch, gradient
from simsgp.errors import ScenarioError

if TYPE_CHECKING:
    from simsgp.sim.world import Run

Communicate = Callable[[int, np.ndarray, np.ndarray], np.ndarray]
"""``(t, start, compute) -> end``: when each node finishes iteration ``t``."""

Learn = Callable[[int, np.ndarray], None]
"""``(t, losses)``: iteration ``t``'s math on the stacked state; writes each node's loss into ``losses``."""


def run_iterations(run: Run, communicate: Communicate, learn: Learn) -> None:
    """Advance every node through the scenario's iterations."""
    n = run.n
    end = np.zeros(n)
    losses = np.full(n, np.nan)
    for t in range(run.iterations):
        start = end
        compute = np.array([run.world.compute.duration(i, start[i]) for i in range(n)])
        end = communicate(t, start, compute)
        if run.learner.math:
            learn(t, losses)
        for i in range(n):
            run.log(i, t, start=start[i], compute_end=start[i] + compute[i], end=end[i], loss=losses[i])
    run.world.env.run(until=float(end.max()))  # the clock reads the run's end, as in the event mode


def gradients(run: Run, losses: np.ndarray) -> np.ndarray:
    """Every node's mini-batch gradient at its parameters (losses written into ``losses``)."""
    grads = run.state.xp.empty_like(run.state.x)
    for i in range(run.n):
        losses[i], grads[i] = gradient(run, i, run.state.x[i], draw_batch(run, i))
    return grads


def unsupported(why: str) -> ScenarioError:
    """The error for a scenario the analytic mode cannot time exactly."""
    return ScenarioError(f"analytic = true: {why}; use the event mode")
