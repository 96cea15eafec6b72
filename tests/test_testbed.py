"""The emulated-cluster testbed (benchmarks/testbed/) and simsgp.probe.

The testbed test builds 4 host namespaces on a bridge with 100 Mbit/s NICs, measures the
link with simsgp.probe, runs SGP, gloo's allreduce and a parameter server over real TCP and
checks simsgp's predicted seconds per iteration against the measured ones. It needs root,
``ip netns``, ``tc`` and torch, and skips with the reason otherwise; it takes about a minute.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simsgp.measurements import read_measurements
from simsgp.probe import ProbeError, fit_alpha_beta, main

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # benchmarks/ is not installed

from benchmarks.testbed.netns import Testbed, TestbedUnavailable, check_available, list_namespaces

BOUND = 0.15
"""Largest |predicted - measured| / measured allowed in the short run (4 timed iterations on a
shared 2-core machine; the full benchmark's table in benchmarks/testbed/README.md is within 10 %)."""


def _testbed_or_skip() -> None:
    try:
        check_available()
    except TestbedUnavailable as exc:
        pytest.skip(f"no testbed here: {exc}")


def test_fit_alpha_beta_recovers_a_line_and_refuses_one_size() -> None:
    rows = [{"bytes": b, "seconds": 2e-4 + b / 5e7} for b in (1e3, 1e5, 1e6, 1e7)]
    alpha, bandwidth = fit_alpha_beta(rows)
    assert alpha == pytest.approx(2e-4, rel=1e-6) and bandwidth == pytest.approx(5e7, rel=1e-9)
    with pytest.raises(ValueError, match="two distinct"):
        fit_alpha_beta(rows[:1])


def test_probe_outside_torchrun_says_how_to_launch(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for key in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(key, raising=False)
    assert main(["--compute-sleep", "0"]) == 2
    err = capsys.readouterr().err
    assert "not launched under torchrun" in err and "torchrun --nnodes" in err and err.count("\n") == 1
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ProbeError):
        from simsgp.probe import _parse_sizes

        _parse_sizes("a,b")


@pytest.mark.slow
def test_probe_under_torchrun_writes_the_documented_file(tmp_path: Path) -> None:
    pytest.importorskip("torch", reason="simsgp.probe measures with torch.distributed (pip install 'simsgp[torch]')")
    out = tmp_path / "measurements.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RANK", "WORLD_SIZE", "MASTER_", "LOCAL_"))}
    proc = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", "-m", "simsgp.probe",
         "--compute-sleep", "0.001", "--iterations", "3", "--sizes", "1e3,1e5", "--repeats", "2", "--out", str(out)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, env=env, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert list(doc) == ["format", "version", "cluster", "compute", "p2p", "allreduce", "simsgp"]
    assert (doc["format"], doc["version"], doc["cluster"]["nodes"], doc["cluster"]["backend"]) == ("simsgp-measurements", 1, 2, "gloo")
    assert len(doc["cluster"]["hosts"]) == 2 and doc["compute"]["iterations"] == 3
    assert doc["compute"]["seconds"] == pytest.approx(0.001, abs=0.01) and "sleep" in doc["compute"]["model"]
    assert [r["bytes"] for r in doc["p2p"]] == [1e3, 1e5] == [r["bytes"] for r in doc["allreduce"]]
    assert all(r["seconds"] > 0 and r["repeats"] == 2 for r in doc["p2p"] + doc["allreduce"])
    assert all(r["nodes"] == 2 for r in doc["allreduce"])
    read = read_measurements(out)  # the reader of this format
    assert read.nodes == 2 and len(read.p2p) == 2


def test_namespaces_are_removed_after_an_error() -> None:
    _testbed_or_skip()
    with pytest.raises(RuntimeError, match="boom"), Testbed(3, 100e6) as tb:
        assert set(tb.namespaces) <= set(list_namespaces())
        out = tb.exec(0, ["ip", "-4", "addr", "show", "dev", "eth0"]).stdout
        assert "10.213.0.1/24" in out
        assert "default" not in tb.exec(0, ["ip", "route"]).stdout
        # the fair uplink: under the NIC's class, one class per other host (and one for the rest), each guaranteed a third
        classes = tb.exec(0, ["tc", "class", "show", "dev", "eth0"]).stdout.splitlines()
        leaves = [c for c in classes if "parent 1:1 " in c]
        assert len(leaves) == 3 and all("rate 33333Kbit ceil 100Mbit" in c for c in leaves)
        filters = tb.exec(0, ["tc", "filter", "show", "dev", "eth0"]).stdout
        assert "0ad50002/ffffffff" in filters and "0ad50003/ffffffff" in filters and "0ad50001" not in filters
        raise RuntimeError("boom")
    assert list_namespaces() == []


def test_testbed_refuses_an_unknown_uplink() -> None:
    with pytest.raises(ValueError, match="uplink must be 'fair' or 'fifo', not 'fq'"):
        Testbed(2, 100e6, uplink="fq")


@pytest.mark.slow
def test_testbed_sgp_gloo_allreduce_and_ps_within_bound() -> None:
    pytest.importorskip("torch", reason="the testbed's workers need torch (pip install 'simsgp[torch]')")
    _testbed_or_skip()
    from benchmarks.testbed.run import run_config

    rows = run_config(
        4, [100], ["sgp", "gloo", "ps"], payload=2e6, compute=0.05, iterations=4, warmup=2,
        probe_sizes=(1e4, 1e5, 1e6, 2e6), probe_repeats=3, timeout=300,
    )
    try:
        assert [r.workload for r in rows] == ["sgp", "gloo", "ps"]
        for row in rows:
            print(f"{row.workload}: measured {row.measured:.4f} s/iter, predicted {row.predicted:.4f} ({row.error:+.1%})")
            assert row.measured > 0.05 and row.predicted > 0.05
            assert abs(row.error) < BOUND, f"{row.workload}: measured {row.measured:.4f} s/iter, predicted {row.predicted:.4f}"
        # the host's fair queue shares the server's NIC between the broadcasts: the workers finish together
        # (measured: 0.6 % of the iteration apart; through one FIFO, --uplink fifo, 3.3 %)
        (ps,) = [r for r in rows if r.workload == "ps"]
        assert ps.extra["spread"] < 0.02 * ps.measured, f"ps workers finish {ps.extra['spread']:.4f} s apart"
    finally:
        assert list_namespaces() == [], "the testbed left namespaces behind"


def test_the_testbed_command_refuses_unknown_workloads() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.testbed", "--workloads", "nope"], cwd=REPO, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)}, check=False,
    )
    assert proc.returncode == 2 and "unknown workloads" in proc.stderr


@pytest.mark.parametrize(("nodes", "bandwidth", "latency"), [(4, 12.05e6, 0.0), (8, 12.05e6, 0.0), (8, 48.5e6, 2.7e-4)])
def test_the_testbeds_closed_forms_agree_with_simsgp(nodes: int, bandwidth: float, latency: float) -> None:
    """The testbed's "serialized pairs" and rendezvous closed forms are the models simsgp runs, on the timed window."""
    from benchmarks.testbed.run import predict, rendezvous_sgp_pace, serialized_pairs_sgp_pace

    iterations, warmup = 8, 2
    pairs = serialized_pairs_sgp_pace(nodes, 0.1, latency, bandwidth, 4e6, iterations, warmup)
    assert predict("sgp-1conn", nodes, bandwidth, latency, 0.1, 4e6, iterations, warmup, rendezvous=True) == \
        pytest.approx(pairs, rel=1e-9)
    slow = {"0": 3.0}
    assert predict("sgp-slow", nodes, bandwidth, latency, 0.1, 4e6, 60, 20, rendezvous=True) == \
        pytest.approx(rendezvous_sgp_pace(nodes, 0.1, slow, latency, bandwidth, 4e6, 60, 20), rel=1e-9)
