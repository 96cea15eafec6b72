"""Whole runs: exact iteration times, SGP = allreduce on K_n, convergence, determinism."""

import numpy as np
import pytest

from simsgp import run
from simsgp.errors import ScenarioError
from simsgp.scenario import from_dict
from simsgp.sim.collectives import ring_allreduce_time
from simsgp.sim.engine import build
from simsgp.tasks import PAYLOADS

B, ALPHA, C = 1.25e9, 20e-6, 0.1
M = PAYLOADS["resnet50"] * 4


def _scenario(algorithm, nodes, iterations=4, **algo):
    return {
        "iterations": iterations,
        "cluster": {"nodes": nodes, "compute": {"model": "constant", "mean": C}},
        "network": {"topology": "star-10gbe"},
        "algorithm": {"name": algorithm, **algo},
        "task": {"name": "logistic-digits", "payload": "resnet50"},
    }


def _iteration_times(result):
    rec = result.records
    return rec["end"] - rec["start"]


@pytest.mark.parametrize("p", [2, 4, 8])
def test_allreduce_iteration_time_is_compute_plus_ring_closed_form(p):
    times = _iteration_times(run(_scenario("allreduce", p)))
    expected = C + 2 * (p - 1) * ALPHA + 2 * (p - 1) / p * M / B
    assert expected == pytest.approx(C + ring_allreduce_time(p, M, B, ALPHA), rel=1e-15)
    np.testing.assert_allclose(times, expected, rtol=1e-9)


@pytest.mark.parametrize("p", [2, 5, 8])
def test_sgp_one_peer_iteration_time_is_compute_plus_one_push(p):
    times = _iteration_times(run(_scenario("sgp", p)))
    np.testing.assert_allclose(times, C + ALPHA + M / B, rtol=1e-9)


def test_sgp_two_peers_share_the_uplink():
    times = _iteration_times(run(_scenario("sgp", 8, peers_per_itr=2)))
    np.testing.assert_allclose(times, C + ALPHA + 2 * M / B, rtol=1e-9)


@pytest.mark.parametrize("iterations", [1, 3, 12])
def test_sgp_on_complete_graph_equals_allreduce(iterations):
    """Same seed and data order: SGP mixing with 1/n on K_n is the exact average."""
    common = {"lr": 0.2, "momentum": 0.9, "weight_decay": 1e-3}
    sgp = run(_scenario("sgp", 5, iterations, graph="complete", **common))
    ar = run(_scenario("allreduce", 5, iterations, **common))
    np.testing.assert_allclose(sgp.params, ar.params, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(sgp.records["loss"], ar.records["loss"], rtol=1e-10)
    np.testing.assert_allclose(sgp.weights, 1.0, rtol=1e-12)


@pytest.mark.parametrize(
    ("algorithm", "extra", "node_tol"),
    [("sgp", {}, 0.05), ("sgp", {"peers_per_itr": 2}, 0.025), ("allreduce", {}, 1e-6)],
)
def test_algorithms_reach_quadratic_optimum(algorithm, extra, node_tol):
    """Noise-free quadratic, 8 heterogeneous nodes, lr 0.05, 300 iterations.

    The node average reaches x* to 1e-6 (the schedules are doubly stochastic
    and the curvature is shared, so the average follows exact gradient
    descent). With a constant step, decentralized nodes keep a consensus error
    proportional to lr * heterogeneity (measured 0.035 with one peer, 0.018
    with two), hence the per-node tolerance; allreduce has none.
    """
    scenario = from_dict({
        "iterations": 300,
        "cluster": {"nodes": 8},
        "algorithm": {"name": algorithm, "lr": 0.05, "momentum": 0.5, "weight_decay": 0.0, **extra},
        "task": {"name": "quadratic", "dim": 6, "noise": 0.0, "heterogeneity": 0.1},
    })
    result = run(scenario)
    optimum = build(scenario).learner.task.optimum()
    assert np.abs(result.params.mean(axis=0) - optimum).max() < 1e-6
    assert np.abs(result.params - optimum).max() < node_tol


def test_sgp_default_scenario_learns_digits():
    result = run({"iterations": 150})
    first, last = np.nanmean(result.records["loss"][:5]), np.nanmean(result.records["loss"][-10:])
    assert last < 0.5 * first
    assert result.summary["final_accuracy"] > 0.9


def test_run_is_bit_identical_under_a_seed():
    scenario = {"iterations": 20, "cluster": {"nodes": 6, "compute": {"model": "lognormal", "mean": 0.1, "cv": 0.3}}}
    a, b = run(scenario), run(scenario)
    for name in a.records:
        assert np.array_equal(a.records[name], b.records[name], equal_nan=True), name
    assert np.array_equal(a.params, b.params) and a.to_json() == b.to_json()
    c = run({**scenario, "seed": 1})
    assert not np.array_equal(a.records["end"], c.records["end"])


def test_jitter_makes_fast_nodes_wait():
    result = run({"iterations": 10, "cluster": {"nodes": 4, "compute": {"model": "lognormal", "mean": 0.1, "cv": 0.5}}})
    assert result.summary["comm_wait_fraction"] > 0.0
    assert np.all(np.diff(result.records["end"], axis=0) > 0)


def test_time_limit_stops_the_run():
    result = run({"time_limit": 1.0, "cluster": {"nodes": 4}})
    s = result.summary
    assert s["sim_time"] <= 1.0 and s["iterations"] >= 8
    assert result.records["end"].shape[0] == s["iterations"]


def test_result_json_has_design_keys():
    import json

    data = json.loads(run({"iterations": 3, "cluster": {"nodes": 3}}).to_json())
    assert data["version"] and data["scenario"]["cluster"]["nodes"] == 3
    assert data["scenario"]["algorithm"]["lr"] == 0.1  # defaults filled in
    summary = data["summary"]
    for key in ("sim_time", "sim_time_per_iteration", "node_time_per_iteration", "final_loss", "final_accuracy", "consensus_distance"):
        assert key in summary
    assert len(summary["node_time_per_iteration"]) == 3
    assert summary["sim_time_per_iteration"] == pytest.approx(summary["sim_time"] / 3)


def test_bytes_sent_recorded_per_iteration():
    result = run(_scenario("sgp", 4, iterations=2, peers_per_itr=2))
    np.testing.assert_array_equal(result.records["bytes_sent"], 2 * M)


def test_bad_peers_per_itr_fails_before_running():
    with pytest.raises(ScenarioError, match="algorithm.peers_per_itr"):
        run({"cluster": {"nodes": 4}, "algorithm": {"peers_per_itr": 50}})


@pytest.mark.parametrize("algorithm", ["sgp", "osgp", "adpsgd", "ps-async", "allreduce"])
def test_event_loop_leaves_no_cyclic_garbage_per_iteration(algorithm):
    """The loop's objects are freed by reference counting, as the rare collections rely on."""
    import gc

    def garbage(iterations):
        scenario = _scenario(algorithm, 4, iterations, **({"servers": 1} if algorithm == "ps-async" else {}))
        run(scenario)  # warm caches
        gc.collect()
        gc.disable()
        try:
            run(scenario)
            return gc.collect()
        finally:
            gc.enable()

    assert garbage(30) == garbage(3)


def _run_seeing_thresholds(monkeypatch, raise_in_loop=False):
    """Run a small scenario; return the collector thresholds its event loop saw."""
    import gc

    import simpy

    seen = []
    original = simpy.Environment.run

    def probe(env, until=None):
        seen.append(gc.get_threshold())
        if raise_in_loop:
            raise RuntimeError("stop")
        return original(env, until)

    monkeypatch.setattr(simpy.Environment, "run", probe)
    run(_scenario("sgp", 2, 2))
    return seen[0]


def test_collector_thresholds_raised_in_the_loop_and_restored(monkeypatch):
    import gc

    before = gc.get_threshold()
    inside = _run_seeing_thresholds(monkeypatch)
    assert gc.get_threshold() == before
    assert inside[0] >= 10_000 and inside[1:] == before[1:]
    with pytest.raises(RuntimeError, match="stop"):
        _run_seeing_thresholds(monkeypatch, raise_in_loop=True)
    assert gc.get_threshold() == before


def test_collector_thresholds_with_nested_runs_and_a_switched_off_collector(monkeypatch):
    import gc

    from simsgp.sim.engine import _rare_collections

    before = gc.get_threshold()
    with _rare_collections():
        raised = gc.get_threshold()
        with _rare_collections():
            assert gc.get_threshold() == raised
        assert gc.get_threshold() == raised  # the outer run is still in its loop
    assert gc.get_threshold() == before
    try:
        gc.set_threshold(0, *before[1:])
        assert _run_seeing_thresholds(monkeypatch)[0] == 0  # switched off stays off
        assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


@pytest.mark.parametrize("nodes,iterations", [(4, 20), (16, 7)])
def test_sgp_schedules_four_events_per_node_iteration(nodes, iterations):
    """Compute timeout, flow completion, delivery, mailbox wake-up; plus each process's start and end."""
    result = run({**_scenario("sgp", nodes, iterations), "timing_only": True})
    assert result.summary["events"] == 4 * nodes * iterations + 2 * nodes


def test_progress_reports_every_round_and_changes_nothing():
    scenario = {**_scenario("sgp", 3, 5), "eval_every": 2}
    calls = []
    watched, plain = run(scenario, progress=lambda done, now: calls.append((done, now))), run(scenario)
    assert [done for done, _ in calls] == [1, 2, 3, 4, 5]
    assert [now for _, now in calls] == watched.records["end"].max(axis=1).tolist()
    assert watched.to_json() == plain.to_json()
