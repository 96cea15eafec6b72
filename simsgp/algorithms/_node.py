"""Steps that several algorithms' node processes share.

:func:`start_compute`, :func:`wait` and :func:`push` start timed work and hand back what a
node process yields or keeps; the other functions do one piece of math on the
node's rows of the stacked state, and skip it in timing-only runs
(``ctx.math`` false), where only the schedule matters.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import simpy

from simsgp.mailbox import Message, post
from simsgp.optim import sgd_update
from simsgp.pushsum import debias, receive, share

if TYPE_CHECKING:
    from simsgp.engine import RunContext


def start_compute(ctx: RunContext, i: int) -> tuple[Any, simpy.Event]:
    """Draw node ``i``'s mini-batch and start its compute time.

    Returns the batch and the event that fires when the compute phase is over
    (the caller yields it).
    """
    batch = ctx.task.sample_batch(i, ctx.batch_rngs[i])
    return batch, wait(ctx, ctx.compute.duration(i, ctx.env.now))


def wait(ctx: RunContext, seconds: float) -> simpy.Event:
    """An event ``seconds`` from now; one that never fires for ``inf`` (a node failed for good).

    A timeout at infinity would be processed, and the clock would read inf.
    """
    return ctx.env.timeout(seconds) if seconds < math.inf else ctx.env.event()


def sgd_step(ctx: RunContext, i: int, batch: np.ndarray, at: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Gradient at ``at`` (default: the de-biased ``z_i``), SGD step on ``x_i``.

    Updates the node's momentum row and returns ``(loss, new x_i)``; the
    caller decides where the new ``x_i`` goes.
    """
    if not ctx.math:
        return math.nan, ctx.x[i]
    point = debias(ctx.x[i], ctx.w[i]) if at is None else at
    loss, grad = ctx.task.grad(i, point, batch)
    x, ctx.momentum[i] = sgd_update(ctx.x[i], grad, ctx.momentum[i], ctx.sgd)
    return loss, x


def push(
    ctx: RunContext, i: int, tag: Any, x: np.ndarray, w: float, peers: Sequence[int]
) -> tuple[np.ndarray, float | np.ndarray, list[simpy.Event]]:
    """Split ``(x, w)`` into ``len(peers) + 1`` shares and send one to each peer.

    Returns the kept share and the delivery events of the sends.
    """
    x_share, w_share = share(x, w, len(peers)) if ctx.math else (x, w)
    sent = [post(ctx.network, ctx.mailboxes, i, j, tag, (x_share, w_share), ctx.nbytes) for j in peers]
    return x_share, w_share, sent


def mix_in(ctx: RunContext, i: int, x: np.ndarray, w: float | np.ndarray, arrived: Sequence[Message]) -> None:
    """Set node ``i``'s state to ``(x, w)`` plus the shares that ``arrived``."""
    if not ctx.math:
        return
    ctx.x[i], ctx.w[i] = receive(x, w, [m.payload[0] for m in arrived], [m.payload[1] for m in arrived])


def held_weight(ctx: RunContext) -> float:
    """Push-sum weight in shares that arrived and were never added (NaN in timing-only runs).

    With the nodes' weights it sums to the number of nodes: push-sum
    conserves mass, and this is where the rest of it lies at the end of a run.
    """
    if not ctx.math:
        return math.nan
    return float(sum(float(m.payload[1]) for box in ctx.mailboxes for m in box.held()))
