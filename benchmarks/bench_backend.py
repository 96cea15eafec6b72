"""Backend benchmark: the same SGP run with its node math on numpy, torch (CPU) and torch or cupy on a GPU.

The task is the one-hidden-layer MLP on digits, ``--hidden`` units wide (30000
gives 2.25 M parameters per node: the math, not the event loop, is the cost),
or the quadratic with ``--dim`` parameters (``--task quadratic``: elementwise
math only, so memory bandwidth). Pushes carry the parameters as fp32. Each
backend runs the same scenario and seed; the table gives wall seconds, node
iterations per second, the speed-up over numpy and the largest difference of
the final models from numpy's (float64 everywhere, so it is rounding only).
Backends that cannot run here (no torch, no GPU) are listed as skipped.

Usage::

    python benchmarks/bench_backend.py                       # 256 nodes x 2.25 M parameters, 10 iterations
    python benchmarks/bench_backend.py --nodes 8 --hidden 64 --iterations 5 --backends numpy torch:cpu
    python benchmarks/bench_backend.py --task quadratic --dim 2000000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import simsgp
from simsgp.errors import ScenarioError
from simsgp.scenario import apply_overrides, load


def scenario(args: argparse.Namespace, backend: str, device: str) -> simsgp.Scenario:
    """SGP on the chosen task, evaluated only at the end (in the summary)."""
    return apply_overrides(load("default"), [
        f"cluster.nodes={args.nodes}", f"iterations={args.iterations}", "eval_every=0",
        f'task.name="{args.task}"', f"task.hidden={args.hidden}", f"task.dim={args.dim}", "task.noise=0.1",
        f'backend="{backend}"', f'device="{device}"',
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=256)
    parser.add_argument("--task", choices=["mlp-digits", "quadratic"], default="mlp-digits")
    parser.add_argument("--hidden", type=int, default=30_000, help="MLP hidden units")
    parser.add_argument("--dim", type=int, default=2_000_000, help="quadratic parameters per node")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=["numpy", "torch:cpu", "torch:cuda", "cupy:cuda"],
                        help="BACKEND:DEVICE pairs; numpy first (the reference)")
    args = parser.parse_args()
    if args.backends[0] != "numpy":
        parser.error("--backends: the first must be numpy (speed-up and differences are relative to it)")
    print(f"{'backend':<12}{'nodes':>6}{'dim':>10}{'iters':>6}{'wall s':>9}{'node-it/s':>11}{'speed-up':>10}{'max |dz|':>10}")
    reference: tuple[float, np.ndarray] | None = None
    for pair in args.backends:
        backend, _, device = pair.partition(":")
        try:
            setup = scenario(args, backend, device or "cpu")
            start = time.perf_counter()
            result = simsgp.run(setup)
        except ScenarioError as exc:
            print(f"{pair:<12} skipped: {exc}")
            continue
        wall = time.perf_counter() - start
        if reference is None:
            reference = (wall, result.params)
        speedup = reference[0] / wall
        diff = float(np.max(np.abs(result.params - reference[1])))
        rate = args.nodes * args.iterations / wall
        print(f"{pair:<12}{args.nodes:>6}{result.params.shape[1]:>10}{args.iterations:>6}{wall:>9.2f}{rate:>11.0f}{speedup:>9.1f}x{diff:>10.1e}")


if __name__ == "__main__":
    main()
