"""Scenarios: TOML files and plain dicts validated once into frozen dataclasses.

A scenario names the cluster, the physical network, the algorithm with its
communication graph, the learning task, how long to run and the seed.
Every error names the dotted field, the bad value and what is allowed;
unknown keys are rejected with the allowed ones listed.

Examples
--------
>>> s = from_dict({"cluster": {"nodes": 4}, "algorithm": {"name": "allreduce"}})
>>> s.cluster.nodes, s.algorithm.name, s.iterations
(4, 'allreduce', 200)
>>> apply_overrides(s, ["network.latency=1e-3"]).network.latency
0.001
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import sys
import types
import typing
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Union

from simsgp import backend as backends
from simsgp.algorithms import ALGORITHMS, with_graph
from simsgp.cluster import COMPUTE_MODELS
from simsgp.collectives import COLLECTIVES
from simsgp.errors import ScenarioError, shown
from simsgp.graphs import GRAPHS
from simsgp.tasks import PARTITIONS, PAYLOADS, TASKS
from simsgp.topology import available_topologies, topology_path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

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
    "apply_overrides",
    "from_dict",
    "input_files",
    "load",
    "loads",
    "parse_toml",
    "presets",
    "read_text",
    "resolve",
    "to_dict",
]


def _fail(name: str, value: Any, allowed: str) -> typing.NoReturn:
    raise ScenarioError(f"{name}={shown(value)}; expected {allowed}")


_MAX_INT = 2**63 - 1
"""Largest integer a scenario takes (numpy's int64); larger ones would overflow the run's arrays."""
_MAX_CV = 1000.0
"""Largest lognormal coefficient of variation: past it nearly every draw is ~0 and a rare one is astronomically large."""


def _file(name: str, path: str, allowed: str) -> None:
    """Fail unless ``path`` names an existing file (an empty or unusable path names the field too)."""
    try:
        exists = bool(path) and Path(path).is_file()
    except (OSError, ValueError) as exc:  # too long a name, a NUL byte
        _fail(name, path, f"{allowed} ({exc.strerror if isinstance(exc, OSError) else exc})")
    if not exists:
        _fail(name, path, allowed)


def _positive(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        _fail(name, value, "a positive finite number")


def _nonnegative(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        _fail(name, value, "a finite number >= 0")


def _one_of(name: str, value: str, allowed: Iterable[str]) -> None:
    allowed = sorted(allowed)
    if value not in allowed:
        _fail(name, value, f"one of {allowed}")


@dataclass(frozen=True)
class ComputeConfig:
    """Compute time per iteration (forward + backward) of a node with multiplier 1.

    ``model = "trace"`` replays a measured CSV (``path``): one row per
    iteration, one column per node, seconds; rows repeat when the run is longer.
    """

    model: str = "constant"
    mean: float = 0.1
    cv: float = 0.0
    path: str | None = None

    def __post_init__(self) -> None:
        _one_of("cluster.compute.model", self.model, COMPUTE_MODELS)
        _positive("cluster.compute.mean", self.mean)
        if not 0 <= self.cv <= _MAX_CV:
            _fail("cluster.compute.cv", self.cv, f"a coefficient of variation in [0, {_MAX_CV:g}]")
        if self.model == "trace":
            _file("cluster.compute.path", self.path or "", "an existing CSV file when cluster.compute.model = 'trace'")


@dataclass(frozen=True)
class StragglerWindow:
    """Node ``node`` computes ``factor`` times slower from ``start`` to ``end`` (simulated seconds)."""

    node: int
    factor: float
    start: float
    end: float


@dataclass(frozen=True)
class FailureWindow:
    """Node ``node`` is down from ``start`` to ``end`` and then rejoins with its state."""

    node: int
    start: float
    end: float


@dataclass(frozen=True)
class TransientConfig:
    """Each iteration a node is slowed with ``probability`` by a factor uniform in [low, high]."""

    probability: float = 0.0
    low: float = 2.0
    high: float = 4.0

    def __post_init__(self) -> None:
        if not 0 <= self.probability <= 1:
            _fail("cluster.transient.probability", self.probability, "a probability in [0, 1]")
        _positive("cluster.transient.high", self.high)
        if not 1 <= self.low <= self.high:
            _fail("cluster.transient.low", self.low, f"a factor with 1 <= low <= high (high = {self.high})")


@dataclass(frozen=True)
class ClusterConfig:
    """The worker nodes: how many, how fast, which are slow, and when."""

    nodes: int = 8
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    slow_nodes: dict[int, float] = field(default_factory=dict)
    stragglers: tuple[StragglerWindow, ...] = ()
    transient: TransientConfig = field(default_factory=TransientConfig)
    failures: tuple[FailureWindow, ...] = ()

    def __post_init__(self) -> None:
        if self.nodes < 2:
            _fail("cluster.nodes", self.nodes, "an integer >= 2")
        for node, factor in self.slow_nodes.items():
            self._check_node(f"cluster.slow_nodes.{node}", node, factor)
            _positive(f"cluster.slow_nodes.{node}", factor)
        for k, window in enumerate(self.stragglers):
            self._check_window(f"cluster.stragglers[{k}]", window)
            _positive(f"cluster.stragglers[{k}].factor", window.factor)
        for k, failure in enumerate(self.failures):
            self._check_window(f"cluster.failures[{k}]", failure)

    def _check_node(self, name: str, node: int, value: Any) -> None:
        if not 0 <= node < self.nodes:
            _fail(name, value, f"a node index in 0..{self.nodes - 1}")

    def _check_window(self, name: str, window: StragglerWindow | FailureWindow) -> None:
        self._check_node(f"{name}.node", window.node, window.node)
        _nonnegative(f"{name}.start", window.start)
        if not window.end > window.start:
            _fail(f"{name}.end", window.end, f"a time after start = {window.start} (inf: the window never ends)")


@dataclass(frozen=True)
class NetworkConfig:
    """The physical network: a topology file, optionally with overridden figures."""

    topology: str = "star-10gbe"
    bandwidth: float | None = None
    latency: float | None = None
    efficiency: float | None = None

    def __post_init__(self) -> None:
        if not self.topology.endswith(".toml"):
            _one_of("network.topology", self.topology, available_topologies())
        else:
            _file("network.topology", self.topology, f"an existing .toml file or one of {available_topologies()}")
        if self.bandwidth is not None:
            _positive("network.bandwidth", self.bandwidth)
        if self.latency is not None:
            _nonnegative("network.latency", self.latency)
        if self.efficiency is not None and not 0 < self.efficiency <= 1:
            _fail("network.efficiency", self.efficiency, "a fraction in (0, 1]")


@dataclass(frozen=True)
class AlgorithmConfig:
    """The training algorithm, its communication graph and optimiser.

    ``graph`` defaults to the algorithm's own (``dynamic-directed-exponential``
    for SGP and OSGP, ``dynamic-bipartite-exponential`` for D-PSGD and
    AD-PSGD). ``tau`` is OSGP's ``synch_freq``; ``servers`` the parameter
    servers on top of the workers; ``dc_*`` DC-ASGD's compensation;
    ``local_steps`` Local SGD's H; ``collective``, ``overlap``,
    ``bucket_bytes`` and ``backward_fraction`` shape allreduce.
    """

    name: str = "sgp"
    graph: str | None = None
    peers_per_itr: int = 1
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 1e-4
    nesterov: bool = True
    tau: int = 0
    servers: int = 1
    dc_lambda: float = 0.04
    dc_adaptive: bool = False
    dc_momentum: float = 0.95
    local_steps: int = 4
    collective: str = "ring"
    overlap: bool = False
    bucket_bytes: float = float(25 * 2**20)
    backward_fraction: float = 2 / 3

    def __post_init__(self) -> None:
        _one_of("algorithm.name", self.name, ALGORITHMS)
        if self.graph is not None:
            _one_of("algorithm.graph", self.graph, GRAPHS)
            if ALGORITHMS[self.name].DEFAULT_GRAPH is None:
                _fail(
                    "algorithm.graph", self.graph,
                    f"no graph for algorithm.name={self.name!r}, which has no communication graph "
                    f"(graphs go with {with_graph()})",
                )
        if self.peers_per_itr < 1:
            _fail("algorithm.peers_per_itr", self.peers_per_itr, "an integer >= 1")
        _positive("algorithm.lr", self.lr)
        if not 0 <= self.momentum < 1:
            _fail("algorithm.momentum", self.momentum, "a number in [0, 1)")
        _nonnegative("algorithm.weight_decay", self.weight_decay)
        if self.tau < 0:
            _fail("algorithm.tau", self.tau, "an integer >= 0")
        if self.servers < 1:
            _fail("algorithm.servers", self.servers, "an integer >= 1")
        _nonnegative("algorithm.dc_lambda", self.dc_lambda)
        if not 0 <= self.dc_momentum < 1:
            _fail("algorithm.dc_momentum", self.dc_momentum, "a number in [0, 1)")
        if self.local_steps < 1:
            _fail("algorithm.local_steps", self.local_steps, "an integer >= 1")
        _one_of("algorithm.collective", self.collective, COLLECTIVES)
        _positive("algorithm.bucket_bytes", self.bucket_bytes)
        if not 0 < self.backward_fraction <= 1:
            _fail("algorithm.backward_fraction", self.backward_fraction, "a fraction in (0, 1]")


@dataclass(frozen=True)
class TaskConfig:
    """The learning problem and the size of the messages the network carries."""

    name: str = "logistic-digits"
    batch_size: int = 32
    payload: str | float = "task"
    dim: int = 10
    noise: float = 0.0
    heterogeneity: float = 1.0
    hidden: int = 32
    partition: str = "iid"
    dirichlet_alpha: float = 0.5

    def __post_init__(self) -> None:
        _one_of("task.name", self.name, TASKS)
        _one_of("task.partition", self.partition, PARTITIONS)
        _positive("task.dirichlet_alpha", self.dirichlet_alpha)
        if self.hidden < 1:
            _fail("task.hidden", self.hidden, "an integer >= 1")
        if self.batch_size < 1:
            _fail("task.batch_size", self.batch_size, "an integer >= 1")
        if isinstance(self.payload, str):
            _one_of("task.payload", self.payload, ["task", *PAYLOADS])
        else:
            _positive("task.payload", self.payload)
        if self.dim < 1:
            _fail("task.dim", self.dim, "an integer >= 1")
        _nonnegative("task.noise", self.noise)
        _nonnegative("task.heterogeneity", self.heterogeneity)


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
    :mod:`simsgp.backend`): ``"numpy"`` (default), ``"torch"`` or ``"cupy"``,
    on ``"cpu"`` or ``"cuda"`` (default: the backend's own, cuda for cupy).
    ``target_accuracy`` and ``target_loss``: the summary's
    ``time_to_target`` is the simulated time of the first evaluation at
    which the nodes' mean test accuracy reached the first and their mean
    training loss fell to the second (both, when both are given); with a
    target, evaluation defaults to about 200 points over the run (every
    iteration in shorter runs).
    """

    seed: int = 0
    iterations: int | None = 200
    time_limit: float | None = None
    eval_every: int | None = None
    trace: bool = False
    timing_only: bool = False
    analytic: bool = False
    backend: str = "numpy"
    device: str | None = None
    target_accuracy: float | None = None
    target_loss: float | None = None
    cluster: ClusterConfig = field(default_factory=ClusterConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    algorithm: AlgorithmConfig = field(default_factory=AlgorithmConfig)
    task: TaskConfig = field(default_factory=TaskConfig)

    def __post_init__(self) -> None:
        if self.seed < 0:
            _fail("seed", self.seed, "an integer >= 0")
        if self.iterations is None and self.time_limit is None:
            _fail("iterations", None, "a positive integer, or a time_limit in simulated seconds")
        if self.iterations is not None and self.iterations < 1:
            _fail("iterations", self.iterations, "an integer >= 1")
        if self.time_limit is not None:
            _positive("time_limit", self.time_limit)
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            _fail("target_accuracy", self.target_accuracy, "a fraction in (0, 1]")
        if self.target_loss is not None and not math.isfinite(self.target_loss):
            _fail("target_loss", self.target_loss, "a finite number")
        backends.check(self.backend, self.device)
        if self.analytic and not hasattr(ALGORITHMS[self.algorithm.name], "run_analytic"):
            analytic = sorted(name for name, module in ALGORITHMS.items() if hasattr(module, "run_analytic"))
            _fail("analytic", True, f"false for algorithm.name={self.algorithm.name!r}; the analytic mode covers {analytic}")
        if self.eval_every is not None and self.eval_every < 0:
            _fail("eval_every", self.eval_every, "an integer >= 0 (0 turns evaluation off)")
        if self.has_target and (self.timing_only or self.eval_every == 0):
            key, value = ("timing_only", True) if self.timing_only else ("eval_every", 0)
            _fail(key, value, "learning math and evaluations when target_accuracy or target_loss is set")

    @property
    def has_target(self) -> bool:
        """Whether a target accuracy or loss is set (the summary then has a time to it)."""
        return self.target_accuracy is not None or self.target_loss is not None


def resolve(scenario: Scenario) -> Scenario:
    """The scenario with every value a run derives filled in: what the engine, the result and sweep keys use.

    A :class:`Scenario` holds what the user wrote (``None``: not given);
    resolving fills ``eval_every`` (about 20 evaluation points over the run,
    200 with a target, none in a timing-only run), ``algorithm.graph`` (the
    algorithm's own, for one with a graph) and ``device`` (the backend's
    default). A value the user gave is kept. Resolving twice changes nothing.

    Examples
    --------
    >>> written = from_dict({"iterations": 1000, "algorithm": {"name": "dpsgd"}})
    >>> written.eval_every, written.algorithm.graph
    (None, None)
    >>> resolved = resolve(written)
    >>> resolved.eval_every, resolved.algorithm.graph, resolved.device
    (50, 'dynamic-bipartite-exponential', 'cpu')
    >>> resolve(resolved) == resolved
    True
    """
    graph = scenario.algorithm.graph
    if graph is None:
        graph = ALGORITHMS[scenario.algorithm.name].DEFAULT_GRAPH
    return dataclasses.replace(
        scenario,
        eval_every=_default_eval_every(scenario) if scenario.eval_every is None else scenario.eval_every,
        device=backends.check(scenario.backend, scenario.device),
        algorithm=dataclasses.replace(scenario.algorithm, graph=graph),
    )


def input_files(scenario: Scenario) -> dict[str, Path]:
    """The files a run of ``scenario`` reads, by the field that names them.

    A result depends on these files' contents as much as on the scenario:
    the physical network (a shipped topology included) and a compute trace.

    Examples
    --------
    >>> sorted(input_files(Scenario()))
    ['network.topology']
    """
    files = {"network.topology": topology_path(scenario.network.topology)}
    if scenario.cluster.compute.model == "trace" and scenario.cluster.compute.path is not None:
        files["cluster.compute.path"] = Path(scenario.cluster.compute.path)
    return files


# --- dict <-> dataclass ---------------------------------------------------------


def from_dict(data: Mapping[str, Any]) -> Scenario:
    """Validate a nested mapping (as parsed from TOML) into a :class:`Scenario`.

    Missing keys take their defaults; unknown keys, wrong types and bad values
    raise :class:`ScenarioError` naming the dotted field.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"a scenario is a table of keys; got {type(data).__name__}")
    if "time_limit" in data and "iterations" not in data:
        data = {**data, "iterations": None}
    return _build(Scenario, data, "")


def _build(cls: type, data: Mapping[str, Any], prefix: str) -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in names:
            near = difflib.get_close_matches(str(key), names, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ScenarioError(f"{prefix}{key}: unknown key{hint}; expected one of {sorted(names)}")
    required = [f.name for f in dataclasses.fields(cls) if f.default is f.default_factory is dataclasses.MISSING]
    missing = [key for key in required if key not in data]
    if missing:
        raise ScenarioError(
            f"{prefix.rstrip('.')}: missing key {missing[0]!r}; a {_TABLE_NAMES.get(cls, cls.__name__)} needs {required}"
        )
    values = {key: _coerce(hints[key], value, f"{prefix}{key}") for key, value in data.items()}
    return cls(**values)


_TABLE_NAMES = {FailureWindow: "failure window", StragglerWindow: "straggler window"}


def _coerce(hint: Any, value: Any, name: str) -> Any:
    """Check ``value`` against the type ``hint`` of field ``name``; convert int to float."""
    if dataclasses.is_dataclass(hint):
        if not isinstance(value, Mapping):
            _fail(name, value, f"a table of keys from {[f.name for f in dataclasses.fields(hint)]}")
        return _build(typing.cast(type, hint), value, f"{name}.")  # a dataclass hint is a class
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        for option in options:
            if option is not type(None) and _matches(option, value):
                return _coerce(option, value, name)
        _fail(name, value, " or ".join(_describe(o) for o in options if o is not type(None)))
    if origin is tuple:
        item_type = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            _fail(name, value, "an array of tables, such as [{ node = 3, ... }]")
        return tuple(_coerce(item_type, item, f"{name}[{k}]") for k, item in enumerate(value))
    if origin is dict:
        key_type, value_type = typing.get_args(hint)
        if not isinstance(value, Mapping):
            _fail(name, value, 'a table such as { "3" = 4.0 }')
        keys = _dict_keys(key_type, value, name)
        return {key: _coerce(value_type, v, f"{name}.{key}") for key, v in zip(keys, value.values())}
    if not _matches(hint, value):
        _fail(name, value, _describe(hint))
    return float(value) if hint is float else value


def _matches(hint: Any, value: Any) -> bool:
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
            _fail(f"{name} key", key, 'a node index written plainly, such as "3" (no sign, spaces or leading zeros)')
        keys.append(int(text))
    repeated = sorted({k for k in keys if keys.count(k) > 1})
    if repeated:
        _fail(f"{name} key", repeated[0], "each node at most once")
    return keys


_NODE_KEY = re.compile(r"0|[1-9][0-9]{0,18}", re.ASCII)


def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data (TOML/JSON-ready, every default filled in).

    Examples
    --------
    >>> to_dict(Scenario())["cluster"]["compute"]
    {'model': 'constant', 'mean': 0.1, 'cv': 0.0, 'path': None}
    """
    data = dataclasses.asdict(scenario)
    data["cluster"]["slow_nodes"] = {str(k): v for k, v in scenario.cluster.slow_nodes.items()}
    return data


# --- files, presets and overrides -------------------------------------------------


def presets() -> dict[str, str]:
    """Named scenarios shipped with simsgp, each with its one-line description.

    Examples
    --------
    >>> "default" in presets()
    True
    """
    folder = resources.files("simsgp") / "scenarios"
    return {
        entry.name.removesuffix(".toml"): _first_comment(entry.read_text())
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def _first_comment(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def loads(text: str, *, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text."""
    return from_dict(parse_toml(text, source))


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML ``text`` as a dict; any way it fails to parse is a one-line :class:`ScenarioError` naming ``source``.

    Examples
    --------
    >>> parse_toml("x = " + "[" * 5000 + "]" * 5000, "deep.toml")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: deep.toml does not parse as TOML: arrays or tables nested too deeply
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source} does not parse as TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source} does not parse as TOML: arrays or tables nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal past Python's 4300-digit conversion limit
        raise ScenarioError(f"{source} does not parse as TOML: {exc}") from None


def read_text(path: Path, name: str) -> str:
    """The UTF-8 text of file ``path`` (a leading byte-order mark dropped); errors name ``name``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".toml", delete=False) as f:
    ...     _ = f.write("\\ufeffseed = 1\\n".encode("utf-8"))
    >>> read_text(Path(f.name), "scenario")
    'seed = 1\\n'
    >>> _ = open(f.name, "wb").write("seed = 1".encode("utf-16"))
    >>> read_text(Path(f.name), "scenario")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: scenario ...: not UTF-8 text (byte 0xff at offset 0); expected a UTF-8 TOML file
    >>> os.remove(f.name)
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{name} {shown(str(path))}: cannot read it ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{name} {shown(str(path))}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            f"expected a UTF-8 {path.suffix.lstrip('.').upper() or 'text'} file"
        ) from None


def load(source: str | Path | None = None) -> Scenario:
    """Load a preset by name (``"default"`` when ``None``) or a TOML file by path.

    Examples
    --------
    >>> load().algorithm.name
    'sgp'
    """
    source = "default" if source is None else source
    if str(source) in presets():
        text = (resources.files("simsgp") / "scenarios" / f"{source}.toml").read_text()
        return loads(text, source=f"preset {source!r}")
    try:
        exists = bool(str(source)) and Path(source).is_file()
    except (OSError, ValueError):  # too long a name, a NUL byte
        exists = False
    if not exists:
        raise ScenarioError(
            f"scenario {shown(str(source))}: no such file; expected a .toml path or a preset from {sorted(presets())}"
        )
    return loads(read_text(Path(source), "scenario"), source=str(source))


def apply_overrides(scenario: Scenario, assignments: Iterable[str]) -> Scenario:
    """Apply ``--set`` style ``dotted.key=value`` assignments (values are TOML literals).

    A value that is not a TOML literal is taken as a plain string, so
    ``algorithm.name=allreduce`` works without quotes.
    """
    data = to_dict(scenario)
    keys = []
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {assignment!r}; expected key=value, such as cluster.nodes=16")
        *parents, leaf = key.split(".")
        table = data
        for i, part in enumerate(parents):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ScenarioError(f"{'.'.join(parents[: i + 1])} is a value, not a table; cannot set {key}")
        if key in keys:
            warnings.warn(f"--set {key} is given more than once; the last value, {shown(raw.strip())}, is used", stacklevel=2)
        table[leaf] = _parse_literal(raw.strip())
        keys.append(key)
    if "time_limit" in keys and "iterations" not in keys:
        data["iterations"] = None
    return from_dict(data)


def _default_eval_every(scenario: Scenario) -> int:
    """About 20 evaluation points over the run, 200 with a target; none without learning math."""
    if scenario.timing_only:
        return 0
    points = 200 if scenario.has_target else 20
    return max(1, (scenario.iterations or 200) // points)


def _parse_literal(raw: str) -> Any:
    try:
        return parse_toml(f"v = {raw}", "value")["v"]
    except ScenarioError:
        return raw
