"""A scenario as TOML text for people: every key, quantities also in readable units, unset keys as comments."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simsgp.scenario.keys import keys
from simsgp.scenario.literals import toml_literal
from simsgp.scenario.loader import to_dict
from simsgp.scenario.schema import Scenario
from simsgp.scenario.units import format_quantity

__all__ = ["format_scenario"]


def format_scenario(scenario: Scenario) -> str:
    """``scenario`` as TOML that :func:`simsgp.scenario.loads` reads back, each quantity annotated in its units.

    Examples
    --------
    >>> from simsgp.scenario import from_dict, loads, resolve
    >>> text = format_scenario(resolve(from_dict({"network": {"latency": "50ms"}})))
    >>> [line for line in text.splitlines() if line.startswith("latency")]
    ['latency = 0.05  # 50 ms']
    >>> loads(text) == resolve(from_dict({"network": {"latency": "50ms"}}))
    True
    """
    units = {key.name: key.unit for key in keys() if key.unit}
    lines: list[str] = []
    _table(to_dict(scenario), "", units, lines)
    return "\n".join(lines).strip() + "\n"


def _table(data: Mapping[str, Any], prefix: str, units: Mapping[str, str], lines: list[str]) -> None:
    tables = {key: value for key, value in data.items() if isinstance(value, Mapping) and not _inline(prefix + key)}
    for key, value in data.items():
        if key in tables:
            continue
        if value is None:
            lines.append(f"# {key}: unset")
            continue
        line = f"{key} = {toml_literal(value, prefix + key)}"
        unit = units.get(prefix + key)
        if unit is not None and isinstance(value, (int, float)) and not isinstance(value, bool):
            line += f"  # {format_quantity(value, unit)}"
        lines.append(line)
    for key, value in tables.items():
        lines.extend(["", f"[{prefix}{key}]"])
        _table(value, f"{prefix}{key}.", units, lines)


def _inline(name: str) -> bool:
    """Whether the table ``name`` is written inline (a map of node indices)."""
    return name == "cluster.slow_nodes"
