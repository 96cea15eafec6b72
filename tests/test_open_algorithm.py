"""A tenth algorithm from one file outside the package, and the per-algorithm parameters it declares.

``tests/user_algorithm.py`` registers Local SGP; these tests check its
schedule against the closed form, its math against a numpy recursion of
push-sum with local steps, and that its parameters are validated as the
built-in algorithms' are.
"""

import csv
import sys
from dataclasses import dataclass

import networkx as nx
import numpy as np
import pytest

import simsgp
from simsgp import algorithms
from simsgp.errors import ScenarioError
from simsgp.scenario import apply_overrides, from_dict
from simsgp.sim.engine import build
from simsgp.sweep import run_sweep

NODES, COMPUTE, PAYLOAD = 4, 0.1, 1e6


@pytest.fixture(autouse=True, scope="module")
def user_algorithm():
    """Import the user's file (it registers "local-sgp"), and forget it afterwards so other tests see the built-ins."""
    import user_algorithm

    yield user_algorithm
    algorithms.ALGORITHMS.remove("local-sgp")
    sys.modules.pop("user_algorithm")
BANDWIDTH, LATENCY = 1.25e9, 2e-5  # the star-10gbe topology's hosts


def _scenario(iterations=9, **algorithm):
    return {
        "iterations": iterations,
        "eval_every": 0,
        "cluster": {"nodes": NODES, "compute": {"model": "constant", "mean": COMPUTE}},
        "network": {"topology": "star-10gbe"},
        "algorithm": {"name": "local-sgp", "lr": 0.05, **algorithm},
        "task": {"name": "quadratic", "dim": 3, "payload": PAYLOAD},
    }


def test_a_user_algorithm_is_one_registered_class_with_its_own_parameters():
    assert "local-sgp" in algorithms.names() and algorithms.has_graph("local-sgp")
    assert algorithms.default_graph("local-sgp") == "ring"
    resolved = simsgp.resolve(from_dict(_scenario(local_steps=3)))
    assert resolved.algorithm.params == {"graph": "ring", "peers_per_itr": 1, "local_steps": 3}


@pytest.mark.parametrize("local_steps", [1, 2, 3])
def test_local_sgp_iteration_ends_follow_the_closed_form(local_steps):
    """Compute c each iteration; a mixing iteration adds one message, L + S / B, on links nobody shares."""
    result = simsgp.run(_scenario(local_steps=local_steps))
    t = np.arange(9)
    mixes = (t + 1) // local_steps
    expected = (t + 1) * COMPUTE + mixes * (LATENCY + PAYLOAD / BANDWIDTH)
    np.testing.assert_allclose(result.records["end"], np.repeat(expected[:, None], NODES, axis=1), rtol=1e-12)
    assert result.summary["bytes_sent"] == pytest.approx(NODES * mixes[-1] * PAYLOAD)


def test_local_sgp_math_is_push_sum_with_local_steps():
    """A numpy recursion: SGD (Nesterov, weight decay) on x at z = x / w, then x, w <- P x, P w every H steps."""
    local_steps, iterations = 2, 10
    scenario = from_dict(_scenario(iterations=iterations, local_steps=local_steps))
    irregular = nx.DiGraph([(0, 1), (0, 2), (1, 2), (2, 3), (3, 0), (3, 1)])  # out-degrees 2, 1, 1, 2
    result = simsgp.run(scenario, graph=irregular)
    built = build(scenario, graph=irregular)
    task, schedule = built.learner.task, built.graph
    x = np.array(built.state.x, dtype=float)
    w, buf = np.ones(NODES), np.zeros_like(x)
    lr, momentum, decay = 0.05, scenario.algorithm.momentum, scenario.algorithm.weight_decay
    for t in range(iterations):
        for i in range(NODES):
            g = task.grad(i, x[i] / w[i], task.sample_batch(i, np.random.default_rng(0)))[1] + decay * x[i]
            buf[i] = momentum * buf[i] + g
            x[i] = x[i] - lr * (g + momentum * buf[i])
        if (t + 1) % local_steps == 0:
            P = schedule.sparse_mixing_matrix(t // local_steps).toarray()
            x, w = P @ x, P @ w
    np.testing.assert_allclose(result.weights, w, rtol=1e-12)
    np.testing.assert_allclose(result.params, x / w[:, None], rtol=1e-10, atol=1e-12)  # the de-biased models
    assert not np.allclose(w, 1.0)  # irregular degrees: the weights drift, the de-biasing is exercised


def test_a_user_algorithm_s_parameters_are_checked_like_the_built_ins():
    with pytest.raises(ScenarioError, match=r"^algorithm.tau=1: not a parameter of algorithm.name='local-sgp'; .*"
                       r"tau is a parameter of \['osgp'\]$"):
        from_dict(_scenario(tau=1))
    with pytest.raises(ScenarioError, match=r"^algorithm parameters of algorithm.name='local-sgp': local_steps must be"):
        from_dict(_scenario(local_steps=0))
    with pytest.raises(ScenarioError, match=r"^algorithm.local_steps=2.5; expected an integer"):
        from_dict(_scenario(local_steps=2.5))
    with pytest.raises(ScenarioError, match=r"^algorithm.local_step: unknown key \(did you mean 'local_steps'\?\)"):
        from_dict(_scenario(local_step=2))
    switched = apply_overrides(from_dict(_scenario()), ["algorithm.name=localsgd", "algorithm.local_steps=3"])
    assert switched.algorithm.params == {"local_steps": 3}  # Local SGD has local_steps too


def test_register_refuses_a_taken_name_and_an_incomplete_algorithm(user_algorithm):
    with pytest.raises(ScenarioError, match=r"algorithm.name='local-sgp'; expected a name not taken already"):
        algorithms.register(user_algorithm.LocalSGP)

    @dataclass(frozen=True)
    class Needs:
        steps: int

    class NoStart:
        name, params = "broken", algorithms.NoParams

    class Required:
        name, params = "broken", Needs

        def start(self, run, params):
            pass

    with pytest.raises(ScenarioError, match=r"start=None; expected a method start"):
        algorithms.register(NoStart)
    with pytest.raises(ScenarioError, match=r"params='Needs'; expected a dataclass whose fields all have defaults"):
        algorithms.register(Required)
    assert "broken" not in algorithms.names()

    @dataclass(frozen=True)
    class Clashing:
        lr: float = 0.1  # a common key of [algorithm]

    class Shadowing(Required):
        name, params = "shadowing", Clashing

    algorithms.register(Shadowing)
    try:
        with pytest.raises(ScenarioError, match=r"parameter='lr'; expected a name other than the common keys"):
            from_dict({"algorithm": {"name": "shadowing"}})
    finally:
        algorithms.ALGORITHMS.remove("shadowing")
    with pytest.raises(ScenarioError, match=r"algorithm.name='sgp'; expected a member registered by the user"):
        algorithms.ALGORITHMS.remove("sgp")


def test_a_sweep_over_a_key_of_one_algorithm_does_not_multiply_the_others(tmp_path):
    base = from_dict({"iterations": 3, "eval_every": 0, "cluster": {"nodes": 4}, "task": {"name": "quadratic"}})
    grid = {"algorithm.name": ["sgp", "osgp"], "algorithm.tau": [0, 1, 2]}
    rows = run_sweep(base, grid, tmp_path, workers=1, progress=False)
    assert [(r["algorithm.name"], r["algorithm.tau"]) for r in rows] == [("sgp", None), ("osgp", 0), ("osgp", 1), ("osgp", 2)]
    assert all(r["status"] == "ok" for r in rows) and len({r["key"] for r in rows}) == 4
    assert len(list((tmp_path / "runs").glob("*.json"))) == 4
    with open(tmp_path / "results.csv", newline="") as table:
        cells = [(r["algorithm.name"], r["algorithm.tau"]) for r in csv.DictReader(table)]
    assert cells == [("sgp", ""), ("osgp", "0"), ("osgp", "1"), ("osgp", "2")]
