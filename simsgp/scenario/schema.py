"""What a scenario is: frozen dataclasses of what the user wrote, and the one layer that checks them.

Every table of a scenario is a dataclass here (``None``: not given); a
mapping becomes one through :func:`build`, which converts and checks each
key's type, and the dataclasses' own checks validate the values. The keys of
an algorithm or a task are checked against the parameter dataclass of the
one the scenario names (:func:`params_of`). Every error names the dotted
field, the bad value and what is allowed. Nothing here imports simulation
code; the checks that need a family import it when they run.
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Union

from simsgp import algorithms
from simsgp.checks import at_least, existing_file, fail, nonnegative, one_of, positive, unit_interval
from simsgp.errors import ScenarioError, TopologyError, shown
from simsgp.fields import setting
from simsgp.registry import Registry
from simsgp.scenario.units import looks_like_quantity, parse_quantity

__all__ = [
    "AlgorithmConfig",
    "ClusterConfig",
    "ComputeConfig",
    "FailureWindow",
    "NetworkConfig",
    "Scenario",
    "StragglerWindow",
    "TaskConfig",
    "TransientConfig",
    "applies",
    "build",
    "params_of",
]

_MAX_INT = 2**63 - 1
"""Largest integer a scenario takes (numpy's int64); larger ones would overflow the run's arrays."""
_MAX_CV = 1000.0
"""Largest lognormal coefficient of variation: past it nearly every draw is ~0 and a rare one is astronomically large."""


@dataclass(frozen=True)
class ComputeConfig:
    """Compute time per iteration (forward + backward) of a node with multiplier 1.

    ``model = "trace"`` replays a measured CSV (``path``): one row per
    iteration, one column per node, seconds; rows repeat when the run is longer.
    """

    model: str = setting("constant", help="compute-time model: constant, lognormal or trace (a measured CSV)")
    mean: float = setting(0.1, help="mean compute time per iteration (forward + backward) of a node", unit="s")
    cv: float = setting(0.0, help="coefficient of variation of lognormal compute times (0: constant)")
    path: str | None = setting(None, help="CSV of measured seconds for model = trace: a row per iteration, a column per node")

    def __post_init__(self) -> None:
        # numpy and the simulator load when a value is checked
        from simsgp.sim.cluster import COMPUTE_MODELS

        one_of("cluster.compute.model", self.model, COMPUTE_MODELS)
        positive("cluster.compute.mean", self.mean)
        if not 0 <= self.cv <= _MAX_CV:
            fail("cluster.compute.cv", self.cv, f"a coefficient of variation in [0, {_MAX_CV:g}]")
        if self.cv and self.model != "lognormal":  # would be ignored: a quiet wrong result
            fail("cluster.compute.cv", self.cv, f"0 with cluster.compute.model={self.model!r}; set model = 'lognormal' to use it")
        if self.path is not None and self.model != "trace":
            fail("cluster.compute.path", self.path, f"no path with cluster.compute.model={self.model!r}; it is read when model = 'trace'")
        if self.model == "trace":
            existing_file("cluster.compute.path", self.path or "", "an existing CSV file when cluster.compute.model = 'trace'")


@dataclass(frozen=True)
class StragglerWindow:
    """Node ``node`` computes ``factor`` times slower from ``start`` to ``end`` (simulated seconds)."""

    node: int = setting(help="the node slowed")
    factor: float = setting(help="how many times slower it computes in the window")
    start: float = setting(help="simulated time the window opens", unit="s")
    end: float = setting(help="simulated time the window closes (inf: never)", unit="s")


@dataclass(frozen=True)
class FailureWindow:
    """Node ``node`` is down from ``start`` to ``end`` and then rejoins with its state."""

    node: int = setting(help="the node that fails")
    start: float = setting(help="simulated time it goes down", unit="s")
    end: float = setting(help="simulated time it rejoins with its state (inf: never)", unit="s")


@dataclass(frozen=True)
class TransientConfig:
    """Each iteration a node is slowed with ``probability`` by a factor uniform in [low, high]."""

    probability: float = setting(0.0, help="chance per node and iteration of a transient slow-down")
    low: float = setting(2.0, help="smallest slow-down factor (uniform in [low, high])")
    high: float = setting(4.0, help="largest slow-down factor")

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            fail("cluster.transient.probability", self.probability, "a probability in [0, 1]")
        positive("cluster.transient.high", self.high)
        if not 1 <= self.low <= self.high:
            fail("cluster.transient.low", self.low, f"a factor with 1 <= low <= high (high = {self.high})")


@dataclass(frozen=True)
class EpochConfig:
    """Epochs over a data set of ``samples``, read ``batch`` samples per node per iteration, each starting with a pause.

    A data loader that restarts every epoch (PyTorch's, with worker processes)
    delivers its first batch only after a worker has loaded a whole one: the
    node then waits ``pause`` seconds before that iteration's compute. An
    epoch has ``ceil(ceil(samples / nodes) / batch)`` iterations (each node
    reads its ``1 / nodes`` share, as PyTorch's distributed sampler does).
    """

    samples: int = setting(0, help="training samples per epoch over all nodes (0: no epochs)")
    batch: int = setting(256, help="samples a node reads per iteration")
    pause: float = setting(0.0, help="seconds a node waits at the start of every epoch (its data loader's first batch)",
                           unit="s")

    def __post_init__(self) -> None:
        at_least("cluster.epoch.samples", self.samples, 0)
        at_least("cluster.epoch.batch", self.batch, 1)
        nonnegative("cluster.epoch.pause", self.pause)
        if self.pause and not self.samples:
            fail("cluster.epoch.pause", self.pause, "0 without cluster.epoch.samples (the size of an epoch)")


@dataclass(frozen=True)
class ClusterConfig:
    """The worker nodes: how many, how fast, which are slow, and when."""

    nodes: int = setting(8, help="worker nodes (one process each)")
    compute: ComputeConfig = setting(factory=ComputeConfig, help="compute time per iteration")
    slow_nodes: dict[int, float] = setting(factory=dict, help='compute-time multiplier of a node for the whole run, { "3" = 4.0 }')
    stragglers: tuple[StragglerWindow, ...] = setting((), help="windows of simulated time in which a node computes slower")
    transient: TransientConfig = setting(factory=TransientConfig, help="random per-iteration slow-downs")
    failures: tuple[FailureWindow, ...] = setting((), help="windows in which a node is down")
    epoch: EpochConfig = setting(factory=EpochConfig, help="epochs of the data set and the pause that starts each")

    def __post_init__(self) -> None:
        if self.nodes < 2:
            fail("cluster.nodes", self.nodes, "an integer >= 2")
        for node, factor in self.slow_nodes.items():
            self._check_node(f"cluster.slow_nodes.{node}", node, factor)
            positive(f"cluster.slow_nodes.{node}", factor)
        for k, window in enumerate(self.stragglers):
            self._check_window(f"cluster.stragglers[{k}]", window)
            positive(f"cluster.stragglers[{k}].factor", window.factor)
        for k, failure in enumerate(self.failures):
            self._check_window(f"cluster.failures[{k}]", failure)

    def _check_node(self, name: str, node: int, value: Any) -> None:
        if not 0 <= node < self.nodes:
            fail(name, value, f"a node index in 0..{self.nodes - 1}")

    def _check_window(self, name: str, window: StragglerWindow | FailureWindow) -> None:
        self._check_node(f"{name}.node", window.node, window.node)
        nonnegative(f"{name}.start", window.start)
        if not window.end > window.start:
            fail(f"{name}.end", window.end, f"a time after start = {window.start} (inf: the window never ends)")


@dataclass(frozen=True)
class NetworkConfig:
    """The physical network: a topology file, optionally with overridden figures."""

    topology: str = setting("star-10gbe", help="physical network: a shipped topology or a .toml file (see topologies/)")
    bandwidth: float | None = setting(None, help="each host NIC, each direction (default: the topology's)", unit="B/s")
    latency: float | None = setting(None, help="one-way host-to-host latency in a rack or site (default: the topology's)",
                                    unit="s")
    efficiency: float | None = setting(None, help="fraction of line rate every link reaches (default: the topology's)")
    wan_bandwidth: float | tuple[float, ...] | None = setting(
        None, help="each site's WAN uplink and downlink, one or one per site (sites topologies)", unit="B/s"
    )
    site_latency: float | tuple[tuple[float, ...], ...] | None = setting(
        None, help="one-way latency between sites added to latency: one for every pair, or the matrix", unit="s"
    )
    reduce_rate: float | None = setting(
        None, help="bytes per second a host adds a received message into its own in a collective (default: free)",
        unit="B/s",
    )
    connections: str = setting(
        "one-per-direction", help='"one-per-pair": both directions between two hosts share one connection, a message '
        "waiting for the one before it to have left (same way) or arrived (other way), as gloo's TCP transport; "
        "default: one per direction",
    )
    eager_limit: float | None = setting(
        None, help="messages up to this size are eager (a send completes at once), larger ones rendezvous (start when "
        "the receiver asks, complete on delivery); default: every message streams (starts at once, completes on "
        "delivery)", unit="B",
    )

    def __post_init__(self) -> None:
        from simsgp.sim.topology import SITE_FIGURES, available_topologies, site_overrides

        if not self.topology.endswith(".toml"):
            one_of("network.topology", self.topology, available_topologies())
        else:
            existing_file("network.topology", self.topology, f"an existing .toml file or one of {available_topologies()}")
        if self.bandwidth is not None:
            positive("network.bandwidth", self.bandwidth)
        if self.latency is not None:
            nonnegative("network.latency", self.latency)
        if self.efficiency is not None and not 0 < self.efficiency <= 1:
            fail("network.efficiency", self.efficiency, "a fraction in (0, 1]")
        if self.reduce_rate is not None:
            positive("network.reduce_rate", self.reduce_rate)
        one_of("network.connections", self.connections, ("one-per-direction", "one-per-pair"))
        if self.eager_limit is not None and not self.eager_limit >= 0:
            fail("network.eager_limit", self.eager_limit, "a number of bytes >= 0 (inf: every message eager)")
        try:
            site_overrides(self.topology, wan_bandwidth=self.wan_bandwidth, site_latency=self.site_latency)
        except TopologyError as exc:  # "site_latency=...: ..." names its key; a file that does not read names itself
            raise ScenarioError(f"network.{exc}" if str(exc).startswith(SITE_FIGURES) else f"network: {exc}") from None


@dataclass(frozen=True)
class AlgorithmConfig:
    """The training algorithm: its name, the SGD optimiser every algorithm uses, and its own parameters.

    ``params`` holds the algorithm's own keys as written (in TOML they sit
    in the same ``[algorithm]`` table): each algorithm declares them as a
    dataclass (see :class:`simsgp.algorithms.Algorithm`), and a key the
    chosen algorithm does not have is an error. :func:`resolve` fills in
    the defaults of the others, such as ``graph``, the algorithm's own
    communication graph for SGP, OSGP, D-PSGD and AD-PSGD.
    """

    name: str = setting("sgp", help="the training algorithm (see the algorithm.* keys of each)")
    lr: float = setting(0.1, help="SGD learning rate")
    momentum: float = setting(0.9, help="SGD momentum")
    weight_decay: float = setting(1e-4, help="SGD weight decay (L2)")
    nesterov: bool = setting(True, help="Nesterov momentum")
    params: Mapping[str, Any] = setting(factory=dict, help="the algorithm's own keys", rest=True)

    def __post_init__(self) -> None:
        positive("algorithm.lr", self.lr)
        unit_interval("algorithm.momentum", self.momentum)
        nonnegative("algorithm.weight_decay", self.weight_decay)
        object.__setattr__(self, "params", _own_params(algorithms.ALGORITHMS, "algorithm", self.name, self.params))

    @property
    def graph(self) -> str | None:
        """The communication graph named in ``params`` (None: not given, or an algorithm without one)."""
        return self.params.get("graph")


@dataclass(frozen=True)
class TaskConfig:
    """The learning problem, its own parameters, and the size of the messages the network carries.

    ``payload``: ``"task"`` (the task's parameters as float64), a named
    model's size or a number of bytes. ``params`` holds the task's own keys
    as written (``dim`` for the quadratic; ``batch_size``, ``partition``
    and ``dirichlet_alpha`` for the digits tasks, ``hidden`` for the MLP),
    validated against the chosen task as an algorithm's are.
    """

    name: str = setting("logistic-digits", help="the learning problem (see the task.* keys of each)")
    payload: str | float = setting("task", help='bytes per message: "task" (the model\'s own), a model (resnet50) or a size',
                                   unit="B")
    params: Mapping[str, Any] = setting(factory=dict, help="the task's own keys", rest=True)

    def __post_init__(self) -> None:
        # the task family: its modules load only when a scenario is validated
        from simsgp import tasks

        tasks.payload_bytes(self.payload, 1)
        object.__setattr__(self, "params", _own_params(tasks.TASKS, "task", self.name, self.params))


def _own_params(family: Registry[Any], table: str, name: str, written: Mapping[str, Any]) -> dict[str, Any]:
    """The keys ``written`` for member ``name`` of ``family``, checked, with their types converted (int to float)."""
    built = params_of(family, table, name, written)
    return {key: getattr(built, key) for key in written}


def params_of(family: Registry[Any], table: str, name: str, written: Mapping[str, Any]) -> Any:
    """The parameter dataclass of member ``name`` of ``family``, built from the keys ``written`` (defaults for the rest).

    A key the member does not have, a value of the wrong type and one that
    breaks the dataclass's own checks raise :class:`ScenarioError`.
    """
    member = family.get(name)
    if not isinstance(written, Mapping):
        fail(f"{table}.params", written, "a table of the parameters of " + f"{table}.name={name!r}")
    fields = [f.name for f in dataclasses.fields(member.params)]
    clash = sorted(set(fields) & set(_common_keys(table)))
    if clash:
        fail(f"{table}.name={name!r}: parameter", clash[0], f"a name other than the common keys {_common_keys(table)}")
    for key in written:
        if key not in fields:
            raise ScenarioError(_not_a_parameter(family, table, name, str(key), written[key], fields))
    return build(member.params, written, f"{table}.", context=f"{table}.name={name!r}")


def _not_a_parameter(family: Registry[Any], table: str, name: str, key: str, value: Any, fields: list[str]) -> str:
    """Why ``key`` is refused for ``name``: which members have it, or the keys it may be a typo of."""
    owners = [other for other, member in family.all().items() if key in {f.name for f in dataclasses.fields(member.params)}]
    if owners:
        return (
            f"{table}.{key}={shown(value)}: not a parameter of {table}.name={name!r}; "
            f"its parameters are {sorted(fields) or 'none beyond the common keys'}; {key} is a parameter of {owners}"
        )
    common = _common_keys(table)
    near = difflib.get_close_matches(key, [*common, *fields], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    return f"{table}.{key}: unknown key{hint} for {table}.name={name!r}; expected one of {sorted([*common, *fields])}"


def applies(scenario_key: str, data: Mapping[str, Any]) -> bool:
    """Whether the dotted ``scenario_key`` is a key of the scenario ``data`` (a nested mapping as written).

    A parameter of an algorithm or a task applies only when that algorithm
    or task is the one named; every other known key applies.

    Examples
    --------
    >>> applies("algorithm.tau", {"algorithm": {"name": "osgp"}}), applies("algorithm.tau", {})
    (True, False)
    """
    table, _, key = scenario_key.partition(".")
    if table not in _FAMILIES or "." in key:
        return True
    family, cls = _FAMILIES[table]
    if key in {f.name for f in dataclasses.fields(cls)}:
        return True
    name = data.get(table, {}).get("name", _default_name(cls))
    try:
        member = family().get(name)
    except ScenarioError:
        return True  # an unknown name: let validation say so
    return key in {f.name for f in dataclasses.fields(member.params)}


def _common_keys(table: str) -> list[str]:
    """The keys of ``[table]`` that every member takes (``name``, and the optimiser's for an algorithm)."""
    return [f.name for f in dataclasses.fields(_FAMILIES[table][1]) if f.name != "params"]


def _default_name(cls: type) -> str:
    return str(next(f.default for f in dataclasses.fields(cls) if f.name == "name"))


def _task_family() -> Registry[Any]:
    from simsgp import tasks

    return tasks.TASKS


_FAMILIES: dict[str, tuple[Any, type]] = {
    "algorithm": (lambda: algorithms.ALGORITHMS, AlgorithmConfig),
    "task": (_task_family, TaskConfig),
}


@dataclass(frozen=True)
class Scenario:
    """One simulated training run, as the user wrote it: everything needed to reproduce it bit for bit.

    Fields left ``None`` that a run derives (``eval_every``,
    ``algorithm.graph``, ``device``) are filled by :func:`resolve`, which the
    engine calls; a value the user wrote is kept, whatever else changes.

    ``eval_every``: evaluate every node's model on the full data each time all
    nodes have finished a multiple of this many iterations (0: never; default:
    about 20 points over the run). ``trace``: keep every message's send and
    arrival times in the result (for timelines). ``timing_only``: the same
    schedule, messages and iteration times with no learning math (losses are
    NaN); for sweeps over many nodes. ``analytic``: time synchronous
    algorithms (allreduce, localsgd, ps-sync) by recursion over their
    messages instead of one event per flow; same results, thousands of nodes.
    ``backend`` and ``device``: where the node math runs (see
    :mod:`simsgp.learn.backend`): ``"numpy"`` (default), ``"torch"`` or ``"cupy"``,
    on ``"cpu"`` or ``"cuda"`` (default: the backend's own, cuda for cupy).
    ``target_accuracy`` and ``target_loss``: the summary's
    ``time_to_target`` is the simulated time of the first evaluation at
    which the nodes' mean test accuracy reached the first and their mean
    training loss fell to the second (both, when both are given); with a
    target, evaluation defaults to about 200 points over the run (every
    iteration in shorter runs).
    """

    seed: int = setting(0, help="the one seed of every random draw (data, initial model, compute times, batches)")
    iterations: int | None = setting(200, help="iterations of every node (may be left out when time_limit is set)")
    time_limit: float | None = setting(None, help="stop at this simulated time (with iterations: whichever comes first)",
                                       unit="s")
    eval_every: int | None = setting(None, help="evaluate every so many iterations (0: never; default: ~20 points)")
    trace: bool = setting(False, help="keep every message's send and arrival times (for timelines)")
    timing_only: bool = setting(False, help="the same schedule without the learning math (losses are NaN)")
    analytic: bool = setting(False, help="time synchronous algorithms by recursion instead of events (same results)")
    backend: str = setting("numpy", help="where the node math runs: numpy, torch or cupy")
    device: str | None = setting(None, help="cpu or cuda (default: the backend's own)")
    target_accuracy: float | None = setting(None, help="time_to_target: when the mean test accuracy first reaches it")
    target_loss: float | None = setting(None, help="time_to_target: when the mean training loss first falls to it")
    cluster: ClusterConfig = setting(factory=ClusterConfig, help="the worker nodes")
    network: NetworkConfig = setting(factory=NetworkConfig, help="the physical network")
    algorithm: AlgorithmConfig = setting(factory=AlgorithmConfig, help="the training algorithm")
    task: TaskConfig = setting(factory=TaskConfig, help="the learning problem")

    def __post_init__(self) -> None:
        if self.seed < 0:
            fail("seed", self.seed, "an integer >= 0")
        if self.iterations is None and self.time_limit is None:
            fail("iterations", None, "a positive integer, or a time_limit in simulated seconds")
        if self.iterations is not None and self.iterations < 1:
            fail("iterations", self.iterations, "an integer >= 1")
        if self.time_limit is not None:
            positive("time_limit", self.time_limit)
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            fail("target_accuracy", self.target_accuracy, "a fraction in (0, 1]")
        if self.target_loss is not None and not math.isfinite(self.target_loss):
            fail("target_loss", self.target_loss, "a finite number")
        from simsgp.learn import backend as backends

        backends.check(self.backend, self.device)
        if self.analytic and not hasattr(algorithms.get(self.algorithm.name), "run_analytic"):
            fail(
                "analytic", True,
                f"false for algorithm.name={self.algorithm.name!r}; the analytic mode covers {algorithms.analytic_names()}",
            )
        if self.analytic and self.iterations is None:
            fail("analytic", True, "false with a time_limit and no iterations (time-limited runs need the event mode)")
        if self.analytic and self.network.connections != "one-per-direction":
            fail("analytic", True, f"false with network.connections={self.network.connections!r} (the analytic "
                 "recursions give each direction its own connection; one per pair needs the event mode)")
        if self.eval_every is not None and self.eval_every < 0:
            fail("eval_every", self.eval_every, "an integer >= 0 (0 turns evaluation off)")
        if self.has_target and (self.timing_only or self.eval_every == 0):
            key, value = ("timing_only", True) if self.timing_only else ("eval_every", 0)
            fail(key, value, "learning math and evaluations when target_accuracy or target_loss is set")

    @property
    def has_target(self) -> bool:
        """Whether a target accuracy or loss is set (the summary then has a time to it)."""
        return self.target_accuracy is not None or self.target_loss is not None



def build(cls: type, data: Mapping[str, Any], prefix: str, *, context: str = "") -> Any:
    """``cls`` (a dataclass) from the keys in ``data``, each checked against its type hint.

    A field marked ``metadata={"rest": True}`` takes the keys that are not
    fields (an algorithm's or a task's own parameters, checked by the
    class). ``context`` (a parameter dataclass of an algorithm or task)
    turns a ``ValueError`` or ``TypeError`` of its own checks into a
    :class:`ScenarioError` naming the table and member.
    """
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    rest = next((f.name for f in fields if f.metadata.get("rest")), None)
    names = [f.name for f in fields if f.name != rest]
    values: dict[str, Any] = {}
    others: dict[str, Any] = {}
    units = {f.name: f.metadata.get("unit") for f in fields}
    for key, value in data.items():
        if key in names:
            values[key] = _coerce(hints[key], value, f"{prefix}{key}", units[key])
        elif rest is not None:
            others[key] = value
        else:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            where = f" for {context}" if context else ""
            raise ScenarioError(f"{prefix}{key}: unknown key{hint}{where}; expected one of {sorted(names)}")
    required = [f.name for f in fields if f.default is f.default_factory is dataclasses.MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise ScenarioError(
            f"{prefix.rstrip('.')}: missing key {missing[0]!r}; a {_TABLE_NAMES.get(cls, cls.__name__)} needs {required}"
        )
    if rest is not None:
        values[rest] = others
    if not context:
        return cls(**values)
    try:
        return cls(**values)
    except ScenarioError:
        raise
    except (ValueError, TypeError) as exc:  # a user's parameter class checks with plain exceptions
        raise ScenarioError(f"{prefix.rstrip('.')} parameters of {context}: {exc}") from None


_TABLE_NAMES = {FailureWindow: "failure window", StragglerWindow: "straggler window"}


def _coerce(hint: Any, value: Any, name: str, unit: str | None = None) -> Any:
    """Check ``value`` against the type ``hint`` of field ``name``; convert int to float, a quantity to ``unit``.

    A field with a ``unit`` takes a string such as ``"10Gbps"`` for each of
    its numbers (see :mod:`simsgp.scenario.units`); a string that is not a
    quantity stays a string where the field takes one (a payload's model
    name) and is an error naming the units where it does not.
    """
    if unit is not None and isinstance(value, str) and (looks_like_quantity(value) or not _takes_strings(hint)):
        value = parse_quantity(value, unit, name)
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            fail(name, value, f"a table of keys from {[f.name for f in dataclasses.fields(hint)]}")
        return build(typing.cast(type, hint), value, f"{name}.")  # a dataclass hint is a class
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None) and _matches(option, value):
                return _coerce(option, value, name, unit)
        fail(name, value, " or ".join(_describe(o) for o in options if o is not type(None)))
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            fail(name, value, "an array of tables, such as [{ node = 3, ... }]")
        return tuple(_coerce(item_type, item, f"{name}[{k}]", unit) for k, item in enumerate(value))
    if origin is dict:
        key_type, value_type = typing.get_args(hint)
        if not isinstance(value, Mapping):
            fail(name, value, 'a table such as { "3" = 4.0 }')
        keys = _dict_keys(key_type, value, name)
        return {key: _coerce(value_type, v, f"{name}.{key}") for key, v in zip(keys, value.values())}
    if not _matches(hint, value):
        fail(name, value, _describe(hint))
    return float(value) if hint is float else value


def _takes_strings(hint: Any) -> bool:
    """Whether a field of type ``hint`` holds strings (``str``, or a union with it)."""
    return hint is str or str in typing.get_args(hint)


def _matches(hint: Any, value: Any) -> bool:
    if typing.get_origin(hint) is tuple:
        return isinstance(value, (list, tuple))
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and -_MAX_INT <= value <= _MAX_INT
    return isinstance(value, hint)


def _describe(hint: Any) -> str:
    names = {float: "a number", int: f"an integer of at most {_MAX_INT}", bool: "true or false", str: "a string"}
    return names.get(hint, str(hint))


def _dict_keys(key_type: type, table: Mapping[Any, Any], name: str) -> list[Any]:
    """The keys of ``table`` as ``key_type``; node keys must be canonical (``"3"``, not ``"03"``) and distinct."""
    if key_type is not int:
        return list(table)
    keys = []
    for key in table:
        text = str(key) if isinstance(key, int) and not isinstance(key, bool) else key
        if not (isinstance(text, str) and _NODE_KEY.fullmatch(text)):
            fail(f"{name} key", key, 'a node index written plainly, such as "3" (no sign, spaces or leading zeros)')
        keys.append(int(text))
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        fail(f"{name} key", repeated[0], "each node at most once")
    return keys


_NODE_KEY = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)


