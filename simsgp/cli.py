"""Command line: ``simsgp run | sweep | plot | graphs | scenarios | keys | show | reproduce | calibrate``.

Only parses arguments and prints; every error a user can cause is reported in
one line on stderr with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from simsgp import scenario as scenario_mod
from simsgp._version import __version__
from simsgp.errors import SimsgpError
from simsgp.report.summary import format_summary

if TYPE_CHECKING:  # the commands import the simulator when they run, so that --help starts at once
    from simsgp import calibrate
    from simsgp.report.progress import ProgressLine

__all__ = ["format_summary", "main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="simsgp", description="Simulate decentralized training in virtual time.")
    parser.add_argument("--version", action="version", version=f"simsgp {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run_cmd = commands.add_parser(
        "run", help="run one scenario and print its summary",
        epilog="Every scenario key, with its type, default, unit and meaning: simsgp keys [SECTION].",
    )
    _scenario_arguments(run_cmd)
    _seeds_argument(run_cmd, "the scenario", "print each metric's mean and 95 %% interval; not with --trace")
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
    _seeds_argument(sweep_cmd, "every point", "results-mean.csv has each point's mean and 95 %% interval")
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

    keys_cmd = commands.add_parser("keys", help="every scenario key: type, default, unit and meaning")
    keys_cmd.add_argument("section", nargs="?", default=None, help="a dotted prefix, such as cluster or algorithm.tau")

    show_cmd = commands.add_parser("show", help="print the resolved scenario as TOML, quantities also in units")
    _scenario_arguments(show_cmd)

    reproduce_cmd = commands.add_parser("reproduce", help="simulate a published table beside its figures")
    reproduce_cmd.add_argument("what", choices=["paper"], help="paper: seconds per iteration of Assran et al., ICML 2019")
    reproduce_cmd.add_argument(
        "--calibrate", action="store_true",
        help="first fit each method's compute time and the link efficiency to the 4- and 8-node rows, then predict the rest",
    )
    reproduce_cmd.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    reproduce_cmd.add_argument("--json", action="store_true", help="print the fit and the table as one JSON object")

    calibrate_cmd = commands.add_parser(
        "calibrate", help="fit scenario keys to measured seconds per iteration, then predict other points",
        epilog="Every parameter is reported with a standard error; a parameter at a bound or a fit the points do "
               "not determine is reported as a warning.",
    )
    _scenario_arguments(calibrate_cmd)
    calibrate_cmd.add_argument(
        "--measure", action="append", default=[], metavar="ALG:NODES=SECONDS[,KEY=VALUE...]",
        help="a measured point to fit, e.g. allreduce:4=0.704,algorithm.collective=recursive-doubling (keys after "
             "commas hold for that point alone; repeatable)",
    )
    calibrate_cmd.add_argument(
        "--predict", action="append", default=[], metavar="ALG:NODES[=SECONDS]",
        help="a point to predict after fitting; with a measured value, its relative error (repeatable)",
    )
    calibrate_cmd.add_argument(
        "--fit", action="append", default=[], metavar="KEY[@ALG][=LOW:HIGH]",
        help="a key to fit (repeatable; default: cluster.compute.mean per measured algorithm and network.efficiency)",
    )
    calibrate_cmd.add_argument(
        "--measurements", default=None, metavar="FILE",
        help="a file written by `python -m simsgp.probe` on a real cluster: its compute time and alpha-beta network "
             "figures set the scenario, its allreduce rows are points (fitted with --fit, else predicted)",
    )
    calibrate_cmd.add_argument(
        "--measured-collective", default="ring", metavar="NAME",
        help="the collective the file's allreduce rows ran (default ring: gloo's allreduce of CPU tensors)",
    )
    calibrate_cmd.add_argument("--json", action="store_true", help="print the fit and the points as one JSON object")
    return parser


def _scenario_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("scenario", nargs="?", default=None, help="preset name or TOML file (default: 'default')")
    command.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a dotted scenario key, e.g. --set cluster.nodes=32 (repeatable)",
    )


def _seeds_argument(command: argparse.ArgumentParser, what: str, then: str) -> None:
    help_text = f"run {what} once per seed (SEEDS such as 0-4, 0,3,7 or 0-2,5); {then}"
    command.add_argument("--seeds", default=None, metavar="SEEDS", help=help_text)


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
    if args.seeds is not None:
        return _run_seeds(args, scenario)
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


def _run_seeds(args: argparse.Namespace, scenario: scenario_mod.Scenario) -> int:
    """``simsgp run --seeds``: the scenario once per seed, each metric's mean and 95 % interval over them.

    A seed whose run diverges is reported and left out of the means (exit
    status 1); any other error stops the command. ``--trace`` is refused:
    a trace is the timeline of one run (``--set seed=N --trace PATH``).
    """
    from simsgp.errors import DivergenceError
    from simsgp.report import over_seeds
    from simsgp.report.progress import ProgressLine
    from simsgp.sim.budget import Limits
    from simsgp.sim.engine import run

    seeds = over_seeds.parse_seeds(args.seeds)
    over_seeds.check_no_seed_key([item.partition("=")[0] for item in args.overrides], given="--set seed=...")
    if args.trace:
        raise SimsgpError("--trace with --seeds: a trace is of one run; give its seed with --set seed=N instead")
    scenarios = [scenario_mod.apply_overrides(scenario, [f"seed={seed}"]) for seed in seeds]
    limits = Limits(allow_large=args.allow_large)
    show = sys.stderr.isatty() if args.progress is None else args.progress
    line = ProgressLine("run", len(seeds), "seeds", interval=0, plain_interval=0) if show else None
    runs = []
    try:
        for done, (seed, one) in enumerate(zip(seeds, scenarios), 1):
            try:
                runs.append({"seed": seed, "summary": run(one, limits=limits).summary, "error": None})
            except DivergenceError as exc:
                runs.append({"seed": seed, "summary": None, "error": str(exc)})
            if line is not None:
                line.update(done, f"seed {seed} {'failed' if runs[-1]['error'] else 'done'}")
    finally:
        if line is not None:
            line.close()
    _print_over_seeds(scenario, seeds, runs, as_json=args.json)
    failed = [r for r in runs if r["error"] is not None]
    return 1 if failed else 0


def _print_over_seeds(
    scenario: scenario_mod.Scenario, seeds: list[int], runs: list[dict], *, as_json: bool
) -> None:
    """The table of ``simsgp run --seeds`` (and its failed seeds), or one JSON object: runs and aggregates."""
    from simsgp.report import over_seeds
    from simsgp.report.result import jsonable

    metrics = [m for m in over_seeds.RUN_METRICS if m != "time_to_target" or scenario.has_target]
    rows = over_seeds.aggregate([r["summary"] for r in runs], metrics)
    if as_json:
        common = scenario_mod.to_dict(scenario_mod.resolve(scenario))
        del common["seed"]  # each run has its own
        data = {"version": __version__, "seeds": seeds, "scenario": common, "runs": runs,
                "aggregates": over_seeds.aggregates_dict(rows)}
        print(json.dumps(jsonable(data), indent=2, allow_nan=False))
        return
    span = f"{scenario.iterations} iterations" if scenario.iterations is not None else f"{scenario.time_limit:g} simulated s"
    title = f"{scenario.algorithm.name} on {scenario.cluster.nodes} nodes, {span}, {len(seeds)} seeds (simsgp {__version__})"
    print(over_seeds.format_aggregates(rows, seeds, title=title))
    for r in runs:
        if r["error"] is not None:
            print(f"  failed seed {r['seed']}: {r['error']}")


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
        allow_large=args.allow_large, seeds=args.seeds,
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


def _keys(args: argparse.Namespace) -> int:
    from simsgp.scenario.keys import format_keys, keys, select

    print(format_keys(select(keys(), args.section)))
    return 0


def _show(args: argparse.Namespace) -> int:
    from simsgp.scenario.display import format_scenario

    print(format_scenario(scenario_mod.resolve(_load(args))), end="")
    return 0


def _reproduce(args: argparse.Namespace) -> int:
    from simsgp import paper

    base = scenario_mod.apply_overrides(scenario_mod.load("paper-resnet50-10gbe"), args.overrides)
    calibration, points = paper.reproduce(base, calibrate=args.calibrate)
    title = "seconds per iteration, ResNet-50 on 10 GbE (Assran et al., ICML 2019) against simsgp"
    return _print_calibration(args, calibration, points, title)


def _calibrate(args: argparse.Namespace) -> int:
    from simsgp import calibrate

    measured = [calibrate.parse_measurement(text) for text in args.measure]
    predicted = [calibrate.parse_measurement(text) for text in args.predict]
    figures: dict[str, float] = {}
    if args.measurements is not None:
        from simsgp.checks import one_of
        from simsgp.measurements import calibration_inputs, read_measurements
        from simsgp.sim.collectives import COLLECTIVES

        one_of("--measured-collective", args.measured_collective, COLLECTIVES)
        figures, rows = calibration_inputs(read_measurements(args.measurements), args.measured_collective)
        measured += rows
    if not measured:
        raise SimsgpError("calibrate needs at least one --measure ALG:NODES=SECONDS or a --measurements FILE")
    base = scenario_mod.apply_overrides(scenario_mod.apply_overrides(scenario_mod.load(args.scenario), figures),
                                        args.overrides)  # what the user sets wins over the file's figures
    parameters = [calibrate.parse_parameter(text) for text in args.fit]
    if not parameters and args.measurements is not None and not args.measure:  # the file's figures predict its rows
        unfitted = calibrate.unfitted(base)
        return _print_calibration(args, unfitted, calibrate.predict(unfitted, [*measured, *predicted]),
                                  "seconds per iteration, measured against simsgp")
    fitted = calibrate.fit(base, measured, parameters or None)
    points = [*fitted.points, *calibrate.predict(fitted, predicted)]
    return _print_calibration(args, fitted, points, "seconds per iteration, measured against simsgp")


def _print_calibration(
    args: argparse.Namespace, calibration: calibrate.Calibration | None, points: list, title: str
) -> int:
    from simsgp.report.calibration import calibration_dict, format_calibration, format_points

    if args.json:
        print(json.dumps(calibration_dict(calibration, points), indent=2))
        return 0
    if calibration is not None and calibration.parameters:
        print(format_calibration(calibration))
    print(format_points(points, title))
    return 0


_COMMANDS = {
    "run": _run,
    "sweep": _sweep,
    "plot": _plot,
    "graphs": _graphs,
    "scenarios": _scenarios,
    "keys": _keys,
    "show": _show,
    "reproduce": _reproduce,
    "calibrate": _calibrate,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
