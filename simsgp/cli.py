"""Command line: ``simsgp run | sweep | plot | graphs | scenarios | reproduce | calibrate``.

Only parses arguments and prints; every error a user can cause is reported in
one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from simsgp import scenario as scenario_mod
from simsgp.errors import SimsgpError

if TYPE_CHECKING:  # the commands import the simulator when they run, so that --help starts at once
    from simsgp import calibrate
    from simsgp.report.progress import ProgressLine
    from simsgp.report.result import Result

__all__ = ["format_summary", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simsgp", description="Simulate decentralized training in virtual time.")
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser("run", help="run one scenario and print its summary")
    _scenario_arguments(run_cmd)
    run_cmd.add_argument("--json", action="store_true", help="print the result as one JSON object")
    run_cmd.add_argument("--trace", metavar="PATH", help="write a Chrome/Perfetto trace of the virtual timeline")
    run_cmd.add_argument(
        "--progress", action=argparse.BooleanOptionalAction, default=None,
        help="show a progress line on stderr (default: when stderr is a terminal)",
    )
    run_cmd.add_argument(
        "--allow-large", action="store_true",
        help="run past the memory and event limits (with a warning) instead of refusing",
    )
    run_cmd.add_argument("--force", action="store_true", help="overwrite a --trace file that simsgp did not write")

    sweep_cmd = commands.add_parser("sweep", help="run a grid of scenarios (resumable), write a tidy table")
    _scenario_arguments(sweep_cmd)
    sweep_cmd.add_argument(
        "--grid", action="append", default=[], required=True, metavar="KEY=V1,V2",
        help="a dotted key and its values, e.g. --grid cluster.nodes=4,8,16 (repeatable)",
    )
    sweep_cmd.add_argument("--out", required=True, help="folder for the runs and the table (new or made by a sweep)")
    sweep_cmd.add_argument("--workers", type=int, default=None, help="local processes (default: all cores)")
    sweep_cmd.add_argument("--scheduler", default=None, help="address of a Dask distributed scheduler")
    sweep_cmd.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS",
        help="wall seconds a run may take; a longer one is recorded as failed (and redone by the next sweep)",
    )
    sweep_cmd.add_argument("--force", action="store_true", help="write into an existing folder that no sweep made")
    sweep_cmd.add_argument(
        "--reuse-other-versions", action="store_true",
        help="reuse finished runs made by another simsgp version (by default they are redone)",
    )
    sweep_cmd.add_argument(
        "--allow-large", action="store_true",
        help="run points past the memory and event limits (with a warning) instead of failing them",
    )

    plot_cmd = commands.add_parser("plot", help="plot the runs of a sweep folder (PNG and SVG)")
    plot_cmd.add_argument("folder", help="a folder written by simsgp sweep (one sweep or several)")
    plot_cmd.add_argument("--dest", default=None, help="where to write the figures (default: FOLDER/plots)")
    plot_cmd.add_argument("--force", action="store_true", help="write into an existing --dest that holds other files")
    plot_cmd.add_argument(
        "--facet", default=None, metavar="KEY",
        help="one panel per value of a grid key, e.g. --facet algorithm.name (shared axes)",
    )
    plot_cmd.add_argument(
        "--where", action="append", default=[], metavar="KEY=VALUE",
        help="plot only runs with this value, e.g. --where cluster.nodes=16 (repeatable; one key twice: either)",
    )
    plot_cmd.add_argument(
        "--run", default=None, metavar="KEY",
        help="draw the per-run figures (time breakdown, staleness) for this run only: its key or a unique prefix",
    )

    graphs_cmd = commands.add_parser("graphs", help="print a communication schedule, its checks and spectral gap")
    graphs_cmd.add_argument("name", metavar="NAME", help="a built-in graph, such as dynamic-directed-exponential")
    graphs_cmd.add_argument("--nodes", type=int, default=8, help="number of nodes (default 8)")
    graphs_cmd.add_argument("--peers", type=int, default=1, help="peers per iteration (default 1)")

    commands.add_parser("scenarios", help="list the built-in scenario presets")

    reproduce_cmd = commands.add_parser("reproduce", help="simulate a published table beside its figures")
    reproduce_cmd.add_argument("what", choices=["paper"], help="paper: seconds per iteration of Assran et al., ICML 2019")
    reproduce_cmd.add_argument(
        "--calibrate", action="store_true",
        help="first fit compute time and link efficiency to the 4- and 8-node rows, then predict the rest",
    )
    reproduce_cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")

    calibrate_cmd = commands.add_parser("calibrate", help="fit compute time and link efficiency to measurements")
    _scenario_arguments(calibrate_cmd)
    calibrate_cmd.add_argument(
        "--measure", action="append", default=[], required=True, metavar="ALG:NODES=SECONDS",
        help="a measured point to fit, e.g. allreduce:4=0.704 (repeatable)",
    )
    calibrate_cmd.add_argument(
        "--predict", action="append", default=[], metavar="ALG:NODES=SECONDS",
        help="a measured point to predict after fitting, with its relative error (repeatable)",
    )
    return parser


def _scenario_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("scenario", nargs="?", default=None, help="preset name or TOML file (default: 'default')")
    command.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a dotted scenario key, e.g. --set cluster.nodes=32 (repeatable)",
    )


def format_summary(result: Result, *, max_rows: int = 10) -> str:
    """A short human-readable account of a run: time, accuracy, where time and bytes went.

    Examples
    --------
    >>> from simsgp import run
    >>> print(format_summary(run({"iterations": 2, "cluster": {"nodes": 2}})).splitlines()[0])
    sgp on 2 nodes, 2 iterations (simsgp 0.1.0, seed 0)
    """
    s, sc = result.summary, result.scenario
    backend = "" if sc.backend == "numpy" else f", {sc.backend} on {sc.device}"
    header = f"{sc.algorithm.name} on {sc.cluster.nodes} nodes, {s['iterations']} iterations"
    lines = [f"{header} (simsgp {result.version}, seed {sc.seed}{backend})"]
    if s["iterations"]:
        pace = [p for p in s["node_time_per_iteration"] if p is not None]
        lines += [
            (
                f"  simulated time        {s['sim_time']:.6g} s, {s['sim_time_per_iteration']:.6g} s per "
                "iteration (the slowest node's pace)"
            ),
            (
                f"  per node              {min(pace):.4g} / {s['median_node_time_per_iteration']:.4g} / {max(pace):.4g} "
                "s per iteration (min / median / max of each node's own pace)"
            ),
        ]
    else:
        limit = f" within time_limit={sc.time_limit:g} s" if sc.time_limit is not None else ""
        lines.append(f"  simulated time        {s['span']:.6g} s: 0 iterations completed by every node{limit}")
    if s["down_at_end"]:
        nodes = ", ".join(map(str, s["down_at_end"]))
        lines.append(f"  down at the end       node(s) {nodes}: the others went on without them")
    if sc.has_target:
        lines.append(f"  time to target        {_time_to_target(s, sc)}")
    lines += [
        f"  final loss            {_number(s['final_loss'], '.6g')}",
        f"  final accuracy        {_number(s['final_accuracy'], '.4f')}",
        f"  consensus distance    {_number(s['consensus_distance'], '.3g')}",
        f"  time computing        {_percent(s['compute_fraction'])} (per node {_spread(s['node_compute_fraction'], '.1%')})",
        f"  time communicating    {_percent(s['comm_wait_fraction'])} (sending or waiting for peers)",
        f"  uplink busy           per node {_spread(s['node_send_fraction'], '.1%')} of the run",
        f"  busiest link          {s['busiest_link']}, {_percent(s['max_link_utilization'])} of its capacity",
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
        import numpy as np

        rows = np.unique(np.linspace(0, len(ev["iteration"]) - 1, min(max_rows, len(ev["iteration"]))).astype(int))
        for k in rows:
            lines.append(
                f"  {int(ev['iteration'][k]):>9d}   {ev['sim_time'][k]:>10.4g}   {ev['loss'][k]:<8.4g}  "
                f"{_number(ev['accuracy'][k], '.4f'):<8s}  {_number(ev['consensus_distance'][k], '.3g')}"
            )
    return "\n".join(lines)


def _time_to_target(summary: dict, scenario: scenario_mod.Scenario) -> str:
    """``1.2 s (iteration 120; reached after the check at 1.1 s)``, or when it was never reached."""
    goals = [f"accuracy >= {scenario.target_accuracy:g}"] if scenario.target_accuracy is not None else []
    goals += [f"loss <= {scenario.target_loss:g}"] if scenario.target_loss is not None else []
    goal = " and ".join(goals)
    if summary["time_to_target"] is None:
        return f"{goal} not reached (checked every {scenario.eval_every} iterations)"
    seconds, resolution = summary["time_to_target"], summary["time_to_target_resolution"]
    return (
        f"{seconds:.6g} s to {goal} (iteration {summary['iterations_to_target']}; "
        f"reached within the {resolution:.3g} s since the check before)"
    )


def _number(value: float | None, fmt: str) -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, fmt)


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
    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return _COMMANDS[args.command](args)
        except SimsgpError as exc:
            print(f"simsgp: error: {exc}", file=sys.stderr)
            return 2
        except KeyboardInterrupt:
            print("\nsimsgp: interrupted", file=sys.stderr)
            return 130
        except BrokenPipeError:  # output piped into `head` and the like: stop quietly
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 141


def _show_warning(message: Warning | str, category: type[Warning], *_: object, **__: object) -> None:
    """Warnings in one line, as the errors are."""
    print(f"simsgp: warning: {message}", file=sys.stderr)


def _load(args: argparse.Namespace) -> scenario_mod.Scenario:
    return scenario_mod.apply_overrides(scenario_mod.load(args.scenario), args.overrides)


def _run(args: argparse.Namespace) -> int:
    from simsgp.sim.budget import Limits
    from simsgp.sim.engine import run

    scenario = _load(args)
    if args.trace:
        from simsgp.report.trace import check_trace_target, write_chrome_trace

        check_trace_target(args.trace, force=args.force, option="--trace")  # before the run, not after it
        scenario = scenario_mod.apply_overrides(scenario, ["trace=true"])
    limits = Limits(allow_large=args.allow_large)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    if show:
        line, report = _progress_line(scenario)
        try:
            result = run(scenario, progress=report, limits=limits)
        finally:
            line.close()
    else:
        result = run(scenario, limits=limits)
    print(result.to_json(indent=2) if args.json else format_summary(result))
    if args.trace:
        print(f"trace written to {write_chrome_trace(result, args.trace, force=args.force)}", file=sys.stderr)
    return 0


def _progress_line(scenario: scenario_mod.Scenario) -> tuple[ProgressLine, Callable[[int, float], None]]:
    """A progress line for a run, and the ``progress`` callback of :func:`simsgp.run` that feeds it.

    Counts iterations, or simulated seconds in a run bounded only by ``time_limit``.
    """
    from simsgp.report.progress import ProgressLine

    if scenario.iterations is not None:
        line = ProgressLine("run", scenario.iterations, "iterations")
        return line, lambda done, now: line.update(done, f"sim {now:.6g} s")
    assert scenario.time_limit is not None  # a scenario without iterations has a time_limit
    line = ProgressLine("run", scenario.time_limit, "simulated s")
    return line, lambda done, now: line.update(now, f"{done} iterations")


def _sweep(args: argparse.Namespace) -> int:
    from simsgp.sweep import cli_sweep

    return cli_sweep(
        args.scenario, args.grid, args.out, overrides=args.overrides, workers=args.workers, scheduler=args.scheduler,
        timeout=args.timeout, force=args.force, reuse_other_versions=args.reuse_other_versions,
        allow_large=args.allow_large,
    )


def _plot(args: argparse.Namespace) -> int:
    from simsgp.report.plot import cli_plot

    return cli_plot(args.folder, args.dest, force=args.force, facet=args.facet, where=args.where, run=args.run)


def _graphs(args: argparse.Namespace) -> int:
    """Print the report of a built-in schedule: 2 to 100 000 nodes, at least 1 peer per iteration.

    The report is linear in the messages of one period (sparse checks, the
    spectral gap by FFT for the circulant built-ins): 100 000 nodes of
    ``dynamic-directed-exponential`` take a few seconds. Graphs whose period
    lists more than :data:`simsgp.graphs.MAX_SCHEDULE_ENTRIES` messages are
    refused by :func:`simsgp.graphs.make`.
    """
    from simsgp import graphs
    from simsgp.checks import one_of

    one_of("NAME", args.name, graphs.GRAPHS)
    most = 100_000
    if not 2 <= args.nodes <= most:
        raise SimsgpError(f"--nodes={args.nodes} is out of range; allowed are 2..{most}")
    if args.peers < 1:
        raise SimsgpError(f"--peers={args.peers} is out of range; allowed are integers >= 1")
    print(graphs.describe(graphs.make(args.name, args.nodes, args.peers)))
    return 0


def _scenarios(args: argparse.Namespace) -> int:
    for name, description in scenario_mod.presets().items():
        print(f"{name:24s} {description}")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from simsgp import calibrate, paper

    base = scenario_mod.apply_overrides(scenario_mod.load("paper-resnet50-10gbe"), args.overrides)
    rows = paper.paper_measurements()
    if args.calibrate:
        fitted = calibrate.fit(base, paper.paper_measurements([4, 8]))
        print(_fitted_values(fitted))
        base = fitted.scenario
    print("seconds per iteration, ResNet-50 on 10 GbE (Assran et al., ICML 2019) against simsgp")
    print(_prediction_table(calibrate.predict(calibrate.Calibration({}, base, ()), rows)))
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from simsgp import calibrate

    measured = [calibrate.parse_measurement(text) for text in args.measure]
    fitted = calibrate.fit(_load(args), measured)
    print(_fitted_values(fitted))
    print(_prediction_table(calibrate.predict(fitted, measured + [calibrate.parse_measurement(t) for t in args.predict])))
    return 0


def _fitted_values(fitted: calibrate.Calibration) -> str:
    values = ", ".join(f"{k} = {v:.6g}" for k, v in fitted.values.items())
    return f"fitted: {values}"


def _prediction_table(rows: list[tuple[calibrate.Measurement, float, float]]) -> str:
    lines = [f"{'algorithm':<11}{'nodes':>6}{'measured':>10}{'simsgp':>10}{'error':>9}"]
    for m, seconds, error in rows:
        lines.append(f"{m.algorithm:<11}{m.nodes:>6}{m.seconds:>10.3f}{seconds:>10.3f}{error:>+9.1%}")
    return "\n".join(lines)


_COMMANDS = {
    "run": _run,
    "sweep": _sweep,
    "plot": _plot,
    "graphs": _graphs,
    "scenarios": _scenarios,
    "reproduce": _reproduce,
    "calibrate": _calibrate,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
