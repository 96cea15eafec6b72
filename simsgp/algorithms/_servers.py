"""Parameter-server state shared by the synchronous and asynchronous variants.

Server ``s`` (host ``n + s``) owns slice ``s`` of the parameter vector
(``numpy.array_split`` of the indices) and a momentum buffer for it; a message
between a worker and a server carries ``nbytes / servers`` bytes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from simsgp.learn.optim import sgd_update

if TYPE_CHECKING:
    from simsgp.sim.world import Run


class ServerState:
    """The master parameters, split across ``servers`` hosts after the workers."""

    def __init__(self, run: Run, servers: int):
        self.run = run
        xp = run.state.xp
        self.params = xp.asarray(run.state.x[0], copy=True)
        self.momentum = xp.zeros_like(self.params)
        self.slices = [slice(int(idx[0]), int(idx[-1]) + 1) if idx.size else slice(0, 0)
                       for idx in np.array_split(np.arange(self.params.shape[0]), servers)]
        self.hosts = [run.n + s for s in range(servers)]
        self.version = [0] * servers
        self.message_bytes = run.nbytes / servers

    def step(self, s: int, grad: np.ndarray) -> np.ndarray:
        """Apply an SGD step with ``grad`` to server ``s``'s slice; returns the new slice."""
        part = self.slices[s]
        self.params[part], self.momentum[part] = sgd_update(
            self.params[part], grad, self.momentum[part], self.run.learner.sgd
        )
        self.version[s] += 1
        return self.run.state.xp.asarray(self.params[part], copy=True)
