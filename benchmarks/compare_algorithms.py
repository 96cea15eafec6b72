"""Every algorithm at several node counts, with and without a 4x slow node.

Prints simulated seconds per iteration (the slowest node's pace, the mean
pace of the other nodes and the median node's pace), the busiest link's
utilization, final accuracy and wall seconds, on the default scenario
(logistic regression on digits, 10 Gb/s star) with ResNet-50-sized messages.

Usage::

    python benchmarks/compare_algorithms.py                      # 8 and 32 nodes x 200 iterations
    python benchmarks/compare_algorithms.py --nodes 4 --iterations 20
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import simsgp
from simsgp.algorithms import ALGORITHMS
from simsgp.scenario import apply_overrides, load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--algorithms", nargs="+", default=sorted(ALGORITHMS))
    parser.add_argument("--set", dest="overrides", action="append", default=['task.payload="resnet50"'])
    args = parser.parse_args()
    print(
        f"{'algorithm':<11}{'nodes':>6}{'slow':>6}{'s/it':>9}{'fast s/it':>11}{'median':>9}{'link use':>10}"
        f"{'accuracy':>10}{'wall s':>8}"
    )
    for name in args.algorithms:
        for nodes in args.nodes:
            for slow in (False, True):
                sets = [f"algorithm.name={name}", f"cluster.nodes={nodes}", f"iterations={args.iterations}", *args.overrides]
                if slow:
                    sets.append("cluster.slow_nodes.3=4.0")
                start = time.perf_counter()
                s = simsgp.run(apply_overrides(load("default"), sets)).summary
                wall = time.perf_counter() - start
                fast = np.delete(np.array(s["node_time_per_iteration"]), 3).mean()
                print(
                    f"{name:<11}{nodes:>6}{'4x' if slow else '-':>6}{s['sim_time_per_iteration']:>9.4f}"
                    f"{fast:>11.4f}{s['median_node_time_per_iteration']:>9.4f}{s['max_link_utilization']:>10.1%}"
                    f"{s['final_accuracy']:>10.4f}{wall:>8.2f}"
                )


if __name__ == "__main__":
    main()
