"""Scale benchmarks: wall time, events per second and memory for named scenarios.

Each row runs one scenario once and prints its simulated events, wall
seconds, events per second, and, for comparison, the wall seconds of a bare
SimPy loop that processes the same number of events: in one process (an
event queue one entry deep, SimPy's floor) and in one process per node (the
queue as deep as the run's). The engine's overhead is the ratio of the wall
time to each. Peak memory is measured in a fresh process.

Usage::

    python benchmarks/bench_scale.py            # the targets of the performance issue
    python benchmarks/bench_scale.py --quick    # tiny sizes, a smoke run
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import time

from bench_engine import bare_simpy

import simsgp
from simsgp.scenario import apply_overrides, load

RESNET = 'task.payload="resnet50"'
SCENARIOS = [  # name, settings, (nodes, iterations) in full, the same in a quick run
    ("sgp digits", [], (64, 1000), (4, 20)),
    ("sgp timing-only resnet50", ["timing_only=true", RESNET], (64, 1000), (4, 20)),
    ("sgp timing-only resnet50", ["timing_only=true", RESNET], (256, 1000), (8, 20)),
    ("allreduce analytic resnet50", ["algorithm.name=allreduce", "analytic=true", "timing_only=true", RESNET], (4096, 100), (16, 5)),
    ("allreduce events resnet50", ["algorithm.name=allreduce", "timing_only=true", RESNET], (64, 100), (4, 5)),
]


def scenario(settings: list[str], nodes: int, iterations: int) -> simsgp.Scenario:
    return apply_overrides(load("default"), [f"cluster.nodes={nodes}", f"iterations={iterations}", *settings])


def _peak_rss(args: tuple[list[str], int, int], queue) -> None:
    simsgp.run(scenario(*args))
    queue.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def peak_rss_mib(settings: list[str], nodes: int, iterations: int) -> float:
    """Peak resident memory (MiB) of a fresh process that runs the scenario."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_peak_rss, args=((settings, nodes, iterations), queue))
    process.start()
    value = queue.get()
    process.join()
    return value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a smoke run)")
    args = parser.parse_args()
    print(
        f"{'scenario':<30}{'nodes':>6}{'iters':>7}{'events':>10}{'wall s':>9}{'events/s':>10}"
        f"{'bare 1 proc s':>15}{'overhead':>10}{'bare n procs s':>16}{'overhead':>10}"
    )
    for name, settings, full, quick in SCENARIOS:
        nodes, iterations = quick if args.quick else full
        start = time.perf_counter()
        result = simsgp.run(scenario(settings, nodes, iterations))
        wall = time.perf_counter() - start
        events = result.summary["events"]
        if result.scenario.analytic:  # no event per message: nothing to compare with bare SimPy
            print(f"{name:<30}{nodes:>6}{iterations:>7}{'-':>10}{wall:>9.2f}{'-':>10}{'-':>15}{'-':>10}{'-':>16}{'-':>10}")
            continue
        bare, deep = bare_simpy(events), bare_simpy(events, nodes)
        print(
            f"{name:<30}{nodes:>6}{iterations:>7}{events:>10}{wall:>9.2f}{events / wall:>10.0f}"
            f"{bare:>15.2f}{wall / bare:>9.1f}x{deep:>16.2f}{wall / deep:>9.1f}x"
        )
    nodes, iterations = (8, 10) if args.quick else (256, 100)
    print(f"peak RSS, sgp on digits, {nodes} nodes x {iterations} iterations: {peak_rss_mib([], nodes, iterations):.0f} MiB")


if __name__ == "__main__":
    main()
