"""Physical invariants: the checker catches what it must, and every algorithm on every topology passes it.

The engine checks every run (:func:`simsgp.sim.physics.check`), and this suite
makes every run log its messages so that each is bounded too (see
``conftest.py``). Here the checker is first shown to fail on broken runs,
then driven over fixed and random scenarios.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simsgp
from simsgp import algorithms
from simsgp.algorithms import ALGORITHMS
from simsgp.scenario import from_dict
from simsgp.sim import flows, physics
from simsgp.sim.engine import build
from simsgp.sim.topology import available_topologies, star

# --- the checker can fail -----------------------------------------------------------


def test_link_violations_name_the_link_and_the_excess():
    found = physics.link_violations([5.0, 12.0], [1.0, 1.0], 10.0, ["h0.up", "h0.down"])
    assert found == ["link h0.down carried 12 bytes, 1.2 times what 1 bytes/s carry in 10 s"]
    assert physics.link_violations([10.0], [1.0], 10.0, ["h0.up"]) == []


def test_message_violations_bound_every_message_by_latency_and_slowest_link():
    topology = star(3, [100.0, 100.0, 100.0], 0.5, down_bandwidth=[100.0, 100.0, 25.0])
    ok = np.array([[0, 2, 1.0, 1.0 + 0.5 + 100.0 / 25.0, 100.0]])
    early = np.array([[0, 2, 1.0, 1.0 + 0.5 + 100.0 / 100.0, 100.0]])  # as if the 25 B/s downlink were not there
    assert physics.message_violations(ok, topology) == []
    assert len(physics.message_violations(early, topology)) == 1


def test_record_violations_catch_unordered_and_overlapping_iterations():
    records = {
        "start": np.array([[0.0, 0.0], [1.0, 0.9]]),
        "compute_end": np.array([[0.5, 0.6], [0.9, 1.5]]),
        "end": np.array([[1.0, 1.0], [2.0, 2.0]]),
    }
    found = physics.record_violations(records)
    assert len(found) == 2
    assert "node 0 iteration 1: compute ends before it starts" in found[0]
    assert "node 1 starts iteration 1 at 0.9 s, before iteration 0 ended" in found[1]


def test_a_network_that_oversubscribes_links_fails_every_run(monkeypatch):
    """Max-min rates times 4 put more on a link than it carries: the engine's check refuses the result.

    Three flows share each uplink in a parallel allreduce on 4 nodes, so each
    then runs at 4/3 of the link: faster than a lone flow (the message bound)
    and, with nothing but transfers, more bytes than the links carry.
    """
    fair = flows._max_min_rates
    monkeypatch.setattr(flows, "_max_min_rates", lambda *args: [4.0 * r for r in fair(*args)])
    scenario = {"iterations": 3, "cluster": {"nodes": 4, "compute": {"mean": 1e-6}},
                "algorithm": {"name": "allreduce", "collective": "parallel"}, "task": {"payload": "resnet50"}}
    with pytest.raises(physics.PhysicsError, match=r"link h0.up carried .* times what 1.25e\+09 bytes/s carry"):
        simsgp.run(scenario)
    monkeypatch.setattr(physics, "check", lambda *args: None)
    result = simsgp.run({**scenario, "trace": True})
    found = physics.violations(result, build(result.scenario).world.network.topology)
    assert sum("arrived" in line for line in found) == len(result.messages) == 3 * 4 * 3
    assert sum("carried" in line for line in found) == 8  # every NIC, both directions


def test_lost_push_sum_weight_fails_the_run(monkeypatch):
    from simsgp.algorithms import sgp

    monkeypatch.setattr(sgp.SGP, "weight_unmixed", staticmethod(lambda run: 0.25))
    with pytest.raises(physics.PhysicsError, match="push-sum weight sums to 8.25"):
        simsgp.run({"iterations": 2})


# --- every algorithm, every topology, with and without perturbations --------------------

PERTURBATIONS = {
    "none": {},
    "slow node": {"slow_nodes": {"1": 3.0}},
    "lognormal": {"compute": {"model": "lognormal", "mean": 0.02, "cv": 0.5}},
    "stragglers": {"stragglers": [{"node": 2, "factor": 4.0, "start": 0.05, "end": 0.2}]},
    "failure": {"failures": [{"node": 3, "start": 0.05, "end": 0.15}]},
}


def _physics_of(scenario):
    """Run ``scenario`` with its message log and return what the checker finds (the engine checked already)."""
    result = simsgp.run({**scenario, "trace": True})
    topology = build(result.scenario).world.network.topology
    assert result.messages is not None
    return result, physics.violations(result, topology)


@pytest.mark.slow
@pytest.mark.parametrize("perturbation", sorted(PERTURBATIONS))
@pytest.mark.parametrize("topology", available_topologies())
@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_every_algorithm_is_physical_on_every_topology(name, topology, perturbation):
    cluster = {"nodes": 6, "compute": {"model": "constant", "mean": 0.02}}
    cluster.update(PERTURBATIONS[perturbation])
    result, found = _physics_of({
        "iterations": 8,
        "eval_every": 4,
        "cluster": cluster,
        "network": {"topology": topology},
        "algorithm": {"name": name},
        "task": {"payload": 4e6},
    })
    assert found == []
    assert result.summary["max_link_utilization"] <= 1.0 + physics.RTOL
    assert max(result.summary["node_send_fraction"]) <= 1.0 + physics.RTOL


@st.composite
def small_scenarios(draw):
    """2-16 nodes, any algorithm, bandwidths 1e6-1e10 B/s, payloads 1 kB-100 MB, compute 1 ms-1 s, slow nodes."""
    name = draw(st.sampled_from(sorted(ALGORITHMS)))
    nodes = draw(st.integers(2, 16))
    if name in ("dpsgd", "adpsgd"):  # their bipartite graph pairs even with odd ranks
        nodes += nodes % 2
    slow = draw(st.dictionaries(st.integers(0, nodes - 1).map(str), st.floats(1.0, 8.0), max_size=2))
    compute = {"model": draw(st.sampled_from(["constant", "lognormal"])), "mean": draw(st.floats(1e-3, 1.0))}
    if compute["model"] == "lognormal":
        compute["cv"] = draw(st.floats(0.0, 1.0))
    algorithm = {"name": name}
    if name == "osgp":
        algorithm["tau"] = draw(st.integers(0, 3))
    if name in ("ps-sync", "ps-async", "dcasgd"):
        algorithm["servers"] = draw(st.integers(1, 3))
    if name == "allreduce":
        algorithm["collective"] = draw(st.sampled_from(["ring", "parallel"]))
        algorithm["overlap"] = draw(st.booleans())
    return {
        "seed": draw(st.integers(0, 2**16)),
        "iterations": draw(st.integers(1, 12)),
        "eval_every": 0,
        "timing_only": draw(st.booleans()),
        "cluster": {"nodes": nodes, "compute": compute, "slow_nodes": slow},
        "network": {
            "topology": draw(st.sampled_from(available_topologies())),
            "bandwidth": draw(st.floats(6, 10).map(lambda e: 10.0**e)),
        },
        "algorithm": algorithm,
        "task": {"payload": draw(st.floats(3, 8).map(lambda e: 10.0**e))},
    }


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_scenarios())
def test_random_scenarios_are_physical(scenario):
    result, found = _physics_of(scenario)
    assert found == []
    assert result.summary["max_link_utilization"] <= 1.0 + physics.RTOL


def test_push_sum_algorithms_report_where_their_weight_is():
    scenario = from_dict({"iterations": 20, "algorithm": {"name": "osgp", "tau": 2},
                          "cluster": {"nodes": 6, "slow_nodes": {"2": 3.0}}, "network": {"bandwidth": 1e8},
                          "task": {"payload": "resnet50"}})
    result = simsgp.run(scenario)
    unmixed = result.summary["weight_unmixed"]
    assert unmixed >= 0
    assert result.weights.sum() + unmixed == pytest.approx(6.0, rel=1e-12)
    assert simsgp.run({"iterations": 3, "algorithm": {"name": "allreduce"}}).summary["weight_unmixed"] is None


@pytest.mark.parametrize("topology", available_topologies())
@pytest.mark.parametrize("name", algorithms.analytic_names())
def test_analytic_mode_is_physical(name, topology):
    """The analytic recursions account bytes and busy time without flows: the same bounds hold."""
    scenario = {"iterations": 6, "analytic": True, "cluster": {"nodes": 8, "slow_nodes": {"2": 2.0}},
                "network": {"topology": topology}, "algorithm": {"name": name}, "task": {"payload": "resnet50"}}
    if name == "ps-sync" and topology in ("racks-oversubscribed", "servers-10gbe-8gpu", "wan-geo"):
        with pytest.raises(simsgp.ScenarioError, match="routes to the server share more than one link"):
            simsgp.run(scenario)  # no exact recursion there: the event mode it is
        return
    result = simsgp.run(scenario)
    assert physics.violations(result, build(result.scenario).world.network.topology) == []
    assert 0.0 < result.summary["max_link_utilization"] <= 1.0 + physics.RTOL
