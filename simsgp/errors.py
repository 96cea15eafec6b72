"""Exception types of simsgp.

Every error a user can cause derives from :class:`SimsgpError`, so the command
line can report it in one line instead of a traceback.
"""

from __future__ import annotations

__all__ = ["GraphError", "ScenarioError", "SimsgpError", "TopologyError"]


class SimsgpError(Exception):
    """Base class of every error that bad input to simsgp can raise."""


class ScenarioError(SimsgpError, ValueError):
    """A scenario field has a bad key, type or value; the message names the field."""


class TopologyError(SimsgpError, ValueError):
    """A physical network description is malformed or inconsistent."""


class GraphError(SimsgpError, ValueError):
    """A communication graph or mixing matrix breaks a required property."""
