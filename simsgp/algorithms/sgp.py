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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from simsgp.algorithms.base import GraphParams, register
from simsgp.algorithms.steps import compute_step, gossip_round, held_weight, per_node

if TYPE_CHECKING:
    from simsgp.sim.world import GossipRun

__all__ = ["SGP", "SGPParams"]


@dataclass(frozen=True)
class SGPParams(GraphParams):
    """SGP's parameters: its communication graph (default: the official code's time-varying exponential graph)."""

    graph: str = "dynamic-directed-exponential"


@register
class SGP:
    """Stochastic Gradient Push (Assran et al., ICML 2019), without overlap."""

    name = "sgp"
    params = SGPParams

    weight_unmixed = staticmethod(held_weight)

    def start(self, run: GossipRun, params: SGPParams) -> None:
        """Start one SGP process per node."""
        per_node(run, _node)


def _node(run: GossipRun, i: int) -> Generator[Any, Any, None]:
    env = run.world.env
    for t in range(run.iterations):
        start = env.now
        loss, x = yield from compute_step(run, i)
        compute_end = env.now
        yield from gossip_round(run, i, t, x)
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
