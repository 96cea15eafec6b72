"""Reading scenarios: TOML files, presets, plain mappings and ``--set`` overrides; and writing them back as data."""

from __future__ import annotations

import dataclasses
import numbers
import sys
import warnings
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from simsgp.errors import ScenarioError, shown

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from simsgp.scenario.schema import _FAMILIES, Scenario, build

__all__ = ["apply_overrides", "from_dict", "load", "loads", "parse_toml", "presets", "read_text", "to_dict"]


# --- dict <-> dataclass ---------------------------------------------------------


def from_dict(data: Mapping[str, Any]) -> Scenario:
    """Validate a nested mapping (as parsed from TOML) into a :class:`Scenario`.

    Missing keys take their defaults; unknown keys, wrong types and bad values
    raise :class:`ScenarioError` naming the dotted field.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError(f"a scenario is a table of keys; got {type(data).__name__}")
    if "time_limit" in data and "iterations" not in data:
        data = {**data, "iterations": None}
    return build(Scenario, data, "")



def to_dict(scenario: Scenario) -> dict[str, Any]:
    """The resolved scenario as plain data (TOML/JSON-ready, every default filled in).

    Examples
    --------
    >>> to_dict(Scenario())["cluster"]["compute"]
    {'model': 'constant', 'mean': 0.1, 'cv': 0.0, 'path': None}
    """
    data = dataclasses.asdict(scenario)
    data["cluster"]["slow_nodes"] = {str(k): v for k, v in scenario.cluster.slow_nodes.items()}
    for table in _FAMILIES:  # a member's own parameters sit in its table, as written
        data[table].update(data[table].pop("params"))
    return data


# --- files, presets and overrides -------------------------------------------------


def presets() -> dict[str, str]:
    """Named scenarios shipped with simsgp, each with its one-line description.

    Examples
    --------
    >>> "default" in presets()
    True
    """
    folder = resources.files("simsgp") / "scenarios"
    return {
        entry.name.removesuffix(".toml"): _first_comment(entry.read_text())
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    }


def _first_comment(text: str) -> str:
    for line in text.splitlines():
        if line.startswith("#"):
            return line.lstrip("# ").strip()
    return ""


def loads(text: str, *, source: str = "<string>") -> Scenario:
    """Parse and validate scenario TOML text."""
    return from_dict(parse_toml(text, source))


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """TOML ``text`` as a dict; any way it fails to parse is a one-line :class:`ScenarioError` naming ``source``.

    Examples
    --------
    >>> parse_toml("x = " + "[" * 5000 + "]" * 5000, "deep.toml")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: deep.toml does not parse as TOML: arrays or tables nested too deeply
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{source} does not parse as TOML: {exc}") from None
    except RecursionError:
        raise ScenarioError(f"{source} does not parse as TOML: arrays or tables nested too deeply") from None
    except ValueError as exc:  # e.g. an integer literal past Python's 4300-digit conversion limit
        raise ScenarioError(f"{source} does not parse as TOML: {exc}") from None


def read_text(path: Path, name: str) -> str:
    """The UTF-8 text of file ``path`` (a leading byte-order mark dropped); errors name ``name``.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("wb", suffix=".toml", delete=False) as f:
    ...     _ = f.write("\\ufeffseed = 1\\n".encode("utf-8"))
    >>> read_text(Path(f.name), "scenario")
    'seed = 1\\n'
    >>> _ = open(f.name, "wb").write("seed = 1".encode("utf-16"))
    >>> read_text(Path(f.name), "scenario")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: scenario ...: not UTF-8 text (byte 0xff at offset 0); expected a UTF-8 TOML file
    >>> os.remove(f.name)
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{name} {shown(str(path))}: cannot read it ({exc.strerror})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            f"{name} {shown(str(path))}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            f"expected a UTF-8 {path.suffix.lstrip('.').upper() or 'text'} file"
        ) from None


def load(source: str | Path | None = None) -> Scenario:
    """Load a preset by name (``"default"`` when ``None``) or a TOML file by path.

    Examples
    --------
    >>> load().algorithm.name
    'sgp'
    """
    source = "default" if source is None else source
    if str(source) in presets():
        text = (resources.files("simsgp") / "scenarios" / f"{source}.toml").read_text()
        return loads(text, source=f"preset {source!r}")
    try:
        exists = bool(str(source)) and Path(source).is_file()
    except (OSError, ValueError):  # too long a name, a NUL byte
        exists = False
    if not exists:
        raise ScenarioError(
            f"scenario {shown(str(source))}: no such file; expected a .toml path or a preset from {sorted(presets())}"
        )
    return loads(read_text(Path(source), "scenario"), source=str(source))


def apply_overrides(scenario: Scenario, assignments: Mapping[str, Any] | Iterable[str]) -> Scenario:
    """``scenario`` with some dotted keys set: from Python values, or from ``--set`` style ``key=value`` strings.

    Parameters
    ----------
    scenario : Scenario
        The scenario to start from (it is not changed).
    assignments : mapping of str to value, or iterable of str
        A mapping of dotted key to a Python value, such as
        ``{"cluster.nodes": 16, "network.bandwidth": None}``; or strings
        ``"dotted.key=value"`` whose values are TOML literals, a value that is
        not one being taken as a plain string (``algorithm.name=allreduce``
        works without quotes). Setting ``time_limit`` and not ``iterations``
        runs for the time limit alone.

    Returns
    -------
    Scenario
        The new scenario, validated.

    Raises
    ------
    ScenarioError
        A malformed key, a key below a value, or a scenario that does not
        validate; for a mapping the message starts ``apply_overrides:`` and
        shows keys and values as Python writes them.

    Examples
    --------
    >>> s = Scenario()
    >>> apply_overrides(s, {"cluster.nodes": 16}) == apply_overrides(s, ["cluster.nodes=16"])
    True
    >>> apply_overrides(s, {"cluster.nodez": 16})
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: apply_overrides: key 'cluster.nodez': unknown key (did you mean 'nodes'?); expected one of ['compute', 'epoch', 'failures', 'nodes', 'slow_nodes', 'stragglers', 'transient']
    """
    if isinstance(assignments, Mapping):
        return _apply_mapping(scenario, assignments)
    if isinstance(assignments, (str, bytes)):
        raise ScenarioError(
            f"apply_overrides: assignments={shown(assignments)}; expected a list of 'key=value' strings or a mapping"
        )
    data = to_dict(scenario)
    keys = []
    for assignment in assignments:
        key, sep, raw = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ScenarioError(f"--set {assignment!r}; expected key=value, such as cluster.nodes=16")
        if key in keys:
            warnings.warn(f"--set {key} is given more than once; the last value, {shown(raw.strip())}, is used", stacklevel=2)
        try:
            _assign(data, key, _parse_literal(raw.strip()))
        except _NotATable as exc:
            raise ScenarioError(f"{exc} is a value, not a table; cannot set {key}") from None
        keys.append(key)
    return from_dict(_time_limited(data, keys))


def _apply_mapping(scenario: Scenario, assignments: Mapping[str, Any]) -> Scenario:
    """:func:`apply_overrides` with Python values; errors name the keys and values as Python writes them."""
    data = to_dict(scenario)
    for key, value in assignments.items():
        if not isinstance(key, str) or not all(part.strip() == part != "" for part in key.split(".")):
            raise ScenarioError(
                f"apply_overrides: key {shown(key)}; expected a dotted scenario key (a str), such as 'cluster.nodes'"
            )
        try:
            _assign(data, key, _plain(value))
        except _NotATable as exc:
            raise ScenarioError(f"apply_overrides: key {key!r}: {str(exc)!r} is a value, not a table") from None
    try:
        return from_dict(_time_limited(data, list(assignments)))
    except ScenarioError as exc:
        raise ScenarioError(f"apply_overrides: {_naming_key(str(exc), assignments)}") from None


def _naming_key(message: str, keys: Iterable[str]) -> str:
    """``message`` with a leading field that is one of ``keys`` written as the Python key: ``key 'cluster.nodes'``."""
    for key in sorted(keys, key=len, reverse=True):
        for sep, joined in ((":", ":"), ("=", ", value ")):
            if message.startswith(key + sep):
                return f"key {key!r}{joined}{message[len(key) + 1:]}"
    return message


class _NotATable(Exception):
    """A key goes through a value; the message is the dotted path of that value."""


def _assign(data: dict[str, Any], key: str, value: Any) -> None:
    """Set dotted ``key`` of nested ``data`` to ``value``, making the tables on the way."""
    *parents, leaf = key.split(".")
    table = data
    for i, part in enumerate(parents):
        table = table.setdefault(part, {})
        if not isinstance(table, dict):
            raise _NotATable(".".join(parents[: i + 1]))
    table[leaf] = value


def _time_limited(data: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    """``data`` run for its time limit alone when ``time_limit`` was set and ``iterations`` not."""
    if "time_limit" in keys and "iterations" not in keys:
        data["iterations"] = None
    return data


def _plain(value: Any) -> Any:
    """``value`` with numbers of other types (numpy's) as Python ints and floats, in lists and tables too."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _parse_literal(raw: str) -> Any:
    try:
        return parse_toml(f"v = {raw}", "value")["v"]
    except ScenarioError:
        return raw

