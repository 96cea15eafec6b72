"""The user's own PyTorch model as a task: :func:`simsgp.tasks.from_torch` and :class:`simsgp.torch_task.TorchTask`.

Skipped where PyTorch is not installed (it is optional: ``pip install 'simsgp[torch]'``),
except the checks that simsgp works without it. The models run on the CPU; the
CUDA test runs only where torch sees a GPU.
"""

from __future__ import annotations

import copy
import subprocess
import sys

import numpy as np
import pytest

import simsgp
from simsgp.errors import ScenarioError, SimsgpError
from simsgp.tasks import from_torch, shard_dirichlet, shard_iid

torch = pytest.importorskip("torch", reason="PyTorch is optional: pip install 'simsgp[torch]'")
F = torch.nn.functional


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these models are tiny, and on a busy machine more threads wait on each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _seeded(model: torch.nn.Module, seed: int = 0, scale: float = 0.3) -> torch.nn.Module:
    """`model` with normal parameters drawn by numpy (the global torch generator is left alone)."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.from_numpy(rng.normal(0.0, scale, size=tuple(p.shape))))
    return model


def _blobs(n: int = 150, features: int = 5, classes: int = 3, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` float32 samples of `features` numbers with integer labels below `classes`."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(classes, size=n)
    x = rng.normal(size=(n, features)) + labels[:, None]
    return torch.tensor(x, dtype=torch.float32), torch.tensor(labels)


def _mlp(dtype: torch.dtype = torch.float32, seed: int = 0) -> torch.nn.Module:
    model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    return _seeded(model, seed).to(dtype)


def _flat(model: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()])


def _module_at(model: torch.nn.Module, row: torch.Tensor) -> torch.nn.Module:
    """A copy of `model` with parameters `row` (in parameters() order)."""
    other = copy.deepcopy(model)
    torch.nn.utils.vector_to_parameters(row.to(_flat(model).dtype), other.parameters())
    return other


@pytest.fixture
def data():
    x, y = _blobs()
    return (x[:120], y[:120]), (x[120:], y[120:])


@pytest.fixture
def task(data):
    return from_torch(_mlp(), F.cross_entropy, *data, batch_size=8)


# --- without torch ---------------------------------------------------------------


def test_importing_simsgp_and_its_tasks_does_not_import_torch():
    code = "import sys, simsgp, simsgp.tasks; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_from_torch_without_torch_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    monkeypatch.delitem(sys.modules, "simsgp.torch_task", raising=False)
    with pytest.raises(SimsgpError, match=r"^simsgp.tasks.from_torch needs PyTorch: pip install 'simsgp\[torch\]'$"):
        from_torch(object(), None, None)


# --- parameters, dtype, device ------------------------------------------------


def test_parameters_are_one_flat_float64_vector_in_named_parameters_order(task):
    model = task.model
    assert task.dim == 5 * 7 + 7 + 7 * 3 + 3 == sum(p.numel() for p in model.parameters())
    assert task.payload_bytes == 4 * task.dim  # float32 parameters
    assert (task.name, task.n_nodes, task.backend.name, task.backend.device) == ("Sequential", 1, "torch", "cpu")
    x0 = task.init_params(np.random.default_rng(0))
    assert x0.dtype == torch.float64 and x0.shape == (task.dim,)
    named = torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])
    assert torch.equal(x0, named.double())
    assert torch.equal(task.init_params(np.random.default_rng(99)), x0)  # the rng is not drawn


def test_a_float64_model_gives_eight_bytes_a_parameter(data):
    task = from_torch(_mlp(torch.float64), F.cross_entropy, (data[0][0].double(), data[0][1]))
    assert task.payload_bytes == 8 * task.dim


def test_grad_matches_autograd_on_the_model_itself(task):
    shard = task.shard(3, np.random.default_rng(0))
    batch = shard.sample_batch(1, np.random.default_rng(1))
    x = shard.init_params(None) + 0.01  # a point other than the model's own
    loss, g = shard.grad(1, x, batch)
    assert g.dtype == torch.float64 and g.shape == (task.dim,)
    reference = _module_at(task.model, x)
    rows = torch.from_numpy(shard.shards[1][batch])
    expected = F.cross_entropy(reference(shard.inputs[rows]), shard.targets[rows])
    expected.backward()
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    torch.testing.assert_close(g, torch.cat([p.grad.reshape(-1) for p in reference.parameters()]).double())


def test_grad_of_a_float64_model_matches_finite_differences(data):
    (x, y), _ = data
    task = from_torch(_mlp(torch.float64), F.cross_entropy, (x.double(), y))
    batch = np.arange(16)
    point = task.init_params(None)
    _, g = task.grad(0, point, batch)
    h = 1e-6
    for j in range(0, task.dim, 7):
        e = torch.zeros(task.dim, dtype=torch.float64)
        e[j] = h
        slope = (task.grad(0, point + e, batch)[0] - task.grad(0, point - e, batch)[0]) / (2 * h)
        assert slope == pytest.approx(float(g[j]), abs=1e-7)


def test_the_users_model_is_never_changed(data):
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 3))
    model = _seeded(model)  # training mode: BatchNorm updates its running statistics
    before = copy.deepcopy(model.state_dict())
    task = from_torch(model, F.cross_entropy, *data).shard(2, np.random.default_rng(0))
    x = task.init_params(None)
    for node in (0, 1):
        task.grad(node, x, task.sample_batch(node, np.random.default_rng(node)))
    task.loss_many(torch.stack([x, x + 0.1]))
    task.accuracy_many(torch.stack([x]))
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert all(p.grad is None for p in model.parameters())


def test_buffers_are_shared_by_the_nodes_and_fresh_in_each_shard(data):
    model = _seeded(torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.BatchNorm1d(4), torch.nn.Linear(4, 3)))
    task = from_torch(model, F.cross_entropy, *data)
    first = task.shard(2, np.random.default_rng(0))
    x = first.init_params(None)
    losses = [first.loss_many(x[None])]
    first.grad(0, x, np.arange(8))  # updates the running statistics every node uses
    losses.append(first.loss_many(x[None]))
    assert torch.equal(losses[0], losses[1])  # training mode: evaluations use the batch statistics
    model.eval()  # evaluations now use the running statistics: node 0's update shows, a fresh shard has none
    evaluated = [first.loss_many(x[None]), first.loss_many(x[None]), task.shard(2, np.random.default_rng(0)).loss_many(x[None])]
    assert torch.equal(evaluated[0], evaluated[1]) and not torch.equal(evaluated[0], evaluated[2])


# --- shards and batches ---------------------------------------------------------


def test_shard_splits_the_training_set_as_the_built_in_tasks_do(data):
    (x, y), test = data
    iid = from_torch(_mlp(), F.cross_entropy, (x, y), test).shard(4, np.random.default_rng(5))
    assert iid.n_nodes == 4
    assert all(np.array_equal(a, b) for a, b in zip(iid.shards, shard_iid(len(y), 4, np.random.default_rng(5))))
    skewed = from_torch(_mlp(), F.cross_entropy, (x, y), partition="dirichlet", dirichlet_alpha=0.3)
    expected = shard_dirichlet(y.numpy(), 4, 0.3, np.random.default_rng(5))
    assert all(np.array_equal(a, b) for a, b in zip(skewed.shard(4, np.random.default_rng(5)).shards, expected))


def test_shard_refuses_more_nodes_than_samples(task):
    with pytest.raises(ScenarioError, match=r"^cluster.nodes=121; expected 1 to 120 for this from_torch task"):
        task.shard(121, np.random.default_rng(0))


def test_sample_batch_draws_distinct_positions_of_the_shard(task):
    shard = task.shard(40, np.random.default_rng(0))  # shards of 3 samples, batches of 8
    batch = shard.sample_batch(0, np.random.default_rng(0))
    assert batch.dtype == np.int64 and sorted(batch.tolist()) == [0, 1, 2]
    batch = task.sample_batch(0, np.random.default_rng(0))
    assert len(batch) == 8 == len(set(batch.tolist())) and batch.max() < 120


# --- evaluation -------------------------------------------------------------------


def test_loss_many_and_accuracy_many_match_the_model_on_every_row(task):
    xs = task.init_params(None) + torch.from_numpy(np.random.default_rng(0).normal(0.0, 0.2, size=(3, task.dim)))
    losses, accuracies = task.loss_many(xs), task.accuracy_many(xs)
    assert losses.dtype == accuracies.dtype == torch.float64 and losses.shape == accuracies.shape == (3,)
    with torch.no_grad():
        for row, loss, accuracy in zip(xs, losses, accuracies):
            model = _module_at(task.model, row)
            assert float(loss) == pytest.approx(F.cross_entropy(model(task.inputs), task.targets).item(), rel=1e-6)
            hits = (model(task.test_inputs).argmax(dim=1) == task.test_targets).double().mean()
            assert float(accuracy) == float(hits)


def test_accuracy_needs_test_data_with_class_labels(data):
    train, (x_test, y_test) = data
    assert from_torch(_mlp(), F.cross_entropy, train).accuracy_many(torch.zeros(1, 66)) is None
    mse = from_torch(_mlp(), F.mse_loss, (train[0], F.one_hot(train[1]).float()), (x_test, F.one_hot(y_test).float()))
    assert mse.accuracy_many(mse.init_params(None)[None]) is None


def test_the_same_seed_gives_bit_identical_results(task):
    def trajectory():
        shard = task.shard(3, np.random.default_rng(0))
        rng, x, out = np.random.default_rng(1), shard.init_params(None), []
        for t in range(6):
            loss, g = shard.grad(t % 3, x, shard.sample_batch(t % 3, rng))
            x = x - 0.1 * g
            out.append(loss)
        return out, x, shard.loss_many(torch.stack([x, 2 * x])), shard.accuracy_many(x[None])

    first, second = trajectory(), trajectory()
    assert first[0] == second[0] and all(torch.equal(a, b) for a, b in zip(first[1:], second[1:]))


# --- datasets and validation ------------------------------------------------------


class _Pairs(torch.utils.data.Dataset):
    """A map-style dataset of (tensor, int) samples."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


class _Stream(torch.utils.data.IterableDataset):
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return iter(zip(self.x, self.y))


@pytest.mark.parametrize("dataset", [torch.utils.data.TensorDataset, _Pairs, _Stream])
def test_a_dataset_is_read_once_into_two_stacked_tensors(data, dataset):
    (x, y), (x_test, y_test) = data
    task = from_torch(_mlp(), F.cross_entropy, dataset(x, y), dataset(x_test, y_test))
    assert torch.equal(task.inputs, x) and torch.equal(task.targets, y) and torch.equal(task.test_targets, y_test)


def _bad_loss(outputs, targets):
    return F.cross_entropy(outputs, targets, reduction="none")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "mlp"}, r"model='mlp'; expected a torch.nn.Module$"),
        ({"model": torch.nn.ReLU()}, r"model=ReLU has no parameters; expected some to train$"),
        ({"model": torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Linear(3, 3).double())},
         r"the model's parameters are torch.float32, torch.float64; expected one floating dtype"),
        ({"loss_fn": "cross_entropy"}, r"loss_fn='cross_entropy'; expected a callable loss_fn\(outputs, targets\)$"),
        ({"loss_fn": _bad_loss}, r"loss_fn returned a torch.float32 tensor of shape \(32,\) on train\[:32\]; expected a floating scalar"),
        ({"train": [1, 2, 3]}, r"train=\[1, 2, 3\]; expected a \(inputs, targets\) pair of tensors or a torch Dataset$"),
        ({"train": (torch.zeros(3, 5), np.zeros(3))}, r"train=\(tensor\(\[\[0\., .*; expected a \(inputs, targets\) pair"),
        ({"train": (torch.zeros(3, 5), torch.zeros(4, dtype=torch.int64))}, r"train has 3 inputs and 4 targets; expected one target per input$"),
        ({"train": (torch.zeros(0, 5), torch.zeros(0, dtype=torch.int64))}, r"train has no samples; expected at least one$"),
        ({"train": torch.utils.data.TensorDataset(torch.zeros(0, 5), torch.zeros(0))}, r"train has no samples; expected at least one$"),
        ({"train": torch.utils.data.TensorDataset(torch.zeros(3, 5))}, r"the samples of train=.* are not pairs"),
        ({"train": (torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64))},
         r"the model and loss_fn fail on train\[:3\]: RuntimeError: mat1 and mat2 shapes cannot be multiplied"),
        ({"test": (torch.zeros(3, 4), torch.zeros(3, dtype=torch.int64))},
         r"the test inputs are a torch.float32 tensor of shape \(3, 4\); expected samples of shape \(5,\), as in train$"),
        ({"batch_size": 0}, r"batch_size=0; expected a positive integer$"),
        ({"batch_size": True}, r"batch_size=True; expected a positive integer$"),
        ({"batch_size": 2.0}, r"batch_size=2.0; expected a positive integer$"),
        ({"partition": "skewed"}, r"partition='skewed'; expected one of \['iid', 'dirichlet'\]$"),
        ({"dirichlet_alpha": 0}, r"dirichlet_alpha=0; expected a positive finite number$"),
        ({"dirichlet_alpha": float("inf")}, r"dirichlet_alpha=inf; expected a positive finite number$"),
        ({"partition": "dirichlet", "train": (torch.zeros(3, 5), torch.zeros(3))},
         r"partition='dirichlet' needs class labels; the train targets are a torch.float32 tensor of shape \(3,\)"),
    ],
)
def test_bad_arguments_are_one_line_errors_naming_them(data, change, message):
    arguments = {"model": _mlp(), "loss_fn": F.cross_entropy, "train": data[0], "test": None, **change}
    with pytest.raises(ScenarioError, match="^from_torch: " + message) as caught:
        from_torch(**arguments)
    assert "\n" not in str(caught.value)


# --- through simsgp.run --------------------------------------------------------------


def _digits() -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """scikit-learn's 8x8 digits as 1x8x8 images in [0, 1]; a fixed split, 360 held out."""
    from sklearn.datasets import load_digits

    images, labels = load_digits(return_X_y=True)
    x = torch.tensor(images / 16.0, dtype=torch.float32).reshape(-1, 1, 8, 8)
    y = torch.tensor(labels)
    order = np.random.default_rng(0).permutation(len(y))
    test, train = order[:360], order[360:]
    return (x[train], y[train]), (x[test], y[test])


def _cnn() -> torch.nn.Module:
    """A convolution of 8 channels, ReLU, 2x2 max-pooling and a linear layer: 1370 parameters."""
    with torch.random.fork_rng():  # torch's default initialisation, seeded; the global generator is restored
        torch.manual_seed(0)
        return torch.nn.Sequential(
            torch.nn.Conv2d(1, 8, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.MaxPool2d(2),
            torch.nn.Flatten(),
            torch.nn.Linear(8 * 4 * 4, 10),
        )


@pytest.mark.parametrize("algorithm", ["sgp", "allreduce"])
def test_a_cnn_on_digits_learns_on_eight_simulated_nodes(algorithm):
    train, test = _digits()
    task = from_torch(_cnn(), F.cross_entropy, train, test, batch_size=32)
    scenario = {
        "iterations": 60,
        "seed": 0,
        "cluster": {"nodes": 8},
        "algorithm": {"name": algorithm, "lr": 0.2, "momentum": 0.9},
        "eval_every": 10,
    }
    result = simsgp.run(scenario, task=task)
    evaluations = result.evaluations
    assert np.all(np.diff(evaluations["sim_time"]) > 0) and np.all(np.diff(evaluations["loss"]) < 0)
    assert evaluations["accuracy"][-1] >= 0.9 and result.summary["final_accuracy"] >= 0.9
    # The schedule never depends on parameter values: a timing-only run of the task, and one
    # on numpy with the model's message size, give the same times.
    timing = {**scenario, "timing_only": True, "eval_every": 0}
    assert np.array_equal(simsgp.run(timing, task=task).records["end"], result.records["end"])
    on_numpy = simsgp.run({**timing, "task": {"payload": task.payload_bytes}})
    assert np.array_equal(on_numpy.records["end"], result.records["end"])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_cuda_runs_there_and_matches_the_cpu():
    train, test = _digits()
    scenario = {"iterations": 10, "seed": 0, "cluster": {"nodes": 4}, "algorithm": {"name": "sgp"}, "eval_every": 5}
    on_cpu = from_torch(_cnn(), F.cross_entropy, train, test)
    on_gpu = from_torch(_cnn().cuda(), F.cross_entropy, train, test)
    assert on_gpu.backend.device == "cuda" and on_gpu.inputs.is_cuda
    assert on_gpu.init_params(None).is_cuda
    cpu, gpu = simsgp.run(scenario, task=on_cpu), simsgp.run(scenario, task=on_gpu)
    assert np.array_equal(cpu.records["end"], gpu.records["end"])
    # float32 on both, but other kernels (TF32 convolutions on recent GPUs): close, not equal
    np.testing.assert_allclose(gpu.params, cpu.params, rtol=1e-2, atol=5e-3)
    np.testing.assert_allclose(gpu.evaluations["loss"], cpu.evaluations["loss"], rtol=1e-2)
