"""The SGP paper's timing table (Assran et al., ICML 2019) and its reproduction on the ``paper-resnet50-10gbe`` preset.

Assran et al., "Stochastic Gradient Push for Distributed Deep Learning",
ResNet-50 on ImageNet, nodes of 8 GPUs on 10 Gb/s Ethernet; seconds per
iteration (the table also lists accuracy, which timing does not touch).
"""

from __future__ import annotations

from collections.abc import Sequence

from simsgp.calibrate import Measurement, simulate
from simsgp.scenario import Scenario, load

__all__ = ["PAPER_SECONDS", "paper_measurements", "reproduce"]

PAPER_SECONDS: dict[str, dict[int, float]] = {
    "allreduce": {4: 0.704, 8: 0.896, 16: 1.086, 32: 1.308},
    "dpsgd": {4: 0.628, 8: 0.618, 16: 0.632, 32: 0.657},
    "adpsgd": {4: 0.361, 8: 0.363, 16: 0.374, 32: 0.388},
    "sgp": {4: 0.377, 8: 0.377, 16: 0.411, 32: 0.426},
}
"""Seconds per iteration by algorithm (simsgp names) and number of nodes."""


def paper_measurements(nodes: Sequence[int] = (4, 8, 16, 32)) -> list[Measurement]:
    """The table's cells for the given node counts, as measurements.

    Examples
    --------
    >>> [m.seconds for m in paper_measurements([4]) if m.algorithm == "sgp"]
    [0.377]
    """
    return [Measurement(alg, n, row[n]) for alg, row in PAPER_SECONDS.items() for n in nodes if n in row]


def reproduce(scenario: Scenario | None = None) -> list[tuple[Measurement, float, float]]:
    """Simulate every cell of the table: ``(paper cell, simulated seconds, relative error)``."""
    base = load("paper-resnet50-10gbe") if scenario is None else scenario
    rows = []
    for m in paper_measurements():
        seconds = simulate(base, m.algorithm, m.nodes)
        rows.append((m, seconds, seconds / m.seconds - 1.0))
    return rows
