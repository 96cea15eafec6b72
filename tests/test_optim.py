import numpy as np
import pytest

from simsgp.learn.optim import SGDConfig, sgd_update


def test_sgd_update_matches_hand_computed_nesterov_steps():
    cfg = SGDConfig(lr=0.5, momentum=0.5, weight_decay=0.1, nesterov=True)
    x, buf = np.array([2.0]), np.zeros(1)
    x1, buf1 = sgd_update(x, np.array([1.0]), buf, cfg)
    # g = 1 + 0.1 * 2 = 1.2; buf = 1.2; step = 1.2 + 0.5 * 1.2 = 1.8; x = 2 - 0.9
    assert buf1.tolist() == [pytest.approx(1.2)] and x1.tolist() == [pytest.approx(1.1)]
    x2, buf2 = sgd_update(x1, np.array([0.0]), buf1, cfg)
    # g = 0.11; buf = 0.6 + 0.11 = 0.71; step = 0.11 + 0.355 = 0.465
    assert buf2.tolist() == [pytest.approx(0.71)] and x2.tolist() == [pytest.approx(1.1 - 0.2325)]


def test_sgd_update_heavy_ball_and_plain():
    heavy = SGDConfig(lr=1.0, momentum=0.5, nesterov=False)
    x, buf = sgd_update(np.zeros(1), np.ones(1), np.ones(1), heavy)
    assert buf.tolist() == [1.5] and x.tolist() == [-1.5]
    plain = SGDConfig(lr=0.1)
    x, buf = sgd_update(np.ones(2), np.ones(2), np.zeros(2), plain)
    np.testing.assert_array_equal(x, [0.9, 0.9])


def test_sgd_update_does_not_mutate_inputs():
    x, g, buf = np.ones(3), np.ones(3), np.ones(3)
    sgd_update(x, g, buf, SGDConfig(lr=0.1, momentum=0.9, weight_decay=0.01))
    assert x.tolist() == g.tolist() == buf.tolist() == [1.0, 1.0, 1.0]


def test_sgd_update_is_linear_in_gradient_over_nodes(rng):
    """Averaging after per-node steps equals one step with the averaged gradient (SGP on K_n = allreduce)."""
    cfg = SGDConfig(lr=0.1, momentum=0.9, weight_decay=1e-4)
    x = np.tile(rng.normal(size=4), (3, 1))
    g = rng.normal(size=(3, 4))
    buf = rng.normal(size=(3, 4))
    stepped, _ = sgd_update(x, g, buf, cfg)
    together, _ = sgd_update(x[0], g.mean(axis=0), buf.mean(axis=0), cfg)
    np.testing.assert_allclose(stepped.mean(axis=0), together, rtol=1e-12)
