"""Compute-time models: how long each node's forward + backward pass takes.

A model draws the duration of iteration ``t`` at node ``i`` from that node's own
random stream, so a node's durations do not depend on how the other nodes
interleave with it. Models:

- ``constant``: every iteration takes ``mean`` seconds;
- ``lognormal``: durations with mean ``mean`` and coefficient of variation ``cv``
  (jitter of real GPUs; ``sigma^2 = ln(1 + cv^2)``, ``mu = ln(mean) - sigma^2 / 2``).

Per-node multipliers (``slow_nodes``) scale a node's durations: a 4x slow node.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

__all__ = ["COMPUTE_MODELS", "ComputeTimes", "lognormal_params"]

COMPUTE_MODELS = ("constant", "lognormal", "trace")

_BLOCK = 1024
"""Durations drawn at once per node (vectorised draws, same values as one by one)."""


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the log-normal distribution with the given mean and cv.

    Examples
    --------
    >>> mu, sigma = lognormal_params(1.0, 0.0)
    >>> mu, sigma
    (0.0, 0.0)
    """
    sigma2 = float(np.log1p(cv * cv))
    return float(np.log(mean)) - sigma2 / 2, float(np.sqrt(sigma2))


class ComputeTimes:
    """Seeded per-node compute durations.

    Parameters
    ----------
    model : {"constant", "lognormal"}
        Distribution of one iteration's compute time.
    mean : float
        Mean seconds per iteration of a node with multiplier 1.
    n_nodes : int
        Number of nodes.
    seed : numpy.random.SeedSequence
        Root of the per-node streams (one child per node).
    cv : float, default 0.0
        Coefficient of variation (``lognormal`` only).
    multipliers : mapping of int to float, optional
        Slowdown factor per node (``{3: 4.0}``: node 3 is 4x slower).

    Examples
    --------
    >>> ct = ComputeTimes("constant", 0.1, 4, np.random.SeedSequence(0), multipliers={3: 4.0})
    >>> ct.duration(0, 0.0), ct.duration(3, 0.0)
    (0.1, 0.4)
    """

    def __init__(
        self,
        model: str,
        mean: float,
        n_nodes: int,
        seed: np.random.SeedSequence,
        *,
        cv: float = 0.0,
        multipliers: Mapping[int, float] | None = None,
    ):
        if model not in COMPUTE_MODELS:
            raise ValueError(f"compute model {model!r}; expected one of {COMPUTE_MODELS}")
        self.model = model
        self.mean = mean
        self.cv = cv
        self.scale = np.ones(n_nodes)
        for node, factor in (multipliers or {}).items():
            self.scale[node] = factor
        self._rngs = [np.random.default_rng(s) for s in seed.spawn(n_nodes)]
        self._blocks: list[np.ndarray] = [np.empty(0)] * n_nodes
        self._next = [0] * n_nodes
        self._constant = [float(mean * s) for s in self.scale]

    def duration(self, node: int, now: float) -> float:
        """Seconds that ``node``'s next compute phase, starting at ``now``, takes."""
        if self.model == "constant":
            return self._constant[node]
        k = self._next[node]
        block = self._blocks[node]
        if k == len(block):
            block = self._blocks[node] = self._draw(node)
            k = 0
        self._next[node] = k + 1
        return float(block[k])

    def _draw(self, node: int) -> np.ndarray:
        mu, sigma = lognormal_params(self.mean, self.cv)
        return self._rngs[node].lognormal(mu, sigma, _BLOCK) * self.scale[node]
