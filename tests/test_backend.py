"""Tests of simsgp.learn.backend: choosing a backend, and the node math on torch matching numpy.

The torch tests are skipped where PyTorch is not installed (it is optional:
``pip install 'simsgp[torch]'``); they run the kernels on the CPU, so they need
no GPU. Tolerances are 1e-12 relative to the largest entry: float64 on both
sides, differing only in BLAS summation order.
"""

import pickle
import sys

import array_api_compat
import numpy as np
import pytest

from simsgp.algorithms import ALGORITHMS
from simsgp.errors import ScenarioError
from simsgp.learn import pushsum
from simsgp.learn.backend import BACKENDS, DEVICES, Backend, array_namespace, get_backend
from simsgp.learn.optim import SGDConfig, sgd_update
from simsgp.scenario import apply_overrides, from_dict, resolve
from simsgp.sim.engine import run
from simsgp.tasks import TASKS, Task, make_task

RTOL = 1e-12


def assert_close(actual, expected, backend):
    """`actual` (a `backend` array) equals numpy `expected` to RTOL of its largest entry."""
    got = backend.to_numpy(actual)
    expected = np.asarray(expected)
    assert got.shape == expected.shape and got.dtype == np.float64
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=RTOL, atol=RTOL * scale)


@pytest.fixture(scope="module")
def torch_backend():
    pytest.importorskip("torch", reason="PyTorch is optional: pip install 'simsgp[torch]'")
    return get_backend("torch", "cpu")


@pytest.fixture(scope="module", params=sorted(TASKS))
def task_pair(request, torch_backend):
    """A numpy task and its copy on torch (MLP narrow, quadratic noisy)."""
    options = {"quadratic": {"noise": 0.5}, "mlp-digits": {"hidden": 8}}.get(request.param, {})
    task = make_task(request.param, 4, np.random.default_rng(0), **options)
    return task, task.to_backend(torch_backend)


# --- choosing a backend -------------------------------------------------------


def test_get_backend_default_is_numpy_on_cpu():
    backend = get_backend()
    assert backend == Backend("numpy", "cpu")
    assert backend.xp is array_namespace(np.zeros(1)) is array_namespace(np.zeros(1), np.ones(2))


@pytest.mark.parametrize("name", ["jax", "Numpy", ""])
def test_get_backend_rejects_unknown_name(name):
    with pytest.raises(ScenarioError, match=rf"backend={name!r}; expected one of \['numpy', 'torch', 'cupy'\]"):
        get_backend(name)


@pytest.mark.parametrize("name", BACKENDS)
def test_get_backend_rejects_unknown_device(name):
    with pytest.raises(ScenarioError, match=r"device='tpu'; expected one of \['cpu', 'cuda'\]"):
        get_backend(name, "tpu")


def test_backend_constructor_checks_like_get_backend():
    with pytest.raises(ScenarioError, match="backend='jax'"):
        Backend("jax")


def test_get_backend_numpy_rejects_cuda():
    with pytest.raises(ScenarioError, match="backend='numpy' with device='cuda'; numpy runs on the CPU only"):
        get_backend("numpy", "cuda")


def test_get_backend_cupy_rejects_cpu():
    """Checked before the import, so the message is the same with or without CuPy."""
    with pytest.raises(ScenarioError, match="backend='cupy' with device='cpu'; CuPy arrays live on a GPU only"):
        get_backend("cupy", "cpu")


def test_get_backend_cupy_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` now raises ImportError
    with pytest.raises(ScenarioError, match=r"backend='cupy' needs CuPy: pip install 'simsgp\[cupy\]'"):
        get_backend("cupy")


def test_get_backend_torch_missing_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ScenarioError, match=r"^backend='torch' needs PyTorch: pip install 'simsgp\[torch\]'$"):
        get_backend("torch")


def test_get_backend_torch_without_cuda_says_so(monkeypatch, torch_backend):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ScenarioError, match=r"device='cuda', but PyTorch .* sees no CUDA device"):
        get_backend("torch", "cuda")


def test_get_backend_default_devices():
    assert get_backend("numpy").device == "cpu"
    assert DEVICES == ("cpu", "cuda")


def test_backend_pickles_by_name_and_device():
    backend = get_backend()
    again = pickle.loads(pickle.dumps(backend))
    assert again == backend and again.xp is backend.xp


def test_numpy_backend_round_trip_copies():
    backend = get_backend()
    a = np.arange(3.0)
    assert backend.asarray(a) is a  # like np.asarray: no copy when none is needed
    b = backend.to_numpy(a)
    assert b is not a and np.array_equal(b, a)
    assert backend.asarray([1, 2], dtype="int64").dtype == np.int64
    assert backend.asarray([1, 2], dtype=None).dtype == np.int64
    assert backend.zeros((2, 3)).dtype == np.float64


def test_numpy_namespace_matches_array_api_compat_bit_for_bit(rng):
    """The fast stand-ins give the same arrays as ``array_api_compat.numpy``."""
    xp, ref = get_backend().xp, array_api_compat.numpy
    a, v = rng.standard_normal((7, 5)), rng.standard_normal(35)
    idx = np.array([4, 0, 4, 2])
    pairs = [
        (xp.take(a, idx, axis=0), ref.take(a, idx, axis=0)),
        (xp.max(a, axis=1, keepdims=True), ref.max(a, axis=1, keepdims=True)),
        (xp.sum(a, axis=0), ref.sum(a, axis=0)),
        (xp.sum(a), ref.sum(a)),
        (xp.mean(a, axis=-1), ref.mean(a, axis=-1)),
        (xp.argmax(a, axis=-1), ref.argmax(a, axis=-1)),
        (xp.vecdot(v, v[::-1].copy()), ref.vecdot(v, v[::-1].copy())),
        (xp.vecdot(a, a), ref.vecdot(a, a)),
        (xp.asarray(a, copy=True), ref.asarray(a, copy=True)),
    ]
    for got, want in pairs:
        got, want = np.asarray(got), np.asarray(want)
        assert got.dtype == want.dtype and got.shape == want.shape and got.tobytes() == want.tobytes()


def test_make_task_on_numpy_backend_gives_the_same_task():
    plain = make_task("logistic-digits", 3, np.random.default_rng(0))
    moved = make_task("logistic-digits", 3, np.random.default_rng(0), backend=get_backend())
    x = plain.init_params(np.random.default_rng(1))
    batch = plain.sample_batch(1, np.random.default_rng(2))
    assert moved.backend == get_backend()
    assert plain.grad(1, x, batch)[0] == moved.grad(1, x, batch)[0]
    np.testing.assert_array_equal(plain.grad(1, x, batch)[1], moved.grad(1, x, batch)[1])


# --- the math on torch --------------------------------------------------------


def test_torch_backend_arrays_are_float64_on_the_cpu(torch_backend):
    import torch

    a = torch_backend.asarray(np.arange(3))
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float64 and a.device.type == "cpu"
    assert torch_backend.asarray(np.arange(3), dtype="int64").dtype == torch.int64
    assert torch_backend.zeros(2).dtype == torch.float64
    assert array_namespace(a) is torch_backend.xp
    np.testing.assert_array_equal(torch_backend.to_numpy(a), np.arange(3.0))


def test_task_on_torch_keeps_the_task_interface(task_pair, torch_backend):
    import torch

    numpy_task, torch_task = task_pair
    assert isinstance(torch_task, Task) and type(torch_task) is type(numpy_task)
    assert torch_task.backend == torch_backend
    assert (torch_task.dim, torch_task.n_nodes) == (numpy_task.dim, numpy_task.n_nodes)
    x = torch_task.init_params(np.random.default_rng(1))
    assert isinstance(x, torch.Tensor) and x.dtype == torch.float64


def test_task_on_torch_draws_the_same_parameters_and_batches(task_pair, torch_backend):
    numpy_task, torch_task = task_pair
    np.testing.assert_array_equal(
        torch_backend.to_numpy(torch_task.init_params(np.random.default_rng(1))),
        numpy_task.init_params(np.random.default_rng(1)),
    )
    for node in range(numpy_task.n_nodes):
        np.testing.assert_array_equal(
            torch_task.sample_batch(node, np.random.default_rng(node)),
            numpy_task.sample_batch(node, np.random.default_rng(node)),
        )


def test_task_grad_on_torch_matches_numpy(task_pair, torch_backend):
    numpy_task, torch_task = task_pair
    rng = np.random.default_rng(3)
    for k in range(8):
        node = k % numpy_task.n_nodes
        x = numpy_task.init_params(rng) * (1.0 + 20.0 * rng.random())  # away from the flat start
        batch = numpy_task.sample_batch(node, rng)
        loss, grad = numpy_task.grad(node, x, batch)
        torch_loss, torch_grad = torch_task.grad(node, torch_backend.asarray(x), batch)
        assert isinstance(torch_loss, float)
        assert torch_loss == pytest.approx(loss, rel=RTOL)
        assert_close(torch_grad, grad, torch_backend)


def test_task_evaluation_on_torch_matches_numpy(task_pair, torch_backend):
    numpy_task, torch_task = task_pair
    rng = np.random.default_rng(4)
    xs = np.stack([numpy_task.init_params(rng) * 30.0 for _ in range(5)])
    on_torch = torch_backend.asarray(xs)
    assert_close(torch_task.loss_many(on_torch), numpy_task.loss_many(xs), torch_backend)
    assert torch_task.loss(on_torch[2]) == pytest.approx(numpy_task.loss(xs[2]), rel=RTOL)
    accuracy = numpy_task.accuracy_many(xs)
    if accuracy is None:
        assert torch_task.accuracy_many(on_torch) is None and torch_task.accuracy(on_torch[0]) is None
    else:
        np.testing.assert_array_equal(torch_backend.to_numpy(torch_task.accuracy_many(on_torch)), accuracy)
        assert torch_task.accuracy(on_torch[0]) == numpy_task.accuracy(xs[0])
    optimum = numpy_task.optimum()
    if optimum is not None:
        assert_close(torch_task.optimum(), optimum, torch_backend)


def test_task_to_backend_and_back_restores_numpy(task_pair):
    numpy_task, torch_task = task_pair
    back = torch_task.to_backend(get_backend())
    x = numpy_task.init_params(np.random.default_rng(5))
    batch = numpy_task.sample_batch(0, np.random.default_rng(6))
    assert isinstance(back.grad(0, x, batch)[1], np.ndarray)
    np.testing.assert_array_equal(back.grad(0, x, batch)[1], numpy_task.grad(0, x, batch)[1])


def test_pushsum_kernels_on_torch_match_numpy(torch_backend, rng):
    x, w = rng.standard_normal((5, 7)), rng.random(5) + 0.5
    degrees = np.array([1, 2, 3, 1, 2])
    mixing = rng.random((5, 5))
    mixing /= mixing.sum(axis=0)
    tx, tw = torch_backend.asarray(x), torch_backend.asarray(w)
    for got, want in [
        (pushsum.share(tx, tw, degrees), pushsum.share(x, w, degrees)),
        (pushsum.share(tx[0], tw[0], 3), pushsum.share(x[0], w[0], 3)),
        (pushsum.share(tx[0], float(w[0]), 3), pushsum.share(x[0], w[0], 3)),
        (pushsum.mix(tx, tw, mixing), pushsum.mix(x, w, mixing)),
        (pushsum.mix(tx, w, mixing), pushsum.mix(x, w, mixing)),
    ]:
        for a, b in zip(got, want):
            assert_close(a, b, torch_backend)
    assert_close(pushsum.debias(tx, tw), pushsum.debias(x, w), torch_backend)
    assert_close(pushsum.debias(tx, w), pushsum.debias(x, w), torch_backend)
    assert_close(pushsum.debias(tx[1], tw[1]), pushsum.debias(x[1], w[1]), torch_backend)
    kept, kept_w = pushsum.receive(tx[0], tw[0], [tx[1], tx[2]], [tw[1], tw[2]])
    want, want_w = pushsum.receive(x[0], w[0], [x[1], x[2]], [w[1], w[2]])
    assert_close(kept, want, torch_backend)
    assert float(kept_w) == pytest.approx(want_w, rel=RTOL)


def test_pushsum_receive_on_torch_leaves_its_input_alone(torch_backend):
    x = torch_backend.asarray(np.ones(3))
    pushsum.receive(x, 1.0, [x], [1.0])
    np.testing.assert_array_equal(torch_backend.to_numpy(x), np.ones(3))


@pytest.mark.parametrize(
    "cfg",
    [
        SGDConfig(lr=0.1),
        SGDConfig(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True),
        SGDConfig(lr=0.05, momentum=0.5, weight_decay=0.0, nesterov=False),
    ],
)
def test_sgd_update_on_torch_matches_numpy(torch_backend, rng, cfg):
    x, g, b = rng.standard_normal((3, 4, 6))
    got = sgd_update(torch_backend.asarray(x), torch_backend.asarray(g), torch_backend.asarray(b), cfg)
    for a, want in zip(got, sgd_update(x, g, b, cfg)):
        assert_close(a, want, torch_backend)


# --- whole runs --------------------------------------------------------------


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_run_on_torch_matches_numpy(torch_backend, algorithm):
    """Same scenario and seed: identical schedule, same models and metrics to 1e-6 (issue 6)."""
    scenario = {"iterations": 12, "cluster": {"nodes": 4}, "algorithm": {"name": algorithm},
                "task": {"name": "mlp-digits", "hidden": 8}}
    on_numpy = run(scenario)
    on_torch = run({**scenario, "backend": "torch"})
    assert on_torch.scenario.backend == "torch" and on_torch.scenario.device == "cpu"
    assert on_torch.params.dtype == np.float64 and isinstance(on_torch.params, np.ndarray)
    for key in ("start", "end", "bytes_sent"):
        assert np.array_equal(on_torch.records[key], on_numpy.records[key], equal_nan=True)
    np.testing.assert_allclose(on_torch.params, on_numpy.params, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(on_torch.weights, on_numpy.weights, rtol=1e-12)
    for key in ("loss", "accuracy", "consensus_distance"):
        np.testing.assert_allclose(on_torch.evaluations[key], on_numpy.evaluations[key], rtol=1e-6)
    assert on_torch.summary["final_loss"] == pytest.approx(on_numpy.summary["final_loss"], rel=1e-6)


@pytest.mark.parametrize(
    "settings",
    [
        {"algorithm": {"name": "osgp", "tau": 2}, "cluster": {"nodes": 5, "slow_nodes": {"1": 3.0}}},
        {"algorithm": {"name": "allreduce", "overlap": True, "bucket_bytes": 1000.0}},
        {"algorithm": {"name": "allreduce", "collective": "parallel"}},
        {"algorithm": {"name": "ps-sync", "servers": 2}},
        {"algorithm": {"name": "dcasgd", "dc_adaptive": True, "servers": 3}},
        {"algorithm": {"name": "sgp"}, "cluster": {"nodes": 5, "failures": [{"node": 2, "start": 0.2, "end": 0.5}],
                                                   "transient": {"probability": 0.3}}},
    ],
    ids=["osgp-tau2-slow", "allreduce-buckets", "allreduce-parallel", "ps-sync-2-servers", "dcasgd-adaptive", "sgp-failure"],
)
def test_run_options_on_torch_match_numpy(torch_backend, settings):
    scenario = {"iterations": 10, "cluster": {"nodes": 4}, "task": {"name": "quadratic", "noise": 0.1}, **settings}
    on_numpy, on_torch = run(scenario), run({**scenario, "backend": "torch"})
    assert np.array_equal(on_torch.records["end"], on_numpy.records["end"], equal_nan=True)
    np.testing.assert_allclose(on_torch.params, on_numpy.params, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("algorithm", ["allreduce", "localsgd", "ps-sync"])
def test_analytic_run_on_torch_matches_numpy(torch_backend, algorithm):
    scenario = {"iterations": 10, "analytic": True, "cluster": {"nodes": 5}, "algorithm": {"name": algorithm},
                "task": {"name": "quadratic", "noise": 0.1}}
    np.testing.assert_allclose(run({**scenario, "backend": "torch"}).params, run(scenario).params, rtol=1e-9, atol=1e-12)


def test_timing_only_run_needs_no_backend_library(monkeypatch):
    """No math, so no arrays to place: a timing-only scenario written for a GPU runs anywhere."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    scenario = {"iterations": 5, "timing_only": True, "cluster": {"nodes": 4}}
    on_gpu = run({**scenario, "backend": "cupy"})
    assert on_gpu.scenario.backend == "cupy"
    assert np.array_equal(on_gpu.records["end"], run(scenario).records["end"])


# --- scenario keys ----------------------------------------------------------


def test_scenario_backend_defaults_to_numpy_on_cpu():
    scenario = resolve(from_dict({}))
    assert (scenario.backend, scenario.device) == ("numpy", "cpu")
    assert resolve(from_dict({"backend": "cupy"})).device == "cuda"  # checked without importing CuPy


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"backend": "jax"}, r"backend='jax'; expected one of \['numpy', 'torch', 'cupy'\]"),
        ({"backend": "torch", "device": "tpu"}, r"device='tpu'; expected one of \['cpu', 'cuda'\]"),
        ({"device": "cuda"}, r"backend='numpy' with device='cuda'; numpy runs on the CPU only"),
        ({"backend": "cupy", "device": "cpu"}, r"backend='cupy' with device='cpu'"),
    ],
)
def test_scenario_rejects_bad_backend_or_device(data, message):
    with pytest.raises(ScenarioError, match=message):
        from_dict(data)


def test_set_backend_rederives_the_default_device():
    scenario = resolve(apply_overrides(resolve(from_dict({})), ["backend='torch'"]))
    assert (scenario.backend, scenario.device) == ("torch", "cpu")
    assert resolve(apply_overrides(from_dict({}), ["backend='cupy'"])).device == "cuda"
    with pytest.raises(ScenarioError, match="backend='numpy' with device='cuda'"):
        apply_overrides(from_dict({"backend": "torch", "device": "cuda"}), ["backend='numpy'"])


def test_run_without_torch_names_the_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ScenarioError, match=r"backend='torch' needs PyTorch"):
        run({"iterations": 1, "backend": "torch"})
