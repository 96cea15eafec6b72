"""Mean and confidence interval of a metric over repeated runs (several seeds of one point)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

__all__ = ["LEVEL", "mean_ci"]

LEVEL = 0.95
"""The confidence level of every interval simsgp reports."""


def mean_ci(values: Iterable[float | None], level: float = LEVEL) -> tuple[float, float, int]:
    """Mean, half-width of its Student-t confidence interval, and how many values were finite.

    ``None``, NaN and infinite values (failed or diverged runs) are left out.
    The interval is ``mean +- t * s / sqrt(k)`` with ``s`` the sample
    standard deviation of the ``k`` finite values and ``t`` the
    ``(1 + level) / 2`` quantile of Student's t with ``k - 1`` degrees of
    freedom; with one value the half-width is NaN (no spread to estimate),
    with none the mean is NaN too.

    Examples
    --------
    >>> mean, half, k = mean_ci([1.0, 2.0, 3.0, None])
    >>> round(mean, 12), round(half, 6), k
    (2.0, 2.484138, 3)
    >>> mean_ci([5.0]), mean_ci([0.5, 0.5, 0.5])
    ((5.0, nan, 1), (0.5, 0.0, 3))
    """
    finite = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    k = len(finite)
    if k == 0:
        return math.nan, math.nan, 0
    mean = float(finite.mean())
    if k == 1:
        return mean, math.nan, 1
    if finite.min() == finite.max():  # no spread; the float residue of the mean would show as a tiny interval
        return mean, 0.0, k
    from scipy import stats  # here: importing scipy.stats costs a quarter of a second

    t = float(stats.t.ppf((1 + level) / 2, k - 1))
    return mean, t * float(finite.std(ddof=1)) / math.sqrt(k), k
