"""SGD with (Nesterov) momentum and weight decay as a pure init / update pair.

The update follows PyTorch's ``torch.optim.SGD`` (the optimiser of the official
SGP code): ``g <- g + wd * x``; ``b <- m * b + g``; the step is ``g + m * b``
with Nesterov momentum, ``b`` without; ``x <- x - lr * step``.

Only array operators are used, so the same code runs on numpy arrays, torch
tensors and cupy arrays (see :mod:`simsgp.learn.backend`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["SGDConfig", "sgd_update"]


class SGDConfig(NamedTuple):
    """Hyper-parameters of :func:`sgd_update`."""

    lr: float
    momentum: float = 0.0
    weight_decay: float = 0.0
    nesterov: bool = True


def sgd_update(
    x: np.ndarray, grad: np.ndarray, buf: np.ndarray, cfg: SGDConfig
) -> tuple[np.ndarray, np.ndarray]:
    """One SGD step; returns new ``(x, momentum_buffer)`` and leaves inputs untouched.

    Works on one parameter vector or on a stack of them (rows are nodes), on
    any array-API backend (operators only; results stay on `x`'s device).

    Parameters
    ----------
    x : ndarray
        Parameters the step is applied to.
    grad : ndarray
        Gradient of the loss (without weight decay), same shape as ``x``.
    buf : ndarray
        Momentum buffer, zeros at the start, same shape as ``x``.
    cfg : SGDConfig
        Learning rate, momentum, weight decay and the Nesterov flag.

    Examples
    --------
    >>> cfg = SGDConfig(lr=0.1, momentum=0.9, weight_decay=0.0, nesterov=True)
    >>> x, buf = sgd_update(np.array([1.0]), np.array([1.0]), np.zeros(1), cfg)
    >>> x, buf
    (array([0.81]), array([1.]))
    """
    g = grad + cfg.weight_decay * x if cfg.weight_decay else grad
    if not cfg.momentum:
        return x - cfg.lr * g, buf
    buf = cfg.momentum * buf + g
    step = g + cfg.momentum * buf if cfg.nesterov else buf
    return x - cfg.lr * step, buf
