"""Measurements files of a real cluster: reading them, and calibrating from them."""

from __future__ import annotations

import json

import pytest

from simsgp.calibrate import predict, unfitted
from simsgp.errors import ScenarioError
from simsgp.measurements import ALLREDUCE_COMPUTE, calibration_inputs, read_measurements
from simsgp.scenario import apply_overrides, load
from simsgp.sim.collectives import ring_allreduce_time

ALPHA, B, NODES = 150e-6, 5e7, 4


def write(tmp_path, **changes):
    """A measurements file of a 4-node cluster whose network is exactly alpha-beta, its allreduce rows the ring's."""
    doc = {
        "format": "simsgp-measurements", "version": 1,
        "cluster": {"nodes": NODES, "backend": "gloo", "hosts": ["a", "b", "c", "d"]},
        "compute": {"seconds": 0.25, "model": "sleep", "iterations": 10},
        "p2p": [{"bytes": b, "seconds": ALPHA + b / B, "repeats": 5} for b in (1e3, 1e5, 1e6, 4e6)],
        "allreduce": [{"bytes": b, "seconds": ring_allreduce_time(NODES, b, B, ALPHA), "repeats": 5, "nodes": NODES}
                      for b in (1e5, 2e6)],
        "simsgp": "0.1.0",
    }
    doc.update(changes)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    return path


def test_figures_come_from_the_alpha_beta_line_and_the_compute_time(tmp_path):
    figures, points = calibration_inputs(read_measurements(write(tmp_path)))
    assert figures["network.latency"] == pytest.approx(ALPHA, rel=1e-9)
    assert figures["network.bandwidth"] == pytest.approx(B, rel=1e-9)
    assert figures["cluster.compute.mean"] == 0.25 and figures["network.efficiency"] == 1.0
    assert [p.label for p in points] == ["allreduce:4 ring of 1e+05 B", "allreduce:4 ring of 2e+06 B"]


def test_the_files_network_figures_predict_its_allreduce_rows(tmp_path):
    """The rows are the ring's closed form on the file's alpha-beta network: the simulated ring must give them back."""
    figures, points = calibration_inputs(read_measurements(write(tmp_path)))
    base = apply_overrides(load("default"), figures)
    for point in predict(unfitted(base), points):
        assert point.simulated == pytest.approx(point.measurement.seconds, rel=1e-9)
        assert point.simulated > ALLREDUCE_COMPUTE


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"format": "csv"}, r"format='csv'; expected 'simsgp-measurements'"),
        ({"version": 2}, r"version=2; expected 1"),
        ({"cluster": {"nodes": 1}}, r"cluster.nodes=1; expected an integer >= 2"),
        ({"p2p": [{"bytes": 1e3, "seconds": -1.0}]}, r"p2p\[0\].seconds=-1.0; expected a positive finite number"),
        ({"allreduce": [{"bytes": "big", "seconds": 1.0}]}, r"allreduce\[0\].bytes='big'"),
        ({"compute": 3}, r"compute=3; expected a table"),
    ],
)
def test_bad_files_name_the_field(tmp_path, changes, match):
    with pytest.raises(ScenarioError, match=match):
        read_measurements(write(tmp_path, **changes))


def test_unreadable_files_say_so(tmp_path):
    with pytest.raises(ScenarioError, match="No such file"):
        read_measurements(tmp_path / "missing.json")
    (tmp_path / "x.json").write_text("{not json")
    with pytest.raises(ScenarioError, match=r"not JSON .*simsgp.probe"):
        read_measurements(tmp_path / "x.json")


def test_one_p2p_size_cannot_give_a_line(tmp_path):
    probe = read_measurements(write(tmp_path, p2p=[{"bytes": 1e3, "seconds": 1e-3}]))
    with pytest.raises(ScenarioError, match="at least two distinct message sizes"):
        calibration_inputs(probe)


def test_cli_predicts_from_a_file_and_fits_with_fit(tmp_path, capsys):
    from simsgp.cli import main

    path = write(tmp_path)
    assert main(["calibrate", "--measurements", str(path), "--predict", "allreduce:16", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {p["label"]: p for p in doc["points"]}
    assert abs(rows["allreduce:4 ring of 2e+06 B"]["error"]) < 1e-9
    assert rows["allreduce:16"]["measured"] is None and doc["parameters"] == []
    assert main(["calibrate", "--measurements", str(path), "--fit", "network.latency", "--json"]) == 0
    fitted = json.loads(capsys.readouterr().out)["parameters"]
    assert fitted[0]["name"] == "network.latency" and fitted[0]["value"] == pytest.approx(ALPHA, rel=1e-6)
    assert main(["calibrate", "--measurements", str(path), "--measured-collective", "bogus"]) == 2
    assert "--measured-collective='bogus'" in capsys.readouterr().err
