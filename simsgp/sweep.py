"""Parameter sweeps: a grid of scenario overrides, run in parallel, resumable, one tidy table out.

A grid maps dotted scenario keys to the values to try; every combination is a
point, applied to a base scenario as ``--set`` style overrides. Points run in
this process, in local worker processes or on a Dask distributed cluster.
Each finished run is written atomically to ``OUT/runs/<key>.json``, where
``key`` hashes the resolved scenario, so a killed sweep loses no finished run.
At the end ``OUT/results.csv`` (and ``OUT/results.parquet`` when pyarrow is
installed) holds one row per run, and ``OUT/results-mean.csv`` (and
``.parquet``) one row per point over its seeds: with ``seeds``, every point
runs once per seed, and each summary column gets its mean and the half-width
of its 95 % Student-t interval (see :func:`run_sweep`).

From a notebook
    This module is callable: ``simsgp.sweep(scenario, grid, out)`` is
    :func:`sweep`, which runs the same resumable sweep and returns its runs
    as a pandas DataFrame; :func:`load_results` reads any sweep folder back
    as one.

Resuming
    A rerun skips a run whose file says it succeeded, was made by this simsgp
    version (unless ``reuse_other_versions``) and read input files with the
    same SHA-256 digests (``inputs``: the topology file and a compute trace,
    see :func:`simsgp.scenario.input_files`): editing a trace or a topology,
    or upgrading simsgp, redoes the runs it affects. A run file that cannot be
    read as a run record (not UTF-8, not JSON, missing keys, wrong types, a
    folder) is redone, with a warning (:func:`warnings.warn`) naming it;
    failed and timed-out runs are redone too.

One sweep per folder
    A sweep holds an exclusive lock (:func:`fcntl.flock`) on
    ``OUT/.simsgp-sweep.lock`` while it runs, and the file names the pid of
    the holder; a second sweep on the same folder stops at once with an error
    naming that pid. Only the holder of the lock removes the hidden temporary
    files that a killed sweep left behind. Where the file system has no such
    locks (and on Windows), sweeps go on unlocked and leave stale temporary
    files alone.

Failures stay local
    A point that does not resolve, raises, runs past ``timeout`` or kills its
    worker process becomes a failed row; the other points go on. Worker
    processes end when the sweep's process dies. On Ctrl-C, finished runs are
    kept, workers are stopped and :class:`SweepInterrupted` is raised.

Every file is strict JSON (non-finite numbers written as ``null``) and every
file gets the mode the umask gives (see :mod:`simsgp.outputs`). The engine
never imports this module.

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

import contextlib
import csv
import ctypes
import functools
import hashlib
import importlib.util
import io
import itertools
import json
import math
import multiprocessing
import multiprocessing.connection
import numbers
import os
import queue
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from simsgp._version import __version__
from simsgp.errors import ScenarioError, SimsgpError, shown
from simsgp.outputs import check_file_target, check_folder_target, write_atomic
from simsgp.report import over_seeds
from simsgp.report.progress import ProgressLine
from simsgp.report.result import jsonable
from simsgp.report.series import run_entries
from simsgp.scenario import Scenario, applies, apply_overrides, from_dict, input_files, load, resolve, to_dict
from simsgp.scenario.literals import toml_literal
from simsgp.scenario.loader import _parse_literal
from simsgp.sim.budget import Limits
from simsgp.sim.engine import run

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MAX_POINTS",
    "SUMMARY_COLUMNS",
    "SweepInterrupted",
    "applicable_point",
    "cli_sweep",
    "expand_grid",
    "iter_grid",
    "load_results",
    "load_runs",
    "parse_grid",
    "run_sweep",
    "scenario_key",
    "sweep",
]

SUMMARY_COLUMNS = over_seeds.RUN_METRICS
"""Scalar summary metrics copied into the results table, in column order."""

MAX_POINTS = 100_000
"""The most points a grid may have; a larger one is refused before anything is expanded."""

_LOCK_NAME = ".simsgp-sweep.lock"
_CONNECT_TIMEOUT = 5.0  # seconds to reach a Dask scheduler
_NO_WORKERS_GRACE = 30.0  # seconds a Dask cluster may have no worker before the sweep stops
_POLL = 0.5  # seconds between checks of Dask timeouts and workers
_STOP_WAIT = 5.0  # seconds a worker process gets to exit before it is killed
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>

_RECORD_TYPES: dict[str, tuple[type, ...]] = {
    "key": (str,),
    "status": (str,),
    "point": (dict,),
    "scenario": (dict, type(None)),
    "version": (str,),
    "summary": (dict, type(None)),
    "evaluations": (dict, type(None)),
    "error": (str, type(None)),
    "wall_seconds": (int, float, type(None)),
}
"""The keys every run record has, with their JSON types; ``inputs`` (dict or null) is optional, and so are
``timeline`` and ``links`` (see :func:`simsgp.report.series.run_entries`; absent in older run files)."""

RunPoint = Callable[[Scenario, float | None], dict[str, Any]]
"""Runs one scenario with a timeout and returns its outcome (see :func:`_run_point`)."""


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C; the runs finished so far are kept in its folder.

    Attributes
    ----------
    finished, total : int
        Runs with a run file (done now or before) and runs in the sweep.
    out : Path
        The sweep's folder; rerunning the sweep resumes it.
    """

    def __init__(self, finished: int, total: int, out: Path):
        super().__init__(f"interrupted; {finished} of {total} runs finished and kept in {out} (rerun to resume)")
        self.finished, self.total, self.out = finished, total, out


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
            raise ScenarioError(f"grid spec {shown(spec)}; expected key=value1,value2,..., such as cluster.nodes=4,8,16")
        if key in grid:
            raise ScenarioError(
                f"grid spec {shown(spec)}: key {shown(key)} is already in the grid; give all its values in one spec"
            )
        items = [item.strip() for item in _split_top_level(raw)]
        if not all(items):
            raise ScenarioError(f"grid spec {shown(spec)} has an empty value; expected key=value1,value2,...")
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


def iter_grid(grid: Mapping[str, Sequence[Any]]) -> Iterator[dict[str, Any]]:
    """Every combination of the grid's values (the cartesian product), one at a time, in a fixed order.

    The grid is checked at once, before the first point: the number of
    points (the product of the number of values of each key) is counted
    without expanding anything.

    Parameters
    ----------
    grid : mapping of str to sequence
        Dotted scenario keys to their values (see :func:`parse_grid`).

    Returns
    -------
    iterator of dict
        The points; the first key varies slowest, keys and values keep the
        order given. An empty grid has one point, the base scenario itself.

    Raises
    ------
    ScenarioError
        A key whose values are not a non-empty list, or more than
        :data:`MAX_POINTS` points.

    Examples
    --------
    >>> points = iter_grid({"seed": [0, 1], "cluster.nodes": [4, 8]})
    >>> next(points), next(points)
    ({'seed': 0, 'cluster.nodes': 4}, {'seed': 0, 'cluster.nodes': 8})
    >>> iter_grid({"seed": list(range(1000)), "cluster.nodes": list(range(2, 1002))})
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: the grid has 1000000 points; at most 100000 are allowed (split it into several sweeps)
    """
    for key, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
            raise ScenarioError(f"grid key {shown(key)} has values {shown(values)}; expected a non-empty list of values")
    count = math.prod(len(values) for values in grid.values())
    if count > MAX_POINTS:
        raise ScenarioError(
            f"the grid has {shown(count)} points; at most {MAX_POINTS} are allowed (split it into several sweeps)"
        )
    keys = list(grid)
    return (dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys)))


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every point of the grid as a list (see :func:`iter_grid`, which checks the grid the same way).

    Examples
    --------
    >>> expand_grid({"cluster.nodes": [4, 8], "algorithm.name": ["sgp", "allreduce"]})  # doctest: +NORMALIZE_WHITESPACE
    [{'cluster.nodes': 4, 'algorithm.name': 'sgp'}, {'cluster.nodes': 4, 'algorithm.name': 'allreduce'},
     {'cluster.nodes': 8, 'algorithm.name': 'sgp'}, {'cluster.nodes': 8, 'algorithm.name': 'allreduce'}]
    >>> expand_grid({})
    [{}]
    """
    return list(iter_grid(grid))


def scenario_key(scenario: Scenario) -> str:
    """A short stable name of a resolved scenario: 16 hex digits of the SHA-256 of its canonical JSON.

    Equal scenarios have equal keys in every process and on every machine: the
    scenario is re-validated first, so a default written as an int in a float
    field hashes like the float that a TOML file or override gives. The
    contents of the files the scenario names are not part of the key; a
    sweep compares their digests before reusing a run (see the module notes).

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> key = scenario_key(from_dict({"cluster": {"nodes": 4}}))
    >>> len(key), key == scenario_key(from_dict({"cluster": {"nodes": 4}}))
    (16, True)
    >>> key == scenario_key(from_dict({"cluster": {"nodes": 8}}))
    False
    """
    return _digest(to_dict(resolve(from_dict(to_dict(scenario)))))


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _toml_literal(value: Any, name: str) -> str:
    """``value`` as a TOML literal for :func:`simsgp.scenario.apply_overrides`; an error names the grid value."""
    return toml_literal(value, f"grid value {name}")


# --- running --------------------------------------------------------------------


def run_sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    timeout: float | None = None,
    progress: bool = True,
    force: bool = False,
    reuse_other_versions: bool = False,
    allow_large: bool = False,
    seeds: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Run ``base`` at every point of ``grid``, skipping runs already finished in ``out``.

    Every point is resolved and validated before anything runs; a point that
    does not resolve, whose input files cannot be read, whose run raises, runs
    past ``timeout`` or kills its worker process becomes a failed row and the
    other points go on. Runs sharing a resolved scenario run once.

    Parameters
    ----------
    base : Scenario
        The scenario each point overrides.
    grid : mapping of str to sequence
        Dotted scenario keys to their values (see :func:`parse_grid`), at most
        :data:`MAX_POINTS` points.
    out : str or Path
        Output folder, created if missing: ``runs/<key>.json`` per run
        (see :func:`load_runs`), ``results.csv`` and, with pyarrow,
        ``results.parquet``. An existing folder must be empty or made by a
        sweep, unless ``force``.
    workers : int, optional
        Local worker processes (default: ``os.cpu_count()``); 1 runs in this
        process. Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask distributed scheduler, such as ``"tcp://host:8786"``;
        needs the ``dask`` extra (``pip install simsgp[dask]``). Run files are
        written by this process, so workers need no shared file system.
    timeout : float, optional
        Wall seconds a run may take; a longer one is recorded as failed with
        the error ``"timed out after T s"``. Locally a ``SIGALRM`` timer in the
        process running the point stops it (not on Windows; with
        ``workers=1`` the sweep must run in the main thread). On Dask the
        client gives up on a run ``timeout`` seconds after a worker started it
        and cancels it; Dask cannot interrupt a running task, so the worker
        finishes it in the background and its result is dropped.
    progress : bool, default True
        Show a progress line on stderr (rewritten in place on a terminal).
    force : bool, default False
        Write into an existing non-empty ``out`` that no sweep made.
    reuse_other_versions : bool, default False
        Reuse finished runs made by another simsgp version (by default they
        are redone).
    allow_large : bool, default False
        Run points past the memory and event limits of
        :class:`simsgp.sim.budget.Limits` (with a warning) instead of failing them.
    seeds : sequence of int, optional
        Run every point once per seed (1 to
        :data:`simsgp.report.over_seeds.MAX_SEEDS` distinct integers >= 0):
        ``seed`` becomes the last grid key, so it varies fastest and a rerun
        with more seeds runs only the new ones. ``grid`` may not have
        ``seed`` then.

    Returns
    -------
    list of dict
        One row per grid point, in grid order: the grid keys, ``key``,
        ``status`` (``"ok"`` or ``"failed"``), ``error`` (``None`` or what
        went wrong, such as ``"ExcType: message"``), the
        :data:`SUMMARY_COLUMNS` (``None`` when failed; named
        ``summary.<name>`` if a grid key has the same name) and
        ``wall_seconds``. The same rows make up ``results.csv``; one row
        per point over its seeds (the grid keys, ``seeds``, the number of
        its runs that are ok, and ``<column>_mean`` and ``<column>_ci95``,
        the half-width of the 95 % Student-t interval, of each summary
        column; see :func:`simsgp.report.over_seeds.point_means`) makes up
        ``results-mean.csv`` (and ``results-mean.parquet`` with pyarrow).
        Without ``seeds`` each point has its one run (and no half-width).

    Raises
    ------
    SimsgpError
        A bad ``workers``, ``timeout``, ``seeds`` or ``out``, ``seeds`` with
        a grid over ``seed``, ``out`` in use by another
        sweep, ``scheduler`` given without dask installed or not reachable, or
        a Dask cluster left without workers; nothing has run in the first
        cases.
    ScenarioError
        A malformed grid (see :func:`iter_grid`).
    SweepInterrupted
        Ctrl-C; the runs finished so far are kept.

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
    options = _Options(workers, scheduler, timeout, force, reuse_other_versions, allow_large, cli=False)
    return _sweep(base, grid, out, options, progress=progress, seeds=seeds)[0]


class _Options:
    """The options of a sweep, checked, with the names the user gave them (``timeout`` or ``--timeout``)."""

    def __init__(
        self,
        workers: int | None,
        scheduler: str | None,
        timeout: float | None,
        force: bool,
        reuse_other_versions: bool,
        allow_large: bool,
        *,
        cli: bool,
    ):
        self.cli = cli
        self.workers = (os.cpu_count() or 1) if workers is None else workers
        if isinstance(self.workers, bool) or not isinstance(self.workers, int) or self.workers < 1:
            raise SimsgpError(f"{self.name('workers')}={shown(workers)}; expected an integer >= 1")
        if timeout is not None:
            if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real) or not (0 < timeout < math.inf):
                raise SimsgpError(f"{self.name('timeout')}={shown(timeout)}; expected a positive finite number of seconds")
            timeout = float(timeout)
            if scheduler is None and not hasattr(signal, "setitimer"):
                raise SimsgpError(f"{self.name('timeout')} needs SIGALRM, which this platform lacks; use a Dask scheduler")
            if scheduler is None and self.workers == 1 and threading.current_thread() is not threading.main_thread():
                raise SimsgpError(
                    f"{self.name('timeout')} with {self.name('workers')}=1 needs the main thread (a SIGALRM timer); "
                    "use more workers or sweep from the main thread"
                )
        self.scheduler, self.timeout = scheduler, timeout
        self.force, self.reuse_other_versions = force, reuse_other_versions
        self.run_point: RunPoint = functools.partial(_run_point, allow_large=True) if allow_large else _run_point

    def name(self, option: str) -> str:
        """How the user spelt ``option``: ``--reuse-other-versions`` on the command line, else as given."""
        return f"--{option.replace('_', '-')}" if self.cli else option


def _sweep(
    base: Scenario,
    grid: Mapping[str, Sequence[Any]],
    out: str | Path,
    options: _Options,
    *,
    progress: bool,
    run_point: RunPoint | None = None,
    seeds: Sequence[int] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """:func:`run_sweep` plus the number of runs skipped because they had finished before.

    ``run_point`` replaces :func:`_run_point` (tests use it to make a point
    crash, hang or be interrupted).
    """
    point_keys = list(grid)  # the keys of a point: its runs over the seeds are one row of results-mean.csv
    grid = _with_seeds(grid, seeds, options)
    points = iter_grid(grid)
    out = check_folder_target(
        out, option=options.name("out"), what="made by simsgp sweep", force=options.force, ours=_is_sweep_folder
    )
    out.mkdir(parents=True, exist_ok=True)
    with _folder_lock(out, f"{options.name('out')}={shown(str(out))}") as locked:
        runs_dir = check_folder_target(out / "runs", option=options.name("out"), force=True)
        runs_dir.mkdir(exist_ok=True)
        tables = [out / f"{stem}.{ext}" for stem in ("results", "results-mean") for ext in ("csv", "parquet")]
        for table in tables:
            check_file_target(table, option=options.name("out"), force=True)
        if locked:  # left by a sweep killed mid-write; only the lock's holder may remove them
            for stale in [*runs_dir.glob(".*.json.*.tmp"), *(s for t in tables for s in out.glob(f".{t.name}.*.tmp"))]:
                stale.unlink(missing_ok=True)
        plan = _Plan(base, runs_dir, options)
        seen: set[str] = set()
        for given in points:
            point = applicable_point(base, given)
            name = _point_name(point)
            if point != given and name in seen:  # a key that does not apply adds no runs, and no rows
                continue
            seen.add(name)
            plan.add(point)
        records, skipped = plan.run(run_point or options.run_point, progress=progress)
        rows = [_row(point, records[key]) for point, key in zip(plan.points, plan.keys)]
        _write_tables(out, "results", list(grid), rows)
        _write_tables(out, "results-mean", point_keys, over_seeds.point_means(rows, point_keys, _summary_columns(grid)))
    return rows, skipped


def _with_seeds(grid: Mapping[str, Sequence[Any]], seeds: Sequence[int] | None, options: _Options) -> dict[str, Any]:
    """``grid`` with ``seed`` as its last key, over ``seeds`` (checked); ``grid`` as it is without seeds."""
    if seeds is None:
        return dict(grid)
    seeds = over_seeds.check_seeds(seeds, option=options.name("seeds"))
    over_seeds.check_no_seed_key(grid, given="--grid seed=..." if options.cli else "a grid over 'seed'", option=options.name("seeds"))
    return {**grid, "seed": seeds}


def _summary_columns(grid_keys: Iterable[str]) -> list[str]:
    """The name of each of the :data:`SUMMARY_COLUMNS` in the results table: ``summary.<name>`` if a grid key has it."""
    keys = set(grid_keys)
    return [f"summary.{name}" if name in keys else name for name in SUMMARY_COLUMNS]


def applicable_point(base: Scenario, point: Mapping[str, Any]) -> dict[str, Any]:
    """``point`` with None for each key that does not apply to its algorithm or task (see :func:`simsgp.scenario.applies`).

    A grid over ``algorithm.tau`` and ``algorithm.name`` gives OSGP one run
    per ``tau`` and SGP, which has no ``tau``, one run in all.

    Examples
    --------
    >>> from simsgp.scenario import from_dict
    >>> applicable_point(from_dict({}), {"algorithm.name": "sgp", "algorithm.tau": 2})
    {'algorithm.name': 'sgp', 'algorithm.tau': None}
    """
    names = {
        "algorithm": {"name": point.get("algorithm.name", base.algorithm.name)},
        "task": {"name": point.get("task.name", base.task.name)},
    }
    return {key: value if applies(key, names) else None for key, value in point.items()}


def _point_name(point: Mapping[str, Any]) -> str:
    return repr(sorted((key, repr(value)) for key, value in point.items()))


class _Plan:
    """The runs of a sweep: which point names each, which are already done, what is left to run."""

    def __init__(self, base: Scenario, runs_dir: Path, options: _Options):
        self.base, self.runs_dir, self.options = base, runs_dir, options
        self.points: list[dict[str, Any]] = []
        self.keys: list[str] = []  # the run of each point
        self.records: dict[str, dict[str, Any]] = {}  # finished runs, by key
        self.todo: dict[str, tuple[dict[str, Any], Scenario, dict[str, Any]]] = {}  # point, scenario, inputs
        self.skipped = 0
        self._digests: dict[Path, str] = {}  # SHA-256 of each input file, read once per sweep

    def add(self, point: dict[str, Any]) -> None:
        """Resolve ``point``; record it as failed, reuse its finished run or plan to run it."""
        self.points.append(point)
        try:
            given = [f"{k}={_toml_literal(v, k)}" for k, v in point.items() if v is not None]
            scenario = resolve(apply_overrides(self.base, given))
        except SimsgpError as exc:
            key = _digest({"base": to_dict(self.base), "point": {k: repr(v) for k, v in point.items()}})
            self.keys.append(key)
            self._finish(key, point, None, None, _outcome_of(exc, 0.0))
            return
        key = scenario_key(scenario)
        self.keys.append(key)
        if key in self.records or key in self.todo:
            return
        path = self.runs_dir / f"{key}.json"
        try:
            inputs = self._inputs(scenario)
            check_file_target(path, option=f"{self.options.name('out')} run file", force=True)
        except SimsgpError as exc:
            self._finish(key, point, scenario, None, _outcome_of(exc, 0.0))
            return
        previous = _previous_run(path)
        if previous is not None and self._reusable(previous, key, inputs):
            self.records[key] = previous
            self.skipped += 1
        else:
            self.todo[key] = (point, scenario, inputs)

    def run(self, run_point: RunPoint, *, progress: bool) -> tuple[dict[str, dict[str, Any]], int]:
        """Run what is left, writing each run file as it finishes; the records by key and the number skipped."""
        scenarios = {key: scenario for key, (_, scenario, _) in self.todo.items()}
        failed = 0
        try:
            with _dask_client(self.options, scenarios) as client:
                already = f"{self.skipped} skipped, " if self.skipped else ""
                bar = None
                if progress:
                    bar = ProgressLine("sweep", len(scenarios), "runs", detail=f"{already}0 failed", interval=0)
                try:
                    with contextlib.closing(_execute(scenarios, self.options, run_point, client)) as outcomes:
                        for done, (key, outcome) in enumerate(outcomes, 1):
                            point, scenario, inputs = self.todo[key]
                            failed += self._finish(key, point, scenario, inputs, outcome)["status"] != "ok"
                            if bar is not None:
                                bar.update(done, f"{already}{failed} failed")
                finally:
                    if bar is not None:
                        bar.close()
        except KeyboardInterrupt:
            raise SweepInterrupted(len(self.records), len(set(self.keys)), self.runs_dir.parent) from None
        return self.records, self.skipped

    def _inputs(self, scenario: Scenario) -> dict[str, dict[str, str]]:
        """Path and SHA-256 of each file the scenario reads; an unreadable one is an error naming its field."""
        inputs = {}
        for field, path in input_files(scenario).items():
            if path not in self._digests:
                try:
                    self._digests[path] = hashlib.sha256(path.read_bytes()).hexdigest()
                except OSError as exc:
                    reason = exc.strerror or exc
                    raise ScenarioError(f"{field}={shown(str(path))}: cannot read the file ({reason})") from None
            inputs[field] = {"path": str(path), "sha256": self._digests[path]}
        return inputs

    def _reusable(self, record: Mapping[str, Any], key: str, inputs: Mapping[str, Mapping[str, str]]) -> bool:
        """Whether ``record`` is a finished run of ``key`` made from the same input files (by digest) and version."""
        stored = record.get("inputs") or {}
        digests = {field: entry.get("sha256") if isinstance(entry, dict) else None for field, entry in stored.items()}
        same_inputs = digests == {field: entry["sha256"] for field, entry in inputs.items()}
        same_version = self.options.reuse_other_versions or record["version"] == __version__
        return record["status"] == "ok" and record["key"] == key and same_inputs and same_version

    def _finish(
        self,
        key: str,
        point: Mapping[str, Any],
        scenario: Scenario | None,
        inputs: Mapping[str, Any] | None,
        outcome: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Record a run and write its file; a file that cannot be written fails the run (kept for the table)."""
        record: dict[str, Any] = {
            "key": key,
            "status": outcome["status"],
            "point": dict(point),
            "scenario": None if scenario is None else to_dict(scenario),
            "inputs": None if inputs is None else dict(inputs),
            "version": outcome["version"],
            "summary": outcome["summary"],
            "evaluations": outcome["evaluations"],
            "timeline": outcome.get("timeline"),
            "links": outcome.get("links"),
            "error": outcome["error"],
            "wall_seconds": outcome["wall_seconds"],
        }
        record = jsonable(record)  # the table shows what the file holds
        try:
            _write_json(self.runs_dir / f"{key}.json", record)
        except SimsgpError as exc:
            if record["status"] == "ok":  # a failure keeps its own reason, which may be the same folder in the way
                record.update(_outcome_of(exc, record["wall_seconds"]))
        self.records[key] = record
        return record


def _run_point(scenario: Scenario, timeout: float | None, *, allow_large: bool = False) -> dict[str, Any]:
    """Run one scenario (in a worker or in this process); an exception or a timeout becomes a failed outcome."""
    start = time.perf_counter()
    try:
        with _deadline(timeout):
            result = run(scenario, limits=Limits(allow_large=allow_large))
            data = result.to_dict()
    except _TimedOut:
        return _failure(f"timed out after {timeout:g} s", time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001 (recorded in the run file and the table, never dropped)
        return _outcome_of(exc, time.perf_counter() - start)
    return {
        "status": "ok",
        "version": data["version"],
        "summary": data["summary"],
        "evaluations": data["evaluations"],
        **run_entries(result),
        "error": None,
        "wall_seconds": time.perf_counter() - start,
    }


class _TimedOut(BaseException):
    """Raised by the ``SIGALRM`` handler of :func:`_deadline`; a BaseException, so no ``except Exception`` eats it."""


@contextlib.contextmanager
def _deadline(seconds: float | None) -> Iterator[None]:
    """Raise :class:`_TimedOut` in this (main) thread if the block runs longer than ``seconds``.

    The previous ``SIGALRM`` handler is restored afterwards, and a timer that
    was set before is set again for the time it had left.
    """
    if seconds is None:
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise _TimedOut

    previous = signal.signal(signal.SIGALRM, expire)
    earlier, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    start = time.monotonic()
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
        if earlier:
            signal.setitimer(signal.ITIMER_REAL, max(earlier - (time.monotonic() - start), 1e-6))


def _failure(error: str, wall_seconds: float | None) -> dict[str, Any]:
    return {
        "status": "failed",
        "version": __version__,
        "summary": None,
        "evaluations": None,
        "error": error,
        "wall_seconds": wall_seconds,
    }


def _outcome_of(exc: BaseException, wall_seconds: float | None) -> dict[str, Any]:
    return _failure(f"{type(exc).__name__}: {exc}", wall_seconds)


def _execute(
    todo: Mapping[str, Scenario], options: _Options, run_point: RunPoint, client: Any = None
) -> Generator[tuple[str, dict[str, Any]], None, None]:
    """Yield ``(key, outcome)`` for every scenario in ``todo`` as each finishes (on ``client``'s cluster if given)."""
    if not todo:
        return
    if client is not None:
        yield from _execute_dask(todo, client, options.timeout, run_point, _scheduler_name(options))
    elif options.workers == 1:
        for key, scenario in todo.items():
            yield key, run_point(scenario, options.timeout)
    else:
        yield from _execute_local(todo, min(options.workers, len(todo)), options.timeout, run_point)


# --- local worker processes -----------------------------------------------------


def _execute_local(
    todo: Mapping[str, Scenario], workers: int, timeout: float | None, run_point: RunPoint
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``todo`` on ``workers`` processes, one point at a time each.

    Each worker runs one point at a time, so when one dies (``os._exit``, a
    segfault, the OOM killer) the point it was running is known: that point
    fails with ``"worker process died (...)"``, a new worker takes its place
    and the other points go on. On any exit other than completion (an
    interrupt, the caller closing this generator) the workers are terminated.
    """
    context = multiprocessing.get_context()
    pending = iter(todo.items())
    pool: list[_Worker] = []
    busy: list[_Worker] = []
    completed = False
    try:
        for key, scenario in itertools.islice(pending, workers):
            pool.append(_Worker(context, run_point, timeout))
            pool[-1].send(key, scenario)
            busy.append(pool[-1])
        while busy:
            ready = multiprocessing.connection.wait([w.conn for w in busy] + [w.process.sentinel for w in busy])
            for worker in [w for w in busy if w.conn in ready or w.process.sentinel in ready]:
                busy.remove(worker)
                key, outcome = worker.key, worker.receive()
                if worker.died:
                    pool.remove(worker)
                    worker.stop(now=True)
                following = next(pending, None)
                if following is not None:
                    if worker.died:
                        worker = _Worker(context, run_point, timeout)
                        pool.append(worker)
                    worker.send(*following)
                    busy.append(worker)
                yield key, outcome
        completed = True
    finally:
        for worker in pool:
            worker.stop(now=not completed)


class _Worker:
    """A child process that runs the scenarios sent over its pipe, one at a time (see :func:`_serve`)."""

    def __init__(self, context: Any, run_point: RunPoint, timeout: float | None):
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child, run_point, timeout, os.getpid()), name="simsgp-sweep")
        self.process.start()
        child.close()
        self.key = ""
        self.died = False

    def send(self, key: str, scenario: Scenario) -> None:
        """Give the worker ``scenario``; if it has died meanwhile, :meth:`receive` says so."""
        self.key = key
        with contextlib.suppress(OSError):
            self.conn.send(scenario)

    def receive(self) -> dict[str, Any]:
        """The outcome of the scenario sent; a failure if the process died running it."""
        with contextlib.suppress(EOFError, OSError):
            if self.conn.poll():
                return self.conn.recv()
        self.died = True
        self.process.join()
        code = self.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"exit code {code}"
        return _failure(f"worker process died ({how})", None)

    def stop(self, *, now: bool) -> None:
        """End the process: asked to (``now`` false) or terminated, then killed if it lingers."""
        if not now and self.process.is_alive():
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(_STOP_WAIT)
        for end in (self.process.terminate, self.process.kill):
            if self.process.is_alive():
                end()
                self.process.join(_STOP_WAIT)
        self.conn.close()


def _serve(conn: multiprocessing.connection.Connection, run_point: RunPoint, timeout: float | None, parent: int) -> None:
    """A worker's loop: run each scenario received, send back its outcome, stop at ``None``."""
    _exit_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the sweep's process, which stops the workers
    with contextlib.suppress(EOFError, BrokenPipeError):
        while (scenario := conn.recv()) is not None:
            conn.send(run_point(scenario, timeout))


def _exit_with_parent(parent: int) -> None:
    """End this process when process ``parent`` dies, so no worker outlives a killed sweep.

    On Linux the kernel sends ``SIGTERM`` (``prctl(PR_SET_PDEATHSIG)``);
    elsewhere a daemon thread checks :func:`os.getppid` every second.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
    except (AttributeError, OSError, TypeError):  # not Linux
        armed = False
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True, name="simsgp-parent-watch").start()
    if os.getppid() != parent:  # it died before the watch began
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


# --- Dask -----------------------------------------------------------------------


def _scheduler_name(options: _Options) -> str:
    return f"{options.name('scheduler')}={shown(options.scheduler)}"


@contextlib.contextmanager
def _dask_client(options: _Options, todo: Mapping[str, Scenario]) -> Iterator[Any]:
    """A client of ``options.scheduler`` for the block (``None`` without a scheduler or anything to run)."""
    if options.scheduler is None or not todo:
        yield None
        return
    name = _scheduler_name(options)
    try:
        import distributed
    except ImportError:
        raise SimsgpError(f"{name} needs Dask distributed; install it with pip install 'simsgp[dask]'") from None
    try:
        client = distributed.Client(options.scheduler, set_as_default=False, timeout=_CONNECT_TIMEOUT)
    except ValueError as exc:
        raise SimsgpError(f"{name} is not a Dask address ({exc}); expected one such as tcp://host:8786") from None
    except (OSError, TimeoutError):
        raise SimsgpError(
            f"{name}: no Dask scheduler answered within {_CONNECT_TIMEOUT:g} s; expected the address of a running one"
        ) from None
    with client:
        yield client


def _execute_dask(
    todo: Mapping[str, Scenario], client: Any, timeout: float | None, run_point: RunPoint, name: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``todo`` on ``client``'s cluster; the client enforces the timeout and notices a cluster without workers."""
    finished: queue.Queue[Any] = queue.Queue()
    pending = {}
    try:
        for key, scenario in todo.items():
            future = client.submit(run_point, scenario, None, pure=False)
            future.add_done_callback(finished.put)
            pending[future] = key
        yield from _dask_outcomes(client, pending, finished, timeout, name)
    finally:
        client.cancel(list(pending))


def _dask_outcomes(
    client: Any, pending: dict[Any, str], finished: queue.Queue[Any], timeout: float | None, name: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the outcome of each future of ``pending`` (removing it) as it finishes or times out.

    Every ``_POLL`` seconds the scheduler is asked which futures are running
    (for ``timeout``) and whether the cluster has workers; a cluster without
    any for ``_NO_WORKERS_GRACE`` seconds, or a lost scheduler, stops the
    sweep with a :class:`SimsgpError`.
    """
    started: dict[Any, float] = {}  # when a worker was first seen running each future
    checked = with_workers = time.monotonic()
    while pending:
        try:
            future = finished.get(timeout=_POLL)
        except queue.Empty:
            future = None
        if future in pending:
            yield pending.pop(future), _future_outcome(future)
        now = time.monotonic()
        if now - checked < _POLL:
            continue
        checked = now
        try:
            running = {key for keys in client.processing().values() for key in keys} if timeout is not None else set()
            if client.nthreads():
                with_workers = now
        except OSError:
            raise SimsgpError(
                f"{name}: lost the connection to the Dask scheduler; {len(pending)} runs did not finish (rerun to do them)"
            ) from None
        if now - with_workers > _NO_WORKERS_GRACE:
            raise SimsgpError(
                f"{name}: the Dask cluster has had no workers for {_NO_WORKERS_GRACE:g} s; "
                f"{len(pending)} runs did not finish (start workers and rerun the sweep to do them)"
            )
        if timeout is None:
            continue
        for future in list(pending):
            if future.key in running:
                started.setdefault(future.key, now)
            if now - started.get(future.key, now) > timeout:
                future.cancel()
                yield pending.pop(future), _failure(f"timed out after {timeout:g} s", now - started[future.key])


def _future_outcome(future: Any) -> dict[str, Any]:
    """The outcome of a finished Dask future; a lost worker fails only its runs."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 (recorded as a failed run, retried by the next sweep)
        return _outcome_of(exc, None)


# --- files ----------------------------------------------------------------------


@contextlib.contextmanager
def _folder_lock(out: Path, name: str) -> Iterator[bool]:
    """Hold the sweep lock of ``out`` for the block; yield whether it is held (False where locks are unsupported)."""
    handle = _acquire_lock(out / _LOCK_NAME, name)
    try:
        yield handle is not None
    finally:
        if handle is not None:
            os.close(handle)


def _acquire_lock(path: Path, name: str) -> int | None:
    """Lock ``path`` (made if missing) and write this pid in it; ``None`` where there are no file locks."""
    try:
        import fcntl
    except ImportError:  # Windows
        return None
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        raise SimsgpError(f"{name}: cannot open the lock file {str(path)!r} ({exc.strerror or exc})") from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(handle, 32, 0).decode(errors="replace").strip()
        os.close(handle)
        pid = holder if holder.isdigit() else "unknown"
        raise SimsgpError(
            f"{name} is in use by another simsgp sweep (pid {pid}); wait for it to end or use another folder"
        ) from None
    except OSError:  # a file system without flock (some network file systems): go on unlocked
        os.close(handle)
        return None
    os.ftruncate(handle, 0)
    os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
    return handle


def _is_sweep_folder(folder: Path) -> bool:
    """Whether ``folder`` was made by a sweep: it has the lock file, or a runs folder of run files only."""
    runs = folder / "runs"
    if (folder / _LOCK_NAME).is_file():
        return True
    return runs.is_dir() and all(p.name.endswith((".json", ".tmp")) for p in runs.iterdir())


def _write_json(path: Path, data: Mapping[str, Any]) -> None:
    """``data`` (already :func:`simsgp.report.result.jsonable`) as strict JSON, written atomically."""
    text = json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False)
    write_atomic(path, (text + "\n").encode())


class _NotARun(ValueError):
    """A run file that cannot be read as a run record; the reason is the message."""


def _read_run(path: Path) -> dict[str, Any]:
    """The record in a run file.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    _NotARun
        Not a regular file, not UTF-8, not JSON, not an object, a missing key or a wrong type.
    """
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise
    except UnicodeDecodeError:
        raise _NotARun("not UTF-8 text") from None
    except OSError as exc:
        raise _NotARun(f"cannot read it ({exc.strerror or exc})") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _NotARun(f"not JSON ({exc})") from None
    if not isinstance(record, dict):
        raise _NotARun(f"a JSON {type(record).__name__}, not an object")
    for key, types in _RECORD_TYPES.items():
        if key not in record:
            raise _NotARun(f"no {key!r}")
        if not isinstance(record[key], types):
            raise _NotARun(f"{key!r} is a {type(record[key]).__name__}")
    if not isinstance(record.get("inputs"), (dict, type(None))):
        raise _NotARun(f"'inputs' is a {type(record['inputs']).__name__}")
    if record["status"] not in ("ok", "failed"):
        raise _NotARun(f"status {shown(record['status'])}; expected 'ok' or 'failed'")
    if record["status"] == "ok" and not all(isinstance(record[k], dict) for k in ("scenario", "summary", "evaluations")):
        raise _NotARun("status 'ok' without a scenario, summary and evaluations")
    return record


def _previous_run(path: Path) -> dict[str, Any] | None:
    """The record of an earlier run, or ``None`` if there is none or it is unusable (warned about; redone)."""
    try:
        return _read_run(path)
    except FileNotFoundError:
        return None
    except _NotARun as exc:
        warnings.warn(f"{str(path)!r} is not a run record ({exc}); running it again", stacklevel=2)
        return None


def load_runs(out: str | Path) -> list[dict[str, Any]]:
    """Read back every run file of a sweep folder, sorted by key.

    Each record has ``key``, ``status`` (``"ok"`` or ``"failed"``), ``point``
    (the grid values, by dotted key), ``scenario`` (resolved, as
    :func:`simsgp.scenario.to_dict`; ``None`` when the point did not
    resolve), ``inputs`` (path and ``sha256`` of each input file, by field;
    ``None`` when the point did not resolve), ``version``, ``summary`` and
    ``evaluations`` (as :meth:`simsgp.Result.to_dict`; ``None`` when failed),
    ``timeline`` and ``links`` (see :func:`simsgp.report.series.run_entries`;
    ``None`` when failed, absent from files of older versions),
    ``error`` and ``wall_seconds``. A file that is not such a record (not
    UTF-8 or JSON, keys missing or of the wrong type, a folder) is skipped
    with a warning (:func:`warnings.warn`) naming it; the next sweep redoes
    its run.

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
    records = []
    for path in sorted(runs_dir.glob("*.json")):
        try:
            records.append(_read_run(path))
        except (FileNotFoundError, _NotARun) as exc:  # removed meanwhile, or not a run record
            warnings.warn(f"skipping {str(path)!r}: not a run record ({exc})", stacklevel=2)
    return records


def load_results(out: str | Path) -> pd.DataFrame:
    """The runs of a sweep folder as one table: a row per run file (see :func:`load_runs`), sorted by key.

    The folder may hold several sweeps, over different grid keys: a row has
    no value (NaN or None) for the keys of the other sweeps' grids.

    Returns
    -------
    pandas.DataFrame
        Columns: every grid key of the runs (None where the key does not
        apply to a run's algorithm or task), ``key``, ``status``, ``error``,
        every scalar summary metric (a number, string or null; named
        ``summary.<name>`` if a grid key has the same name; NaN for a failed
        run) and ``wall_seconds``.

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
    ...     _ = run_sweep(base, {"cluster.nodes": [2, 4]}, out, workers=1, progress=False)
    ...     _ = run_sweep(base, {"algorithm.name": ["allreduce"]}, out, workers=1, progress=False)
    ...     table = load_results(out)
    >>> table[["cluster.nodes", "algorithm.name", "status", "iterations"]].sort_values("cluster.nodes").values.tolist()
    [[2.0, nan, 'ok', 5], [4.0, nan, 'ok', 5], [nan, 'allreduce', 'ok', 5]]
    """
    return _results_frame(load_runs(out))


def _results_frame(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run record (see :func:`load_results`)."""
    import pandas as pd  # only for tables read back: a sweep itself writes CSV without pandas

    grid_keys = list(dict.fromkeys(key for record in records for key in record["point"]))
    metrics = list(
        dict.fromkeys(
            name
            for record in records
            for name, value in (record["summary"] or {}).items()
            if value is None or isinstance(value, (bool, int, float, str))
        )
    )
    named = {name: f"summary.{name}" if name in grid_keys else name for name in metrics}
    columns = [*grid_keys, "key", "status", "error", *named.values(), "wall_seconds"]
    rows = []
    for record in records:
        summary = record["summary"] or {}
        row = {key: record["point"].get(key) for key in grid_keys}
        row.update({"key": record["key"], "status": record["status"], "error": record["error"]})
        row.update({column: summary.get(name) for name, column in named.items()})
        row["wall_seconds"] = record["wall_seconds"]
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def _row(point: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    summary = record["summary"] or {}
    row = dict(point)
    row.update({"key": record["key"], "status": record["status"], "error": record["error"]})
    for name, column in zip(SUMMARY_COLUMNS, _summary_columns(point)):
        row[column] = summary.get(name)
    row["wall_seconds"] = record["wall_seconds"]
    return row


def _write_tables(out: Path, stem: str, grid_keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """``<stem>.csv`` (such as ``results.csv``) and, with pyarrow, ``<stem>.parquet``.

    A grid column whose values are not all of one scalar type (or all numbers)
    is written as TOML literals, so each column has one type; a key that
    does not apply to a row's algorithm or task is an empty cell.
    """
    columns = {name: [row[name] for row in rows] for name in rows[0]}
    for name in grid_keys:  # None: the key does not apply to that row's algorithm or task (an empty cell)
        if not _uniform([v for v in columns[name] if v is not None]):
            columns[name] = [None if v is None else _toml_literal(v, name) for v in columns[name]]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*columns.values()))
    write_atomic(out / f"{stem}.csv", text.getvalue().encode())
    if importlib.util.find_spec("pyarrow") is not None:
        import pyarrow
        import pyarrow.parquet

        buffer = pyarrow.BufferOutputStream()
        pyarrow.parquet.write_table(pyarrow.table(columns), buffer)
        write_atomic(out / f"{stem}.parquet", buffer.getvalue().to_pybytes())


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
    timeout: float | None = None,
    force: bool = False,
    reuse_other_versions: bool = False,
    allow_large: bool = False,
    seeds: str | None = None,
) -> int:
    """``simsgp sweep``: load a scenario, apply ``--set`` overrides, sweep the grid, print a summary and a table.

    The table has a line per point (at most 30): its grid values, how many
    of its seeds ran ok, and the mean and half-width of the 95 % interval
    over them of the time per iteration, each node's median one, the time
    to target (when a target is set), the final loss and the final accuracy.

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
    workers, scheduler, timeout, force, reuse_other_versions, allow_large
        As for :func:`run_sweep`; errors name them as options (``--timeout``).
    seeds : str, optional
        Seeds to run every point with, such as ``"0-4"`` (see
        :func:`simsgp.report.over_seeds.parse_seeds`); not with ``seed``
        in ``grid_specs`` or ``overrides``.

    Returns
    -------
    int
        0 if every run was ok, 1 if some failed, 130 if interrupted by
        Ctrl-C (after one line on stderr saying how many runs were kept).

    Raises
    ------
    SimsgpError
        A bad scenario, override, grid spec or option; nothing has run then.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as out:  # doctest: +ELLIPSIS
    ...     code = cli_sweep(None, ["cluster.nodes=2,3"], out, overrides=["iterations=5", "eval_every=0"],
    ...                      workers=1, scheduler=None, seeds="0-1")
    4 runs (2 points, 2 seeds each): 4 ok (0 skipped, already done), 0 failed
    mean ± half-width of the 95 % interval over the seeds (Student t)
    cluster.nodes  seeds  s/iteration  median node s/iteration  final loss       final accuracy
    2                  2  0.1818 ± 0   0.1818 ± 0               2.005 ± 0.00087  0.4916 ± 0.018
    3                  2  0.1818 ± 0   0.1818 ± 0               2.012 ± 0.1      0.4708 ± 0.86
    tables: .../results.csv (one row per run), .../results-mean.csv (one per point)
    >>> code
    0
    """
    options = _Options(workers, scheduler, timeout, force, reuse_other_versions, allow_large, cli=True)
    base = apply_overrides(load(scenario), overrides)
    grid = parse_grid(grid_specs)
    seed_list = None if seeds is None else over_seeds.parse_seeds(seeds)
    if seeds is not None:
        over_seeds.check_no_seed_key([item.partition("=")[0] for item in overrides], given="--set seed=...")
    try:
        rows, skipped = _sweep(base, grid, out, options, progress=True, seeds=seed_list)
    except SweepInterrupted as exc:
        print(f"simsgp: {exc}", file=sys.stderr)
        return 130
    keys = [*grid, *(["seed"] if seed_list else [])]
    means = over_seeds.point_means(rows, list(grid), _summary_columns(keys))
    failed = [row for row in rows if row["status"] != "ok"]
    runs = f"{len(rows)} points" if seed_list is None else f"{len(rows)} runs ({len(means)} points, {len(seed_list)} seeds each)"
    print(f"{runs}: {len(rows) - len(failed)} ok ({skipped} skipped, already done), {len(failed)} failed")
    for row in failed:
        point = " ".join(f"{k}={_toml_literal(row[k], k)}" for k in keys if row[k] is not None)
        print(f"  failed {point}: {row['error']}")
    if seed_list is not None:
        print("mean ± half-width of the 95 % interval over the seeds (Student t)")
    mean_table = Path(out) / "results-mean.csv"
    print(_points_table(base, grid, keys, means, more=f"in {mean_table}"))
    print(f"tables: {Path(out) / 'results.csv'} (one row per run), {mean_table} (one per point)")
    return 1 if failed else 0


def _points_table(
    base: Scenario, grid: Mapping[str, Any], keys: Sequence[str], means: Sequence[Mapping[str, Any]], *, more: str
) -> str:
    """The table of points of :func:`cli_sweep`; a time to target column when the base or the grid sets a target."""
    targets = base.has_target or any(key in grid for key in ("target_accuracy", "target_loss"))
    names = dict(zip(SUMMARY_COLUMNS, _summary_columns(keys)))
    columns = [(names[m], m) for m in over_seeds.POINT_METRICS if m != "time_to_target" or targets]
    return over_seeds.format_points(means, list(grid), columns, more=more)


# --- notebooks ------------------------------------------------------------------


def sweep(
    scenario: Scenario | Mapping[str, Any] | str | Path | None,
    grid: Mapping[str, Iterable[Any]],
    out: str | Path,
    **options: Any,
) -> pd.DataFrame:
    """Sweep ``grid`` over ``scenario`` into the resumable folder ``out`` and return the table of its runs.

    The module is callable: ``simsgp.sweep(...)`` is this function, and
    ``simsgp.sweep.load_results(out)`` reads the folder back. The folder is
    the one ``simsgp sweep --out`` writes (see :func:`run_sweep`): a rerun
    skips the runs already finished, and the command line can resume it.

    Parameters
    ----------
    scenario : Scenario, mapping, str, Path or None
        The base scenario: a :class:`Scenario`, a mapping as for
        :func:`simsgp.scenario.from_dict`, or a preset name or TOML path as
        for :func:`simsgp.scenario.load` (``None``: the ``default`` preset).
    grid : mapping of str to iterable
        Dotted scenario keys to the values to try, such as
        ``{"cluster.nodes": [8, 16], "algorithm.name": ["sgp", "allreduce"]}``
        (numpy arrays and ranges too).
    out : str or Path
        The sweep's folder.
    **options
        Passed to :func:`run_sweep` (``workers``, ``scheduler``,
        ``timeout``, ``progress``, ``force``, ``reuse_other_versions``,
        ``allow_large`` and the rest).

    Returns
    -------
    pandas.DataFrame
        One row per run of this sweep, in grid order, with the columns of
        :func:`load_results`; runs of other sweeps in the same folder are
        left out.

    Raises
    ------
    SimsgpError
        A bad scenario, grid or option (see :func:`run_sweep`).

    Examples
    --------
    >>> import tempfile
    >>> import simsgp
    >>> with tempfile.TemporaryDirectory() as out:
    ...     table = simsgp.sweep({"iterations": 5, "eval_every": 0}, {"cluster.nodes": [2, 4]}, out,
    ...                          workers=1, progress=False)
    >>> table[["cluster.nodes", "status", "iterations"]].values.tolist()
    [[2, 'ok', 5], [4, 'ok', 5]]
    """
    base = _base_scenario(scenario)
    if not isinstance(grid, Mapping):
        raise SimsgpError(
            f"sweep: grid={shown(grid)}; expected a mapping of dotted key to values, such as {{'cluster.nodes': [8, 16]}}"
        )
    values: dict[str, Any] = {
        key: list(given) if isinstance(given, Iterable) and not isinstance(given, (str, bytes, Mapping)) else given
        for key, given in grid.items()
    }
    rows = run_sweep(base, values, out, **options)
    records = {record["key"]: record for record in load_runs(out)}
    return _results_frame([records.get(row["key"], _unwritten(row, values)) for row in rows])


def _base_scenario(scenario: Scenario | Mapping[str, Any] | str | Path | None) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return from_dict(scenario)
    if scenario is None or isinstance(scenario, (str, Path)):
        return load(scenario)
    raise SimsgpError(
        f"sweep: scenario={shown(scenario)}; expected a Scenario, a mapping, a preset name or a TOML path"
    )


def _unwritten(row: Mapping[str, Any], grid: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a run whose file could not be written (a failed run), from its row of :func:`run_sweep`."""
    return {
        "point": {key: row[key] for key in grid if key in row},
        "key": row["key"],
        "status": row["status"],
        "error": row["error"],
        "summary": None,
        "wall_seconds": row["wall_seconds"],
    }


class _CallableModule(ModuleType):
    """This module, callable as :func:`sweep`: ``simsgp.sweep(...)`` beside ``simsgp.sweep.load_results(...)``."""

    def __call__(
        self,
        scenario: Scenario | Mapping[str, Any] | str | Path | None,
        grid: Mapping[str, Iterable[Any]],
        out: str | Path,
        **options: Any,
    ) -> pd.DataFrame:
        return sweep(scenario, grid, out, **options)


sys.modules[__name__].__class__ = _CallableModule
