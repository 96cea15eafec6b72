"""Resource guards: a run's memory, work and simulated horizon, estimated before its first event.

A scenario can ask for more than a machine has (``task.dim = 2**40``), for
work that never ends (``time_limit = 1e300`` alone, millions of allreduce
buckets), or for times that overflow a float (a bandwidth of ``5e-324``
bytes per second). :func:`simsgp.run` checks twice before anything runs:
:func:`check_scenario` from the scenario alone, before any array is made,
and :func:`check_run` once the run is built (its compute times, message
size and physical network known). Past a limit it raises
:class:`ResourceError` with the estimate; with ``Limits(allow_large=True)``
(``simsgp run --allow-large``) memory and work past the limits only warn
(:class:`LargeRunWarning`). Times that overflow are always an error.

The estimates are orders of magnitude, not promises: they count the
arrays the node state and records hold and the events the loop processes.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simsgp import algorithms
from simsgp.errors import ScenarioError, SimsgpError, shown
from simsgp.scenario import algorithm_params
from simsgp.sim.records import FIELDS
from simsgp.tasks import payload_bytes

if TYPE_CHECKING:
    from simsgp.scenario import Scenario
    from simsgp.sim.world import Run

__all__ = [
    "EVENTS_PER_SECOND",
    "MAX_HORIZON",
    "LargeRunWarning",
    "Limits",
    "ResourceError",
    "check_count",
    "check_run",
    "check_scenario",
    "check_times",
    "memory_estimate",
    "param_count",
]

MAX_HORIZON = 1e15
"""Most simulated seconds a run may span (about 32 million years; floats resolve 0.125 s there)."""
EVENTS_PER_SECOND = 150_000
"""The event loop's rough rate on one core, for the wall-time figure in a refusal."""
"""The digits tasks' inputs (8 x 8 pixels and a bias) and classes."""


class ResourceError(SimsgpError):
    """A run would need more memory or work than its limits allow, or its times would overflow."""


class LargeRunWarning(UserWarning):
    """A run past its limits that goes on because the user allowed it."""


@dataclass(frozen=True)
class Limits:
    """How large a run may be before :func:`simsgp.run` refuses it.

    Parameters
    ----------
    memory_bytes : float, optional
        Most bytes of arrays a run may hold (default: 80 % of this
        machine's physical memory).
    events : float, default 2e8
        Most events the loop may process (about 20 minutes at
        :data:`EVENTS_PER_SECOND`).
    allow_large : bool, default False
        Warn instead of refusing a run past ``memory_bytes`` or ``events``.
    """

    memory_bytes: float | None = None
    events: float = 2e8
    allow_large: bool = False

    def memory(self) -> float:
        """``memory_bytes``, or 80 % of the physical memory when it is not set."""
        if self.memory_bytes is not None:
            return self.memory_bytes
        try:
            return 0.8 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (ValueError, OSError, AttributeError):  # pragma: no cover - platforms without sysconf
            return 16 * 2**30


def param_count(scenario: Scenario) -> int:
    """The number of parameters the scenario's task has, known before its nodes' shards are built.

    A task kind may say it from its parameters (``dim(params)``); else it
    is built on one node to count them.

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> [param_count(from_dict({"task": t})) for t in ({}, {"name": "mlp-digits"}, {"name": "quadratic", "dim": 7})]
    [650, 2410, 7]
    """
    from simsgp.scenario import task_params
    from simsgp.tasks import TASKS

    kind, params = TASKS.get(scenario.task.name), task_params(scenario)
    count = getattr(kind, "dim", None)
    if count is not None:
        return int(count(params))
    return int(kind.build(1, np.random.default_rng(0), params).dim)


def memory_estimate(scenario: Scenario, iterations: float | None = None, params: int | None = None) -> dict[str, float]:
    """Bytes of the arrays a run holds, by part: node state, task data, records, communication graph.

    ``iterations`` defaults to the scenario's own (records grow as the run
    goes, so this is what they hold at its end); ``params``, to the
    parameters of the scenario's task (give a user task's own).

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> parts = memory_estimate(from_dict({"cluster": {"nodes": 4}, "task": {"name": "quadratic", "dim": 1000}}))
    >>> parts["node state"], parts["records"], parts["graph"]
    (224000.0, 44800.0, 512.0)
    """
    n, d = scenario.cluster.nodes, param_count(scenario) if params is None else params
    shards = 1 if scenario.timing_only else n
    state = 1 if scenario.timing_only else d
    # x, momentum, gradients, one share in flight per node, the de-biased copies of an evaluation,
    # and the float64 data of the quadratic task's centres
    data = 8.0 * shards * d if scenario.task.name == "quadratic" and params is None else 0.0
    rows = scenario.iterations if iterations is None else iterations
    # the peer lists of a period of the graph (about log2 n phases for the exponential graphs), as Python ints
    own = algorithm_params(scenario)
    phases = math.ceil(math.log2(n)) if hasattr(own, "graph") else 0
    return {
        "node state": 7.0 * 8 * n * state,
        "task data": data,
        "records": 8.0 * len(FIELDS) * n * (rows or 0),
        "graph": 64.0 * n * getattr(own, "peers_per_itr", 1) * phases,
    }


def check_scenario(scenario: Scenario, limits: Limits, params: int | None = None) -> None:
    """Refuse a scenario whose arrays or events would be past ``limits``, before any array is made.

    A run bounded by ``time_limit`` alone has its events counted by
    :func:`check_run`, once its compute times are known. ``params``: the
    parameters of a user's task (default: those of the scenario's).

    Raises
    ------
    ResourceError
        An estimate is over ``limits`` and ``limits.allow_large`` is false
        (then it warns).
    """
    if scenario.time_limit is not None and scenario.time_limit > MAX_HORIZON:
        raise ResourceError(f"time_limit={shown(scenario.time_limit)}; expected at most {MAX_HORIZON:g} simulated seconds")
    params = param_count(scenario) if params is None else params
    servers = algorithms.servers(algorithm_params(scenario))
    if servers > params:
        raise ScenarioError(
            f"algorithm.servers={servers}; expected at most {params}, the parameters of task.name="
            f"{scenario.task.name!r} (each server holds a slice of at least one)"
        )
    if scenario.iterations is not None:
        nbytes = payload_bytes(scenario.task.payload, params)
        _check_events(scenario, scenario.iterations, _messages_per_iteration(scenario, nbytes), limits)
    _check_memory(memory_estimate(scenario, params=params), limits, _memory_hint(scenario))


def check_run(scenario: Scenario, run: Run, limits: Limits) -> None:
    """Refuse a built run whose times overflow, or, bounded by ``time_limit``, whose work is past the limits.

    Raises
    ------
    ResourceError
        Simulated times past :data:`MAX_HORIZON` (always), or events or
        memory past ``limits`` without ``limits.allow_large``.
    """
    compute, message = _worst_compute(scenario, run), _worst_message(scenario, run)
    messages = _messages_per_iteration(scenario, run.nbytes)
    per_iteration = compute[1] + messages * message[1]
    horizon = per_iteration if scenario.iterations is None else per_iteration * scenario.iterations
    if not horizon <= MAX_HORIZON:
        field, seconds, why = compute if compute[1] >= messages * message[1] else message
        raise ResourceError(
            f"{field}: simulated times overflow: {why} takes up to {seconds:.3g} s, about {horizon:.3g} s "
            f"over the run; expected values that keep a run under {MAX_HORIZON:g} simulated seconds"
        )
    if scenario.time_limit is not None and run.world.compute.model != "function":
        fastest = _fastest_iteration(scenario, run)
        iterations = scenario.time_limit / fastest if fastest > 0 else math.inf
        if scenario.iterations is None or iterations < scenario.iterations:
            _check_events(scenario, iterations, messages, limits)
            _check_memory(memory_estimate(scenario, iterations), limits, _memory_hint(scenario))


def _check_events(scenario: Scenario, iterations: float, messages: float, limits: Limits) -> None:
    """Refuse (or warn about) a run of about ``nodes x iterations x (1 + 3 messages)`` events past the limit."""
    n = scenario.cluster.nodes
    events = n * iterations * (1 + 3 * messages)
    if events > limits.events:
        minutes = events / EVENTS_PER_SECOND / 60
        _exceeded(
            f"the run would process about {events:.3g} events ({n} nodes x {iterations:.3g} iterations x "
            f"{1 + 3 * messages:.3g} per node-iteration; about {minutes:.3g} min at {EVENTS_PER_SECOND} events/s), "
            f"more than the limit of {limits.events:.3g}; fewer iterations, nodes or peers, or a shorter time_limit",
            limits,
        )


def _messages_per_iteration(scenario: Scenario, nbytes: float) -> float:
    """Messages a node sends per iteration: the algorithm's own count, else two per server or its graph's peers."""
    member, own = algorithms.get(scenario.algorithm.name), algorithm_params(scenario)
    count = getattr(member, "messages_per_iteration", None)
    if count is not None:
        return float(count(own, scenario.cluster.nodes, nbytes))
    if algorithms.servers(own):
        return 2.0 * algorithms.servers(own)
    return float(max(getattr(own, "peers_per_itr", 1), 2))


def _worst_compute(scenario: Scenario, run: Run) -> tuple[str, float, str]:
    """The longest compute phase a node may have, with the field most to blame."""
    cluster = scenario.cluster
    compute = run.world.compute
    if compute.model == "function":  # a user's function: its times are known only as the run goes
        work, field = 0.0, "compute"
    elif compute.model == "trace":
        field = "cluster.compute.path" if compute.trace_path is not None else "compute"
        assert compute.trace is not None  # model "trace" always has its table
        work = max(float(column.max()) for column in compute.trace)
    elif compute.model == "lognormal":
        work, field = cluster.compute.mean * (1 + 10 * cluster.compute.cv), "cluster.compute.cv"
    else:
        work, field = cluster.compute.mean, "cluster.compute.mean"
    factors = {
        field: work,
        "cluster.slow_nodes": max(float(compute.scale.max()), 1.0),
        "cluster.transient.high": cluster.transient.high if cluster.transient.probability > 0 else 1.0,
        # a window that ends delays a phase by at most its length; only one that never ends scales it
        "cluster.stragglers": math.prod(max(w.factor, 1.0) for w in cluster.stragglers if w.end == math.inf),
    }
    blamed = max(factors, key=lambda name: factors[name])  # the largest of them, where times overflow
    return blamed, math.prod(factors.values()), "one compute phase (with its slow-node, transient and straggler factors)"


def check_times(records: dict[str, np.ndarray], now: float) -> None:
    """Raise unless every recorded time and the clock are within :data:`MAX_HORIZON` (what the estimates could not foresee).

    Examples
    --------
    >>> check_times({"end": np.array([[1.0, np.inf]])}, 1.0)
    Traceback (most recent call last):
    ...
    simsgp.sim.budget.ResourceError: simulated time overflowed: end of iteration 0 of node 1 is inf; expected values that keep a run under 1e+15 simulated seconds
    """
    for name in ("start", "compute_end", "end"):
        if name in records:
            bad = np.argwhere(np.abs(records[name]) > MAX_HORIZON)  # NaN: not recorded
            if bad.size:
                t, node = (int(v) for v in bad[0])
                raise ResourceError(
                    f"simulated time overflowed: {name} of iteration {t} of node {node} is "
                    f"{records[name][t, node]}; expected values that keep a run under {MAX_HORIZON:g} simulated seconds"
                )
    if not now <= MAX_HORIZON:
        raise ResourceError(f"simulated time overflowed: the clock reads {now}")


def _fastest_iteration(scenario: Scenario, run: Run) -> float:
    """A rough floor of one iteration's compute time, for the iterations a time limit allows."""
    compute = run.world.compute
    if compute.model == "trace":
        assert compute.trace is not None  # model "trace" always has its table
        return min(float(column.min()) for column in compute.trace) * float(compute.scale.min())
    model = scenario.cluster.compute
    return model.mean * float(compute.scale.min()) / (1 + model.cv)


def _worst_message(scenario: Scenario, run: Run) -> tuple[str, float, str]:
    """The longest a message alone may take (latency and size over the slowest link), with the field to blame."""
    topology = run.world.network.topology
    hosts = topology.n_hosts
    sample = {(0, j) for j in range(1, min(hosts, 64))} | {(hosts - 1, 0), (hosts // 2, 0)}
    latency = max(topology.latency(src, dst) for src, dst in sample if src != dst)
    slowest = float(topology.capacity.min())
    transfer = run.nbytes / slowest
    net = scenario.network
    if latency >= transfer:
        return "network.latency", latency + transfer, f"a message with a latency of {latency:.3g} s"
    from simsgp.sim.topology import host_figures

    own = net.bandwidth is None or net.bandwidth == host_figures(net.topology)["bandwidth"]  # the file's, not the user's
    field = "task.payload" if own or run.nbytes > 1e300 else "network.bandwidth"
    return field, latency + transfer, f"a {run.nbytes:.3g}-byte message over the slowest link ({slowest:.3g} B/s)"


def _check_memory(parts: dict[str, float], limits: Limits, hint: str) -> None:
    total = sum(parts.values())
    if total > limits.memory():
        shown = ", ".join(f"{name} {_gib(size)}" for name, size in parts.items() if size)
        _exceeded(
            f"the run would hold about {_gib(total)} of arrays ({shown}), more than the limit of "
            f"{_gib(limits.memory())}; {hint}",
            limits,
        )


def _memory_hint(scenario: Scenario) -> str:
    task = scenario.task
    size = f"task.dim={task.params['dim']}" if "dim" in task.params else f"task.name={task.name!r}"
    return f"fewer cluster.nodes (now {scenario.cluster.nodes}), a smaller {size} or fewer iterations"


def _exceeded(message: str, limits: Limits) -> None:
    if limits.allow_large:
        warnings.warn(message, LargeRunWarning, stacklevel=4)
    else:
        raise ResourceError(f"{message} (or allow it: --allow-large, or simsgp.run(..., limits=simsgp.Limits(allow_large=True)))")


def _gib(size: float) -> str:
    return f"{size / 2**30:.3g} GiB"


def check_count(field: str, value: Any, count: float, limit: float, what: str) -> None:
    """Refuse ``count`` of ``what`` that ``field`` asks for when it is not finite or over ``limit``.

    Examples
    --------
    >>> check_count("algorithm.bucket_bytes", 1e-3, 2.6e7, 1e6, "buckets")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: algorithm.bucket_bytes=0.001 makes 2.6e+07 buckets; expected a value giving at most 1e+06
    """
    if not count <= limit:
        raise ScenarioError(f"{field}={shown(value)} makes {count:.3g} {what}; expected a value giving at most {limit:.3g}")
