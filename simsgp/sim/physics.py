"""Physical invariants every finished run must satisfy, checked from its records and network counters.

A number the simulator prints is a claim; these checks make the claims that
physics alone decides, on every run, from what the run left behind (and,
for the message bound, the topology rebuilt from its description):

- no link carried more than its capacity times the time the run covers;
- no message arrived sooner than its send time plus its route's latency plus
  its bytes at the slowest capacity on its route;
- every node's records are ordered: start <= compute end <= end, and an
  iteration starts no earlier than the previous one ended;
- push-sum mass is conserved: the nodes' weights plus the weight left in
  unmixed messages sum to the number of nodes.

Each ``*_violations`` function returns the broken invariants as lines of
text (empty when all hold); :func:`check` raises :class:`PhysicsError` with
all of them. :func:`simsgp.run` calls :func:`check` on every run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from simsgp.errors import SimsgpError

if TYPE_CHECKING:
    from simsgp.report.result import Result
    from simsgp.sim.topology import Topology

__all__ = [
    "RTOL",
    "PhysicsError",
    "check",
    "link_violations",
    "mass_violations",
    "message_violations",
    "record_violations",
    "violations",
]

RTOL = 1e-9
"""Relative slack of every bound (float residue of sums of times and bytes)."""

check_every_message = False
"""Whether every run logs its messages so that :func:`check` bounds each one.

Off by default (the log costs memory and time); a run with ``trace = true``
logs and checks them anyway. The test suite turns it on for every run.
"""


class PhysicsError(SimsgpError):
    """A finished run broke a physical invariant: a defect of simsgp, never of the scenario."""


def link_violations(
    carried: Sequence[float], capacity: Sequence[float] | np.ndarray, span: float, names: Sequence[str]
) -> list[str]:
    """Links that carried more than ``capacity * span`` bytes.

    Examples
    --------
    >>> link_violations([10.0, 30.0], [1.0, 2.0], 10.0, ["a", "b"])
    ['link b carried 30 bytes, 1.5 times what 2 bytes/s carry in 10 s']
    """
    found = []
    for name, nbytes, rate in zip(names, carried, capacity):
        limit = rate * span
        if nbytes > limit * (1 + RTOL):
            found.append(f"link {name} carried {nbytes:.6g} bytes, {nbytes / limit:.6g} times what "
                         f"{rate:.6g} bytes/s carry in {span:.6g} s")
    return found


def message_violations(messages: np.ndarray, topology: Topology) -> list[str]:
    """Messages ``(src, dst, t_send, t_delivered, nbytes)`` delivered sooner than physics allows.

    The bound is ``t_send + latency + nbytes / c``, ``c`` the smallest
    capacity on the route from ``src`` to ``dst``.
    """
    found = []
    bound_of: dict[tuple[int, int], tuple[float, float]] = {}
    capacity = topology.capacity
    for src, dst, t_send, t_delivered, nbytes in messages.tolist():
        pair = (int(src), int(dst))
        if pair not in bound_of:
            bound_of[pair] = (topology.latency(*pair), float(min(capacity[list(topology.route(*pair))])))
        latency, rate = bound_of[pair]
        earliest = t_send + latency + nbytes / rate
        if t_delivered < earliest - RTOL * max(abs(earliest), 1e-12):
            found.append(f"message {pair[0]} -> {pair[1]} of {nbytes:.6g} bytes sent at {t_send:.9g} s arrived at "
                         f"{t_delivered:.9g} s, before {earliest:.9g} s (latency + bytes / slowest link)")
    return found


def record_violations(records: Mapping[str, np.ndarray]) -> list[str]:
    """Iterations whose times are out of order: ``start <= compute_end <= end``, and no overlap at a node.

    Examples
    --------
    >>> rec = {"start": np.array([[0.0], [1.0]]), "compute_end": np.array([[0.5], [1.5]]),
    ...        "end": np.array([[1.2], [2.0]])}
    >>> record_violations(rec)
    ['node 0 starts iteration 1 at 1 s, before iteration 0 ended (1.2 s)']
    """
    start, compute_end, end = records["start"], records["compute_end"], records["end"]
    slack = RTOL * np.maximum(np.abs(end), 1.0)
    found = []
    for earlier, later, what in ((start, compute_end, "compute ends before it starts"),
                                 (compute_end, end, "ends before its compute ends")):
        for t, i in np.argwhere(later < earlier - slack)[:5].tolist():
            found.append(f"node {i} iteration {t}: {what} ({later[t, i]:.9g} s < {earlier[t, i]:.9g} s)")
    for t, i in np.argwhere(start[1:] < end[:-1] - slack[:-1])[:5].tolist():
        found.append(f"node {i} starts iteration {t + 1} at {start[t + 1, i]:.9g} s, "
                     f"before iteration {t} ended ({end[t, i]:.9g} s)")
    return found


def mass_violations(weights: np.ndarray, unmixed: float, n: int) -> list[str]:
    """Push-sum weight that appeared or vanished: ``sum(weights) + unmixed`` must be ``n``.

    Examples
    --------
    >>> mass_violations(np.array([0.5, 1.0]), 0.5, 2)
    []
    >>> mass_violations(np.array([0.5, 1.0]), 0.0, 2)
    ['push-sum weight sums to 1.5 (nodes 1.5, unmixed messages 0), not 2']
    """
    total = float(np.sum(weights)) + unmixed
    if abs(total - n) <= RTOL * n:
        return []
    nodes = float(np.sum(weights))
    return [f"push-sum weight sums to {total:.12g} (nodes {nodes:.12g}, unmixed messages {unmixed:.12g}), not {n}"]


def violations(result: Result, topology: Topology, messages: np.ndarray | None = None) -> list[str]:
    """Every invariant ``result`` breaks on ``topology``; ``messages`` default to the result's own log."""
    summary = result.summary
    span = summary["span"]
    found = record_violations(result.records)
    if span:
        found += link_violations(list(summary["link_bytes"].values()), topology.capacity, span, topology.link_names)
    log = result.messages if messages is None else messages
    if log is not None:
        found += message_violations(log, topology)
    if summary.get("weight_unmixed") is not None:
        found += mass_violations(result.weights, summary["weight_unmixed"], len(result.weights))
    return found


def check(result: Result, topology: Topology, messages: np.ndarray | None = None) -> None:
    """Raise :class:`PhysicsError` listing every invariant ``result`` breaks (see :func:`violations`)."""
    found = violations(result, topology, messages)
    if found:
        shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        raise PhysicsError(f"the simulated run broke a physical invariant (a simsgp defect; please report it): {shown}")
