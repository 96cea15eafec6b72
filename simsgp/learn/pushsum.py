"""PushSum on stacked state: numerator ``x``, weight ``w``, de-biased ``z = x / w``.

Pure functions on arrays, no clock. A node's state is a row ``x[i]`` with its
scalar ``w[i]``; every function also takes a stack ``x[n, d]`` with ``w[n]``.
A node with ``k`` out-peers keeps ``1 / (k + 1)`` of ``(x, w)`` and sends the
same share to each peer; receivers add what arrives. The sums of ``x`` and ``w``
over all nodes and messages in flight never change (mass conservation), and on
a strongly connected graph ``z`` converges to the average of the initial ``x``
even when out-degrees differ and ``w`` drifts away from 1 (Kempe et al. 2003;
Assran et al. 2019, Algorithm 1).

The functions are written against the Python array API (see
:mod:`simsgp.learn.backend`): they take numpy arrays, torch tensors or cupy arrays
and return arrays of the same library on the same device. Weights, degrees
and mixing matrices given as Python or numpy numbers are moved there as
float64.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from simsgp.learn.backend import array_namespace, device

__all__ = ["debias", "mix", "receive", "share"]


def share(x: np.ndarray, w: np.ndarray | float, out_degree: np.ndarray | int) -> tuple[np.ndarray, np.ndarray]:
    """The uniform push-sum share ``(x / (k + 1), w / (k + 1))``.

    The sender keeps one share and sends one to each of its ``k`` out-peers,
    so ``k + 1`` shares add up to what it held.

    Parameters
    ----------
    x : ndarray, shape (d,) or (n, d)
        Numerators.
    w : float or ndarray, shape () or (n,)
        Push-sum weights.
    out_degree : int or ndarray of int, shape () or (n,)
        Number of out-peers ``k`` of each node.

    Returns
    -------
    x_share, w_share : ndarray
        The share of each node, same shapes as ``x`` and ``w``.

    Examples
    --------
    >>> x_s, w_s = share(np.array([3.0, 6.0]), 1.0, 2)
    >>> x_s, float(w_s)
    (array([1., 2.]), 0.3333333333333333)
    """
    xp, where = array_namespace(x), device(x)
    scale = 1.0 / (xp.asarray(out_degree, dtype=xp.float64, device=where) + 1.0)
    w_share = xp.asarray(w, dtype=xp.float64, device=where) * scale
    return x * scale[..., None] if scale.ndim else x * scale, w_share


def receive(
    x: np.ndarray,
    w: float | np.ndarray,
    x_shares: Sequence[np.ndarray],
    w_shares: Sequence[float],
) -> tuple[np.ndarray, float | np.ndarray]:
    """Add received shares to a node's kept share.

    Parameters
    ----------
    x : ndarray, shape (d,)
        The numerator the node kept.
    w : float
        The weight the node kept.
    x_shares, w_shares : sequences
        Shares that arrived, in arrival order.

    Returns
    -------
    x, w : the new numerator (a new array) and weight.

    Examples
    --------
    >>> x, w = receive(np.array([1.0, 1.0]), 0.5, [np.array([2.0, 0.0])], [0.5])
    >>> x, w
    (array([3., 1.]), 1.0)
    """
    x = array_namespace(x).asarray(x, copy=True)
    for xs in x_shares:
        x += xs
    return x, w + sum(w_shares)


def debias(x: np.ndarray, w: float | np.ndarray) -> np.ndarray:
    """The de-biased estimate ``z = x / w`` (row-wise for stacks).

    Examples
    --------
    >>> debias(np.array([[2.0, 4.0], [1.0, 1.0]]), np.array([2.0, 0.5]))
    array([[1., 2.],
           [2., 2.]])
    """
    xp = array_namespace(x)
    weights = xp.asarray(w, dtype=xp.float64, device=device(x))
    return x / weights[..., None] if weights.ndim else x / weights


def mix(x: np.ndarray, w: np.ndarray, mixing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One synchronous push-sum round with a column-stochastic mixing matrix.

    ``x' = P x`` and ``w' = P w`` where column ``j`` of ``P`` holds node ``j``'s
    push weights: the same as every node sharing and receiving at once.

    Examples
    --------
    >>> P = np.array([[0.5, 0.0], [0.5, 1.0]])
    >>> x, w = mix(np.array([[4.0], [0.0]]), np.ones(2), P)
    >>> x.ravel(), w
    (array([2., 2.]), array([0.5, 1.5]))
    """
    xp, where = array_namespace(x), device(x)
    mixing = xp.asarray(mixing, dtype=xp.float64, device=where)
    return mixing @ x, mixing @ xp.asarray(w, dtype=xp.float64, device=where)
