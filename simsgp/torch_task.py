"""The user's own PyTorch model as a simsgp task: :func:`from_torch` and :class:`TorchTask`.

Reach it through :func:`simsgp.tasks.from_torch`, which imports this module
only when called (simsgp itself never imports torch). The task meets what
``simsgp.run(scenario, task=...)`` asks of a user task
(:class:`simsgp.Task`):

- **Parameters.** One flat vector per node: the model's parameters in the
  order of ``model.named_parameters()``, each flattened row-major, so ``dim``
  is their total count. Every parameter is trained (``requires_grad`` is not
  consulted). ``payload_bytes``, the size of one model message, is the
  model's own parameter bytes (``numel * element_size`` summed: 4 per
  parameter for a float32 model).
- **Dtype.** The engine keeps the node state in float64 (as every backend of
  :mod:`simsgp.learn.backend` does). For each forward pass a row is cast to the
  parameters' dtype (no copy for a float64 model: the parameters are views
  of the row), and the gradient is cast back to the dtype of the row. So the
  model computes in its own precision while SGD and gossip run in float64;
  a float32 value survives the trip to float64 and back exactly, so the
  first forward pass is the user's model, bit for bit.
- **Device.** The model's: the training and test data are moved there once,
  and :attr:`TorchTask.backend` is torch on that device type (``"cuda"``
  for a model on a GPU), so the stacked state lives there too.
- **Forward and backward.** ``torch.func.functional_call`` runs the model
  with a row's parameter views in place of its own, and
  ``torch.autograd.grad`` differentiates the loss with respect to the row.
  The user's model is never changed: neither its parameters (nor their
  ``.grad``) nor its buffers.
- **Buffers** (BatchNorm running statistics, ...): each sharded task (one
  run) starts from a copy of the model's buffers, which all nodes share (they
  are not per node). A model in training mode updates them at every node's
  gradient, in the order the simulation computes the gradients; evaluations
  use a fresh copy of them each time and change nothing.
- **Mode.** The model runs in the mode it is in (``model.training``), for the
  gradients and the evaluations alike. Call ``model.eval()`` before
  :func:`from_torch` for a model whose training mode draws random numbers
  (dropout): those draws come from torch's global generator, which simsgp
  neither seeds nor uses, so such runs would not be reproducible.
- **Randomness.** None from torch: the initial point is the model's current
  parameters, and shards and mini-batches are drawn from the run's numpy
  generators. On the CPU the same seed gives bit-identical runs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sized
from dataclasses import dataclass, field, replace
from numbers import Integral, Real
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from simsgp.errors import ScenarioError, SimsgpError, shown
from simsgp.learn.backend import Backend, get_backend
from simsgp.tasks import PARTITIONS, sample_positions, shard_dirichlet, shard_iid

try:
    import torch
    from torch.func import functional_call
    from torch.utils.data import Dataset, IterableDataset, default_collate
except ModuleNotFoundError as exc:  # torch is an optional dependency
    if exc.name != "torch":
        raise
    raise SimsgpError("simsgp.tasks.from_torch needs PyTorch: pip install 'simsgp[torch]'") from None

__all__ = ["TorchTask", "from_torch"]

IntArray = npt.NDArray[np.int64]

#: Samples per forward pass of an evaluation, in training batches: a multiple of
#: the batch the model's memory is sized for (evaluations keep no autograd graph).
_EVAL_BATCHES = 16


@dataclass(frozen=True, eq=False)
class TorchTask:
    """A PyTorch model, its loss and its data, as a task of :func:`simsgp.run`.

    Build one with :func:`from_torch`, which checks every argument; the
    module docstring says how parameters, dtypes, devices and buffers are
    handled.

    Parameters
    ----------
    model : torch.nn.Module
        The model; its parameters all have one floating dtype and one device.
    loss_fn : callable
        ``loss_fn(outputs, targets)``: a scalar tensor, the mean loss over
        the batch.
    inputs, targets : torch.Tensor
        The training data on the model's device, one sample per row of the
        first axis.
    test_inputs, test_targets : torch.Tensor or None
        The test data on the model's device, or None.
    shards : tuple of numpy.ndarray
        Node ``i``'s training samples are the rows ``shards[i]`` of `inputs`.
    batch_size : int, default 32
        Mini-batch size of :meth:`sample_batch`.
    partition : str, default "iid"
        How :meth:`shard` splits the training set, one of
        :data:`simsgp.tasks.PARTITIONS`.
    dirichlet_alpha : float, default 0.5
        Concentration of the ``"dirichlet"`` partition.

    Attributes
    ----------
    dim : int
        Number of parameters.
    payload_bytes : int
        Bytes of the model's parameters (one model message).
    backend : Backend
        Torch on the model's device type.

    Examples
    --------
    >>> import torch
    >>> from simsgp.tasks import from_torch
    >>> x, y = torch.zeros(10, 4), torch.zeros(10, dtype=torch.int64)
    >>> task = from_torch(torch.nn.Linear(4, 3), torch.nn.functional.cross_entropy, (x, y))
    >>> task.dim, task.payload_bytes, task.n_nodes, task.backend
    (15, 60, 1, Backend(name='torch', device='cpu'))
    >>> shard = task.shard(2, np.random.default_rng(0))
    >>> [len(s) for s in shard.shards]
    [5, 5]
    >>> loss, g = shard.grad(0, torch.zeros(15, dtype=torch.float64), shard.sample_batch(0, np.random.default_rng(1)))
    >>> round(loss, 4), g.dtype
    (1.0986, torch.float64)
    """

    model: torch.nn.Module
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    inputs: torch.Tensor = field(repr=False)
    targets: torch.Tensor = field(repr=False)
    test_inputs: torch.Tensor | None = field(repr=False)
    test_targets: torch.Tensor | None = field(repr=False)
    shards: tuple[IntArray, ...] = field(repr=False)
    batch_size: int = 32
    partition: str = "iid"
    dirichlet_alpha: float = 0.5
    dim: int = field(init=False)
    payload_bytes: int = field(init=False)
    backend: Backend = field(init=False, repr=False)
    _names: tuple[str, ...] = field(init=False, repr=False)
    _shapes: tuple[torch.Size, ...] = field(init=False, repr=False)
    _sizes: tuple[int, ...] = field(init=False, repr=False)
    _dtype: torch.dtype = field(init=False, repr=False)
    _device: torch.device = field(init=False, repr=False)
    _buffers: dict[str, torch.Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names, params = zip(*self.model.named_parameters())
        derived = {
            "dim": sum(p.numel() for p in params),
            "payload_bytes": sum(p.numel() * p.element_size() for p in params),
            "backend": get_backend("torch", params[0].device.type),
            "_names": names,
            "_shapes": tuple(p.shape for p in params),
            "_sizes": tuple(p.numel() for p in params),
            "_dtype": params[0].dtype,
            "_device": params[0].device,
            "_buffers": _copy(dict(self.model.named_buffers())),
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)

    @property
    def name(self) -> str:
        """The model's class name, as results describe the task."""
        return type(self.model).__name__

    @property
    def n_nodes(self) -> int:
        """Number of shards: 1 as :func:`from_torch` returns the task, then what :meth:`shard` was given."""
        return len(self.shards)

    def shard(self, n_nodes: int, rng: np.random.Generator) -> TorchTask:
        """A copy of the task with its training set split across `n_nodes` nodes.

        The engine calls it once per run, with the run's node count and data
        generator. The copy starts from fresh copies of the model's buffers.

        Parameters
        ----------
        n_nodes : int
            Number of nodes, between 1 and the number of training samples.
        rng : numpy.random.Generator
            Source of the split: :func:`simsgp.tasks.shard_iid` or, for
            ``partition="dirichlet"``, :func:`simsgp.tasks.shard_dirichlet`
            on the training labels.

        Returns
        -------
        TorchTask

        Raises
        ------
        ScenarioError
            If some node would get no training sample.
        """
        n_samples = self.inputs.shape[0]
        if not 1 <= n_nodes <= n_samples:
            raise ScenarioError(
                f"cluster.nodes={n_nodes}; expected 1 to {n_samples} for this from_torch task"
                f" (its {n_samples} training samples, at least one a node)"
            )
        if self.partition == "iid":
            shards = shard_iid(n_samples, n_nodes, rng)
        else:
            shards = shard_dirichlet(self.targets.cpu().numpy(), n_nodes, self.dirichlet_alpha, rng)
        return replace(self, shards=tuple(shards))

    def init_params(self, rng: np.random.Generator) -> torch.Tensor:
        """The model's current parameters, flattened: every node starts from the user's model.

        Parameters
        ----------
        rng : numpy.random.Generator
            Not drawn from: the user initialised the model.

        Returns
        -------
        torch.Tensor
            Shape ``(dim,)``, float64, on :attr:`backend` (a copy).
        """
        del rng
        return self.backend.asarray(_flatten(self.model))

    def sample_batch(self, node: int, rng: np.random.Generator) -> IntArray:
        """``min(batch_size, shard size)`` distinct positions in `node`'s shard, drawn from `rng` (see :func:`sample_positions`)."""
        return sample_positions(len(self.shards[node]), self.batch_size, rng)

    def grad(self, node: int, x: torch.Tensor, batch_idx: IntArray) -> tuple[float, torch.Tensor]:
        """Mini-batch loss and its gradient at parameters `x` on `node`'s shard.

        Parameters
        ----------
        node : int
            Node index.
        x : torch.Tensor
            Parameters, shape ``(dim,)``, any floating dtype (the engine's
            float64 state row); cast to the model's dtype and device for the
            forward pass.
        batch_idx : numpy.ndarray
            Positions in ``shards[node]``, as from :meth:`sample_batch`.

        Returns
        -------
        loss : float
            ``loss_fn`` on the batch at `x`.
        grad : torch.Tensor
            Its gradient with respect to `x`, shape ``(dim,)``, in the dtype
            and on the device of `x`.
        """
        rows = torch.from_numpy(self.shards[node].take(batch_idx)).to(self._device)
        flat = x.detach().to(device=self._device, dtype=self._dtype).requires_grad_()
        loss = self.loss_fn(self._forward(flat, self.inputs[rows], self._buffers), self.targets[rows])
        (gradient,) = torch.autograd.grad(loss, flat)
        return loss.item(), gradient.to(device=x.device, dtype=x.dtype)

    def loss_many(self, xs: torch.Tensor) -> torch.Tensor:
        """Full training loss (over every shard) at each row of `xs`.

        Parameters
        ----------
        xs : torch.Tensor
            Shape ``(rows, dim)``.

        Returns
        -------
        torch.Tensor
            Shape ``(rows,)``, float64, on the device of `xs`: the mean over
            all training samples of ``loss_fn``, computed in forward passes of
            at most ``16 * batch_size`` samples, one row after the other (a
            loop rather than ``torch.func.vmap``, which refuses in-place
            buffer updates and ``.item()`` and, measured on the CPU, is no
            faster for a small CNN).
        """
        return self._per_row(xs, self.inputs, self.targets, lambda out, t: float(self.loss_fn(out, t)) * t.shape[0])

    def accuracy_many(self, xs: torch.Tensor) -> torch.Tensor | None:
        """Test accuracy at each row of `xs`: the fraction of ``argmax(outputs) == targets``.

        Parameters
        ----------
        xs : torch.Tensor
            Shape ``(rows, dim)``.

        Returns
        -------
        torch.Tensor or None
            Shape ``(rows,)``, float64, on the device of `xs` (argmax over the
            last axis of the outputs); None without test data, or when its
            targets are not class labels (a 1-d integer tensor).
        """
        if self.test_inputs is None or self.test_targets is None or not _is_labels(self.test_targets):
            return None
        return self._per_row(
            xs, self.test_inputs, self.test_targets, lambda out, t: int((out.argmax(dim=-1) == t).sum())
        )

    def _forward(self, flat: torch.Tensor, inputs: torch.Tensor, buffers: dict[str, torch.Tensor]) -> Any:
        """The model's outputs on `inputs` with parameters the views of `flat` (shape ``(dim,)``)."""
        views = torch.split(flat, list(self._sizes))
        params = {name: v.view(shape) for name, v, shape in zip(self._names, views, self._shapes)}
        return functional_call(self.model, {**params, **buffers}, (inputs,))

    def _per_row(
        self,
        xs: torch.Tensor,
        inputs: torch.Tensor,
        targets: torch.Tensor,
        total: Callable[[Any, torch.Tensor], float],
    ) -> torch.Tensor:
        """At each row of `xs`, ``total(outputs, targets)`` summed over chunks of the data, over the samples."""
        step = _EVAL_BATCHES * self.batch_size
        means = []
        with torch.no_grad():
            for flat in xs.detach().to(device=self._device, dtype=self._dtype):
                buffers = _copy(self._buffers)
                sums = (
                    total(self._forward(flat, inputs[k:k + step], buffers), targets[k:k + step])
                    for k in range(0, inputs.shape[0], step)
                )
                means.append(sum(sums) / inputs.shape[0])
        return torch.tensor(means, dtype=torch.float64, device=xs.device)


def from_torch(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train: tuple[torch.Tensor, torch.Tensor] | Dataset,
    test: tuple[torch.Tensor, torch.Tensor] | Dataset | None = None,
    *,
    batch_size: int = 32,
    partition: str = "iid",
    dirichlet_alpha: float = 0.5,
) -> TorchTask:
    """Check the arguments of :func:`simsgp.tasks.from_torch` and build its :class:`TorchTask`.

    Arguments as for :func:`simsgp.tasks.from_torch`. The task holds the whole
    training set as one shard until :meth:`TorchTask.shard` splits it. One
    forward pass and loss on the first training batch check that the model,
    the loss and the data fit together (without changing the model).

    Raises
    ------
    ScenarioError
        A bad argument; the one-line message names it.
    """
    params = _check_model(model)
    if not callable(loss_fn):
        raise ScenarioError(f"from_torch: loss_fn={_show(loss_fn)}; expected a callable loss_fn(outputs, targets)")
    if isinstance(batch_size, bool) or not isinstance(batch_size, Integral) or batch_size < 1:
        raise ScenarioError(f"from_torch: batch_size={_show(batch_size)}; expected a positive integer")
    if not isinstance(partition, str) or partition not in PARTITIONS:
        raise ScenarioError(f"from_torch: partition={_show(partition)}; expected one of {list(PARTITIONS)}")
    if isinstance(dirichlet_alpha, bool) or not isinstance(dirichlet_alpha, Real) or not 0 < dirichlet_alpha < math.inf:
        raise ScenarioError(f"from_torch: dirichlet_alpha={_show(dirichlet_alpha)}; expected a positive finite number")
    device = params[0].device
    inputs, targets = (t.detach().to(device) for t in _pair(train, "train"))
    if partition == "dirichlet" and not _is_labels(targets):
        raise ScenarioError(
            f"from_torch: partition='dirichlet' needs class labels; the train targets are {_describe(targets)},"
            " expected a 1-d integer tensor"
        )
    test_inputs = test_targets = None
    if test is not None:
        test_inputs, test_targets = (t.detach().to(device) for t in _pair(test, "test"))
        if test_inputs.shape[1:] != inputs.shape[1:]:
            raise ScenarioError(
                f"from_torch: the test inputs are {_describe(test_inputs)}; expected samples of shape"
                f" {tuple(inputs.shape[1:])}, as in train"
            )
    task = TorchTask(
        model,
        loss_fn,
        inputs,
        targets,
        test_inputs,
        test_targets,
        shards=(np.arange(inputs.shape[0]),),
        batch_size=int(batch_size),
        partition=partition,
        dirichlet_alpha=float(dirichlet_alpha),
    )
    _check_loss(task)
    return task


def _check_model(model: Any) -> list[torch.nn.Parameter]:
    """The parameters of `model`, checked: some, floating, one dtype, one cpu or cuda device."""
    if not isinstance(model, torch.nn.Module):
        raise ScenarioError(f"from_torch: model={_show(model)}; expected a torch.nn.Module")
    params = list(model.parameters())
    if not params:
        raise ScenarioError(f"from_torch: model={type(model).__name__} has no parameters; expected some to train")
    dtypes = sorted({str(p.dtype) for p in params})
    if len(dtypes) > 1 or not params[0].is_floating_point():
        raise ScenarioError(
            f"from_torch: the model's parameters are {', '.join(dtypes)}; expected one floating dtype"
            " (model.to(torch.float32), for example)"
        )
    devices = sorted({str(p.device) for p in params})
    if len(devices) > 1 or params[0].device.type not in ("cpu", "cuda"):
        raise ScenarioError(
            f"from_torch: the model's parameters are on {', '.join(devices)}; expected one device, cpu or cuda"
        )
    return params


def _pair(data: Any, argument: str) -> tuple[torch.Tensor, torch.Tensor]:
    """`data`, a pair of tensors or a Dataset of pairs, as two tensors of samples (checked)."""
    expected = "expected a (inputs, targets) pair of tensors or a torch Dataset"
    if isinstance(data, Dataset):
        samples = list(data) if isinstance(data, IterableDataset) else [data[i] for i in range(len(cast(Sized, data)))]
        if not samples:
            raise ScenarioError(f"from_torch: {argument} has no samples; expected at least one")
        try:
            stacked = default_collate(samples)
        except (TypeError, RuntimeError) as exc:
            raise ScenarioError(
                f"from_torch: the samples of {argument}={_show(data)} do not stack ({_one_line(exc)}); {expected}"
                " of (input, target) pairs"
            ) from exc
        if not _is_pair(stacked):
            raise ScenarioError(f"from_torch: the samples of {argument}={_show(data)} are not pairs; {expected} of pairs")
        data = stacked
    elif not _is_pair(data):
        raise ScenarioError(f"from_torch: {argument}={_show(data)}; {expected}")
    inputs, targets = data
    if inputs.shape[0] != targets.shape[0]:
        raise ScenarioError(
            f"from_torch: {argument} has {inputs.shape[0]} inputs and {targets.shape[0]} targets;"
            " expected one target per input"
        )
    if inputs.shape[0] == 0:
        raise ScenarioError(f"from_torch: {argument} has no samples; expected at least one")
    return inputs, targets


def _is_pair(data: Any) -> bool:
    """Whether `data` is a tuple or list of two tensors, each with a first (sample) axis."""
    return (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and all(isinstance(t, torch.Tensor) and t.ndim >= 1 for t in data)
    )


def _is_labels(targets: torch.Tensor) -> bool:
    """Whether `targets` are class labels: a 1-d tensor of integers (not bool)."""
    return targets.ndim == 1 and not (targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool)


def _check_loss(task: TorchTask) -> None:
    """Run the model and the loss on the first training batch; raise a one-line ScenarioError if they fail."""
    first = min(task.batch_size, task.inputs.shape[0])
    where = f"train[:{first}]"
    flat = _flatten(task.model)
    with torch.no_grad():
        try:
            loss = task.loss_fn(task._forward(flat, task.inputs[:first], _copy(task._buffers)), task.targets[:first])
        except Exception as exc:  # the user's model or loss: any error, reported in one line
            raise ScenarioError(
                f"from_torch: the model and loss_fn fail on {where}: {type(exc).__name__}: {_one_line(exc)}"
            ) from exc
    if not (isinstance(loss, torch.Tensor) and loss.ndim == 0 and loss.is_floating_point()):
        got = _describe(loss) if isinstance(loss, torch.Tensor) else _show(loss)
        raise ScenarioError(
            f"from_torch: loss_fn returned {got} on {where}; expected a floating scalar tensor (the mean loss over the batch)"
        )


def _flatten(model: torch.nn.Module) -> torch.Tensor:
    """The parameters of `model` in ``named_parameters()`` order, as one new flat tensor of their dtype."""
    return torch.cat([p.detach().reshape(-1) for _, p in model.named_parameters()])


def _copy(buffers: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached copies of `buffers`, by name."""
    return {name: b.detach().clone() for name, b in buffers.items()}


def _describe(t: torch.Tensor) -> str:
    """``"a torch.float32 tensor of shape (10, 3)"``."""
    return f"a {t.dtype} tensor of shape {tuple(t.shape)}"


def _show(value: Any) -> str:
    """:func:`simsgp.errors.shown` on one line (a tensor's repr spans several)."""
    return " ".join(shown(value).split())


def _one_line(exc: BaseException) -> str:
    """The message of `exc` on one line."""
    return " ".join(str(exc).split())
