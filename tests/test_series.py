"""Compact per-node timelines and link series: pure numpy, no SimPy (simsgp.report.series)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simsgp.errors import SimsgpError
from simsgp.report import series
from simsgp.report.series import busiest, link_series, slowest_nodes, spread, timeline, utilization


@settings(max_examples=200, deadline=None)
@given(count=st.integers(0, 5000), limit=st.integers(2, 300))
def test_spread_is_bounded_evenly_stepped_and_keeps_first_and_last(count, limit):
    idx = spread(count, limit)
    assert len(idx) == count if count <= limit else len(idx) <= limit
    steps = np.diff(idx)
    assert np.all(steps > 0)
    if count:
        assert (idx[0], idx[-1]) == (0, count - 1)
    if steps.size:
        step = steps[0]
        assert np.all(steps[:-1] == step) and steps[-1] <= step  # one step; only the last interval may be shorter
        if step > 1:  # the smallest step that fits: one less would need more than limit points
            assert -(-(count - 1) // (step - 1)) + 1 > limit
    assert np.array_equal(spread(count, None), np.arange(count))


def test_spread_rejects_a_limit_below_two():
    with pytest.raises(ValueError, match="limit=1"):
        spread(10, 1)


def test_slowest_nodes_fewest_done_then_latest_then_index():
    end = np.array([
        [1.0, 1.0, 1.0, 1.0, np.nan],
        [2.0, 3.0, 3.0, np.nan, np.nan],
    ])
    # node 4 did nothing, node 3 one iteration, nodes 1 and 2 tie at 3.0 s (lower index first), node 0 is fastest
    assert slowest_nodes(end, 5).tolist() == [4, 3, 1, 2, 0]


def _envelope_by_counting(end, rows, fraction_of_nodes):
    """For each kept iteration, the earliest end time by which ``ceil(fraction * n)`` nodes had completed it."""
    n = end.shape[1]
    need = max(1, math.ceil(fraction_of_nodes * n))
    out = []
    for t in rows:
        times = sorted(x for x in end[t].tolist() if not math.isnan(x))
        out.append(times[need - 1] if len(times) >= need else math.nan)
    return out


@settings(max_examples=60, deadline=None)
@given(
    iterations=st.integers(1, 40), nodes=st.integers(1, 12), limit=st.integers(2, 10),
    seed=st.integers(0, 10_000), cut=st.booleans(),
)
def test_timeline_envelope_matches_counting_and_lines_match_end(iterations, nodes, limit, seed, cut):
    rng = np.random.default_rng(seed)
    end = np.cumsum(rng.uniform(0.1, 1.0, (iterations, nodes)), axis=0)
    if cut:  # nodes that stopped early (a time limit, a failure)
        for i in range(nodes):
            end[rng.integers(0, iterations + 1):, i] = np.nan
    full = timeline(end, limit=limit, all_nodes_up_to=nodes)
    rows = spread(iterations, limit)
    assert full["envelope"] is None and full["nodes"].tolist() == list(range(nodes))
    np.testing.assert_array_equal(full["end"], end[rows])
    np.testing.assert_array_equal(full["iterations"], rows + 1)
    compact = timeline(end, limit=limit, all_nodes_up_to=0, slowest=2)
    assert compact["n_nodes"] == nodes
    np.testing.assert_array_equal(compact["nodes"], slowest_nodes(end, 2))
    np.testing.assert_array_equal(compact["end"], end[rows][:, slowest_nodes(end, 2)])
    for key, fraction in (("first", 0.0), ("half", 0.5), ("last", 1.0)):
        np.testing.assert_array_equal(compact["envelope"][key], _envelope_by_counting(end, rows, fraction))


def test_timeline_of_more_than_32_nodes_keeps_the_envelope_and_three_slowest():
    end = np.outer(np.arange(1, 5), np.linspace(1.0, 2.0, 40))
    data = timeline(end)
    assert data["nodes"].tolist() == [39, 38, 37] and data["end"].shape == (4, 3)
    np.testing.assert_array_equal(data["envelope"]["last"], end[:, 39])
    assert timeline(end[:, :32])["envelope"] is None


@settings(max_examples=100, deadline=None)
@given(samples=st.integers(2, 60), links=st.integers(1, 5), limit=st.integers(2, 20), seed=st.integers(0, 10_000))
def test_fewer_samples_merge_intervals_exactly(samples, links, limit, seed):
    """Utilisation over kept instants is the time-weighted mean of the finer one; its integral is the bytes carried."""
    rng = np.random.default_rng(seed)
    time = np.concatenate([[0.0], np.cumsum(rng.uniform(0.01, 1.0, samples - 1))])
    capacity = rng.uniform(1.0, 10.0, links)
    used = rng.uniform(0.0, 1.0, (samples - 1, links))
    carried = np.vstack([np.zeros(links), np.cumsum(used * capacity * np.diff(time)[:, None], axis=0)])
    # utilisation is a fraction of capacity, differenced from cumulative bytes: its float error is absolute
    np.testing.assert_allclose(utilization(time, carried, capacity), used, rtol=1e-9, atol=1e-9)
    rows = spread(samples, limit)
    coarse = utilization(time[rows], carried[rows], capacity)
    assert coarse.max() <= 1.0 + 1e-9
    for j in range(len(rows) - 1):
        a, b = rows[j], rows[j + 1]
        weights = np.diff(time[a:b + 1])
        np.testing.assert_allclose(coarse[j], weights @ used[a:b] / weights.sum(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose((coarse * capacity * np.diff(time[rows])[:, None]).sum(axis=0), carried[-1], rtol=1e-9)


def test_busiest_ranks_by_share_of_capacity_and_drops_idle_links():
    carried = np.array([0.0, 5.0, 20.0, 5.0, 1.0])
    capacity = np.array([1.0, 10.0, 10.0, 10.0, 1.0])
    assert busiest(carried, capacity, 8).tolist() == [2, 4, 1, 3]
    assert busiest(carried, capacity, 2).tolist() == [2, 4]
    assert busiest(np.zeros(3), np.ones(3)).tolist() == []


def test_link_series_keeps_the_busiest_columns_at_spread_instants():
    time = np.arange(6.0)
    carried = np.outer(time, [1.0, 3.0, 2.0])
    network = {"time": time, "carried": carried, "capacity": np.full(3, 4.0), "names": np.array(["a", "b", "c"])}
    data = link_series(network, links=2, limit=3)
    assert data["n_links"] == 3 and data["names"] == ["b", "c"]
    np.testing.assert_array_equal(data["time"], [0.0, 3.0, 5.0])
    np.testing.assert_array_equal(data["carried"], carried[[0, 3, 5]][:, [1, 2]])
    np.testing.assert_array_equal(data["capacity"], [4.0, 4.0])


def _record(timeline_entry=None, links_entry=None):
    return {"key": "k1", "timeline": timeline_entry, "links": links_entry}


def test_entries_read_back_with_null_as_nan():
    entry = {"n_nodes": 2, "iterations": [1, 2], "nodes": [0, 1], "end": [[1.0, 2.0], [3.0, None]], "envelope": None}
    data = series.timeline_of(_record(entry))
    np.testing.assert_array_equal(data["end"], [[1.0, 2.0], [3.0, np.nan]])
    assert data["iterations"].dtype == np.int64 and data["nodes"].tolist() == [0, 1]
    links = {"n_links": 4, "names": ["h0.up"], "capacity": [2.0], "time": [0.0, 1.0], "carried": [[0.0], [1.0]]}
    np.testing.assert_array_equal(series.links_of(_record(links_entry=links))["carried"], [[0.0], [1.0]])
    assert series.timeline_of({"key": "old"}) is None and series.links_of({"key": "old"}) is None


def test_entry_of_a_run_without_iterations_reads_back():
    entry = {"n_nodes": 3, "iterations": [], "nodes": [0, 1, 2], "end": [], "envelope": None}
    assert series.timeline_of(_record(entry))["end"].shape == (0, 3)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ([1, 2], "expected an object with"),
        ({"n_nodes": -1, "iterations": [1], "nodes": [0], "end": [[1.0]], "envelope": None}, "'n_nodes' is -1"),
        ({"n_nodes": 1, "iterations": [1], "nodes": [0], "end": [["x"]], "envelope": None}, "'end' is not a 2-dim"),
        ({"n_nodes": 1, "iterations": [1, 2], "nodes": [0], "end": [[1.0]], "envelope": None}, "has shape"),
        ({"n_nodes": 1, "iterations": [1], "nodes": [0], "end": [[1.0]], "envelope": {"first": [1]}}, "envelope"),
    ],
)
def test_bad_timeline_entry_is_a_clear_error(entry, match):
    with pytest.raises(SimsgpError, match=match) as info:
        series.timeline_of(_record(entry))
    assert "run k1: 'timeline'" in str(info.value)


@pytest.mark.parametrize(
    ("entry", "match"),
    [
        ({"n_links": 1, "names": [3], "capacity": [1.0], "time": [0.0], "carried": [[0.0]]}, "'names' is not"),
        ({"n_links": 1, "names": ["a"], "capacity": [1.0], "time": [0.0, 1.0], "carried": [[0.0]]}, "has shape"),
    ],
)
def test_bad_links_entry_is_a_clear_error(entry, match):
    with pytest.raises(SimsgpError, match=match):
        series.links_of(_record(links_entry=entry))
