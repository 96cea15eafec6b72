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
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from simsgp import graphs
from simsgp.algorithms.base import GraphParams, register
from simsgp.algorithms.steps import compute_step, held_weight, mix_in, per_node, push

if TYPE_CHECKING:
    from simsgp.sim.mailbox import Message
    from simsgp.sim.world import GossipRun

__all__ = ["DPSGD", "DPSGDParams"]


@dataclass(frozen=True)
class DPSGDParams(GraphParams):
    """D-PSGD's parameters: its communication graph (default: the official code's bipartite exponential graph)."""

    graph: str = "dynamic-bipartite-exponential"


@register
class DPSGD:
    """Decentralized parallel SGD (Lian et al., NeurIPS 2017) with blocking, deadlock-free gossip."""

    name = "dpsgd"
    params = DPSGDParams
    weight_unmixed = staticmethod(held_weight)

    def check_graph(self, schedule: graphs.GraphSchedule) -> None:
        """D-PSGD averages: every mixing matrix of the period must be doubly stochastic (checked sparse)."""
        for t in range(schedule.period):
            graphs.check_doubly_stochastic(schedule.sparse_mixing_matrix(t))

    def start(self, run: GossipRun, params: DPSGDParams) -> None:
        """Start one D-PSGD process per node."""
        per_node(run, _node)


def _node(run: GossipRun, i: int) -> Generator[Any, Any, None]:
    env, graph, mailbox = run.world.env, run.graph, run.world.mailboxes[i]
    passive = i in graph.passive
    for t in range(run.iterations):
        start = env.now
        loss, x = yield from compute_step(run, i)
        compute_end = env.now
        arrived = mailbox.get(t, len(graph.in_peers(t)[i]))
        if passive:
            yield arrived
        x_keep, w_keep, sent = push(run, i, t, x, run.state.w[i], graph.out_peers(t)[i])
        yield env.all_of([*sent, arrived])
        mix_in(run, i, x_keep, w_keep, cast("list[Message]", arrived.value))
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
