"""A progress line on stderr for long work: done / total, elapsed wall time, time left.

``simsgp sweep`` counts runs with it and ``simsgp run`` counts iterations
(or simulated seconds, for a time-limited run). On a terminal the line is
rewritten in place with ``\\r`` at most every ``interval`` seconds, so
updating it once per iteration costs a clock read. Anywhere else (a log file,
a pipe) ``\\r`` would garble the output, so full lines are written instead,
one at most every ``plain_interval`` seconds (10 by default) and one with
the final state at :meth:`ProgressLine.close`.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["ProgressLine", "clock"]


class ProgressLine:
    """One line of stderr, rewritten as work is done (on a terminal; else a full line now and then).

    Parameters
    ----------
    label : str
        What is being done (``"sweep"``, ``"run"``).
    total : float
        The amount of work in all, in ``unit``; ``done`` counts towards it.
    unit : str
        What ``done`` and ``total`` count (``"runs"``, ``"iterations"``).
    detail : str, optional
        Shown after the count until the first update.
    interval : float, default 0.2
        On a terminal, least wall seconds between two rewrites (0: every update).
    stream : text file, default ``sys.stderr``
        Where the line goes; a terminal if its ``isatty()`` is true.
    plain_interval : float, default 10
        Elsewhere, least wall seconds between two full lines; the first comes
        ``plain_interval`` seconds after the start, the last at :meth:`close`.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> line = ProgressLine("run", 4, "iterations", interval=0, stream=out)
    >>> line.update(1, "sim 0.5 s")
    >>> line.close()
    >>> out.getvalue()
    'run 1/4 iterations, sim 0.5 s, 0:00 elapsed, ~0:00 left\\n'
    """

    def __init__(
        self,
        label: str,
        total: float,
        unit: str,
        *,
        detail: str = "",
        interval: float = 0.2,
        stream: TextIO | None = None,
        plain_interval: float = 10.0,
    ):
        self.label, self.total, self.unit = label, total, unit
        self.stream = sys.stderr if stream is None else stream
        self.live = _is_terminal(self.stream)
        self.interval = interval if self.live else plain_interval
        self.start = time.monotonic()
        self._shown = -float("inf") if self.live else self.start
        self._latest: tuple[float, str] | None = None
        self.update(0, detail)

    def update(self, done: float, detail: str = "") -> None:
        """Say that ``done`` of ``total`` is done (``detail`` is shown after the count)."""
        self._latest = (done, detail)
        now = time.monotonic()
        if now - self._shown >= self.interval or (self.live and done >= self.total):
            self._show(now)

    def close(self) -> None:
        """Show the latest state and end the line."""
        if self._latest is not None:
            self._show(time.monotonic())
        if self.live:
            self.stream.write("\n")
        self.stream.flush()

    def _show(self, now: float) -> None:
        assert self._latest is not None  # callers show only a pending update
        done, detail = self._latest
        self._latest = None
        self._shown = now
        elapsed = now - self.start
        left = clock(elapsed / done * (self.total - done)) if done > 0 else "?"
        count = f"{_amount(done)}/{_amount(self.total)} {self.unit}"
        parts = [f"{self.label} {count}", *([detail] if detail else []), f"{clock(elapsed)} elapsed", f"~{left} left"]
        self.stream.write(f"\r{', '.join(parts)} " if self.live else f"{', '.join(parts)}\n")
        self.stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def _amount(value: float) -> str:
    """A count as it is (``1234567``), an amount to six figures (``29.9072``)."""
    return str(value) if isinstance(value, int) else f"{value:.6g}"


def clock(seconds: float) -> str:
    """Seconds as ``m:ss``, or ``h:mm:ss`` from an hour.

    Examples
    --------
    >>> clock(75), clock(3725)
    ('1:15', '1:02:05')
    """
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
