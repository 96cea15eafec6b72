"""Command line: ``simsgp run``, ``simsgp graphs``, ``simsgp scenarios``.

Only parses arguments and prints; every error a user can cause is reported in
one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from simsgp import graphs, scenario as scenario_mod
from simsgp.engine import run
from simsgp.errors import SimsgpError
from simsgp.result import Result

__all__ = ["main", "format_summary"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simsgp", description="Simulate decentralized training in virtual time.")
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="run one scenario and print its summary")
    run_cmd.add_argument("scenario", nargs="?", default=None, help="preset name or TOML file (default: the 'default' preset)")
    run_cmd.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a dotted scenario key, e.g. --set cluster.nodes=32 (repeatable)",
    )
    run_cmd.add_argument("--json", action="store_true", help="print the result as one JSON object")

    graphs_cmd = commands.add_parser("graphs", help="print a communication schedule, its checks and spectral gap")
    graphs_cmd.add_argument("name", choices=graphs.GRAPHS, metavar="NAME", help=f"one of {', '.join(graphs.GRAPHS)}")
    graphs_cmd.add_argument("--nodes", type=int, default=8, help="number of nodes (default 8)")
    graphs_cmd.add_argument("--peers", type=int, default=1, help="peers per iteration (default 1)")

    commands.add_parser("scenarios", help="list the built-in scenario presets")
    return parser


def format_summary(result: Result, *, max_rows: int = 10) -> str:
    """A short human-readable account of a run: time, accuracy, where time and bytes went.

    Examples
    --------
    >>> from simsgp import run
    >>> print(format_summary(run({"iterations": 2, "cluster": {"nodes": 2}})).splitlines()[0])
    sgp on 2 nodes, 2 iterations (simsgp 0.1.0, seed 0)
    """
    s, sc = result.summary, result.scenario
    lines = [
        f"{sc.algorithm.name} on {sc.cluster.nodes} nodes, {s['iterations']} iterations (simsgp {result.version}, seed {sc.seed})",
        f"  simulated time        {s['sim_time']:.6g} s ({s['sim_time_per_iteration']:.6g} s per iteration)",
        f"  per node              {_spread(s['node_time_per_iteration'], '.4g')} s per iteration",
        f"  final loss            {s['final_loss']:.6g}",
        f"  final accuracy        {_number(s['final_accuracy'], '.4f')}",
        f"  consensus distance    {s['consensus_distance']:.3g}",
        f"  time computing        {_percent(s['compute_fraction'])} (per node {_spread(s['node_compute_fraction'], '.1%')})",
        f"  time communicating    {_percent(s['comm_wait_fraction'])} (sending or waiting for peers)",
        f"  uplink busy           per node {_spread(s['node_send_fraction'], '.1%')}",
        f"  bytes sent            {s['bytes_sent']:.4g} (per node {_spread(s['node_bytes_sent'], '.3g')})",
        f"  push-sum weight       {s['weight_min']:.4g} .. {s['weight_max']:.4g}",
    ]
    if s["staleness_histogram"]:
        counts = ", ".join(f"{k}: {c}" for k, c in enumerate(s["staleness_histogram"]) if c)
        lines.append(f"  staleness             {counts}")
    if any(s["down_time"]):
        down = ", ".join(f"node {i}: {d:.4g} s" for i, d in enumerate(s["down_time"]) if d)
        lines.append(f"  down time             {down}")
    ev = result.evaluations
    if len(ev["iteration"]):
        lines.append("  iteration   sim time s   loss      accuracy  consensus")
        rows = np.unique(np.linspace(0, len(ev["iteration"]) - 1, min(max_rows, len(ev["iteration"]))).astype(int))
        for k in rows:
            lines.append(
                f"  {int(ev['iteration'][k]):>9d}   {ev['sim_time'][k]:>10.4g}   {ev['loss'][k]:<8.4g}  "
                f"{_number(ev['accuracy'][k], '.4f'):<8s}  {ev['consensus_distance'][k]:.3g}"
            )
    return "\n".join(lines)


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def _percent(value: float | None) -> str:
    return _number(value, ".1%")


def _spread(values: list[float | None], fmt: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "n/a"
    low, high = min(known), max(known)
    return format(low, fmt) if low == high else f"{format(low, fmt)} .. {format(high, fmt)}"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``simsgp`` console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "run":
            scenario = scenario_mod.apply_overrides(scenario_mod.load(args.scenario), args.overrides)
            result = run(scenario)
            print(result.to_json(indent=2) if args.json else format_summary(result))
        elif args.command == "graphs":
            print(graphs.describe(graphs.make(args.name, args.nodes, args.peers)))
        else:
            for name, description in scenario_mod.presets().items():
                print(f"{name:24s} {description}")
    except SimsgpError as exc:
        print(f"simsgp: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
