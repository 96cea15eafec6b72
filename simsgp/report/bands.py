"""The mean of several seeds' curves and its 95 % interval, on a common time grid.

Seeds of one scenario evaluate at the same iterations but, with random
compute times, at different simulated times; to average them each curve is
interpolated linearly onto one grid of times: every time at which some seed
was evaluated, between the latest first evaluation and the earliest last
one (no curve is extrapolated). The mean and the half-width of its
interval at each time are :func:`simsgp.report.stats.mean_ci` of the
seeds' values there, as in the tables.

Examples
--------
>>> t = np.array([1.0, 2.0, 3.0])
>>> band = mean_band([(t, np.array([1.0, 2.0, 3.0])), (t + 0.5, np.array([3.0, 4.0, 5.0]))])
>>> band.time.tolist(), band.mean.tolist(), band.seeds
([1.5, 2.0, 2.5, 3.0], [2.25, 2.75, 3.25, 3.75], 2)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from simsgp.report.stats import LEVEL, mean_ci

__all__ = ["Band", "common_grid", "mean_band"]


class Band(NamedTuple):
    """Mean of several curves and the half-width of its interval at each time of a common grid.

    ``half`` is NaN where fewer than two curves have a finite value;
    ``seeds`` counts the curves with a finite value somewhere.
    """

    time: np.ndarray
    mean: np.ndarray
    half: np.ndarray
    seeds: int


def common_grid(times: Sequence[np.ndarray]) -> np.ndarray:
    """Every time of ``times`` (each ascending) from the latest first one to the earliest last one, sorted, once.

    Examples
    --------
    >>> common_grid([np.array([0.5, 1.0, 1.5]), np.array([0.6, 1.2, 1.4])]).tolist()
    [0.6, 1.0, 1.2, 1.4]
    """
    if not times or any(len(t) == 0 for t in times):
        return np.empty(0)
    start, stop = max(t[0] for t in times), min(t[-1] for t in times)
    every = np.unique(np.concatenate(times))
    return every[(every >= start) & (every <= stop)]


def mean_band(curves: Sequence[tuple[np.ndarray, np.ndarray]], level: float = LEVEL) -> Band:
    """Mean and interval of ``curves`` (``(time, value)`` pairs, time ascending) on their :func:`common_grid`.

    Points whose value is NaN are left out of their curve first, and curves
    left without points are not counted.
    """
    kept = []
    for time, values in curves:
        finite = np.isfinite(values)
        if finite.any():
            kept.append((np.asarray(time, dtype=float)[finite], np.asarray(values, dtype=float)[finite]))
    grid = common_grid([t for t, _ in kept])
    on_grid = np.array([np.interp(grid, t, v) for t, v in kept]).reshape(len(kept), len(grid))
    stats = [mean_ci(on_grid[:, j].tolist(), level) for j in range(len(grid))]
    mean = np.array([s[0] for s in stats], dtype=float)
    half = np.array([s[1] for s in stats], dtype=float)
    return Band(grid, mean, half, len(kept))
