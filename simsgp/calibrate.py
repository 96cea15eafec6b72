"""Fit scenario figures to measured seconds per iteration, and say how well they are determined.

A :class:`Measurement` is seconds per iteration measured for an algorithm on a
number of nodes (and, optionally, scenario keys that differ for that point).
A :class:`Parameter` is a scenario key to fit, within bounds, either shared by
every point or one value per algorithm (``cluster.compute.mean@sgp``: the
compute time of SGP's points only). :func:`fit` runs the simulator for every
point and minimises the squared relative errors (``scipy.optimize.least_squares``,
trust-region reflective within the bounds), then reports:

* each fitted value with a standard error, from the Jacobian ``J`` of the
  relative errors at the solution: ``s^2 (J^T J)^-1`` with ``s^2`` the sum of
  squared residuals over the points left after the parameters (none when there
  are as many parameters as points);
* the residual of every fitted point, and with :func:`predict` the error of any
  held-out point;
* warnings, never a silent degenerate fit: a parameter at one of its bounds
  (the data ask for a value outside them, and its standard error means little),
  fewer points than parameters, or a combination of parameters that the points
  do not constrain (``J`` rank-deficient, named by the parameters it mixes).

A scenario with a per-epoch pause (``cluster.epoch``) is simulated over one
whole epoch per point, so the pause is averaged as a measured running mean
averages it.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from simsgp.algorithms import analytic_names
from simsgp.errors import ScenarioError, shown
from simsgp.scenario import Scenario, apply_overrides, resolve
from simsgp.sim.cluster import epoch_iterations
from simsgp.sim.engine import run

__all__ = [
    "BOUNDS",
    "Calibration",
    "Measurement",
    "Parameter",
    "Point",
    "default_parameters",
    "fit",
    "held_out_summary",
    "parse_measurement",
    "parse_parameter",
    "predict",
    "simulate",
    "unfitted",
]

BOUNDS: dict[str, tuple[float, float]] = {
    "cluster.compute.mean": (1e-6, 1e3),
    "cluster.compute.cv": (0.0, 2.0),
    "network.efficiency": (1e-3, 1.0),
    "network.latency": (0.0, 1.0),
    "network.bandwidth": (1e3, 1e13),
    "network.reduce_rate": (1e6, 1e13),
}
"""Bounds of the keys that can be fitted without giving bounds (``KEY=LOW:HIGH`` sets others)."""

_FASTEST, _SLOWEST = 1e-9, 1e9
"""The range of a measured iteration time that calibration takes (a nanosecond to about 30 years)."""

_RANK_TOLERANCE = 1e-6
"""Smallest singular value of the scaled Jacobian, relative to its largest, that still counts as constrained."""


@dataclass(frozen=True)
class Measurement:
    """Seconds per iteration measured for ``algorithm`` on ``nodes`` nodes (None: a point only to predict).

    ``sets`` are ``key=value`` overrides that hold for this point alone (a
    message size, a rate of the test bench); ``note`` says in a few words
    what they make of the point, for tables (the overrides themselves without one).
    """

    algorithm: str
    nodes: int
    seconds: float | None
    sets: tuple[str, ...] = ()
    note: str = ""

    @property
    def label(self) -> str:
        """``algorithm:nodes`` and the point's note (or its own overrides), for tables."""
        return " ".join([f"{self.algorithm}:{self.nodes}", *((self.note,) if self.note else self.sets)])


@dataclass(frozen=True)
class Parameter:
    """A scenario key to fit within ``[low, high]``; with ``algorithm``, only for that algorithm's points."""

    key: str
    low: float
    high: float
    algorithm: str | None = None

    @property
    def name(self) -> str:
        """``key`` or ``key@algorithm``."""
        return self.key if self.algorithm is None else f"{self.key}@{self.algorithm}"

    def applies(self, measurement: Measurement) -> bool:
        """Whether this parameter's value is used for ``measurement``."""
        return self.algorithm is None or self.algorithm == measurement.algorithm


@dataclass(frozen=True)
class Point:
    """A measurement beside its simulated seconds: ``error`` is simulated over measured minus one."""

    measurement: Measurement
    simulated: float
    fitted: bool

    @property
    def error(self) -> float | None:
        """Relative error of the simulation (None for a point without a measured value)."""
        m = self.measurement.seconds
        return None if m is None else self.simulated / m - 1.0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields of the point."""
        m = self.measurement
        return {
            "label": m.label, "algorithm": m.algorithm, "nodes": m.nodes, "sets": list(m.sets), "measured": m.seconds,
            "simulated": self.simulated, "error": self.error, "role": "fitted" if self.fitted else "held out",
        }


@dataclass(frozen=True)
class Calibration:
    """Fitted values, their standard errors, the fitted points and what to beware of.

    Attributes
    ----------
    base : Scenario
        The scenario the fit started from.
    parameters : tuple of Parameter
        What was fitted.
    values : dict of str to float
        Fitted value by parameter name.
    std_errors : dict of str to float or None
        Standard error by parameter name (None where it cannot be estimated).
    points : tuple of Point
        The fitted measurements with their residuals.
    warnings : tuple of str
        Bounds reached, under-determination, missing degrees of freedom.
    """

    base: Scenario
    parameters: tuple[Parameter, ...]
    values: dict[str, float]
    std_errors: dict[str, float | None]
    points: tuple[Point, ...]
    warnings: tuple[str, ...] = field(default=())

    def overrides(self, measurement: Measurement) -> dict[str, float]:
        """The fitted keys that hold for ``measurement``."""
        return {p.key: self.values[p.name] for p in self.parameters if p.applies(measurement)}

    def scenario(self, algorithm: str) -> Scenario:
        """The base scenario with the values fitted for ``algorithm`` (its own and the shared ones)."""
        probe = Measurement(algorithm, self.base.cluster.nodes, None)
        return apply_overrides(self.base, {"algorithm.name": algorithm, **self.overrides(probe)})

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fitted values, uncertainties, points and warnings."""
        return {
            "parameters": [
                {"name": p.name, "value": self.values[p.name], "std_error": self.std_errors[p.name],
                 "low": p.low, "high": p.high}
                for p in self.parameters
            ],
            "fitted_points": [point.to_dict() for point in self.points],
            "warnings": list(self.warnings),
        }


def parse_measurement(text: str) -> Measurement:
    """Parse ``ALGORITHM:NODES=SECONDS[,KEY=VALUE...]`` (``allreduce:8=0.896``), or ``ALGORITHM:NODES`` to predict.

    ``KEY=VALUE`` after commas are keys that hold for this point alone.

    Examples
    --------
    >>> parse_measurement("sgp:32=0.426")
    Measurement(algorithm='sgp', nodes=32, seconds=0.426, sets=(), note='')
    >>> parse_measurement("sgp:64").seconds is None
    True
    >>> parse_measurement("allreduce:8=0.896,algorithm.collective=recursive-doubling").sets
    ('algorithm.collective=recursive-doubling',)
    """
    point, *sets = (part.strip() for part in text.split(","))
    head, sep, seconds = point.partition("=")
    algorithm, colon, nodes = head.partition(":")
    try:
        if not colon or not algorithm.strip() or (sep and not seconds.strip()) or any("=" not in k for k in sets):
            raise ValueError
        measurement = Measurement(algorithm.strip(), int(nodes), float(seconds) if sep else None, tuple(sets))
    except ValueError:
        raise ScenarioError(
            f"measurement {shown(text)}; expected ALGORITHM:NODES=SECONDS[,KEY=VALUE...], such as allreduce:8=0.896 "
            "(or ALGORITHM:NODES for a point to predict)"
        ) from None
    if measurement.nodes < 2 or not (measurement.seconds is None or _FASTEST <= measurement.seconds <= _SLOWEST):
        raise ScenarioError(
            f"measurement {shown(text)}; expected at least 2 nodes and seconds per iteration "
            f"in [{_FASTEST:g}, {_SLOWEST:g}]"
        )
    return measurement


def parse_parameter(text: str) -> Parameter:
    """Parse ``KEY[@ALGORITHM][=LOW:HIGH]`` (bounds default to :data:`BOUNDS`).

    Examples
    --------
    >>> parse_parameter("cluster.compute.mean@sgp")
    Parameter(key='cluster.compute.mean', low=1e-06, high=1000.0, algorithm='sgp')
    >>> parse_parameter("network.latency=0:1e-3").high
    0.001
    """
    head, sep, bounds = text.partition("=")
    key, at, algorithm = head.strip().partition("@")
    if not key or (at and not algorithm):
        raise ScenarioError(f"calibration parameter {shown(text)}; expected KEY[@ALGORITHM][=LOW:HIGH]")
    if sep:
        low_text, colon, high_text = bounds.partition(":")
        try:
            if not colon:
                raise ValueError
            low, high = float(low_text), float(high_text)
        except ValueError:
            raise ScenarioError(f"calibration parameter {shown(text)}; expected bounds LOW:HIGH, such as 0:1e-3") from None
    elif key in BOUNDS:
        low, high = BOUNDS[key]
    else:
        raise ScenarioError(
            f"calibration parameter {shown(text)} has no default bounds; give them as {key}=LOW:HIGH "
            f"(keys with defaults: {', '.join(BOUNDS)})"
        )
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ScenarioError(f"calibration parameter {shown(text)}; expected finite bounds with LOW < HIGH")
    return Parameter(key, low, high, algorithm or None)


def default_parameters(measurements: Iterable[Measurement]) -> tuple[Parameter, ...]:
    """A compute time per measured algorithm and a shared link efficiency.

    Examples
    --------
    >>> [p.name for p in default_parameters([Measurement("sgp", 4, 0.4), Measurement("allreduce", 4, 0.7)])]
    ['cluster.compute.mean@sgp', 'cluster.compute.mean@allreduce', 'network.efficiency']
    """
    algorithms = dict.fromkeys(m.algorithm for m in measurements)
    mean = BOUNDS["cluster.compute.mean"]
    return (*(Parameter("cluster.compute.mean", *mean, algorithm=a) for a in algorithms),
            Parameter("network.efficiency", *BOUNDS["network.efficiency"]))


def simulate(base: Scenario, measurement: Measurement, values: Mapping[str, float] | None = None) -> float:
    """Simulated seconds per iteration for ``measurement``'s point of ``base``, with ``values`` set.

    The run is timing-only (the schedule does not depend on the math); with a
    per-epoch pause it covers one whole epoch.
    """
    sets: dict[str, Any] = {"algorithm.name": measurement.algorithm, "cluster.nodes": measurement.nodes,
                            "timing_only": True, "eval_every": 0, **(values or {})}
    scenario = apply_overrides(apply_overrides(base, sets), list(measurement.sets))
    epoch = epoch_iterations(scenario.cluster)
    if epoch is not None:
        scenario = apply_overrides(scenario, {"iterations": epoch, "time_limit": None})
    if measurement.algorithm in analytic_names() and not scenario.analytic and scenario.time_limit is None:
        try:  # the analytic mode is the event mode's time whenever it answers, and much faster
            return float(run(apply_overrides(scenario, {"analytic": True})).summary["sim_time_per_iteration"])
        except ScenarioError as exc:
            if "event mode" not in str(exc):
                raise
    return float(run(scenario).summary["sim_time_per_iteration"])


def fit(base: Scenario, measurements: Sequence[Measurement], parameters: Sequence[Parameter] | None = None) -> Calibration:
    """Fit ``parameters`` (default: :func:`default_parameters`) of ``base`` to ``measurements``.

    Starts from the base scenario's values clipped into the bounds and
    minimises the sum of squared relative errors of simulated against
    measured seconds per iteration.

    Raises
    ------
    ScenarioError
        No measurement, a measurement without seconds, a parameter that
        applies to no measurement, or a key that is not a numeric scenario key.
    """
    if not measurements:
        raise ScenarioError("calibration needs at least one measurement")
    for m in measurements:
        if m.seconds is None:
            raise ScenarioError(f"measurement {m.label!r} has no measured seconds to fit; give ALGORITHM:NODES=SECONDS")
    params = tuple(default_parameters(measurements) if parameters is None else parameters)
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise ScenarioError(f"calibration parameters {names}; each may be fitted once")
    for p in params:
        if not any(p.applies(m) for m in measurements):
            raise ScenarioError(f"calibration parameter {p.name!r} applies to no measurement (algorithms measured: "
                                f"{sorted({m.algorithm for m in measurements})})")
    uses = np.array([[p.applies(m) for p in params] for m in measurements])
    for k, m in enumerate(measurements):
        keys = [p.key for p, used in zip(params, uses[k]) if used]
        if len(set(keys)) != len(keys):
            raise ScenarioError(f"calibration parameters {names} set one key twice for measurement {m.label!r}; "
                                "fit a key either shared or per algorithm")
    low = np.array([p.low for p in params])
    high = np.array([p.high for p in params])
    resolved = resolve(base)
    start = np.array([np.clip(_current(resolved, p), p.low, p.high) for p in params])
    measured = np.array([m.seconds for m in measurements], dtype=float)
    points = _Points(base, measurements, params, uses)

    def seconds(k: int, theta: np.ndarray) -> float:
        return points.seconds([(k, theta)])[0]

    def relative_errors(theta: np.ndarray) -> np.ndarray:
        return np.array(points.seconds([(k, theta) for k in range(len(measurements))])) / measured - 1.0

    # keys bounded away from 0 are searched by their logarithm: a time per iteration goes as 1 / efficiency or
    # 1 / bandwidth, nearly linear in log space, so the trust region gets there in a few steps
    logged = low > 0

    def value_of(u: np.ndarray) -> np.ndarray:
        return np.where(logged, np.exp(u), u)

    def search_of(v: np.ndarray) -> np.ndarray:
        return np.where(logged, np.log(np.where(logged, v, 1.0)), v)

    def jacobian(u: np.ndarray, search: bool = True) -> np.ndarray:
        """Forward differences, re-simulating only the points a parameter touches (inward at an upper bound).

        In the search space (``u``), or with ``search`` false by steps of the values themselves, which a model
        linear in them differentiates exactly (the standard errors are the linear least-squares ones then).
        """
        theta = value_of(u) if search else u
        steps, requests = [], []
        for j in range(len(params)):
            moved = (u if search else theta).copy()
            if search and logged[j]:
                step, top = 1e-4, np.log(high[j])
            else:
                step, top = 1e-4 * max(abs(moved[j]), 1e-3 * (high[j] - low[j])), high[j]
            if moved[j] + step > top:
                step = -step
            moved[j] += step
            steps.append(step)
            shifted = value_of(moved) if search else moved
            requests += [(int(k), shifted) for k in np.flatnonzero(uses[:, j])] + [(int(k), theta) for k in
                                                                                 np.flatnonzero(uses[:, j])]
        results = iter(points.seconds(requests))
        jac = np.zeros((len(measurements), len(params)))
        for j, step in enumerate(steps):
            touched = np.flatnonzero(uses[:, j])
            after = [next(results) for _ in touched]
            before = [next(results) for _ in touched]
            jac[touched, j] = (np.array(after) - np.array(before)) / measured[touched] / step
        return jac

    try:
        solution = least_squares(lambda u: relative_errors(value_of(u)), search_of(start), jac=jacobian,
                                 bounds=(search_of(low), search_of(high)), xtol=1e-8, ftol=1e-8, gtol=1e-8)
        x = value_of(solution.x)
        jac = jacobian(x, search=False)
        fitted_points = tuple(Point(m, seconds(k, x), True) for k, m in enumerate(measurements))
    finally:
        points.close()
    values = dict(zip(names, x.tolist()))
    std_errors, warnings = _uncertainty(params, x, jac, solution.fun, solution.active_mask)
    return Calibration(base, params, values, std_errors, fitted_points, tuple(warnings))


class _Points:
    """The fit's simulations: cached by the values that reach each point, and run in parallel once they are slow.

    The first batch runs here; if its points took more than :data:`_PARALLEL_AFTER` seconds each on average, the
    machine has more than one core and this process runs one thread (so that forking it is safe, and a user's
    script needs no ``__main__`` guard), later batches go to a pool of forked processes. The same inputs give the
    same floats in any process, so the fit does not change.
    """

    def __init__(self, base: Scenario, measurements: Sequence[Measurement], params: Sequence[Parameter],
                 uses: np.ndarray):
        self.base, self.measurements, self.params, self.uses = base, measurements, params, uses
        self.cache: dict[tuple[int, tuple[float, ...]], float] = {}
        self.pool: ProcessPoolExecutor | None = None
        self.timed = False

    def _key(self, k: int, theta: np.ndarray) -> tuple[int, tuple[float, ...]]:
        return k, tuple(float(v) for v, used in zip(theta, self.uses[k]) if used)

    def _job(self, key: tuple[int, tuple[float, ...]]) -> tuple[Scenario, Measurement, dict[str, float]]:
        k, own = key
        keys = [p.key for p, used in zip(self.params, self.uses[k]) if used]
        return self.base, self.measurements[k], dict(zip(keys, own))

    def seconds(self, requests: Sequence[tuple[int, np.ndarray]]) -> list[float]:
        """Simulated seconds per iteration of each ``(point, values)``."""
        keys = [self._key(k, theta) for k, theta in requests]
        missing = [key for key in dict.fromkeys(keys) if key not in self.cache]
        if self.pool is not None and len(missing) > 1:
            jobs = [self._job(key) for key in missing]
            for key, value in zip(missing, self.pool.map(simulate, *zip(*jobs))):
                self.cache[key] = value
        else:
            began = time.perf_counter()
            for key in missing:
                self.cache[key] = simulate(*self._job(key))
            self._maybe_parallel(len(missing), time.perf_counter() - began)
        return [self.cache[key] for key in keys]

    def _maybe_parallel(self, count: int, seconds: float) -> None:
        if self.timed or not count:
            return
        self.timed = True
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
        if cores > 1 and forkable and seconds / count > _PARALLEL_AFTER:
            self.pool = ProcessPoolExecutor(max_workers=min(cores, 8), mp_context=multiprocessing.get_context("fork"))

    def close(self) -> None:
        """Stop the pool, if one was started."""
        if self.pool is not None:
            self.pool.shutdown()


_PARALLEL_AFTER = 0.1
"""Mean seconds of one simulation above which a fit simulates its points in a pool of processes."""


def unfitted(base: Scenario) -> Calibration:
    """A calibration that fitted nothing: ``base`` as it is, for predicting with :func:`predict`."""
    return Calibration(base, (), {}, {}, ())


def predict(calibration: Calibration, measurements: Sequence[Measurement]) -> list[Point]:
    """Each measurement simulated with the fitted values that hold for it (a held-out point)."""
    base = calibration.base
    return [Point(m, simulate(base, m, calibration.overrides(m)), False) for m in measurements]


def held_out_summary(points: Sequence[Point]) -> dict[str, float | None]:
    """Worst and mean absolute relative error of the held-out points that have a measured value.

    Examples
    --------
    >>> m = Measurement("sgp", 4, 1.0)
    >>> held_out_summary([Point(m, 1.1, False), Point(m, 0.97, False), Point(m, 2.0, True)])
    {'worst': 0.10000000000000009, 'mean': 0.06500000000000006}
    """
    errors = [abs(p.error) for p in points if not p.fitted and p.error is not None]
    return {"worst": max(errors), "mean": float(np.mean(errors))} if errors else {"worst": None, "mean": None}


def _uncertainty(
    params: Sequence[Parameter], x: np.ndarray, jac: np.ndarray, residuals: np.ndarray, active: np.ndarray
) -> tuple[dict[str, float | None], list[str]]:
    """Standard errors from ``s^2 (J^T J)^-1`` and the warnings a reader of the fit must see."""
    m, n = jac.shape
    warnings = []
    for p, value, side in zip(params, x, active):
        if side:
            bound = p.low if side < 0 else p.high
            warnings.append(
                f"{p.name} = {value:.6g} sits at its {'lower' if side < 0 else 'upper'} bound {bound:g}: the points "
                "ask for a value outside the bounds, so the model misses them in a way this key cannot absorb"
            )
    norms = np.linalg.norm(jac, axis=0)
    unit = jac / np.where(norms > 0, norms, 1.0)  # columns of unit length: collinear keys show as a null direction
    singular = np.linalg.svd(unit, compute_uv=False) if m and n else np.zeros(0)
    rank = int(np.sum(singular > _RANK_TOLERANCE * singular.max(initial=0.0))) if singular.size else 0
    if m < n:
        warnings.append(f"under-determined: {n} parameters from {m} points; the fitted values are one solution of many")
    elif rank < n:
        _, _, vt = np.linalg.svd(unit)
        mixed = [params[int(j)].name for j in np.flatnonzero(np.abs(vt[-1]) > 0.3)]
        warnings.append(f"under-determined: the points do not constrain {' and '.join(mixed) or 'a combination'} "
                        "separately (fix one of them, or add points that tell them apart)")
    std: dict[str, float | None] = dict.fromkeys((p.name for p in params), None)
    if m > n and rank == n:
        cov = np.linalg.inv(jac.T @ jac) * float(residuals @ residuals) / (m - n)
        std = {p.name: float(np.sqrt(max(cov[j, j], 0.0))) for j, p in enumerate(params)}
    elif rank == n:
        warnings.append(f"{n} parameters from {m} points leave no residual to estimate their uncertainty from")
    return std, warnings


def _current(scenario: Scenario, parameter: Parameter) -> float:
    """The resolved scenario's value of the key: the start of the fit (an unset one starts mid-range)."""
    value: object = scenario
    for part in parameter.key.split("."):
        if not hasattr(value, part):
            raise ScenarioError(f"calibration key {parameter.key!r} is not a scenario key")
        value = getattr(value, part)
    if value is None:
        low, high = parameter.low, parameter.high
        return float(np.sqrt(low * high)) if low > 0 else (low + high) / 2
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ScenarioError(f"calibration key {parameter.key!r} is not numeric (it is {shown(value)})")
    return float(value)
