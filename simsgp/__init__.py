"""simsgp: a discrete-event simulator of decentralized (gossip) training.

Run a scenario and read its summary:

>>> import simsgp
>>> result = simsgp.run({"iterations": 5, "cluster": {"nodes": 4}})
>>> result.summary["iterations"], result.summary["max_link_utilization"] <= 1.0
(5, True)
"""

from simsgp._version import __version__
from simsgp.budget import Limits, ResourceError
from simsgp.engine import run
from simsgp.errors import (
    DivergenceError,
    GraphError,
    ScenarioError,
    SimsgpError,
    TopologyError,
)
from simsgp.physics import PhysicsError
from simsgp.result import Result
from simsgp.scenario import Scenario, apply_overrides, from_dict, load, presets

__all__ = [
    "DivergenceError",
    "GraphError",
    "Limits",
    "PhysicsError",
    "ResourceError",
    "Result",
    "Scenario",
    "ScenarioError",
    "SimsgpError",
    "TopologyError",
    "__version__",
    "apply_overrides",
    "from_dict",
    "load",
    "presets",
    "run",
]
