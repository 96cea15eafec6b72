"""The user's own task and communication graph, checked and made ready for a run.

:func:`simsgp.run` takes them beside the scenario (``task=``, ``graph=``;
``compute=`` goes to :class:`simsgp.sim.cluster.ComputeTimes`). What the engine
asks of a task is the :class:`simsgp.Task` protocol; a graph is a networkx
``DiGraph``, a list of them cycled per iteration, or a
:class:`simsgp.graphs.GraphSchedule`. Each is checked before the first event
and described in the result (``Result.custom``), since a scenario file
cannot name it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import networkx as nx
import numpy as np

from simsgp import graphs
from simsgp.errors import GraphError, ScenarioError, shown

__all__ = ["describe_graph", "describe_task", "schedule_of", "user_task"]

_REQUIRED = ("dim", "init_params", "sample_batch", "grad", "loss_many", "accuracy_many")
"""What a user task must have: the members of :class:`simsgp.Task` (its optional ones aside)."""


def user_task(task: Any, n_nodes: int, rng: np.random.Generator) -> Any:
    """``task`` checked against :class:`simsgp.Task` and, if it can shard, sharded over ``n_nodes``.

    Raises
    ------
    ScenarioError
        A missing member, a ``dim`` that is not a positive integer, or a
        sharded task for another number of nodes.

    Examples
    --------
    >>> user_task(object(), 4, np.random.default_rng(0))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: task=<object object at ...>: it has no dim; expected an object with dim, init_params, sample_batch, grad, loss_many, accuracy_many
    """
    _check_members(task)
    if callable(getattr(task, "shard", None)):
        task = task.shard(n_nodes, rng)
        _check_members(task)
    count = getattr(task, "n_nodes", n_nodes)
    if count != n_nodes:
        raise ScenarioError(f"task is split across {shown(count)} nodes; expected cluster.nodes = {n_nodes}")
    dim = task.dim
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ScenarioError(f"task.dim={shown(dim)}; expected a positive integer (the number of parameters)")
    return task


def _check_members(task: Any) -> None:
    missing = [name for name in _REQUIRED if not hasattr(task, name)]
    if missing:
        raise ScenarioError(
            f"task={_short(task)}: it has no {missing[0]}; expected an object with {', '.join(_REQUIRED)}"
        )


def describe_task(task: Any) -> str:
    """One line naming a user task, for the result: ``"TorchTask 'cnn', 1234 parameters"``.

    Examples
    --------
    >>> class Mine:
    ...     dim = 3
    >>> describe_task(Mine())
    'Mine, 3 parameters'
    """
    name = getattr(task, "name", None)
    label = f"{type(task).__name__} {name!r}" if isinstance(name, str) else type(task).__name__
    return f"{label}, {task.dim} parameters"


def schedule_of(graph: Any, n_nodes: int) -> graphs.GraphSchedule:
    """A user's graph as a schedule for ``n_nodes`` nodes (not yet checked for mixing).

    Raises
    ------
    ScenarioError
        Not a DiGraph, a sequence of them or a GraphSchedule; a bad graph;
        or another number of nodes.

    Examples
    --------
    >>> schedule_of(nx.DiGraph([(0, 1), (1, 0)]), 2).out_peers(0)
    [[1], [0]]
    """
    if isinstance(graph, graphs.GraphSchedule):
        schedule = graph
    elif isinstance(graph, nx.Graph) or (isinstance(graph, Sequence) and not isinstance(graph, (str, bytes))):
        try:
            schedule = graphs.from_digraph(graph, name="custom")
        except GraphError as exc:
            raise ScenarioError(f"graph: {exc}") from None
    else:
        raise ScenarioError(
            f"graph={_short(graph)}; expected a networkx DiGraph, a list of them or a simsgp.graphs.GraphSchedule"
        )
    if schedule.n != n_nodes:
        raise ScenarioError(f"graph has {schedule.n} nodes; expected cluster.nodes = {n_nodes}")
    return schedule


def describe_graph(schedule: graphs.GraphSchedule) -> str:
    """One line naming a user's schedule: its name, nodes, period and messages per period.

    Examples
    --------
    >>> describe_graph(schedule_of(nx.DiGraph([(0, 1), (1, 0), (0, 2), (2, 0)]), 3))
    "'custom', 3 nodes, period 1, 4 messages per period"
    """
    messages = sum(len(peers) for t in range(schedule.period) for peers in schedule.out_peers(t))
    return f"{schedule.name!r}, {schedule.n} nodes, period {schedule.period}, {messages} messages per period"


def _short(value: Any) -> str:
    return shown(value) if isinstance(value, (str, int, float, list, tuple, dict)) else repr(value)[:80]
