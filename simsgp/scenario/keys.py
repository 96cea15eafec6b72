"""The reference of every scenario key, generated from the schema's dataclasses so that it cannot drift.

Each key is a dotted name as ``--set`` and sweep grids spell it, with its
type, default, unit and one line of meaning (the ``help`` of its
:func:`simsgp.fields.setting`). An algorithm's or a task's own keys come
from the parameter dataclass of each registered member, a user's included,
and name the members that have them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Union

from simsgp.errors import ScenarioError, shown
from simsgp.fields import UNIT_NAMES
from simsgp.scenario.literals import toml_literal
from simsgp.scenario.schema import _FAMILIES, Scenario

__all__ = ["Key", "format_keys", "keys", "select"]


@dataclass(frozen=True)
class Key:
    """One scenario key of the reference.

    Attributes
    ----------
    name : str
        Dotted name; ``<node>`` stands for a node index (``cluster.slow_nodes.<node>``)
        and ``[]`` for an entry of an array of tables (``cluster.stragglers[].factor``).
    type : str
        What it takes, in TOML words (``integer``, ``number``, ``string``, ...).
    default : str
        Its default as TOML text; ``"required"`` in an array entry, ``"unset"``
        where a run derives it or it is off (the meaning says which).
    unit : str or None
        The SI unit of a quantity (``"s"``, ``"B"``, ``"B/s"``); such a key also
        takes text such as ``"50ms"``.
    help : str
        One line of meaning (empty for a user's parameter declared without one).
    members : tuple of str
        For an algorithm's or task's own key, the names of those that have it.
    """

    name: str
    type: str
    default: str
    unit: str | None
    help: str
    members: tuple[str, ...] = ()


def keys() -> list[Key]:
    """Every key of a scenario, in schema order; an algorithm's or task's own keys after their table's common ones.

    Examples
    --------
    >>> reference = {key.name: key for key in keys()}
    >>> reference["network.latency"].unit, reference["algorithm.tau"].members
    ('s', ('osgp',))
    """
    return list(_walk(Scenario, ""))


def select(reference: list[Key], section: str | None) -> list[Key]:
    """The keys of ``reference`` in ``section`` (a dotted prefix such as ``cluster`` or ``network.latency``).

    Raises :class:`ScenarioError` when no key is in it, listing the sections.
    """
    if section is None:
        return reference
    chosen = [key for key in reference if key.name == section or key.name.startswith((f"{section}.", f"{section}["))]
    if not chosen:
        tables = sorted({key.name.split(".")[0] for key in reference if "." in key.name})
        raise ScenarioError(f"keys {shown(section)}: no such key or section; expected a dotted prefix such as {tables}")
    return chosen


def format_keys(reference: list[Key]) -> str:
    """``reference`` as an aligned text table: key, type, default, unit, meaning (members in brackets)."""
    header = Key("KEY", "TYPE", "DEFAULT", "UNIT", "MEANING")
    rows = [header, *reference]
    widths = [max(len(getattr(row, column)) for row in rows) for column in ("name", "type", "default")]
    unit_width = max(len(row.unit or "") for row in rows)
    lines = []
    for row in rows:
        members = f"[{', '.join(row.members)}] " if row.members else ""
        cells = [row.name.ljust(widths[0]), row.type.ljust(widths[1]), row.default.ljust(widths[2])]
        lines.append(f"{'  '.join(cells)}  {(row.unit or '').ljust(unit_width)}  {members}{row.help}".rstrip())
    units = ", ".join(f"{symbol} ({name})" for symbol, name in UNIT_NAMES.items())
    lines.append("")
    lines.append(f'Units: {units}; a quantity also takes text such as "50ms", "100MB" or "10Gbps".')
    return "\n".join(lines)


def _walk(cls: type, prefix: str) -> typing.Iterator[Key]:
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        name, hint = f"{prefix}{spec.name}", hints[spec.name]
        if spec.metadata.get("rest"):
            yield from _member_keys(prefix.rstrip("."))
            continue
        inner = _without_none(hint)
        if dataclasses.is_dataclass(inner):
            yield from _walk(typing.cast(type, inner), f"{name}.")
        elif typing.get_origin(inner) is tuple and dataclasses.is_dataclass(typing.get_args(inner)[0]):
            yield from _entry_keys(typing.get_args(inner)[0], f"{name}[].")
        elif typing.get_origin(inner) is dict:
            value_type = typing.get_args(inner)[1]
            yield Key(f"{name}.<node>", _type_name(value_type), "unset", _unit(spec), _help(cls, spec.name))
        else:
            yield Key(name, _type_name(hint), _default(spec), _unit(spec), _help(cls, spec.name))


def _entry_keys(cls: type, prefix: str) -> typing.Iterator[Key]:
    """The keys of one table of an array of tables (``cluster.stragglers[].node``): required unless they have a default."""
    for key in _walk(cls, prefix):
        yield dataclasses.replace(key, default="required" if key.default == "unset" else key.default)


def _member_keys(table: str) -> typing.Iterator[Key]:
    """The own keys of every member of ``table``'s family; one row for members that agree on all of it."""
    family = _FAMILIES[table][0]()
    rows: dict[tuple[str, str, str, str | None, str], list[str]] = {}
    for name, member in family.all().items():
        for key in _walk(member.params, f"{table}."):
            rows.setdefault((key.name, key.type, key.default, key.unit, key.help), []).append(name)
    for (name, type_name, default, unit, help_text), owners in sorted(rows.items(), key=lambda item: item[0][0]):
        yield Key(name, type_name, default, unit, help_text, tuple(owners))


def _help(cls: type, name: str) -> str:
    """The help of field ``name`` of ``cls``, or of the same field in a base class that declares it with one."""
    for klass in cls.__mro__:
        if dataclasses.is_dataclass(klass):
            spec = next((f for f in dataclasses.fields(klass) if f.name == name), None)
            if spec is not None and spec.metadata.get("help"):
                return str(spec.metadata["help"])
    return ""


def _unit(spec: dataclasses.Field[Any]) -> str | None:
    unit = spec.metadata.get("unit")
    return None if unit is None else str(unit)


def _default(spec: dataclasses.Field[Any]) -> str:
    if spec.default is not dataclasses.MISSING:
        value = spec.default
    elif spec.default_factory is not dataclasses.MISSING:
        value = spec.default_factory()
    else:
        return "unset"
    if value is None:
        return "unset"
    return toml_literal(value)


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (Union, types.UnionType):
        options = [o for o in typing.get_args(hint) if o is not type(None)]
        if len(options) == 1:
            return options[0]
    return hint


_TYPE_NAMES = {int: "integer", float: "number", str: "string", bool: "boolean"}


def _type_name(hint: Any) -> str:
    """A type hint in TOML words: ``number``, ``string or number``, ``array of number``, ``matrix of number``."""
    hint = _without_none(hint)
    if typing.get_origin(hint) in (Union, types.UnionType):
        return " or ".join(_type_name(o) for o in typing.get_args(hint) if o is not type(None))
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if typing.get_origin(item) is tuple:
            return f"matrix of {_type_name(typing.get_args(item)[0])}"
        return f"array of {_type_name(item)}"
    return _TYPE_NAMES.get(hint, getattr(hint, "__name__", str(hint)))
