"""Read a measurements file of a real cluster (written by ``python -m simsgp.probe``) and turn it into a calibration.

The file (format ``simsgp-measurements``, version 1) holds the model's compute
time per iteration, point-to-point one-way times over message sizes and
allreduce times over message sizes, all measured on ``cluster.nodes`` nodes.
:func:`calibration_inputs` makes of it what ``simsgp calibrate --measurements``
uses:

* scenario figures taken as measured: ``cluster.compute.mean`` (the compute
  time), ``network.latency`` and ``network.bandwidth`` (the least-squares
  alpha-beta line through the point-to-point rows, at ``network.efficiency``
  1: the bandwidth is what a flow reached, not the line rate);
* one :class:`simsgp.calibrate.Measurement` per allreduce row: an AllReduce
  iteration on that many nodes with a message of that size and a nanosecond of
  compute, so its simulated seconds are the allreduce's. With no key to fit
  they are held out: the network figures predict them; ``--fit`` keys are
  fitted to them.

So "measure on 4 nodes, predict 32" is ``simsgp calibrate SCENARIO
--measurements m.json --predict sgp:32``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from simsgp.calibrate import Measurement
from simsgp.errors import ScenarioError, shown
from simsgp.probe import FORMAT, VERSION, fit_alpha_beta

__all__ = ["ALLREDUCE_COMPUTE", "ProbeFile", "calibration_inputs", "read_measurements"]

ALLREDUCE_COMPUTE = 1e-9
"""Seconds of compute in an allreduce row's iteration: a nanosecond, so the iteration is the allreduce."""


@dataclass(frozen=True)
class ProbeFile:
    """What a measurements file says.

    ``compute``: seconds per iteration (None if not measured); ``p2p``:
    ``(bytes, one-way seconds)`` rows; ``allreduce``: ``(bytes, seconds,
    nodes)`` rows.
    """

    path: str
    nodes: int
    backend: str
    compute: float | None
    p2p: tuple[tuple[float, float], ...]
    allreduce: tuple[tuple[float, float, int], ...]


def read_measurements(path: str | Path) -> ProbeFile:
    """Read and check a measurements file.

    Raises
    ------
    ScenarioError
        The file is missing, is not JSON, is not a ``simsgp-measurements``
        file of version 1, or a field is missing or out of range (the message
        names the file, the field and what is allowed).
    """
    where = f"measurements file {path}"
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ScenarioError(f"{where}: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ScenarioError(f"{where}: not JSON ({exc}); write it with `python -m simsgp.probe`") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ScenarioError(f"{where}: format={shown(doc.get('format') if isinstance(doc, dict) else doc)}; "
                            f"expected {FORMAT!r} (write it with `python -m simsgp.probe`)")
    if doc.get("version") != VERSION:
        raise ScenarioError(f"{where}: version={shown(doc.get('version'))}; expected {VERSION}")
    cluster = _table(where, doc, "cluster")
    nodes = _number(where, "cluster.nodes", cluster.get("nodes"), integer=True, least=2)
    compute = doc.get("compute")
    seconds = None if compute is None else _number(where, "compute.seconds", _table(where, doc, "compute").get("seconds"))
    p2p = tuple((_number(where, f"p2p[{k}].bytes", row.get("bytes")), _number(where, f"p2p[{k}].seconds", row.get("seconds")))
                for k, row in enumerate(_rows(where, doc, "p2p")))
    allreduce = tuple(
        (_number(where, f"allreduce[{k}].bytes", row.get("bytes")),
         _number(where, f"allreduce[{k}].seconds", row.get("seconds")),
         int(_number(where, f"allreduce[{k}].nodes", row.get("nodes", nodes), integer=True, least=2)))
        for k, row in enumerate(_rows(where, doc, "allreduce"))
    )
    return ProbeFile(str(path), int(nodes), str(cluster.get("backend", "unknown")), seconds, p2p, allreduce)


def calibration_inputs(probe: ProbeFile, collective: str = "ring") -> tuple[dict[str, float], list[Measurement]]:
    """The scenario figures the file measures and its allreduce rows as measurements.

    ``collective`` is the simsgp collective the allreduce rows ran (gloo's
    own allreduce of CPU tensors is a ring).

    Raises
    ------
    ScenarioError
        Fewer than two distinct point-to-point sizes, or times that do not
        grow with size (no alpha-beta line to fit).
    """
    figures: dict[str, float] = {}
    if probe.compute is not None:
        figures["cluster.compute.mean"] = probe.compute
    if probe.p2p:
        try:
            latency, bandwidth = fit_alpha_beta({"bytes": b, "seconds": s} for b, s in probe.p2p)
        except ValueError as exc:
            raise ScenarioError(f"measurements file {probe.path}: p2p: {exc}") from None
        figures.update({"network.latency": latency, "network.bandwidth": bandwidth, "network.efficiency": 1.0})
    points = [
        Measurement("allreduce", nodes, seconds + ALLREDUCE_COMPUTE,
                    (f"task.payload={nbytes!r}", f"cluster.compute.mean={ALLREDUCE_COMPUTE!r}",
                     f"algorithm.collective={collective}", "cluster.compute.model=constant"),
                    f"{collective} of {nbytes:.4g} B")
        for nbytes, seconds, nodes in probe.allreduce
    ]
    return figures, points


def _table(where: str, doc: dict[str, Any], key: str) -> dict[str, Any]:
    value = doc.get(key)
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}: {key}={shown(value)}; expected a table")
    return value


def _rows(where: str, doc: dict[str, Any], key: str) -> list[dict[str, Any]]:
    value = doc.get(key, [])
    if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
        raise ScenarioError(f"{where}: {key}={shown(value)}; expected a list of tables")
    return value


def _number(where: str, name: str, value: Any, *, integer: bool = False, least: float = 0.0) -> float:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and integer:
        ok = float(value).is_integer()
    if not ok or value < least or (not integer and value <= 0):
        allowed = f"an integer >= {least:g}" if integer else "a positive finite number"
        raise ScenarioError(f"{where}: {name}={shown(value)}; expected {allowed}")
    return float(value)
