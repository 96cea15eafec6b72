"""Scenarios: what the user wrote (:mod:`.schema`), read from TOML, presets and overrides (:mod:`.loader`), and resolved for a run (:mod:`.resolver`).

A scenario names the cluster, the physical network, the algorithm with its
own parameters, the learning task, how long to run and the seed. This
package imports no simulation code.

Examples
--------
>>> s = from_dict({"cluster": {"nodes": 4}, "algorithm": {"name": "allreduce"}})
>>> s.cluster.nodes, s.algorithm.name, s.iterations
(4, 'allreduce', 200)
>>> apply_overrides(s, ["network.latency=1e-3"]).network.latency
0.001
"""

from simsgp.scenario.loader import (
    apply_overrides,
    from_dict,
    load,
    loads,
    parse_toml,
    presets,
    read_text,
    to_dict,
)
from simsgp.scenario.resolver import algorithm_params, input_files, resolve, task_params
from simsgp.scenario.schema import (
    AlgorithmConfig,
    ClusterConfig,
    ComputeConfig,
    FailureWindow,
    NetworkConfig,
    Scenario,
    StragglerWindow,
    TaskConfig,
    TransientConfig,
    applies,
    params_of,
)

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
    "algorithm_params",
    "applies",
    "apply_overrides",
    "from_dict",
    "input_files",
    "load",
    "loads",
    "params_of",
    "parse_toml",
    "presets",
    "read_text",
    "resolve",
    "task_params",
    "to_dict",
]
