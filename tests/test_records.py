"""Records: every field lands in its own (iteration, node) cell, the table grows, rounds complete."""

import math

import numpy as np
import pytest

from simsgp.sim.records import FIELDS, Records


def _log(rec, node, t, base):
    return rec.log(node, t, start=base, compute_end=base + 1, end=base + 3, loss=base + 4, bytes_sent=base + 5, staleness=base + 6)


def test_each_field_lands_in_its_cell():
    rec = Records(n_nodes=3, capacity=2)
    _log(rec, 2, 1, 10.0)
    arrays = rec.arrays()
    assert set(arrays) == set(FIELDS)
    expected = {"start": 10.0, "compute_end": 11.0, "comm_wait": 2.0, "end": 13.0, "loss": 14.0, "bytes_sent": 15.0, "staleness": 16.0}
    for name, value in expected.items():
        assert arrays[name].shape == (2, 3)
        assert arrays[name][1, 2] == value
        assert np.isnan(np.delete(arrays[name].ravel(), 1 * 3 + 2)).all(), name


def test_explicit_comm_wait_and_default_staleness():
    rec = Records(n_nodes=1, capacity=1)
    rec.log(0, 0, start=0.0, compute_end=1.0, end=5.0, loss=0.5, bytes_sent=0.0, comm_wait=0.25)
    arrays = rec.arrays()
    assert arrays["comm_wait"][0, 0] == 0.25 and math.isnan(arrays["staleness"][0, 0])


@pytest.mark.parametrize("capacity", [1, 3])
def test_table_grows_and_keeps_what_was_logged(capacity):
    rec = Records(n_nodes=2, capacity=capacity)
    for t in range(10):
        for node in range(2):
            _log(rec, node, t, 100.0 * t + node)
    arrays = rec.arrays()
    assert arrays["start"].shape == (10, 2)
    assert np.array_equal(arrays["start"], 100.0 * np.arange(10)[:, None] + np.arange(2))
    assert rec.completed.tolist() == [10, 10]


def test_table_jumps_to_an_iteration_past_twice_its_rows():
    rec = Records(n_nodes=2, capacity=1)
    _log(rec, 0, 0, 1.0)
    _log(rec, 1, 40, 2.0)
    arrays = rec.arrays()
    assert arrays["start"].shape == (41, 2)
    assert arrays["start"][0, 0] == 1.0 and arrays["start"][40, 1] == 2.0
    assert np.isnan(arrays["start"][1:40]).all() and rec.completed.tolist() == [1, 41]


def test_round_completes_when_every_node_logged_it():
    rec = Records(n_nodes=2, capacity=4)
    assert _log(rec, 0, 0, 1.0) is False
    assert math.isnan(rec.finished_at(0))
    assert _log(rec, 1, 0, 2.0) is True
    assert rec.finished_at(0) == 5.0
    assert rec.arrays()["end"].shape == (1, 2)  # trimmed to completed iterations
