"""Stochastic Gradient Push (Assran et al. 2019, Algorithm 1; official code with ``overlap = False``).

Iteration ``t`` at node ``i``:

1. compute the mini-batch gradient at the de-biased parameters ``z_i = x_i / w_i``
   (one compute-time draw);
2. take an SGD step (Nesterov momentum, weight decay) on the numerator ``x_i``;
3. keep ``1 / (k + 1)`` of ``(x_i, w_i)`` and push the same share to each of
   the ``k`` out-peers of iteration ``t``'s graph;
4. block until the shares of iteration ``t``'s in-neighbours have arrived
   and this node's own pushes have been delivered, add the shares, then
   start the next forward pass.

Step 4 is the official code's: its gossip thread sends without blocking,
receives, then waits for its own sends before it returns, and the next
forward pass waits for the thread. A node whose compute is slow therefore
cannot pile pushes of successive iterations up on its uplink.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simsgp.algorithms._node import held_weight, mix_in, push, sgd_step, start_compute
from simsgp.simpy_internals import is_processed

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "HAS_SERVERS", "start", "weight_unmixed"]

DEFAULT_GRAPH = "dynamic-directed-exponential"
HAS_SERVERS = False

weight_unmixed = held_weight


def start(ctx: RunContext) -> None:
    """Start one SGP process per node."""
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node))


def _node(ctx: RunContext, i: int) -> Generator[Any, Any, None]:
    env, graph, mailbox = ctx.env, ctx.graph, ctx.mailboxes[i]
    assert graph is not None  # a gossip algorithm's run always has a schedule (DEFAULT_GRAPH)
    for t in range(ctx.max_iterations):
        start = env.now
        batch, computed = start_compute(ctx, i)
        yield computed
        compute_end = env.now
        loss, x = sgd_step(ctx, i, batch)
        x_keep, w_keep, sent = push(ctx, i, t, x, ctx.w[i], graph.out_peers(t)[i])
        arrived = yield mailbox.get(t, len(graph.in_peers(t)[i]))
        for delivered in sent:  # own pushes delivered too (usually already: their callbacks have run)
            if not is_processed(delivered):
                yield delivered
        mix_in(ctx, i, x_keep, w_keep, arrived)
        ctx.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
