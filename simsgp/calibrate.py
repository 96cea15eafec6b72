"""Fit scenario figures (compute time, link efficiency, ...) to measured seconds per iteration.

A measurement is (algorithm, nodes, seconds per iteration). Fitting runs the
simulator for each measurement with candidate values of the chosen scenario
keys and minimises the squared relative errors (``scipy.optimize.least_squares``
within bounds). The fitted scenario then predicts other points, each with its
relative error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

from simsgp.errors import ScenarioError, shown
from simsgp.scenario import Scenario, apply_overrides
from simsgp.sim.engine import run

__all__ = ["DEFAULT_KEYS", "Calibration", "Measurement", "fit", "parse_measurement", "predict", "simulate"]

DEFAULT_KEYS: dict[str, tuple[float, float]] = {
    "cluster.compute.mean": (1e-4, 100.0),
    "network.efficiency": (1e-3, 1.0),
}
"""Keys fitted by default, with their bounds."""


@dataclass(frozen=True)
class Measurement:
    """Seconds per iteration measured for ``algorithm`` on ``nodes`` nodes."""

    algorithm: str
    nodes: int
    seconds: float


@dataclass(frozen=True)
class Calibration:
    """Fitted values of scenario keys and the relative error left at each measurement."""

    values: dict[str, float]
    scenario: Scenario
    residuals: tuple[float, ...]


_FASTEST, _SLOWEST = 1e-9, 1e9
"""The range of a measured iteration time that calibration takes (a nanosecond to about 30 years)."""


def parse_measurement(text: str) -> Measurement:
    """Parse ``ALGORITHM:NODES=SECONDS`` (``allreduce:8=0.896``).

    Examples
    --------
    >>> parse_measurement("sgp:32=0.426")
    Measurement(algorithm='sgp', nodes=32, seconds=0.426)
    """
    head, sep, seconds = text.partition("=")
    algorithm, colon, nodes = head.partition(":")
    try:
        if not (sep and colon):
            raise ValueError
        measurement = Measurement(algorithm.strip(), int(nodes), float(seconds))
    except ValueError:
        raise ScenarioError(f"measurement {shown(text)}; expected ALGORITHM:NODES=SECONDS, such as allreduce:8=0.896") from None
    if measurement.nodes < 2 or not _FASTEST <= measurement.seconds <= _SLOWEST:
        raise ScenarioError(
            f"measurement {shown(text)}; expected at least 2 nodes and seconds per iteration "
            f"in [{_FASTEST:g}, {_SLOWEST:g}]"
        )
    return measurement


def simulate(base: Scenario, algorithm: str, nodes: int, values: Mapping[str, float] | None = None) -> float:
    """Simulated seconds per iteration of ``algorithm`` on ``nodes`` nodes of ``base`` with ``values`` set."""
    sets = [f"algorithm.name={algorithm}", f"cluster.nodes={nodes}", *(f"{k}={v!r}" for k, v in (values or {}).items())]
    return float(run(apply_overrides(base, sets)).summary["sim_time_per_iteration"])


def fit(
    base: Scenario,
    measurements: Sequence[Measurement],
    *,
    keys: Mapping[str, tuple[float, float]] = DEFAULT_KEYS,
) -> Calibration:
    """Fit ``keys`` (name -> (low, high) bounds) of ``base`` to ``measurements``.

    Starts from the base scenario's values (clipped into the bounds) and
    minimises the sum of squared relative errors of simulated against measured
    seconds per iteration.
    """
    if not measurements:
        raise ScenarioError("calibration needs at least one measurement")
    names = list(keys)
    low = np.array([keys[k][0] for k in names])
    high = np.array([keys[k][1] for k in names])
    start = np.clip([_current(base, k) for k in names], low, high)

    def relative_errors(theta: np.ndarray) -> np.ndarray:
        values = dict(zip(names, theta.tolist()))
        return np.array([simulate(base, m.algorithm, m.nodes, values) / m.seconds - 1.0 for m in measurements])

    solution = least_squares(relative_errors, start, bounds=(low, high), x_scale="jac", diff_step=1e-3)
    values = dict(zip(names, solution.x.tolist()))
    fitted = apply_overrides(base, [f"{k}={v!r}" for k, v in values.items()])
    return Calibration(values, fitted, tuple(solution.fun.tolist()))


def predict(calibration: Calibration, measurements: Sequence[Measurement]) -> list[tuple[Measurement, float, float]]:
    """``(measurement, simulated seconds, relative error)`` for each measurement."""
    rows = []
    for m in measurements:
        seconds = simulate(calibration.scenario, m.algorithm, m.nodes)
        rows.append((m, seconds, seconds / m.seconds - 1.0))
    return rows


def _current(scenario: Scenario, dotted: str) -> float:
    value: object = scenario
    for part in dotted.split("."):
        if not hasattr(value, part):
            raise ScenarioError(f"calibration key {dotted!r} is not a scenario key")
        value = getattr(value, part)
    if value is None:
        return 1.0  # an unset override (network.efficiency) means the topology's own figure, 1.0 here
    if not isinstance(value, (int, float)):
        raise ScenarioError(f"calibration key {dotted!r} is not numeric")
    return float(value)
