"""What an algorithm is to simsgp: the :class:`Algorithm` protocol, its parameters and :func:`register`.

An algorithm is one class in one file: a name, a frozen dataclass of its own
parameters (``algorithm.<key>`` in a scenario, validated against it) and a
``start`` method that starts its SimPy processes on a :class:`simsgp.sim.world.Run`.
Its processes only schedule; the math they call lives in pure functions
(:mod:`simsgp.learn.pushsum`, :mod:`simsgp.learn.optim`, the task). Registering it, from
any module, makes it a valid ``algorithm.name``:

>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Params:
...     rounds: int = 1
>>> @register
... class Idle:
...     '''Computes and never communicates.'''
...     name = "idle-example"
...     params = Params
...     def start(self, run, params):
...         pass
>>> get("idle-example").params().rounds
1

Parameters common to every algorithm (the SGD optimiser: ``lr``,
``momentum``, ``weight_decay``, ``nesterov``) belong to the scenario's
``[algorithm]`` table itself. An algorithm with a communication graph has a
``graph`` parameter (subclass :class:`GraphParams`, its default the
algorithm's own graph); one with parameter servers on top of the workers
subclasses :class:`ServerParams`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol, TypeVar

from simsgp.checks import at_least, one_of
from simsgp.fields import setting
from simsgp.registry import Registry

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "GraphParams",
    "NoParams",
    "ServerParams",
    "analytic_names",
    "default_graph",
    "get",
    "has_graph",
    "names",
    "register",
    "servers",
    "with_graph",
]


class Algorithm(Protocol):
    """A training algorithm: what :func:`register` takes.

    Attributes
    ----------
    name : str
        Its ``algorithm.name``.
    params : type
        A frozen dataclass of its own parameters, every field with a default;
        its ``__post_init__`` checks them (raise
        :class:`simsgp.ScenarioError`, or ``ValueError`` / ``TypeError``,
        which the scenario reports with the algorithm's name).

    Methods
    -------
    start(run, params)
        Start its SimPy processes on ``run`` (a :class:`simsgp.sim.world.Run`;
        a :class:`simsgp.sim.world.GossipRun`, with ``graph``, when ``params``
        has a graph). ``params`` is an instance of ``params``.

    An algorithm may also define ``run_analytic(run, params)`` (time the
    run by recursion instead of events: ``analytic = true``),
    ``check_graph(schedule)`` (refuse a graph it cannot use, raising
    :class:`simsgp.GraphError`), ``messages_per_iteration(params, nodes,
    nbytes)`` (for the run's size estimate; default: one message per
    out-peer, or two per server), ``weight_unmixed(run)`` (push-sum
    weight left in messages never added, so that every run checks that
    mass is conserved) and ``staleness`` (what the staleness it records
    counts, for the axis of its histogram; default "iterations behind").
    """

    name: ClassVar[str]
    params: ClassVar[type]

    def start(self, run: Any, params: Any) -> None:
        """Start the algorithm's processes on ``run``."""


@dataclass(frozen=True)
class NoParams:
    """No parameters beyond the optimiser's."""


@dataclass(frozen=True)
class GraphParams:
    """The communication graph of a gossip algorithm.

    ``graph``: one of :data:`simsgp.graphs.GRAPHS` (a subclass sets the
    algorithm's own as the default); ``peers_per_itr``: out-peers per
    iteration in the dynamic graphs.
    """

    graph: str = setting("dynamic-directed-exponential", help="communication graph (see `simsgp graphs NAME`)")
    peers_per_itr: int = setting(1, help="peers a node sends to per iteration (the official code's peers_per_itr)")

    def __post_init__(self) -> None:
        # the graph family, imported only when a scenario names a graph
        from simsgp.graphs import GRAPHS

        one_of("algorithm.graph", self.graph, GRAPHS)
        at_least("algorithm.peers_per_itr", self.peers_per_itr, 1)


@dataclass(frozen=True)
class ServerParams:
    """``servers``: parameter-server hosts on top of the workers."""

    servers: int = setting(1, help="parameter-server hosts beside the workers (the model is sharded over them)")

    def __post_init__(self) -> None:
        at_least("algorithm.servers", self.servers, 1)


ALGORITHMS: Registry[Any] = Registry(
    "algorithm.name",
    {
        name: f"simsgp.algorithms.{name.replace('-', '_')}"
        for name in ("sgp", "osgp", "allreduce", "dpsgd", "adpsgd", "localsgd", "ps-sync", "ps-async", "dcasgd")
    },
)
"""Every algorithm by ``algorithm.name``; the built-ins are imported when first asked for."""

A = TypeVar("A")


def register(algorithm: A, *, replace: bool = False) -> A:
    """Make ``algorithm`` (a class, instantiated without arguments, or an instance) a valid ``algorithm.name``.

    Use it as a class decorator. The algorithm is checked against
    :class:`Algorithm`: a name, a parameter dataclass whose fields all have
    defaults, and ``start``. ``replace=True`` replaces an algorithm of the
    same name. Returns ``algorithm`` unchanged.
    """
    ALGORITHMS.register(algorithm, method="start", replace=replace)
    return algorithm


def get(name: str) -> Any:
    """The registered algorithm called ``name`` (see :class:`Algorithm`)."""
    return ALGORITHMS.get(name)


def names() -> list[str]:
    """Every algorithm's name, sorted."""
    return ALGORITHMS.names()


def has_graph(name: str) -> bool:
    """Whether algorithm ``name`` has a communication graph (its parameters include ``graph``)."""
    return "graph" in {f.name for f in dataclasses.fields(get(name).params)}


def default_graph(name: str) -> str | None:
    """The graph algorithm ``name`` uses unless the scenario names another; None without a graph."""
    return get(name).params().graph if has_graph(name) else None


def servers(params: Any) -> int:
    """Parameter-server hosts the algorithm with ``params`` adds to the workers."""
    return params.servers if isinstance(params, ServerParams) else 0


def with_graph() -> list[str]:
    """The names of the algorithms that have a communication graph, sorted."""
    return [name for name in names() if has_graph(name)]


def analytic_names() -> list[str]:
    """The algorithms that have an analytic mode (``run_analytic``), sorted."""
    return [name for name, member in ALGORITHMS.all().items() if hasattr(member, "run_analytic")]
