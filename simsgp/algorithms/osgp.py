"""Overlap SGP (Assran et al. 2019, section 3; official code with ``overlap = True``).

Gossip runs in rounds, at most one in flight per node. Round ``r`` uses the
graph of iteration ``r``: the node keeps ``1 / (k + 1)`` of ``(x, w)``, pushes a
share to each out-peer, and the round is complete once its sends are delivered
and its in-neighbours' round-``r`` shares have arrived.

At the start of iteration ``t`` (``t > 0``) with the round launched at
iteration ``s`` still open:

- if it is complete, its shares are added and a new round is launched;
- else if ``t - s > tau`` the node blocks until it completes (``tau = 0``:
  1-OSGP, always blocking on the previous round), then adds and launches;
- else it computes on without a new round (``tau >= 1``: tau-OSGP).

The forward pass, backward pass and step then overlap the round in flight:
with constant compute ``c`` and push time ``m`` an iteration takes
``max(c, m)``, against ``c + m`` for SGP. The staleness recorded with an
iteration that mixed is ``t - s`` (at most ``tau + 1``). After its last
iteration a node waits for its open round and adds it, so the final models
hold every share of the rounds they launched.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import simpy

from simsgp.algorithms._node import mix_in, push, sgd_step, start_compute

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "start"]

DEFAULT_GRAPH = "dynamic-directed-exponential"
HAS_SERVERS = False


class _Progress:
    """How many nodes have finished their iterations, and the highest round launched."""

    def __init__(self) -> None:
        self.finished = 0
        self.highest_round = 0


def start(ctx: RunContext) -> None:
    """Start one overlap-SGP process per node."""
    progress = _Progress()
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node, progress))


class _Round:
    """One gossip round in flight: its number, launch iteration and completion events."""

    __slots__ = ("number", "launched_at", "arrived", "done")

    def __init__(self, ctx: RunContext, i: int, number: int, launched_at: int, progress: _Progress):
        progress.highest_round = max(progress.highest_round, number)
        graph = ctx.graph
        ctx.x[i], ctx.w[i], sent = push(ctx, i, number, ctx.x[i], ctx.w[i], graph.out_peers(number)[i])
        self.number = number
        self.launched_at = launched_at
        self.arrived = ctx.mailboxes[i].get(number, len(graph.in_peers(number)[i]))
        self.done = simpy.AllOf(ctx.env, [*sent, self.arrived])


def _node(ctx: RunContext, i: int, progress: _Progress) -> Generator[Any, Any, None]:
    env, tau = ctx.env, ctx.scenario.algorithm.tau
    gossip = _Round(ctx, i, 0, 0, progress)
    for t in range(ctx.max_iterations):
        start = env.now
        staleness = float("nan")
        if t > 0 and (gossip.done.processed or t - gossip.launched_at > tau):
            if not gossip.done.processed:
                yield gossip.done
            staleness = t - gossip.launched_at
            mix_in(ctx, i, ctx.x[i], ctx.w[i], gossip.arrived.value)
            gossip = _Round(ctx, i, gossip.number + 1, t, progress)
        comm_end = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        loss, ctx.x[i] = sgd_step(ctx, i, batch)
        ctx.log(
            i, t, start=start, compute_end=env.now, end=env.now, loss=loss, staleness=staleness,
            comm_wait=comm_end - start,
        )
    progress.finished += 1
    while True:
        yield gossip.done
        mix_in(ctx, i, ctx.x[i], ctx.w[i], gossip.arrived.value)
        if progress.finished == ctx.n and gossip.number >= progress.highest_round:
            return
        gossip = _Round(ctx, i, gossip.number + 1, ctx.max_iterations, progress)
