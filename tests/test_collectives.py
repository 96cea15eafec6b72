"""Collectives: every schedule against its closed form, the analytic timer against the event mode, a user's own."""

from __future__ import annotations

import math

import numpy as np
import pytest
import simpy
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from simsgp.errors import ScenarioError
from simsgp.sim import analytic
from simsgp.sim.collectives import (
    COLLECTIVES,
    Collective,
    CollectiveOptions,
    Step,
    allreduce,
    halving_doubling_time,
    hierarchical_time,
    messages_per_node,
    node_steps,
    parallel_allreduce_time,
    recursive_doubling_time,
    register_collective,
    ring_allreduce_time,
    tree_time,
)
from simsgp.sim.flows import Network
from simsgp.sim.mailbox import Mailbox
from simsgp.sim.topology import servers, star

STAR_FORMS = {
    "ring": ring_allreduce_time,
    "parallel": parallel_allreduce_time,
    "recursive-doubling": recursive_doubling_time,
    "halving-doubling": halving_doubling_time,
}


def event_finish(
    topology, kind: str, p: int, nbytes: float, options: CollectiveOptions, ready=None, eager_limit: float | None = 0.0
) -> np.ndarray:
    """Each node's end of one allreduce run as node processes over the flow network, entered at ``ready``.

    Rendezvous by default, as MPI moves large messages: in a fold, the
    ranks that do not fold then wait for their partner to ask.
    """
    env = simpy.Environment()
    network = Network(env, topology, eager_limit=eager_limit)
    boxes = [Mailbox(env) for _ in range(topology.n_hosts)]
    finish = np.full(p, np.nan)

    def node(i):
        yield env.timeout(0.0 if ready is None else ready[i])
        yield from allreduce(kind, network, boxes, i, p, nbytes, "t", options)
        finish[i] = env.now

    for i in range(p):
        env.process(node(i))
    env.run()
    assert not any(box.held() for box in boxes), "a message was never taken"
    return finish


figures = {
    "nbytes": st.floats(1e3, 1e9),
    "bandwidth": st.floats(1e6, 1e11),
    "latency": st.floats(0.0, 1e-2),
    "reduce_rate": st.one_of(st.none(), st.floats(1e7, 1e11)),
}


@settings(max_examples=60, deadline=None)
@given(kind=st.sampled_from(sorted(STAR_FORMS)), p=st.integers(2, 40), **figures)
def test_star_collectives_match_their_closed_forms(kind, p, nbytes, bandwidth, latency, reduce_rate):
    options = CollectiveOptions(reduce_rate=reduce_rate)
    finish = event_finish(star(p, bandwidth, latency), kind, p, nbytes, options)
    expected = STAR_FORMS[kind](p, nbytes, bandwidth, latency, reduce_rate)
    assert finish.max() == pytest.approx(expected, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(height=st.integers(1, 4), chunks=st.integers(1, 6), **figures)
def test_tree_matches_its_closed_form_on_complete_trees(height, chunks, nbytes, bandwidth, latency, reduce_rate):
    p = 2 ** (height + 1) - 1
    options = CollectiveOptions(reduce_rate=reduce_rate, chunk_bytes=nbytes / chunks)
    finish = event_finish(star(p, bandwidth, latency), "tree", p, nbytes, options, eager_limit=None)  # chunks stream
    expected = tree_time(p, nbytes, bandwidth, latency, reduce_rate, chunk_bytes=nbytes / chunks)
    assert finish.max() == pytest.approx(expected, rel=1e-9)


def test_tree_closed_form_refuses_incomplete_trees():
    with pytest.raises(ValueError, match="p=6: the tree's closed form needs a complete binary tree"):
        tree_time(6, 1.0, 1.0, 0.0)


@settings(max_examples=25, deadline=None)
@given(
    gpus=st.integers(1, 8), nodes=st.integers(1, 9), leader=st.sampled_from(sorted(STAR_FORMS)),
    local=st.floats(1e9, 1e12), local_latency=st.floats(0.0, 1e-4), **figures,
)
def test_hierarchical_matches_its_closed_form_on_full_servers(
    gpus, nodes, leader, local, local_latency, nbytes, bandwidth, latency, reduce_rate
):
    folds = leader in ("recursive-doubling", "halving-doubling") and nodes & (nodes - 1)
    assume(not (folds and gpus > 1))  # a leader's broadcast would share its link with the fold's last message
    p = gpus * nodes
    topology = servers(p, bandwidth, latency, gpus_per_node=gpus, gpu_bandwidth=local, gpu_latency=local_latency)
    options = CollectiveOptions(reduce_rate=reduce_rate, leader=leader, groups=topology.groups)
    finish = event_finish(topology, "hierarchical", p, nbytes, options)
    leaders = STAR_FORMS[leader](nodes, nbytes, min(bandwidth, local), latency, reduce_rate) if nodes > 1 else 0.0
    local_part = hierarchical_time(gpus, nbytes, local, local_latency, 0.0, reduce_rate) if gpus > 1 else 0.0
    assert finish.max() == pytest.approx(local_part + leaders, rel=1e-9)


@pytest.mark.parametrize("kind", sorted(COLLECTIVES))
@pytest.mark.parametrize("p", [1, 2, 3, 5, 6, 8, 12])
def test_schedules_match_every_send_with_a_receive_and_count_their_messages(kind, p):
    options = CollectiveOptions(chunk_bytes=0.3, groups=tuple(i // 4 for i in range(p)))
    sent: dict[tuple[int, int], int] = {}
    taken: dict[tuple[int, int], int] = {}
    busiest = 0
    for node in range(p):
        steps = node_steps(kind, node, p, 1.0, options)
        assert [s.round for s in steps] == sorted({s.round for s in steps}), "rounds in order, each once"
        for step in steps:
            for dst, _, round_taken in step.sends:
                assert round_taken >= step.round and dst != node
                sent[dst, round_taken] = sent.get((dst, round_taken), 0) + 1
            if step.receives:
                taken[node, step.round] = step.receives
        busiest = max(busiest, sum(len(s.sends) for s in steps))
    assert sent == taken
    assert messages_per_node(kind, p, 1.0, options) == busiest


@settings(max_examples=40, deadline=None)
@given(
    kind=st.sampled_from(sorted(set(COLLECTIVES) - {"hierarchical"})), p=st.integers(2, 20),
    chunks=st.integers(1, 4), jitter=st.booleans(), seed=st.integers(0, 2**32 - 1),
    eager_limit=st.sampled_from([None, 0.0, math.inf, 5e5]), **figures,
)
def test_analytic_timer_is_the_event_mode_whenever_it_answers(
    kind, p, chunks, jitter, seed, eager_limit, nbytes, bandwidth, latency, reduce_rate
):
    topology = star(p, bandwidth, latency)
    options = CollectiveOptions(reduce_rate=reduce_rate, chunk_bytes=nbytes / chunks)
    ready = np.random.default_rng(seed).uniform(0.0, 2 * nbytes / bandwidth, p) if jitter else np.zeros(p)
    timer = analytic.ScheduleTimer(topology, kind, p, options, eager_limit)
    try:
        finish, counts = timer.allreduce(ready, nbytes)
    except ScenarioError as exc:
        assert "use the event mode" in str(exc)
        return
    np.testing.assert_allclose(finish, event_finish(topology, kind, p, nbytes, options, ready, eager_limit), rtol=1e-9)
    assert sum(size for _, _, size, _ in counts) == pytest.approx(
        sum(sum(d[1] for d in s.sends) for i in range(p) for s in node_steps(kind, i, p, nbytes, options))
    )


def test_analytic_timer_answers_for_synchronous_entries_and_refuses_sharing_it_cannot_time():
    p, topology = 8, star(8, 1e9, 1e-5)
    for kind in ("recursive-doubling", "halving-doubling", "parallel", "tree"):
        finish, _ = analytic.ScheduleTimer(topology, kind, 7 if kind == "tree" else p, CollectiveOptions()).allreduce(
            np.zeros(7 if kind == "tree" else p), 1e8)
        assert np.isfinite(finish).all()
    ready = np.array([0.0, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    with pytest.raises(ScenarioError, match=r"algorithm.collective='recursive-doubling' at .* s on h\d\.(up|down)"):
        analytic.ScheduleTimer(topology, "recursive-doubling", p, CollectiveOptions()).allreduce(ready, 1e8)


def test_a_users_own_collective_runs_in_both_modes():
    def steps(node, p, nbytes, options):  # everyone sends to node 0, which adds and sends the sum back
        if node:
            yield Step(0, ((0, nbytes, 0),))
            yield Step(1, (), 1)
        else:
            yield Step(0, (), p - 1, (p - 1) * nbytes)
            yield Step(1, tuple((peer, nbytes, 1) for peer in range(1, p)))

    register_collective(Collective("star-reduce-test", steps, lambda p, nbytes, options: p - 1))
    try:
        with pytest.raises(ScenarioError, match="registered already"):
            register_collective(Collective("star-reduce-test", steps, lambda p, nbytes, options: p - 1))
        p, M, B, alpha = 5, 1e8, 1e9, 1e-4
        finish = event_finish(star(p, B, alpha), "star-reduce-test", p, M, CollectiveOptions())
        assert finish.max() == pytest.approx(2 * (alpha + (p - 1) * M / B), rel=1e-12)
        timer = analytic.ScheduleTimer(star(p, B, alpha), "star-reduce-test", p, CollectiveOptions(), eager_limit=0.0)
        timed, _ = timer.allreduce(np.zeros(p), M)
        np.testing.assert_allclose(timed, finish, rtol=1e-12)
    finally:
        del COLLECTIVES["star-reduce-test"]
        node_steps.cache_clear()


def test_recursive_doubling_grows_by_one_round_per_doubling():
    M, B = 102.2e6, 1.25e9
    times = [recursive_doubling_time(p, M, B, 0.0) for p in (4, 8, 16, 32)]
    assert np.diff(times) == pytest.approx([M / B] * 3, rel=1e-12)
    assert math.isclose(recursive_doubling_time(6, M, B, 0.0), 4 * M / B, rel_tol=1e-12)
