"""What sampling the link counters during a run costs: the same scenario with and without it, side by side.

Every run samples the bytes each link has carried about once per round of
node-iterations (``simsgp.sim.linkload.LinkSampler``, kept as
``Result.network``). Here each scenario runs alternately as it is and with
the sampler switched off after its first sample (only the start and the end
kept), ``--repeat`` times each; the best CPU times of the process (less
disturbed by other work on the machine than wall time) and their ratio are
printed, and the CPU seconds spent inside the sampler itself, timed directly.

Usage::

    python benchmarks/bench_linkload.py                          # 8, 64, 256 nodes, SGP and AD-PSGD, timing only
    python benchmarks/bench_linkload.py --nodes 4 --iterations 20 --repeat 1   # smoke run
"""

from __future__ import annotations

import argparse
import sys
import time
from contextlib import contextmanager
from unittest import mock

import simsgp
from simsgp.scenario import apply_overrides, load
from simsgp.sim.linkload import LinkSampler


@contextmanager
def _sampling(on: bool, spent: list[float]):
    """Sample as usual, timing each sample into ``spent``, or keep only the first sample after the start."""
    sample = LinkSampler.sample

    def timed(self: LinkSampler) -> int:
        start = time.process_time()
        stride = sample(self)
        spent.append(time.process_time() - start)
        return stride if on else sys.maxsize

    with mock.patch.object(LinkSampler, "sample", timed):
        yield


def _cpu(scenario, on: bool) -> tuple[float, float, int, float]:
    """CPU and wall seconds of one run, its samples kept, and CPU seconds inside the sampler."""
    spent: list[float] = []
    with _sampling(on, spent):
        start, wall = time.process_time(), time.perf_counter()
        result = simsgp.run(scenario)
        cpu, wall = time.process_time() - start, time.perf_counter() - wall
    assert result.network is not None
    return cpu, wall, len(result.network["time"]), sum(spent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[8, 64, 256])
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--algorithms", nargs="+", default=["sgp", "adpsgd"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    print(f"{'algorithm':<12}{'nodes':>6}{'iters':>7}{'samples':>9}{'wall s':>8}{'cpu s, sampled':>16}{'cpu s, not':>12}"
          f"{'ratio':>8}{'in sampler s':>14}{'share':>8}")
    for algorithm in args.algorithms:
        for nodes in args.nodes:
            scenario = apply_overrides(load("default"), [
                f"cluster.nodes={nodes}", f"iterations={args.iterations}", f"algorithm.name={algorithm}",
                "timing_only=true", "eval_every=0", *args.overrides,
            ])
            _cpu(scenario, True)  # warm up: imports, caches
            sampled, plain, inside, walls, samples = [], [], [], [], 0
            for _ in range(args.repeat):  # alternate, so drifts of the machine hit both alike
                cpu, wall, samples, spent = _cpu(scenario, True)
                sampled.append(cpu)
                walls.append(wall)
                inside.append(spent)
                plain.append(_cpu(scenario, False)[0])
            best, base, spent = min(sampled), min(plain), min(inside)
            print(f"{algorithm:<12}{nodes:>6}{args.iterations:>7}{samples:>9}{min(walls):>8.2f}{best:>16.3f}{base:>12.3f}"
                  f"{best / base:>8.3f}{spent:>14.3f}{spent / best:>8.1%}")


if __name__ == "__main__":
    main()
