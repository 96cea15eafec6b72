"""Parameter sweeps: a grid of scenario overrides, run in parallel, resumable, one tidy table out.

A grid maps dotted scenario keys to the values to try; every combination is a
point, applied to a base scenario as ``--set`` style overrides. Points run in
a local process pool or on a Dask distributed cluster. Each finished run is
written atomically to ``OUT/runs/<key>.json``, where ``key`` hashes the
resolved scenario, so a rerun skips what already succeeded and a killed sweep
loses no finished run. At the end ``OUT/results.csv`` (and
``OUT/results.parquet`` when pyarrow is installed) holds one row per point.

The engine never imports this module.

Examples
--------
>>> import tempfile
>>> from simsgp.scenario import from_dict
>>> base = from_dict({"iterations": 5, "cluster": {"nodes": 2}, "eval_every": 0})
>>> grid = parse_grid(["cluster.nodes=2,4", "algorithm.name=sgp,allreduce"])
>>> with tempfile.TemporaryDirectory() as out:
...     rows = run_sweep(base, grid, out, workers=1, progress=False)
>>> [(r["cluster.nodes"], r["algorithm.name"], r["status"]) for r in rows]
[(2, 'sgp', 'ok'), (2, 'allreduce', 'ok'), (4, 'sgp', 'ok'), (4, 'allreduce', 'ok')]
"""

from __future__ import annotations

import concurrent.futures
import csv
import hashlib
import importlib.util
import io
import itertools
import json
import math
import numbers
import os
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from simsgp._version import __version__
from simsgp.engine import run
from simsgp.errors import ScenarioError, SimsgpError
from simsgp.progress import ProgressLine
from simsgp.scenario import (
    Scenario,
    _parse_literal,
    apply_overrides,
    from_dict,
    load,
    to_dict,
)

__all__ = ["SUMMARY_COLUMNS", "cli_sweep", "expand_grid", "load_runs", "parse_grid", "run_sweep", "scenario_key"]

SUMMARY_COLUMNS = (
    "iterations",
    "sim_time",
    "sim_time_per_iteration",
    "median_node_time_per_iteration",
    "time_to_target",
    "final_loss",
    "final_accuracy",
    "consensus_distance",
    "compute_fraction",
    "comm_wait_fraction",
    "bytes_sent",
    "max_link_utilization",
)
"""Scalar summary metrics copied into the results table, in column order."""

_ROW_COLUMNS = ("key", "status", "error")


# --- grids ----------------------------------------------------------------------


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``dotted.key=v1,v2,...`` specs into a grid, each value a TOML literal.

    The right-hand side is split on the commas outside quotes, arrays and
    inline tables; each item is read as a TOML literal, a bare word being a
    string (as in ``--set``).

    Parameters
    ----------
    specs : sequence of str
        One spec per key, such as ``"cluster.nodes=4,8,16"``.

    Returns
    -------
    dict of str to list
        The values of each key, keys and values in the order given.

    Raises
    ------
    ScenarioError
        A spec without ``=``, key or values, with an empty value, or a key given twice.

    Examples
    --------
    >>> parse_grid(["cluster.nodes=4,8,16", "algorithm.name=sgp,allreduce", 'task.payload="task",1e6'])
    {'cluster.nodes': [4, 8, 16], 'algorithm.name': ['sgp', 'allreduce'], 'task.payload': ['task', 1000000.0]}
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        key, sep, raw = spec.partition("=")
        key, raw = key.strip(), raw.strip()
        if not sep or not key or not raw:
            raise ScenarioError(f"grid spec {spec!r}; expected key=value1,value2,..., such as cluster.nodes=4,8,16")
        if key in grid:
            raise ScenarioError(f"grid spec {spec!r}: key {key!r} is already in the grid; give all its values in one spec")
        items = [item.strip() for item in _split_top_level(raw)]
        if not all(items):
            raise ScenarioError(f"grid spec {spec!r} has an empty value; expected key=value1,value2,...")
        grid[key] = [_parse_literal(item) for item in items]
    return grid


def _split_top_level(text: str) -> list[str]:
    """Split ``text`` on the commas that are outside quotes, ``[...]`` and ``{...}``."""
    items, depth, quote, escaped, start = [], 0, "", False, 0
    for i, char in enumerate(text):
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            items.append(text[start:i])
            start = i + 1
    items.append(text[start:])
    return items


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values (the cartesian product), in a fixed order.

    The first key varies slowest; keys and values keep the order given. An
    empty grid has one point, the base scenario itself.

    Raises
    ------
    ScenarioError
        A key whose values are not a non-empty list.

    Examples
    --------
    >>> expand_grid({"cluster.nodes": [4, 8], "algorithm.name": ["sgp", "allreduce"]})  # doctest: +NORMALIZE_WHITESPACE
    [{'cluster.nodes': 4, 'algorithm.name': 'sgp'}, {'cluster.nodes': 4, 'algorithm.name': 'allreduce'},
     {'cluster.nodes': 8, 'algorithm.name': 'sgp'}, {'cluster.nodes': 8, 'algorithm.name': 'allreduce'}]
    >>> expand_grid({})
    [{}]
    """
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ScenarioError(f"grid key {key!r} has values {values!r}; expected a non-empty list of values")
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def scenario_key(scenario: Scenario) -> str:
    """A short stable name of a resolved scenario: 16 hex digits of the SHA-256 of its canonical JSON.

    Equal scenarios have equal keys in every process and on every machine: the
    scenario is re-validated first, so a default written as an int in a float
    field hashes like the float that a TOML file or override gives.

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> key = scenario_key(from_dict({"cluster": {"nodes": 4}}))
    >>> len(key), key == scenario_key(from_dict({"cluster": {"nodes": 4}}))
    (16, True)
    >>> key == scenario_key(from_dict({"cluster": {"nodes": 8}}))
    False
    """
    return _digest(to_dict(from_dict(to_dict(scenario))))


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _toml_literal(value: Any, name: str) -> str:
    """``value`` written as a TOML literal, for :func:`simsgp.scenario.apply_overrides`."""
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
        items = ", ".join(f"{json.dumps(str(k), ensure_ascii=False)} = {_toml_literal(v, name)}" for k, v in value.items())
        return f"{{ {items} }}"
    if isinstance(value, Sequence):
        return f"[{', '.join(_toml_literal(v, name) for v in value)}]"
    raise ScenarioError(
        f"grid value {name}={value!r}; expected a number, string, boolean, list or table "
        "(TOML has no null: leave the key out of the grid to keep the base value)"
    )


# --- running --------------------------------------------------------------------


def run_sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run ``base`` at every point of ``grid``, skipping runs already finished in ``out``.

    Every point is resolved and validated before anything runs; a point that
    does not validate, or whose run raises, becomes a failed row and the other
    points go on. Runs sharing a resolved scenario run once.

    Parameters
    ----------
    base : Scenario
        The scenario each point overrides.
    grid : mapping of str to sequence
        Dotted scenario keys to their values (see :func:`parse_grid`).
    out : str or Path
        Output folder, created if missing: ``runs/<key>.json`` per run
        (see :func:`load_runs`), ``results.csv`` and, with pyarrow,
        ``results.parquet``.
    workers : int, optional
        Local worker processes (default: ``os.cpu_count()``); 1 runs in this
        process. Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask distributed scheduler, such as ``"tcp://host:8786"``;
        needs the ``dask`` extra (``pip install simsgp[dask]``). Run files are
        written by this process, so workers need no shared file system.
    progress : bool, default True
        Show a one-line progress bar on stderr.

    Returns
    -------
    list of dict
        One row per grid point, in grid order: the grid keys, ``key``,
        ``status`` (``"ok"`` or ``"failed"``), ``error`` (``None`` or
        ``"ExcType: message"``), the :data:`SUMMARY_COLUMNS` (``None`` when
        failed; named ``summary.<name>`` if a grid key has the same name)
        and ``wall_seconds``. The same rows make up ``results.csv``.

    Raises
    ------
    SimsgpError
        ``workers`` below 1, or ``scheduler`` given without dask installed.
    ScenarioError
        A malformed grid (see :func:`expand_grid`).

    Examples
    --------
    >>> import tempfile
    >>> from simsgp.scenario import from_dict
    >>> base = from_dict({"iterations": 5, "cluster": {"nodes": 2}, "eval_every": 0})
    >>> with tempfile.TemporaryDirectory() as out:
    ...     rows = run_sweep(base, {"cluster.nodes": [1, 4]}, out, workers=1, progress=False)
    >>> [(r["cluster.nodes"], r["status"]) for r in rows]
    [(1, 'failed'), (4, 'ok')]
    >>> print(rows[0]["error"])
    ScenarioError: cluster.nodes=1; expected an integer >= 2
    """
    return _sweep(base, grid, out, workers=workers, scheduler=scheduler, progress=progress)[0]


def _sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    *,
    workers: int | None,
    scheduler: str | None,
    progress: bool,
) -> tuple[list[dict[str, Any]], int]:
    """:func:`run_sweep` plus the number of runs skipped because they had finished before."""
    workers = (os.cpu_count() or 1) if workers is None else workers
    if workers < 1:
        raise SimsgpError(f"workers={workers}; expected an integer >= 1")
    points = expand_grid(grid)
    runs_dir = Path(out) / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    for stale in runs_dir.glob(".*.json.*.tmp"):  # left by a sweep killed mid-write
        stale.unlink()

    keys: list[str] = []  # the run of each point
    first_point: dict[str, dict[str, Any]] = {}  # the point that names each run
    records: dict[str, dict[str, Any]] = {}
    todo: dict[str, Scenario] = {}
    skipped = 0
    for point in points:
        try:
            scenario = apply_overrides(base, [f"{k}={_toml_literal(v, k)}" for k, v in point.items()])
        except ScenarioError as exc:
            key = _digest({"base": to_dict(base), "point": {k: repr(v) for k, v in point.items()}})
            records[key] = _record(key, point, None, _outcome_of(exc, 0.0))
            _write_json(runs_dir / f"{key}.json", records[key])
            keys.append(key)
            continue
        key = scenario_key(scenario)
        keys.append(key)
        if key in first_point:
            continue
        first_point[key] = point
        previous = _read_run(runs_dir / f"{key}.json")
        if previous is not None and previous["status"] == "ok":
            records[key] = previous
            skipped += 1
        else:
            todo[key] = scenario

    already = f"{skipped} skipped, " if skipped else ""
    bar = ProgressLine("sweep", len(todo), "runs", detail=f"{already}0 failed", interval=0) if progress else None
    failed = 0
    for done, (key, outcome) in enumerate(_execute(todo, workers=workers, scheduler=scheduler), 1):
        records[key] = _record(key, first_point[key], todo[key], outcome)
        _write_json(runs_dir / f"{key}.json", records[key])
        failed += outcome["status"] != "ok"
        if bar is not None:
            bar.update(done, f"{already}{failed} failed")
    if bar is not None:
        bar.close()

    rows = [_row(point, records[key]) for point, key in zip(points, keys)]
    _write_tables(Path(out), list(grid), rows)
    return rows, skipped


def _run_point(scenario: Scenario) -> dict[str, Any]:
    """Run one scenario in a worker; an exception becomes a failed outcome."""
    start = time.perf_counter()
    try:
        result = run(scenario)
    except Exception as exc:  # noqa: BLE001 (recorded in the run file and the table, never dropped)
        return _outcome_of(exc, time.perf_counter() - start)
    data = result.to_dict()
    return {
        "status": "ok",
        "version": result.version,
        "summary": data["summary"],
        "evaluations": data["evaluations"],
        "error": None,
        "wall_seconds": time.perf_counter() - start,
    }


def _outcome_of(exc: BaseException, wall_seconds: float) -> dict[str, Any]:
    return {
        "status": "failed",
        "version": __version__,
        "summary": None,
        "evaluations": None,
        "error": f"{type(exc).__name__}: {exc}",
        "wall_seconds": wall_seconds,
    }


def _record(key: str, point: Mapping[str, Any], scenario: Scenario | None, outcome: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "key": key,
        "status": outcome["status"],
        "point": dict(point),
        "scenario": None if scenario is None else to_dict(scenario),
        "version": outcome["version"],
        "summary": outcome["summary"],
        "evaluations": outcome["evaluations"],
        "error": outcome["error"],
        "wall_seconds": outcome["wall_seconds"],
    }


def _execute(todo: Mapping[str, Scenario], *, workers: int, scheduler: str | None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield ``(key, outcome)`` for every scenario in ``todo`` as each finishes."""
    if not todo:
        return
    if scheduler is not None:
        yield from _execute_dask(todo, scheduler)
    elif workers == 1 or len(todo) == 1:
        for key, scenario in todo.items():
            yield key, _run_point(scenario)
    else:
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(todo)))
        try:
            futures = {pool.submit(_run_point, scenario): key for key, scenario in todo.items()}
            for future in concurrent.futures.as_completed(futures):
                yield futures[future], _future_outcome(future)
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(todo: Mapping[str, Scenario], scheduler: str) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        import distributed
    except ImportError:
        raise SimsgpError(
            f"scheduler={scheduler!r} needs Dask distributed; install it with pip install 'simsgp[dask]'"
        ) from None
    with distributed.Client(scheduler, set_as_default=False) as client:
        futures = {client.submit(_run_point, scenario, pure=False): key for key, scenario in todo.items()}
        for future in distributed.as_completed(futures, loop=client.loop):
            yield futures[future], _future_outcome(future)


def _future_outcome(future: Any) -> dict[str, Any]:
    """The outcome of a finished future; a lost worker or broken pool fails only its runs."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 (recorded as a failed run, retried by the next sweep)
        return _outcome_of(exc, 0.0)


# --- files ----------------------------------------------------------------------


def _write_atomic(path: Path, data: bytes) -> None:
    """Write ``path`` atomically: a hidden temporary file in the same folder, then :func:`os.replace`."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    _write_atomic(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode())


def _read_run(path: Path) -> dict[str, Any] | None:
    """A run file's record, or ``None`` if it is missing or unreadable (then the run is redone)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def load_runs(out: str | Path) -> list[dict[str, Any]]:
    """Read back every run file of a sweep folder, sorted by key.

    Each record has ``key``, ``status`` (``"ok"`` or ``"failed"``), ``point``
    (the grid values, by dotted key), ``scenario`` (resolved, as
    :func:`simsgp.scenario.to_dict`; ``None`` when the point did not
    validate), ``version``, ``summary`` and ``evaluations`` (as
    :meth:`simsgp.Result.to_dict`; ``None`` when failed), ``error`` and
    ``wall_seconds``.

    Raises
    ------
    SimsgpError
        ``out`` has no ``runs`` folder.

    Examples
    --------
    >>> import tempfile
    >>> from simsgp.scenario import from_dict
    >>> base = from_dict({"iterations": 5, "cluster": {"nodes": 2}, "eval_every": 0})
    >>> with tempfile.TemporaryDirectory() as out:
    ...     _ = run_sweep(base, {"seed": [0, 1]}, out, workers=1, progress=False)
    ...     runs = load_runs(out)
    >>> sorted(r["point"]["seed"] for r in runs), runs[0]["summary"]["iterations"]
    ([0, 1], 5)
    """
    runs_dir = Path(out) / "runs"
    if not runs_dir.is_dir():
        raise SimsgpError(f"{str(out)!r} has no runs folder; expected the output folder of a sweep")
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(runs_dir.glob("*.json"))]


def _row(point: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    summary = record["summary"] or {}
    row = dict(point)
    row.update({"key": record["key"], "status": record["status"], "error": record["error"]})
    for name in SUMMARY_COLUMNS:
        row[f"summary.{name}" if name in point else name] = summary.get(name)
    row["wall_seconds"] = record["wall_seconds"]
    return row


def _write_tables(out: Path, grid_keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``results.csv`` and, with pyarrow, ``results.parquet``.

    A grid column whose values are not all of one scalar type (or all numbers)
    is written as TOML literals, so each column has one type.
    """
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    for name in grid_keys:
        if not _uniform(columns[name]):
            columns[name] = [_toml_literal(v, name) for v in columns[name]]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    _write_atomic(out / "results.csv", text.getvalue().encode())
    if importlib.util.find_spec("pyarrow") is not None:
        import pyarrow
        import pyarrow.parquet

        buffer = pyarrow.BufferOutputStream()
        pyarrow.parquet.write_table(pyarrow.table(columns), buffer)
        _write_atomic(out / "results.parquet", buffer.getvalue().to_pybytes())


def _uniform(values: Sequence[Any]) -> bool:
    kinds = {type(v) for v in values}
    numeric = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    return numeric or (len(kinds) == 1 and kinds <= {bool, int, float, str})


# --- command line ---------------------------------------------------------------


def cli_sweep(
    scenario: str | None,
    grid_specs: list[str],
    out: str,
    *,
    overrides: list[str],
    workers: int | None,
    scheduler: str | None,
) -> int:
    """``simsgp sweep``: load a scenario, apply ``--set`` overrides, sweep the grid, print a summary.

    Parameters
    ----------
    scenario : str or None
        Preset name or TOML path (``None``: the ``default`` preset).
    grid_specs : list of str
        ``dotted.key=v1,v2,...`` specs (see :func:`parse_grid`).
    out : str
        Output folder (see :func:`run_sweep`).
    overrides : list of str
        ``dotted.key=value`` assignments applied to the scenario first.
    workers, scheduler
        As for :func:`run_sweep`.

    Returns
    -------
    int
        0 if every point ran ok, 1 if some failed.

    Raises
    ------
    SimsgpError
        A bad scenario, override or grid spec, or a bad ``workers`` or
        ``scheduler``; nothing has run then.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:  # doctest: +ELLIPSIS
    ...     code = cli_sweep(None, ["cluster.nodes=2,3"], out, overrides=["iterations=5", "eval_every=0"],
    ...                      workers=1, scheduler=None)
    2 points: 2 ok (0 skipped, already done), 0 failed
    table: .../results.csv
    >>> code
    0
    """
    base = apply_overrides(load(scenario), overrides)
    grid = parse_grid(grid_specs)
    rows, skipped = _sweep(base, grid, out, workers=workers, scheduler=scheduler, progress=True)
    failed = [row for row in rows if row["status"] != "ok"]
    print(f"{len(rows)} points: {len(rows) - len(failed)} ok ({skipped} skipped, already done), {len(failed)} failed")
    for row in failed:
        point = " ".join(f"{k}={_toml_literal(row[k], k)}" for k in grid)
        print(f"  failed {point}: {row['error']}")
    print(f"table: {Path(out) / 'results.csv'}")
    return 1 if failed else 0
