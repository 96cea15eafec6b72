"""The mean and 95 % interval over seeds: Student-t quantiles from a printed table, and coverage by simulation."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from simsgp.report.stats import mean_ci

# Two-sided 95 % quantiles t_{0.975, df} as printed in statistics tables (e.g. NIST/SEMATECH e-Handbook, table 1.4.2.3.2)
T_TABLE = {1: 12.706, 2: 4.303, 4: 2.776, 9: 2.262, 29: 2.045}


@pytest.mark.parametrize("df", sorted(T_TABLE))
def test_half_width_uses_the_printed_t_quantile(df):
    values = np.arange(df + 1, dtype=float)
    _, half, k = mean_ci(values)
    s = values.std(ddof=1)
    assert k == df + 1
    assert half / (s / math.sqrt(k)) == pytest.approx(T_TABLE[df], abs=5e-4)


def test_interval_covers_the_true_mean_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    trials = 4000
    hits = 0
    for _ in range(trials):
        mean, half, _ = mean_ci(rng.normal(3.0, 2.0, size=5))
        hits += abs(mean - 3.0) <= half
    assert abs(hits / trials - 0.95) < 0.012  # 3.5 binomial standard deviations


@given(st.lists(st.one_of(st.none(), st.floats(-1e6, 1e6), st.just(math.nan), st.just(math.inf)), max_size=12))
def test_failed_runs_are_left_out(values):
    finite = [v for v in values if v is not None and math.isfinite(v)]
    mean, half, k = mean_ci(values)
    assert k == len(finite)
    if finite:
        assert mean == pytest.approx(sum(finite) / len(finite), rel=1e-9, abs=1e-6)
        assert math.isnan(half) if k == 1 else half >= 0
    else:
        assert math.isnan(mean) and math.isnan(half)
