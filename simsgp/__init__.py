"""simsgp: a discrete-event simulator of decentralized (gossip) training.

Run a scenario and read its summary:

>>> import simsgp
>>> result = simsgp.run({"iterations": 5, "cluster": {"nodes": 4}})
>>> result.summary["iterations"], result.summary["max_link_utilization"] <= 1.0
(5, True)

The names below load their modules when first used, so that reading a
scenario or asking the command line for help does not import the simulator.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from simsgp._version import __version__

if TYPE_CHECKING:
    from simsgp.errors import (
        DivergenceError,
        GraphError,
        ScenarioError,
        SimsgpError,
        TopologyError,
    )
    from simsgp.report.result import Result
    from simsgp.scenario import (
        Scenario,
        apply_overrides,
        from_dict,
        load,
        presets,
        resolve,
    )
    from simsgp.sim.budget import Limits, ResourceError
    from simsgp.sim.engine import run
    from simsgp.sim.physics import PhysicsError
    from simsgp.sweep import _CallableModule
    from simsgp.tasks import Task

    sweep: _CallableModule  # the module, callable (see simsgp.sweep.sweep)

_HOMES = {
    "DivergenceError": "simsgp.errors",
    "GraphError": "simsgp.errors",
    "Limits": "simsgp.sim.budget",
    "PhysicsError": "simsgp.sim.physics",
    "ResourceError": "simsgp.sim.budget",
    "Result": "simsgp.report.result",
    "Scenario": "simsgp.scenario",
    "ScenarioError": "simsgp.errors",
    "SimsgpError": "simsgp.errors",
    "Task": "simsgp.tasks",
    "TopologyError": "simsgp.errors",
    "apply_overrides": "simsgp.scenario",
    "from_dict": "simsgp.scenario",
    "load": "simsgp.scenario",
    "presets": "simsgp.scenario",
    "resolve": "simsgp.scenario",
    "run": "simsgp.sim.engine",
    "sweep": "simsgp.sweep",
}
"""The module each public name lives in; ``sweep`` is that module itself (callable, see :func:`simsgp.sweep.sweep`)."""

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
    "Task",
    "TopologyError",
    "__version__",
    "apply_overrides",
    "from_dict",
    "load",
    "presets",
    "resolve",
    "run",
    "sweep",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'simsgp' has no attribute {name!r}")
    module = importlib.import_module(home)
    value = module if home == f"{__name__}.{name}" else getattr(module, name)
    globals()[name] = value  # found once; later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})
