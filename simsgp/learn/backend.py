"""Array backends: the node math on numpy (default), PyTorch or CuPy.

The pure kernels (:mod:`simsgp.learn.pushsum`, :mod:`simsgp.learn.optim`, the tasks in
:mod:`simsgp.tasks`) are written against the Python array API standard and
find their namespace with :func:`array_namespace`, so the same code runs on
numpy arrays, torch tensors (CPU or CUDA) and cupy arrays. A :class:`Backend`
names a library and a device; it moves arrays there (:meth:`Backend.asarray`)
and back (:meth:`Backend.to_numpy`). Only numpy is required; torch and cupy are
imported when a backend asks for them (``pip install 'simsgp[torch]'``).

Everything is float64 on every backend (not the float32 of GPU training): a
run on torch or cupy then matches the numpy run to rounding (about 1e-12
relative, from different summation orders in BLAS), so a GPU run can be checked
number for number against the numpy reference rather than by eye.

Randomness stays on the host: tasks draw batches and initial parameters with
the numpy ``Generator`` of the run and move the result to the backend, so one
seed gives the same draws on every backend.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Any

import array_api_compat
import array_api_compat.numpy as _compat_numpy
import numpy as np

from simsgp.errors import ScenarioError

__all__ = ["BACKENDS", "DEVICES", "Backend", "array_namespace", "check", "device", "get_backend"]

#: Array libraries a run can use for its node math.
BACKENDS: tuple[str, ...] = ("numpy", "torch", "cupy")

#: Devices a backend can put arrays on.
DEVICES: tuple[str, ...] = ("cpu", "cuda")

_DEFAULT_DEVICE = {"numpy": "cpu", "torch": "cpu", "cupy": "cuda"}


def _numpy_namespace() -> types.SimpleNamespace:
    """``array_api_compat.numpy`` with its hottest functions called as ndarray methods.

    ``np.take``, ``np.max``, ``np.sum``, ``np.mean`` and ``np.argmax`` pass
    through a Python dispatch layer that costs about 0.7 us a call; on the
    32-row batches of a task gradient that is a third of the work. The
    methods run the same C loops (same results, bit for bit) without it.
    ``vecdot`` of two 1-d arrays is ``np.vdot`` (the same BLAS dot product as
    ``np.vecdot``, at half the call cost). On numpy >= 2, whose ``asarray``
    takes ``device`` and ``copy``, ``asarray`` is numpy's own rather than the
    slower wrapper. Arguments must be arrays (numpy scalars will do), as the
    standard requires.
    """
    ns = types.SimpleNamespace(**{k: v for k, v in vars(_compat_numpy).items() if not k.startswith("__")})
    ns.__name__ = "simsgp.learn.backend.numpy"

    def take(x: Any, indices: Any, /, *, axis: int | None = None) -> Any:
        return x.take(indices, axis=axis)

    def max(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
        return x.max(axis=axis, keepdims=keepdims)

    def sum(x: Any, /, *, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Any:
        return x.sum(axis=axis, dtype=dtype, keepdims=keepdims)

    def mean(x: Any, /, *, axis: Any = None, keepdims: bool = False) -> Any:
        return x.mean(axis=axis, keepdims=keepdims)

    def argmax(x: Any, /, *, axis: int | None = None, keepdims: bool = False) -> Any:
        return x.argmax(axis=axis, keepdims=keepdims)

    compat_vecdot: Any = _compat_numpy.vecdot  # a gufunc on numpy >= 2, whose stubs omit its axis keyword

    def vecdot(x1: Any, x2: Any, /, *, axis: int = -1) -> Any:
        if x1.ndim == 1 and x2.ndim == 1:
            return np.vdot(x1, x2)
        return compat_vecdot(x1, x2, axis=axis)

    ns.take, ns.max, ns.sum, ns.mean, ns.argmax, ns.vecdot = take, max, sum, mean, argmax, vecdot
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        ns.asarray = np.asarray
    return ns


_NUMPY = _numpy_namespace()


def array_namespace(*xs: Any) -> Any:
    """The array-API namespace of `xs`, as ``array_api_compat.array_namespace``.

    numpy arrays get a faster stand-in for ``array_api_compat.numpy``: the
    same functions and results, with ``take`` and the reductions called as
    ndarray methods (see the Notes of :class:`Backend`). Arrays of two
    libraries raise ``TypeError``.

    Examples
    --------
    >>> xp = array_namespace(np.ones(2))
    >>> float(xp.sum(xp.ones(3)))
    3.0
    """
    if len(xs) == 1 and type(xs[0]) is np.ndarray:
        return _NUMPY
    xp = array_api_compat.array_namespace(*xs)
    return _NUMPY if xp is _compat_numpy else xp


def device(x: Any) -> Any:
    """The device of array `x` in its own library's terms (``"cpu"`` for numpy).

    Examples
    --------
    >>> device(np.zeros(1))
    'cpu'
    """
    return "cpu" if type(x) is np.ndarray else array_api_compat.device(x)


@dataclass(frozen=True)
class Backend:
    """An array library and a device for the node math of a run.

    Build one with :func:`get_backend` (which picks the default device);
    constructing a ``Backend`` checks the same things.

    Parameters
    ----------
    name : str, default "numpy"
        One of :data:`BACKENDS`.
    device : str, default "cpu"
        One of :data:`DEVICES`. numpy runs on ``"cpu"`` only, cupy on
        ``"cuda"`` only (the current CUDA device).

    Raises
    ------
    ScenarioError
        For an unknown name or device, a pair that cannot go together, a
        library that is not installed, or ``"cuda"`` without a CUDA device.

    Notes
    -----
    Arrays are float64 on every backend, so results match the numpy backend
    to rounding and can be compared number for number. :attr:`xp` is the
    namespace that :func:`array_namespace` returns for this backend's arrays:
    ``array_api_compat.torch`` or ``array_api_compat.cupy``, and for numpy a
    stand-in for ``array_api_compat.numpy`` that calls ``take`` and the
    reductions as ndarray methods (same results, without numpy's per-call
    dispatch cost, which matters for the small per-iteration gradients).

    Examples
    --------
    >>> backend = Backend()
    >>> backend
    Backend(name='numpy', device='cpu')
    >>> backend.zeros(2), backend.asarray([1, 2])
    (array([0., 0.]), array([1., 2.]))
    >>> Backend("numpy", "cuda")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: backend='numpy' with device='cuda'; numpy runs on the CPU only: use device='cpu', or backend='torch' or 'cupy' for a GPU
    """

    name: str = "numpy"
    device: str = "cpu"
    _xp: Any = field(init=False, repr=False, compare=False)
    _where: dict[str, Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_xp", _load(self.name, self.device))
        # Where new arrays go: torch takes the device string; cupy uses the
        # current CUDA device; numpy has one.
        object.__setattr__(self, "_where", {"device": self.device} if self.name == "torch" else {})

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        # The namespace is a module: pickle the name and device, look it up again.
        return (Backend, (self.name, self.device))

    @property
    def xp(self) -> Any:
        """The array-API namespace of this backend's arrays.

        Examples
        --------
        >>> xp = get_backend().xp
        >>> xp.exp(xp.zeros(2))
        array([1., 1.])
        """
        return self._xp

    def asarray(self, a: Any, dtype: str | None = "float64") -> Any:
        """`a` as an array of this backend on its device.

        Parameters
        ----------
        a : array_like
            A numpy array (or anything the library's ``asarray`` takes). To
            move an array of another backend, pass its :meth:`to_numpy`.
        dtype : str or None, default "float64"
            Name of an array-API dtype (``"float64"``, ``"int64"``, ...);
            None keeps the dtype of `a`.

        Returns
        -------
        array
            May share memory with `a` when no copy is needed (numpy, torch on
            the CPU), as ``np.asarray`` does.

        Examples
        --------
        >>> get_backend().asarray(np.arange(3), dtype="int64")
        array([0, 1, 2])
        """
        xp = self._xp
        return xp.asarray(a, dtype=None if dtype is None else getattr(xp, dtype), **self._where)

    def to_numpy(self, a: Any) -> np.ndarray:
        """A host numpy copy of `a` (an array of this backend, or a numpy array).

        Examples
        --------
        >>> a = np.ones(2)
        >>> b = get_backend().to_numpy(a)
        >>> b, b is a
        (array([1., 1.]), False)
        """
        if array_api_compat.is_torch_array(a):
            return a.detach().to("cpu", copy=True).numpy()
        if array_api_compat.is_cupy_array(a):
            return a.get()
        return np.array(a, copy=True)

    def zeros(self, shape: int | tuple[int, ...]) -> Any:
        """A float64 array of zeros on this backend.

        Examples
        --------
        >>> get_backend().zeros((2, 1))
        array([[0.],
               [0.]])
        """
        xp = self._xp
        return xp.zeros(shape, dtype=xp.float64, **self._where)


def get_backend(name: str = "numpy", device: str | None = None) -> Backend:
    """Check and build a :class:`Backend`.

    Parameters
    ----------
    name : str, default "numpy"
        One of :data:`BACKENDS`.
    device : str or None, default None
        One of :data:`DEVICES`; None picks the backend's own: ``"cpu"`` for
        numpy and torch, ``"cuda"`` for cupy.

    Returns
    -------
    Backend

    Raises
    ------
    ScenarioError
        For an unknown name or device, a pair that cannot go together, a
        library that is not installed (with the ``pip install`` that fixes
        it), or ``"cuda"`` without a CUDA device. The message names the
        ``backend`` or ``device`` value and what is allowed.

    Examples
    --------
    >>> get_backend()
    Backend(name='numpy', device='cpu')
    >>> get_backend("jax")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: backend='jax'; expected one of ['numpy', 'torch', 'cupy']
    """
    return Backend(name, check(name, device))


def check(name: str, device: str | None = None) -> str:
    """Check a backend name and device without importing anything; return the device.

    The checks that need the library (installed? a CUDA device?) wait for
    :class:`Backend`; these fail fast, for example while a scenario file is
    validated. `name` and `device` are as in :func:`get_backend`.

    Returns
    -------
    str
        The device, `device` or the backend's default.

    Raises
    ------
    ScenarioError
        For an unknown name or device, or a pair that cannot go together.

    Examples
    --------
    >>> check("cupy")
    'cuda'
    >>> check("numpy", "cuda")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: backend='numpy' with device='cuda'; numpy runs on the CPU only: use device='cpu', or backend='torch' or 'cupy' for a GPU
    """
    if name not in BACKENDS:
        raise ScenarioError(f"backend={name!r}; expected one of {list(BACKENDS)}")
    if device is None:
        return _DEFAULT_DEVICE[name]
    if device not in DEVICES:
        raise ScenarioError(f"device={device!r}; expected one of {list(DEVICES)}")
    if name == "numpy" and device != "cpu":
        raise ScenarioError(
            f"backend='numpy' with device={device!r}; numpy runs on the CPU only:"
            " use device='cpu', or backend='torch' or 'cupy' for a GPU"
        )
    if name == "cupy" and device != "cuda":
        raise ScenarioError(
            f"backend='cupy' with device={device!r}; CuPy arrays live on a GPU only:"
            " use device='cuda', or backend='numpy' or 'torch' for the CPU"
        )
    return device


def _load(name: str, device: str) -> Any:
    """Check that `name` can run on `device` here; return its namespace."""
    check(name, device)
    if name == "numpy":
        return _NUMPY
    if name == "torch":
        try:
            import torch
        except ImportError:
            raise ScenarioError("backend='torch' needs PyTorch: pip install 'simsgp[torch]'") from None
        if device == "cuda" and not torch.cuda.is_available():
            raise ScenarioError(
                f"backend='torch' with device='cuda', but PyTorch {torch.__version__} sees no CUDA"
                " device (torch.cuda.is_available() is False): use device='cpu', or a CUDA"
                " build of PyTorch on a machine with an NVIDIA GPU"
            )
        import array_api_compat.torch as xp_torch

        return xp_torch
    try:
        import cupy
    except ImportError:
        raise ScenarioError(
            "backend='cupy' needs CuPy: pip install 'simsgp[cupy]'"
            " (or the prebuilt wheel for your CUDA, e.g. cupy-cuda12x)"
        ) from None
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError:
        n_devices = 0
    if n_devices == 0:
        raise ScenarioError(
            "backend='cupy' with device='cuda', but CuPy finds no CUDA device:"
            " use backend='numpy' or 'torch' with device='cpu'"
        )
    import array_api_compat.cupy as xp_cupy

    return xp_cupy
