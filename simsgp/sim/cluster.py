"""Compute-time models: how long each node's forward + backward pass takes.

The duration of a node's compute phase is built in four steps:

1. a nominal work amount (seconds at speed 1) from the model:

   - ``constant``: every iteration takes ``mean`` seconds;
   - ``lognormal``: mean ``mean`` and coefficient of variation ``cv`` (jitter
     of real GPUs; ``sigma^2 = ln(1 + cv^2)``, ``mu = ln(mean) - sigma^2 / 2``);
   - ``trace``: replay of a measured CSV (:func:`load_trace`); iteration ``k``
     of node ``i`` takes row ``k mod n_rows`` of its column. Trace values are
     already seconds and are *not* multiplied by ``mean``;

2. times the node's static multiplier (``slow_nodes``: a 4x slow node);
3. times a transient factor: with probability ``transient_probability`` the
   iteration is slowed by a factor uniform in ``[transient_low, transient_high]``;
4. warped through the node's time-varying speed (:func:`speed_profile`,
   :func:`warp`): during a straggler window the node works ``factor`` times
   slower, during a failure window it makes no progress and resumes at the
   window's end with the work done so far kept.

Random draws come from the node's own streams (one child of the seed per
node), so a node's durations do not depend on how the other nodes interleave
with it, nor on the block size of the vectorised draws. Nominal and transient
draws use separate streams: turning transients on leaves the nominal draws of
the same seed unchanged.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike

from simsgp.errors import ScenarioError, shown

if TYPE_CHECKING:
    from simsgp.scenario.schema import ClusterConfig

__all__ = [
    "COMPUTE_MODELS",
    "ComputeFunction",
    "ComputeTimes",
    "custom_table",
    "load_trace",
    "lognormal_params",
    "speed_profile",
    "warp",
]

COMPUTE_MODELS = ("constant", "lognormal", "trace")

_BLOCK = 1024
"""Iterations drawn at once per node (vectorised draws, same values as one by one)."""

_LONG_HEADER = ("node", "iteration", "seconds")


def epoch_iterations(cluster: ClusterConfig) -> int | None:
    """Iterations in one epoch of ``cluster.epoch`` (None without epochs).

    Each node reads ``ceil(samples / nodes)`` samples an epoch (PyTorch's
    distributed sampler pads to equal shares) in batches of ``batch``.

    Examples
    --------
    >>> from simsgp.scenario.schema import ClusterConfig, EpochConfig
    >>> epoch_iterations(ClusterConfig(nodes=32, epoch=EpochConfig(samples=1281167, batch=256)))
    157
    """
    epoch = cluster.epoch
    if not epoch.samples:
        return None
    return math.ceil(math.ceil(epoch.samples / cluster.nodes) / epoch.batch)


def lognormal_params(mean: float, cv: float) -> tuple[float, float]:
    """``(mu, sigma)`` of the log-normal distribution with the given mean and cv.

    Examples
    --------
    >>> mu, sigma = lognormal_params(1.0, 0.0)
    >>> mu, sigma
    (0.0, 0.0)
    """
    sigma2 = float(np.log1p(cv * cv))
    return float(np.log(mean)) - sigma2 / 2, float(np.sqrt(sigma2))


def warp(now: float, work: float, breakpoints: Sequence[float], speeds: Sequence[float]) -> float:
    """Seconds needed to do ``work`` seconds of speed-1 work starting at ``now``.

    The speed is piecewise constant: ``speeds[0]`` before ``breakpoints[0]``,
    ``speeds[j]`` on ``[breakpoints[j - 1], breakpoints[j])`` and ``speeds[-1]``
    from ``breakpoints[-1]`` on. The result is ``T - now`` where ``T`` is the
    first time with ``integral(now, T) speed(t) dt = work``.

    Parameters
    ----------
    now : float
        Start time.
    work : float
        Seconds of work at speed 1 (``>= 0``).
    breakpoints : sequence of float
        Strictly increasing times at which the speed changes.
    speeds : sequence of float
        ``len(breakpoints) + 1`` speeds ``>= 0`` (0: no progress).

    Returns
    -------
    float
        Elapsed seconds; ``inf`` if the work never completes (last speed 0).
        Zero work takes zero seconds, even while the speed is 0.

    Raises
    ------
    ValueError
        If ``len(speeds) != len(breakpoints) + 1``.

    Examples
    --------
    One second of work from t = 0 with a 4x slowdown on [0.5, 10]:

    >>> warp(0.0, 1.0, [0.5, 10.0], [1.0, 0.25, 1.0])
    2.5

    Starting inside a failure on [2, 5] waits until it ends:

    >>> warp(3.0, 1.0, [2.0, 5.0], [1.0, 0.0, 1.0])
    3.0
    """
    if len(speeds) != len(breakpoints) + 1:
        raise ValueError(f"warp: {len(speeds)} speeds for {len(breakpoints)} breakpoints; expected one more speed")
    if work == 0:
        return 0.0
    t, remaining = now, work
    for j in range(bisect.bisect_right(breakpoints, now), len(breakpoints)):
        speed, seg_end = speeds[j], breakpoints[j]
        capacity = speed * (seg_end - t) if speed else 0.0  # a failure that never ends: 0 * inf
        if capacity >= remaining:
            return min(t + remaining / speed, seg_end) - now
        remaining -= capacity
        t = seg_end
    speed = speeds[-1]
    return (t + remaining / speed) - now if speed > 0 else math.inf


def speed_profile(windows: Iterable[tuple[float, float, float]]) -> tuple[list[float], list[float]]:
    """Piecewise-constant speed of one node, as ``(breakpoints, speeds)`` for :func:`warp`.

    Parameters
    ----------
    windows : iterable of (factor, start, end)
        On ``[start, end)`` the node works ``factor`` times slower;
        ``factor = inf`` is a failure (speed 0). Where windows overlap their
        factors multiply, so a failure overrides any slowdown. Outside every
        window the speed is 1.

    Returns
    -------
    breakpoints : list of float
        Sorted distinct window starts and ends.
    speeds : list of float
        ``1 / product of the factors`` of the windows covering each segment.

    Examples
    --------
    >>> speed_profile([(2.0, 0.0, 10.0), (4.0, 5.0, 15.0), (math.inf, 8.0, 9.0)])
    ([0.0, 5.0, 8.0, 9.0, 10.0, 15.0], [1.0, 0.5, 0.125, 0.0, 0.125, 0.25, 1.0])
    """
    windows = list(windows)
    breakpoints = sorted({t for _, start, end in windows for t in (start, end)})
    speeds = [1.0]
    for seg_start in breakpoints:
        factor = math.prod(f for f, start, end in windows if start <= seg_start < end)
        speeds.append(1.0 / factor)
    return breakpoints, speeds


def load_trace(path: str, n_nodes: int) -> list[np.ndarray]:
    """Per-node compute seconds per iteration from a measured CSV trace.

    Two layouts are accepted, told apart by the header:

    - wide: one row per iteration, one column per node (column ``i`` is node
      ``i``; extra columns are ignored), with an optional header row whose
      cells are not numbers;
    - long: header ``node,iteration,seconds`` (any column order), one row per
      (node, iteration); node ``i`` needs iterations ``0 .. m_i - 1`` exactly
      once, and the ``m_i`` may differ between nodes. Rows for nodes
      ``>= n_nodes`` are ignored.

    The file must be UTF-8 text (a leading byte-order mark is dropped). Seconds
    are plain decimals such as ``0.25``, ``3`` or ``1e-3`` (no ``1_0``, ``inf``
    or ``nan``), positive and finite; node and iteration numbers are plain
    decimal integers of at most 18 digits.

    Parameters
    ----------
    path : str
        CSV file.
    n_nodes : int
        Number of nodes that need a column (or rows).

    Returns
    -------
    list of numpy.ndarray
        ``n_nodes`` arrays of positive finite seconds, in iteration order.

    Raises
    ------
    ScenarioError
        Naming ``cluster.compute.path``, the file and, where it applies, the
        row and column: unreadable or empty file, one that is not UTF-8 text,
        a value that is not a positive finite decimal number, fewer columns
        than nodes, a node without rows, a missing or repeated iteration.

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as f:
    ...     _ = f.write("gpu0,gpu1\\n0.10,0.20\\n0.30,0.40\\n")
    >>> load_trace(f.name, 2)
    [array([0.1, 0.3]), array([0.2, 0.4])]
    >>> os.remove(f.name)
    """
    where = _where(path)
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ScenarioError(f"{where}: cannot read the trace ({exc.strerror or type(exc).__name__})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{where}: the trace is not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") from None
    if "\0" in text:
        raise ScenarioError(f"{where}: the trace is not UTF-8 text (it holds NUL bytes, as UTF-16 text does)")
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        rows = [(reader.line_num, row) for row in reader if any(c.strip() for c in row)]
    except csv.Error as exc:
        raise ScenarioError(f"{where}: the trace does not parse as CSV ({exc})") from None
    if not rows:
        raise ScenarioError(f"{where}: the trace has no rows")
    header = [c.strip().lower() for c in rows[0][1]]
    if sorted(header) == sorted(_LONG_HEADER):
        return _long_trace(path, n_nodes, [header.index(name) for name in _LONG_HEADER], rows[1:])
    if not any(_is_number(c) for c in header):
        rows = rows[1:]
    if not rows:
        raise ScenarioError(f"{where}: the trace has a header but no data rows")
    table = np.empty((len(rows), n_nodes))
    for r, (line, row) in enumerate(rows):
        if len(row) < n_nodes:
            raise ScenarioError(
                f"{where}: row {line} has {len(row)} columns; "
                f"expected at least {n_nodes} (one per node)"
            )
        table[r] = [_seconds(path, line, c + 1, cell) for c, cell in enumerate(row[:n_nodes])]
    return list(table.T.copy())


def _where(path: str) -> str:
    """``cluster.compute.path='...'``, the path cut to a sane length, to start an error message."""
    return f"cluster.compute.path={shown(str(path))}"


def _long_trace(path: str, n_nodes: int, columns: list[int], rows: list[tuple[int, list[str]]]) -> list[np.ndarray]:
    """Per-node seconds from the data rows of a ``node,iteration,seconds`` trace."""
    per_node: list[dict[int, float]] = [{} for _ in range(n_nodes)]
    for line, row in rows:
        if len(row) < 3:
            raise ScenarioError(f"{_where(path)}: row {line} has {len(row)} columns; expected 3")
        node, iteration = (_index(path, line, c + 1, row[c]) for c in columns[:2])
        seconds = _seconds(path, line, columns[2] + 1, row[columns[2]])
        if node >= n_nodes:
            continue
        if iteration in per_node[node]:
            raise ScenarioError(f"{_where(path)}: row {line} repeats node {node} iteration {iteration}")
        per_node[node][iteration] = seconds
    trace = []
    for node, by_iteration in enumerate(per_node):
        if not by_iteration:
            raise ScenarioError(
                f"{_where(path)}: no rows for node {node}; expected rows for nodes 0..{n_nodes - 1}"
            )
        missing = sorted(set(range(len(by_iteration))) - by_iteration.keys())
        if missing:
            raise ScenarioError(
                f"{_where(path)}: node {node} has no iteration {missing[0]}; "
                f"expected iterations 0..{len(by_iteration) - 1}"
            )
        trace.append(np.array([by_iteration[k] for k in range(len(by_iteration))]))
    return trace


_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
"""A plain decimal number: what ``float`` reads, less ``inf``, ``nan``, ``1_0`` and non-ASCII digits."""


def _is_number(cell: str) -> bool:
    """Whether ``cell``, spaces around it aside, is a plain decimal number such as ``0.25`` or ``1e-3``."""
    return _DECIMAL.fullmatch(cell.strip()) is not None


def _seconds(path: str, line: int, column: int, cell: str) -> float:
    """``cell`` as a positive finite number of seconds, or a ScenarioError naming where it is."""
    value = float(cell) if _is_number(cell) else math.nan
    if not (math.isfinite(value) and value > 0):
        raise ScenarioError(
            f"{_where(path)}: row {line}, column {column}: {shown(cell)}; "
            "expected a positive number of seconds, finite and written as a plain decimal such as 0.25 or 1e-3"
        )
    return value


def _index(path: str, line: int, column: int, cell: str) -> int:
    """``cell`` as an integer ``>= 0`` of at most 18 decimal digits, or a ScenarioError naming where it is."""
    value = cell.strip()
    if not re.fullmatch("[0-9]{1,18}", value):
        raise ScenarioError(
            f"{_where(path)}: row {line}, column {column}: {shown(cell)}; "
            "expected an integer >= 0 of at most 18 digits"
        )
    return int(value)


ComputeFunction = Callable[[int, int, float], float]
"""A user's compute model: ``seconds = f(node, iteration, now)``, a pure function of its arguments."""


def custom_table(values: ArrayLike, n_nodes: int) -> list[np.ndarray]:
    """Per-node seconds per iteration from a user's array: shape ``(nodes,)`` or ``(iterations, nodes)``.

    Rows repeat when the run is longer, as a trace's do.

    Raises
    ------
    ScenarioError
        A shape that does not fit ``n_nodes``, or a value that is not a
        finite number of seconds ``>= 0`` (naming its node and iteration).

    Examples
    --------
    >>> custom_table([0.1, 0.2], 2)
    [array([0.1]), array([0.2])]
    >>> custom_table([[0.1, -1.0]], 2)
    Traceback (most recent call last):
    ...
    simsgp.errors.ScenarioError: compute: node 1, iteration 0: -1.0; expected a finite number of seconds >= 0
    """
    try:
        table = np.array(values, dtype=float, ndmin=2)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"compute={shown(values)}; expected numbers of seconds ({exc})") from None
    if table.ndim != 2 or table.shape[1] != n_nodes or table.shape[0] == 0:
        raise ScenarioError(
            f"compute has shape {np.shape(values)}; expected ({n_nodes},) or (iterations, {n_nodes}) seconds"
        )
    bad = np.argwhere(~(np.isfinite(table) & (table >= 0)))
    if bad.size:
        k, node = (int(v) for v in bad[0])
        _checked_seconds(float(table[k, node]), node, k)
    return list(table.T.copy())


def _checked_seconds(seconds: Any, node: int, iteration: int) -> float:
    """``seconds`` of a user's compute model as a float, or a ScenarioError naming the node and iteration."""
    try:
        value = float(seconds)
    except (TypeError, ValueError, OverflowError):
        value = math.nan
    if not (math.isfinite(value) and value >= 0):
        raise ScenarioError(
            f"compute: node {node}, iteration {iteration}: {shown(seconds)}; expected a finite number of seconds >= 0"
        )
    return value


class ComputeTimes:
    """Seeded per-node compute durations with slow nodes, transients, stragglers and failures.

    Parameters
    ----------
    model : {"constant", "lognormal", "trace"}
        Distribution of one iteration's nominal compute time.
    mean : float
        Mean seconds per iteration of a node with multiplier 1 (not used by ``trace``).
    n_nodes : int
        Number of nodes.
    seed : numpy.random.SeedSequence
        Root of the per-node streams (one child per node).
    cv : float, default 0.0
        Coefficient of variation (``lognormal`` only).
    multipliers : mapping of int to float, optional
        Slowdown factor per node (``{3: 4.0}``: node 3 is 4x slower); applies
        to every model, ``trace`` included.
    trace_path : str, optional
        CSV trace (:func:`load_trace`); required by ``trace``.
    transient_probability : float, default 0.0
        Probability that an iteration is transiently slowed.
    transient_low, transient_high : float, default 2.0, 4.0
        Range of the uniform transient slowdown factor.
    stragglers : sequence of (node, factor, start, end), default ()
        Node ``node`` works ``factor`` times slower on ``[start, end)``.
    failures : sequence of (node, start, end), default ()
        Node ``node`` makes no progress on ``[start, end)`` and then resumes.
    epoch : (int, float), optional
        ``(iterations, pause)``: every node waits ``pause`` seconds more in
        the compute phase of its iterations ``0, iterations, 2 iterations, ...``
        (the first of each epoch; see :func:`epoch_iterations`).
    custom : callable or array, optional
        A user's compute model in place of ``model``: a :data:`ComputeFunction`
        called once per compute phase, or per-node seconds (see
        :func:`custom_table`). Multipliers and straggler and failure windows
        apply to it; transients do not to a function.

    Attributes
    ----------
    model : str
        The model in use: ``model``, or ``"function"`` / ``"trace"`` for a ``custom`` one.
    trace : list of numpy.ndarray or None
        With ``trace``: each node's seconds per iteration (:func:`load_trace`, or a custom array).
    trace_path : str or None
        The CSV file the trace came from (None for a custom array).
    function : callable or None
        A custom :data:`ComputeFunction`.
    scale : numpy.ndarray
        Each node's slowdown factor (1 where ``multipliers`` has none).
    failure_windows : tuple of tuple of (float, float)
        Per node, the sorted disjoint ``(start, end)`` intervals during which
        it is down (overlapping failure windows merged).

    Raises
    ------
    ScenarioError
        If ``model`` is unknown (``cluster.compute.model``), or the trace is
        missing or malformed (``cluster.compute.path``).

    Notes
    -----
    The window and transient values are taken as validated by
    ``ClusterConfig``. Overlapping windows of one node multiply their factors
    (a failure overrides everything). A node without windows costs one lookup
    per duration.

    Examples
    --------
    >>> ct = ComputeTimes("constant", 0.1, 4, np.random.SeedSequence(0), multipliers={3: 4.0})
    >>> ct.duration(0, 0.0), ct.duration(3, 0.0)
    (0.1, 0.4)

    Node 1 is 4x slower on [0.5, 10] and down on [20, 30]:

    >>> ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0),
    ...                   stragglers=[(1, 4.0, 0.5, 10.0)], failures=[(1, 20.0, 30.0)])
    >>> ct.duration(0, 0.0), ct.duration(1, 0.0), ct.duration(1, 19.5)
    (1.0, 2.5, 11.0)
    >>> ct.failure_windows[1], ct.down_time(1, 0.0, 25.0)
    (((20.0, 30.0),), 5.0)
    """

    def __init__(
        self,
        model: str,
        mean: float,
        n_nodes: int,
        seed: np.random.SeedSequence,
        *,
        cv: float = 0.0,
        multipliers: Mapping[int, float] | None = None,
        trace_path: str | None = None,
        transient_probability: float = 0.0,
        transient_low: float = 2.0,
        transient_high: float = 4.0,
        stragglers: Sequence[tuple[int, float, float, float]] = (),
        failures: Sequence[tuple[int, float, float]] = (),
        custom: ComputeFunction | ArrayLike | None = None,
        epoch: tuple[int, float] | None = None,
    ):
        if model not in COMPUTE_MODELS:
            raise ScenarioError(f"cluster.compute.model={model!r}; expected one of {COMPUTE_MODELS}")
        if model == "trace" and trace_path is None:
            raise ScenarioError("cluster.compute.path=None; expected a CSV file when cluster.compute.model = 'trace'")
        self.model = model
        self.mean = mean
        self.cv = cv
        self.scale = np.ones(n_nodes)
        for node, factor in (multipliers or {}).items():
            self.scale[node] = factor
        self._transient = (transient_probability, transient_low, transient_high)
        self.function: ComputeFunction | None = custom if callable(custom) else None
        self.trace_path = None if custom is not None else trace_path
        if custom is not None:
            self.model = "function" if self.function is not None else "trace"
        self.trace: list[np.ndarray] | None = None
        if self.model == "trace":  # a user's table (custom is not callable here), else the CSV at trace_path
            if custom is not None and not callable(custom):
                self.trace = custom_table(custom, n_nodes)
            elif trace_path is not None:
                self.trace = load_trace(trace_path, n_nodes)
        children = seed.spawn(n_nodes)
        self._rngs = [np.random.default_rng(s) for s in children]
        self._transient_rngs = [np.random.default_rng(s.spawn(1)[0]) for s in children]
        self._blocks: list[np.ndarray] = [np.empty(0)] * n_nodes
        self._next = [0] * n_nodes
        self._drawn = [0] * n_nodes
        self._fixed = (
            [float(mean * s) for s in self.scale] if self.model == "constant" and transient_probability == 0 else None
        )
        windows: list[list[tuple[float, float, float]]] = [[] for _ in range(n_nodes)]
        for node, factor, start, end in stragglers:
            windows[node].append((factor, start, end))
        for node, start, end in failures:
            windows[node].append((math.inf, start, end))
        self._profiles = [speed_profile(w) if w else None for w in windows]
        self._epoch = epoch
        self._phases = [0] * n_nodes
        self.failure_windows: tuple[tuple[tuple[float, float], ...], ...] = tuple(
            _merge((start, end) for node, start, end in failures if node == i) for i in range(n_nodes)
        )

    def duration(self, node: int, now: float) -> float:
        """Seconds that ``node``'s next compute phase, starting at ``now``, takes.

        Examples
        --------
        >>> ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), failures=[(0, 2.0, 5.0)])
        >>> ct.duration(0, 3.0)
        3.0
        """
        if self._fixed is not None:
            work = self._fixed[node]
        elif self.function is not None:
            k = self._next[node]
            self._next[node] = k + 1
            work = _checked_seconds(self.function(node, k, now), node, k) * self.scale[node]
        else:
            k = self._next[node]
            block = self._blocks[node]
            if k == len(block):
                block = self._blocks[node] = self._draw(node)
                k = 0
            self._next[node] = k + 1
            work = float(block[k])
        if self._epoch is not None:
            phase = self._phases[node]
            self._phases[node] = phase + 1
            if phase % self._epoch[0] == 0:
                work += self._epoch[1]
        profile = self._profiles[node]
        if profile is None:
            return work
        return warp(now, work, *profile)

    def down_at(self, node: int, t: float) -> bool:
        """Whether ``node`` is failed at time ``t`` (a window that never ends included).

        Examples
        --------
        >>> ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), failures=[(0, 2.0, math.inf)])
        >>> ct.down_at(0, 1.0), ct.down_at(0, 1e9), ct.down_at(1, 3.0), ct.duration(0, 1.5)
        (False, True, False, inf)
        """
        return any(s <= t < e for s, e in self.failure_windows[node])

    def down_time(self, node: int, start: float, end: float) -> float:
        """Seconds of ``[start, end]`` during which ``node`` was failed.

        Examples
        --------
        >>> ct = ComputeTimes("constant", 1.0, 2, np.random.SeedSequence(0), failures=[(0, 2.0, 5.0)])
        >>> ct.down_time(0, 0.0, 4.0), ct.down_time(1, 0.0, 4.0)
        (2.0, 0.0)
        """
        return math.fsum(max(0.0, min(e, end) - max(s, start)) for s, e in self.failure_windows[node])

    def _draw(self, node: int) -> np.ndarray:
        """The node's next ``_BLOCK`` work amounts (nominal x multiplier x transient)."""
        first = self._drawn[node]
        self._drawn[node] = first + _BLOCK
        if self.model == "constant":
            block = np.full(_BLOCK, self.mean)
        elif self.model == "lognormal":
            block = self._rngs[node].lognormal(*lognormal_params(self.mean, self.cv), _BLOCK)
        else:
            assert self.trace is not None  # model "trace" always has its table
            column = self.trace[node]
            block = column[np.arange(first, first + _BLOCK) % len(column)]
        block = block * self.scale[node]
        probability, low, high = self._transient
        if probability > 0:
            coin, u = self._transient_rngs[node].random((_BLOCK, 2)).T
            block *= np.where(coin < probability, low + (high - low) * u, 1.0)
        return block


def _merge(intervals: Iterable[tuple[float, float]]) -> tuple[tuple[float, float], ...]:
    """Union of intervals as sorted disjoint ``(start, end)`` pairs."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return tuple(merged)
