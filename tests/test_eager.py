"""How sends complete: streamed (the default), eager up to network.eager_limit, rendezvous above it."""

from __future__ import annotations

import math

import pytest
import simpy

import simsgp
from simsgp.errors import ScenarioError
from simsgp.scenario import from_dict
from simsgp.sim import physics
from simsgp.sim.engine import build
from simsgp.sim.flows import Network
from simsgp.sim.mailbox import Mailbox, post
from simsgp.sim.topology import star

B, ALPHA, M = 1e8, 1e-3, 2e7
T = ALPHA + M / B  # one message alone on its links


def _one_message(eager_limit, ask_at):
    """Node 0 sends M to node 1 at 0; node 1 asks for it at ``ask_at``: when the send completes and it arrives."""
    env = simpy.Environment()
    network = Network(env, star(2, B, ALPHA), eager_limit=eager_limit)
    boxes = [Mailbox(env) for _ in range(2)]
    times = {}

    def sender():
        yield post(network, boxes, 0, 1, "t", None, M)
        times["sent"] = env.now

    def receiver():
        yield env.timeout(ask_at)
        yield boxes[1].get("t", 1)
        times["arrived"] = env.now

    env.process(sender())
    env.process(receiver())
    env.run()
    return times["sent"], times["arrived"]


@pytest.mark.parametrize("ask_at", [0.0, 0.05, 1.0])
def test_a_streamed_message_starts_at_once_and_its_send_completes_on_delivery(ask_at):
    assert _one_message(None, ask_at) == pytest.approx((T, max(T, ask_at)), rel=1e-12)


@pytest.mark.parametrize("ask_at", [0.0, 0.05, 1.0])
def test_an_eager_message_starts_at_once_and_its_send_completes_at_once(ask_at):
    assert _one_message(M, ask_at) == pytest.approx((0.0, max(T, ask_at)), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("ask_at", [0.0, 0.05, 1.0])
def test_a_rendezvous_message_starts_when_its_receiver_asks_and_completes_on_delivery(ask_at):
    sent, arrived = _one_message(M / 2, ask_at)
    assert sent == pytest.approx(ask_at + T, rel=1e-12) and arrived == sent


@pytest.mark.parametrize("eager_limit", [None, 0.0, math.inf])
def test_dpsgd_with_a_slow_passive_node_follows_the_send_semantics(eager_limit):
    """Two nodes: node 0 is passive and s times slower, so the active node's message waits for it.

    Rendezvous: it can start only when node 0 asks, after its compute, and node 0's reply after it: s C + 2 T per
    iteration. Streamed: it is there already; node 0 replies at s C and waits for delivery: s C + T. Eager: node 0
    does not wait for its reply to arrive, so it runs at s C and the active node ends T after it: s C + T / n over
    n iterations."""
    C, s, n = 0.5, 3.0, 6
    scenario = from_dict({
        "iterations": n, "timing_only": True,
        "cluster": {"nodes": 2, "compute": {"mean": C}, "slow_nodes": {"0": s}},
        "network": {"bandwidth": B, "latency": ALPHA, "efficiency": 1.0,
                    **({} if eager_limit is None else {"eager_limit": eager_limit})},
        "algorithm": {"name": "dpsgd"}, "task": {"payload": M},
    })
    per_iteration = simsgp.run(scenario).summary["sim_time_per_iteration"]
    expected = {None: s * C + T, 0.0: s * C + 2 * T, math.inf: s * C + T / n}[eager_limit]
    assert per_iteration == pytest.approx(expected, rel=1e-12)


ALGORITHMS = ["sgp", "osgp", "dpsgd", "adpsgd", "allreduce", "localsgd", "ps-sync", "ps-async", "dcasgd"]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("eager_limit", [0.0, 1e6, math.inf])
def test_every_algorithm_finishes_under_every_send_semantics(algorithm, eager_limit):
    """No algorithm waits for a message whose receiver never asks (a rendezvous deadlock would leave iterations
    unfinished), with a slow node to put the nodes out of step; the run's physics checks hold throughout."""
    scenario = from_dict({
        "iterations": 6, "timing_only": True,
        "cluster": {"nodes": 6, "slow_nodes": {"2": 2.0}},
        "network": {"eager_limit": eager_limit},
        "algorithm": {"name": algorithm}, "task": {"payload": "resnet50"},
    })
    result = simsgp.run(scenario)
    assert physics.violations(result, build(result.scenario).world.network.topology) == []
    assert result.summary["node_time_per_iteration"] and all(t > 0 for t in result.summary["node_time_per_iteration"])
    assert len(result.summary["node_time_per_iteration"]) == 6


def test_eager_limit_must_be_a_size():
    with pytest.raises(ScenarioError, match=r"network.eager_limit=-1.0; expected a number of bytes >= 0"):
        from_dict({"network": {"eager_limit": -1.0}})
