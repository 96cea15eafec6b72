"""Training algorithms, one module each.

Every module provides ``DEFAULT_GRAPH`` (the communication graph it uses
unless the scenario names another; ``None`` for algorithms without one) and
``start(ctx)``, which starts its SimPy processes on a
:class:`simsgp.engine.RunContext`. Processes only schedule; the math they call
lives in pure functions (:mod:`simsgp.pushsum`, :mod:`simsgp.optim`, the task).
"""

from __future__ import annotations

from types import ModuleType

from simsgp.algorithms import allreduce, sgp

__all__ = ["ALGORITHMS"]

ALGORITHMS: dict[str, ModuleType] = {
    "sgp": sgp,
    "allreduce": allreduce,
}
"""Algorithm name (``algorithm.name`` in a scenario) to its module."""
