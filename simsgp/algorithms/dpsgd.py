"""D-PSGD (Lian et al. 2017) as run in the SGP paper: blocking gossip after the step.

Iteration ``t`` at node ``i``: compute the gradient at ``x_i``, step, then
average with the graph of iteration ``t`` (the bipartite exponential graph by
default; uniform weights ``1 / (k + 1)``, doubly stochastic, so ``w`` stays 1).
As in the official code's push-pull gossip, the exchange is blocking and
ordered to avoid deadlock: an active node sends, then waits for its
in-neighbours; a passive node first waits for its in-neighbours, then sends,
and both wait until their sends are delivered. With push time ``m`` an
iteration takes ``c + 2 m``.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any, cast

import simpy

from simsgp import graphs
from simsgp.algorithms._node import held_weight, mix_in, push, sgd_step, start_compute

if TYPE_CHECKING:
    from simsgp.engine import RunContext
    from simsgp.mailbox import Message

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "check_graph", "start", "weight_unmixed"]

DEFAULT_GRAPH = "dynamic-bipartite-exponential"
HAS_SERVERS = False

weight_unmixed = held_weight


def check_graph(schedule: graphs.GraphSchedule) -> None:
    """D-PSGD averages: every mixing matrix of the period must be doubly stochastic (checked sparse)."""
    for t in range(schedule.period):
        graphs.check_doubly_stochastic(schedule.sparse_mixing_matrix(t))


def start(ctx: RunContext) -> None:
    """Start one D-PSGD process per node."""
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node))


def _node(ctx: RunContext, i: int) -> Generator[Any, Any, None]:
    env, graph, mailbox = ctx.env, ctx.graph, ctx.mailboxes[i]
    assert graph is not None  # a gossip algorithm's run always has a schedule (DEFAULT_GRAPH)
    passive = i in graph.passive
    for t in range(ctx.max_iterations):
        start = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        compute_end = env.now
        loss, x = sgd_step(ctx, i, batch)
        arrived = mailbox.get(t, len(graph.in_peers(t)[i]))
        if passive:
            yield arrived
        x_keep, w_keep, sent = push(ctx, i, t, x, ctx.w[i], graph.out_peers(t)[i])
        yield simpy.AllOf(env, [*sent, arrived])
        mix_in(ctx, i, x_keep, w_keep, cast("list[Message]", arrived.value))
        ctx.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
