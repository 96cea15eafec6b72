"""Input checks at the boundary of a run and of the command line: graph size, memory, one-line errors."""

from __future__ import annotations

import time
import tracemalloc

import networkx as nx
import numpy as np
import pytest
import scipy.sparse

from simsgp import graphs
from simsgp import scenario as scenario_mod
from simsgp.algorithms import dpsgd
from simsgp.cli import main
from simsgp.errors import GraphError, ScenarioError
from simsgp.sim import engine


def _scenario(nodes: int, algorithm: str = "sgp", **fields: object) -> scenario_mod.Scenario:
    return scenario_mod.resolve(scenario_mod.from_dict({"cluster": {"nodes": nodes}, "algorithm": {"name": algorithm, **fields}}))


# --- the graph checks of a run -------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("algorithm", ["sgp", "dpsgd"])
def test_run_graph_checks_of_50000_nodes_are_quick_and_never_dense(algorithm):
    """One dense 50 000 x 50 000 mixing matrix is 18.6 GiB; the checks of a whole period stay far below 1 GiB.

    (About 1.5 s each; under tracemalloc about 6 s, hence slow.)
    """
    scenario = _scenario(50_000, algorithm, graph="dynamic-directed-exponential", peers_per_itr=1)
    start = time.perf_counter()
    tracemalloc.start()
    try:
        schedule = engine._graph(scenario)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert schedule.n == 50_000 and schedule.period == 32
    assert peak < 2**30 / 2
    assert time.perf_counter() - start < 60


def test_run_graph_checks_of_5000_nodes_hold_less_than_one_dense_matrix():
    tracemalloc.start()
    try:
        engine._graph(_scenario(5000, "dpsgd"))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * 5000**2 / 4


def test_run_refuses_schedule_that_is_not_strongly_connected(monkeypatch):
    islands = graphs.from_digraph(nx.DiGraph([(0, 1), (1, 0), (2, 3), (3, 2)]))
    monkeypatch.setattr(graphs, "make", lambda name, n, k: islands)
    with pytest.raises(ScenarioError, match=(
        r"algorithm\.graph='ring' with algorithm\.peers_per_itr=1: graph 'digraph' with n=4 is not strongly connected "
        r"over one period \(1 iteration\): 2 strongly connected components, e\.g\. \[0, 1\]"
    )):
        engine._graph(_scenario(4, graph="ring"))


def test_run_refuses_mixing_matrix_that_is_not_column_stochastic(monkeypatch):
    """The sparse check reports the column and its sum as the dense one did."""
    leaky = scipy.sparse.csc_array(np.array([[0.5, 0.5], [0.5, 0.4]]))
    monkeypatch.setattr(graphs.GraphSchedule, "sparse_mixing_matrix", lambda self, t: leaky)
    with pytest.raises(ScenarioError, match=r"graph='ring' .*: column 1 of the mixing matrix sums to 0\.9; expected 1"):
        engine._graph(_scenario(2, graph="ring"))


def test_dpsgd_check_graph_refuses_irregular_graph_with_the_row_sum():
    with pytest.raises(GraphError, match=r"row 0 of the mixing matrix sums to 1\.333"):
        dpsgd.DPSGD().check_graph(graphs.from_digraph(nx.DiGraph([(0, 1), (0, 2), (1, 0), (2, 0)])))


def test_run_refuses_schedule_beyond_the_entry_limit_quickly():
    start = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"peers_per_itr=1023: graph 'dynamic-directed-linear' with n=1024 .*at most"):
        engine._graph(_scenario(1024, graph="dynamic-directed-linear", peers_per_itr=1023))
    assert time.perf_counter() - start < 1.0


# --- simsgp graphs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--nodes", str(10**9)], "--nodes=1000000000 is out of range; allowed are 2..100000"),
        (["--nodes", "1"], "--nodes=1 is out of range; allowed are 2..100000"),
        (["--nodes", "-5"], "--nodes=-5 is out of range; allowed are 2..100000"),
        (["--peers", "0"], "--peers=0 is out of range; allowed are integers >= 1"),
    ],
)
def test_cli_graphs_refuses_bad_sizes_in_one_line(capsys, arguments, message):
    assert main(["graphs", "ring", *arguments]) == 2
    assert capsys.readouterr().err == f"simsgp: error: {message}\n"


def test_cli_graphs_refuses_period_too_long_in_one_line(capsys):
    start = time.perf_counter()
    assert main(["graphs", "dynamic-directed-linear", "--nodes", "1024", "--peers", "1023"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsgp: error: graph 'dynamic-directed-linear' with n=1024 and peers_per_itr=1023 lists ")
    assert err.count("\n") == 1 and time.perf_counter() - start < 1.0


def test_cli_graphs_4096_nodes_is_quick_and_reports_the_gap(capsys):
    """4096 dense matrices of the period would be 128 MiB each, and their eigenvalues minutes of work."""
    start = time.perf_counter()
    assert main(["graphs", "dynamic-directed-exponential", "--nodes", "4096"]) == 0
    out = capsys.readouterr().out
    assert time.perf_counter() - start < 3.0
    assert "(first 8 of 4096 nodes shown)" in out
    assert out.splitlines()[-4:] == [
        "column-stochastic: yes",
        "doubly-stochastic: yes",
        "union over one period strongly connected: yes",
        "spectral gap (1 - |lambda_2| of the period product): 1",
    ]
