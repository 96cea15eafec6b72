"""Chrome / Perfetto timeline of a run's simulated time (Trace Event Format JSON).

Open the written file in https://ui.perfetto.dev or ``chrome://tracing``.
Every host gets a track: the workers (``node i``) and, when the message log
mentions them, the parameter servers (``server s``). Each iteration of a
worker becomes a ``compute`` and a ``communicate`` span; with
``trace = true`` in the scenario every message is an arrow from its sender's
track at the send time to its receiver's track at the delivery time.

Time stamps are microseconds of simulated time. The engine never imports this
module.

Examples
--------
>>> import simsgp
>>> result = simsgp.run({"iterations": 2, "cluster": {"nodes": 2}, "trace": True})
>>> events = chrome_trace(result)["traceEvents"]
>>> sorted({e["name"] for e in events if e["ph"] == "X"})
['communicate', 'compute']
>>> sum(e["ph"] == "s" for e in events) == len(result.messages)
True
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from simsgp.outputs import check_file_target, write_atomic
from simsgp.report.result import Result, jsonable

__all__ = ["check_trace_target", "chrome_trace", "is_simsgp_trace", "write_chrome_trace"]

_US = 1e6
"""Microseconds per simulated second."""
_EMPTY = 1e-12
"""A communication span shorter than this fraction of the time stamp is float residue, left out."""


def chrome_trace(result: Result) -> dict[str, Any]:
    """The run's timeline as a Trace Event Format document.

    Parameters
    ----------
    result : Result
        A finished run. Its message log (``result.messages``, kept when the
        scenario has ``trace = true``) adds the message arrows and any server
        tracks; without it only the workers' spans are drawn.

    Returns
    -------
    dict
        ``{"otherData": {"generator": "simsgp", "version": ...},
        "traceEvents": [...], "displayTimeUnit": "ms"}``, ready for
        :func:`json.dump`. Process 0 is named after the scenario; thread
        ``h`` is host ``h``.

    Notes
    -----
    Each recorded iteration of a node lasts ``end - start``, of which
    ``comm_wait`` seconds are communication or waiting for peers and the
    rest is compute, which ends at ``compute_end``. The time before the
    compute span and the time after it are ``communicate`` spans: OSGP
    blocks on its previous gossip round before it computes (and its last
    iteration also waits for its final round after), SGP, all-reduce and
    parameter servers communicate after. Empty communication spans are left
    out. Every span carries ``iteration``, ``loss``, ``bytes_sent`` and,
    where the algorithm has one, ``staleness``.

    A message is a flow pair sharing one ``id``: ``"ph": "s"`` on the
    sender's track at ``t_send`` and ``"ph": "f"`` (``"bp": "e"``) on the
    receiver's at ``t_delivered``, with ``args = {"nbytes": ...}``.

    Examples
    --------
    >>> import simsgp
    >>> result = simsgp.run({"iterations": 1, "cluster": {"nodes": 2}})
    >>> compute, communicate = [e for e in chrome_trace(result)["traceEvents"] if e["ph"] == "X"][:2]
    >>> compute["name"], compute["tid"], compute["ts"], compute["dur"], compute["args"]["iteration"]
    ('compute', 0, 0.0, 100000.0, 0)
    >>> communicate["name"], round(communicate["ts"], 3)
    ('communicate', 100000.0)
    """
    n = result.scenario.cluster.nodes
    hosts = n
    if result.messages is not None and len(result.messages):
        hosts = max(n, int(result.messages[:, :2].max()) + 1)
    events: list[dict[str, Any]] = [
        {"ph": "M", "pid": 0, "tid": 0, "name": "process_name", "args": {"name": _title(result)}},
    ]
    for host in range(hosts):
        name = f"node {host}" if host < n else f"server {host - n}"
        events.append({"ph": "M", "pid": 0, "tid": host, "name": "thread_name", "args": {"name": name}})
        events.append({"ph": "M", "pid": 0, "tid": host, "name": "thread_sort_index", "args": {"sort_index": host}})
    records = result.records
    for node in range(n):
        for t in range(len(records["start"])):
            events.extend(_iteration_spans(records, t, node))
    if result.messages is not None:
        for k, (src, dst, t_send, t_delivered, nbytes) in enumerate(result.messages.tolist()):
            flow = {"name": "message", "cat": "message", "id": k, "pid": 0, "args": {"nbytes": nbytes}}
            events.append({**flow, "ph": "s", "tid": int(src), "ts": t_send * _US})
            events.append({**flow, "ph": "f", "bp": "e", "tid": int(dst), "ts": t_delivered * _US})
    return {"otherData": {"generator": "simsgp", "version": result.version}, "traceEvents": events, "displayTimeUnit": "ms"}


_SIGNATURE = b'{"otherData":{"generator":"simsgp"'
"""How every trace file simsgp writes begins (what :func:`is_simsgp_trace` looks for)."""


def is_simsgp_trace(path: Path) -> bool:
    """Whether the file at ``path`` is a trace that simsgp wrote (and may overwrite)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(len(_SIGNATURE)) == _SIGNATURE
    except OSError:
        return False


def check_trace_target(path: str | Path, *, force: bool = False, option: str = "path") -> Path:
    """Check, before a run, that its trace can be written at ``path`` (see :func:`simsgp.outputs.check_file_target`).

    Missing parent folders are made. A folder, a symbolic link, or a file
    that is not a simsgp trace (without ``force``) is refused in one line
    naming ``option``.
    """
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError):
        pass  # the check below says what is wrong with the path
    return check_file_target(path, option=option, what="a trace written by simsgp", force=force, ours=is_simsgp_trace)


def _iteration_spans(records: dict[str, Any], t: int, node: int) -> list[dict[str, Any]]:
    """The compute span and any communicate span of iteration ``t`` of ``node`` (none if unfinished)."""
    start, compute_end, end = (float(records[f][t, node]) for f in ("start", "compute_end", "end"))
    if math.isnan(start) or math.isnan(end):
        return []
    wait = float(records["comm_wait"][t, node])
    compute = end - start - wait
    args = {
        "iteration": t,
        "loss": float(records["loss"][t, node]),
        "bytes_sent": float(records["bytes_sent"][t, node]),
        "staleness": float(records["staleness"][t, node]),
    }
    args = {key: value for key, value in args.items() if not (isinstance(value, float) and math.isnan(value))}
    compute_start = compute_end - compute
    base = {"ph": "X", "pid": 0, "tid": node, "args": args}
    spans = [{**base, "name": "compute", "cat": "compute", "ts": compute_start * _US, "dur": compute * _US}]
    for begin, finish in ((start, compute_start), (compute_end, end)):
        if finish - begin > _EMPTY * max(end, 1.0):
            spans.append({**base, "name": "communicate", "cat": "communicate", "ts": begin * _US,
                          "dur": (finish - begin) * _US})
    return spans


def _title(result: Result) -> str:
    scenario = result.scenario
    return (
        f"{scenario.algorithm.name}, {scenario.cluster.nodes} nodes, "
        f"{scenario.network.topology}, {scenario.task.name}, seed {scenario.seed}"
    )


def write_chrome_trace(result: Result, path: str | Path, *, force: bool = False) -> Path:
    """Write :func:`chrome_trace` of ``result`` as strict JSON to ``path``, atomically.

    NaN and infinite values (the losses of a timing-only run) are written as
    ``null``. An existing file is overwritten only if it is a simsgp trace,
    or with ``force`` (see :func:`check_trace_target`).

    Returns
    -------
    Path
        The written file.

    Examples
    --------
    >>> import json, tempfile, simsgp
    >>> result = simsgp.run({"iterations": 1, "cluster": {"nodes": 2}})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = write_chrome_trace(result, Path(folder) / "run.json")
    ...     json.loads(path.read_text())["displayTimeUnit"]
    'ms'
    """
    target = check_trace_target(path, force=force)
    text = json.dumps(jsonable(chrome_trace(result)), separators=(",", ":"), allow_nan=False) + "\n"
    write_atomic(target, text.encode("utf-8"))
    return target
