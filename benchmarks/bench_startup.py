"""Start-up benchmark: how long ``simsgp --help``, ``simsgp scenarios`` and reading a scenario take.

Each command runs ``--repeat`` times in a fresh interpreter, interleaved with
a bare ``python -c pass`` so that the machine's load hits all alike; the
table gives the median wall seconds and the time above the bare interpreter.

Usage::

    python benchmarks/bench_startup.py --repeat 9
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "simsgp --help": [sys.executable, "-m", "simsgp.cli", "--help"],
    "simsgp scenarios": [sys.executable, "-m", "simsgp.cli", "scenarios"],
    "import simsgp.scenario": [sys.executable, "-c", "import simsgp.scenario"],
    "read + validate default": [sys.executable, "-c", "import simsgp.scenario as s; s.load()"],
    "import simsgp.sim.engine": [sys.executable, "-c", "import simsgp.sim.engine"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeat):
        for name, command in COMMANDS.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
            times[name].append(time.perf_counter() - start)
    bare = statistics.median(times["python -c pass"])
    print(f"{'command':<26}{'median s':>10}{'above bare':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<26}{median:>10.3f}{median - bare:>12.3f}")


if __name__ == "__main__":
    main()
