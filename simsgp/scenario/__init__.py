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

from simsgp.scenario import loader, resolver, schema
from simsgp.scenario.loader import *  # (reading and writing scenarios)
from simsgp.scenario.resolver import *  # (resolution)
from simsgp.scenario.schema import *  # (the dataclasses and their checks)

__all__ = schema.__all__ + loader.__all__ + resolver.__all__
