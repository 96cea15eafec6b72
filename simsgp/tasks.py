"""Learning tasks: real gradients on numpy, sharded across simulated nodes.

A task owns its data and its math and nothing else: no clock, no network, no
global random state. Every random draw (initial parameters, data splits,
mini-batches, gradient noise) comes from an ``np.random.Generator`` passed in
by the caller, so a run is reproducible from its seed.

Two tasks share the :class:`Task` interface:

- :class:`QuadraticTask` (``"quadratic"``): per-node quadratics with a known
  optimum, for checking convergence exactly.
- :class:`LogisticDigitsTask` (``"logistic-digits"``): softmax regression on
  scikit-learn's bundled 8x8 digits, with a held-out test split.

Payload size is separate from the task (see :func:`payload_bytes`): the
network can carry ResNet-50-sized messages while the math runs a small task.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits

from simsgp.errors import ScenarioError

__all__ = [
    "PARTITIONS",
    "PAYLOADS",
    "TASKS",
    "LogisticDigitsTask",
    "QuadraticTask",
    "Task",
    "make_task",
    "payload_bytes",
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

TASKS: tuple[str, ...] = ("quadratic", "logistic-digits")

PARTITIONS: tuple[str, ...] = ("iid", "dirichlet")

#: Bytes per parameter of a task's own parameters, as the simulator holds them.
_TASK_DTYPE_BYTES = np.dtype(np.float64).itemsize


def payload_bytes(
    payload: str | int | float, task_param_count: int, *, dtype_bytes: int = 4
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


@runtime_checkable
class Task(Protocol):
    """What the simulator needs from a learning problem.

    Parameters are flat float64 vectors of length ``dim``; node ``i`` owns
    shard ``i`` of the training objective. All randomness goes through
    :meth:`init_params` and :meth:`sample_batch`; the other methods are pure.

    Examples
    --------
    >>> isinstance(make_task("quadratic", 2, np.random.default_rng(0)), Task)
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

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw initial parameters, shape ``(dim,)``."""
        ...

    def sample_batch(self, node: int, rng: np.random.Generator) -> np.ndarray:
        """Draw what `grad` needs for one stochastic gradient at `node`."""
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

    def __post_init__(self) -> None:
        if self.curvature.ndim != 1 or np.any(self.curvature <= 0):
            raise ValueError("curvature must be a 1-d array of positive numbers")
        if self.centers.ndim != 2 or self.centers.shape[1] != self.curvature.size:
            raise ValueError(
                f"centers must have shape (n_nodes, {self.curvature.size}),"
                f" got {self.centers.shape}"
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
        return self.curvature.size

    @property
    def n_nodes(self) -> int:
        """Number of nodes.

        Examples
        --------
        >>> QuadraticTask.from_rng(3, np.random.default_rng(0)).n_nodes
        3
        """
        return self.centers.shape[0]

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw standard-normal initial parameters.

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        numpy.ndarray
            Shape ``(dim,)``.

        Examples
        --------
        >>> task = QuadraticTask.from_rng(2, np.random.default_rng(0), dim=4)
        >>> task.init_params(np.random.default_rng(1)).shape
        (4,)
        """
        return rng.standard_normal(self.dim)

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
            Shape ``(dim,)``, standard normal.

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
            Standard-normal draws from :meth:`sample_batch`, shape ``(dim,)``.

        Returns
        -------
        loss : float
            ``f_node(x)`` (noise-free).
        grad : numpy.ndarray
            ``h * (x - c_node) + noise * batch_idx``.

        Examples
        --------
        >>> task = QuadraticTask(np.array([2.0]), np.array([[1.0]]), noise=0.5)
        >>> task.grad(0, np.array([3.0]), np.array([1.0]))
        (4.0, array([4.5]))
        """
        diff = x - self.centers[node]
        loss = 0.5 * float(np.dot(self.curvature, diff * diff))
        return loss, self.curvature * diff + self.noise * batch_idx

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
        diff = x - self.centers.mean(axis=0)
        return 0.5 * float(np.dot(self.curvature, diff * diff))

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
        diff = xs - self.centers.mean(axis=0)
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
        return self.centers.mean(axis=0)


@dataclass(frozen=True, eq=False)
class LogisticDigitsTask:
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
        Node ``i``'s training rows are ``features[shards[i]]``.
    batch_size : int, default 32
        Mini-batch size of :meth:`sample_batch`.

    Examples
    --------
    >>> task = LogisticDigitsTask.from_rng(4, np.random.default_rng(0))
    >>> task.dim, task.n_nodes, task.features.shape, task.test_features.shape
    (650, 4, (1438, 65), (359, 65))
    """

    name: ClassVar[str] = "logistic-digits"
    features: FloatArray
    targets: FloatArray
    test_features: FloatArray
    test_labels: IntArray
    shards: tuple[IntArray, ...]
    batch_size: int = 32

    @classmethod
    def from_rng(
        cls,
        n_nodes: int,
        rng: np.random.Generator,
        *,
        batch_size: int = 32,
        test_fraction: float = 0.2,
    ) -> LogisticDigitsTask:
        """Load digits, split train/test and shard the training set IID.

        Parameters
        ----------
        n_nodes : int
            Number of nodes; at most the number of training samples.
        rng : numpy.random.Generator
            Source of the split and of the shards (:func:`shard_iid`).
        batch_size : int, default 32
            Mini-batch size.
        test_fraction : float, default 0.2
            Fraction of the 1797 samples held out (rounded to whole samples).

        Returns
        -------
        LogisticDigitsTask

        Raises
        ------
        ScenarioError
            If some node would get no training sample.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(3, np.random.default_rng(0), test_fraction=0.5)
        >>> [len(s) for s in task.shards], len(task.test_labels)
        ([300, 300, 299], 898)
        """
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
        n_classes = int(labels.max()) + 1
        return cls(
            features=x[train],
            targets=np.eye(n_classes)[labels[train]],
            test_features=x[test],
            test_labels=labels[test],
            shards=tuple(shard_iid(len(train), n_nodes, rng)),
            batch_size=batch_size,
        )

    @property
    def dim(self) -> int:
        """Number of parameters, ``n_features * n_classes``.

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(1, np.random.default_rng(0)).dim
        650
        """
        return self.features.shape[1] * self.targets.shape[1]

    @property
    def n_nodes(self) -> int:
        """Number of nodes (shards).

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(5, np.random.default_rng(0)).n_nodes
        5
        """
        return len(self.shards)

    def _weights(self, x: FloatArray) -> FloatArray:
        return x.reshape(self.features.shape[1], self.targets.shape[1])

    def init_params(self, rng: np.random.Generator) -> FloatArray:
        """Draw small normal initial parameters (standard deviation 0.01).

        Parameters
        ----------
        rng : numpy.random.Generator
            Source of the draw.

        Returns
        -------
        numpy.ndarray
            Shape ``(dim,)``.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(1, np.random.default_rng(0))
        >>> x = task.init_params(np.random.default_rng(1))
        >>> x.shape, bool(np.abs(x).max() < 0.1)
        ((650,), True)
        """
        return rng.normal(0.0, 0.01, size=self.dim)

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
            ``shards[node]`` (not rows of ``features``).

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(100, np.random.default_rng(0))
        >>> len(task.shards[0]), len(task.sample_batch(0, np.random.default_rng(1)))
        (15, 15)
        """
        n = len(self.shards[node])
        return rng.choice(n, size=min(self.batch_size, n), replace=False)

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
        grad : numpy.ndarray
            Its gradient, shape ``(dim,)``.

        Examples
        --------
        >>> task = LogisticDigitsTask.from_rng(2, np.random.default_rng(0))
        >>> loss, g = task.grad(0, np.zeros(task.dim), np.arange(32))
        >>> bool(np.isclose(loss, np.log(10))), g.shape
        (True, (650,))
        """
        # take() and in-place updates: this runs once per simulated iteration.
        rows = self.shards[node].take(batch_idx)
        a = self.features.take(rows, axis=0)
        t = self.targets.take(rows, axis=0)
        z = a @ self._weights(x)
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        # t's rows sum to one, so -sum t * log_softmax(z) = sum log s - sum t * z.
        loss = (float(np.log(s).sum()) - float(np.vdot(t, z))) / len(rows)
        e /= s
        e -= t
        g = a.T @ e
        g /= len(rows)
        return loss, g.ravel()

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
        return float(_mean_cross_entropy(self.features @ self._weights(x), self.targets))

    def loss_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`loss` of every row of `xs`, with one matrix product.

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
        logits = _logits_many(self.features, xs, self.targets.shape[1])
        return _mean_cross_entropy(logits, self.targets[:, None, :])

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
        predicted = np.argmax(self.test_features @ self._weights(x), axis=1)
        return float(np.mean(predicted == self.test_labels))

    def accuracy_many(self, xs: FloatArray) -> FloatArray:
        """:meth:`accuracy` of every row of `xs`, with one matrix product.

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
        logits = _logits_many(self.test_features, xs, self.targets.shape[1])
        predicted = np.argmax(logits, axis=2)
        return np.mean(predicted == self.test_labels[:, None], axis=0)

    def optimum(self) -> None:
        """None: no closed-form minimiser (it may not even be finite).

        Examples
        --------
        >>> LogisticDigitsTask.from_rng(1, np.random.default_rng(0)).optimum() is None
        True
        """


def _logits_many(features: FloatArray, xs: FloatArray, n_classes: int) -> FloatArray:
    """Logits of every model in `xs` on every row of `features`, shape (rows, models, classes)."""
    n_models, n_features = len(xs), features.shape[1]
    weights = xs.reshape(n_models, n_features, n_classes).transpose(1, 0, 2)
    logits = features @ weights.reshape(n_features, n_models * n_classes)
    return logits.reshape(len(features), n_models, n_classes)


def _mean_cross_entropy(logits: FloatArray, targets: FloatArray) -> FloatArray:
    """Cross-entropy over the last axis, averaged over the first (stable log-sum-exp)."""
    z = logits - logits.max(axis=-1, keepdims=True)
    per_row = np.log(np.exp(z).sum(axis=-1)) - (targets * z).sum(axis=-1)
    return per_row.mean(axis=0)


def _require(ok: bool, field: str, value: object, expected: str) -> None:
    if not ok:
        raise ScenarioError(f"{field}={value!r}; expected {expected}")


def make_task(
    name: str,
    n_nodes: int,
    rng: np.random.Generator,
    *,
    batch_size: int = 32,
    dim: int = 10,
    noise: float = 0.0,
    heterogeneity: float = 1.0,
    test_fraction: float = 0.2,
) -> Task:
    """Build a registered task from scenario values.

    Parameters
    ----------
    name : str
        One of :data:`TASKS`.
    n_nodes : int
        Number of nodes to shard across (positive).
    rng : numpy.random.Generator
        Source of the task's random construction (data split, centres ...).
    batch_size : int, default 32
        Mini-batch size. ``"logistic-digits"`` only; the quadratic ignores it.
    dim : int, default 10
        Number of parameters. ``"quadratic"`` only; digits fixes ``dim = 650``.
    noise : float, default 0.0
        Gradient noise standard deviation. ``"quadratic"`` only.
    heterogeneity : float, default 1.0
        Spread of the node centres. ``"quadratic"`` only.
    test_fraction : float, default 0.2
        Held-out fraction, in (0, 1). ``"logistic-digits"`` only.

    Returns
    -------
    Task

    Raises
    ------
    ScenarioError
        For an unknown name or an out-of-range value; the message names the
        field (``task.<key>`` or ``cluster.nodes``).

    Examples
    --------
    >>> task = make_task("quadratic", 4, np.random.default_rng(0), dim=3)
    >>> task.name, task.dim, task.n_nodes
    ('quadratic', 3, 4)
    >>> make_task("mnist", 4, np.random.default_rng(0))
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: task.name='mnist'; expected one of ['logistic-digits', 'quadratic']
    """
    _require(name in TASKS, "task.name", name, f"one of {sorted(TASKS)}")
    _require(n_nodes >= 1, "cluster.nodes", n_nodes, "a positive integer")
    _require(batch_size >= 1, "task.batch_size", batch_size, "a positive integer")
    _require(dim >= 1, "task.dim", dim, "a positive integer")
    _require(noise >= 0, "task.noise", noise, "a non-negative number")
    _require(heterogeneity >= 0, "task.heterogeneity", heterogeneity, "a non-negative number")
    _require(0 < test_fraction < 1, "task.test_fraction", test_fraction, "a number in (0, 1)")
    if name == "quadratic":
        return QuadraticTask.from_rng(
            n_nodes, rng, dim=dim, noise=noise, heterogeneity=heterogeneity
        )
    return LogisticDigitsTask.from_rng(
        n_nodes, rng, batch_size=batch_size, test_fraction=test_fraction
    )
