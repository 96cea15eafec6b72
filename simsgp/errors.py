"""Exception types of simsgp.

Every error a user can cause derives from :class:`SimsgpError`, so the command
line can report it in one line instead of a traceback.
"""

from __future__ import annotations

import reprlib

__all__ = ["DivergenceError", "GraphError", "ScenarioError", "SimsgpError", "TopologyError", "shown"]

_SHOWN = reprlib.Repr()
_SHOWN.maxstring = _SHOWN.maxother = 80
_SHOWN.maxlong = 40
_SHOWN.maxlist = _SHOWN.maxtuple = _SHOWN.maxdict = _SHOWN.maxset = 6
_SHOWN.maxlevel = 3


def shown(value: object) -> str:
    """``repr(value)`` cut to a sane length for an error message (long strings, numbers and nests elided with ...).

    Examples
    --------
    >>> shown("x" * 10_000)[:12], len(shown("x" * 10_000)) < 100
    ("'xxxxxxxxxxx", True)
    >>> shown(0.5), shown([[[[1]]]]), shown(10**5000)
    ('0.5', '[[[[...]]]]', '<an integer of about 5001 digits>')
    """
    if isinstance(value, int) and value.bit_length() > 128:  # repr of a huge int is slow, or refused past 4300 digits
        return f"{'-' if value < 0 else ''}<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    return _SHOWN.repr(value)


class SimsgpError(Exception):
    """Base class of every error that bad input to simsgp can raise."""


class ScenarioError(SimsgpError, ValueError):
    """A scenario field has a bad key, type or value; the message names the field."""


class TopologyError(SimsgpError, ValueError):
    """A physical network description is malformed or inconsistent."""


class GraphError(SimsgpError, ValueError):
    """A communication graph or mixing matrix breaks a required property."""


class DivergenceError(SimsgpError):
    """The training diverged: a loss or a parameter became infinite or NaN; the message says when and where."""
