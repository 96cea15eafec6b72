"""PushSum math without a clock: mass conservation and convergence of z = x / w."""

import networkx as nx
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp.graphs import from_digraph
from simsgp.learn.pushsum import debias, mix, receive, share


def test_share_and_keep_add_up_to_what_was_held(rng):
    x, w = rng.normal(size=5), 1.7
    x_s, w_s = share(x, w, 3)
    np.testing.assert_allclose(4 * x_s, x, rtol=1e-15)
    assert 4 * w_s == w


def test_share_stacked_rows_use_own_degree():
    x = np.ones((2, 3))
    x_s, w_s = share(x, np.ones(2), np.array([1, 3]))
    np.testing.assert_array_equal(x_s[:, 0], [0.5, 0.25])
    np.testing.assert_array_equal(w_s, [0.5, 0.25])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 8),
    seed=st.integers(0, 2**32 - 1),
    rounds=st.integers(1, 30),
    delay=st.floats(0.0, 0.9),
)
def test_push_sum_conserves_total_mass_with_late_messages(n, seed, rounds, delay):
    """Random senders, random out-peers, messages held back at random and delivered late."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    w = np.ones(n)
    total_x, total_w = x.sum(axis=0), w.sum()
    in_flight = []  # (dst, x_share, w_share)
    for _ in range(rounds):
        sender = int(rng.integers(n))
        peers = rng.choice(n, size=int(rng.integers(1, n)), replace=True)
        x_s, w_s = share(x[sender], w[sender], len(peers))
        x[sender], w[sender] = x_s, w_s
        in_flight += [(int(p), x_s, w_s) for p in peers]
        keep = []
        for msg in in_flight:
            if rng.random() < delay:
                keep.append(msg)
            else:
                x[msg[0]], w[msg[0]] = receive(x[msg[0]], w[msg[0]], [msg[1]], [msg[2]])
        in_flight = keep
        mass_x = x.sum(axis=0) + sum((m[1] for m in in_flight), np.zeros(3))
        mass_w = w.sum() + sum(m[2] for m in in_flight)
        np.testing.assert_allclose(mass_x, total_x, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(mass_w, total_w, rtol=1e-12)


def test_push_sum_converges_to_average_when_weights_drift(rng):
    """A strongly connected graph with unequal out-degrees: w leaves 1, z still finds the mean."""
    g = nx.DiGraph([(0, 1), (1, 2), (2, 0), (0, 2), (0, 3), (3, 1), (1, 3)])
    mixing = from_digraph(g).mixing_matrix(0)
    x = rng.normal(size=(4, 5))
    target = x.mean(axis=0)
    w = np.ones(4)
    for _ in range(200):
        x, w = mix(x, w, mixing)
    assert np.ptp(w) > 0.1  # weights really drifted
    np.testing.assert_allclose(w.sum(), 4.0, rtol=1e-12)
    np.testing.assert_allclose(debias(x, w), np.tile(target, (4, 1)), rtol=1e-9, atol=1e-12)


def test_push_sum_exact_average_on_complete_graph(rng):
    n = 5
    x = rng.normal(size=(n, 2))
    x, w = mix(x, np.ones(n), np.full((n, n), 1.0 / n))
    np.testing.assert_allclose(debias(x, w), np.tile(x.mean(axis=0), (n, 1)), rtol=1e-14)
