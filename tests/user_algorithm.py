"""A tenth algorithm in one file, registered from outside simsgp: Local SGP.

Each node takes ``local_steps`` SGD steps on its own push-sum numerator, then
mixes once, as SGP does: it keeps ``1 / (k + 1)`` of ``(x, w)``, pushes a share
to each of its ``k`` out-peers of mixing round ``r`` and adds what its
in-neighbours of round ``r`` pushed (Assran et al., ICML 2019, Algorithm 1,
with communication every ``local_steps`` iterations as in Local SGD, Stich,
ICLR 2019). Importing this module is all it takes to use ``algorithm.name =
"local-sgp"``; the package is not touched.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import simsgp
from simsgp.algorithms import GraphParams
from simsgp.algorithms.steps import compute_step, gossip_round, held_weight, per_node
from simsgp.sim.world import GossipRun


@dataclass(frozen=True)
class LocalSGPParams(GraphParams):
    """Local SGP's parameters: its graph (the ring by default) and ``local_steps`` between mixing rounds."""

    graph: str = "ring"
    local_steps: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.local_steps < 1:
            raise ValueError(f"local_steps must be an integer >= 1, not {self.local_steps}")


@simsgp.algorithms.register
class LocalSGP:
    """SGP that mixes every ``local_steps`` iterations."""

    name = "local-sgp"
    params = LocalSGPParams
    weight_unmixed = staticmethod(held_weight)

    def start(self, run: GossipRun, params: LocalSGPParams) -> None:
        """One process per node."""
        per_node(run, _node, params.local_steps)


def _node(run: GossipRun, i: int, local_steps: int) -> Generator[Any, Any, None]:
    env = run.world.env
    for t in range(run.iterations):
        start = env.now
        loss, run.state.x[i] = yield from compute_step(run, i)
        compute_end = env.now
        if (t + 1) % local_steps == 0:
            yield from gossip_round(run, i, t // local_steps, run.state.x[i])  # SGP's push-sum round
        run.log(i, t, start=start, compute_end=compute_end, end=env.now, loss=loss)
