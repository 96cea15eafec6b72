"""Named families that take new members: the algorithms and the tasks.

A family maps a scenario name (``algorithm.name``, ``task.name``) to its
member. The built-in members are known by name and imported only when first
asked for, so reading and validating configuration stays cheap; a user's
member joins with :meth:`Registry.add`, from their own file, without touching
the package.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Iterator, Mapping
from typing import Any, Generic, TypeVar

from simsgp.checks import fail

__all__ = ["Registry"]

M = TypeVar("M")


class Registry(Generic[M]):
    """Members of one family by name.

    Parameters
    ----------
    field : str
        The scenario key that names a member (for error messages).
    builtin : mapping of str to str
        Built-in member names and the module that registers each when imported.

    Examples
    --------
    >>> family = Registry("widget.name", {})
    >>> family.add("knob", object())
    >>> family.names()
    ['knob']
    >>> family.get("dial")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: widget.name='dial'; expected one of ['knob']
    """

    def __init__(self, field: str, builtin: Mapping[str, str]) -> None:
        self.field = field
        self._builtin = dict(builtin)
        self._members: dict[str, M] = {}

    def add(self, name: str, member: M, *, replace: bool = False) -> None:
        """Register ``member`` as ``name``; a name taken already needs ``replace=True``."""
        if not isinstance(name, str) or not name or name != name.strip():
            fail(self.field, name, "a non-empty name without surrounding spaces")
        taken = name in self._members or (name in self._builtin and self._builtin[name] != member_module(member))
        if taken and not replace:
            fail(self.field, name, f"a name not taken already ({sorted(self.names())} are); pass replace=True to replace it")
        self._members[name] = member

    def register(self, member: Any, *, method: str, replace: bool = False) -> None:
        """Check ``member`` (a class, instantiated without arguments, or an instance) and add it under its ``name``.

        A member has a ``name``, a ``params`` dataclass whose fields all have
        defaults, and the callable ``method`` (``start`` for an algorithm,
        ``build`` for a task).
        """
        member = member() if isinstance(member, type) else member
        name = getattr(member, "name", None)
        label = f"{self.field}={name!r}" if isinstance(name, str) else type(member).__name__
        if not isinstance(name, str):
            fail(f"{label}: name", name, f"a string, the {self.field} scenarios use")
        params = getattr(member, "params", None)
        if not (isinstance(params, type) and dataclasses.is_dataclass(params)):
            fail(f"{label}: params", params, "a dataclass of its own parameters (an empty one for none)")
        required = [f.name for f in dataclasses.fields(params) if f.default is f.default_factory is dataclasses.MISSING]
        if required:
            fail(f"{label}: params", params.__name__, f"a dataclass whose fields all have defaults (not {required})")
        if not callable(getattr(member, method, None)):
            fail(f"{label}: {method}", getattr(member, method, None), f"a method {method}(...) (see the protocol)")
        self.add(name, member, replace=replace)

    def remove(self, name: str) -> None:
        """Forget the member a user registered as ``name`` (the built-ins stay)."""
        if name in self._builtin:
            fail(self.field, name, f"a member registered by the user; the built-ins {sorted(self._builtin)} stay")
        if name not in self._members:
            fail(self.field, name, f"a registered name, one of {self.names()}")
        del self._members[name]

    def get(self, name: str) -> M:
        """The member called ``name``; an unknown name is a :class:`ScenarioError` listing the known ones."""
        if name not in self._members and name in self._builtin:
            importlib.import_module(self._builtin[name])  # registers it
        if name not in self._members:
            fail(self.field, name, f"one of {self.names()}")
        return self._members[name]

    def names(self) -> list[str]:
        """Every member's name, built-in or registered, sorted."""
        return sorted({*self._builtin, *self._members})

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __contains__(self, name: object) -> bool:
        return name in self._members or name in self._builtin

    def __len__(self) -> int:
        return len(self.names())

    def __getitem__(self, name: str) -> M:
        return self.get(name)

    def all(self) -> dict[str, M]:
        """Every member by name (the built-ins imported)."""
        return {name: self.get(name) for name in self.names()}


def member_module(member: Any) -> str | None:
    """The module that defines ``member`` (a class, function or instance)."""
    return getattr(member, "__module__", None) or getattr(type(member), "__module__", None)
