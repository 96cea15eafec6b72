"""Link counters sampled during a run (simsgp.sim.linkload, Result.network): exact, bounded, physical."""

from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp import run
from simsgp.report.series import busiest, utilization
from simsgp.sim.flows import Network
from simsgp.sim.linkload import SAMPLES, LinkSampler, sample_limit
from simsgp.sim.topology import available_topologies, load_topology

B, ALPHA, C = 1.25e9, 20e-6, 0.1  # star-10gbe: bytes/s per NIC direction, seconds per message; compute seconds


class _Clock:
    """A stand-in network: a clock and counters that are its time in every column."""

    def __init__(self, links=2):
        self.env = SimpleNamespace(now=0.0)
        self.capacity = [1.0] * links
        self.topology = SimpleNamespace(link_names=tuple(f"l{k}" for k in range(links)))

    @property
    def carried_bytes(self):
        return np.full(len(self.capacity), self.env.now)


def test_sampler_thins_to_its_limit_keeping_the_start_and_doubling_its_stride():
    net = _Clock()
    sampler = LinkSampler(net, stride=3, limit=4)
    strides = []
    for t in range(1, 8):
        net.env.now = float(t)
        strides.append(sampler.sample())
    net.env.now = 7.5
    out = sampler.finish()
    # 0 1 2 3 | full: 0 2, then 4 5 | full: 0 4, then 6 7 | full: 0 6, then 7.5
    assert strides == [3, 3, 3, 6, 6, 12, 12]
    assert out["time"].tolist() == [0.0, 6.0, 7.5]
    np.testing.assert_array_equal(out["carried"], np.repeat(out["time"][:, None], 2, axis=1))
    assert out["names"].tolist() == ["l0", "l1"] and out["capacity"].tolist() == [1.0, 1.0]


def test_sampler_skips_an_instant_already_sampled_and_ends_at_the_last_one():
    net = _Clock()
    sampler = LinkSampler(net, stride=1, limit=8)
    net.env.now = 2.0
    sampler.sample()
    sampler.sample()
    out = sampler.finish()
    assert out["time"].tolist() == [0.0, 2.0]


def test_sampler_rejects_a_bad_limit():
    with pytest.raises(ValueError, match="limit=5"):
        LinkSampler(_Clock(), stride=1, limit=5)


def test_sample_limit_bounds_the_memory():
    assert sample_limit(8) == SAMPLES
    for links in (10, 5000, 50_000, 10**6):
        assert sample_limit(links) * links <= max(1 << 21, 4 * links) and sample_limit(links) % 2 == 0


def _check_exact(result):
    """Utilisation at most 1 over every interval; its integral over the run is each link's carried bytes."""
    net, summary = result.network, result.summary
    time, carried, capacity = net["time"], net["carried"], net["capacity"]
    assert time[0] == 0.0 and np.all(carried[0] == 0.0) and np.all(np.diff(time) > 0)
    assert len(time) <= SAMPLES
    assert net["names"].tolist() == list(summary["link_bytes"])
    used = utilization(time, carried, capacity)
    assert used.size == 0 or used.max() <= 1.0 + 1e-9
    assert used.size == 0 or used.min() >= -1e-9
    integral = (used * capacity * np.diff(time)[:, None]).sum(axis=0)
    total = np.array(list(summary["link_bytes"].values()))
    np.testing.assert_allclose(integral, total, rtol=1e-9, atol=1e-9 * max(total.max(initial=0.0), 1.0))
    top = busiest(carried[-1], capacity)
    if top.size:
        assert net["names"][top[0]] == summary["busiest_link"]
    return used


_ALGORITHMS = ["sgp", "osgp", "allreduce", "dpsgd", "adpsgd", "localsgd", "ps-sync", "ps-async", "dcasgd"]


@settings(max_examples=80, deadline=None)
@given(
    nodes=st.integers(2, 6),
    mean=st.sampled_from([1e-3, C]),
    algorithm=st.sampled_from(_ALGORITHMS),
    payload=st.floats(1e3, 3e8),
    topology=st.sampled_from(available_topologies()),
    cv=st.sampled_from([0.0, 0.5]),
    iterations=st.integers(1, 30),
    seed=st.integers(0, 1000),
)
def test_recorded_utilization_is_physical_and_integrates_to_the_bytes_carried(
    nodes, mean, algorithm, payload, topology, cv, iterations, seed
):
    if algorithm in ("adpsgd", "dpsgd"):  # their bipartite graph needs an even number of nodes
        nodes += nodes % 2
    result = run({
        "seed": seed, "iterations": iterations, "timing_only": True, "eval_every": 0,
        "cluster": {"nodes": nodes, "compute": {"model": "lognormal" if cv else "constant", "mean": mean, "cv": cv}},
        "network": {"topology": topology},
        "algorithm": {"name": algorithm},
        "task": {"payload": payload},
    })
    _check_exact(result)


@pytest.mark.parametrize(("algorithm", "latencies", "analytic"), [
    ("sgp", 1, False),          # push M, wait for its delivery: C + M / B + alpha per iteration
    ("allreduce", 2, False),     # ring of 2: two steps of M / 2, each with its latency
    ("allreduce", 2, True),      # the analytic mode: one interval, the same mean
])
def test_two_nodes_uplink_busy_payload_over_capacity_each_iteration(algorithm, latencies, analytic):
    M, T = 1.25e8, 6
    period = C + M / B + latencies * ALPHA
    result = run({
        "iterations": T, "timing_only": True, "analytic": analytic,
        "cluster": {"nodes": 2, "compute": {"model": "constant", "mean": C}},
        "algorithm": {"name": algorithm}, "task": {"payload": M},
    })
    net = result.network
    expected_time = [0.0, T * period] if analytic else period * np.arange(T + 1)
    np.testing.assert_allclose(net["time"], expected_time, rtol=1e-12)
    used = _check_exact(result)
    # every link of the star (both uplinks, both downlinks) is busy M / B of each period
    np.testing.assert_allclose(used, (M / B) / period, rtol=1e-9)
    np.testing.assert_allclose(net["carried"][:, 0], M * np.arange(len(expected_time)) * (T if analytic else 1),
                               rtol=1e-12)


def test_a_long_run_keeps_at_most_the_limit_and_stays_exact():
    result = run({
        "iterations": 3000, "timing_only": True,
        "cluster": {"nodes": 2, "compute": {"model": "lognormal", "mean": C, "cv": 0.5}},
        "task": {"payload": 1e8},
    })
    assert SAMPLES // 2 < len(result.network["time"]) <= SAMPLES
    _check_exact(result)


def test_time_limited_run_samples_up_to_its_limit():
    result = run({
        "iterations": None, "time_limit": 2.5, "timing_only": True,
        "cluster": {"nodes": 4, "slow_nodes": {"1": 3.0}}, "algorithm": {"name": "adpsgd"}, "task": {"payload": 1e8},
    })
    assert result.network["time"][-1] == 2.5 == result.summary["span"]
    _check_exact(result)


def _carried_over_every_connection(net):
    """The carried bytes as the bytes in, less what each connection's queue still has to send (every connection)."""
    carried = net.link_bytes
    for connection in net._connections.values():
        for k, flow in enumerate(connection.queue):
            left = flow.remaining - flow.rate * (net.env.now - flow.t_last) if k == 0 else flow.size
            carried[list(flow.links)] -= left
    return carried


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), topology=st.sampled_from(available_topologies()))
def test_carried_bytes_mid_run_counts_every_pending_message(seed, topology):
    """Random messages (contended, queued on their connection, finished): links in use reach every pending one."""
    env, rng = simpy.Environment(), np.random.default_rng(seed)
    hosts = 8
    net = Network(env, load_topology(topology, hosts))
    deepest, sending = [], [True]

    def sender():
        for _ in range(60):
            yield env.timeout(float(rng.exponential(0.01)))
            src, dst = rng.choice(hosts, 2, replace=False).tolist()
            for _ in range(int(rng.integers(1, 4))):  # a burst on one connection: all but the first wait
                net.send(src, dst, float(rng.uniform(0.0, 3e8)))
        sending[0] = False

    def probe():
        while sending[0] or net.active_flows():
            yield env.timeout(0.00371)
            np.testing.assert_allclose(net.carried_bytes, _carried_over_every_connection(net), rtol=1e-12, atol=1e-3)
            deepest.append(max((len(c.queue) for c in net._connections.values()), default=0))

    env.process(sender())
    env.process(probe())
    env.run()
    assert net.active_flows() == 0 and max(deepest) > 1  # all delivered; some messages waited behind others
    np.testing.assert_array_equal(net.carried_bytes, net.link_bytes)
