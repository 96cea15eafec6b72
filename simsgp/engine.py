"""Build a run from a scenario, drive the SimPy environment, collect the Result.

Building checks everything before the first event (graph strongly connected,
mixing matrices column-stochastic, topology valid), so a bad scenario fails at
t = 0 with a message naming the field. The algorithm module then starts its
processes; they only schedule and call pure math.
"""

from __future__ import annotations

import gc
import math
import sys
import threading
import typing
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from numpy.typing import ArrayLike

from simsgp import budget, custom, graphs, physics
from simsgp import scenario as scenario_mod
from simsgp.algorithms import ALGORITHMS, with_graph
from simsgp.backend import Backend, get_backend
from simsgp.cluster import ComputeFunction, ComputeTimes
from simsgp.errors import (
    DivergenceError,
    GraphError,
    ScenarioError,
    SimsgpError,
    TopologyError,
)
from simsgp.flows import Network
from simsgp.mailbox import Mailbox
from simsgp.metrics import EVALUATION_FIELDS, evaluate, summarize, time_to_target
from simsgp.optim import SGDConfig
from simsgp.pushsum import debias
from simsgp.records import Records
from simsgp.result import Result
from simsgp.scenario import Scenario
from simsgp.simpy_internals import events_scheduled
from simsgp.tasks import TimingOnlyTask, make_task, payload_bytes
from simsgp.topology import load_topology

__all__ = ["RunContext", "build", "run"]


@dataclass(eq=False)
class RunContext:
    """Everything the node processes of one run share.

    ``x`` (numerators / parameters, one row per node), ``w`` (push-sum
    weights) and ``momentum`` are stacked arrays of ``backend``; a node
    process reads and replaces its own row.
    """

    env: simpy.Environment
    scenario: Scenario
    task: Any
    graph: graphs.GraphSchedule | None
    network: Network
    compute: ComputeTimes
    batch_rngs: list[np.random.Generator]
    mailboxes: list[Mailbox]
    records: Records
    x: np.ndarray
    w: np.ndarray
    momentum: np.ndarray
    sgd: SGDConfig
    nbytes: float
    max_iterations: int
    backend: Backend
    evaluations: list[tuple[float, ...]] = field(default_factory=list)
    progress: Callable[[int, float], None] | None = None
    """Called as ``progress(iterations, sim_time)`` each time every node has finished one more iteration."""
    math: bool = field(init=False)
    """Whether node processes do the learning math (false in timing-only runs)."""
    _bytes_logged: list[float] = field(init=False)
    _eval_every: int = field(init=False)

    def __post_init__(self) -> None:
        self.math = not self.scenario.timing_only
        self._bytes_logged = [0.0] * self.network.topology.n_hosts
        self._eval_every = self.scenario.eval_every or 0

    @property
    def n(self) -> int:
        """Number of worker nodes."""
        return len(self.w)

    @property
    def xp(self) -> Any:
        """The array namespace of the node state (``backend.xp``)."""
        return self.backend.xp

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
        sent = self.network.sent_by(node)
        bytes_sent = sent - self._bytes_logged[node]
        self._bytes_logged[node] = sent
        if self.math and not math.isfinite(loss):
            self.diverged(f"at iteration {t} (node {node}): its mini-batch loss is {float(loss)}")
        if self.records.log(node, t, start, compute_end, end, loss, bytes_sent, staleness, comm_wait):
            self._round_done(t)

    def check_finite(self, when: str) -> None:
        """Stop the run if some node's parameters or weight are no longer finite."""
        xp = self.xp
        finite = xp.all(xp.isfinite(self.x), axis=1) & xp.isfinite(self.w)
        if not bool(xp.all(finite)):
            node = int(np.flatnonzero(~self.backend.to_numpy(finite))[0])
            self.diverged(f"{when} (node {node} first): its parameters are not finite")

    def diverged(self, where: str) -> typing.NoReturn:
        """Stop the run: the training diverged ``where`` (a loss or parameter is not finite)."""
        raise DivergenceError(
            f"the training diverged {where}; try a smaller algorithm.lr (now {self.scenario.algorithm.lr:g})"
        )

    def _round_done(self, t: int) -> None:
        """Every node has finished iteration ``t``: evaluate if due, report progress.

        At multiples of ``scenario.eval_every`` every node's current model is
        evaluated on the full data (a probe from outside the model: it
        changes nothing).
        """
        finished = self.records.finished_at(t)
        if self.math:
            self.check_finite(f"by iteration {t + 1}")
        every = self._eval_every
        if every and (t + 1) % every == 0:
            point = evaluate(t + 1, finished, debias(self.x, self.w), self.w, self.task)
            if self.math and not math.isfinite(point[EVALUATION_FIELDS.index("loss")]):
                self.diverged(f"by iteration {t + 1}: the nodes' mean loss on the full data is {point[2]}")
            self.evaluations.append(point)
        if self.progress is not None:
            self.progress(t + 1, finished)


def build(scenario: Scenario, *, task: Any = None, graph: Any = None, compute: Any = None) -> RunContext:
    """Create the environment, network, graph, task and state of a run (``task``, ``graph``, ``compute``: see :func:`run`).

    The scenario is resolved first (:func:`simsgp.scenario.resolve`); the run reads only resolved values.
    """
    scenario = scenario_mod.resolve(scenario)
    n = scenario.cluster.nodes
    data_seed, init_seed, compute_seed, batch_seed = np.random.SeedSequence(scenario.seed).spawn(4)
    task_cfg = scenario.task
    if task is not None:
        learning_task = custom.user_task(task, n, np.random.default_rng(data_seed))
        backend = getattr(learning_task, "backend", None) or get_backend()
        nbytes = getattr(learning_task, "payload_bytes", None) if task_cfg.payload == "task" else None
    else:
        # timing-only runs do no math: their few placeholder arrays stay on the host, needing no GPU
        backend = get_backend() if scenario.timing_only else get_backend(scenario.backend, scenario.device)
        learning_task = make_task(  # in timing-only runs only its parameter count matters: one shard will do
            task_cfg.name,
            1 if scenario.timing_only else n,
            np.random.default_rng(data_seed),
            batch_size=task_cfg.batch_size,
            dim=task_cfg.dim,
            noise=task_cfg.noise,
            heterogeneity=task_cfg.heterogeneity,
            hidden=task_cfg.hidden,
            partition=task_cfg.partition,
            dirichlet_alpha=task_cfg.dirichlet_alpha,
            backend=backend,
        )
        nbytes = None
    if scenario.timing_only:
        backend = get_backend()
    task = TimingOnlyTask(n, backend) if scenario.timing_only else learning_task
    x0 = task.init_params(np.random.default_rng(init_seed))
    algorithm = ALGORITHMS[scenario.algorithm.name]
    env = simpy.Environment()
    net_cfg = scenario.network
    overrides = {"bandwidth": net_cfg.bandwidth, "latency": net_cfg.latency, "efficiency": net_cfg.efficiency}
    try:
        topology = load_topology(net_cfg.topology, n + (scenario.algorithm.servers if algorithm.HAS_SERVERS else 0), overrides=overrides)
    except TopologyError as exc:
        raise ScenarioError(f"network: {exc}") from None
    cluster = scenario.cluster
    model = cluster.compute
    iterations = scenario.iterations if scenario.iterations is not None else sys.maxsize
    schedule: graphs.GraphSchedule | None = None
    if algorithm.DEFAULT_GRAPH:
        schedule = _graph(scenario, graph)
    else:
        _no_graph(scenario, graph)
    return RunContext(
        env=env,
        scenario=scenario,
        task=task,
        graph=schedule,
        network=Network(env, topology, record_messages=scenario.trace or physics.check_every_message),
        compute=ComputeTimes(
            model.model,
            model.mean,
            n,
            compute_seed,
            cv=model.cv,
            multipliers=cluster.slow_nodes,
            trace_path=model.path,
            transient_probability=cluster.transient.probability,
            transient_low=cluster.transient.low,
            transient_high=cluster.transient.high,
            stragglers=[(w.node, w.factor, w.start, w.end) for w in cluster.stragglers],
            failures=[(w.node, w.start, w.end) for w in cluster.failures],
            custom=compute,
        ),
        batch_rngs=[np.random.default_rng(s) for s in batch_seed.spawn(n)],
        mailboxes=[Mailbox(env) for _ in range(topology.n_hosts)],
        records=Records(n, min(scenario.iterations or _FIRST_ROWS, _FIRST_ROWS)),  # rows grow as the run goes
        x=backend.xp.stack([x0] * n),
        w=backend.asarray(np.ones(n)),
        momentum=backend.zeros((n, x0.shape[0])),
        sgd=SGDConfig(
            lr=scenario.algorithm.lr,
            momentum=scenario.algorithm.momentum,
            weight_decay=scenario.algorithm.weight_decay,
            nesterov=scenario.algorithm.nesterov,
        ),
        nbytes=float(nbytes if nbytes is not None else payload_bytes(task_cfg.payload, learning_task.dim)),
        max_iterations=iterations,
        backend=backend,
    )


_FIRST_ROWS = 1024
"""Iterations the records have room for at first; the table doubles when a run goes further."""


def _graph(scenario: Scenario, graph: Any = None) -> graphs.GraphSchedule:
    """The communication schedule (the scenario's, or the user's ``graph``), checked: column-stochastic, union strongly connected.

    The checks run on sparse matrices and the edge list, in memory
    proportional to the number of messages (no dense ``n x n`` array).
    """
    cfg = scenario.algorithm
    try:
        if graph is not None:
            schedule = custom.schedule_of(graph, scenario.cluster.nodes)
        else:
            assert cfg.graph is not None  # set to the algorithm's DEFAULT_GRAPH by the scenario
            schedule = graphs.make(cfg.graph, scenario.cluster.nodes, cfg.peers_per_itr)
        graphs.check_strongly_connected(schedule)
        for t in range(schedule.period):
            graphs.check_column_stochastic(schedule.sparse_mixing_matrix(t))
        algorithm_check = getattr(ALGORITHMS[cfg.name], "check_graph", None)
        if algorithm_check is not None:
            algorithm_check(schedule)
    except GraphError as exc:
        where = "graph" if graph is not None else f"algorithm.graph={cfg.graph!r} with algorithm.peers_per_itr={cfg.peers_per_itr}"
        raise ScenarioError(f"{where}: {exc}") from None
    return schedule


def _no_graph(scenario: Scenario, graph: Any) -> None:
    """An algorithm without a communication graph: refuse one given to it."""
    if graph is not None:
        raise ScenarioError(
            f"graph= is given, but algorithm.name={scenario.algorithm.name!r} has no communication graph; "
            f"expected one of {with_graph()}"
        )


def run(
    scenario: Scenario | Mapping[str, Any] | str | Path | None = None,
    *,
    task: Any = None,
    graph: Any = None,
    compute: ComputeFunction | ArrayLike | None = None,
    progress: Callable[[int, float], None] | None = None,
    limits: budget.Limits | None = None,
) -> Result:
    """Simulate one training run.

    Parameters
    ----------
    scenario : Scenario, mapping, str, Path or None
        A validated scenario, a nested mapping of its keys, a preset name or
        TOML path; ``None`` runs the built-in ``default`` preset.
    task : object, optional
        The user's own learning problem in place of ``scenario.task.name``:
        any object with the members of :class:`simsgp.custom.UserTask`, such
        as :func:`simsgp.tasks.from_torch` makes from a PyTorch model. The
        scenario's ``task.payload`` still sets the message size (``"task"``:
        the task's own ``payload_bytes``, else ``dim * 8``).
    graph : networkx.DiGraph, list of DiGraph or GraphSchedule, optional
        The user's communication graph in place of ``algorithm.graph`` (a
        list is cycled, one graph per iteration); checked as the named graphs
        are (union strongly connected, mixing column-stochastic).
    compute : callable or array, optional
        The user's compute model in place of ``cluster.compute``: a function
        ``seconds = compute(node, iteration, now)`` or per-node seconds,
        shape ``(nodes,)`` or ``(iterations, nodes)`` (rows repeat); slow
        nodes, stragglers and failures still apply. A value that is not a
        finite number ``>= 0`` is an error naming the node and iteration.
    progress : callable, optional
        Called as ``progress(iterations, sim_time)`` each time every node has
        finished one more iteration (``sim_time``: when the last of them
        did); for progress bars. It must not change the run.
    limits : Limits, optional
        How much memory and work the run may take (see
        :class:`simsgp.budget.Limits`; default: 80 % of physical memory and
        2e8 events). Checked before the first event.

    Returns
    -------
    Result
        Records, final parameters, summary metrics, the resolved scenario and
        the simsgp version, and ``custom``, what was given beside the
        scenario. The same inputs give bit-identical results.
        Nodes failed at the end of the run (a failure window that has not
        ended) are listed in ``summary["down_at_end"]``; gossip algorithms go
        on without them, and the run's iterations and paces are those of
        the other nodes.

    Raises
    ------
    ScenarioError
        A bad scenario (the message names the field).
    ResourceError
        Memory or work past ``limits``, or simulated times that overflow.
    DivergenceError
        A loss or parameter became infinite or NaN (the message says at
        which iteration and node).
    SimsgpError
        Nodes blocked before the last iteration (waiting for a node that
        never comes back, or for a message never sent).

    Examples
    --------
    >>> result = run({"iterations": 3, "cluster": {"nodes": 4}})
    >>> result.records["end"].shape
    (3, 4)
    """
    scenario = _as_scenario(scenario)
    limits = budget.Limits() if limits is None else limits
    budget.check_scenario(scenario, limits, params=None if task is None else task.dim)
    ctx = build(scenario, task=task, graph=graph, compute=compute)
    budget.check_run(ctx, limits)
    ctx.progress = progress
    algorithm = ALGORITHMS[scenario.algorithm.name]
    if scenario.analytic:
        algorithm.run_analytic(ctx)
    else:
        algorithm.start(ctx)
        with _rare_collections(), np.errstate(over="ignore", invalid="ignore"):  # divergence is reported, once
            ctx.env.run(until=scenario.time_limit)
    gone = [i for i in range(ctx.n) if ctx.compute.down_at(i, ctx.env.now)]  # failed at the end of the run
    if scenario.iterations is not None and scenario.time_limit is None:
        _check_finished(ctx, gone)
    if ctx.math:
        ctx.check_finite("by the end of the run")
    records = ctx.records.arrays()
    budget.check_times(records, ctx.env.now)
    summary = summarize(
        records, debias(ctx.x, ctx.w), ctx.w, ctx.task, ctx.network, time_limit=scenario.time_limit, absent=gone
    )
    summary["down_time"] = [ctx.compute.down_time(i, 0.0, ctx.env.now) for i in range(ctx.n)]
    summary["events"] = events_scheduled(ctx.env)
    unmixed = getattr(algorithm, "weight_unmixed", None)
    summary["weight_unmixed"] = None if unmixed is None or not ctx.math else unmixed(ctx)
    x, w = ctx.backend.to_numpy(ctx.x), ctx.backend.to_numpy(ctx.w)
    messages = ctx.network.messages
    given = {
        "task": None if task is None else custom.describe_task(task),
        "graph": None if graph is None or ctx.graph is None else custom.describe_graph(ctx.graph),
        "compute": None if compute is None else f"{type(compute).__name__} {getattr(compute, '__name__', '')}".strip(),
    }
    result = Result.from_run(
        scenario, records, ctx.evaluations, messages if scenario.trace else None, x, w, summary,
        custom={key: text for key, text in given.items() if text is not None},
    )
    if scenario.has_target:
        summary.update(time_to_target(result.evaluations, accuracy=scenario.target_accuracy, loss=scenario.target_loss))
    untraced = None if scenario.trace or messages is None else np.array(messages).reshape(-1, 5)
    physics.check(result, ctx.network.topology, untraced)  # a traced run's own log is checked by default
    return result


def _check_finished(ctx: RunContext, gone: list[int]) -> None:
    """Raise unless every node still up finished the scenario's iterations.

    A node failed for good is no error by itself: the others may go on
    without it. Nodes that stopped early waited for something that never
    came, that node's messages included.
    """
    iterations = ctx.scenario.iterations
    stuck = [i for i in np.flatnonzero(ctx.records.completed < iterations).tolist() if i not in gone]
    if not stuck:
        return
    cause = "a message they wait for was never sent"
    if gone:
        windows = [
            f"node {w.node} is down from t={w.start:g} s and never comes back (cluster.failures[{k}])"
            for k, w in enumerate(ctx.scenario.cluster.failures)
            if w.node in gone and w.end == math.inf
        ]
        cause = (
            f"{'; '.join(windows)}, and algorithm.name={ctx.scenario.algorithm.name!r} cannot go on without it; "
            "give the failure a finite end, set a time_limit, or choose an algorithm that does not wait for it "
            "(adpsgd, ps-async or dcasgd)"
        )
    raise SimsgpError(
        f"run stopped at t={ctx.env.now:.6g} s with nodes {stuck} blocked before iteration {iterations}: {cause}"
    )


_GC_THRESHOLD = 10_000
"""Net new container objects between young-generation collections during the event loop (Python's default: 700)."""
_gc_lock = threading.Lock()
_gc_loops = 0  # runs of this process now in their event loops
_gc_saved = gc.get_threshold()  # the thresholds from before the first of them, restored after the last


@contextmanager
def _rare_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while the event loop runs.

    The loop creates and frees millions of short-lived events, flows and
    messages, which reference counting reclaims (the loop adds no cyclic
    garbage per event; ``tests/test_engine.py`` checks). With the default
    young-generation threshold, the few thousand objects in flight at any
    moment are promoted every few thousand events, and the oldest generation,
    every object the imports made included, is then rescanned again and
    again: a large share of the wall time of runs with hundreds of nodes.
    The thresholds are restored when the last concurrent run in this process
    leaves its loop; a collector switched off (threshold 0) stays off.
    """
    global _gc_loops, _gc_saved
    with _gc_lock:
        if _gc_loops == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] != 0:
                gc.set_threshold(max(_gc_saved[0], _GC_THRESHOLD), *_gc_saved[1:])
        _gc_loops += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_loops -= 1
            if _gc_loops == 0:
                gc.set_threshold(*_gc_saved)


def _as_scenario(scenario: Scenario | Mapping[str, Any] | str | Path | None) -> Scenario:
    """``scenario`` validated and resolved."""
    if isinstance(scenario, Scenario):
        return scenario_mod.resolve(scenario)
    if isinstance(scenario, Mapping):
        return scenario_mod.resolve(scenario_mod.from_dict(scenario))
    return scenario_mod.resolve(scenario_mod.load(scenario))
