"""The progress line: rewritten in place on a terminal, plain full lines now and then elsewhere."""

import io

import pytest

from simsgp.report import progress
from simsgp.report.progress import ProgressLine


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.fixture
def clock(monkeypatch):
    """A fake wall clock: set ``clock.now`` to move time."""

    class Clock:
        now = 1000.0

    monkeypatch.setattr(progress.time, "monotonic", lambda: Clock.now)
    return Clock


def test_terminal_line_is_rewritten_in_place(clock):
    out = Terminal()
    line = ProgressLine("sweep", 4, "runs", detail="0 failed", interval=0, stream=out)
    clock.now += 30
    line.update(2, "1 failed")
    line.close()
    assert out.getvalue() == (
        "\rsweep 0/4 runs, 0 failed, 0:00 elapsed, ~? left "
        "\rsweep 2/4 runs, 1 failed, 0:30 elapsed, ~0:30 left \n"
    )


def test_elsewhere_full_lines_at_most_every_plain_interval_and_at_close(clock):
    out = io.StringIO()
    line = ProgressLine("run", 100, "iterations", interval=0, stream=out)
    for done in range(1, 100):
        clock.now += 0.25  # 24.75 s in all: a line after 10 s and after 20 s
        line.update(done)
    clock.now += 0.25
    line.update(100)
    assert "\r" not in out.getvalue()
    line.close()
    assert out.getvalue().splitlines() == [
        "run 40/100 iterations, 0:10 elapsed, ~0:15 left",
        "run 80/100 iterations, 0:20 elapsed, ~0:05 left",
        "run 100/100 iterations, 0:25 elapsed, ~0:00 left",
    ]


def test_elsewhere_a_short_job_prints_one_line_at_close(clock):
    out = io.StringIO()
    line = ProgressLine("sweep", 3, "runs", stream=out, plain_interval=5)
    for done in (1, 2, 3):
        clock.now += 1
        line.update(done, "0 failed")
    assert out.getvalue() == ""
    line.close()
    assert out.getvalue() == "sweep 3/3 runs, 0 failed, 0:03 elapsed, ~0:00 left\n"
