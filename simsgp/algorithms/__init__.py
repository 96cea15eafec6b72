"""Training algorithms, one module each.

Every module provides ``HAS_SERVERS`` (whether parameter-server hosts come on
top of the workers), ``DEFAULT_GRAPH`` (the communication graph it uses
unless the scenario names another; ``None`` for algorithms without one) and
``start(ctx)``, which starts its SimPy processes on a
:class:`simsgp.engine.RunContext`. Processes only schedule; the math they call
lives in pure functions (:mod:`simsgp.pushsum`, :mod:`simsgp.optim`, the task).
Push-sum algorithms also provide ``weight_unmixed(ctx)``, the weight left in
messages never added, so that every run checks that mass is conserved
(:mod:`simsgp.physics`).
"""

from __future__ import annotations

from types import ModuleType

from simsgp.algorithms import (
    adpsgd,
    allreduce,
    dcasgd,
    dpsgd,
    localsgd,
    osgp,
    ps_async,
    ps_sync,
    sgp,
)

__all__ = ["ALGORITHMS", "with_graph"]

ALGORITHMS: dict[str, ModuleType] = {
    "sgp": sgp,
    "osgp": osgp,
    "allreduce": allreduce,
    "dpsgd": dpsgd,
    "adpsgd": adpsgd,
    "localsgd": localsgd,
    "ps-sync": ps_sync,
    "ps-async": ps_async,
    "dcasgd": dcasgd,
}
"""Algorithm name (``algorithm.name`` in a scenario) to its module."""


def with_graph() -> list[str]:
    """The names of the algorithms that have a communication graph, sorted."""
    return sorted(name for name, module in ALGORITHMS.items() if module.DEFAULT_GRAPH)
