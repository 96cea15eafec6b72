"""Stochastic Gradient Push (Assran et al. 2019, Algorithm 1; official code with ``overlap = False``).

Iteration ``t`` at node ``i``:

1. compute the mini-batch gradient at the de-biased parameters ``z_i = x_i / w_i``
   (one compute-time draw);
2. take an SGD step (Nesterov momentum, weight decay) on the numerator ``x_i``;
3. keep ``1 / (k + 1)`` of ``(x_i, w_i)`` and push the same share to each of
   the ``k`` out-peers of iteration ``t``'s graph;
4. block until the shares of iteration ``t``'s in-neighbours have arrived and
   add them, then start the next forward pass.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING, Any

from simsgp.mailbox import post
from simsgp.optim import sgd_update
from simsgp.pushsum import debias, receive, share

if TYPE_CHECKING:
    from simsgp.engine import RunContext

__all__ = ["DEFAULT_GRAPH", "start"]

DEFAULT_GRAPH = "dynamic-directed-exponential"


def start(ctx: RunContext) -> None:
    """Start one SGP process per node."""
    for node in range(ctx.n):
        ctx.env.process(_node(ctx, node))


def _node(ctx: RunContext, i: int) -> Generator[Any, Any, None]:
    env, task, graph, network = ctx.env, ctx.task, ctx.graph, ctx.network
    mailbox, rng, nbytes = ctx.mailboxes[i], ctx.batch_rngs[i], ctx.nbytes
    for t in range(ctx.max_iterations):
        start = env.now
        batch = task.sample_batch(i, rng)
        yield env.timeout(ctx.compute.duration(i, env.now))
        compute_end = env.now
        loss, grad = task.grad(i, debias(ctx.x[i], ctx.w[i]), batch)
        x, ctx.momentum[i] = sgd_update(ctx.x[i], grad, ctx.momentum[i], ctx.sgd)
        peers = graph.out_peers(t)[i]
        x_share, w_share = share(x, ctx.w[i], len(peers))
        for j in peers:
            post(network, ctx.mailboxes, i, j, t, (x_share, w_share), nbytes)
        arrived = yield mailbox.get(t, len(graph.in_peers(t)[i]))
        ctx.x[i], ctx.w[i] = receive(
            x_share, w_share, [m.payload[0] for m in arrived], [m.payload[1] for m in arrived]
        )
        ctx.records.log(
            i, t, start=start, compute_end=compute_end, end=env.now, loss=loss, bytes_sent=nbytes * len(peers)
        )
