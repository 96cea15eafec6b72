import numpy as np
import pytest

from simsgp.cluster import ComputeTimes, lognormal_params


def _draws(ct, node, k):
    return np.array([ct.duration(node, 0.0) for _ in range(k)])


def test_compute_constant_with_slow_node():
    ct = ComputeTimes("constant", 0.2, 3, np.random.SeedSequence(1), multipliers={2: 4.0})
    assert _draws(ct, 0, 3).tolist() == [0.2] * 3
    assert _draws(ct, 2, 2).tolist() == [pytest.approx(0.8)] * 2


def test_compute_lognormal_mean_and_cv_match_parameters():
    """Sample mean and cv within 5 standard errors of the requested ones (20k draws)."""
    mean, cv, k = 0.1, 0.3, 20_000
    ct = ComputeTimes("lognormal", mean, 1, np.random.SeedSequence(7), cv=cv)
    x = _draws(ct, 0, k)
    assert abs(x.mean() - mean) < 5 * cv * mean / np.sqrt(k)
    assert x.std() / x.mean() == pytest.approx(cv, rel=0.05)


def test_lognormal_params_reproduce_mean():
    mu, sigma = lognormal_params(0.25, 0.5)
    assert np.exp(mu + sigma**2 / 2) == pytest.approx(0.25, rel=1e-12)


def test_compute_streams_are_per_node_and_seeded():
    """A node's draws do not depend on how often other nodes drew before it."""
    a = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(3), cv=0.2)
    b = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(3), cv=0.2)
    _draws(a, 0, 5000)  # node 0 draws past a block boundary first
    np.testing.assert_array_equal(_draws(a, 1, 10), _draws(b, 1, 10))
    np.testing.assert_array_equal(_draws(a, 0, 3), _draws(b, 0, 5003)[-3:])


def test_compute_slow_node_scales_lognormal_draws():
    fast = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(5), cv=0.2)
    slow = ComputeTimes("lognormal", 0.1, 2, np.random.SeedSequence(5), cv=0.2, multipliers={1: 3.0})
    np.testing.assert_allclose(_draws(slow, 1, 10), 3.0 * _draws(fast, 1, 10), rtol=1e-15)


def test_compute_rejects_unknown_model():
    with pytest.raises(ValueError, match="expected one of"):
        ComputeTimes("weibull", 0.1, 2, np.random.SeedSequence(0))
