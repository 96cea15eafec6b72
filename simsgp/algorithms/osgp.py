"""Overlap SGP (Assran et al. 2019, section 3; official code with ``overlap = True``).

Gossip runs in rounds, at most one in flight per node. Round ``r`` uses the
graph of iteration ``r``: the node keeps ``1 / (k + 1)`` of ``(x, w)``, pushes a
share to each out-peer, and the round is complete once its sends are delivered
and its in-neighbours' round-``r`` shares have arrived.

At the start of iteration ``t`` (``t > 0``) with the round launched at
iteration ``s`` still open:

- if it is complete, its shares are added and a new round is launched;
- else if ``t`` has reached the round's deadline the node blocks until it
  completes, then adds and launches;
- else it computes on without a new round (``tau >= 1``: tau-OSGP).

The deadlines follow the official code's ``synch_freq`` counter, which counts
iteration 0's query (when nothing is in flight yet) too: round 0 is forced at
iteration ``max(tau, 1)`` and a round launched at iteration ``s`` at
``s + tau + 1``. With gossip slower than compute the node therefore mixes at
iterations 1, 2, 3, ... for ``tau = 0`` (1-OSGP), 1, 3, 5, ... for
``tau = 1`` and 2, 5, 8, ... for ``tau = 2``.

The forward pass, backward pass and step then overlap the round in flight:
with constant compute ``c`` and push time ``m`` an iteration takes
``max(c, m)``, against ``c + m`` for SGP. The staleness recorded with an
iteration that mixed is ``t - s`` (at most ``tau + 1``).

At the end of a run only the round in flight is added: after its last
iteration a node launches nothing more, waits for its open round and adds
it, and its last iteration ends then. A node that has launched its last
round will never send the later ones, so nobody waits for its shares of
them (a round with such an in-neighbour completes without that share);
shares pushed to a node after its last round stay in its mailbox, where
:func:`simsgp.algorithms.steps.held_weight` finds them.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from simsgp.algorithms.base import GraphParams, register
from simsgp.algorithms.steps import compute_step, held_weight, mix_in, per_node, push
from simsgp.checks import at_least
from simsgp.fields import setting

if TYPE_CHECKING:
    from simsgp.sim.mailbox import Message
    from simsgp.sim.world import GossipRun

__all__ = ["OSGP", "OSGPParams"]


@dataclass(frozen=True)
class OSGPParams(GraphParams):
    """Overlap SGP's parameters.

    ``tau``: the official code's ``synch_freq``, iterations a node may compute
    on before it must wait for its gossip round (0: 1-OSGP).
    """

    graph: str = setting("dynamic-directed-exponential", help="communication graph (see `simsgp graphs NAME`)")
    tau: int = setting(0, help="iterations a node computes on before it waits for its gossip round (synch_freq)")

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least("algorithm.tau", self.tau, 0)


@register
class OSGP:
    """Overlap SGP (Assran et al., ICML 2019): gossip in flight while the node computes."""

    name = "osgp"
    staleness = "iterations from a round's launch to its mix"
    params = OSGPParams
    weight_unmixed = staticmethod(held_weight)

    def start(self, run: GossipRun, params: OSGPParams) -> None:
        """Start one overlap-SGP process per node."""
        rounds = _Rounds(run.n)
        per_node(run, _node, rounds, params.tau)


class _Rounds:
    """Every node's open round, and the last round of each node that will launch no more."""

    def __init__(self, n: int) -> None:
        self.open: list[_Round | None] = [None] * n
        self.last: list[int | None] = [None] * n

    def will_send(self, j: int, number: int) -> bool:
        """Whether node ``j`` has sent, or may still send, its shares of round ``number``."""
        last = self.last[j]
        return last is None or number <= last

    def close(self, run: GossipRun, i: int) -> None:
        """Node ``i`` launches no more rounds: open rounds stop waiting for its later shares."""
        current = self.open[i]
        assert current is not None  # every node has a round open until the end
        last = self.last[i] = current.number
        graph = run.graph
        for j, gossip in enumerate(self.open):
            if gossip is not None and gossip.number > last:
                missing = graph.in_peers(gossip.number)[j].count(i)
                if missing:
                    run.world.mailboxes[j].expect_fewer(gossip.number, missing)


class _Round:
    """One gossip round in flight: its number, launch iteration, deadline and completion events."""

    __slots__ = ("arrived", "deadline", "done", "launched_at", "number")

    def __init__(self, run: GossipRun, i: int, number: int, launched_at: int, tau: int, rounds: _Rounds):
        graph = run.graph
        run.state.x[i], run.state.w[i], sent = push(run, i, number, run.state.x[i], run.state.w[i], graph.out_peers(number)[i])
        self.number = number
        self.launched_at = launched_at
        self.deadline = max(tau, 1) if number == 0 else launched_at + tau + 1
        coming = sum(rounds.will_send(j, number) for j in graph.in_peers(number)[i])
        self.arrived = run.world.mailboxes[i].get(number, coming)
        self.done = run.world.env.all_of([*sent, self.arrived])
        rounds.open[i] = self


def _node(run: GossipRun, i: int, rounds: _Rounds, tau: int) -> Generator[Any, Any, None]:
    env, last = run.world.env, run.iterations - 1
    gossip = _Round(run, i, 0, 0, tau, rounds)
    for t in range(run.iterations):
        start = env.now
        staleness = float("nan")
        if t > 0 and (gossip.done.processed or t >= gossip.deadline):
            if not gossip.done.processed:
                yield gossip.done
            staleness = t - gossip.launched_at
            mix_in(run, i, run.state.x[i], run.state.w[i], cast("list[Message]", gossip.arrived.value))
            gossip = _Round(run, i, gossip.number + 1, t, tau, rounds)
        comm_end = env.now
        if t == last:
            rounds.close(run, i)
        loss, run.state.x[i] = yield from compute_step(run, i)
        compute_end = env.now
        if t == last:  # only the round in flight is added
            yield gossip.done
            mix_in(run, i, run.state.x[i], run.state.w[i], cast("list[Message]", gossip.arrived.value))
        run.log(
            i, t, start=start, compute_end=compute_end, end=env.now, loss=loss, staleness=staleness,
            comm_wait=comm_end - start + env.now - compute_end,
        )
