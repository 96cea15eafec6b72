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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from numpy.typing import ArrayLike

from simsgp import algorithms, custom, graphs, tasks
from simsgp import scenario as scenario_mod
from simsgp.errors import GraphError, ScenarioError, SimsgpError, TopologyError
from simsgp.learn.backend import Backend, get_backend
from simsgp.learn.optim import SGDConfig
from simsgp.learn.pushsum import debias
from simsgp.report.metrics import summarize, time_to_target
from simsgp.report.result import Result
from simsgp.scenario import Scenario
from simsgp.scenario.schema import ClusterConfig
from simsgp.sim import budget, physics
from simsgp.sim.cluster import ComputeFunction, ComputeTimes, epoch_iterations
from simsgp.sim.flows import Network
from simsgp.sim.mailbox import Mailbox
from simsgp.sim.records import Records
from simsgp.sim.simpy_internals import events_scheduled
from simsgp.sim.topology import load_topology, site_overrides
from simsgp.sim.world import GossipRun, Learner, ModelState, Run, World
from simsgp.tasks import payload_bytes

__all__ = ["build", "run"]


def build(scenario: Scenario, *, task: Any = None, graph: Any = None, compute: Any = None) -> Run:
    """Create the world, model state and learner of a run (``task``, ``graph``, ``compute``: see :func:`run`).

    The scenario is resolved first (:func:`simsgp.scenario.resolver`); the
    run reads only resolved values. Returns a :class:`GossipRun` for an
    algorithm with a graph, else a :class:`Run`; start it with
    ``simsgp.algorithms.get(name).start(run, params)``.
    """
    scenario = scenario_mod.resolve(scenario)
    n = scenario.cluster.nodes
    data_seed, init_seed, compute_seed, batch_seed = np.random.SeedSequence(scenario.seed).spawn(4)
    params = scenario_mod.algorithm_params(scenario)
    learning_task, backend, nbytes = _learning_task(scenario, task, np.random.default_rng(data_seed))
    x0 = learning_task.init_params(np.random.default_rng(init_seed)) if learning_task is not None else backend.zeros(1)
    env = simpy.Environment()
    net_cfg = scenario.network
    overrides = {"bandwidth": net_cfg.bandwidth, "latency": net_cfg.latency, "efficiency": net_cfg.efficiency}
    try:
        overrides.update(site_overrides(net_cfg.topology, wan_bandwidth=net_cfg.wan_bandwidth,
                                        site_latency=net_cfg.site_latency))
        topology = load_topology(net_cfg.topology, n + algorithms.servers(params), overrides=overrides)
    except TopologyError as exc:
        raise ScenarioError(f"network: {exc}") from None
    cluster = scenario.cluster
    model = cluster.compute
    world = World(
        env=env,
        network=Network(env, topology, record_messages=scenario.trace or physics.check_every_message,
                        eager_limit=net_cfg.eager_limit, one_per_pair=net_cfg.connections == "one-per-pair"),
        mailboxes=[Mailbox(env) for _ in range(topology.n_hosts)],
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
            epoch=_epoch(cluster),
        ),
        records=Records(n, min(scenario.iterations or _FIRST_ROWS, _FIRST_ROWS)),  # rows grow as the run goes
        reduce_rate=net_cfg.reduce_rate,
    )
    state = ModelState(
        x=backend.xp.stack([x0] * n),
        w=backend.asarray(np.ones(n)),
        momentum=backend.zeros((n, x0.shape[0])),
        backend=backend,
    )
    cfg = scenario.algorithm
    learner = Learner(
        task=learning_task,
        sgd=SGDConfig(lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, nesterov=cfg.nesterov),
        batch_rngs=[np.random.default_rng(s) for s in batch_seed.spawn(n)],
    )
    parts: dict[str, Any] = {
        "world": world,
        "state": state,
        "learner": learner,
        "nbytes": nbytes,
        "iterations": scenario.iterations if scenario.iterations is not None else sys.maxsize,
        "eval_every": scenario.eval_every or 0,
    }
    if algorithms.has_graph(cfg.name):
        return GossipRun(**parts, graph=_graph(scenario, graph))
    _no_graph(scenario, graph)
    return Run(**parts)


def _learning_task(scenario: Scenario, task: Any, rng: np.random.Generator) -> tuple[Any, Backend, float]:
    """The run's task (None in a timing-only run), the backend of the node state, and the message size in bytes.

    A timing-only run builds the scenario's task on one node only to learn
    its parameter count (the payload may be the task's size); its few
    placeholder arrays stay on the host, needing no GPU.
    """
    payload = scenario.task.payload
    if task is not None:
        learning_task = custom.user_task(task, scenario.cluster.nodes, rng)
        own = getattr(learning_task, "payload_bytes", None) if payload == "task" else None
        nbytes = float(own if own is not None else payload_bytes(payload, learning_task.dim))
        backend = get_backend() if scenario.timing_only else getattr(learning_task, "backend", None) or get_backend()
        return (None if scenario.timing_only else learning_task), backend, nbytes
    if scenario.timing_only:
        dim = budget.param_count(scenario)
        return None, get_backend(), float(payload_bytes(payload, dim))
    backend = get_backend(scenario.backend, scenario.device)
    learning_task = tasks.TASKS.get(scenario.task.name).build(
        scenario.cluster.nodes, rng, scenario_mod.task_params(scenario)
    ).to_backend(backend)
    return learning_task, backend, float(payload_bytes(payload, learning_task.dim))


_FIRST_ROWS = 1024
"""Iterations the records have room for at first; the table doubles when a run goes further."""


def _graph(scenario: Scenario, graph: Any = None) -> graphs.GraphSchedule:
    """The communication schedule (the scenario's, or the user's ``graph``), checked: column-stochastic, union strongly connected.

    The checks run on sparse matrices and the edge list, in memory
    proportional to the number of messages (no dense ``n x n`` array).
    """
    params = scenario_mod.algorithm_params(scenario)
    try:
        if graph is not None:
            schedule = custom.schedule_of(graph, scenario.cluster.nodes)
        else:
            schedule = graphs.make(params.graph, scenario.cluster.nodes, params.peers_per_itr)
        graphs.check_strongly_connected(schedule)
        for t in range(schedule.period):
            graphs.check_column_stochastic(schedule.sparse_mixing_matrix(t))
        algorithm_check = getattr(algorithms.get(scenario.algorithm.name), "check_graph", None)
        if algorithm_check is not None:
            algorithm_check(schedule)
    except GraphError as exc:
        where = "graph" if graph is not None else f"algorithm.graph={params.graph!r} with algorithm.peers_per_itr={params.peers_per_itr}"
        raise ScenarioError(f"{where}: {exc}") from None
    return schedule


def _no_graph(scenario: Scenario, graph: Any) -> None:
    """An algorithm without a communication graph: refuse one given to it."""
    if graph is not None:
        raise ScenarioError(
            f"graph= is given, but algorithm.name={scenario.algorithm.name!r} has no communication graph; "
            f"expected one of {algorithms.with_graph()}"
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
        any object with the members of :class:`simsgp.Task`, such
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
        :class:`simsgp.sim.budget.Limits`; default: 80 % of physical memory and
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
    run = build(scenario, task=task, graph=graph, compute=compute)
    algorithm, params = algorithms.get(scenario.algorithm.name), scenario_mod.algorithm_params(scenario)
    budget.check_run(scenario, run, limits)
    run.progress = progress
    world, state = run.world, run.state
    if scenario.analytic:
        algorithm.run_analytic(run, params)
    else:
        algorithm.start(run, params)
        with _rare_collections(), np.errstate(over="ignore", invalid="ignore"):  # divergence is reported, once
            world.env.run(until=scenario.time_limit)
    now = world.env.now
    gone = [i for i in range(run.n) if world.compute.down_at(i, now)]  # failed at the end of the run
    if scenario.iterations is not None and scenario.time_limit is None:
        _check_finished(scenario, world, gone)
    math_done = run.learner.math
    if math_done:
        run.check_finite("by the end of the run")
    records = world.records.arrays()
    budget.check_times(records, now)
    summary = summarize(
        records, debias(state.x, state.w), state.w, run.learner.task, world.network,
        time_limit=scenario.time_limit, absent=gone,
    )
    summary["down_time"] = [world.compute.down_time(i, 0.0, now) for i in range(run.n)]
    summary["events"] = events_scheduled(world.env)
    unmixed = getattr(algorithm, "weight_unmixed", None)
    summary["weight_unmixed"] = None if unmixed is None or not math_done else unmixed(run)
    x, w = state.backend.to_numpy(state.x), state.backend.to_numpy(state.w)
    messages = world.network.messages
    given = {
        "task": None if task is None else custom.describe_task(task),
        "graph": None if graph is None or not isinstance(run, GossipRun) else custom.describe_graph(run.graph),
        "compute": None if compute is None else f"{type(compute).__name__} {getattr(compute, '__name__', '')}".strip(),
    }
    result = Result.from_run(
        scenario, records, run.evaluations, messages if scenario.trace else None, x, w, summary,
        custom={key: text for key, text in given.items() if text is not None},
        network=run.link_samples.finish(),
    )
    if scenario.has_target:
        summary.update(time_to_target(result.evaluations, accuracy=scenario.target_accuracy, loss=scenario.target_loss))
    untraced = None if scenario.trace or messages is None else np.array(messages).reshape(-1, 5)
    physics.check(result, world.network.topology, untraced)  # a traced run's own log is checked by default
    return result


def _check_finished(scenario: Scenario, world: World, gone: list[int]) -> None:
    """Raise unless every node still up finished the scenario's iterations.

    A node failed for good is no error by itself: the others may go on
    without it. Nodes that stopped early waited for something that never
    came, that node's messages included.
    """
    iterations = scenario.iterations
    assert iterations is not None  # only runs bounded by iterations alone are checked
    stuck = [i for i in np.flatnonzero(world.records.completed < iterations).tolist() if i not in gone]
    if not stuck:
        return
    cause = "a message they wait for was never sent"
    if gone:
        windows = [
            f"node {w.node} is down from t={w.start:g} s and never comes back (cluster.failures[{k}])"
            for k, w in enumerate(scenario.cluster.failures)
            if w.node in gone and w.end == math.inf
        ]
        cause = (
            f"{'; '.join(windows)}, and algorithm.name={scenario.algorithm.name!r} cannot go on without it; "
            "give the failure a finite end, set a time_limit, or choose an algorithm that does not wait for it "
            "(adpsgd, ps-async or dcasgd)"
        )
    raise SimsgpError(
        f"run stopped at t={world.env.now:.6g} s with nodes {stuck} blocked before iteration {iterations}: {cause}"
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


def _epoch(cluster: ClusterConfig) -> tuple[int, float] | None:
    """``(iterations per epoch, pause)`` for :class:`ComputeTimes`, None without a pause."""
    iterations = epoch_iterations(cluster)
    return None if iterations is None or not cluster.epoch.pause else (iterations, cluster.epoch.pause)
