"""The user's own task, graph and compute model through ``simsgp.run(scenario, task=, graph=, compute=)``."""

from __future__ import annotations

import json

import networkx as nx
import numpy as np
import pytest

import simsgp
from simsgp.errors import ScenarioError
from simsgp.graphs import make
from simsgp.tasks import make_task

QUADRATIC = {"iterations": 40, "cluster": {"nodes": 6}, "task": {"name": "quadratic", "dim": 4}, "eval_every": 0}


class PlainQuadratic:
    """Only the members a user task needs, around the built-in quadratic (sharded as the engine would)."""

    def __init__(self, dim: int, inner=None):
        self.dim, self._inner = dim, inner

    def shard(self, n_nodes, rng):
        return PlainQuadratic(self.dim, make_task("quadratic", n_nodes, rng, dim=self.dim))

    def init_params(self, rng):
        return self._inner.init_params(rng)

    def sample_batch(self, node, rng):
        return self._inner.sample_batch(node, rng)

    def grad(self, node, x, batch):
        return self._inner.grad(node, x, batch)

    def loss_many(self, xs):
        return self._inner.loss_many(xs)

    def accuracy_many(self, xs):
        return None


def test_a_user_task_gives_bit_for_bit_the_run_of_the_same_built_in_task():
    built_in = simsgp.run(QUADRATIC)
    mine = simsgp.run(QUADRATIC, task=PlainQuadratic(4))
    assert np.array_equal(mine.params, built_in.params)
    assert np.array_equal(mine.records["end"], built_in.records["end"])
    assert mine.custom == {"task": "PlainQuadratic, 4 parameters"}
    assert mine.to_dict()["scenario"]["task"]["name"] == "custom" and built_in.custom == {}


def test_a_user_task_missing_a_member_is_one_line():
    class Half:
        dim = 3

        def init_params(self, rng):
            return np.zeros(3)

    with pytest.raises(ScenarioError, match=r"^task=.*: it has no sample_batch; expected an object with dim, init_params"):
        simsgp.run(QUADRATIC, task=Half())


def _irregular() -> nx.DiGraph:
    """Out-degrees 1 to 3 on 6 nodes, strongly connected (a ring plus chords)."""
    g = nx.DiGraph([(i, (i + 1) % 6) for i in range(6)])
    g.add_edges_from([(0, 2), (0, 3), (1, 4), (3, 5)])
    return g


def test_a_user_digraph_with_irregular_degrees_drives_sgp_to_consensus():
    result = simsgp.run({**QUADRATIC, "iterations": 300, "algorithm": {"lr": 5e-4}}, graph=_irregular())
    assert result.weights.min() < 0.5 and result.weights.max() > 1.5  # push-sum weights drift from 1
    assert result.summary["consensus_distance"] < 1e-2  # the de-biased models agree (the spread is ~ lr)
    numerators = result.params * result.weights[:, None]
    assert np.linalg.norm(numerators - numerators.mean(axis=0), axis=1).mean() > 0.3  # the raw numerators do not
    assert np.isclose(result.weights.sum() + result.summary["weight_unmixed"], 6.0)  # mass conserved
    assert result.custom["graph"] == "'custom', 6 nodes, period 1, 10 messages per period"
    assert result.to_dict()["scenario"]["algorithm"]["graph"] == "custom"
    sent = result.summary["node_bytes_sent"]
    assert sent[0] == 3 * sent[2]  # node 0 pushes to three peers, node 2 to one


def test_a_list_of_digraphs_is_cycled_and_a_schedule_is_taken_as_it_is():
    forward = nx.DiGraph([(i, (i + 1) % 6) for i in range(6)])
    backward = nx.DiGraph([((i + 1) % 6, i) for i in range(6)])
    cycled = simsgp.run({**QUADRATIC, "trace": True}, graph=[forward, backward])
    steps = {(int(s), int(d)) for s, d in cycled.messages[:, :2]}
    assert (0, 1) in steps and (1, 0) in steps
    schedule = make("ring", 6)
    assert np.array_equal(simsgp.run(QUADRATIC, graph=schedule).params, simsgp.run({**QUADRATIC, "algorithm": {"graph": "ring"}}).params)


@pytest.mark.parametrize(
    ("graph", "scenario", "message"),
    [
        (nx.DiGraph([(0, 1), (1, 0)]), QUADRATIC, "graph has 2 nodes; expected cluster.nodes = 6"),
        (nx.DiGraph([(i, (i + 1) % 3) for i in range(3)] + [(3 + i, 3 + (i + 1) % 3) for i in range(3)]),
         QUADRATIC, "graph: graph 'custom' with n=6 is not strongly connected"),
        (_irregular(), {**QUADRATIC, "algorithm": {"name": "allreduce"}}, "algorithm.name='allreduce' has no communication graph"),
        ("ring", QUADRATIC, "graph='ring'; expected a networkx DiGraph, a list of them"),
        (nx.Graph([(0, 1)]), QUADRATIC, "undirected Graph"),
    ],
)
def test_bad_user_graphs_are_refused_before_the_run(graph, scenario, message):
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        simsgp.run(scenario, graph=graph)


def test_a_compute_function_slows_node_2_in_iterations_10_to_20_only():
    def slow_node_2(node, iteration, now):
        return 0.4 if node == 2 and 10 <= iteration <= 20 else 0.1

    result = simsgp.run({**QUADRATIC, "algorithm": {"name": "adpsgd"}}, compute=slow_node_2)
    compute = result.records["compute_end"] - result.records["start"]
    expected = np.full_like(compute, 0.1)
    expected[10:21, 2] = 0.4
    assert np.allclose(compute, expected, rtol=0, atol=1e-12)
    assert result.custom["compute"] == "function slow_node_2"
    assert result.to_dict()["scenario"]["cluster"]["compute"]["model"] == "custom"


def test_compute_arrays_per_node_or_per_iteration_and_their_errors():
    per_node = simsgp.run({**QUADRATIC, "iterations": 4, "algorithm": {"name": "allreduce"}},
                          compute=[0.1, 0.2, 0.1, 0.1, 0.1, 0.3])
    assert np.allclose((per_node.records["compute_end"] - per_node.records["start"])[:, 5], 0.3)
    rows = np.array([[0.1] * 6, [0.2] * 6])
    cycled = simsgp.run({**QUADRATIC, "iterations": 4, "algorithm": {"name": "allreduce"}}, compute=rows)
    assert np.allclose((cycled.records["compute_end"] - cycled.records["start"])[:, 0], [0.1, 0.2, 0.1, 0.2])
    with pytest.raises(ScenarioError, match=r"compute: node 4, iteration 1: -0.5; expected a finite number of seconds >= 0"):
        simsgp.run(QUADRATIC, compute=[[0.1] * 6, [0.1] * 4 + [-0.5, 0.1]])
    with pytest.raises(ScenarioError, match=r"compute has shape \(3,\); expected \(6,\) or \(iterations, 6\)"):
        simsgp.run(QUADRATIC, compute=[0.1, 0.1, 0.1])


def test_a_compute_function_returning_nan_stops_the_run_naming_node_and_iteration():
    def breaks(node, iteration, now):
        return float("nan") if (node, iteration) == (3, 7) else 0.1

    with pytest.raises(ScenarioError, match=r"^compute: node 3, iteration 7: nan; expected a finite number"):
        simsgp.run(QUADRATIC, compute=breaks)


def test_the_json_of_a_custom_run_says_what_was_given():
    result = simsgp.run(QUADRATIC, graph=_irregular(), compute=[0.1] * 6)
    data = json.loads(result.to_json())
    assert set(data["custom"]) == {"graph", "compute"} and data["custom"]["compute"] == "list"
