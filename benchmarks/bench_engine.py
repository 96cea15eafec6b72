"""Engine speed on named scenarios: SimPy events per second and wall seconds.

Runs the default scenario (SGP, logistic regression on digits, 10 Gb/s star)
at several node counts, plus a bare SimPy loop that schedules the same number
of events (in one process, and spread over one process per node), so the
per-event overhead of the model is visible.

Usage::

    python benchmarks/bench_engine.py                      # 8, 32, 64 nodes x 1000 iterations
    python benchmarks/bench_engine.py --nodes 4 --iterations 20   # smoke run
"""

from __future__ import annotations

import argparse
import time

import simpy

import simsgp
from simsgp.scenario import apply_overrides, load


def bare_simpy(events: int, processes: int = 1) -> float:
    """Wall seconds for SimPy to process ``events`` timeouts spread over ``processes`` processes.

    With one process the event queue holds one entry, the cheapest SimPy can
    be; with one process per simulated node it holds as many entries as a run
    of that many nodes, so each event pays the same queue depth as in the model.
    """
    env = simpy.Environment()

    def loop(count: int):
        for _ in range(count):
            yield env.timeout(1.0)

    share, extra = divmod(events, processes)
    for k in range(processes):
        env.process(loop(share + (k < extra)))
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--algorithm", default="sgp")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    print(
        f"{'scenario':<34}{'nodes':>6}{'iters':>7}{'events':>10}{'wall s':>9}{'events/s':>11}"
        f"{'bare SimPy s':>14}{'bare, n procs':>15}"
    )
    for nodes in args.nodes:
        scenario = apply_overrides(
            load("default"),
            [f"cluster.nodes={nodes}", f"iterations={args.iterations}", f"algorithm.name={args.algorithm}", *args.overrides],
        )
        start = time.perf_counter()
        result = simsgp.run(scenario)
        wall = time.perf_counter() - start
        events = result.summary["events"]
        name = f"default ({args.algorithm})"
        print(
            f"{name:<34}{nodes:>6}{args.iterations:>7}{events:>10}{wall:>9.2f}{events / wall:>11.0f}"
            f"{bare_simpy(events):>14.2f}{bare_simpy(events, nodes):>15.2f}"
        )


if __name__ == "__main__":
    main()
