"""DC-ASGD (Zheng et al. 2017): the asynchronous parameter server with delay compensation.

A gradient ``g`` computed on stale parameters ``w_stale`` is corrected on the
server, which holds ``w_now``, by a first-order Taylor step with the diagonal
approximation ``lambda * g * g`` of the Hessian:
``g + lambda * g * g * (w_now - w_stale)`` (elementwise; Zheng et al. 2017). With
``dc_adaptive = true`` lambda is ``dc_lambda / sqrt(v)`` elementwise, ``v`` a
moving average (factor ``dc_momentum``) of ``g * g`` per server (DC-ASGD-a).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simsgp.algorithms import ps_async
from simsgp.backend import array_namespace

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "adaptive_lambda", "compensate", "start"]

DEFAULT_GRAPH = None
HAS_SERVERS = True

_EPS = 1e-7
"""Keeps the adaptive lambda finite where the mean square is zero (Zheng et al. use 1e-7)."""


def compensate(grad: np.ndarray, w_now: np.ndarray, w_stale: np.ndarray, lam: float | np.ndarray) -> np.ndarray:
    """Delay-compensated gradient ``g + lam * g * g * (w_now - w_stale)``.

    Examples
    --------
    >>> compensate(np.array([2.0, -1.0]), np.array([1.0, 1.0]), np.array([0.5, 3.0]), 0.1)
    array([ 2.2, -1.2])
    """
    return grad + lam * grad * grad * (w_now - w_stale)


def adaptive_lambda(mean_square: np.ndarray, grad: np.ndarray, lambda0: float, momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """DC-ASGD-a: update the mean square of the gradient, return ``(lambda, new mean square)``.

    Examples
    --------
    >>> lam, v = adaptive_lambda(np.zeros(1), np.array([2.0]), 1.0, 0.75)
    >>> v, lam.round(4)
    (array([1.]), array([1.]))
    """
    mean_square = momentum * mean_square + (1.0 - momentum) * grad * grad
    return lambda0 / array_namespace(mean_square).sqrt(mean_square + _EPS), mean_square


def start(ctx: RunContext) -> None:
    """Start ps-async's processes with delay compensation on every server."""
    cfg = ctx.scenario.algorithm
    mean_square: dict[int, np.ndarray] = {}

    def corrected(server: int, grad: np.ndarray, w_now: np.ndarray, w_stale: np.ndarray) -> np.ndarray:
        lam: float | np.ndarray = cfg.dc_lambda
        if cfg.dc_adaptive:
            lam, mean_square[server] = adaptive_lambda(
                mean_square.get(server, ctx.xp.zeros_like(grad)), grad, cfg.dc_lambda, cfg.dc_momentum
            )
        return compensate(grad, w_now, w_stale, lam)

    ps_async.start(ctx, compensate=corrected)
