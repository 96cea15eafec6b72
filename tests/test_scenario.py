"""Scenario validation: every bad input names its field, value and what is allowed."""

import dataclasses

import pytest

from simsgp.errors import ScenarioError
from simsgp.scenario import Scenario, apply_overrides, from_dict, load, loads, presets, resolve, to_dict
from simsgp.sim.engine import run


def test_scenario_defaults_match_design():
    s = resolve(Scenario())
    assert (s.seed, s.iterations, s.time_limit) == (0, 200, None)
    assert s.cluster.nodes == 8 and s.network.topology == "star-10gbe"
    assert (s.algorithm.name, s.algorithm.params) == ("sgp", {"graph": "dynamic-directed-exponential", "peers_per_itr": 1})
    assert s.task.params == {"batch_size": 32, "partition": "iid", "dirichlet_alpha": 0.5}
    assert s.task.payload == "task"


def test_scenario_default_preset_is_the_default_scenario_with_resnet50_messages():
    # the preset shows communication that matters; the schema's own default sends the task's bytes (right for a user's model)
    assert load("default") == load() == from_dict({"task": {"payload": "resnet50"}})
    assert "default" in presets() and presets()["default"]


def test_scenario_round_trips_through_dict():
    s = from_dict({"cluster": {"nodes": 5, "slow_nodes": {"3": 4.0}}, "task": {"payload": "resnet50"}})
    assert s.cluster.slow_nodes == {3: 4.0}
    assert from_dict(to_dict(s)) == s


def test_scenario_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scenario().seed = 3


def test_scenario_ints_become_floats_for_float_fields():
    s = from_dict({"network": {"bandwidth": 1000000000}})
    assert isinstance(s.network.bandwidth, float)


def test_scenario_rejects_unknown_key_with_suggestion():
    with pytest.raises(ScenarioError, match=r"network.bandwdith: unknown key \(did you mean 'bandwidth'\?\)"):
        from_dict({"network": {"bandwdith": 1e9}})


def test_scenario_rejects_unknown_top_level_key():
    with pytest.raises(ScenarioError, match=r"frobnicate: unknown key; expected one of \['algorithm', 'analytic', 'backend', 'cluster', 'device'"):
        from_dict({"frobnicate": 1})  # no close match, so no suggestion


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"cluster": {"nodes": "8"}}, r"cluster.nodes='8'; expected an integer"),
        ({"cluster": {"nodes": 8.0}}, r"cluster.nodes=8.0; expected an integer"),
        ({"cluster": {"nodes": True}}, r"cluster.nodes=True; expected an integer"),
        ({"cluster": {"nodes": 1}}, r"cluster.nodes=1; expected an integer >= 2"),
        ({"network": {"bandwidth": -1.0}}, r"network.bandwidth=-1.0; expected a positive"),
        ({"network": {"bandwidth": 0}}, r"network.bandwidth=0.0; expected a positive"),
        ({"network": {"latency": -1e-6}}, r"network.latency=-1e-06; expected a finite number >= 0"),
        ({"network": {"efficiency": 1.5}}, r"network.efficiency=1.5; expected a fraction in \(0, 1\]"),
        ({"network": {"topology": "moon"}}, r"network.topology='moon'; expected one of \[.*'star-10gbe'"),
        ({"algorithm": {"name": "magic"}}, r"algorithm.name='magic'; expected one of \['adpsgd', 'allreduce', 'dcasgd', 'dpsgd', 'localsgd', 'osgp', 'ps-async', 'ps-sync', 'sgp'\]"),
        ({"algorithm": {"graph": "tree"}}, r"algorithm.graph='tree'; expected one of \["),
        ({"algorithm": {"lr": 0}}, r"algorithm.lr=0.0; expected a positive"),
        ({"algorithm": {"momentum": 1.0}}, r"algorithm.momentum=1.0; expected a number in \[0, 1\)"),
        ({"task": {"name": "imagenet"}}, r"task.name='imagenet'; expected one of"),
        ({"task": {"payload": "resnet1000"}}, r"task.payload='resnet1000'; expected \"task\", one of \[.*'resnet50'"),
        ({"task": {"payload": -5}}, r"task.payload=-5.0; expected .* or a positive number of bytes"),
        ({"cluster": {"compute": {"model": "gamma"}}}, r"cluster.compute.model='gamma'; expected one of \['constant', 'lognormal', 'trace'\]"),
        ({"cluster": {"compute": 0.1}}, r"cluster.compute=0.1; expected a table of keys"),
        ({"cluster": {"slow_nodes": {"9": 4.0}}}, r"cluster.slow_nodes.9=4.0; expected a node index in 0..7"),
        ({"cluster": {"slow_nodes": {"x": 4.0}}}, r"cluster.slow_nodes key='x'; expected a node index"),
        ({"cluster": {"slow_nodes": {"2": 0.0}}}, r"cluster.slow_nodes.2=0.0; expected a positive"),
        ({"iterations": 0}, r"iterations=0; expected an integer >= 1"),
        ({"iterations": None}, r"iterations=None; expected a positive integer, or a time_limit"),
        ({"seed": -1}, r"seed=-1; expected an integer >= 0"),
    ],
)
def test_scenario_error_names_field_value_and_allowed(data, match):
    with pytest.raises(ScenarioError, match=match):
        from_dict(data)


def test_scenario_time_limit_alone_means_no_iteration_count():
    s = from_dict({"time_limit": 5.0})
    assert s.iterations is None and s.time_limit == 5.0


def test_scenario_toml_that_does_not_parse():
    with pytest.raises(ScenarioError, match="does not parse as TOML"):
        loads("[cluster\nnodes = 3")


def test_scenario_load_missing_file_lists_presets(tmp_path):
    with pytest.raises(ScenarioError, match=r"no such file; expected a .toml path or a preset from \['default'"):
        load(tmp_path / "nope.toml")


def test_scenario_load_reads_toml_file(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('seed = 3\n[cluster]\nnodes = 4\nslow_nodes = { "1" = 2.5 }\n')
    s = load(path)
    assert (s.seed, s.cluster.nodes, s.cluster.slow_nodes) == (3, 4, {1: 2.5})


def test_apply_overrides_parses_toml_literals_and_bare_strings():
    s = apply_overrides(
        Scenario(),
        ["cluster.nodes=32", "algorithm.name=allreduce", 'task.payload="resnet50"', "cluster.slow_nodes.3=4.0"],
    )
    assert (s.cluster.nodes, s.algorithm.name, s.task.payload, s.cluster.slow_nodes) == (32, "allreduce", "resnet50", {3: 4.0})


def test_apply_overrides_time_limit_replaces_iterations():
    s = apply_overrides(Scenario(), ["time_limit=2.5"])
    assert (s.iterations, s.time_limit) == (None, 2.5)


def test_apply_overrides_rejects_malformed_and_unknown():
    with pytest.raises(ScenarioError, match="expected key=value"):
        apply_overrides(Scenario(), ["cluster.nodes"])
    with pytest.raises(ScenarioError, match="cluster.gpus: unknown key"):
        apply_overrides(Scenario(), ["cluster.gpus=8"])
    with pytest.raises(ScenarioError, match="seed is a value, not a table"):
        apply_overrides(Scenario(), ["seed.x=1"])


def test_apply_overrides_leaves_input_untouched():
    s = Scenario()
    apply_overrides(s, ["cluster.nodes=3"])
    assert s.cluster.nodes == 8


def _resolved(scenario, sets):
    return resolve(apply_overrides(scenario, sets))


def test_the_default_graph_follows_the_algorithm_and_a_written_graph_is_kept():
    assert _resolved(Scenario(), ["algorithm.name=dpsgd"]).algorithm.graph == "dynamic-bipartite-exponential"
    assert _resolved(Scenario(), ["algorithm.name=allreduce"]).algorithm.graph is None
    chosen = _resolved(Scenario(), ["algorithm.name=dpsgd", "algorithm.graph=ring"])
    assert chosen.algorithm.graph == "ring"
    kept = _resolved(from_dict({"algorithm": {"graph": "complete"}}), ["algorithm.name=osgp"])
    assert kept.algorithm.graph == "complete"
    assert Scenario().algorithm.graph is None  # what the user wrote: nothing


def test_a_graph_for_an_algorithm_without_one_is_refused():
    with pytest.raises(ScenarioError, match=r"^algorithm.graph='ring': not a parameter of algorithm.name='allreduce'; "
                       r"its parameters are \['backward_fraction', .*; graph is a parameter of \['adpsgd', 'dpsgd', 'osgp', 'sgp'\]$"):
        apply_overrides(Scenario(), ["algorithm.name=allreduce", "algorithm.graph=ring"])
    with pytest.raises(ScenarioError, match=r"algorithm.graph='complete': not a parameter of algorithm.name='allreduce'"):
        apply_overrides(from_dict({"algorithm": {"graph": "complete"}}), ["algorithm.name=allreduce"])


def test_the_evaluation_interval_is_derived_at_resolution_and_a_written_one_is_kept():
    assert resolve(Scenario()).eval_every == 10
    assert _resolved(Scenario(), ["iterations=1000"]).eval_every == 50
    assert _resolved(Scenario(), ["timing_only=true"]).eval_every == 0
    assert _resolved(Scenario(), ["eval_every=3", "iterations=1000"]).eval_every == 3
    assert _resolved(from_dict({"eval_every": 7}), ["iterations=1000"]).eval_every == 7
    assert _resolved(from_dict({"eval_every": 10}), ["iterations=1000"]).eval_every == 10  # equal to the derived one, still kept


def test_a_result_holds_the_resolved_scenario():
    result = run({"iterations": 4, "cluster": {"nodes": 2}})
    assert result.scenario == resolve(result.scenario)
    assert (result.scenario.eval_every, result.scenario.algorithm.graph) == (1, "dynamic-directed-exponential")
