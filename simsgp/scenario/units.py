"""Quantities with units in a scenario: ``"10Gbps"``, ``"50ms"``, ``"100MB"``, and SI numbers back to such text.

A scenario field with a unit (its ``unit`` metadata: ``"s"``, ``"B"`` or
``"B/s"``) takes a plain number in SI units (seconds, bytes, bytes per
second) or a string of a number and a unit of the same dimension. Bits are
eighths of bytes; decimal prefixes are powers of 1000 (``k``/``K``, ``M``,
``G``, ``T``) and binary ones powers of 1024 (``Ki``, ``Mi``, ``Gi``,
``Ti``), so ``"10Gbps"`` is 1.25e9 bytes per second and ``"1MiB"`` is
1048576 bytes.
"""

from __future__ import annotations

import math
import re

from simsgp.checks import fail

__all__ = ["UNITS", "format_quantity", "looks_like_quantity", "parse_quantity"]

_PREFIXES = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30,
             "Ti": 2.0**40}
_TIMES = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "min": 60.0, "h": 3600.0}


def _sizes(per_second: bool) -> dict[str, float]:
    """Byte and bit units with every prefix (``MB``, ``Mb``, ``MiB``; with ``per_second``: ``MB/s``, ``Mbps``, ...)."""
    units = {}
    for prefix, scale in _PREFIXES.items():
        for symbol, size in (("B", 1.0), ("b", 0.125)):
            if per_second:
                units[f"{prefix}{symbol}/s"] = scale * size
                units[f"{prefix}{symbol}ps"] = scale * size
            else:
                units[f"{prefix}{symbol}"] = scale * size
    units.update({"bit/s" if per_second else "bit": 0.125})
    return units


UNITS: dict[str, dict[str, float]] = {"s": _TIMES, "B": _sizes(False), "B/s": _sizes(True)}
"""For each SI unit of a field, the unit symbols it accepts and their size in that unit."""

_QUANTITY = re.compile(r"\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([^\s\d.+-][^\s]*)\s*")
_EXAMPLES = {"s": '"50ms", "20us", "1.5s"', "B": '"100MB", "512KiB", "2GB"', "B/s": '"10Gbps", "1.25GB/s", "100Mb/s"'}
_SHOWN = {
    "s": ", ".join(_TIMES),
    "B": "B, kB, MB, GB, KiB, MiB, GiB (b for bits)",
    "B/s": "B/s, MB/s, GB/s, Mbps, Gbps, Gb/s, GiB/s (b for bits)",
}
_MEANING = {"s": "seconds", "B": "bytes", "B/s": "bytes per second"}


def looks_like_quantity(text: str) -> bool:
    """Whether ``text`` is a number followed by a unit symbol (known or not), such as ``"10Gbps"`` or ``"3 parsecs"``.

    Examples
    --------
    >>> looks_like_quantity("100MB"), looks_like_quantity("resnet50")
    (True, False)
    """
    return _QUANTITY.fullmatch(text) is not None


def parse_quantity(text: str, unit: str, name: str) -> float:
    """``text`` (a number and a unit symbol) in the SI ``unit`` (``"s"``, ``"B"`` or ``"B/s"``).

    Raises :class:`~simsgp.errors.ScenarioError` naming field ``name`` when
    ``text`` is not a number with a unit of that dimension, or the value is
    not finite.

    Examples
    --------
    >>> parse_quantity("10Gbps", "B/s", "network.bandwidth")
    1250000000.0
    >>> parse_quantity("50 ms", "s", "network.latency"), parse_quantity("1MiB", "B", "task.payload")
    (0.05, 1048576.0)
    >>> parse_quantity("10 parsecs", "s", "time_limit")
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: time_limit='10 parsecs'; expected seconds: a number, or one with a unit of ns, us, µs, ms, s, min, h, such as "50ms", "20us", "1.5s"
    """
    symbols = UNITS[unit]
    match = _QUANTITY.fullmatch(text)
    if match is None or match.group(2) not in symbols:
        fail(name, text, f"{_MEANING[unit]}: a number, or one with a unit of {_SHOWN[unit]}, such as {_EXAMPLES[unit]}")
    value = float(match.group(1)) * symbols[match.group(2)]
    if not math.isfinite(value):
        fail(name, text, f"a finite number of {_MEANING[unit]}")
    return value


def format_quantity(value: float, unit: str) -> str:
    """``value`` (SI: seconds, bytes or bytes per second) as short readable text: bits per second for bandwidth.

    Examples
    --------
    >>> format_quantity(1.25e9, "B/s"), format_quantity(2e-5, "s"), format_quantity(102228128, "B")
    ('10 Gb/s', '20 us', '102.2 MB')
    >>> format_quantity(0.0435, "s"), format_quantity(90.0, "s"), format_quantity(0.0, "s")
    ('43.5 ms', '90 s', '0 s')
    """
    scales = _SCALES[unit]
    if unit == "B/s":
        value *= 8
    if not math.isfinite(value) or value == 0:
        return f"{value:g} {_BASE[unit]}"
    scale, symbol = next(((s, sym) for s, sym in scales if abs(value) >= s), scales[-1])
    return f"{value / scale:.4g} {symbol}"


_SCALES = {
    "s": [(1.0, "s"), (1e-3, "ms"), (1e-6, "us"), (1e-9, "ns")],
    "B": [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB"), (1.0, "B")],
    "B/s": [(1e12, "Tb/s"), (1e9, "Gb/s"), (1e6, "Mb/s"), (1e3, "kb/s"), (1.0, "b/s")],
}
_BASE = {"s": "s", "B": "B", "B/s": "b/s"}
