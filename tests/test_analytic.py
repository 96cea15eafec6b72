"""The analytic mode gives the event mode's times without one event per flow."""

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp import run
from simsgp.errors import ScenarioError
from simsgp.sim import analytic
from simsgp.sim.collectives import ring_allreduce_time
from simsgp.sim.flows import Network
from simsgp.sim.topology import star


def test_ring_allreduce_in_sync_matches_closed_form():
    p, M, B, alpha = 8, 1e8, 1.25e9, 2e-5
    finish, _, busy = analytic.ring_allreduce(np.zeros(p), np.zeros(p), M / p, np.full(p, B), np.full(p, alpha))
    np.testing.assert_allclose(finish, ring_allreduce_time(p, M, B, alpha), rtol=1e-12)
    np.testing.assert_allclose(busy, 2 * (p - 1) / p * M / B, rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(
    arrivals=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=7),
    data=st.data(),
)
def test_shared_link_matches_event_mode_incast(arrivals, data):
    """Random start times, sizes and sender NIC speeds into one receiver: water-filling = max-min flows."""
    k = len(arrivals)
    sizes = data.draw(st.lists(st.floats(1.0, 100.0), min_size=k, max_size=k))
    uplinks = data.draw(st.lists(st.floats(5.0, 50.0), min_size=k, max_size=k))
    env = simpy.Environment()
    net = Network(env, star(k + 1, [*uplinks, 20.0], 0.0))
    ends = {}

    def sender(i):
        yield env.timeout(arrivals[i])
        yield net.send(i, k, sizes[i])
        ends[i] = env.now

    for i in range(k):
        env.process(sender(i))
    env.run()
    expected = np.array([ends[i] for i in range(k)])
    got, busy = analytic.shared_link(np.array(arrivals), np.array(sizes), np.array(uplinks), 20.0)
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert busy == pytest.approx(net.link_busy[2 * (k + 1) - 1], rel=1e-9)


CLUSTERS = {
    "constant": {},
    "slow-node": {"slow_nodes": {"2": 3.0}},
    "jitter": {"compute": {"model": "lognormal", "mean": 0.1, "cv": 0.5}},
    "straggler": {"stragglers": [{"node": 1, "factor": 4.0, "start": 0.3, "end": 0.9}], "transient": {"probability": 0.2}},
}
ALGORITHMS = {
    "allreduce": {"name": "allreduce"},
    "allreduce-buckets": {"name": "allreduce", "overlap": True, "bucket_bytes": 3e7},
    "localsgd": {"name": "localsgd", "local_steps": 3},
    "ps-sync": {"name": "ps-sync"},
}


SHARED = [  # ps-sync's incast crosses shared rack uplinks on racks: refused there (tested below)
    (algorithm, cluster, topology)
    for topology in ("star-10gbe", "racks-oversubscribed")
    for algorithm in sorted(ALGORITHMS)
    for cluster in sorted(CLUSTERS)
    if not (algorithm == "ps-sync" and topology != "star-10gbe")
]


@pytest.mark.parametrize(("algorithm", "cluster", "topology"), SHARED)
def test_analytic_mode_agrees_with_event_mode(algorithm, cluster, topology):
    scenario = {
        "iterations": 9,
        "cluster": {"nodes": 10, **CLUSTERS[cluster]},
        "network": {"topology": topology},
        "algorithm": ALGORITHMS[algorithm],
        "task": {"payload": "resnet50"},
    }
    event, exact = run(scenario), run({**scenario, "analytic": True})
    for field in ("start", "compute_end", "end", "bytes_sent", "loss"):
        np.testing.assert_allclose(exact.records[field], event.records[field], rtol=1e-9, err_msg=field)
    np.testing.assert_allclose(exact.params, event.params, rtol=1e-12)
    for key in ("sim_time", "node_send_fraction", "node_bytes_sent"):
        np.testing.assert_allclose(exact.summary[key], event.summary[key], rtol=1e-9, err_msg=key)
    np.testing.assert_allclose(exact.evaluations["sim_time"], event.evaluations["sim_time"], rtol=1e-9)
    if algorithm != "localsgd":  # in events, local steps of fast nodes may precede the probe
        np.testing.assert_allclose(exact.evaluations["loss"], event.evaluations["loss"], rtol=1e-9)
    assert exact.summary["events"] < event.summary["events"] / 10


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_analytic_timing_only_keeps_the_schedule_without_math(algorithm):
    scenario = {
        "iterations": 6,
        "cluster": {"nodes": 6, **CLUSTERS["straggler"]},
        "algorithm": ALGORITHMS[algorithm],
        "task": {"payload": "resnet50"},
        "analytic": True,
    }
    learning, timing = run(scenario), run({**scenario, "timing_only": True})
    for field in ("start", "compute_end", "end", "bytes_sent"):
        np.testing.assert_array_equal(timing.records[field], learning.records[field], err_msg=field)
    assert np.isnan(timing.records["loss"]).all() and not np.isnan(learning.records["loss"]).any()
    assert timing.summary["final_loss"] is None


@pytest.mark.parametrize(
    ("settings", "match"),
    [
        ({"algorithm": {"name": "sgp"}}, r"analytic=True; expected false for algorithm.name='sgp'; the analytic mode covers \['allreduce', 'localsgd', 'ps-sync'\]"),
        ({"algorithm": {"name": "allreduce", "collective": "parallel"}, "cluster": {"nodes": 12, **CLUSTERS["jitter"]}},
         "transfers overlap on it without starting and ending together"),
        ({"algorithm": {"name": "ps-sync", "servers": 2}}, "only one server"),
        ({"algorithm": {"name": "ps-sync"}, "network": {"topology": "racks-oversubscribed"}}, "share more than one link"),
        ({"algorithm": {"name": "allreduce"}, "time_limit": 2.0}, "time-limited runs need the event mode"),
        ({"algorithm": {"name": "allreduce"}, "network": {"connections": "one-per-pair"}}, "one per pair needs the event mode"),
    ],
)
def test_analytic_mode_refuses_what_it_cannot_time_exactly(settings, match):
    with pytest.raises(ScenarioError, match=match):
        run({"analytic": True, "cluster": {"nodes": 12}, **settings})


@pytest.mark.parametrize("collective", ["recursive-doubling", "halving-doubling", "parallel", "tree", "hierarchical"])
@pytest.mark.parametrize("network", [{}, {"reduce_rate": 5e9, "eager_limit": 1e6}])
def test_analytic_collectives_agree_with_event_mode_when_nodes_enter_together(collective, network):
    """On servers, 8 GPUs behind each NIC, but for parallel and the tree: their flows would share links unequally there."""
    scenario = {
        "iterations": 4,
        "cluster": {"nodes": 15 if collective == "tree" else 16},
        "network": {"topology": "star-10gbe" if collective in ("parallel", "tree") else "servers-10gbe-8gpu", **network},
        "algorithm": {"name": "allreduce", "collective": collective, "chunk_bytes": 2e7},
        "task": {"payload": "resnet50"},
        "timing_only": True,
    }
    event, exact = run(scenario), run({**scenario, "analytic": True})
    for field in ("start", "end", "bytes_sent"):
        np.testing.assert_allclose(exact.records[field], event.records[field], rtol=1e-9, err_msg=field)
    np.testing.assert_allclose(exact.summary["node_send_fraction"], event.summary["node_send_fraction"], rtol=1e-9)
