"""Resolution: the scenario a run uses, every value it derives filled in.

The engine, the result and sweep keys read only resolved scenarios; a
:class:`~simsgp.scenario.schema.Scenario` itself keeps what the user wrote.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from simsgp import algorithms
from simsgp.errors import ScenarioError, TopologyError
from simsgp.scenario.schema import NetworkConfig, Scenario, params_of

__all__ = ["algorithm_params", "input_files", "resolve", "task_params"]


def algorithm_params(scenario: Scenario) -> Any:
    """The chosen algorithm's parameter dataclass, from ``scenario`` (the defaults for keys not written).

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> algorithm_params(from_dict({"algorithm": {"name": "osgp", "tau": 2}}))
    OSGPParams(graph='dynamic-directed-exponential', peers_per_itr=1, tau=2)
    """
    return params_of(algorithms.ALGORITHMS, "algorithm", scenario.algorithm.name, scenario.algorithm.params)


def task_params(scenario: Scenario) -> Any:
    """The chosen task's parameter dataclass, from ``scenario`` (the defaults for keys not written)."""
    from simsgp import tasks

    return params_of(tasks.TASKS, "task", scenario.task.name, scenario.task.params)



def resolve(scenario: Scenario) -> Scenario:
    """The scenario with every value a run derives filled in: what the engine, the result and sweep keys use.

    A :class:`Scenario` holds what the user wrote (``None``: not given);
    resolving fills ``eval_every`` (about 20 evaluation points over the run,
    200 with a target, none in a timing-only run), every parameter of the
    chosen algorithm and task (``algorithm.graph``: the algorithm's own, for
    one with a graph), ``device`` (the backend's default) and the network's
    ``bandwidth``, ``latency`` and ``efficiency`` (the topology file's, where
    the scenario does not override them). A value the user gave is kept.
    Resolving twice changes nothing.

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> written = from_dict({"iterations": 1000, "algorithm": {"name": "dpsgd"}})
    >>> written.eval_every, written.algorithm.graph
    (None, None)
    >>> resolved = resolve(written)
    >>> resolved.eval_every, resolved.algorithm.graph, resolved.device
    (50, 'dynamic-bipartite-exponential', 'cpu')
    >>> resolved.network.bandwidth, resolved.network.latency
    (1250000000.0, 2e-05)
    >>> resolve(resolved) == resolved
    True
    """
    from simsgp.learn import backend as backends

    algorithm, task = scenario.algorithm, scenario.task
    own, task_own = algorithm_params(scenario), task_params(scenario)
    return dataclasses.replace(
        scenario,
        eval_every=_default_eval_every(scenario) if scenario.eval_every is None else scenario.eval_every,
        device=backends.check(scenario.backend, scenario.device),
        network=_effective_network(scenario.network),
        algorithm=dataclasses.replace(algorithm, params=dataclasses.asdict(own)),
        task=dataclasses.replace(task, params=dataclasses.asdict(task_own)),
    )


def _effective_network(network: NetworkConfig) -> NetworkConfig:
    """``network`` with the topology file's host figures (and a sites file's WAN) where the scenario does not set them."""
    from simsgp.sim.topology import host_figures, site_figures

    try:
        figures: dict[str, Any] = {**host_figures(network.topology), **_as_tuples(site_figures(network.topology))}
    except TopologyError as exc:
        raise ScenarioError(f"network: {exc}") from None

    filled: dict[str, Any] = {
        key: figures.get(key) if getattr(network, key) is None else getattr(network, key)
        for key in ("bandwidth", "latency", "efficiency", "wan_bandwidth", "site_latency")
    }
    return dataclasses.replace(network, **filled)


def _as_tuples(figures: dict[str, Any]) -> dict[str, Any]:
    """Numbers as floats and TOML arrays as tuples of floats, as a scenario holds them."""
    def convert(value: Any) -> Any:
        return tuple(convert(v) for v in value) if isinstance(value, (list, tuple)) else float(value)

    return {key: convert(value) for key, value in figures.items()}


def input_files(scenario: Scenario) -> dict[str, Path]:
    """The files a run of ``scenario`` reads, by the field that names them.

    A result depends on these files' contents as much as on the scenario:
    the physical network (a shipped topology included) and a compute trace.

    Examples
    --------
    >>> sorted(input_files(Scenario()))
    ['network.topology']
    """
    from simsgp.sim.topology import topology_path

    files = {"network.topology": topology_path(scenario.network.topology)}
    if scenario.cluster.compute.model == "trace" and scenario.cluster.compute.path is not None:
        files["cluster.compute.path"] = Path(scenario.cluster.compute.path)
    return files



def _default_eval_every(scenario: Scenario) -> int:
    """About 20 evaluation points over the run, 200 with a target; none without learning math."""
    if scenario.timing_only:
        return 0
    points = 200 if scenario.has_target else 20
    return max(1, (scenario.iterations or 200) // points)


