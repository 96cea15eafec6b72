"""Learning tasks: real gradients on numpy (or torch / cupy), sharded across simulated nodes.

A task owns its data and its math and nothing else: no clock, no network, no
global random state. Every random draw (initial parameters, data splits,
mini-batches, gradient noise) comes from an ``np.random.Generator`` passed in
by the caller, so a run is reproducible from its seed.

Three built-in tasks share the :class:`BuiltinTask` interface (the minimal
:class:`Task` a run needs, and more), each registered
(``task.name``) with a dataclass of its own parameters (``task.<key>``):

- :class:`QuadraticTask` (``"quadratic"``): per-node quadratics with a known
  optimum, for checking convergence exactly.
- :class:`LogisticDigitsTask` (``"logistic-digits"``): softmax regression on
  scikit-learn's bundled 8x8 digits, with a held-out test split.
- :class:`MLPDigitsTask` (``"mlp-digits"``): a one-hidden-layer ReLU network
  on the same digits data and shards.

The digits tasks shard their training set IID (:func:`shard_iid`) or with
label skew (:func:`shard_dirichlet`), one of :data:`PARTITIONS`.

A task of the user's own joins the family with :func:`register` (a name,
a parameter dataclass and ``build``), or goes straight to
``simsgp.run(scenario, task=...)``; :func:`from_torch` makes one of a
PyTorch model.

Payload size is separate from the task (see :func:`payload_bytes`): the
network can carry ResNet-50-sized messages while the math runs a small task.

Every task has a :class:`~simsgp.learn.backend.Backend` (numpy by default);
``task.to_backend(backend)`` returns a copy whose data arrays live on another
backend and device, and whose math (written against the array API namespace
``backend.xp``) takes and returns that backend's arrays. Random draws stay on
the host: :meth:`BuiltinTask.sample_batch` returns numpy (batch positions, or the
quadratic's noise draws) from the numpy Generator, and :meth:`BuiltinTask.grad`
moves what it needs, so one seed gives the same batches on every backend.
:meth:`BuiltinTask.init_params` draws on the host too and returns a backend array.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar, runtime_checkable

import numpy as np
import numpy.typing as npt

from simsgp.checks import at_least, nonnegative, one_of, positive
from simsgp.errors import ScenarioError
from simsgp.fields import setting
from simsgp.learn.backend import Backend
from simsgp.registry import Registry

if TYPE_CHECKING:  # for the annotations of from_torch: torch is imported only when it is called
    import torch

    from simsgp.torch_task import TorchTask

__all__ = [
    "PARTITIONS",
    "PAYLOADS",
    "TASKS",
    "BuiltinTask",
    "DigitsParams",
    "LogisticDigitsTask",
    "MLPDigitsParams",
    "MLPDigitsTask",
    "QuadraticParams",
    "QuadraticTask",
    "ShardParams",
    "Task",
    "TaskKind",
    "from_torch",
    "make_task",
    "payload_bytes",
    "register",
    "sample_positions",
    "shard_dirichlet",
    "shard_iid",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Parameter counts of named models. resnet18, resnet50 and vgg16: torchvision's
# ImageNet models (``sum(p.numel() for p in model.parameters())``, as listed in
# torchvision's model tables). bert-base: the rounded 110 M that Devlin et al.
# 2019, "BERT: Pre-training of Deep Bidirectional Transformers", Section 3,
# gives for BERT_BASE (L=12, H=768, A=12).
PAYLOADS: dict[str, int] = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "vgg16": 138_357_544,
    "bert-base": 110_000_000,
}

PARTITIONS: tuple[str, ...] = ("iid", "dirichlet")

#: Bytes per parameter of a task's own parameters, as the simulator holds them.
_TASK_DTYPE_BYTES = np.dtype(np.float64).itemsize

#: Bound on the forward-pass temporaries of ``loss_many`` / ``accuracy_many`` (bytes).
_EVAL_BYTES = 1 << 28

#: The default backend of every task: numpy on the CPU.
_HOST = Backend()

_T = TypeVar("_T")


def _move(a: Any, source: Backend, target: Backend, dtype: str) -> Any:
    """Array `a` of backend `source` as an array of `target` (through the host)."""
    return target.asarray(a if source.name == "numpy" else source.to_numpy(a), dtype=dtype)


def payload_bytes(
    payload: str | float, task_param_count: int, *, dtype_bytes: int = 4
) -> int:
    """Size in bytes of one model message on the simulated network.

    Parameters
    ----------
    payload : str, int or float
        ``"task"``: the task's own parameters as the simulator holds them,
        ``task_param_count * 8`` (float64). A key of :data:`PAYLOADS`: that
        model's parameter count times `dtype_bytes`. A positive finite
        number: that many bytes (rounded up to a whole byte).
    task_param_count : int
        Number of parameters of the task being run (its ``dim``).
    dtype_bytes : int, default 4
        Bytes per parameter of a named model (4: fp32, as in the SGP paper).
        Not applied to ``"task"`` or to a number of bytes.

    Returns
    -------
    int
        Message size in bytes.

    Raises
    ------
    ScenarioError
        If `payload` is none of the above (a bool counts as none).

    Examples
    --------
    >>> payload_bytes("resnet50", 650)
    102228128
    >>> payload_bytes("task", 650)
    5200
    >>> payload_bytes(1e6, 650)
    1000000
    """
    if isinstance(payload, str):
        if payload == "task":
            return task_param_count * _TASK_DTYPE_BYTES
        if payload in PAYLOADS:
            return PAYLOADS[payload] * dtype_bytes
    elif (
        isinstance(payload, (int, float))
        and not isinstance(payload, bool)
        and math.isfinite(payload)
        and payload > 0
    ):
        return math.ceil(payload)
    raise ScenarioError(
        f"task.payload={payload!r}; expected \"task\", one of {sorted(PAYLOADS)}"
        " or a positive number of bytes"
    )


def shard_iid(n_samples: int, n_nodes: int, rng: np.random.Generator) -> list[IntArray]:
    """Split sample indices IID across nodes: shuffle, then cut into near-equal parts.

    Parameters
    ----------
    n_samples : int
        Number of samples; indices ``0 .. n_samples - 1`` are dealt out.
    n_nodes : int
        Number of shards (positive). With more nodes than samples some
        shards are empty.
    rng : numpy.random.Generator
        Source of the shuffle.

    Returns
    -------
    list of numpy.ndarray
        One int array per node. Together they hold every index exactly once;
        sizes differ by at most one (the first ``n_samples % n_nodes`` shards
        are the larger ones, as ``np.array_split`` cuts).

    Examples
    --------
    >>> shards = shard_iid(10, 3, np.random.default_rng(0))
    >>> [len(s) for s in shards]
    [4, 3, 3]
    >>> sorted(np.concatenate(shards).tolist()) == list(range(10))
    True
    """
    return np.array_split(rng.permutation(n_samples), n_nodes)


def shard_dirichlet(
    labels: np.ndarray, n_nodes: int, alpha: float, rng: np.random.Generator
) -> list[IntArray]:
    """Split sample indices across nodes with label skew drawn from a Dirichlet.

    For each class in increasing order, that class's indices are shuffled and
    cut into `n_nodes` consecutive pieces whose proportions are one draw from
    ``Dirichlet(alpha * ones(n_nodes))`` (piece sizes are the floors of the
    cumulative proportions times the class size). Node ``i`` gets piece ``i``
    of every class. Small `alpha` gives each node few classes; large `alpha`
    approaches an IID split.

    Parameters
    ----------
    labels : numpy.ndarray
        Class label of each sample, shape ``(n_samples,)``; indices
        ``0 .. n_samples - 1`` are dealt out.
    n_nodes : int
        Number of shards; between 1 and ``n_samples``.
    alpha : float
        Dirichlet concentration (positive).
    rng : numpy.random.Generator
        Source of the shuffles and the proportions (one shuffle then one
        Dirichlet draw per class).

    Returns
    -------
    list of numpy.ndarray
        One int array per node, grouped by class. Together they hold every
        index exactly once, and none is empty.

    Raises
    ------
    ValueError
        If `n_nodes` is not in ``[1, n_samples]``, or `alpha` is not positive.

    Notes
    -----
    The draw can leave nodes empty (likely for small `alpha`). Each empty
    node, in increasing node order, then takes the last index of the
    currently largest shard (lowest node on ties); no redraw, so the result
    is a fixed function of the generator's state. The largest shard always
    has two or more indices at that point, so no donor is emptied.

    References
    ----------
    .. [1] T.-M. H. Hsu, H. Qi and M. Brown, "Measuring the Effects of
       Non-Identical Data Distribution for Federated Visual Classification",
       arXiv:1909.06335, 2019, Section 3.

    Examples
    --------
    >>> labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])
    >>> shards = shard_dirichlet(labels, 3, 0.1, np.random.default_rng(0))
    >>> [labels[s].tolist() for s in shards]
    [[2], [0, 0, 0, 1, 1, 1, 2], [0, 1, 2, 2]]
    >>> sorted(np.concatenate(shards).tolist()) == list(range(12))
    True
    """
    labels = np.asarray(labels)
    if not 1 <= n_nodes <= len(labels):
        raise ValueError(f"n_nodes must be in [1, {len(labels)}] (one sample each), got {n_nodes}")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha!r}")
    pieces: list[list[IntArray]] = [[] for _ in range(n_nodes)]
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        share = rng.dirichlet(np.full(n_nodes, float(alpha)))
        cuts = np.floor(np.cumsum(share)[:-1] * len(members)).astype(int)
        for node, piece in enumerate(np.split(members, cuts)):
            pieces[node].append(piece)
    shards = [np.concatenate(p) for p in pieces]
    for node in range(n_nodes):
        if len(shards[node]) == 0:
            donor = int(np.argmax([len(s) for s in shards]))
            shards[node], shards[donor] = shards[donor][-1:], shards[donor][:-1]
    return shards


def sample_positions(shard_size: int, batch_size: int, rng: np.random.Generator) -> IntArray:
    """A mini-batch: ``min(batch_size, shard_size)`` distinct positions in a shard, drawn from ``rng``.

    Examples
    --------
    >>> sample_positions(5, 3, np.random.default_rng(0)).tolist()
    [3, 4, 2]
    """
    return rng.choice(shard_size, size=min(batch_size, shard_size), replace=False)


@runtime_checkable
class Task(Protocol):
    """What :func:`simsgp.run` needs from a learning problem: the user's own (``task=``) or a built-in.

    Parameters are flat vectors of ``dim`` numbers; the engine stacks every
    node's as one row of a ``(nodes, dim)`` array of the task's backend.
    Optional members: ``shard(n_nodes, rng)``, called once with the run's
    node count and data stream, returns the task to use (split the data
    there); ``backend`` (a :class:`simsgp.learn.backend.Backend`, default numpy);
    ``payload_bytes`` (the size of one model message, default ``dim * 8``);
    ``name``. :func:`simsgp.tasks.from_torch` makes one from a PyTorch model.
    """

    @property
    def dim(self) -> int:
        """Number of parameters."""
        ...

    def init_params(self, rng: np.random.Generator) -> Any:
        """The initial parameters, shape ``(dim,)``; every node starts from them."""
        ...

    def sample_batch(self, node: int, rng: np.random.Generator) -> Any:
        """What :meth:`grad` needs for one mini-batch of ``node`` (drawn from ``rng`` only)."""
        ...

    def grad(self, node: int, x: Any, batch: Any) -> tuple[float, Any]:
        """``(mini-batch loss, gradient)`` of ``node`` at parameters ``x``."""
        ...

    def loss_many(self, xs: Any) -> Any:
        """The full training loss at every row of ``xs``, shape ``(rows,)``."""
        ...

    def accuracy_many(self, xs: Any) -> Any:
        """Test accuracy at every row of ``xs``, or ``None`` without test data."""
        ...



@runtime_checkable
class BuiltinTask(Task, Protocol):
    """What the built-in tasks offer beyond :class:`Task`: a name, their shards, backends, per-model metrics.

    Parameters are flat float64 vectors of length ``dim``; node ``i`` owns
    shard ``i`` of the training objective. All randomness goes through
    :meth:`init_params` and :meth:`sample_batch`; the other methods are pure.
    Parameters, gradients and the ``*_many`` results are arrays of the task's
    :attr:`backend`; batches are host numpy arrays.

    Examples
    --------
    >>> isinstance(make_task("quadratic", 2, np.random.default_rng(0)), BuiltinTask)
    True
    """

    @property
    def name(self) -> str:
        """Registered name of the task (one of :data:`TASKS`)."""
        ...

    @property
    def dim(self) -> int:
        """Number of parameters (length of a flat parameter vector)."""
        ...

    @property
    def n_nodes(self) -> int:
        """Number of nodes the training objective is sharded across."""
        ...

    @property
    def backend(self) -> Backend:
        """Where the data arrays live and the math runs."""
        ...

    def to_backend(self: _T, backend: Backend) -> _T:
        """A copy of the task with its data arrays on `backend`."""
        ...

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw initial parameters on the host, shape ``(dim,)``, on :attr:`backend`."""
        ...

    def sample_batch(self, node: int, rng: np.random.Generator) -> np.ndarray:
        """Draw what `grad` needs for one stochastic gradient at `node` (host numpy)."""
        ...

    def grad(
        self, node: int, x: FloatArray, batch_idx: np.ndarray
    ) -> tuple[float, FloatArray]:
        """Return (mini-batch loss at `x`, gradient at `x`) on `node`'s shard."""
        ...

    def loss(self, x: FloatArray) -> float:
        """Full training objective at `x`."""
        ...

    def loss_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`loss` of every row of `xs`, shape ``(n,)``."""
        ...

    def accuracy(self, x: FloatArray) -> float | None:
        """Held-out accuracy at `x`, or None when the task has no test data."""
        ...

    def accuracy_many(self, xs: FloatArray) -> FloatArray | None:
        """:meth:`accuracy` of every row of `xs`, or None."""
        ...

    def optimum(self) -> FloatArray | None:
        """The exact minimiser of the training objective, or None if unknown."""
        ...


@dataclass(frozen=True, eq=False)
class QuadraticTask:
    """Separable quadratics with a shared curvature and per-node centres.

    Node ``i`` minimises ``f_i(x) = 0.5 * sum_j h_j (x_j - c_ij)**2``; the
    global objective ``F = (1/n) sum_i f_i`` has the exact minimiser
    ``mean_i c_i``. Stochastic gradients are exact gradients plus Gaussian
    noise of standard deviation `noise`; the standard-normal draws are the
    "batch" that :meth:`sample_batch` returns, so :meth:`grad` stays pure.

    Parameters
    ----------
    curvature : numpy.ndarray
        ``h``, shape ``(dim,)``, every entry positive.
    centers : numpy.ndarray
        ``c``, shape ``(n_nodes, dim)``; row ``i`` is node ``i``'s minimiser.
    noise : float, default 0.0
        Standard deviation of the gradient noise (non-negative).
    backend : Backend, default numpy on the CPU
        Where `curvature` and `centers` live (see :meth:`to_backend`).

    Examples
    --------
    >>> task = QuadraticTask(np.array([1.0, 2.0]), np.array([[0.0, 0.0], [2.0, 4.0]]))
    >>> task.dim, task.n_nodes, task.optimum()
    (2, 2, array([1., 2.]))
    """

    name: ClassVar[str] = "quadratic"
    curvature: FloatArray
    centers: FloatArray
    noise: float = 0.0
    backend: Backend = _HOST

    def __post_init__(self) -> None:
        if self.curvature.ndim != 1 or bool(self.backend.xp.any(self.curvature <= 0)):
            raise ValueError("curvature must be a 1-d array of positive numbers")
        if self.centers.ndim != 2 or self.centers.shape[1] != self.curvature.shape[0]:
            raise ValueError(
                f"centers must have shape (n_nodes, {self.curvature.shape[0]}),"
                f" got {tuple(self.centers.shape)}"
            )
        if not self.noise >= 0:
            raise ValueError(f"noise must be non-negative, got {self.noise!r}")

    @classmethod
    def from_rng(
        cls,
        n_nodes: int,
        rng: np.random.Generator,
        *,
        dim: int = 10,
        noise: float = 0.0,
        heterogeneity: float = 1.0,
    ) -> QuadraticTask:
        """Draw a random instance.

        Curvatures are uniform on [0.5, 2]; a common point is standard normal
        and each node's centre is that point plus ``heterogeneity`` times a
        standard normal vector (``heterogeneity = 0``: all nodes agree).

        Parameters
        ----------
        n_nodes : int
            Number of nodes.
        rng : numpy.random.Generator
            Source of curvatures and centres.
        dim : int, default 10
            Number of parameters.
        noise : float, default 0.0
            Gradient noise standard deviation.
        heterogeneity : float, default 1.0
            Spread of the node centres around their common point.

        Returns
        -------
        QuadraticTask

        Examples
        --------
        >>> task = QuadraticTask.from_rng(4, np.random.default_rng(0), dim=3)
        >>> task.centers.shape
        (4, 3)
        >>> bool(np.all((task.curvature >= 0.5) & (task.curvature <= 2.0)))
        True
        """
        curvature = rng.uniform(0.5, 2.0, size=dim)
        common = rng.standard_normal(dim)
        centers = common + heterogeneity * rng.standard_normal((n_nodes, dim))
        return cls(curvature, centers, noise)

    @property
    def dim(self) -> int:
        """Number of parameters.

        Examples
        --------
        >>> QuadraticTask.from_rng(2, np.random.default_rng(0), dim=5).dim
        5
        """
        return self.curvature.shape[0]

    @property
    def n_nodes(self) -> int:
        """Number of nodes.

        Examples
        --------
        >>> QuadraticTask.from_rng(3, np.random.default_rng(0)).n_nodes
        3
        """
        return self.centers.shape[0]

    def to_backend(self, backend: Backend) -> QuadraticTask:
        """A copy with `curvature` and `centers` on `backend` (float64).

        Examples
        --------
        >>> from simsgp.learn.backend import get_backend
        >>> task = QuadraticTask.from_rng(2, np.random.default_rng(0)).to_backend(get_backend())
        >>> task.backend
        Backend(name='numpy', device='cpu')
        """
        curvature, centers = (_move(a, self.backend, backend, "float64") for a in (self.curvature, self.centers))
        return replace(self, curvature=curvature, centers=centers, backend=backend)

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw standard-normal initial parameters.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        array
            Shape ``(dim,)``, on :attr:`backend` (drawn on the host).

        Examples
        --------
        >>> task = QuadraticTask.from_rng(2, np.random.default_rng(0), dim=4)
        >>> task.init_params(np.random.default_rng(1)).shape
        (4,)
        """
        return self.backend.asarray(rng.standard_normal(self.dim))

    def sample_batch(self, node: int, rng: np.random.Generator) -> FloatArray:
        """Draw the standard-normal vector that scales into gradient noise.

        Drawn even when ``noise == 0`` so that the random stream does not
        depend on the noise level.

        Parameters
        ----------
        node : int
            Ignored: every node's noise has the same law.
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        numpy.ndarray
            Shape ``(dim,)``, standard normal, on the host whatever the
            backend (:meth:`grad` moves it).

        Examples
        --------
        >>> task = QuadraticTask.from_rng(2, np.random.default_rng(0), dim=3)
        >>> task.sample_batch(0, np.random.default_rng(1)).shape
        (3,)
        """
        del node
        return rng.standard_normal(self.dim)

    def grad(
        self, node: int, x: FloatArray, batch_idx: np.ndarray
    ) -> tuple[float, FloatArray]:
        """Node objective and noisy gradient at `x`.

        Parameters
        ----------
        node : int
            Node index.
        x : numpy.ndarray
            Parameters, shape ``(dim,)``.
        batch_idx : numpy.ndarray
            Standard-normal draws from :meth:`sample_batch`, shape ``(dim,)``
            (host numpy, or already on :attr:`backend`).

        Returns
        -------
        loss : float
            ``f_node(x)`` (noise-free).
        grad : array
            ``h * (x - c_node) + noise * batch_idx``, on :attr:`backend`.

        Examples
        --------
        >>> task = QuadraticTask(np.array([2.0]), np.array([[1.0]]), noise=0.5)
        >>> task.grad(0, np.array([3.0]), np.array([1.0]))
        (4.0, array([4.5]))
        """
        diff = x - self.centers[node]
        loss = 0.5 * float(self.curvature @ (diff * diff))
        noise = batch_idx if self.backend.name == "numpy" else self.backend.asarray(batch_idx)
        return loss, self.curvature * diff + self.noise * noise

    def loss(self, x: FloatArray) -> float:
        """Global objective above its minimum, ``F(x) - F(x*)``; zero at the optimum.

        Computed as ``0.5 * sum_j h_j (x_j - xbar_j)**2`` with ``xbar`` the mean
        centre, which equals ``F(x) - F(x*)`` exactly in real arithmetic.

        Parameters
        ----------
        x : numpy.ndarray
            Parameters, shape ``(dim,)``.

        Returns
        -------
        float

        Examples
        --------
        >>> task = QuadraticTask(np.array([2.0]), np.array([[0.0], [2.0]]))
        >>> task.loss(np.array([3.0])), task.loss(task.optimum())
        (4.0, 0.0)
        """
        diff = x - self.backend.xp.mean(self.centers, axis=0)
        return 0.5 * float(self.curvature @ (diff * diff))

    def loss_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`loss` of every row of `xs` at once.

        Parameters
        ----------
        xs : numpy.ndarray
            Shape ``(n, dim)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)``.

        Examples
        --------
        >>> task = QuadraticTask(np.array([2.0]), np.array([[0.0], [2.0]]))
        >>> task.loss_many(np.array([[1.0], [3.0]]))
        array([0., 4.])
        """
        diff = xs - self.backend.xp.mean(self.centers, axis=0)
        return 0.5 * (diff * diff) @ self.curvature

    def accuracy(self, x: FloatArray) -> None:
        """None: a quadratic has no test data.

        Examples
        --------
        >>> QuadraticTask.from_rng(2, np.random.default_rng(0)).accuracy(np.zeros(10)) is None
        True
        """
        del x

    def accuracy_many(self, xs: FloatArray) -> None:
        """None: a quadratic has no test data.

        Examples
        --------
        >>> task = QuadraticTask.from_rng(2, np.random.default_rng(0))
        >>> task.accuracy_many(np.zeros((3, 10))) is None
        True
        """
        del xs

    def optimum(self) -> FloatArray:
        """Exact minimiser of the global objective: the mean of the node centres.

        Examples
        --------
        >>> QuadraticTask(np.ones(2), np.array([[0.0, 1.0], [2.0, 3.0]])).optimum()
        array([1., 2.])
        """
        return self.backend.xp.mean(self.centers, axis=0)


_DigitsT = TypeVar("_DigitsT", bound="_DigitsTask")


@dataclass(frozen=True, eq=False)
class _DigitsTask:
    """Data, sharding, mini-batches and evaluation shared by the digits classifiers.

    A subclass is one model. It sets ``name`` and supplies ``dim``,
    ``init_params`` and two hooks (the only places the models differ):

    - ``_logits(a, x)``: logits of the rows `a` under parameters `x`, shape
      ``(rows, classes)``; for a stack `x` of shape ``(models, dim)`` the
      same code broadcasts to ``(models, rows, classes)``.
    - ``_loss_and_grad(x, a, t)``: mean cross-entropy on rows `a` with
      one-hot targets `t`, and its gradient, shape ``(dim,)``.

    Both are written against the namespace ``self.backend.xp``. Fields are
    documented on :class:`LogisticDigitsTask`.
    """

    name: ClassVar[str]
    features: FloatArray
    targets: FloatArray
    test_features: FloatArray
    test_labels: IntArray
    shards: tuple[IntArray, ...]
    batch_size: int = 32
    backend: Backend = _HOST

    @property
    def dim(self) -> int:
        """Number of parameters (the subclass's model)."""
        raise NotImplementedError

    def _logits(self, a: FloatArray, x: FloatArray) -> FloatArray:
        """Logits of the rows `a` under parameters `x` (the subclass's model)."""
        raise NotImplementedError

    def _loss_and_grad(self, x: FloatArray, a: FloatArray, t: FloatArray) -> tuple[float, FloatArray]:
        """Mean cross-entropy on rows `a` with one-hot targets `t`, and its gradient (the subclass's model)."""
        raise NotImplementedError

    @classmethod
    def from_rng(
        cls: type[_DigitsT],
        n_nodes: int,
        rng: np.random.Generator,
        *,
        batch_size: int = 32,
        test_fraction: float = 0.2,
        partition: str = "iid",
        dirichlet_alpha: float = 0.5,
    ) -> _DigitsT:
        """Load digits, split train/test and shard the training set across nodes.

        Parameters
        ----------
        n_nodes : int
            Number of nodes; at most the number of training samples.
        rng : numpy.random.Generator
            Source of the split and of the shards.
        batch_size : int, default 32
            Mini-batch size.
        test_fraction : float, default 0.2
            Fraction of the 1797 samples held out (rounded to whole samples).
        partition : {"iid", "dirichlet"}, default "iid"
            ``"iid"``: :func:`shard_iid`, near-equal random shards.
            ``"dirichlet"``: :func:`shard_dirichlet` on the training labels,
            label-skewed shards of unequal size.
        dirichlet_alpha : float, default 0.5
            Concentration of the ``"dirichlet"`` partition (smaller: more
            skewed). Unused by ``"iid"``.

        Returns
        -------
        LogisticDigitsTask or MLPDigitsTask
            An instance of the class it is called on.

        Raises
        ------
        ScenarioError
            If `partition` is unknown or some node would get no training sample.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(3, np.random.default_rng(0), test_fraction=0.5)
        >>> [len(s) for s in task.shards], len(task.test_labels)
        ([300, 300, 299], 898)
        >>> skewed = LogisticDigitsTask.from_rng(
        ...     3, np.random.default_rng(0), partition="dirichlet", dirichlet_alpha=0.1
        ... )
        >>> sum(len(s) for s in skewed.shards)
        1438
        """
        # scikit-learn loads only when a digits task is built
        from sklearn.datasets import load_digits

        ShardParams(batch_size, partition, dirichlet_alpha)  # the checks of a scenario's task table
        images, labels = load_digits(return_X_y=True)
        x = np.hstack([images / 16.0, np.ones((len(images), 1))])
        order = rng.permutation(len(images))
        n_test = round(test_fraction * len(images))
        test, train = order[:n_test], order[n_test:]
        if n_nodes > len(train):
            raise ScenarioError(
                f"cluster.nodes={n_nodes}; expected at most {len(train)} for"
                f" task.name={cls.name!r} (every node needs a training sample)"
            )
        if partition == "iid":
            shards = shard_iid(len(train), n_nodes, rng)
        else:
            shards = shard_dirichlet(labels[train], n_nodes, dirichlet_alpha, rng)
        n_classes = int(labels.max()) + 1
        return cls(
            features=x[train],
            targets=np.eye(n_classes)[labels[train]],
            test_features=x[test],
            test_labels=labels[test],
            shards=tuple(shards),
            batch_size=batch_size,
        )

    @property
    def n_nodes(self) -> int:
        """Number of nodes (shards).

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(5, np.random.default_rng(0)).n_nodes
        5
        """
        return len(self.shards)

    def to_backend(self: _DigitsT, backend: Backend) -> _DigitsT:
        """A copy whose features, targets and test data live on `backend`.

        The shards stay host numpy arrays: batches are drawn on the host
        (:meth:`sample_batch`) and only the chosen row numbers are moved.

        Parameters
        ----------
        backend : Backend
            Target backend and device.

        Returns
        -------
        LogisticDigitsTask or MLPDigitsTask
            Same class, same data (float64 features and targets, int64 test
            labels).

        Examples
        --------
        >>> from simsgp.learn.backend import get_backend
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> task.to_backend(get_backend()).backend.name
        'numpy'
        """
        def move(a: Any, dtype: str = "float64") -> Any:
            return _move(a, self.backend, backend, dtype)

        return replace(
            self,
            features=move(self.features),
            targets=move(self.targets),
            test_features=move(self.test_features),
            test_labels=move(self.test_labels, "int64"),
            backend=backend,
        )

    def sample_batch(self, node: int, rng: np.random.Generator) -> IntArray:
        """Draw a mini-batch of positions in `node`'s shard, without replacement.

        Parameters
        ----------
        node : int
            Node index.
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        numpy.ndarray
            ``min(batch_size, shard size)`` distinct positions into
            ``shards[node]`` (not rows of ``features``), on the host whatever
            the backend.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(100, np.random.default_rng(0))
        >>> len(task.shards[0]), len(task.sample_batch(0, np.random.default_rng(1)))
        (15, 15)
        """
        return sample_positions(len(self.shards[node]), self.batch_size, rng)

    def grad(
        self, node: int, x: FloatArray, batch_idx: np.ndarray
    ) -> tuple[float, FloatArray]:
        """Mean cross-entropy and its gradient on a mini-batch of `node`'s shard.

        Parameters
        ----------
        node : int
            Node index.
        x : numpy.ndarray
            Parameters, shape ``(dim,)``.
        batch_idx : numpy.ndarray
            Positions in ``shards[node]``, as from :meth:`sample_batch`.

        Returns
        -------
        loss : float
            Mean cross-entropy over the batch at `x`.
        grad : array
            Its gradient, shape ``(dim,)``, on :attr:`backend`.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> loss, g = task.grad(0, np.zeros(task.dim), np.arange(32))
        >>> bool(np.isclose(loss, np.log(10))), g.shape
        (True, (650,))
        """
        # take(): this runs once per simulated iteration. Positions map to rows
        # on the host; only the row numbers move to the backend.
        backend = self.backend
        xp = backend.xp
        rows = self.shards[node].take(batch_idx)
        if backend.name != "numpy":
            rows = backend.asarray(rows, dtype="int64")
        return self._loss_and_grad(
            x, xp.take(self.features, rows, axis=0), xp.take(self.targets, rows, axis=0)
        )

    def loss(self, x: FloatArray) -> float:
        """Mean cross-entropy over all training data (every node's shard).

        Parameters
        ----------
        x : numpy.ndarray
            Parameters, shape ``(dim,)``.

        Returns
        -------
        float

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> bool(np.isclose(task.loss(np.zeros(task.dim)), np.log(10)))
        True
        """
        return float(_mean_cross_entropy(self._logits(self.features, x), self.targets, self.backend.xp))

    def loss_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`loss` of every row of `xs`, in one broadcast forward pass.

        Parameters
        ----------
        xs : numpy.ndarray
            Shape ``(n, dim)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)``.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> task.loss_many(np.zeros((3, task.dim))).round(4)
        array([2.3026, 2.3026, 2.3026])
        """
        xp = self.backend.xp
        return self._in_chunks(lambda c: _mean_cross_entropy(self._logits(self.features, c), self.targets, xp), xs)

    def accuracy(self, x: FloatArray) -> float:
        """Fraction of the held-out test split classified correctly.

        Parameters
        ----------
        x : numpy.ndarray
            Parameters, shape ``(dim,)``.

        Returns
        -------
        float

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> 0.0 <= task.accuracy(task.init_params(np.random.default_rng(1))) <= 1.0
        True
        """
        return float(_accuracy(self._logits(self.test_features, x), self.test_labels, self.backend.xp))

    def accuracy_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`accuracy` of every row of `xs`, in one broadcast forward pass.

        Parameters
        ----------
        xs : numpy.ndarray
            Shape ``(n, dim)``.

        Returns
        -------
        numpy.ndarray
            Shape ``(n,)``.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> task.accuracy_many(task.init_params(np.random.default_rng(1))[None, :]).shape
        (1,)
        """
        xp = self.backend.xp
        return self._in_chunks(lambda c: _accuracy(self._logits(self.test_features, c), self.test_labels, xp), xs)

    def _in_chunks(self, evaluate: Callable[[FloatArray], FloatArray], xs: FloatArray) -> FloatArray:
        """``evaluate`` over the rows of `xs` in chunks, so memory stays linear in nodes x parameters.

        A forward pass of one model over the training set holds about
        ``samples x (dim / features + classes)`` floats (the hidden layer of
        the MLP, the logits of both tasks); chunks keep that under
        :data:`_EVAL_BYTES` for all the models of a chunk together.
        """
        per_model = _TASK_DTYPE_BYTES * self.features.shape[0] * (self.dim // self.features.shape[1] + self.targets.shape[1])
        step = max(1, _EVAL_BYTES // per_model)
        if xs.shape[0] <= step:
            return evaluate(xs)
        return self.backend.xp.concat([evaluate(xs[k:k + step]) for k in range(0, xs.shape[0], step)])

    def optimum(self) -> None:
        """None: no closed-form minimiser (it may not even be finite).

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(1, np.random.default_rng(0)).optimum() is None
        True
        """


@dataclass(frozen=True, eq=False)
class LogisticDigitsTask(_DigitsTask):
    """Multinomial logistic (softmax) regression on scikit-learn's digits.

    Features are the 64 pixel intensities divided by 16 (so in [0, 1]) plus a
    constant bias column, stored once with the bias included. The weight
    matrix ``W`` of shape ``(65, 10)`` is flattened row-major into the
    parameter vector (``dim = 650``). The loss is the mean cross-entropy.

    Parameters
    ----------
    features : numpy.ndarray
        Training features with bias column, shape ``(n_train, n_features)``.
    targets : numpy.ndarray
        One-hot training labels, shape ``(n_train, n_classes)``.
    test_features : numpy.ndarray
        Held-out features with bias column, shape ``(n_test, n_features)``.
    test_labels : numpy.ndarray
        Held-out integer labels, shape ``(n_test,)``.
    shards : tuple of numpy.ndarray
        Node ``i``'s training rows are ``features[shards[i]]`` (host arrays
        on every backend).
    batch_size : int, default 32
        Mini-batch size of :meth:`sample_batch`.
    backend : Backend, default numpy on the CPU
        Where the other arrays live (see :meth:`to_backend`).

    See Also
    --------
    MLPDigitsTask : the same data and shards under a one-hidden-layer network.

    Examples
    --------
    >>> task = LogisticDigitsTask.from_rng(4, np.random.default_rng(0))
    >>> task.dim, task.n_nodes, task.features.shape, task.test_features.shape
    (650, 4, (1438, 65), (359, 65))
    """

    name: ClassVar[str] = "logistic-digits"

    @property
    def dim(self) -> int:
        """Number of parameters, ``n_features * n_classes``.

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(1, np.random.default_rng(0)).dim
        650
        """
        return self.features.shape[1] * self.targets.shape[1]

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw small normal initial parameters (standard deviation 0.01).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        array
            Shape ``(dim,)``, on :attr:`backend` (drawn on the host).

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(1, np.random.default_rng(0))
        >>> x = task.init_params(np.random.default_rng(1))
        >>> x.shape, bool(np.abs(x).max() < 0.1)
        ((650,), True)
        """
        return self.backend.asarray(rng.normal(0.0, 0.01, size=self.dim))

    def _weights(self, x: FloatArray) -> FloatArray:
        """``W`` of shape ``(..., n_features, n_classes)``: a view of `x` (``(..., dim)``)."""
        return x.reshape(*x.shape[:-1], self.features.shape[1], self.targets.shape[1])

    def _logits(self, a: FloatArray, x: FloatArray) -> FloatArray:
        return a @ self._weights(x)

    def _loss_and_grad(
        self, x: FloatArray, a: FloatArray, t: FloatArray
    ) -> tuple[float, FloatArray]:
        loss, dz = _cross_entropy_and_grad(self._logits(a, x), t, self.backend.xp)
        return loss, (a.T @ dz).reshape(-1)


@dataclass(frozen=True, eq=False)
class MLPDigitsTask(_DigitsTask):
    """One-hidden-layer ReLU network with softmax output on scikit-learn's digits.

    Same data, split and shards as :class:`LogisticDigitsTask` (features
    include the constant bias column). With ``n = n_features = 65``,
    ``h = hidden`` and ``k = n_classes = 10`` the model is
    ``logits = [relu(a @ W1), 1] @ W2``, and the parameter vector is

    - ``x[:n*h]``: ``W1`` of shape ``(n, h)``, row-major; its last row
      multiplies the bias column, so it holds the hidden biases;
    - ``x[n*h:]``: ``W2`` of shape ``(h + 1, k)``, row-major; its last row
      holds the output biases.

    so ``dim = n*h + (h + 1)*k`` (2410 for ``hidden = 32``). The loss is the
    mean cross-entropy.

    Parameters
    ----------
    features, targets, test_features, test_labels, shards, batch_size
        As for :class:`LogisticDigitsTask`.
    hidden : int, default 32
        Width of the hidden layer (positive).

    See Also
    --------
    LogisticDigitsTask : the same data and shards under a linear model.

    Examples
    --------
    >>> task = MLPDigitsTask.from_rng(4, np.random.default_rng(0), hidden=16)
    >>> task.dim, task.n_nodes, task.features.shape
    (1210, 4, (1438, 65))
    """

    name: ClassVar[str] = "mlp-digits"
    hidden: int = 32

    def __post_init__(self) -> None:
        if self.hidden < 1:
            raise ValueError(f"hidden must be a positive integer, got {self.hidden!r}")

    @classmethod
    def from_rng(
        cls, n_nodes: int, rng: np.random.Generator, *, hidden: int = 32, **options: Any
    ) -> MLPDigitsTask:
        """Load, split and shard digits as :meth:`LogisticDigitsTask.from_rng` does.

        Parameters
        ----------
        n_nodes : int
            Number of nodes; at most the number of training samples.
        rng : numpy.random.Generator
            Source of the split and of the shards (the same draws as for
            :class:`LogisticDigitsTask`, so one seed gives both tasks the
            same data).
        hidden : int, default 32
            Width of the hidden layer.
        **options
            `batch_size`, `test_fraction`, `partition`, `dirichlet_alpha`:
            as for :meth:`LogisticDigitsTask.from_rng`.

        Returns
        -------
        MLPDigitsTask

        Examples
        --------
        >>> mlp = MLPDigitsTask.from_rng(3, np.random.default_rng(0), hidden=8)
        >>> linear = LogisticDigitsTask.from_rng(3, np.random.default_rng(0))
        >>> mlp.hidden, all(np.array_equal(a, b) for a, b in zip(mlp.shards, linear.shards))
        (8, True)
        """
        return replace(super().from_rng(n_nodes, rng, **options), hidden=hidden)

    @property
    def dim(self) -> int:
        """Number of parameters, ``n_features * hidden + (hidden + 1) * n_classes``.

        Examples
        --------
        >>> MLPDigitsTask.from_rng(1, np.random.default_rng(0)).dim
        2410
        """
        return self.features.shape[1] * self.hidden + (self.hidden + 1) * self.targets.shape[1]

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw initial weights: He-normal ``W1``, Glorot-normal ``W2``, zero biases.

        ``W1``'s pixel rows have standard deviation ``sqrt(2 / 64)`` (He et
        al. 2015, for ReLU with fan-in 64); ``W2``'s unit rows have
        ``sqrt(2 / (hidden + 10))`` (Glorot and Bengio 2010). Both bias rows
        are zero.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draws (``W1`` first, then ``W2``).

        Returns
        -------
        array
            Shape ``(dim,)``, on :attr:`backend` (drawn on the host).

        Examples
        --------
        >>> task = MLPDigitsTask.from_rng(1, np.random.default_rng(0), hidden=4)
        >>> x = task.init_params(np.random.default_rng(1))
        >>> w1, w2 = x[:65 * 4].reshape(65, 4), x[65 * 4:].reshape(5, 10)
        >>> x.shape, bool(np.all(w1[-1] == 0) and np.all(w2[-1] == 0))
        ((310,), True)
        """
        x = np.zeros(self.dim)
        w1, w2 = self._layers(x)
        fan_in, n_classes = w1.shape[0] - 1, w2.shape[1]
        w1[:-1] = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, self.hidden))
        w2[:-1] = rng.normal(
            0.0, math.sqrt(2.0 / (self.hidden + n_classes)), size=(self.hidden, n_classes)
        )
        return self.backend.asarray(x)

    def _layers(self, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """``(W1, W2)``, shapes ``(..., n, h)`` and ``(..., h + 1, k)``: views of `x`."""
        n, k, lead = self.features.shape[1], self.targets.shape[1], x.shape[:-1]
        split = n * self.hidden
        return (
            x[..., :split].reshape(*lead, n, self.hidden),
            x[..., split:].reshape(*lead, self.hidden + 1, k),
        )

    def _forward(self, a: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Hidden activations and logits; broadcasts over leading axes of `x`."""
        w1, w2 = self._layers(x)
        h = a @ w1
        h[h < 0.0] = 0.0  # ReLU in place (keeps -0.0 and NaN as np.maximum(h, 0) does)
        z = h @ w2[..., :-1, :]
        z += w2[..., -1:, :]
        return h, z

    def _logits(self, a: FloatArray, x: FloatArray) -> FloatArray:
        return self._forward(a, x)[1]

    def _loss_and_grad(
        self, x: FloatArray, a: FloatArray, t: FloatArray
    ) -> tuple[float, FloatArray]:
        xp = self.backend.xp
        h, z = self._forward(a, x)
        loss, dz = _cross_entropy_and_grad(z, t, xp)
        dh = dz @ self._layers(x)[1][:-1].T
        dh *= h > 0.0
        # The gradient in parameter order: W1, then W2's unit rows, then its bias row.
        return loss, xp.concat([(a.T @ dh).reshape(-1), (h.T @ dz).reshape(-1), xp.sum(dz, axis=0)])


def _cross_entropy_and_grad(
    logits: FloatArray, targets: FloatArray, xp: Any
) -> tuple[float, FloatArray]:
    """Mean cross-entropy of a batch and its gradient w.r.t. `logits` (overwrites `logits`).

    `xp` is the array namespace of the arguments.
    """
    z = logits
    z -= xp.max(z, axis=1, keepdims=True)
    e = xp.exp(z)
    s = xp.sum(e, axis=1, keepdims=True)
    # t's rows sum to one, so -sum t * log_softmax(z) = sum log s - sum t * z.
    loss = (float(xp.sum(xp.log(s))) - float(xp.vecdot(targets.reshape(-1), z.reshape(-1)))) / z.shape[0]
    e /= s
    e -= targets
    e /= z.shape[0]
    return loss, e


def _mean_cross_entropy(logits: FloatArray, targets: FloatArray, xp: Any) -> FloatArray:
    """Cross-entropy over the last axis, averaged over rows (the axis before; stable)."""
    z = logits - xp.max(logits, axis=-1, keepdims=True)
    per_row = xp.log(xp.sum(xp.exp(z), axis=-1)) - xp.sum(targets * z, axis=-1)
    return xp.mean(per_row, axis=-1)


def _accuracy(logits: FloatArray, labels: IntArray, xp: Any) -> FloatArray:
    """Fraction of rows (second to last axis) whose largest logit is the label."""
    return xp.mean(xp.astype(xp.argmax(logits, axis=-1) == labels, xp.float64), axis=-1)


@dataclass(frozen=True)
class QuadraticParams:
    """The quadratic's parameters: ``dim`` (parameters), ``noise`` (gradient noise std) and ``heterogeneity`` (spread of the node centres)."""

    dim: int = setting(10, help="number of parameters")
    noise: float = setting(0.0, help="standard deviation of the gradient noise")
    heterogeneity: float = setting(1.0, help="spread of the nodes' optima around the common one")

    def __post_init__(self) -> None:
        at_least("task.dim", self.dim, 1)
        nonnegative("task.noise", self.noise)
        nonnegative("task.heterogeneity", self.heterogeneity)


@dataclass(frozen=True)
class ShardParams:
    """How a task with a training set samples and splits it.

    ``batch_size``: the mini-batch of a node per iteration; ``partition``:
    ``"iid"`` (:func:`shard_iid`) or ``"dirichlet"`` (label skew,
    :func:`shard_dirichlet`); ``dirichlet_alpha``: that skew's concentration
    (smaller: more skewed).
    """

    batch_size: int = setting(32, help="mini-batch of one node per iteration")
    partition: str = setting("iid", help="how the training set is split: iid or dirichlet (label skew)")
    dirichlet_alpha: float = setting(0.5, help="concentration of the dirichlet label skew (smaller: more skewed)")

    def __post_init__(self) -> None:
        at_least("task.batch_size", self.batch_size, 1)
        one_of("task.partition", self.partition, PARTITIONS)
        positive("task.dirichlet_alpha", self.dirichlet_alpha)


@dataclass(frozen=True)
class DigitsParams(ShardParams):
    """The logistic digits task's parameters (see :class:`ShardParams`)."""


@dataclass(frozen=True)
class MLPDigitsParams(ShardParams):
    """The MLP digits task's parameters: :class:`ShardParams` and ``hidden``, the hidden layer's width."""

    hidden: int = setting(32, help="width of the hidden layer")

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("task.hidden", self.hidden, 1)


class TaskKind(Protocol):
    """A family member of tasks, what :func:`register` takes: a name, its parameters and how to build it.

    ``params`` is a frozen dataclass whose fields all have defaults (its
    ``__post_init__`` checks them); ``build(n_nodes, rng, params)`` returns
    a :class:`BuiltinTask` sharded over ``n_nodes`` nodes, drawing every random
    construction from ``rng``. An optional ``dim(params)`` gives the
    parameter count without building the task (for the run's size
    estimate; else it is built on one node to count).
    """

    name: ClassVar[str]
    params: ClassVar[type]

    def build(self, n_nodes: int, rng: np.random.Generator, params: Any) -> BuiltinTask:
        """The task for ``n_nodes`` nodes."""


_DIGITS_FEATURES, _DIGITS_CLASSES = 65, 10
"""The digits data's features (64 pixels and a bias) and classes: the tasks' sizes before the data is loaded."""

TASKS: Registry[Any] = Registry("task.name", dict.fromkeys(("quadratic", "logistic-digits", "mlp-digits"), __name__))
"""Every task by ``task.name``."""

_K = TypeVar("_K")


def register(kind: _K, *, replace: bool = False) -> _K:
    """Make ``kind`` (a :class:`TaskKind` class, instantiated without arguments, or an instance) a valid ``task.name``.

    Use it as a class decorator; returns ``kind`` unchanged.
    """
    TASKS.register(kind, method="build", replace=replace)
    return kind


@register
class _Quadratic:
    name = "quadratic"
    params = QuadraticParams

    def dim(self, params: QuadraticParams) -> int:
        return params.dim

    def build(self, n_nodes: int, rng: np.random.Generator, params: QuadraticParams) -> BuiltinTask:
        return QuadraticTask.from_rng(n_nodes, rng, dim=params.dim, noise=params.noise, heterogeneity=params.heterogeneity)


@register
class _LogisticDigits:
    name = "logistic-digits"
    params = DigitsParams

    def dim(self, params: DigitsParams) -> int:
        return _DIGITS_FEATURES * _DIGITS_CLASSES

    def build(self, n_nodes: int, rng: np.random.Generator, params: DigitsParams) -> BuiltinTask:
        return LogisticDigitsTask.from_rng(n_nodes, rng, **dataclasses.asdict(params))


@register
class _MLPDigits:
    name = "mlp-digits"
    params = MLPDigitsParams

    def dim(self, params: MLPDigitsParams) -> int:
        return _DIGITS_FEATURES * params.hidden + (params.hidden + 1) * _DIGITS_CLASSES

    def build(self, n_nodes: int, rng: np.random.Generator, params: MLPDigitsParams) -> BuiltinTask:
        return MLPDigitsTask.from_rng(n_nodes, rng, **dataclasses.asdict(params))


def make_task(
    name: str, n_nodes: int, rng: np.random.Generator, *, backend: Backend | None = None, **params: Any
) -> BuiltinTask:
    """Build a registered task from its name and parameters, as a scenario's ``[task]`` table would.

    Parameters
    ----------
    name : str
        A ``task.name``: ``"quadratic"``, ``"logistic-digits"``,
        ``"mlp-digits"`` or one the user registered.
    n_nodes : int
        Number of nodes to shard across.
    rng : numpy.random.Generator
        Source of the task's random construction (data split, centres ...).
    backend : Backend or None, default None
        Where the task's arrays live and its math runs
        (:func:`simsgp.learn.backend.get_backend`); None: numpy on the CPU. The
        random construction is the same on every backend.
    **params
        The task's own parameters (:class:`QuadraticParams`,
        :class:`DigitsParams`, :class:`MLPDigitsParams`); the others take
        their defaults. A parameter the task does not have is an error.

    Raises
    ------
    ScenarioError
        For an unknown name, a parameter the task does not have or an
        out-of-range value; the message names the field (``task.<key>``).

    Examples
    --------
    >>> task = make_task("quadratic", 4, np.random.default_rng(0), dim=3)
    >>> task.name, task.dim, task.n_nodes
    ('quadratic', 3, 4)
    >>> make_task("quadratic", 4, np.random.default_rng(0), hidden=3)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: task.hidden=3: not a parameter of task.name='quadratic'; its parameters are [...]
    """
    from simsgp.scenario import params_of  # the one place scenario values are checked

    at_least("cluster.nodes", n_nodes, 1)
    task = TASKS.get(name).build(n_nodes, rng, params_of(TASKS, "task", name, params))
    return task if backend is None else task.to_backend(backend)


def from_torch(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train: Any,
    test: Any = None,
    *,
    batch_size: int = 32,
    partition: str = "iid",
    dirichlet_alpha: float = 0.5,
) -> TorchTask:
    """A task of the user's own PyTorch model, for ``simsgp.run(scenario, task=...)``.

    Imports torch (and :mod:`simsgp.torch_task`, which documents how
    parameters, dtypes, devices and buffers are handled) only when called.

    Parameters
    ----------
    model : torch.nn.Module
        The model, initialised: its current parameters are every node's
        starting point. Its parameters (all of one floating dtype, on one cpu
        or cuda device) are flattened in ``named_parameters()`` order into
        one vector per node; the model itself is never changed. It runs in
        the mode it is in: call ``model.eval()`` first for one whose training
        mode draws random numbers (dropout), or runs are not reproducible.
    loss_fn : callable
        ``loss_fn(outputs, targets)``: a scalar tensor, the mean loss over the
        batch (``torch.nn.functional.cross_entropy``, for example).
    train : (torch.Tensor, torch.Tensor) or torch.utils.data.Dataset
        Training ``(inputs, targets)``, one sample per row of the first axis,
        or a Dataset of ``(input, target)`` samples (read once and stacked).
        Moved to the model's device.
    test : same as `train`, or None, default None
        Test data. When its targets are class labels (a 1-d integer tensor),
        the run's accuracy is the fraction of test samples whose largest
        output is the label; else there is no accuracy.
    batch_size : int, default 32
        Mini-batch size per node and iteration (positive).
    partition : str, default "iid"
        How the run splits the training set across its nodes, one of
        :data:`PARTITIONS`; ``"dirichlet"`` (label skew, :func:`shard_dirichlet`)
        needs class labels as train targets.
    dirichlet_alpha : float, default 0.5
        Concentration of the ``"dirichlet"`` partition (positive).

    Returns
    -------
    simsgp.torch_task.TorchTask
        The whole training set as one shard; the engine calls its ``shard``
        with the run's node count. ``payload_bytes`` is the model's parameter
        bytes; the node math runs on torch on the model's device.

    Raises
    ------
    SimsgpError
        PyTorch is not installed (the message says how to install it).
    ScenarioError
        A bad argument, or a model, loss and data that do not fit together
        (one forward pass is tried); the one-line message names the argument.
    """
    from simsgp.torch_task import from_torch as build

    return build(
        model, loss_fn, train, test, batch_size=batch_size, partition=partition, dirichlet_alpha=dirichlet_alpha
    )
