"""Text and JSON reports of a calibration: fitted values with uncertainties, every point's error, warnings."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simsgp._version import __version__
from simsgp.calibrate import Calibration, Point, held_out_summary
from simsgp.scenario import to_dict

__all__ = ["calibration_dict", "format_calibration", "format_points"]


def format_points(points: Sequence[Point], title: str) -> str:
    """A table of measured against simulated seconds per iteration, with each point's error and role."""
    width = max([len("point"), *(len(p.measurement.label) for p in points)])
    lines = [title, f"{'point':<{width}}  {'measured':>9}{'simsgp':>9}{'error':>9}  role"]
    for p in points:
        m = p.measurement
        measured = f"{m.seconds:>9.3f}" if m.seconds is not None else f"{'-':>9}"
        error = f"{p.error:>+9.1%}" if p.error is not None else f"{'-':>9}"
        lines.append(f"{m.label:<{width}}  {measured}{p.simulated:>9.3f}{error}  {'fitted' if p.fitted else 'held out'}")
    summary = held_out_summary(points)
    if summary["worst"] is not None:
        count = sum(1 for p in points if not p.fitted and p.error is not None)
        lines.append(f"held out ({count} points): worst {summary['worst']:.1%}, mean {summary['mean']:.1%} (absolute errors)")
    return "\n".join(lines)


def format_calibration(calibration: Calibration) -> str:
    """The fitted values with standard errors, then one ``warning:`` line per warning."""
    lines = ["fitted:"]
    width = max(len(p.name) for p in calibration.parameters)
    for p in calibration.parameters:
        value, std = calibration.values[p.name], calibration.std_errors[p.name]
        spread = f" +- {std:.2g}" if std is not None else " (no uncertainty)"
        lines.append(f"  {p.name:<{width}} = {value:.6g}{spread}   in [{p.low:g}, {p.high:g}]")
    lines += [f"warning: {w}" for w in calibration.warnings]
    return "\n".join(lines)


def calibration_dict(calibration: Calibration | None, points: Sequence[Point]) -> dict[str, Any]:
    """JSON-ready report: the fit (if any), every point, the held-out summary, the scenario and simsgp's version."""
    fitted = calibration.to_dict() if calibration is not None else {"parameters": [], "warnings": []}
    return {
        "version": __version__,
        "scenario": to_dict(calibration.base) if calibration is not None else None,
        "parameters": fitted["parameters"],
        "warnings": fitted["warnings"],
        "points": [p.to_dict() for p in points],
        "held_out": held_out_summary(points),
    }
