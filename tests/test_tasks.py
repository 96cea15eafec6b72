"""Tests of simsgp.tasks: gradients, optima, training, sharding, batches and payload sizes."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from simsgp import tasks as tasks_module
from simsgp.errors import ScenarioError
from simsgp.tasks import (
    PAYLOADS,
    TASKS,
    LogisticDigitsTask,
    MLPDigitsTask,
    QuadraticTask,
    Task,
    make_task,
    payload_bytes,
    shard_dirichlet,
    shard_iid,
)


@pytest.fixture(scope="module")
def digits():
    """Four-node digits task, loaded once for the module (it is immutable)."""
    return LogisticDigitsTask.from_rng(4, np.random.default_rng(0))


@pytest.fixture(scope="module")
def mlp():
    """Four-node MLP digits task with a narrow hidden layer (dim 610), loaded once."""
    return MLPDigitsTask.from_rng(4, np.random.default_rng(0), hidden=8)


@pytest.fixture
def quadratic(rng):
    return QuadraticTask.from_rng(5, rng, dim=6, heterogeneity=2.0)


def central_differences(f, x, eps=1e-6):
    """Gradient of scalar `f` at `x` by central differences, one coordinate at a time."""
    g = np.empty_like(x)
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = eps
        g[j] = (f(x + step) - f(x - step)) / (2 * eps)
    return g


def full_objective(task, x):
    """Global quadratic objective (1/n) sum_i f_i(x), from the nodes' own losses."""
    zeros = np.zeros(task.dim)
    return np.mean([task.grad(i, x, zeros)[0] for i in range(task.n_nodes)])


def full_gradient(task, x):
    zeros = np.zeros(task.dim)
    return np.mean([task.grad(i, x, zeros)[1] for i in range(task.n_nodes)], axis=0)


# --- gradients ---------------------------------------------------------------


@pytest.mark.parametrize("node", [0, 3])
def test_quadratic_grad_matches_finite_differences(quadratic, rng, node):
    zeros = np.zeros(quadratic.dim)
    for _ in range(3):
        x = 3.0 * rng.standard_normal(quadratic.dim)
        _, g = quadratic.grad(node, x, zeros)
        numeric = central_differences(lambda v: quadratic.grad(node, v, zeros)[0], x)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_quadratic_grad_adds_scaled_noise_draws(quadratic, rng):
    noisy = QuadraticTask(quadratic.curvature, quadratic.centers, noise=0.3)
    x = rng.standard_normal(quadratic.dim)
    draws = noisy.sample_batch(1, rng)
    loss, g = noisy.grad(1, x, draws)
    clean_loss, clean_g = quadratic.grad(1, x, np.zeros(quadratic.dim))
    assert loss == clean_loss
    np.testing.assert_allclose(g, clean_g + 0.3 * draws, rtol=1e-15)


@pytest.mark.parametrize("node", [0, 2])
def test_logistic_grad_matches_finite_differences(digits, rng, node):
    for _ in range(2):
        x = 0.5 * rng.standard_normal(digits.dim)
        batch = digits.sample_batch(node, rng)
        _, g = digits.grad(node, x, batch)
        numeric = central_differences(lambda v, batch=batch: digits.grad(node, v, batch)[0], x)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_logistic_grad_loss_on_whole_single_shard_equals_loss(rng):
    """With one node, the batch of every training row gives the full training loss."""
    task = LogisticDigitsTask.from_rng(1, rng)
    x = 0.5 * rng.standard_normal(task.dim)
    loss, _ = task.grad(0, x, np.arange(len(task.shards[0])))
    np.testing.assert_allclose(loss, task.loss(x), rtol=1e-12)


@pytest.mark.parametrize("node", [0, 3])
def test_mlp_grad_matches_finite_differences(mlp, rng, node):
    for _ in range(2):
        x = mlp.init_params(rng) + 0.1 * rng.standard_normal(mlp.dim)
        batch = mlp.sample_batch(node, rng)
        _, g = mlp.grad(node, x, batch)
        numeric = central_differences(lambda v, batch=batch: mlp.grad(node, v, batch)[0], x)
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)


def test_mlp_grad_loss_on_whole_single_shard_equals_loss(rng):
    task = MLPDigitsTask.from_rng(1, rng, hidden=8)
    x = task.init_params(rng)
    loss, _ = task.grad(0, x, np.arange(len(task.shards[0])))
    np.testing.assert_allclose(loss, task.loss(x), rtol=1e-12)


def test_mlp_parameter_layout_is_w1_then_w2_with_bias_rows_last(mlp, rng):
    """The loss is that of logits [relu(a @ W1), 1] @ W2, with W1, W2 cut from x as documented."""
    x = rng.standard_normal(mlp.dim)
    w1 = x[: 65 * 8].reshape(65, 8)
    w2 = x[65 * 8 :].reshape(9, 10)
    a = mlp.features
    logits = np.hstack([np.maximum(a @ w1, 0.0), np.ones((len(a), 1))]) @ w2
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -np.mean(log_softmax[np.arange(len(a)), mlp.targets.argmax(axis=1)])
    np.testing.assert_allclose(mlp.loss(x), expected, rtol=1e-12)
    assert mlp.dim == 65 * 8 + 9 * 10


def test_mlp_init_params_he_and_glorot_scales_zero_biases():
    task = MLPDigitsTask.from_rng(1, np.random.default_rng(0), hidden=64)
    x = task.init_params(np.random.default_rng(1))
    w1 = x[: 65 * 64].reshape(65, 64)
    w2 = x[65 * 64 :].reshape(65, 10)
    assert not w1[-1].any() and not w2[-1].any()
    # 4096 and 640 draws: the sample standard deviations are within ~3% and ~8% (3 sigma).
    np.testing.assert_allclose(w1[:-1].std(), np.sqrt(2 / 64), rtol=0.05)
    np.testing.assert_allclose(w2[:-1].std(), np.sqrt(2 / (64 + 10)), rtol=0.1)


def test_mlp_rejects_empty_hidden_layer(mlp):
    with pytest.raises(ValueError, match="hidden"):
        MLPDigitsTask(
            mlp.features, mlp.targets, mlp.test_features, mlp.test_labels, mlp.shards, hidden=0
        )


# --- quadratic optimum ---------------------------------------------------------


def test_quadratic_optimum_zeroes_full_gradient_and_loss(quadratic, rng):
    opt = quadratic.optimum()
    np.testing.assert_allclose(full_gradient(quadratic, opt), 0.0, atol=1e-12)
    assert abs(quadratic.loss(opt)) <= 1e-12
    for _ in range(5):
        assert quadratic.loss(opt + 0.1 * rng.standard_normal(quadratic.dim)) > 0.0


def test_quadratic_optimum_is_mean_of_centres_by_numerical_minimisation(quadratic):
    found = minimize(
        lambda v: full_objective(quadratic, v),
        np.zeros(quadratic.dim),
        jac=lambda v: full_gradient(quadratic, v),
        method="BFGS",
        options={"gtol": 1e-12},
    )
    np.testing.assert_allclose(found.x, quadratic.centers.mean(axis=0), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(quadratic.optimum(), quadratic.centers.mean(axis=0), rtol=1e-15)


def test_quadratic_loss_is_global_objective_above_its_minimum(quadratic, rng):
    f_min = full_objective(quadratic, quadratic.optimum())
    for _ in range(3):
        x = rng.standard_normal(quadratic.dim)
        np.testing.assert_allclose(
            quadratic.loss(x), full_objective(quadratic, x) - f_min, rtol=1e-10
        )


def test_quadratic_from_rng_zero_heterogeneity_gives_equal_centres(rng):
    task = QuadraticTask.from_rng(4, rng, dim=3, heterogeneity=0.0)
    np.testing.assert_array_equal(task.centers, np.broadcast_to(task.centers[0], (4, 3)))


@pytest.mark.parametrize(
    ("curvature", "centers", "noise", "match"),
    [
        (np.array([1.0, 0.0]), np.zeros((2, 2)), 0.0, "curvature"),
        (np.ones(2), np.zeros((2, 3)), 0.0, "centers"),
        (np.ones(2), np.zeros((2, 2)), -0.1, "noise"),
    ],
)
def test_quadratic_rejects_inconsistent_arrays(curvature, centers, noise, match):
    with pytest.raises(ValueError, match=match):
        QuadraticTask(curvature, centers, noise)


# --- logistic digits training ---------------------------------------------------


def test_logistic_full_batch_gradient_descent_reaches_90_percent_test_accuracy(rng):
    """300 full-batch steps (lr 2.0) from the seeded init reach >= 0.9 test accuracy."""
    task = LogisticDigitsTask.from_rng(1, rng)
    rows = np.arange(len(task.shards[0]))
    x = task.init_params(rng)
    first_loss, _ = task.grad(0, x, rows)
    for _ in range(300):
        _, g = task.grad(0, x, rows)
        x = x - 2.0 * g
    assert task.loss(x) < first_loss
    assert task.accuracy(x) >= 0.9


def test_mlp_full_batch_gradient_descent_reaches_95_percent_test_accuracy(rng):
    """200 full-batch steps (lr 0.5, hidden 32) from the seeded init reach >= 0.95 test accuracy.

    Seed 0 gives 0.978; the loop takes about 0.1 s.
    """
    task = MLPDigitsTask.from_rng(1, rng)
    rows = np.arange(len(task.shards[0]))
    x = task.init_params(rng)
    first_loss, _ = task.grad(0, x, rows)
    for _ in range(200):
        _, g = task.grad(0, x, rows)
        x = x - 0.5 * g
    assert task.loss(x) < 0.1 * first_loss
    assert task.accuracy(x) >= 0.95


# --- sharding and batches --------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    n_samples=st.integers(0, 400),
    n_nodes=st.integers(1, 40),
    seed=st.integers(0, 2**32 - 1),
)
def test_shard_iid_partitions_indices_evenly_and_reproducibly(n_samples, n_nodes, seed):
    shards = shard_iid(n_samples, n_nodes, np.random.default_rng(seed))
    again = shard_iid(n_samples, n_nodes, np.random.default_rng(seed))
    assert len(shards) == n_nodes
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), np.arange(n_samples))
    sizes = [len(s) for s in shards]
    assert max(sizes) - min(sizes) <= 1
    assert all(np.array_equal(a, b) for a, b in zip(shards, again))


@settings(max_examples=60, deadline=None)
@given(
    n_nodes=st.integers(1, 40),
    extra=st.integers(0, 200),
    alpha=st.floats(0.01, 100.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_shard_dirichlet_partitions_indices_non_empty_and_reproducibly(n_nodes, extra, alpha, seed):
    labels = np.random.default_rng(seed).integers(0, 10, size=n_nodes + extra)
    shards = shard_dirichlet(labels, n_nodes, alpha, np.random.default_rng(seed))
    again = shard_dirichlet(labels, n_nodes, alpha, np.random.default_rng(seed))
    assert len(shards) == n_nodes
    np.testing.assert_array_equal(np.sort(np.concatenate(shards)), np.arange(len(labels)))
    assert min(len(s) for s in shards) >= 1
    assert all(np.array_equal(a, b) for a, b in zip(shards, again))


def mean_max_class_fraction(labels, shards):
    """Mean over nodes of the largest fraction of a node's samples sharing one label."""
    return np.mean([np.bincount(labels[s]).max() / len(s) for s in shards])


def test_shard_dirichlet_small_alpha_skews_labels_more_than_large_alpha(digits):
    """On the 1438 digits training labels over 16 nodes (seed 0), the mean max class
    fraction is 0.79 for alpha = 0.05 and 0.12 for alpha = 100 (IID floor: about 0.1)."""
    labels = digits.targets.argmax(axis=1)
    skewed = shard_dirichlet(labels, 16, 0.05, np.random.default_rng(0))
    even = shard_dirichlet(labels, 16, 100.0, np.random.default_rng(0))
    assert mean_max_class_fraction(labels, skewed) > 0.6
    assert mean_max_class_fraction(labels, even) < 0.2


def test_shard_dirichlet_one_sample_per_node_when_nodes_equal_samples():
    """At alpha 0.01 most of the 12 nodes draw nothing; the moves leave one index each."""
    labels = np.repeat(np.arange(3), 4)
    shards = shard_dirichlet(labels, 12, 0.01, np.random.default_rng(0))
    assert [len(s) for s in shards] == [1] * 12


@pytest.mark.parametrize(
    ("n_nodes", "alpha", "match"),
    [(0, 1.0, "n_nodes"), (5, 1.0, "n_nodes"), (2, 0.0, "alpha")],
)
def test_shard_dirichlet_rejects_bad_arguments(n_nodes, alpha, match):
    with pytest.raises(ValueError, match=match):
        shard_dirichlet(np.array([0, 1, 0, 1]), n_nodes, alpha, np.random.default_rng(0))


def test_digits_dirichlet_partition_shards_training_labels():
    """partition="dirichlet" is shard_dirichlet on the training labels, drawn after the split."""
    task = LogisticDigitsTask.from_rng(
        6, np.random.default_rng(2), partition="dirichlet", dirichlet_alpha=0.3
    )
    split = np.random.default_rng(2)
    split.permutation(1797)
    expected = shard_dirichlet(task.targets.argmax(axis=1), 6, 0.3, split)
    assert all(np.array_equal(a, b) for a, b in zip(task.shards, expected))


def test_digits_from_rng_rejects_unknown_partition():
    with pytest.raises(ScenarioError, match=re.escape("task.partition='zipf'; expected one of")):
        MLPDigitsTask.from_rng(2, np.random.default_rng(0), partition="zipf")


def test_logistic_sample_batch_distinct_positions_in_shard(digits):
    for node in range(digits.n_nodes):
        batch = digits.sample_batch(node, np.random.default_rng(node))
        assert len(batch) == digits.batch_size
        assert len(np.unique(batch)) == len(batch)
        assert batch.min() >= 0 and batch.max() < len(digits.shards[node])


def test_logistic_sample_batch_same_seed_same_batch(digits):
    a = digits.sample_batch(1, np.random.default_rng(7))
    b = digits.sample_batch(1, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)


def test_logistic_sample_batch_whole_shard_when_smaller_than_batch(rng):
    task = LogisticDigitsTask.from_rng(100, rng, batch_size=32)
    for node in (0, 99):
        batch = task.sample_batch(node, rng)
        np.testing.assert_array_equal(np.sort(batch), np.arange(len(task.shards[node])))


def test_quadratic_sample_batch_same_seed_same_draws(quadratic):
    a = quadratic.sample_batch(0, np.random.default_rng(3))
    b = quadratic.sample_batch(0, np.random.default_rng(3))
    assert a.shape == (quadratic.dim,)
    np.testing.assert_array_equal(a, b)


# --- vectorised evaluation ---------------------------------------------------------


@pytest.mark.parametrize("fixture", ["digits", "mlp"])
def test_digits_loss_many_and_accuracy_many_equal_loops(request, rng, fixture):
    task = request.getfixturevalue(fixture)
    xs = 0.5 * rng.standard_normal((5, task.dim))
    np.testing.assert_allclose(task.loss_many(xs), [task.loss(x) for x in xs], rtol=1e-12)
    np.testing.assert_array_equal(task.accuracy_many(xs), [task.accuracy(x) for x in xs])


@pytest.mark.parametrize("fixture", ["digits", "mlp"])
def test_digits_evaluation_in_chunks_is_bit_identical(request, rng, monkeypatch, fixture):
    """Memory stays linear in nodes x parameters: models are evaluated a few at a time."""
    task = request.getfixturevalue(fixture)
    xs = 0.5 * rng.standard_normal((7, task.dim))
    whole = task.loss_many(xs), task.accuracy_many(xs)
    monkeypatch.setattr(tasks_module, "_EVAL_BYTES", 1)  # one model per chunk
    np.testing.assert_array_equal(task.loss_many(xs), whole[0])
    np.testing.assert_array_equal(task.accuracy_many(xs), whole[1])


def test_quadratic_loss_many_equals_loop_and_has_no_accuracy(quadratic, rng):
    xs = rng.standard_normal((4, quadratic.dim))
    np.testing.assert_allclose(quadratic.loss_many(xs), [quadratic.loss(x) for x in xs], rtol=1e-12)
    assert quadratic.accuracy(xs[0]) is None
    assert quadratic.accuracy_many(xs) is None


# --- make_task ----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_make_task_builds_every_registered_task(name):
    task = make_task(name, 3, np.random.default_rng(0))
    assert isinstance(task, Task)
    assert (task.name, task.n_nodes) == (name, 3)
    x = task.init_params(np.random.default_rng(1))
    assert x.shape == (task.dim,)
    np.testing.assert_array_equal(x, task.init_params(np.random.default_rng(1)))
    loss, g = task.grad(2, x, task.sample_batch(2, np.random.default_rng(2)))
    assert np.isfinite(loss) and g.shape == (task.dim,)


def test_make_task_same_seed_same_task():
    a = make_task("logistic-digits", 3, np.random.default_rng(5))
    b = make_task("logistic-digits", 3, np.random.default_rng(5))
    np.testing.assert_array_equal(a.features, b.features)
    assert all(np.array_equal(s, t) for s, t in zip(a.shards, b.shards))


def test_make_task_passes_digits_options_through():
    options = {"batch_size": 8, "partition": "dirichlet", "dirichlet_alpha": 0.2}
    task = make_task("mlp-digits", 3, np.random.default_rng(4), hidden=5, **options)
    twin = MLPDigitsTask.from_rng(3, np.random.default_rng(4), hidden=5, **options)
    assert (task.hidden, task.batch_size, task.dim) == (5, 8, 65 * 5 + 6 * 10)
    assert all(np.array_equal(a, b) for a, b in zip(task.shards, twin.shards))


def test_make_task_refuses_a_parameter_the_task_does_not_have_naming_who_has_it():
    with pytest.raises(ScenarioError, match=re.escape(
        "task.hidden=7: not a parameter of task.name='quadratic'; its parameters are ['dim', 'heterogeneity', 'noise']; "
        "hidden is a parameter of ['mlp-digits']"
    )):
        make_task("quadratic", 3, np.random.default_rng(0), hidden=7)


def test_make_task_rejects_unknown_name():
    with pytest.raises(ScenarioError, match=re.escape("task.name='foo'; expected one of")):
        make_task("foo", 2, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("name", "kwargs", "field"),
    [
        ("quadratic", {"n_nodes": 0}, "cluster.nodes=0; expected an integer >= 1"),
        ("logistic-digits", {"batch_size": 0}, "task.batch_size=0; expected an integer >= 1"),
        ("quadratic", {"dim": 0}, "task.dim=0; expected an integer >= 1"),
        ("quadratic", {"noise": -1.0}, "task.noise=-1.0; expected a finite number >= 0"),
        ("quadratic", {"heterogeneity": -0.5}, "task.heterogeneity=-0.5; expected a finite number >= 0"),
        ("mlp-digits", {"hidden": 0}, "task.hidden=0; expected an integer >= 1"),
        ("logistic-digits", {"partition": "zipf"}, "task.partition='zipf'; expected one of ['dirichlet', 'iid']"),
        ("mlp-digits", {"dirichlet_alpha": 0.0}, "task.dirichlet_alpha=0.0; expected a positive finite number"),
        ("quadratic", {"dim": 2.5}, "task.dim=2.5; expected an integer"),
    ],
)
def test_make_task_rejects_out_of_range_value_naming_field(name, kwargs, field):
    args = {"name": name, "n_nodes": 2, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(ScenarioError, match="^" + re.escape(field)):
        make_task(**args)


def test_make_task_rejects_more_nodes_than_digits_training_samples():
    with pytest.raises(ScenarioError, match=re.escape("cluster.nodes=5000; expected at most")):
        make_task("logistic-digits", 5000, np.random.default_rng(0))


# --- payload_bytes --------------------------------------------------------------------


def test_payload_bytes_task_is_float64_parameters():
    assert payload_bytes("task", 650) == 650 * 8


def test_payload_bytes_resnet50_is_fp32_paper_size():
    assert payload_bytes("resnet50", 650) == 102_228_128
    assert payload_bytes("resnet50", 650, dtype_bytes=2) == PAYLOADS["resnet50"] * 2


def test_payload_bytes_number_is_bytes():
    assert payload_bytes(1000, 650) == 1000
    assert payload_bytes(1.5e3, 650) == 1500


@pytest.mark.parametrize("bad", ["foo", -1, 0, 0.0, True, float("nan"), float("inf")])
def test_payload_bytes_rejects_bad_value(bad):
    message = f'task.payload={bad!r}; expected "task", one of {sorted(PAYLOADS)}'
    with pytest.raises(ScenarioError, match=re.escape(message)):
        payload_bytes(bad, 650)
