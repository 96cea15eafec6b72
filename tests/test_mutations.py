"""Random mutations of valid scenarios give a clean result or simsgp's own one-line error, never anything else.

Hypothesis starts from small valid scenarios and changes one to three of
their keys (any type, NaN and infinities, huge and tiny numbers), removes
keys or adds unknown ones, then drives :func:`simsgp.run` and the command
line with it. A run that is accepted must give finite times and strict JSON;
one that is refused must raise :class:`simsgp.errors.SimsgpError` (on the
command line: exit 2 and ``simsgp: error: ...`` in one line).
"""

from __future__ import annotations

import copy
import functools
import json
import math

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import simsgp
from simsgp.cli import main
from simsgp.errors import SimsgpError
from simsgp.sim.budget import Limits
from simsgp.sweep import _toml_literal

SMALL_LIMITS = Limits(memory_bytes=2**28, events=3e4)
"""Refuse anything larger than a quick test run: mutations make huge scenarios on purpose."""

BASES = [
    {"iterations": 3, "cluster": {"nodes": 4}, "eval_every": 1},
    {"iterations": 2, "cluster": {"nodes": 3, "compute": {"model": "lognormal", "cv": 0.3}},
     "algorithm": {"name": "allreduce", "overlap": True, "bucket_bytes": 1000.0}},
    {"iterations": 3, "cluster": {"nodes": 4, "failures": [{"node": 1, "start": 0.05, "end": 0.2}]},
     "algorithm": {"name": "adpsgd"}},
    {"iterations": 2, "cluster": {"nodes": 2}, "algorithm": {"name": "ps-sync", "servers": 2}},
    {"iterations": 4, "cluster": {"nodes": 4, "slow_nodes": {"2": 3.0}}, "algorithm": {"name": "osgp", "tau": 1}},
    {"time_limit": 0.25, "cluster": {"nodes": 4, "stragglers": [{"node": 0, "factor": 2.0, "start": 0.0, "end": 0.1}]},
     "task": {"name": "quadratic", "dim": 5}, "algorithm": {"name": "localsgd", "local_steps": 2}},
    {"iterations": 3, "timing_only": True, "cluster": {"nodes": 5, "transient": {"probability": 0.5}},
     "algorithm": {"name": "dcasgd"}, "network": {"topology": "racks-oversubscribed", "latency": 1e-4}},
]

KEYS = [
    "seed", "iterations", "time_limit", "eval_every", "timing_only", "target_accuracy", "target_loss",
    "cluster.nodes", "cluster.compute.model", "cluster.compute.mean", "cluster.compute.cv", "cluster.compute.path",
    "cluster.slow_nodes", "cluster.stragglers", "cluster.failures", "cluster.transient.probability",
    "cluster.transient.low", "cluster.transient.high",
    "network.topology", "network.bandwidth", "network.latency", "network.efficiency",
    "algorithm.name", "algorithm.graph", "algorithm.peers_per_itr", "algorithm.lr", "algorithm.momentum",
    "algorithm.tau", "algorithm.servers", "algorithm.local_steps", "algorithm.collective", "algorithm.overlap",
    "algorithm.bucket_bytes", "algorithm.backward_fraction", "algorithm.dc_lambda",
    "task.name", "task.batch_size", "task.payload", "task.dim", "task.noise", "task.hidden", "task.partition",
    "task.dirichlet_alpha", "analytic",
]

NUMBERS = st.sampled_from(
    [0, 1, 2, -1, 3, 7, 2**31, 2**63, 10**30, -(10**30), 0.0, -0.0, 0.5, 1e-9, 5e-324, 1e300, 1e308,
     math.nan, math.inf, -math.inf, 1.5, 0.999]
)
WORDS = st.sampled_from(["", "sgp", "allreduce", "ring", "quadratic", "trace", "dirichlet", "star-10gbe",
                         "x" * 300, "nodes", "ring.toml", "\x00", "03", "inf"])
SCALARS = st.one_of(NUMBERS, WORDS, st.booleans(), st.none(), st.floats(), st.integers(), st.text(max_size=8))
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.sampled_from(["node", "start", "end", "factor", "3", "x"]), SCALARS, max_size=4),
    st.lists(st.dictionaries(st.sampled_from(["node", "start", "end", "factor"]), NUMBERS, max_size=4), max_size=2),
)
MUTATION = st.one_of(
    st.tuples(st.just("set"), st.sampled_from(KEYS), VALUES),
    st.tuples(st.just("drop"), st.sampled_from(KEYS), st.none()),
    st.tuples(st.just("set"), st.sampled_from(["bogus", "cluster.bogus", "algorithm.nme", "task.dim.x"]), SCALARS),
)


def _mutate(base: dict, mutations) -> dict:
    data = copy.deepcopy(base)
    for kind, key, value in mutations:
        *parents, leaf = key.split(".")
        table = data
        for part in parents:
            nxt = table.setdefault(part, {}) if isinstance(table, dict) else None
            if not isinstance(nxt, dict):
                break
            table = nxt
        else:
            if kind == "drop":
                table.pop(leaf, None)
            else:
                table[leaf] = value
    return data


def _check_result(result) -> None:
    summary = result.summary
    assert isinstance(summary["iterations"], int) and summary["iterations"] >= 0
    assert math.isfinite(summary["sim_time"]) and summary["sim_time"] >= 0
    json.loads(result.to_json(), parse_constant=_refuse_token)


def _refuse_token(token):
    raise AssertionError(f"non-standard JSON token {token}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=st.sampled_from(BASES), mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_run_of_a_mutated_scenario_is_a_result_or_a_simsgp_error(base, mutations):
    data = _mutate(base, mutations)
    try:
        result = simsgp.run(data, limits=SMALL_LIMITS)
    except SimsgpError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 1000
        event(f"refused: {type(exc).__name__}")
        return
    event("ran")
    _check_result(result)


def _assignments(mutations) -> list[str] | None:
    """The mutations as ``--set`` arguments (None when one cannot be written as TOML)."""
    sets = []
    for kind, key, value in mutations:
        if kind == "drop" or value is None:
            continue
        try:
            sets += ["--set", f"{key}={_toml_literal(value, key)}"]
        except SimsgpError:
            return None
    return sets


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(base=st.sampled_from(BASES), mutations=st.lists(MUTATION, min_size=1, max_size=3))
def test_cli_run_of_a_mutated_scenario_is_json_or_one_error_line(base, mutations, capsys):
    sets = _assignments(mutations)
    if sets is None:
        return
    base_sets = []
    for key, value in _flatten(base):
        base_sets += ["--set", f"{key}={_toml_literal(value, key)}"]
    capsys.readouterr()  # the fixture is shared by the examples: start each from empty output
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("simsgp.sim.budget.Limits", functools.partial(Limits, memory_bytes=2**28, events=3e4))
        code = main(["run", "--json", *base_sets, *sets])
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if not line.startswith("simsgp: warning: ")]
    if code == 0:
        data = json.loads(out, parse_constant=_refuse_token)
        assert math.isfinite(data["summary"]["sim_time"]) and errors == []
    else:
        assert code == 2 and out == ""
        assert len(errors) == 1 and errors[0].startswith("simsgp: error: ") and len(errors[0]) < 1000


def _flatten(data: dict, prefix: str = ""):
    for key, value in data.items():
        if isinstance(value, dict) and key != "slow_nodes":
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
