"""Every algorithm: convergence, exact timings, staleness bounds, stragglers, equivalences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp import run
from simsgp.algorithms import ALGORITHMS, dcasgd
from simsgp.scenario import algorithm_params, from_dict
from simsgp.sim.collectives import parallel_allreduce_time, ring_allreduce_time
from simsgp.sim.engine import build
from simsgp.tasks import PAYLOADS

B, ALPHA, C = 1.25e9, 20e-6, 0.1
M = PAYLOADS["resnet50"] * 4
PUSH = ALPHA + M / B  # one ResNet-50 push on 10 GbE


def _run(name, nodes=8, iterations=6, compute=C, payload="resnet50", cluster=None, task=None, **algorithm):
    return run({
        "iterations": iterations,
        "cluster": {"nodes": nodes, "compute": {"model": "constant", "mean": compute}, **(cluster or {})},
        "algorithm": {"name": name, **algorithm},
        "task": {"name": "logistic-digits", "payload": payload, **(task or {})},
    })


def _iteration_times(result):
    return result.records["end"] - result.records["start"]


# --- convergence -----------------------------------------------------------------

QUADRATIC_TOL = {  # max |z_i - x*| after 400 iterations, lr 0.05, heterogeneity 0.1 (measured 0.02-0.04)
    # OSGP's and AD-PSGD's final models hold their last step unaveraged (no gossip starts after a
    # node's last iteration): measured 0.057 and 0.051
    "sgp": 0.05, "osgp": 0.08, "dpsgd": 0.05, "adpsgd": 0.07, "ps-async": 0.05, "dcasgd": 0.05,
    "allreduce": 1e-9, "localsgd": 1e-9, "ps-sync": 1e-9,
}


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithm_reaches_quadratic_optimum(name):
    """Noise-free quadratic on 8 nodes: loss falls 1000-fold, the average model reaches x*.

    Decentralized and asynchronous methods keep node models apart by an error
    proportional to the step size times the heterogeneity (or staleness),
    hence their looser per-node tolerance.
    """
    scenario = from_dict({
        "iterations": 400,
        "eval_every": 1,
        "cluster": {"nodes": 8},
        "algorithm": {"name": name, "lr": 0.05, "momentum": 0.5, "weight_decay": 0.0},
        "task": {"name": "quadratic", "dim": 6, "noise": 0.0, "heterogeneity": 0.1},
    })
    result = run(scenario)
    optimum = build(scenario).learner.task.optimum()
    assert np.abs(result.params - optimum).max() < QUADRATIC_TOL[name]
    assert np.abs(result.params.mean(axis=0) - optimum).max() < 1e-4
    losses = result.evaluations["loss"]
    assert losses[-1] < 1e-3 * losses[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_algorithm_learns_digits(name):
    """Logistic regression on digits, 8 nodes, 300 iterations: every algorithm above 90 % test accuracy."""
    result = run({"iterations": 300, "cluster": {"nodes": 8}, "algorithm": {"name": name}})
    assert result.summary["final_accuracy"] > 0.9
    assert result.evaluations["loss"][-1] < 0.5 * result.evaluations["loss"][0]


def test_mlp_and_non_iid_data_train_through_the_engine():
    result = run({
        "iterations": 300, "cluster": {"nodes": 4},
        "task": {"name": "mlp-digits", "partition": "dirichlet", "dirichlet_alpha": 0.5, "hidden": 16},
    })
    assert result.params.shape == (4, 75 * 16 + 10)
    assert result.summary["final_accuracy"] > 0.85


# --- exact timings ----------------------------------------------------------------


@pytest.mark.parametrize(("compute", "expected"), [(0.3, 0.3), (0.05, PUSH)])
def test_osgp_iteration_takes_max_of_compute_and_push(compute, expected):
    """... and the last one also waits for the round it launched, the only one added at the end."""
    osgp = _iteration_times(_run("osgp", compute=compute))
    sgp = _iteration_times(_run("sgp", compute=compute))
    np.testing.assert_allclose(osgp[1:-1], expected, rtol=1e-9)
    np.testing.assert_allclose(osgp[-1], expected + max(0.0, PUSH - compute), rtol=1e-9)
    np.testing.assert_allclose(sgp, compute + PUSH, rtol=1e-9)


def test_dpsgd_iteration_is_compute_plus_two_pushes():
    np.testing.assert_allclose(_iteration_times(_run("dpsgd")), C + 2 * PUSH, rtol=1e-9)


@pytest.mark.parametrize("p", [2, 4, 8])
def test_ps_sync_iteration_is_compute_plus_incast_and_broadcast(p):
    times = _iteration_times(_run("ps-sync", nodes=p))
    np.testing.assert_allclose(times, C + 2 * (ALPHA + p * M / B), rtol=1e-9)


def test_ps_sync_with_two_servers_halves_the_incast():
    times = _iteration_times(_run("ps-sync", nodes=4, servers=2))
    np.testing.assert_allclose(times, C + 2 * (ALPHA + 4 * (M / 2) / B), rtol=1e-9)


@pytest.mark.parametrize("p", [2, 5])
def test_parallel_allreduce_matches_closed_form(p):
    times = _iteration_times(_run("allreduce", nodes=p, collective="parallel"))
    np.testing.assert_allclose(times, C + parallel_allreduce_time(p, M, B, ALPHA), rtol=1e-9)


def test_bucketed_allreduce_overlaps_backward():
    """Four 25.5 MB buckets on 4 nodes; backward (2/3 of 0.9 s) makes one every 0.15 s.

    Each bucket's ring allreduce (about 0.031 s) ends before the next is
    ready, so only the last bucket's allreduce is exposed after compute.
    """
    bucket = M / 4
    times = _iteration_times(_run("allreduce", nodes=4, compute=0.9, overlap=True, bucket_bytes=bucket))
    np.testing.assert_allclose(times, 0.9 + ring_allreduce_time(4, bucket, B, ALPHA), rtol=1e-9)
    plain = _iteration_times(_run("allreduce", nodes=4, compute=0.9))
    np.testing.assert_allclose(plain, 0.9 + ring_allreduce_time(4, M, B, ALPHA), rtol=1e-9)


def test_localsgd_communicates_every_h_iterations():
    times = _iteration_times(_run("localsgd", nodes=4, iterations=8, local_steps=4))
    synced = C + ring_allreduce_time(4, M, B, ALPHA)
    expected = np.array([C, C, C, synced] * 2)[:, None]
    np.testing.assert_allclose(times, np.broadcast_to(expected, times.shape), rtol=1e-9)


# --- equivalences -----------------------------------------------------------------


def test_ps_sync_and_localsgd_h1_equal_allreduce_math():
    """Same data order: the server's step with the mean gradient is allreduce's step;
    Local SGD with H = 1 and no momentum averages parameters that all took one step from the same point."""
    ar = _run("allreduce", nodes=4, iterations=10, payload="task")
    ps = _run("ps-sync", nodes=4, iterations=10, payload="task")
    np.testing.assert_allclose(ps.params, ar.params, rtol=1e-12)
    ar0 = _run("allreduce", nodes=4, iterations=10, payload="task", momentum=0.0)
    local = _run("localsgd", nodes=4, iterations=10, payload="task", momentum=0.0, local_steps=1)
    np.testing.assert_allclose(local.params, ar0.params, rtol=1e-10)


def test_dcasgd_compensation_formula_on_hand_made_arrays():
    g = np.array([1.0, -2.0, 0.5])
    w_now, w_stale = np.array([0.0, 1.0, 2.0]), np.array([1.0, 1.0, 0.0])
    np.testing.assert_allclose(dcasgd.compensate(g, w_now, w_stale, 0.5), [1.0 - 0.5, -2.0, 0.5 + 0.25], rtol=1e-15)
    lam, v = dcasgd.adaptive_lambda(np.array([4.0, 0.0, 1.0]), g, 2.0, 0.5)
    np.testing.assert_allclose(v, [2.5, 2.0, 0.625])
    np.testing.assert_allclose(lam, 2.0 / np.sqrt(v + 1e-7))


def test_dcasgd_with_zero_lambda_is_ps_async():
    jitter = {"compute": {"model": "lognormal", "mean": C, "cv": 0.3}}
    a = _run("ps-async", nodes=4, iterations=20, cluster=jitter)
    d = _run("dcasgd", nodes=4, iterations=20, cluster=jitter, dc_lambda=0.0)
    assert np.array_equal(a.params, d.params)
    assert np.array_equal(a.records["end"], d.records["end"])
    assert not np.array_equal(a.params, _run("dcasgd", nodes=4, iterations=20, cluster=jitter, dc_lambda=1.0).params)


def test_ps_async_staleness_counts_other_workers_updates():
    """Equal workers, one server: in steady state every gradient waits for the other p - 1."""
    result = _run("ps-async", nodes=4, iterations=20, payload="task")
    assert result.records["staleness"][5:].max() == 3
    assert result.summary["staleness_histogram"][3] > 0


# --- OSGP staleness and mass ---------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(tau=st.integers(0, 3), cv=st.floats(0.0, 1.5), seed=st.integers(0, 10_000), nodes=st.integers(2, 9))
def test_osgp_staleness_never_exceeds_tau_plus_one(tau, cv, seed, nodes):
    result = run({
        "seed": seed, "iterations": 25, "eval_every": 0,
        "cluster": {"nodes": nodes, "compute": {"model": "lognormal", "mean": 0.05, "cv": cv}},
        "algorithm": {"name": "osgp", "tau": tau},
        "task": {"payload": "resnet50"},
    })
    staleness = result.records["staleness"]
    assert np.nanmax(staleness) <= tau + 1
    assert np.nanmin(staleness) >= 1


@pytest.mark.parametrize("tau", [0, 1, 3])
def test_osgp_conserves_push_sum_mass(tau):
    """With a vanishing step only mixing moves x: sum(x) and sum(w) over nodes stay put."""
    scenario = from_dict({
        "iterations": 30, "eval_every": 0,
        "cluster": {"nodes": 6, "compute": {"model": "lognormal", "mean": 0.05, "cv": 0.8}, "slow_nodes": {"2": 3.0}},
        "algorithm": {"name": "osgp", "tau": tau, "lr": 1e-300, "momentum": 0.0, "weight_decay": 0.0},
        "network": {"bandwidth": 1e8},
    })
    built = build(scenario)
    x0 = built.state.x.sum(axis=0)
    ALGORITHMS["osgp"].start(built, algorithm_params(scenario))
    built.world.env.run()
    held = [m.payload for box in built.world.mailboxes for m in box.held()]  # shares sent after a node's last round
    if tau == 0:
        assert not held  # 1-OSGP: every node launches the same rounds, all of them complete
    np.testing.assert_allclose(built.state.w.sum() + sum(w for _, w in held), 6.0, rtol=1e-12)
    np.testing.assert_allclose(built.state.x.sum(axis=0) + sum(x for x, _ in held), x0, rtol=1e-9, atol=1e-12)


# --- slow nodes, stragglers, failures ---------------------------------------------------


def _fast_node_ratio(name, **algorithm):
    base = _run(name, iterations=200, payload="task", **algorithm)
    slow = _run(name, iterations=200, payload="task", cluster={"slow_nodes": {"3": 4.0}}, **algorithm)
    fast = [i for i in range(8) if i != 3]
    pace = np.array(slow.summary["node_time_per_iteration"])[fast] / np.array(base.summary["node_time_per_iteration"])[fast]
    return pace.mean()


@pytest.mark.parametrize(("name", "ratio"), [("allreduce", 4.0), ("ps-sync", 4.0), ("sgp", 4.0), ("dpsgd", 4.0)])
def test_slow_node_paces_synchronous_and_blocking_algorithms(name, ratio):
    """A 4x slow node makes every node's iteration 4x compute when compute dominates.

    Blocking SGP is paced by it too: iteration t waits for the in-neighbours'
    iteration t, which chains back to the slow node within the graph's diameter.
    """
    assert _fast_node_ratio(name) == pytest.approx(ratio, rel=0.03)


@pytest.mark.parametrize("name", ["adpsgd", "ps-async"])
def test_slow_node_leaves_fast_nodes_pace_in_asynchronous_algorithms(name):
    assert _fast_node_ratio(name) == pytest.approx(1.0, rel=0.01)


def test_osgp_tau_lets_fast_nodes_run_ahead_of_a_slow_node():
    assert _fast_node_ratio("osgp", tau=0) > 3.5
    assert _fast_node_ratio("osgp", tau=2) < 2.5


def test_straggler_window_slows_only_its_iterations():
    window = {"stragglers": [{"node": 1, "factor": 3.0, "start": 0.25, "end": 0.45}]}
    times = _iteration_times(_run("allreduce", nodes=4, iterations=8, payload="task", cluster=window))[:, 0]
    # iterations start about every 0.1 s; node 1's phases starting in [0.25, 0.45) run 3x slower
    slowed = times > 0.15
    assert slowed.sum() in (1, 2) and not slowed[:2].any() and not slowed[-3:].any()


def test_failure_stalls_allreduce_but_not_adpsgd_fast_nodes():
    failure = {"failures": [{"node": 2, "start": 1.0, "end": 3.0}]}
    ar = _run("allreduce", nodes=4, iterations=40, payload="task", cluster=failure)
    ad = _run("adpsgd", nodes=4, iterations=40, payload="task", cluster=failure)
    assert ar.summary["down_time"][2] == pytest.approx(2.0)
    assert ar.summary["sim_time"] == pytest.approx(40 * C + 2.0, rel=1e-3)
    others = [0, 1, 3]
    np.testing.assert_allclose(np.array(ad.summary["node_time_per_iteration"])[others], C, rtol=1e-6)


def test_trace_replay_drives_compute_times(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("0.1,0.2\n0.3,0.1\n")
    result = run({
        "iterations": 4, "cluster": {"nodes": 2, "compute": {"model": "trace", "path": str(trace)}},
        "algorithm": {"name": "allreduce"}, "task": {"payload": 8.0},
    })
    np.testing.assert_allclose(result.records["end"][:, 0], np.cumsum([0.2, 0.3, 0.2, 0.3]), rtol=1e-3)


# --- metrics -----------------------------------------------------------------------


def test_metrics_account_for_time_bytes_and_evaluations():
    result = _run("sgp", nodes=4, iterations=20, payload="resnet50")
    s = result.summary
    for compute, wait in zip(s["node_compute_fraction"], s["node_comm_wait_fraction"]):
        assert compute + wait == pytest.approx(1.0)
    assert s["node_bytes_sent"] == [20 * M] * 4
    assert sum(s["link_bytes"].values()) == pytest.approx(2 * 4 * 20 * M)
    assert s["node_send_fraction"][0] == pytest.approx((M / B) / (C + PUSH), rel=1e-6)
    ev = result.evaluations
    assert ev["iteration"].tolist() == [1.0 * k for k in range(1, 21)]
    assert np.all(np.diff(ev["sim_time"]) > 0) and np.all(ev["weight_min"] == 1.0)


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_timing_only_keeps_the_schedule(name):
    """No math, same events: every iteration starts and ends at the same simulated time."""
    scenario = {
        "iterations": 15,
        "cluster": {"nodes": 6, "compute": {"model": "lognormal", "mean": 0.1, "cv": 0.4}},
        "algorithm": {"name": name},
        "task": {"payload": "resnet50"},
    }
    full, timing = run(scenario), run({**scenario, "timing_only": True})
    for field in ("start", "compute_end", "end", "bytes_sent"):
        np.testing.assert_array_equal(timing.records[field], full.records[field], err_msg=field)
    assert timing.summary["final_loss"] is None and np.isnan(timing.records["loss"]).all()
