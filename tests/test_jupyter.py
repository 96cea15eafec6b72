"""Using simsgp from a notebook: a result's repr and HTML, its frames, JSON round trips, mappings of overrides, sweeps."""

from __future__ import annotations

import copy
import dataclasses
import html.parser
import json
import math
import pickle
import subprocess
import sys
import warnings

import networkx as nx
import numpy as np
import pytest
from test_custom import PlainQuadratic  # a user task around the built-in quadratic

import simsgp
from simsgp import Result, SimsgpError
from simsgp.cli import main
from simsgp.errors import ScenarioError
from simsgp.report import summary as summary_mod
from simsgp.report.metrics import EVALUATION_FIELDS
from simsgp.report.result import jsonable
from simsgp.scenario import Scenario, apply_overrides, from_dict
from simsgp.sim.records import FIELDS

SMALL = {"iterations": 6, "cluster": {"nodes": 3}}


def _custom_run():
    graph = nx.DiGraph([(i, (i + 1) % 4) for i in range(4)] + [(0, 2)])
    scenario = {"iterations": 8, "eval_every": 2, "cluster": {"nodes": 4}, "task": {"name": "quadratic", "dim": 3}}
    return simsgp.run(scenario, task=PlainQuadratic(3), graph=graph, compute=[0.1, 0.1, 0.3, 0.1])


VARIED = {
    "timing-only, traced, NaN losses": lambda: simsgp.run(
        {"iterations": 6, "timing_only": True, "eval_every": 2, "trace": True, "cluster": {"nodes": 3}}
    ),
    "custom task, graph and compute": _custom_run,
    "quadratic, NaN accuracy, osgp staleness": lambda: simsgp.run(
        {"iterations": 9, "eval_every": 3, "task": {"name": "quadratic"}, "algorithm": {"name": "osgp", "tau": 1},
         "cluster": {"nodes": 4}}
    ),
    "time limit, a slow node": lambda: simsgp.run(
        {"time_limit": 0.45, "cluster": {"nodes": 4, "slow_nodes": {"1": 2.0}}, "algorithm": {"name": "adpsgd"}}
    ),
    "no iteration within the time limit": lambda: simsgp.run({"time_limit": 0.05, "cluster": {"nodes": 2}}),
    "a target, a node down for good": lambda: simsgp.run(
        {"iterations": 12, "target_accuracy": 0.3, "algorithm": {"name": "adpsgd"},
         "cluster": {"nodes": 4, "failures": [{"node": 3, "start": 0.45, "end": math.inf}]}}
    ),
}


@pytest.fixture(scope="module")
def varied():
    return {name: make() for name, make in VARIED.items()}


# --- repr and HTML ----------------------------------------------------------------


def test_repr_is_one_short_line_of_an_independently_computed_pace():
    result = simsgp.run({"iterations": 20, "cluster": {"nodes": 4, "slow_nodes": {"2": 1.5}}})
    pace = float(np.max(result.records["end"][-1])) / 20  # the slowest node's last iteration
    accuracy = result.summary["final_accuracy"]
    assert repr(result) == f"<Result sgp, 4 nodes, 20 iterations, {pace:.4g} s/it, accuracy {accuracy:.4f}>"
    assert f"{pace:.4g}" == "0.15"  # 1.5 x 0.1 s of compute, messages of a few kB on 10 Gb/s
    assert str(result) == repr(result)


def test_repr_says_n_a_for_what_a_run_lacks(varied):
    assert repr(varied["timing-only, traced, NaN losses"]).endswith(", 6 iterations, 0.1 s/it, accuracy n/a>")
    assert repr(varied["no iteration within the time limit"]).startswith("<Result sgp, 2 nodes, 0 iterations, n/a s/it")


class _Cells(html.parser.HTMLParser):
    """The caption, the (th, td) rows and the evaluation table's cells of :func:`summary_html`, as plain text."""

    def __init__(self):
        super().__init__()
        self.caption, self.tables, self._tag, self._text = "", [], None, ""

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        if tag in ("caption", "th", "td"):
            self._tag, self._text = tag, ""

    def handle_data(self, data):
        self._text += data

    def handle_endtag(self, tag):
        if tag == "caption":
            self.caption = self._text
        elif tag in ("th", "td"):
            self.tables[-1][-1].append(self._text)


def _text_from_html(page):
    """The command line's summary, rebuilt from the HTML alone (two spaces, labels 22 wide, the evaluation columns)."""
    cells = _Cells()
    cells.feed(page)
    lines = [cells.caption] + [f"  {label:<22}{value}" for label, value in cells.tables[0]]
    for it, t, loss, acc, cons in cells.tables[1] if len(cells.tables) > 1 else []:
        lines.append(f"  {it:>9}   {t:>10}   {loss:<8}  {acc:<8}  {cons}")
    return "\n".join(lines)


@pytest.mark.parametrize("name", VARIED)
def test_the_html_table_and_the_text_summary_show_the_same_rows(varied, name):
    result = varied[name]
    assert _text_from_html(result._repr_html_()) == summary_mod.format_summary(result)
    assert _text_from_html(summary_mod.summary_html(result, max_rows=3)) == summary_mod.format_summary(result, max_rows=3)


def test_the_summaries_show_what_each_run_has(varied):
    text = {name: summary_mod.format_summary(result) for name, result in varied.items()}
    assert "time to target        accuracy >= 0.3" not in text["a target, a node down for good"]  # it was reached
    assert "s to accuracy >= 0.3 (iteration " in text["a target, a node down for good"]
    assert "down at the end       node(s) 3: the others went on without them" in text["a target, a node down for good"]
    assert "staleness             " in text["quadratic, NaN accuracy, osgp staleness"]
    assert "0 iterations completed by every node within time_limit=0.05 s" in text["no iteration within the time limit"]
    evaluations = varied["timing-only, traced, NaN losses"].evaluations
    assert text["timing-only, traced, NaN losses"].splitlines()[-3:] == [
        f"  {k:>9d}   {t:>10.4g}   nan       n/a       {c:.3g}"
        for k, t, c in zip(evaluations["iteration"].astype(int), evaluations["sim_time"], evaluations["consensus_distance"])
    ]


def test_html_escapes_what_it_shows_and_the_text_keeps_it():
    result = simsgp.run(SMALL)
    odd = dataclasses.replace(result, summary={**result.summary, "busiest_link": "a<b&c>"})
    page = odd._repr_html_()
    assert "a<b" not in page and "a&lt;b&amp;c&gt;" in page
    assert _text_from_html(page) == summary_mod.format_summary(odd)
    assert "  busiest link          a<b&c>, " in summary_mod.format_summary(odd)


def test_the_command_line_prints_the_same_summary(capsys):
    from simsgp import cli

    assert cli.format_summary is summary_mod.format_summary
    assert main(["run", "--set", "iterations=4", "--set", "cluster.nodes=2", "--set", 'task.payload="task"']) == 0
    expected = summary_mod.format_summary(simsgp.run({"iterations": 4, "cluster": {"nodes": 2}}))
    assert capsys.readouterr().out == expected + "\n"


# --- frames -----------------------------------------------------------------------


@pytest.mark.parametrize("name", VARIED)
def test_records_frame_row_of_iteration_t_and_node_i_is_records_t_minus_1_i(varied, name):
    result = varied[name]
    frame = result.records_frame()
    iterations, nodes = result.records["end"].shape
    assert list(frame.columns) == ["iteration", "node", *FIELDS] and len(frame) == iterations * nodes
    assert frame["iteration"].dtype == np.int64 and frame["node"].dtype == np.int64
    t, i = frame["iteration"].to_numpy(), frame["node"].to_numpy()
    assert [(a, b) for a, b in zip(t, i)] == [(a, b) for a in range(1, iterations + 1) for b in range(nodes)]
    for field in FIELDS:
        np.testing.assert_array_equal(frame[field].to_numpy(), result.records[field][t - 1, i])


def test_records_frame_keeps_the_iterations_a_node_did_not_finish_as_nan(varied):
    result = varied["time limit, a slow node"]
    frame = result.records_frame()
    unfinished = frame[frame["end"].isna()]
    assert set(unfinished["node"]) == {1}  # the slow node did fewer iterations than the others
    assert len(unfinished) == int(np.isnan(result.records["end"][:, 1]).sum()) > 0


@pytest.mark.parametrize("name", VARIED)
def test_evaluations_frame_holds_the_evaluation_arrays(varied, name):
    result = varied[name]
    frame = result.evaluations_frame()
    assert list(frame.columns) == list(EVALUATION_FIELDS) and frame["iteration"].dtype == np.int64
    for field in EVALUATION_FIELDS:
        np.testing.assert_array_equal(frame[field].to_numpy(), result.evaluations[field])


def test_evaluations_frame_has_the_nans_of_what_was_not_measured(varied):
    assert varied["timing-only, traced, NaN losses"].evaluations_frame()["loss"].isna().all()
    quadratic = varied["quadratic, NaN accuracy, osgp staleness"].evaluations_frame()
    assert quadratic["accuracy"].isna().all() and quadratic["loss"].notna().all()
    assert quadratic["iteration"].tolist() == [3, 6, 9]


# --- JSON round trips ---------------------------------------------------------------


def _assert_same_arrays(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize("name", VARIED)
def test_from_json_reads_back_what_to_json_wrote(varied, name):
    result = varied[name]
    text = result.to_json()
    back = Result.from_json(text)
    assert back.scenario == result.scenario and back.version == result.version and back.custom == result.custom
    assert back.summary == jsonable(result.summary)  # NaN and inf become None, as in the JSON
    _assert_same_arrays(back.evaluations, result.evaluations)
    assert back.to_json() == text
    assert repr(back) == repr(result) and back._repr_html_() == result._repr_html_()
    assert back.evaluations_frame().equals(result.evaluations_frame())
    assert back.records == {} and back.params.size == 0 and back.weights.size == 0 and back.messages is None
    with pytest.raises(SimsgpError, match=r"^records_frame: this result has no records .*to_json\(arrays=True\)"):
        back.records_frame()


@pytest.mark.parametrize("name", VARIED)
def test_from_json_with_arrays_gives_every_field_back(varied, name):
    result = varied[name]
    text = result.to_json(arrays=True)
    back = Result.from_json(text)
    assert back.scenario == result.scenario and back.to_json(arrays=True) == text
    _assert_same_arrays(back.records, result.records)
    _assert_same_arrays(
        {"params": back.params, "weights": back.weights}, {"params": result.params, "weights": result.weights}
    )
    assert (back.messages is None) == (result.messages is None)
    if result.messages is not None:
        np.testing.assert_array_equal(back.messages, result.messages)
    assert back.records_frame().equals(result.records_frame())


def test_a_traced_run_keeps_its_messages_and_arrays_cost_what_the_docstring_says(varied):
    result = varied["timing-only, traced, NaN losses"]
    assert result.messages is not None and len(result.messages) > 0
    data = json.loads(result.to_json(arrays=True))
    assert len(data["messages"]) == len(result.messages) and all(len(row) == 5 for row in data["messages"])
    assert {k: np.shape(v) for k, v in data["records"].items()} == {k: (6, 3) for k in FIELDS}
    assert set(data) - set(json.loads(result.to_json())) == {"records", "params", "weights", "messages"}


def test_a_custom_run_says_what_stood_in_and_reads_back_its_scenario(varied):
    result = varied["custom task, graph and compute"]
    data = result.to_dict()
    assert (data["scenario"]["task"]["name"], data["scenario"]["algorithm"]["graph"]) == ("custom", "custom")
    assert data["scenario"]["cluster"]["compute"]["model"] == "custom"
    assert data["replaced"] == {
        "task.name": "quadratic", "algorithm.graph": "dynamic-directed-exponential", "cluster.compute.model": "constant",
    }
    assert "replaced" not in simsgp.run(SMALL).to_dict()
    back = Result.from_dict(data)
    assert back.scenario == result.scenario and back.scenario.task.params["dim"] == 3
    assert back.custom == result.custom and set(back.custom) == {"task", "graph", "compute"}


def test_a_window_that_never_ends_reads_back_as_inf(varied):
    result = varied["a target, a node down for good"]
    assert json.loads(result.to_json())["scenario"]["cluster"]["failures"][0]["end"] is None
    assert Result.from_json(result.to_json()).scenario.cluster.failures[0].end == math.inf


def test_from_json_ignores_keys_it_does_not_know():
    result = simsgp.run(SMALL)
    data = {**result.to_dict(arrays=True), "network": {"samples": [1, 2]}, "later": None}
    assert Result.from_json(json.dumps(data)).to_json(arrays=True) == result.to_json(arrays=True)


def _broken(change):
    data = copy.deepcopy(_BASE_DATA)
    change(data)
    return json.dumps(data)


_BASE_DATA = simsgp.run({"iterations": 2, "cluster": {"nodes": 2}}).to_dict(arrays=True)

_END = r"; expected the output of Result.to_json$"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{", r"^Result.from_json: not JSON \(Expecting property name"),
        (b"\xff", r"^Result.from_json: not JSON \("),
        ("[1, 2]", r"^Result.from_json: a JSON array, not an object" + _END),
        (_broken(lambda d: d.pop("summary")), r"^Result.from_json: no 'summary'" + _END),
        (_broken(lambda d: d.update(version=3)), r"^Result.from_json: 'version' is a JSON number; expected a JSON string"),
        (_broken(lambda d: d.update(evaluations=[])), r"'evaluations' is a JSON array; expected a JSON object"),
        (_broken(lambda d: d.update(custom={"task": 5})), r"custom\['task'\]=5; expected a description \(a string\)"),
        (_broken(lambda d: d.update(custom={"model": "x"})), r"custom\['model'\]='x'; expected .* of \['compute'"),
        (_broken(lambda d: d.update(custom={"task": "Mine"})), r"custom has 'task' but 'replaced' has no 'task.name'"),
        (_broken(lambda d: d["scenario"]["cluster"].update(nodes=1)),
         r"^Result.from_json: scenario: cluster.nodes=1; expected an integer >= 2" + _END),
        (_broken(lambda d: d["scenario"].update(cluster=[])), r"scenario: cluster=\[\]; expected a table of keys"),
        (_broken(lambda d: d["summary"].pop("busiest_link")), r"summary has no 'busiest_link'; expected a string"),
        (_broken(lambda d: d["summary"].update(iterations=2.5)), r"summary\['iterations'\]=2.5; expected an integer"),
        (_broken(lambda d: d["summary"].update(down_time=[0, "x"])), r"summary\['down_time'\]=\[0, 'x'\]; expected a list"),
        (_broken(lambda d: d["evaluations"].pop("loss")), r"^Result.from_json: no evaluations\['loss'\]" + _END),
        (_broken(lambda d: d["evaluations"].update(loss="low")), r"evaluations\['loss'\] is a JSON string; expected an"),
        (_broken(lambda d: d["evaluations"].update(loss=[1.0, 2.0, 3.0])), r"the evaluations' columns .* differ in length"),
        (_broken(lambda d: d["evaluations"].update(loss=[True])), r"evaluations\['loss'\] holds True; expected numbers"),
        (_broken(lambda d: d["evaluations"].update(loss=["1.5"])), r"evaluations\['loss'\] holds '1.5'; expected numbers"),
        (_broken(lambda d: d.update(records=[])), r"'records' is a JSON array; expected a JSON object"),
        (_broken(lambda d: d["records"]["end"].append([1.0])),
         r"records\['end'\] is not an array of any x 2 numbers \(rows of different lengths, or too few\)"),
        (_broken(lambda d: d["records"].update(end=[[1.0, 2.0, 3.0]] * 2)), r"records\['end'\] is not an array of any x 2"),
        (_broken(lambda d: d["records"].update(end=[[1.0, 2.0]])), r"the records' fields .* differ in shape"),
        (_broken(lambda d: d.update(weights=[1.0])), r"weights is not an array of 2 numbers"),
        (_broken(lambda d: d.update(weights=[])), r"weights is not an array of 2 numbers"),
        (_broken(lambda d: d["records"].update(end=[[]])), r"records\['end'\] is not an array of any x 2 numbers"),
        (_broken(lambda d: d["records"].update(end=[[[1.0, 2.0]]])), r"records\['end'\] is not an array of any x 2"),
        (_broken(lambda d: d.update(params={"x": 1})), r"params is a JSON object; expected an array"),
        (_broken(lambda d: d.update(messages=[[0, 1, 0.0, 1.0]])), r"messages is not an array of any x 5 numbers"),
    ],
)
def test_from_json_refuses_what_to_json_cannot_have_written_in_one_line(text, message):
    with pytest.raises(SimsgpError, match=message) as caught:
        Result.from_json(text)
    assert "\n" not in str(caught.value)


def test_from_dict_names_itself():
    with pytest.raises(SimsgpError, match=r"^Result.from_dict: a JSON string, not an object; expected the output of "
                                          r"Result.to_dict$"):
        Result.from_dict("{}")


# --- apply_overrides with a mapping -----------------------------------------------------


@pytest.mark.parametrize(
    ("mapping", "strings"),
    [
        ({"cluster.nodes": 16}, ["cluster.nodes=16"]),
        (
            {"algorithm.name": "osgp", "algorithm.tau": 2, "network.latency": 1e-3, "task.payload": "resnet50"},
            ["algorithm.name=osgp", "algorithm.tau=2", "network.latency=1e-3", 'task.payload="resnet50"'],
        ),
        ({"cluster.slow_nodes": {"3": 2.0}, "time_limit": 2.5}, ['cluster.slow_nodes={ "3" = 2.0 }', "time_limit=2.5"]),
        ({"cluster.slow_nodes.3": 4, "timing_only": True}, ["cluster.slow_nodes.3=4", "timing_only=true"]),
        (
            {"cluster.failures": [{"node": 1, "start": 0.5, "end": math.inf}]},
            ["cluster.failures=[{ node = 1, start = 0.5, end = inf }]"],
        ),
        ({"cluster.nodes": np.int64(4), "network.latency": np.float64(2e-3)}, ["cluster.nodes=4", "network.latency=2e-3"]),
        ({}, []),
    ],
)
def test_apply_overrides_a_mapping_equals_the_same_key_value_strings(mapping, strings):
    base = from_dict({"network": {"bandwidth": 1e9}})
    by_mapping, by_strings = apply_overrides(base, mapping), apply_overrides(base, strings)
    assert by_mapping == by_strings and type(by_mapping.cluster.nodes) is int
    assert simsgp.apply_overrides(base, mapping) == by_strings


def test_apply_overrides_a_mapping_takes_none_where_toml_cannot_say_it():
    base = from_dict({"network": {"bandwidth": 1e9}, "target_accuracy": 0.9})
    assert apply_overrides(base, {"network.bandwidth": None, "target_accuracy": None}) == Scenario()


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        (
            {"cluster.nodez": 3},
            r"^apply_overrides: key 'cluster.nodez': unknown key \(did you mean 'nodes'\?\); expected one of \['compute', ",
        ),
        ({"cluster.nodes": "16"}, r"^apply_overrides: key 'cluster.nodes', value '16'; expected an integer of at most "),
        ({"cluster.nodes": None}, r"^apply_overrides: key 'cluster.nodes', value None; expected an integer"),
        ({"algorithm.tau": 2}, r"^apply_overrides: key 'algorithm.tau', value 2: not a parameter of algorithm.name='sgp'"),
        ({"seed.x": 1}, r"^apply_overrides: key 'seed.x': 'seed' is a value, not a table$"),
        ({"cluster.compute": {"mean": -1}}, r"^apply_overrides: cluster.compute.mean=-1.0; expected a positive finite"),
        ({3: 1}, r"^apply_overrides: key 3; expected a dotted scenario key \(a str\), such as 'cluster.nodes'$"),
        ({"cluster..nodes": 1}, r"^apply_overrides: key 'cluster..nodes'; expected a dotted scenario key"),
        ({" seed": 1}, r"^apply_overrides: key ' seed'; expected a dotted scenario key"),
    ],
)
def test_apply_overrides_errors_for_a_mapping_are_worded_for_python(mapping, message):
    with pytest.raises(ScenarioError, match=message) as caught:
        apply_overrides(Scenario(), mapping)
    assert "--set" not in str(caught.value) and "\n" not in str(caught.value)


def test_apply_overrides_of_one_string_is_refused_and_the_strings_keep_their_command_line_wording():
    with pytest.raises(ScenarioError, match=r"^apply_overrides: assignments='cluster.nodes=3'; expected a list of "):
        apply_overrides(Scenario(), "cluster.nodes=3")
    with pytest.raises(ScenarioError, match=r"^--set 'cluster.nodes'; expected key=value"):
        apply_overrides(Scenario(), ["cluster.nodes"])
    with pytest.raises(ScenarioError, match=r"^seed is a value, not a table; cannot set seed.x$"):
        apply_overrides(Scenario(), ["seed.x=1"])


# --- sweeps ---------------------------------------------------------------------------

TINY = {"iterations": 3, "eval_every": 0, "cluster": {"nodes": 2}}


def test_load_results_is_one_row_per_run_file_of_several_sweeps(tmp_path):
    from simsgp.sweep import load_results, load_runs, run_sweep

    base = from_dict(TINY)
    run_sweep(base, {"cluster.nodes": [1, 2, 4]}, tmp_path, workers=1, progress=False)
    run_sweep(base, {"iterations": [2, 5], "algorithm.name": ["allreduce"]}, tmp_path, workers=1, progress=False)
    table, runs = load_results(tmp_path), load_runs(tmp_path)
    assert table["key"].tolist() == [run["key"] for run in runs] and len(runs) == 5
    assert set(table.columns[:3]) == {"cluster.nodes", "iterations", "algorithm.name"}  # as first met, by key
    assert list(table.columns[3:6]) == ["key", "status", "error"]
    assert table.columns[-1] == "wall_seconds" and "summary.iterations" in table and "sim_time" in table
    assert "node_time_per_iteration" not in table and "busiest_link" in table  # scalars only
    by_key = table.set_index("key")
    for run in runs:
        row = by_key.loc[run["key"]]
        assert row["status"] == run["status"] and row["wall_seconds"] == run["wall_seconds"]
        for key in ("cluster.nodes", "iterations", "algorithm.name"):
            given = run["point"].get(key)
            assert (row[key] == given) if given is not None else (row[key] is None or math.isnan(row[key]))
        if run["status"] == "ok":
            assert row["summary.iterations"] == run["summary"]["iterations"]
            assert row["sim_time"] == run["summary"]["sim_time"] and row["busiest_link"] == run["summary"]["busiest_link"]
        else:
            assert math.isnan(row["sim_time"]) and "cluster.nodes=1" in row["error"]
    assert sorted(table["summary.iterations"].dropna().tolist()) == [2, 3, 3, 5]


def test_load_results_of_a_folder_without_runs_is_one_line(tmp_path):
    with pytest.raises(SimsgpError, match="has no runs folder; expected the output folder of a sweep"):
        simsgp.sweep.load_results(tmp_path)


def test_simsgp_sweep_is_the_callable_module_in_every_import_form():
    import simsgp.sweep
    import simsgp.sweep as as_module
    from simsgp import sweep as by_name
    from simsgp.sweep import load_results, sweep

    assert simsgp.sweep is as_module is by_name and callable(simsgp.sweep)
    assert simsgp.sweep.load_results is load_results and simsgp.sweep.sweep is sweep
    assert "sweep" in simsgp.__all__ and "sweep" in dir(simsgp)
    assert pickle.loads(pickle.dumps(simsgp.sweep._run_point)) is simsgp.sweep._run_point  # what worker processes get
    assert pickle.loads(pickle.dumps(sweep)) is sweep


@pytest.mark.parametrize(
    "code",
    [
        "import simsgp; simsgp.sweep",
        "from simsgp import sweep",
        # a quadratic task: the digits tasks load scikit-learn, which loads pandas where it is installed
        "import simsgp; r = simsgp.run({'iterations': 2, 'task': {'name': 'quadratic'}}); repr(r), r._repr_html_()",
    ],
)
def test_the_sweep_module_and_a_result_load_no_pandas_until_a_frame_is_asked_for(code):
    probe = f"{code}\nimport sys\nprint('pandas' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"


def test_simsgp_sweep_returns_the_rows_of_its_own_points_in_grid_order_and_resumes(tmp_path):
    other = simsgp.sweep(TINY, {"seed": [7]}, tmp_path, workers=1, progress=False)
    grid = {"cluster.nodes": np.array([4, 2]), "algorithm.name": ["sgp", "allreduce"]}
    table = simsgp.sweep(TINY, grid, tmp_path, workers=2, progress=False)
    assert [tuple(r) for r in table[["cluster.nodes", "algorithm.name"]].values] == [
        (4, "sgp"), (4, "allreduce"), (2, "sgp"), (2, "allreduce")
    ]
    assert set(table["status"]) == {"ok"} and "seed" not in table and other["key"].tolist()[0] not in set(table["key"])
    rows = simsgp.sweep.run_sweep(from_dict(TINY), {k: list(v) for k, v in grid.items()}, tmp_path, workers=1,
                                  progress=False)
    assert table["key"].tolist() == [row["key"] for row in rows]
    assert table["sim_time_per_iteration"].tolist() == [row["sim_time_per_iteration"] for row in rows]
    again = simsgp.sweep(TINY, grid, tmp_path, workers=1, progress=False)
    assert again.equals(table)  # every run was skipped: the same files, the same wall seconds
    assert len(simsgp.sweep.load_results(tmp_path)) == 5


def test_simsgp_sweep_takes_a_scenario_a_mapping_a_preset_or_a_file(tmp_path):
    path = tmp_path / "base.toml"
    path.write_text("iterations = 3\neval_every = 0\n[cluster]\nnodes = 2\n")
    keys = []
    for k, given in enumerate([from_dict(TINY), TINY, str(path), path]):
        table = simsgp.sweep(given, {"seed": [1]}, tmp_path / f"out{k}", workers=1, progress=False)
        keys.append(table["key"].tolist())
    assert keys[1:] == keys[:-1]
    preset = simsgp.sweep("default", {"iterations": [2]}, tmp_path / "preset", workers=1, progress=False)
    assert preset["status"].tolist() == ["ok"] and preset["summary.iterations"].tolist() == [2]


@pytest.mark.parametrize(
    ("scenario", "grid", "message"),
    [
        (3, {"seed": [0]}, r"^sweep: scenario=3; expected a Scenario, a mapping, a preset name or a TOML path$"),
        (TINY, ["seed=0,1"], r"^sweep: grid=\['seed=0,1'\]; expected a mapping of dotted key to values"),
        (TINY, {"seed": 0}, r"^grid key 'seed' has values 0; expected a non-empty list of values$"),
        ({"cluster": {"nodez": 2}}, {"seed": [0]}, r"^cluster.nodez: unknown key"),
    ],
)
def test_simsgp_sweep_refuses_bad_input_in_one_line(tmp_path, scenario, grid, message):
    with pytest.raises(SimsgpError, match=message):
        simsgp.sweep(scenario, grid, tmp_path, workers=1, progress=False)
    assert not (tmp_path / "runs").exists()


def test_simsgp_sweep_forwards_its_options(tmp_path):
    with pytest.raises(SimsgpError, match=r"^workers=0; expected an integer >= 1$"):
        simsgp.sweep(TINY, {"seed": [0]}, tmp_path, workers=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'worker'"):
        simsgp.sweep(TINY, {"seed": [0]}, tmp_path, worker=1)
    (tmp_path / "mine.txt").write_text("not a sweep's")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = simsgp.sweep(TINY, {"seed": [0]}, tmp_path, workers=1, progress=False, force=True)
    assert table["status"].tolist() == ["ok"]
