"""DC-ASGD (Zheng et al. 2017): the asynchronous parameter server with delay compensation.

A gradient ``g`` computed on stale parameters ``w_stale`` is corrected on the
server, which holds ``w_now``, by a first-order Taylor step with the diagonal
approximation ``lambda * g * g`` of the Hessian:
``g + lambda * g * g * (w_now - w_stale)`` (elementwise; Zheng et al. 2017). With
``dc_adaptive = true`` lambda is ``dc_lambda / sqrt(v)`` elementwise, ``v`` a
moving average (factor ``dc_momentum``) of ``g * g`` per server (DC-ASGD-a).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from simsgp.algorithms.base import ServerParams, register
from simsgp.algorithms.ps_async import start_servers
from simsgp.checks import nonnegative, unit_interval
from simsgp.fields import setting
from simsgp.learn.backend import array_namespace

if TYPE_CHECKING:
    from simsgp.sim.world import Run

__all__ = ["DCASGD", "DCASGDParams", "adaptive_lambda", "compensate"]


@dataclass(frozen=True)
class DCASGDParams(ServerParams):
    """DC-ASGD's parameters beside its servers.

    ``dc_lambda``: the compensation strength lambda (Zheng et al. use 0.04);
    ``dc_adaptive``: scale lambda by the gradient's root mean square
    (DC-ASGD-a); ``dc_momentum``: the decay of that mean square.
    """

    dc_lambda: float = setting(0.04, help="delay-compensation strength lambda (Zheng et al., ICML 2017)")
    dc_adaptive: bool = setting(False, help="scale lambda by the gradient's root mean square (DC-ASGD-a)")
    dc_momentum: float = setting(0.95, help="decay of that mean square (DC-ASGD-a)")

    def __post_init__(self) -> None:
        super().__post_init__()
        nonnegative("algorithm.dc_lambda", self.dc_lambda)
        unit_interval("algorithm.dc_momentum", self.dc_momentum)

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


@register
class DCASGD:
    """Asynchronous SGD with delay compensation (Zheng et al., ICML 2017)."""

    name = "dcasgd"
    staleness = "server versions behind"
    params = DCASGDParams

    def start(self, run: Run, params: DCASGDParams) -> None:
        """Start ps-async's processes with delay compensation on every server."""
        mean_square: dict[int, np.ndarray] = {}

        def corrected(server: int, grad: np.ndarray, w_now: np.ndarray, w_stale: np.ndarray) -> np.ndarray:
            lam: float | np.ndarray = params.dc_lambda
            if params.dc_adaptive:
                lam, mean_square[server] = adaptive_lambda(
                    mean_square.get(server, run.state.xp.zeros_like(grad)), grad, params.dc_lambda, params.dc_momentum
                )
            return compensate(grad, w_now, w_stale, lam)

        start_servers(run, params.servers, compensate=corrected)
