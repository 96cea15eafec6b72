"""Measure a real cluster for simsgp: compute time per iteration, point-to-point and allreduce times.

Run one process per node under ``torchrun`` (or with ``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR`` and ``MASTER_PORT`` set)::

    torchrun --nnodes 4 --nproc-per-node 1 --rdzv-endpoint HOST:29500 -m simsgp.probe --out measurements.json
    torchrun --standalone --nproc-per-node 2 -m simsgp.probe --compute-sleep 0.1   # one machine, a smoke test

Every rank takes part; rank 0 writes the JSON file (format ``simsgp-measurements``,
version 1) that :mod:`simsgp.measurements` reads::

    {"format": "simsgp-measurements", "version": 1,
     "cluster": {"nodes": 4, "backend": "gloo", "hosts": ["a", "b", "c", "d"]},
     "compute": {"seconds": 0.012, "model": "builtin-mlp", "iterations": 20},
     "p2p": [{"bytes": 1000.0, "seconds": 6.1e-05, "repeats": 10}, ...],
     "allreduce": [{"bytes": 1000.0, "seconds": 0.00021, "repeats": 10, "nodes": 4}, ...],
     "simsgp": "0.1.0"}

What is timed (every figure a median over ``--repeats`` after ``--warmup`` untimed runs):

- compute: one forward and backward pass of ``--model`` on its batch (default a small
  built-in MLP), or ``--compute-sleep S`` seconds of sleep in its place (rank 0's time);
- p2p: ping-pong of a ``bytes``-byte tensor between ranks 0 and 1 (the others wait);
  the one-way time is half the round trip;
- allreduce: one ``dist.all_reduce`` (sum) of a float32 tensor of ``bytes`` bytes on all
  ranks, the time of the slowest rank.

:func:`fit_alpha_beta` turns the p2p rows into the latency and bandwidth that
``network.latency`` and ``network.bandwidth`` take. torch is needed only to measure:
this module imports it inside its functions.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from simsgp._version import __version__

__all__ = [
    "DEFAULT_SIZES",
    "FORMAT",
    "VERSION",
    "ProbeError",
    "fit_alpha_beta",
    "main",
    "measure_allreduce",
    "measure_compute",
    "measure_p2p",
]

FORMAT = "simsgp-measurements"
"""The ``format`` field of the file this module writes."""
VERSION = 1
"""The ``version`` field of that file."""
DEFAULT_SIZES: tuple[float, ...] = (1e3, 1e5, 1e6, 1e7)
"""Message sizes in bytes timed by default."""

_LAUNCH = (
    "launch one process per node with torchrun, e.g. `torchrun --nnodes N --nproc-per-node 1 "
    "--rdzv-endpoint HOST:29500 -m simsgp.probe`, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT"
)


class ProbeError(RuntimeError):
    """A measurement cannot be made as asked (not launched under torchrun, torch missing, bad arguments)."""


def _torch() -> tuple[Any, Any]:
    """``(torch, torch.distributed)``, or :class:`ProbeError` when torch is not installed."""
    try:
        import torch
        import torch.distributed as dist
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ProbeError(f"simsgp.probe needs PyTorch ({exc}); install it with `pip install 'simsgp[torch]'`") from exc
    return torch, dist


def fit_alpha_beta(p2p_rows: Iterable[Mapping[str, float]]) -> tuple[float, float]:
    """Least-squares fit of ``seconds = alpha + bytes / B`` to point-to-point rows.

    Parameters
    ----------
    p2p_rows
        Rows with ``bytes`` and ``seconds`` (one-way), as in the ``p2p`` list of the file.

    Returns
    -------
    tuple of float
        ``(latency_s, bandwidth_Bps)``: the intercept ``alpha`` in seconds (may come out
        slightly negative when latency is far below the timing noise; it is clipped to 0)
        and the bandwidth ``B`` in bytes per second.

    Raises
    ------
    ValueError
        With fewer than two distinct sizes, or when time does not grow with size.

    Examples
    --------
    >>> rows = [{"bytes": b, "seconds": 1e-4 + b / 1e8} for b in (1e3, 1e5, 1e6, 1e7)]
    >>> alpha, bandwidth = fit_alpha_beta(rows)
    >>> round(alpha * 1e6, 3), round(bandwidth / 1e6, 3)
    (100.0, 100.0)
    """
    import numpy as np

    rows = list(p2p_rows)
    x = np.array([float(r["bytes"]) for r in rows])
    y = np.array([float(r["seconds"]) for r in rows])
    if len(set(x.tolist())) < 2:
        raise ValueError(f"fit_alpha_beta needs at least two distinct message sizes, got {sorted(set(x.tolist()))}")
    design = np.column_stack([np.ones_like(x), x])
    (alpha, inverse_bandwidth), *_ = np.linalg.lstsq(design, y, rcond=None)
    if inverse_bandwidth <= 0:
        raise ValueError("fit_alpha_beta: time does not grow with message size; measure larger messages")
    return max(float(alpha), 0.0), float(1.0 / inverse_bandwidth)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _builtin_mlp() -> tuple[Any, Any]:
    torch, _ = _torch()
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
    return model, torch.randn(64, 784)


def _load_model(spec: str | None) -> tuple[Callable[[], tuple[Any, Any]], str]:
    """The model factory named by ``module:callable`` (None: the built-in MLP) and its description."""
    if spec is None:
        return _builtin_mlp, "builtin-mlp (784-256-10, batch 64)"
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ProbeError(f"--model must be module:callable (a callable returning (model, batch)), not {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ProbeError(f"--model {spec}: cannot load it ({exc})") from exc
    if not callable(factory):
        raise ProbeError(f"--model {spec}: {attr} is not callable")
    return factory, spec


def measure_compute(
    model: str | None = None, iterations: int = 20, warmup: int = 3, sleep: float | None = None
) -> dict[str, Any]:
    """Median seconds of one training iteration (forward, backward) of a model, or of a sleep.

    Parameters
    ----------
    model
        ``module:callable`` returning ``(model, batch_tensor)``; None: the built-in MLP.
    iterations, warmup
        Timed and untimed iterations.
    sleep
        When given, time ``time.sleep(sleep)`` instead (emulated compute).

    Returns
    -------
    dict
        The ``compute`` entry of the file: ``seconds``, ``model``, ``iterations``.
    """
    if iterations < 1 or warmup < 0:
        raise ProbeError(f"need iterations >= 1 and warmup >= 0, not {iterations} and {warmup}")
    if sleep is not None:
        if sleep < 0:
            raise ProbeError(f"--compute-sleep must be >= 0, not {sleep}")

        def step() -> None:
            time.sleep(sleep)

        what = f"sleep {sleep:g} s"
    else:
        factory, what = _load_model(model)
        net, batch = factory()

        def step() -> None:
            net.zero_grad(set_to_none=True)
            net(batch).float().sum().backward()

    times = []
    for k in range(warmup + iterations):
        start = time.perf_counter()
        step()
        if k >= warmup:
            times.append(time.perf_counter() - start)
    return {"seconds": _median(times), "model": what, "iterations": iterations}


def measure_p2p(sizes: Sequence[float], repeats: int = 10, warmup: int = 2) -> list[dict[str, Any]]:
    """One-way time between ranks 0 and 1 (half a ping-pong's round trip) per size; call on every rank.

    Ranks other than 0 and 1 only wait for rank 0 to broadcast each median. Rank 0's
    times are returned (every rank gets the list, the others' are its copy).
    """
    torch, dist = _torch()
    rank = dist.get_rank()
    rows = []
    for size in sizes:
        buf = torch.zeros(max(int(size), 1), dtype=torch.uint8)
        times = []
        for k in range(warmup + repeats):
            if rank == 0:
                start = time.perf_counter()
                dist.send(buf, 1)
                dist.recv(buf, 1)
                if k >= warmup:
                    times.append((time.perf_counter() - start) / 2)
            elif rank == 1:
                dist.recv(buf, 0)
                dist.send(buf, 0)
        seconds = torch.tensor([_median(times) if times else 0.0], dtype=torch.float64)
        dist.broadcast(seconds, 0)
        rows.append({"bytes": float(size), "seconds": float(seconds.item()), "repeats": repeats})
    return rows


def measure_allreduce(sizes: Sequence[float], repeats: int = 10, warmup: int = 2) -> list[dict[str, Any]]:
    """Median time of one ``dist.all_reduce`` (sum, float32, ``bytes`` bytes) per size, slowest rank; on every rank."""
    torch, dist = _torch()
    world = dist.get_world_size()
    rows = []
    for size in sizes:
        buf = torch.ones(max(int(size) // 4, 1), dtype=torch.float32)
        times = []
        for k in range(warmup + repeats):
            dist.barrier()
            start = time.perf_counter()
            dist.all_reduce(buf)
            if k >= warmup:
                times.append(time.perf_counter() - start)
            buf.fill_(1.0)
        slowest = torch.tensor(times, dtype=torch.float64)
        dist.all_reduce(slowest, op=dist.ReduceOp.MAX)
        rows.append({"bytes": float(size), "seconds": _median(slowest.tolist()), "repeats": repeats, "nodes": world})
    return rows


def _parse_sizes(text: str) -> list[float]:
    try:
        sizes = [float(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise ProbeError(f"--sizes takes comma-separated byte counts such as 1e3,1e6, not {text!r}") from None
    if not sizes or any(s < 1 for s in sizes):
        raise ProbeError(f"--sizes needs byte counts >= 1, not {text!r}")
    return sizes


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simsgp.probe",
        description="Measure compute, point-to-point and allreduce times on a real cluster for simsgp "
        "(one process per node under torchrun; rank 0 writes the JSON file).",
    )
    parser.add_argument("--backend", default="gloo", help="torch.distributed backend (default: gloo)")
    parser.add_argument("--model", default=None, help="module:callable returning (model, batch); default a small MLP")
    parser.add_argument("--compute-sleep", type=float, default=None, metavar="S",
                        help="emulate compute by sleeping S seconds instead of running a model")
    parser.add_argument("--iterations", type=int, default=20, help="timed compute iterations (default 20)")
    parser.add_argument("--sizes", default=",".join(f"{s:g}" for s in DEFAULT_SIZES),
                        help="message sizes in bytes, comma-separated (default 1e3,1e5,1e6,1e7)")
    parser.add_argument("--repeats", type=int, default=10, help="timed repeats per size (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before timing (default 2)")
    parser.add_argument("--skip", default="",
                        help="comma-separated parts to leave out: compute (written as null), p2p, allreduce (empty lists)")
    parser.add_argument("--out", default="measurements.json", help="file rank 0 writes (default measurements.json)")
    return parser


def run(args: argparse.Namespace) -> dict[str, Any] | None:
    """Measure as ``args`` say on this rank; return the document on rank 0 (after writing it), None elsewhere."""
    missing = [k for k in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if not os.environ.get(k)]
    if missing:
        raise ProbeError(f"not launched under torchrun ({', '.join(missing)} unset): {_LAUNCH}")
    if args.repeats < 1 or args.warmup < 0:
        raise ProbeError(f"need --repeats >= 1 and --warmup >= 0, not {args.repeats} and {args.warmup}")
    sizes = _parse_sizes(args.sizes)
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    unknown = skip - {"compute", "p2p", "allreduce"}
    if unknown:
        raise ProbeError(f"--skip takes compute, p2p, allreduce, not {', '.join(sorted(unknown))}")
    _, dist = _torch()
    dist.init_process_group(backend=args.backend)
    try:
        world, rank = dist.get_world_size(), dist.get_rank()
        if "p2p" not in skip and world < 2:
            raise ProbeError(f"p2p needs at least 2 ranks, WORLD_SIZE is {world} (or --skip p2p)")
        hosts: list[Any] = [None] * world
        dist.all_gather_object(hosts, socket.gethostname())
        compute: dict[str, Any] | None = None  # --skip compute: the file says "compute": null
        if "compute" not in skip:
            compute = measure_compute(args.model, args.iterations, args.warmup, args.compute_sleep)
        dist.barrier()
        p2p = [] if "p2p" in skip else measure_p2p(sizes, args.repeats, args.warmup)
        allreduce = [] if "allreduce" in skip else measure_allreduce(sizes, args.repeats, args.warmup)
        dist.barrier()
    finally:
        dist.destroy_process_group()
    if rank != 0:
        return None
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "cluster": {"nodes": world, "backend": args.backend, "hosts": hosts},
        "compute": compute,
        "p2p": p2p,
        "allreduce": allreduce,
        "simsgp": __version__,
    }
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")
    return doc


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry point: ``python -m simsgp.probe [options]``; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        doc = run(args)
    except (ProbeError, ValueError) as exc:
        print(f"simsgp.probe: error: {exc}", file=sys.stderr)
        return 2
    if doc is not None:
        print(f"simsgp.probe: wrote {args.out} ({doc['cluster']['nodes']} nodes)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
