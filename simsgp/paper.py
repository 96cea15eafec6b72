"""The SGP paper's timing table (Assran et al., ICML 2019) and its reproduction on the ``paper-resnet50-10gbe`` preset.

Assran et al., "Stochastic Gradient Push for Distributed Deep Learning",
ResNet-50 on ImageNet, nodes of 8 GPUs on 10 Gb/s Ethernet; seconds per
iteration (the table also lists accuracy, which timing does not touch).
"""

from __future__ import annotations

from collections.abc import Sequence

from simsgp.calibrate import BOUNDS, Calibration, Measurement, Parameter, Point, fit, predict, unfitted
from simsgp.scenario import Scenario, load

__all__ = ["FIT_NODES", "PAPER_SECONDS", "PAPER_SETS", "paper_measurements", "paper_parameters", "reproduce"]

PAPER_SECONDS: dict[str, dict[int, float]] = {
    "allreduce": {4: 0.704, 8: 0.896, 16: 1.086, 32: 1.308},
    "dpsgd": {4: 0.628, 8: 0.618, 16: 0.632, 32: 0.657},
    "adpsgd": {4: 0.361, 8: 0.363, 16: 0.374, 32: 0.388},
    "sgp": {4: 0.377, 8: 0.377, 16: 0.411, 32: 0.426},
}
"""Seconds per iteration by algorithm (simsgp names) and number of nodes."""

PAPER_SETS: dict[str, tuple[str, ...]] = {"allreduce": ("algorithm.collective=recursive-doubling",)}
"""Keys the table's runs of an algorithm set beside the preset: PyTorch 0.5's TCP allreduce is recursive doubling."""

FIT_NODES = (4, 8)
"""The rows a calibration fits; the others are held out and predicted."""


def paper_measurements(nodes: Sequence[int] = (4, 8, 16, 32)) -> list[Measurement]:
    """The table's cells for the given node counts, as measurements.

    Examples
    --------
    >>> [m.seconds for m in paper_measurements([4]) if m.algorithm == "sgp"]
    [0.377]
    """
    return [Measurement(alg, n, row[n], PAPER_SETS.get(alg, ()), "recursive doubling" if alg in PAPER_SETS else "")
            for alg, row in PAPER_SECONDS.items() for n in nodes if n in row]


def paper_parameters() -> tuple[Parameter, ...]:
    """What the reproduction fits: a compute time per algorithm and the link efficiency.

    Each method's compute differs in the paper's runs (AD-PSGD's gossip
    process shares the host; the gossip copies differ), so each gets its
    own; everything else is fixed by the preset.
    """
    mean = BOUNDS["cluster.compute.mean"]
    return (*(Parameter("cluster.compute.mean", *mean, algorithm=a) for a in PAPER_SECONDS),
            Parameter("network.efficiency", *BOUNDS["network.efficiency"]))


def reproduce(scenario: Scenario | None = None, *, calibrate: bool = False) -> tuple[Calibration | None, list[Point]]:
    """Simulate every cell of the table, after fitting to the :data:`FIT_NODES` rows with ``calibrate``.

    Returns the calibration (None without ``calibrate``) and every cell as a
    point: the fitted rows with their residuals, the others held out.
    """
    base = load("paper-resnet50-10gbe") if scenario is None else scenario
    held = paper_measurements([n for n in (4, 8, 16, 32) if not calibrate or n not in FIT_NODES])
    if not calibrate:
        return None, predict(unfitted(base), held)
    calibration = fit(base, paper_measurements(FIT_NODES), paper_parameters())
    points = [*calibration.points, *predict(calibration, held)]
    order = {(alg, n): k for k, (alg, n) in enumerate((a, n) for a, row in PAPER_SECONDS.items() for n in row)}
    return calibration, sorted(points, key=lambda p: order[p.measurement.algorithm, p.measurement.nodes])

