"""Python values written as TOML literals that read back to the same values (``--set`` text, scenario files)."""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from simsgp.errors import ScenarioError, shown

__all__ = ["toml_literal"]


def toml_literal(value: Any, name: str = "value") -> str:
    """``value`` as a TOML literal: exact floats (``inf``, ``nan``), quoted strings, arrays and inline tables.

    ``None`` has no TOML spelling: a :class:`ScenarioError` names ``name``.

    Examples
    --------
    >>> toml_literal({"3": 4.0}), toml_literal([1, "a", True]), toml_literal(float("inf"))
    ('{ "3" = 4.0 }', '[1, "a", true]', 'inf')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        value = float(value)
        return repr(value) if math.isfinite(value) else {"inf": "inf", "-inf": "-inf"}.get(repr(value), "nan")
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        items = ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {toml_literal(v, name)}" for k, v in value.items())
        return f"{{ {items} }}"
    if isinstance(value, Sequence):
        return f"[{', '.join(toml_literal(v, name) for v in value)}]"
    raise ScenarioError(
        f"{name}={shown(value)}; expected a number, string, boolean, list or table "
        "(TOML has no null: leave the key out to keep the base value)"
    )
