"""Fields of configuration dataclasses that say what they mean: a one-line help and, for quantities, a unit.

The scenario's tables and every algorithm's and task's parameter dataclass
declare their fields with :func:`setting`; ``simsgp keys`` prints the
reference of every key from these declarations, and a field with a unit
takes quantities such as ``"10Gbps"`` or ``"50ms"`` besides SI numbers
(see :mod:`simsgp.scenario.units`). A user's own parameter dataclass may
use plain fields; its keys are then listed without a meaning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

__all__ = ["UNIT_NAMES", "setting"]

UNIT_NAMES = {"s": "seconds", "B": "bytes", "B/s": "bytes per second"}
"""The SI units a field may have, by symbol."""


def setting(
    default: Any = dataclasses.MISSING,
    *,
    help: str,
    unit: str | None = None,
    factory: Callable[[], Any] | None = None,
    **metadata: Any,
) -> Any:
    """A :func:`dataclasses.field` with its ``help`` line and ``unit`` (one of :data:`UNIT_NAMES`) in its metadata.

    ``factory`` is the field's ``default_factory``; with neither ``default``
    nor ``factory`` the key is required.

    Examples
    --------
    >>> from dataclasses import dataclass, fields
    >>> @dataclass(frozen=True)
    ... class LinkParams:
    ...     delay: float = setting(0.01, help="extra one-way delay of every message", unit="s")
    >>> fields(LinkParams)[0].metadata["unit"], LinkParams().delay
    ('s', 0.01)
    """
    if unit is not None and unit not in UNIT_NAMES:
        raise ValueError(f"unit={unit!r}; expected one of {sorted(UNIT_NAMES)} or None")
    metadata = {"help": help, **({"unit": unit} if unit else {}), **metadata}
    if factory is not None:
        return dataclasses.field(default_factory=factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
