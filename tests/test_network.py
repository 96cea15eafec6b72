"""Flow-level network: exact alpha-beta times and max-min fair sharing."""

import numpy as np
import pytest

from simsgp.errors import TopologyError
from simsgp.sim.flows import Network
from simsgp.sim.topology import available_topologies, load_topology, star

B = 1.25e9  # bytes/s, 10 Gb/s
ALPHA = 20e-6
M = 102.2e6  # ResNet-50 in fp32


def _deliveries(env, net, sends):
    """Start ``sends`` [(t0, src, dst, nbytes)], run, return {index: delivery time}."""
    times = {}

    def sender(k, t0, src, dst, nbytes):
        yield env.timeout(t0)
        yield net.send(src, dst, nbytes)
        times[k] = env.now

    for k, send in enumerate(sends):
        env.process(sender(k, *send))
    env.run()
    return times


def test_network_one_push_takes_alpha_plus_m_over_b(env):
    net = Network(env, star(2, B, ALPHA))
    times = _deliveries(env, net, [(0.0, 0, 1, M)])
    assert times[0] == pytest.approx(ALPHA + M / B, rel=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_network_push_to_k_peers_shares_uplink(env, k):
    net = Network(env, star(k + 1, B, ALPHA))
    times = _deliveries(env, net, [(0.0, 0, dst, M) for dst in range(1, k + 1)])
    expected = ALPHA + k * M / B
    np.testing.assert_allclose(list(times.values()), [expected] * k, rtol=1e-9)


@pytest.mark.parametrize("k", [2, 5])
def test_network_incast_shares_downlink(env, k):
    net = Network(env, star(k + 1, B, ALPHA))
    times = _deliveries(env, net, [(0.0, src, 0, M) for src in range(1, k + 1)])
    np.testing.assert_allclose(list(times.values()), [ALPHA + k * M / B] * k, rtol=1e-9)


def test_network_disjoint_flows_do_not_interfere(env):
    net = Network(env, star(4, B, ALPHA))
    times = _deliveries(env, net, [(0.0, 0, 1, M), (0.0, 2, 3, M), (0.0, 1, 0, M)])
    np.testing.assert_allclose(list(times.values()), [ALPHA + M / B] * 3, rtol=1e-9)


def test_network_partial_path_sharing_is_max_min_not_equal_split(env):
    """Flow A: 0->1, flow B: 0->2 with host 2's downlink at B/4.

    B is held to B/4 by its own bottleneck, so max-min gives A the remaining
    3B/4 of host 0's uplink (an equal split would give both B/2). When B
    ends, A speeds up to B.
    """
    net = Network(env, star(3, B, ALPHA, down_bandwidth=[B, B, B / 4]))
    size_a, size_b = 3.0 * M, M
    times = _deliveries(env, net, [(0.0, 0, 1, size_a), (0.0, 0, 2, size_b)])
    t_b = size_b / (B / 4)  # B runs at B/4 throughout
    sent_a = 0.75 * B * t_b  # A at 3B/4 until then
    t_a = t_b + (size_a - sent_a) / B
    assert times[1] == pytest.approx(t_b + ALPHA, rel=1e-9)
    assert times[0] == pytest.approx(t_a + ALPHA, rel=1e-9)


def test_network_late_flow_slows_running_one(env):
    """A second flow on the same uplink halfway through halves the first one's rate."""
    net = Network(env, star(3, B, 0.0))
    half = 0.5 * M / B
    times = _deliveries(env, net, [(0.0, 0, 1, M), (half, 0, 2, M)])
    # flow 0: M/2 at B, then M/2 at B/2 -> ends at half + M/B
    assert times[0] == pytest.approx(half + M / B, rel=1e-9)
    # flow 1: M/2 at B/2 during [half, half + M/B], then M/2 at B
    assert times[1] == pytest.approx(half + M / B + 0.5 * M / B, rel=1e-9)


def test_network_latency_paid_once_per_message(env):
    net = Network(env, star(2, 100.0, 0.25))
    times = _deliveries(env, net, [(0.0, 0, 1, 0.0), (0.0, 1, 0, 50.0)])
    assert times == {0: 0.25, 1: 0.75}


def test_network_loopback_is_immediate_and_free(env):
    net = Network(env, star(2, 100.0, 0.25))
    times = _deliveries(env, net, [(1.0, 1, 1, 500.0)])
    assert times == {0: 1.0} and net.bytes_sent.tolist() == [0.0, 0.0]


def test_network_same_time_completions_keep_send_order(env):
    net = Network(env, star(3, 100.0, 0.0))
    order = []
    for dst in (1, 2):
        net.send(0, dst, 100.0, value=dst).callbacks.append(lambda ev: order.append((env.now, ev.value)))
    env.run()
    assert order == [(2.0, 1), (2.0, 2)]


def test_network_counts_bytes_per_host_and_link(env):
    net = Network(env, star(3, 100.0, 0.0))
    _deliveries(env, net, [(0.0, 0, 1, 10.0), (0.0, 0, 2, 5.0), (0.0, 2, 1, 1.0)])
    assert net.bytes_sent.tolist() == [15.0, 0.0, 1.0]
    assert net.link_bytes.tolist() == [15.0, 0.0, 1.0, 0.0, 11.0, 5.0]
    # host 0's uplink carries 15 bytes at 100 B/s; host 1's downlink gets 10 + 1 bytes,
    # the 1-byte flow from host 2 sharing it until it ends at 0.02 s
    assert net.link_busy[0] == pytest.approx(0.15, rel=1e-12)
    assert net.link_busy[2] == pytest.approx(0.02, rel=1e-12)
    assert net.active_flows() == 0


def test_network_efficiency_scales_capacity(env):
    net = Network(env, star(2, B, 0.0, efficiency=0.5))
    times = _deliveries(env, net, [(0.0, 0, 1, M)])
    assert times[0] == pytest.approx(2 * M / B, rel=1e-9)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_star_rejects_bad_bandwidth(bad):
    with pytest.raises(TopologyError, match="bandwidth"):
        star(2, bad, 0.0)


def test_star_rejects_negative_latency():
    with pytest.raises(TopologyError, match="latency"):
        star(2, B, -1e-6)


def test_load_topology_ships_star_10gbe():
    assert "star-10gbe" in available_topologies()
    topo = load_topology("star-10gbe", 4)
    assert topo.capacity.tolist() == [1.25e9] * 8
    assert topo.latency(0, 1) == 20e-6


def test_load_topology_unknown_name_lists_choices():
    with pytest.raises(TopologyError, match=r"star-10gbe"):
        load_topology("no-such-net", 4)


def test_load_topology_rejects_bad_file(tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("bandwidth = [")
    with pytest.raises(TopologyError, match="does not parse"):
        load_topology(bad, 2)
    unknown = tmp_path / "odd.toml"
    unknown.write_text("bandwidth = 1.0\nlatency = 0.0\nspeed = 3\n")
    with pytest.raises(TopologyError, match="speed"):
        load_topology(unknown, 2)


def test_network_records_messages_only_when_asked(env):
    net = Network(env, star(3, 100.0, 0.5), record_messages=True)
    _deliveries(env, net, [(0.0, 0, 1, 100.0), (0.0, 2, 1, 100.0), (1.0, 1, 1, 5.0)])
    assert net.messages == [(0, 1, 0.0, 2.5, 100.0), (2, 1, 0.0, 2.5, 100.0)]
    assert Network(env, star(2, 1.0, 0.0)).messages is None


@pytest.mark.parametrize("one_per_pair", [False, True])
def test_network_same_pair_messages_go_in_order_over_one_connection(env, one_per_pair):
    """Two messages 0 -> 1 are serialized (one stream: the second starts as the first has left, also when the
    connection carries both ways); a message 0 -> 2 shares the uplink fairly."""
    net = Network(env, star(3, 100.0, 0.5), one_per_pair=one_per_pair)
    times = _deliveries(env, net, [(0.0, 0, 1, 100.0), (0.0, 0, 1, 100.0), (0.0, 0, 2, 100.0)])
    # first 0->1 and 0->2 share 100 B/s until t=2; then the second 0->1 runs alone
    assert times == {0: 2.5, 2: 2.5, 1: 3.5}
    assert net.active_flows() == 0


@pytest.mark.parametrize("one_per_pair", [False, True])
def test_one_connection_per_pair_serialises_an_exchange(env, one_per_pair):
    """Two hosts send M to each other at once: both arrive after alpha + M/B on full-duplex connections; over one
    connection per pair (gloo's) the second waits for the first to have arrived (its sender hears only then)."""
    net = Network(env, star(3, B, ALPHA), one_per_pair=one_per_pair)
    times = _deliveries(env, net, [(0.0, 0, 1, M), (0.0, 1, 0, M), (0.0, 2, 0, M)])
    exchange = [2 * (ALPHA + M / B), ALPHA + M / B] if one_per_pair else [ALPHA + 2 * M / B, ALPHA + 2 * M / B]
    # host 0's downlink carries 1 -> 0 and 2 -> 0: shared, or 2 -> 0 alone while 1 -> 0 waits its turn
    assert times[0] == pytest.approx(ALPHA + M / B, rel=1e-12)
    assert [times[1], times[2]] == pytest.approx(exchange, rel=1e-12)


def test_sgp_over_one_connection_per_pair_pays_twice_for_pairwise_rounds():
    """4 nodes cycle offsets 1, 3, 2, 2: in the two offset-2 rounds r and r + 2 push to each other, one after the
    other over their one connection (the second starts when the first has arrived), so a period of four iterations
    takes 4 (c + t) + 2 t."""
    import simsgp
    from simsgp.scenario import from_dict

    c, bandwidth, alpha, nbytes = 0.1, 1.2e7, 1e-4, 4e6
    t = alpha + nbytes / bandwidth
    for eager_limit in (None, 1.0):  # streamed or rendezvous: the same order on the connection
        scenario = from_dict({
            "iterations": 48, "timing_only": True, "cluster": {"nodes": 4, "compute": {"mean": c}},
            "network": {"bandwidth": bandwidth, "latency": alpha, "efficiency": 1.0, "connections": "one-per-pair",
                        **({} if eager_limit is None else {"eager_limit": eager_limit})},
            "task": {"payload": nbytes},
        })
        per_iteration = simsgp.run(scenario).summary["sim_time_per_iteration"]
        assert per_iteration == pytest.approx(c + 1.5 * t, rel=1e-12)
