"""The incremental flow network against the from-scratch fluid reference of ``fluid_reference.py``.

Random stars with heterogeneous NICs, oversubscribed racks and WAN sites, and
random message sets (sizes from 1 kB to 1 GB, random send times, many
messages on one pair, and round sizes and rates that make many transfers end
at the same instant): every delivery time must agree within 1e-9 relative.
"""

from __future__ import annotations

import numpy as np
import pytest
import simpy
from fluid_reference import deliveries, max_min_rates
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simsgp.sim.flows import Network
from simsgp.sim.topology import racks, sites, star

ROUND_RATES = [1e6 * 2.0**k for k in range(14)]  # 1 MB/s .. 8 GB/s, exact in binary
ROUND_SIZES = [1e3 * 2.0**k for k in range(20)]  # 1 kB .. 0.5 GB


def _log_uniform(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(np.log10(low), np.log10(high)).map(lambda e: float(10.0**e))


def _rate(ties: bool) -> st.SearchStrategy[float]:
    return st.sampled_from(ROUND_RATES) if ties else _log_uniform(1e6, 1e10)


def _latency(ties: bool) -> st.SearchStrategy[float]:
    return st.sampled_from([0.0, 2.0**-10, 2.0**-6]) if ties else st.floats(0.0, 0.05)


@st.composite
def topologies(draw: st.DrawFn, ties: bool):
    kind = draw(st.sampled_from(["star", "racks", "sites"]))
    n = draw(st.integers(2, 64))
    latency = draw(_latency(ties))
    if kind == "star":
        up = draw(st.lists(_rate(ties), min_size=n, max_size=n))
        down = draw(st.lists(_rate(ties), min_size=n, max_size=n))
        return star(n, up, latency, down_bandwidth=down)
    if kind == "racks":
        return racks(
            n,
            draw(_rate(ties)),
            latency,
            rack_size=draw(st.integers(1, 16)),
            oversubscription=draw(st.sampled_from([1.0, 2.0, 4.0, 8.0]) if ties else st.floats(1.0, 10.0)),
            core_latency=draw(_latency(ties)),
        )
    n_sites = draw(st.integers(2, 4))
    upper = draw(st.lists(_latency(ties), min_size=n_sites * n_sites, max_size=n_sites * n_sites))
    matrix = np.triu(np.reshape(upper, (n_sites, n_sites)), 1)
    return sites(
        n,
        draw(st.lists(_rate(ties), min_size=n, max_size=n)),
        latency,
        site_latency=(matrix + matrix.T).tolist(),
        wan_bandwidth=draw(st.lists(_rate(ties), min_size=n_sites, max_size=n_sites)),
    )


@st.composite
def scenarios(draw: st.DrawFn):
    """A topology and 1-200 messages ``(t_send, src, dst, nbytes)`` on it."""
    ties = draw(st.booleans())
    topology = draw(topologies(ties))
    n = topology.n_hosts
    host = st.integers(0, n - 1)
    busy_pair = (draw(host), draw(host))
    size = st.sampled_from(ROUND_SIZES) if ties else _log_uniform(1e3, 1e9)
    when = st.sampled_from([0.0, 0.25, 1.0, 4.0]) if ties else st.one_of(st.just(0.0), st.floats(0.0, 10.0))
    message = st.tuples(
        when,
        st.one_of(st.just(busy_pair), st.tuples(host, host)),
        st.one_of(size, st.just(0.0)) if draw(st.booleans()) else size,
    ).map(lambda m: (m[0], m[1][0], m[1][1], m[2]))
    count = draw(st.sampled_from([1, 2, 5, 20, 60, 200]))
    return topology, draw(st.lists(message, min_size=count, max_size=count))


def _network_deliveries(topology, sends) -> list[float]:
    env = simpy.Environment()
    net = Network(env, topology)
    times = [np.nan] * len(sends)

    def send(k: int, src: int, dst: int, nbytes: float) -> None:
        net.send(src, dst, nbytes).callbacks.append(lambda _: times.__setitem__(k, env.now))

    for k, (t0, src, dst, nbytes) in enumerate(sends):
        env.timeout(t0).callbacks.append(lambda _, k=k, s=src, d=dst, b=nbytes: send(k, s, d, b))
    env.run()
    assert net.active_flows() == 0
    return times


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios())
def test_network_matches_fluid_reference(case):
    topology, sends = case
    np.testing.assert_allclose(_network_deliveries(topology, sends), deliveries(topology, sends), rtol=1e-9, atol=0)


def test_network_same_time_completions_rerate_every_other_flow():
    """A and B end together at t = 2; C, which shared only A's link, then has the uplink alone: t = 4, not 6."""
    sends = [(0.0, 0, 1, 1.0), (0.0, 2, 1, 1.0), (0.0, 0, 3, 3.0)]
    topology = star(4, bandwidth=1.0, latency=0.0)
    assert _network_deliveries(topology, sends) == [2.0, 2.0, 4.0]
    assert deliveries(topology, sends) == [2.0, 2.0, 4.0]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_network_same_time_completions_do_not_depend_on_send_order(order):
    base = [(0.0, 0, 1, 1.0), (0.0, 2, 1, 1.0), (0.0, 0, 3, 3.0)]
    sends = [base[k] for k in order]
    times = _network_deliveries(star(4, bandwidth=1.0, latency=0.0), sends)
    assert dict(zip(order, times)) == {0: 2.0, 1: 2.0, 2: 4.0}


@pytest.mark.parametrize("sizes", [(10.0, 0.0), (10.0, 0.0, 0.0, 1.0), (0.0, 10.0, 0.0)])
def test_network_zero_byte_message_keeps_its_place_on_the_connection(sizes):
    """FIFO per (src, dst) holds for every size: a zero-byte message waits for what was sent before it."""
    sends = [(0.0, 0, 1, size) for size in sizes]
    times = _network_deliveries(star(2, bandwidth=1.0, latency=0.5), sends)
    assert times == sorted(times)
    assert times == deliveries(star(2, bandwidth=1.0, latency=0.5), sends)
    left = np.cumsum(sizes)  # each message's last byte leaves once everything before it has
    assert times == (left + 0.5).tolist()


def test_fluid_reference_progressive_filling_on_a_textbook_case():
    """Three links of capacity 1, 2, 3; flows {0}, {0,1}, {1,2}, {2}: link 0 fixes the first two at 1/2."""
    incidence = np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=bool)
    np.testing.assert_allclose(max_min_rates(incidence, np.array([1.0, 2.0, 3.0])), [0.5, 0.5, 1.5, 1.5])
