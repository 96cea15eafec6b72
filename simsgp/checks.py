"""Checks of one configuration value each: a bad value is a one-line :class:`ScenarioError`.

The scenario schema and the parameter dataclasses of algorithms and tasks
use them, so that every message has the same shape: the dotted field, the
value (cut to a sane length) and what is allowed. This module imports no
simulation code.

Examples
--------
>>> positive("algorithm.lr", -1.0)
Traceback (most recent call last):
...
simsgp.errors.ScenarioError: algorithm.lr=-1.0; expected a positive finite number
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from simsgp.errors import ScenarioError, shown

__all__ = ["at_least", "existing_file", "fail", "fraction", "nonnegative", "one_of", "positive", "unit_interval"]


def fail(name: str, value: Any, allowed: str) -> typing.NoReturn:
    """Raise the error for field ``name`` holding ``value``, saying what is ``allowed``."""
    raise ScenarioError(f"{name}={shown(value)}; expected {allowed}")


def positive(name: str, value: float) -> None:
    """``value`` is a finite number > 0."""
    if not (math.isfinite(value) and value > 0):
        fail(name, value, "a positive finite number")


def nonnegative(name: str, value: float) -> None:
    """``value`` is a finite number >= 0."""
    if not (math.isfinite(value) and value >= 0):
        fail(name, value, "a finite number >= 0")


def at_least(name: str, value: int, low: int) -> None:
    """``value`` is an integer >= ``low``."""
    if value < low:
        fail(name, value, f"an integer >= {low}")


def fraction(name: str, value: float) -> None:
    """``value`` lies in (0, 1]."""
    if not 0 < value <= 1:
        fail(name, value, "a fraction in (0, 1]")


def unit_interval(name: str, value: float) -> None:
    """``value`` lies in [0, 1) (a momentum or a decay factor)."""
    if not 0 <= value < 1:
        fail(name, value, "a number in [0, 1)")


def one_of(name: str, value: str, allowed: Iterable[str]) -> None:
    """``value`` is one of ``allowed``."""
    allowed = sorted(allowed)
    if value not in allowed:
        fail(name, value, f"one of {allowed}")


def existing_file(name: str, path: str, allowed: str) -> None:
    """``path`` names an existing file (an empty or unusable path names the field too)."""
    try:
        exists = bool(path) and Path(path).is_file()
    except (OSError, ValueError) as exc:  # too long a name, a NUL byte
        fail(name, path, f"{allowed} ({exc.strerror if isinstance(exc, OSError) else exc})")
    if not exists:
        fail(name, path, allowed)
