"""Tests of simsgp.graphs: exact schedules of the official SGP code, mixing matrices, checks.

Expected schedules are derived by hand from facebookresearch/stochastic_gradient_push,
``gossip/graph_manager.py`` (phone books, duplicates kept, rotation by
``peers_per_itr`` for dynamic graphs only).
"""

from __future__ import annotations

import math
import time
import tracemalloc

import networkx as nx
import numpy as np
import pytest
import scipy.sparse
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp.errors import GraphError
from simsgp.graphs import (
    DENSE_GAP_NODES,
    GRAPHS,
    MAX_SCHEDULE_ENTRIES,
    GraphSchedule,
    check_column_stochastic,
    check_doubly_stochastic,
    check_strongly_connected,
    describe,
    from_digraph,
    is_column_stochastic,
    is_doubly_stochastic,
    is_row_stochastic,
    make,
    spectral_gap,
    union_is_strongly_connected,
)

DDE = "dynamic-directed-exponential"
NPEER = "npeer-dynamic-directed-exponential"
BIP_EXP = "dynamic-bipartite-exponential"
DDL = "dynamic-directed-linear"
BIP_LIN = "dynamic-bipartite-linear"

# Phone-book length of each graph, derived from the official loops (None: grows with k).
BOOK_LENGTH = {
    DDE: lambda n: 2 * (n - 1).bit_length(),
    NPEER: lambda n: None,
    BIP_EXP: lambda n: 2 * (n - 1).bit_length(),
    DDL: lambda n: 2 * (n // 2),
    BIP_LIN: lambda n: n,
    "ring": lambda n: 2,
}

# A fixed irregular digraph: node 0 has out-degree 2, the others 1.
IRREGULAR = nx.DiGraph([(0, 1), (0, 2), (1, 0), (2, 0)])


def offsets(schedule: GraphSchedule, node: int) -> list[list[int]]:
    """``(peer - node) mod n`` of each out-peer of ``node`` over one period."""
    return [[(p - node) % schedule.n for p in schedule.out_peers(t)[node]] for t in range(schedule.period)]


def circulant(n: int, offsets_per_t: list[list[int]]) -> list[list[list[int]]]:
    """Out-peer lists where every node r pushes to r + offset for each offset."""
    return [[[(r + o) % n for o in offs] for r in range(n)] for offs in offsets_per_t]


def schedule_lists(schedule: GraphSchedule) -> list[list[list[int]]]:
    return [schedule.out_peers(t) for t in range(schedule.period)]


@st.composite
def builtin_schedules(draw: st.DrawFn) -> GraphSchedule:
    """Any built-in graph with 2..40 nodes (even for bipartite) and a valid peers_per_itr."""
    name = draw(st.sampled_from(GRAPHS))
    n = draw(st.integers(2, 40))
    if "bipartite" in name:
        n += n % 2
    length = BOOK_LENGTH.get(name, lambda n: 1)(n)
    k = draw(st.integers(1, min(length or 6, 6)))
    return make(name, n, k)


@st.composite
def digraphs(draw: st.DrawFn) -> nx.DiGraph:
    """A DiGraph on 0..n-1 with random successor sets (self loops included)."""
    n = draw(st.integers(2, 12))
    successors = draw(st.lists(st.sets(st.integers(0, n - 1), max_size=n), min_size=n, max_size=n))
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for i, succ in enumerate(successors) for j in succ)
    return g


# --- exact schedules -------------------------------------------------------


def test_make_directed_exponential_n8_offsets():
    s = make(DDE, 8)
    assert s.period == 6
    for r in range(8):
        assert offsets(s, r) == [[1], [7], [2], [6], [4], [4]]


def test_make_directed_exponential_n32_offsets():
    s = make(DDE, 32)
    assert s.period == 10
    for r in range(32):
        assert offsets(s, r) == [[1], [31], [2], [30], [4], [28], [8], [24], [16], [16]]


@pytest.mark.parametrize("k, period", [(2, 3), (3, 2), (4, 3), (5, 6), (6, 1)])
def test_make_directed_exponential_iteration_uses_entries_tk_mod_len(k, period):
    """Iteration t uses phone-book entries t*k .. t*k + k - 1, modulo the length 6."""
    book = [1, 7, 2, 6, 4, 4]
    s = make(DDE, 8, k)
    assert s.period == period
    for t in range(13):
        assert s.out_peers(t)[0] == [book[(t * k + j) % 6] for j in range(k)]


def test_make_directed_exponential_in_peers_n8():
    s = make(DDE, 8)
    assert s.in_peers(0) == [[7], [0], [1], [2], [3], [4], [5], [6]]
    assert s.in_peers(1) == [[1], [2], [3], [4], [5], [6], [7], [0]]


def test_make_directed_exponential_n2_keeps_duplicates():
    """n = 2: the phone book is [1, 1]; with k = 2 node 0 pushes to node 1 twice."""
    s = make(DDE, 2, 2)
    assert s.out_peers(0) == [[1, 1], [0, 0]]
    np.testing.assert_array_equal(s.mixing_matrix(0), [[1 / 3, 2 / 3], [2 / 3, 1 / 3]])


def test_make_npeer_exponential_n8():
    assert schedule_lists(make(NPEER, 8, 1)) == circulant(8, [[1], [2], [4]])
    assert schedule_lists(make(NPEER, 8, 2)) == circulant(8, [[1, 2], [3, 6]])


def test_make_npeer_exponential_n6_k2_self_loop():
    """Distance 2 * 3 = 6 wraps to the node itself; it keeps that share (column stays stochastic)."""
    s = make(NPEER, 6, 2)
    assert schedule_lists(s) == [
        [[1, 2], [2, 3], [3, 4], [4, 5], [5, 0], [0, 1]],
        [[3, 0], [4, 1], [5, 2], [0, 3], [1, 4], [2, 5]],
    ]
    assert s.in_peers(1)[0] == [0, 3]
    P = s.mixing_matrix(1)
    assert P[0, 0] == pytest.approx(2 / 3, abs=1e-15)
    assert P[3, 0] == pytest.approx(1 / 3, abs=1e-15)


def test_make_bipartite_exponential_n6():
    s = make(BIP_EXP, 6)
    assert schedule_lists(s) == [
        [[1], [2], [3], [4], [5], [0]],
        [[5], [0], [1], [2], [3], [4]],
        [[3], [4], [5], [0], [1], [2]],
        [[3], [4], [5], [0], [1], [2]],
        [[5], [0], [1], [2], [3], [4]],
        [[1], [2], [3], [4], [5], [0]],
    ]
    assert s.passive == frozenset({0, 2, 4})


def test_make_bipartite_exponential_n8_books():
    s = make(BIP_EXP, 8)
    assert [s.out_peers(t)[0][0] for t in range(6)] == [1, 7, 3, 5, 5, 3]
    assert [s.out_peers(t)[1][0] for t in range(6)] == [2, 0, 4, 6, 6, 4]


def test_make_bipartite_pairs_opposite_parity_only():
    for name in (BIP_EXP, BIP_LIN):
        s = make(name, 10)
        for t in range(s.period):
            assert all((r - p) % 2 == 1 for r, peers in enumerate(s.out_peers(t)) for p in peers)


def test_make_directed_linear_n5():
    s = make(DDL, 5)
    assert schedule_lists(s) == [
        [[1], [2], [3], [4], [0]],
        [[4], [0], [1], [2], [3]],
        [[3], [4], [0], [1], [2]],
        [[2], [3], [4], [0], [1]],
    ]


def test_make_directed_linear_n6_keeps_duplicates():
    assert offsets(make(DDL, 6), 0) == [[1], [5], [3], [3], [5], [1]]


def test_make_bipartite_linear_n8():
    s = make(BIP_LIN, 8)
    assert offsets(s, 0) == [[1], [7], [3], [5], [5], [3], [7], [1]]
    assert offsets(make(BIP_LIN, 4, 2), 1) == [[1, 3], [3, 1]]


def test_make_ring_is_static():
    assert schedule_lists(make("ring", 5)) == [[[1], [2], [3], [4], [0]]]
    assert schedule_lists(make("ring", 5, 2)) == [[[1, 4], [2, 0], [3, 1], [4, 2], [0, 3]]]


def test_make_complete_ignores_peers_per_itr():
    s = make("complete", 3, 5)
    assert (s.period, s.peers_per_itr) == (1, 2)
    assert s.out_peers(4) == [[1, 2], [0, 2], [0, 1]]
    np.testing.assert_allclose(s.mixing_matrix(0), np.full((3, 3), 1 / 3), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", sorted(BOOK_LENGTH.keys() - {NPEER}))
def test_make_peers_per_itr_range_is_phone_book_length(name):
    length = BOOK_LENGTH[name](8)
    assert make(name, 8, length).peers_per_itr == length
    with pytest.raises(GraphError, match=rf"peers_per_itr={length + 1} .*allowed are 1\.\.{length}"):
        make(name, 8, length + 1)


def test_out_peers_returns_cached_lists():
    s = make(DDE, 16)
    assert s.out_peers(3) is s.out_peers(3 + s.period)
    assert s.in_peers(3) is s.in_peers(3 + 5 * s.period)


# --- properties of every built-in ------------------------------------------


@settings(max_examples=60, deadline=None)
@given(builtin_schedules())
def test_make_matrices_column_stochastic_and_nonnegative(s):
    for t in range(s.period):
        P = s.mixing_matrix(t)
        assert P.dtype == np.float64 and P.shape == (s.n, s.n)
        assert is_column_stochastic(P)
        assert (P >= 0).all()
        check_column_stochastic(P)


@settings(max_examples=60, deadline=None)
@given(builtin_schedules())
def test_make_period_is_exact_and_minimal(s):
    for t in range(s.period):
        assert s.out_peers(t) == s.out_peers(t + s.period)
    for shift in range(1, s.period):
        assert any(s.out_peers(t) != s.out_peers(t + shift) for t in range(s.period))


@settings(max_examples=40, deadline=None)
@given(builtin_schedules())
def test_make_builtins_are_circulant_hence_doubly_stochastic(s):
    for t in range(s.period):
        base = s.out_peers(t)[0]
        assert [sorted(peers) for peers in s.out_peers(t)] == [sorted((p + r) % s.n for p in base) for r in range(s.n)]
        assert is_doubly_stochastic(s.mixing_matrix(t))
        check_doubly_stochastic(s.mixing_matrix(t))


@settings(max_examples=40, deadline=None)
@given(builtin_schedules())
def test_make_in_peers_invert_out_peers_with_multiplicity(s):
    for t in range(s.period):
        edges = sorted((j, i) for j, peers in enumerate(s.out_peers(t)) for i in peers)
        assert sorted((j, i) for i, srcs in enumerate(s.in_peers(t)) for j in srcs) == edges
        assert all(srcs == sorted(srcs) for srcs in s.in_peers(t))


@settings(max_examples=40, deadline=None)
@given(builtin_schedules())
def test_make_builtins_strongly_connected(s):
    assert union_is_strongly_connected(s)
    check_strongly_connected(s)


@settings(max_examples=60, deadline=None)
@given(digraphs())
def test_from_digraph_matrix_column_stochastic(g):
    s = from_digraph(g)
    P = s.mixing_matrix(0)
    assert s.period == 1
    assert is_column_stochastic(P) and (P >= 0).all()
    for j in range(s.n):
        successors = sorted(set(g.successors(j)) - {j})
        assert s.out_peers(0)[j] == successors
        assert P[j, j] == 1 / (len(successors) + 1)


# --- matrix checks ---------------------------------------------------------


def test_from_digraph_irregular_not_doubly_stochastic():
    P = from_digraph(IRREGULAR).mixing_matrix(0)
    np.testing.assert_allclose(P, [[1 / 3, 1 / 2, 1 / 2], [1 / 3, 1 / 2, 0], [1 / 3, 0, 1 / 2]], rtol=0, atol=1e-15)
    assert is_column_stochastic(P)
    assert not is_row_stochastic(P)
    assert not is_doubly_stochastic(P)
    with pytest.raises(GraphError, match=r"row 0 of the mixing matrix sums to 1\.333"):
        check_doubly_stochastic(P)


def test_check_column_stochastic_names_column_and_sum():
    with pytest.raises(GraphError, match=r"column 1 of the mixing matrix sums to 0\.9;"):
        check_column_stochastic(np.array([[0.5, 0.2], [0.5, 0.7]]))


def test_check_column_stochastic_rejects_negative_entry():
    P = np.array([[1.5, 0.0], [-0.5, 1.0]])
    assert not is_column_stochastic(P)
    with pytest.raises(GraphError, match=r"entry \[1, 0\] is -0\.5"):
        check_column_stochastic(P)


def test_check_column_stochastic_rejects_nan_and_non_square():
    assert not is_column_stochastic(np.array([[np.nan, 0.0], [0.0, 1.0]]))
    with pytest.raises(GraphError, match=r"shape \(2, 3\)"):
        check_column_stochastic(np.ones((2, 3)))


# --- connectivity and spectral gap -----------------------------------------


def test_union_is_strongly_connected_false_for_two_islands():
    s = from_digraph(nx.DiGraph([(0, 1), (1, 0), (2, 3), (3, 2)]))
    assert not union_is_strongly_connected(s)
    message = r"'digraph' with n=4 is not strongly connected over one period \(1 iteration\): 2 strongly"
    with pytest.raises(GraphError, match=message):
        check_strongly_connected(s)
    assert spectral_gap(s) == 0.0


def test_union_is_strongly_connected_uses_whole_period():
    """Phase 4 of DDE n=8 (offset 4) alone splits the nodes into pairs; the whole period connects them."""
    s = make(DDE, 8)
    single = GraphSchedule("one-phase", 8, 1, (s.phases[4],))
    assert not union_is_strongly_connected(single)
    assert union_is_strongly_connected(s)


@pytest.mark.parametrize("n", [2, 3, 8, 17])
def test_spectral_gap_complete_is_one(n):
    assert spectral_gap(make("complete", n)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [3, 5, 8, 16])
def test_spectral_gap_ring_matches_closed_form(n):
    """P = (I + S) / 2 has eigenvalues (1 + e^(2 pi i m / n)) / 2, modulus |cos(pi m / n)|."""
    gap = spectral_gap(make("ring", n))
    assert 0 < gap < 1
    np.testing.assert_allclose(gap, 1 - math.cos(math.pi / n), rtol=1e-12)


def test_spectral_gap_bidirectional_ring_matches_closed_form():
    """P = (I + S + S^-1) / 3 has eigenvalues (1 + 2 cos(2 pi m / n)) / 3."""
    np.testing.assert_allclose(spectral_gap(make("ring", 8, 2)), 1 - (1 + 2 * math.cos(math.pi / 4)) / 3, rtol=1e-12)


@pytest.mark.parametrize("n", [2, 4, 8, 16, 32])
def test_spectral_gap_directed_exponential_power_of_two_averages_exactly(n):
    """The period product holds (I + S)(I + S^2)...(I + S^(n/2)) / n = J / n, the exact average."""
    assert spectral_gap(make(DDE, n)) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("n", [3, 6, 12])
def test_spectral_gap_directed_exponential_other_n_below_one(n):
    assert 0 < spectral_gap(make(DDE, n)) < 1 - 1e-3


# --- GraphSchedule and from_digraph ----------------------------------------


def test_graph_schedule_trims_to_shortest_cycle():
    s = GraphSchedule("swap", 2, 1, (((1,), (0,)),) * 3)
    assert s.period == 1 and len(s.phases) == 1
    assert s == GraphSchedule("swap", 2, 1, (((1,), (0,)),))
    assert make("ring", 4) == make("ring", 4) and hash(make("ring", 4)) == hash(make("ring", 4))


def test_graph_schedule_rejects_bad_phases():
    with pytest.raises(GraphError, match=r"phases\[0\] lists 1 nodes; expected n=2"):
        GraphSchedule("bad", 2, 1, (((1,),),))
    with pytest.raises(GraphError, match=r"phases\[0\]\[1\] has peers \[5\]; allowed are 0\.\.1"):
        GraphSchedule("bad", 2, 1, (((1,), (5,)),))


def test_from_digraph_drops_self_loops_and_isolated_node_keeps_all():
    s = from_digraph(nx.DiGraph([(0, 0), (0, 1), (2, 2), (1, 0)]))
    assert s.out_peers(0) == [[1], [0], []]
    assert s.mixing_matrix(0)[2, 2] == 1.0


# --- errors ----------------------------------------------------------------


def test_make_rejects_unknown_name_listing_allowed():
    allowed = r"allowed are dynamic-directed-exponential, .*, ring, complete"
    with pytest.raises(GraphError, match=rf"'torus' is unknown; {allowed}"):
        make("torus", 8)


@pytest.mark.parametrize("name", GRAPHS)
def test_make_rejects_one_node(name):
    with pytest.raises(GraphError, match=r"n=1; .*n >= 2"):
        make(name, 1)


@pytest.mark.parametrize("name", sorted(BOOK_LENGTH))
def test_make_rejects_zero_peers_per_itr(name):
    with pytest.raises(GraphError, match=r"peers_per_itr=0 is out of range .*allowed are 1 up to"):
        make(name, 8, 0)


@pytest.mark.parametrize("name", [BIP_EXP, BIP_LIN])
def test_make_bipartite_rejects_odd_n(name):
    """The official code gives rank n - 1 an empty phone book for odd n and crashes."""
    with pytest.raises(GraphError, match=r"n=7 is odd; .*even n"):
        make(name, 7)


def test_from_digraph_rejects_undirected():
    with pytest.raises(GraphError, match=r"undirected Graph; expected a networkx DiGraph"):
        from_digraph(nx.cycle_graph(4))


def test_from_digraph_rejects_nodes_not_0_to_n_minus_1():
    with pytest.raises(GraphError, match=r"nodes 'a', 5; the nodes must be exactly 0\.\.2"):
        from_digraph(nx.DiGraph([(0, "a"), ("a", 5)]))


# --- describe --------------------------------------------------------------


def test_describe_directed_exponential_n8():
    text = describe(make(DDE, 8))
    lines = text.splitlines()
    assert lines[:3] == [
        f"graph: {DDE}",
        "nodes: 8  peers_per_itr: 1  period: 6 iterations",
        "out-peers (row: node, column: iteration)",
    ]
    assert lines[3].split() == ["node", "t=0", "t=1", "t=2", "t=3", "t=4", "t=5"]
    assert lines[4].split() == ["0", "1", "7", "2", "6", "4", "4"]
    assert lines[11].split() == ["7", "0", "6", "1", "5", "3", "3"]
    assert "column-stochastic: yes" in lines
    assert "doubly-stochastic: yes" in lines
    assert "union over one period strongly connected: yes" in lines
    assert lines[-1] == "spectral gap (1 - |lambda_2| of the period product): 1"


def test_describe_large_n_shows_first_8_nodes():
    text = describe(make(BIP_EXP, 40), iterations=2)
    assert "(first 8 of 40 nodes shown)" in text
    assert "passive nodes (receive before sending): 0, 2, 4," in text
    assert "t=2" not in text


def test_describe_reports_failed_checks():
    text = describe(from_digraph(nx.DiGraph([(0, 1), (0, 2), (1, 0)])))
    assert "doubly-stochastic: no (t = 0)" in text
    assert "union over one period strongly connected: no" in text
    assert "   2  -" in text


# --- node labels, parallel edges, self loops (from_digraph) -----------------


@pytest.mark.parametrize(
    ("nodes", "shown"),
    [([0.0, 1.0, 2.0], "0.0, 1.0, 2.0"), ([False, True], "False, True"), ([0, 1.5, 2], "1.5")],
)
def test_from_digraph_rejects_labels_that_are_not_integers(nodes, shown):
    """0.0 == 0 and True == 1 in Python, so a set comparison alone would accept these labels."""
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    g.add_edges_from(zip(nodes, nodes[1:] + nodes[:1]))
    with pytest.raises(GraphError, match=rf"g has nodes {shown}; the nodes must be exactly 0\.\.{len(nodes) - 1} \(integers"):
        from_digraph(g)


def test_from_digraph_error_lists_few_of_many_bad_nodes():
    g = nx.DiGraph([(f"v{i}", f"v{i + 1}") for i in range(100)])
    with pytest.raises(GraphError) as info:
        from_digraph(g)
    message = str(info.value)
    assert "\n" not in message and len(message) < 200 and ", ..." in message


def test_from_digraph_accepts_numpy_integer_labels_as_ints():
    s = from_digraph(nx.DiGraph([(np.int64(0), np.int64(1)), (np.int64(1), np.int64(0))]))
    assert s.out_peers(0) == [[1], [0]] and all(type(p) is int for peers in s.phases[0] for p in peers)


def test_from_digraph_multidigraph_keeps_parallel_edges_in_peers_and_matrix():
    """Two edges 0 -> 1: node 0 sends to 1 twice, keeps 1/3 and gives node 1 two thirds of its mass."""
    g = nx.MultiDiGraph([(0, 1), (0, 1), (0, 2), (1, 0), (2, 0), (2, 2), (2, 2)])
    s = from_digraph(g)
    assert s.out_peers(0) == [[1, 1, 2], [0], [0]]
    assert s.in_peers(0) == [[1, 2], [0, 0], [0]]
    assert s.peers_per_itr == 3  # parallel edges counted, self loops not
    P = s.mixing_matrix(0)
    np.testing.assert_allclose(P[:, 0], [1 / 4, 2 / 4, 1 / 4], rtol=0, atol=1e-15)
    np.testing.assert_allclose(P[:, 2], [1 / 2, 0, 1 / 2], rtol=0, atol=1e-15)
    check_column_stochastic(P)
    assert s != from_digraph(nx.DiGraph(g))  # the plain DiGraph loses the second edge


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 8).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=30))))
def test_from_digraph_multidigraph_matrix_counts_each_message(case):
    """Column j gives out-peer i (count of edges j -> i, self loops dropped) / (out-degree + 1): one share per message sent."""
    n, edges = case
    g = nx.MultiDiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from(edges)
    s = from_digraph(g)
    P = s.mixing_matrix(0)
    for j in range(n):
        sent = [i for a, i in edges if a == j and i != j]
        assert s.out_peers(0)[j] == sorted(sent)
        expected = np.bincount(sent, minlength=n) / (len(sent) + 1)
        expected[j] += 1 / (len(sent) + 1)
        np.testing.assert_allclose(P[:, j], expected, rtol=0, atol=1e-15)


# --- sparse mixing matrices and checks ---------------------------------------


@settings(max_examples=40, deadline=None)
@given(builtin_schedules())
def test_sparse_mixing_matrix_equals_dense(s):
    for t in range(s.period):
        sparse = s.sparse_mixing_matrix(t)
        assert scipy.sparse.issparse(sparse) and sparse.nnz <= s.n * (s.peers_per_itr + 1)
        np.testing.assert_array_equal(sparse.toarray(), s.mixing_matrix(t))
        assert is_column_stochastic(sparse) and is_doubly_stochastic(sparse)


@pytest.mark.parametrize(
    ("P", "check", "message"),
    [
        (np.array([[0.5, 0.2], [0.5, 0.7]]), check_column_stochastic, r"column 1 of the mixing matrix sums to 0\.9;"),
        (np.array([[1.5, 0.0], [-0.5, 1.0]]), check_column_stochastic, r"entry \[1, 0\] is -0\.5"),
        (np.array([[1.0, -0.5], [-0.5, 1.5]]), check_column_stochastic, r"entry \[0, 1\] is -0\.5"),
        (np.array([[0.5, 1.0], [0.5, 0.0]]), check_doubly_stochastic, r"row 0 of the mixing matrix sums to 1\.5"),
        (np.array([[np.nan, 0.0], [0.0, 1.0]]), check_column_stochastic, r"entry \[0, 0\] is nan"),
    ],
)
def test_checks_give_the_same_message_for_sparse_and_dense(P, check, message):
    for matrix in (P, scipy.sparse.csc_array(P), scipy.sparse.coo_array(P), scipy.sparse.csr_matrix(P)):
        with pytest.raises(GraphError, match=message):
            check(matrix)
        assert not is_doubly_stochastic(matrix)


def test_checks_reject_non_square_sparse():
    with pytest.raises(GraphError, match=r"shape \(2, 3\)"):
        check_column_stochastic(scipy.sparse.csc_array(np.ones((2, 3))))


# --- spectral gap -------------------------------------------------------------


def test_spectral_gap_is_exactly_zero_for_two_disjoint_two_cycles_over_a_period():
    """Phases swap the pairs (0 1) and (2 3) in turn; the eigenvalue 1 is double and the gap 0, not a rounding residue."""
    pairs = (((1,), (0,), (), ()), ((), (), (3,), (2,)))
    s = GraphSchedule("two-pairs", 4, 1, pairs)
    assert s.period == 2 and not union_is_strongly_connected(s)
    assert spectral_gap(s) == 0.0


def test_spectral_gap_is_zero_when_mass_drains_into_a_sink():
    """0 -> 1 only: the product's eigenvalues are 1 and 1/2, but push-sum never averages node 1 into node 0."""
    s = from_digraph(nx.DiGraph([(0, 1)]))
    assert sorted(np.abs(np.linalg.eigvals(s.mixing_matrix(0)))) == [0.5, 1.0]
    assert spectral_gap(s) == 0.0


@pytest.mark.parametrize(("name", "n", "k"), [(DDE, 12, 1), (NPEER, 10, 2), (BIP_EXP, 12, 1), (DDL, 9, 1), ("ring", 7, 2)])
def test_spectral_gap_fft_of_circulant_equals_dense_eigenvalues(name, n, k):
    """Relabelling the nodes keeps the eigenvalues but breaks circulance: the dense route must agree with the FFT."""
    s = make(name, n, k)
    relabel = np.random.default_rng(0).permutation(n).tolist()
    phases = [[()] * n for _ in range(s.period)]
    for t in range(s.period):
        for i, peers in enumerate(s.out_peers(t)):
            phases[t][relabel[i]] = tuple(relabel[p] for p in peers)
    permuted = GraphSchedule("relabelled", n, k, tuple(tuple(phase) for phase in phases))
    np.testing.assert_allclose(spectral_gap(permuted), spectral_gap(s), rtol=0, atol=1e-10)


def test_spectral_gap_of_large_circulant_is_quick_and_matches_closed_form():
    n = 20_000
    start = time.perf_counter()
    gap = spectral_gap(make("ring", n))
    assert time.perf_counter() - start < 2.0
    np.testing.assert_allclose(gap, 1 - math.cos(math.pi / n), rtol=1e-6)


def test_spectral_gap_not_computed_for_large_schedule_that_is_not_circulant():
    n = DENSE_GAP_NODES + 1
    g = nx.DiGraph([(i, (i + 1) % n) for i in range(n)] + [(0, 2)])
    s = from_digraph(g, name="chord")
    with pytest.raises(GraphError, match=rf"'chord' with n={n}: .*not circulant is computed only up to {DENSE_GAP_NODES}"):
        spectral_gap(s)
    assert describe(s).splitlines()[-1] == (
        f"spectral gap (1 - |lambda_2| of the period product): not computed above {DENSE_GAP_NODES} nodes "
        "for a schedule that is not circulant"
    )


# --- schedule validation and size limits --------------------------------------


@pytest.mark.parametrize(("peers", "message"), [((1.0,), r"\[1\.0\]"), ((True,), r"\[True\]"), ((2**70,), r"\[1180591620717411303424\]")])
def test_graph_schedule_rejects_peers_that_are_not_node_numbers(peers, message):
    with pytest.raises(GraphError, match=rf"phases\[0\]\[0\] has peers {message}; allowed are 0\.\.1 \(integers\)"):
        GraphSchedule("bad", 2, 1, ((peers, (0,)),))


def test_graph_schedule_rejects_non_sequence_peers_and_bad_n():
    with pytest.raises(GraphError, match=r"phases\[0\]\[0\]=5; expected a sequence of node numbers"):
        GraphSchedule("bad", 2, 1, ((5, (0,)),))
    with pytest.raises(GraphError, match=r"n=2\.0; .*integer n >= 2"):
        GraphSchedule("bad", 2.0, 1, (((1,), (0,)),))
    with pytest.raises(GraphError, match=r"passive=\[5\]; allowed are nodes 0\.\.1"):
        GraphSchedule("bad", 2, 1, (((1,), (0,)),), frozenset({5}))


def test_graph_schedule_numpy_peers_become_python_ints():
    s = GraphSchedule("np", 2, 1, ((np.array([1]), np.array([0])),))
    assert s.phases == (((1,), (0,)),) and type(s.phases[0][0][0]) is int and s.out_peers(0) == [[1], [0]]


@pytest.mark.parametrize(("name", "n", "k"), [(DDL, 1024, 1023), (BIP_LIN, 1024, 1023), (NPEER, 8, 10**9), ("complete", 10**5, 1)])
def test_make_refuses_schedules_beyond_the_entry_limit_at_once(name, n, k):
    start = time.perf_counter()
    with pytest.raises(GraphError, match=rf"graph '{name}' with n={n} .*out-peers .*at most {MAX_SCHEDULE_ENTRIES} are supported"):
        make(name, n, k)
    assert time.perf_counter() - start < 0.5


def test_make_peers_close_to_n_is_quick_when_period_is_short():
    """peers_per_itr = the phone-book length (1024) gives period 1: one phase of 1024 * 1024 entries, built quickly."""
    start = time.perf_counter()
    s = make(DDL, 1024, 1024)
    assert s.period == 1 and len(s.out_peers(0)[0]) == 1024
    assert time.perf_counter() - start < 3.0


@pytest.mark.parametrize(("n", "k"), [(2.0, 1), (8, 1.0), (8, True)])
def test_make_rejects_non_integer_sizes(n, k):
    with pytest.raises(GraphError, match=r"n=2\.0|peers_per_itr=(1\.0|True)"):
        make(DDE, n, k)


def test_schedule_checks_on_many_nodes_use_memory_proportional_to_messages():
    """5000 nodes: one dense mixing matrix would take 200 MB; the checks and the gap stay far below."""
    tracemalloc.start()
    try:
        s = make(DDE, 5000)
        check_strongly_connected(s)
        for t in range(s.period):
            check_column_stochastic(s.sparse_mixing_matrix(t))
            check_doubly_stochastic(s.sparse_mixing_matrix(t))
        gap = spectral_gap(s)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0 < gap < 1
    assert peak < 8 * 5000**2 / 4


def test_describe_large_bipartite_cuts_passive_list():
    text = describe(make(BIP_EXP, 2000), iterations=1)
    assert "passive nodes (receive before sending): 0, 2, 4, 6, 8, 10, 12, 14, ... (1000 nodes)" in text
    assert max(map(len, text.splitlines())) < 200
