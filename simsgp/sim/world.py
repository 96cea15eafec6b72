"""The parts of one run that an algorithm works with, each with one job.

* :class:`World`: the simulated world (SimPy environment, network,
  mailboxes, compute times, the records the probes write);
* :class:`ModelState`: the nodes' stacked parameters, push-sum weights and
  momentum, one row per node, on the run's array backend;
* :class:`Learner`: the task, the optimiser and the nodes' mini-batch
  streams; no task in a timing-only run, whose processes then skip the math;
* :class:`Run`: the three, with what an algorithm needs to know about the
  run (nodes, message size, iterations) and :meth:`Run.log`, where node
  processes report an iteration; :class:`GossipRun` adds the
  communication graph for the algorithms that have one.

The engine (:mod:`simsgp.sim.engine`) builds them from a resolved scenario; an
algorithm never reads the scenario, only its own parameters and these.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp.errors import DivergenceError
from simsgp.learn.optim import SGDConfig
from simsgp.learn.pushsum import debias
from simsgp.report.metrics import EVALUATION_FIELDS, evaluate
from simsgp.sim.linkload import LinkSampler
from simsgp.sim.mailbox import Unmixed

if TYPE_CHECKING:
    import simpy

    from simsgp.graphs import GraphSchedule
    from simsgp.learn.backend import Backend
    from simsgp.sim.cluster import ComputeTimes
    from simsgp.sim.flows import Network
    from simsgp.sim.mailbox import Mailbox
    from simsgp.sim.records import Records

__all__ = ["GossipRun", "Learner", "ModelState", "Run", "World"]


@dataclass(eq=False)
class World:
    """The simulated world: virtual time, the network, every host's inbox, compute times, records.

    ``reduce_rate``: bytes per second at which a host adds a received
    message into its own in a collective (``network.reduce_rate``; None: free).
    """

    env: simpy.Environment
    network: Network
    mailboxes: list[Mailbox]
    compute: ComputeTimes
    records: Records
    reduce_rate: float | None = None


@dataclass(eq=False)
class ModelState:
    """Every node's model as stacked rows: ``x`` (parameters, or push-sum numerators), ``w`` (weights), ``momentum``.

    A node process reads and replaces its own row.
    """

    x: Any
    w: Any
    momentum: Any
    backend: Backend
    unmixed: Unmixed = field(default_factory=Unmixed)

    @property
    def xp(self) -> Any:
        """The array namespace of the rows (``backend.xp``)."""
        return self.backend.xp


@dataclass(eq=False)
class Learner:
    """The learning problem and how nodes step on it; ``task`` None in a timing-only run."""

    task: Any
    sgd: SGDConfig
    batch_rngs: list[np.random.Generator]

    @property
    def math(self) -> bool:
        """Whether node processes do the learning math (false in timing-only runs: only the schedule matters)."""
        return self.task is not None


@dataclass(eq=False)
class Run:
    """One run as an algorithm sees it.

    ``nbytes``: the size of a model (or gradient) message; ``iterations``:
    how many each node runs (``sys.maxsize`` under a time limit);
    ``eval_every``: evaluate every node's model each time all nodes have
    finished a multiple of this many iterations (0: never); ``progress``:
    called as ``progress(iterations, sim_time)`` each time every node has
    finished one more iteration; ``link_samples``: the bytes every link has
    carried, sampled about once per round of node-iterations (see
    :class:`simsgp.sim.linkload.LinkSampler`).
    """

    world: World
    state: ModelState
    learner: Learner
    nbytes: float
    iterations: int
    eval_every: int = 0
    progress: Callable[[int, float], None] | None = None
    evaluations: list[tuple[float, ...]] = field(default_factory=list)
    _bytes_logged: list[float] = field(init=False)
    link_samples: LinkSampler = field(init=False)
    _logs_to_sample: int = field(init=False)

    def __post_init__(self) -> None:
        self._bytes_logged = [0.0] * self.world.network.topology.n_hosts
        self.link_samples = LinkSampler(self.world.network, stride=self.n)
        self._logs_to_sample = self.link_samples.stride

    @property
    def n(self) -> int:
        """Number of worker nodes."""
        return len(self.state.w)

    def log(
        self,
        node: int,
        t: int,
        start: float,
        compute_end: float,
        end: float,
        loss: float,
        staleness: float = np.nan,
        comm_wait: float | None = None,
    ) -> None:
        """Record iteration ``t`` of ``node`` (see :meth:`Records.log`); probe when a round is done.

        The fields are passed on as they are, and ``bytes_sent``, what the
        node's host put on the network since its previous record, with them
        (positionally: this runs once per node-iteration, where keyword
        forwarding costs several per cent of a timing-only run).
        """
        sent = self.world.network.sent_by(node)
        bytes_sent = sent - self._bytes_logged[node]
        self._bytes_logged[node] = sent
        self._logs_to_sample -= 1
        if not self._logs_to_sample:
            self._logs_to_sample = self.link_samples.sample()
        if self.learner.math and not math.isfinite(loss):
            self.diverged(f"at iteration {t} (node {node}): its mini-batch loss is {float(loss)}")
        if self.world.records.log(node, t, start, compute_end, end, loss, bytes_sent, staleness, comm_wait):
            self._round_done(t)

    def check_finite(self, when: str) -> None:
        """Stop the run if some node's parameters or weight are no longer finite."""
        state = self.state
        xp = state.xp
        finite = xp.all(xp.isfinite(state.x), axis=1) & xp.isfinite(state.w)
        if not bool(xp.all(finite)):
            node = int(np.flatnonzero(~state.backend.to_numpy(finite))[0])
            self.diverged(f"{when} (node {node} first): its parameters are not finite")

    def diverged(self, where: str) -> typing.NoReturn:
        """Stop the run: the training diverged ``where`` (a loss or parameter is not finite)."""
        raise DivergenceError(
            f"the training diverged {where}; try a smaller algorithm.lr (now {self.learner.sgd.lr:g})"
        )

    def _round_done(self, t: int) -> None:
        """Every node has finished iteration ``t``: evaluate if due, report progress.

        At multiples of ``eval_every`` every node's current model is
        evaluated on the full data (a probe from outside the model: it
        changes nothing).
        """
        finished = self.world.records.finished_at(t)
        learning = self.learner.math
        if learning:
            self.check_finite(f"by iteration {t + 1}")
        every = self.eval_every
        if every and (t + 1) % every == 0:  # NaN losses without a task (a timing-only run)
            state = self.state
            point = evaluate(t + 1, finished, debias(state.x, state.w), state.w, self.learner.task)
            if learning and not math.isfinite(point[EVALUATION_FIELDS.index("loss")]):
                self.diverged(f"by iteration {t + 1}: the nodes' mean loss on the full data is {point[2]}")
            self.evaluations.append(point)
        if self.progress is not None:
            self.progress(t + 1, finished)


@dataclass(eq=False)
class GossipRun(Run):
    """A run of an algorithm with a communication graph: ``graph`` gives each iteration's peers."""

    graph: GraphSchedule = field(kw_only=True)
