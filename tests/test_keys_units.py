"""The key reference, quantities with units and the WAN keys of a sites topology.

The reference is generated from the schema; these tests check it against
what a scenario really holds (its resolved dict) and really accepts (every
key set to its listed default changes nothing), so a key that is missing,
misnamed or listed with a wrong default fails here.
"""

import math
import re
from importlib import resources

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st

import simsgp
from simsgp import algorithms, tasks
from simsgp.cli import main
from simsgp.errors import ScenarioError
from simsgp.scenario import apply_overrides, from_dict, load, loads, resolve, to_dict
from simsgp.scenario.display import format_scenario
from simsgp.scenario.keys import format_keys, keys, select
from simsgp.scenario.units import format_quantity, parse_quantity

REFERENCE = keys()
NAMES = {key.name for key in REFERENCE}


def _leaves(data, prefix=""):
    for key, value in data.items():
        if isinstance(value, dict) and not key.endswith("slow_nodes"):
            yield from _leaves(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)) and value and isinstance(value[0], dict):
            for entry in value:
                yield from _leaves(entry, f"{prefix}{key}[].")
        elif key == "slow_nodes":
            yield f"{prefix}{key}.<node>"
        else:
            yield f"{prefix}{key}"


def _full(algorithm="sgp", task="logistic-digits"):
    """A resolved scenario with every kind of entry present (a slow node, a straggler, a failure)."""
    return resolve(from_dict({
        "algorithm": {"name": algorithm}, "task": {"name": task},
        "cluster": {"slow_nodes": {"3": 2.0}, "stragglers": [{"node": 1, "factor": 2.0, "start": 0.0, "end": 1.0}],
                    "failures": [{"node": 2, "start": 1.0, "end": 2.0}]},
    }))


@pytest.mark.parametrize("algorithm", algorithms.names())
def test_the_reference_lists_every_key_a_resolved_scenario_holds(algorithm):
    for task in tasks.TASKS.names():
        scenario = to_dict(_full(algorithm, task))
        missing = sorted(set(_leaves(scenario)) - NAMES)
        assert not missing, missing
        for name in scenario["algorithm"]:
            assert any(key.name == f"algorithm.{name}" and (not key.members or algorithm in key.members)
                       for key in REFERENCE), name


def test_every_listed_key_is_a_key_of_some_scenario():
    # the reverse: nothing listed that no scenario has
    held = set()
    for algorithm in algorithms.names():
        for task in tasks.TASKS.names():
            held |= set(_leaves(to_dict(_full(algorithm, task))))
    assert NAMES - held == set()


def test_every_built_in_key_has_a_meaning_and_members_exist():
    assert all(key.help for key in REFERENCE), [key.name for key in REFERENCE if not key.help]
    for key in REFERENCE:
        family = algorithms.names() if key.name.startswith("algorithm.") else tasks.TASKS.names()
        assert set(key.members) <= set(family)


@pytest.mark.parametrize("key", [k for k in REFERENCE if k.default not in ("unset", "required")], ids=lambda k: k.name)
def test_setting_a_key_to_its_listed_default_changes_nothing(key):
    written = {}
    if key.members:
        written = {key.name.split(".")[0]: {"name": key.members[0]}}
    base = from_dict(written)
    assert resolve(apply_overrides(base, [f"{key.name}={key.default}"])) == resolve(base)
    listed = tomllib.loads(f"v = {key.default}")["v"]
    value = to_dict(resolve(base))
    for part in key.name.split("."):
        value = value[part]
    if isinstance(listed, float):
        assert listed == pytest.approx(value, rel=1e-5)
    else:
        assert listed == value


def test_units_are_listed_for_the_quantities():
    units = {key.name: key.unit for key in REFERENCE}
    assert units["network.bandwidth"] == units["network.wan_bandwidth"] == "B/s"
    assert units["network.latency"] == units["network.site_latency"] == units["time_limit"] == "s"
    assert units["task.payload"] == units["algorithm.bucket_bytes"] == "B"
    assert units["cluster.nodes"] is None


def test_simsgp_keys_prints_every_key_and_a_section(capsys):
    assert main(["keys"]) == 0
    out = capsys.readouterr().out
    printed = {line.split()[0] for line in out.splitlines()[1:] if line and not line.startswith("Units")}
    assert printed == NAMES
    assert main(["keys", "cluster.compute"]) == 0
    lines = capsys.readouterr().out.splitlines()[1:-2]
    assert [line.split()[0] for line in lines] == ["cluster.compute.model", "cluster.compute.mean",
                                                    "cluster.compute.cv", "cluster.compute.path"]
    assert main(["keys", "clusterz"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("simsgp: error: keys 'clusterz': no such key or section") and err.count("\n") == 1


def test_the_tau_row_names_osgp_and_its_default():
    (tau,) = select(REFERENCE, "algorithm.tau")
    line = format_keys([tau]).splitlines()[1]
    assert re.match(r"algorithm\.tau\s+integer\s+0\s+\[osgp\] iterations a node computes", line)


def test_run_help_points_to_keys_and_version_prints(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "simsgp keys" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out == f"simsgp {simsgp.__version__}\n"


def test_default_scenario_comments_are_real_keys():
    text = (resources.files("simsgp") / "scenarios" / "default.toml").read_text()
    commented = re.findall(r"^# ?([a-z_]+) = (.+?)(?:  #.*)?$", text, flags=re.MULTILINE)
    assert len(commented) >= 5
    table, tables = "", re.findall(r"^\[(\w+)\]", text, flags=re.MULTILINE)
    for line in text.splitlines():
        if line.startswith("[") and line.strip("[]") in tables:
            table = line.strip("[]") + "."
        match = re.match(r"^# ?([a-z_]+) = (.+?)(?:  #.*)?$", line)
        if match:
            key = table + match.group(1)
            assert key in NAMES or any(name.startswith((f"{key}.", f"{key}[")) for name in NAMES), key
            sites = ['network.topology="wan-geo"'] if key in ("network.site_latency", "network.wan_bandwidth") else []
            apply_overrides(load("default"), [*sites, f"{key}={match.group(2)}"])  # raises if it does not apply


# --- quantities -----------------------------------------------------------------

@pytest.mark.parametrize(("text", "unit", "si"), [
    ("10Gbps", "B/s", 1.25e9), ("10 Gb/s", "B/s", 1.25e9), ("1.25GB/s", "B/s", 1.25e9), ("100Mbps", "B/s", 1.25e7),
    ("1GiB/s", "B/s", 2**30), ("8bit/s", "B/s", 1.0),
    ("50ms", "s", 0.05), ("20us", "s", 2e-5), ("20µs", "s", 2e-5), ("100ns", "s", 1e-7), ("2min", "s", 120.0),
    ("1h", "s", 3600.0), ("1.5s", "s", 1.5),
    ("100MB", "B", 1e8), ("1MiB", "B", 2**20), ("25 MiB", "B", 25 * 2**20), ("2GB", "B", 2e9), ("8Mb", "B", 1e6),
])
def test_quantities_are_their_si_values(text, unit, si):
    assert parse_quantity(text, unit, "x") == pytest.approx(si, rel=1e-12)


@pytest.mark.parametrize(("text", "unit"), [("10 parsecs", "s"), ("50 ms", "B/s"), ("1e400s", "s"), ("fast", "B")])
def test_a_bad_quantity_is_one_line_naming_the_field(text, unit):
    with pytest.raises(ScenarioError, match=r"^x=") as error:
        parse_quantity(text, unit, "x")
    assert "\n" not in str(error.value)


@given(st.floats(1e-9, 1e13), st.sampled_from(["s", "B", "B/s"]))
def test_formatted_quantities_read_back(value, unit):
    text = format_quantity(value, unit).replace(" ", "")
    assert parse_quantity(text, unit, "x") == pytest.approx(value, rel=1e-3)


@pytest.mark.parametrize(("key", "text", "si"), [
    ("network.bandwidth", "10Gbps", 1.25e9), ("network.latency", "50ms", 0.05), ("task.payload", "100MB", 1e8),
    ("time_limit", "2min", 120.0), ("cluster.compute.mean", "120ms", 0.12), ("algorithm.bucket_bytes", "25MiB", 25 * 2**20),
])
def test_a_quantity_gives_the_same_scenario_as_its_si_number(key, text, si):
    base = load("default") if key != "algorithm.bucket_bytes" else from_dict({"algorithm": {"name": "allreduce"}})
    assert apply_overrides(base, [f'{key}="{text}"']) == apply_overrides(base, [f"{key}={si!r}"])
    assert apply_overrides(base, [f"{key}={text}"]) == apply_overrides(base, [f"{key}={si!r}"])  # unquoted too


def test_a_model_name_payload_stays_a_name_and_a_bad_bandwidth_says_units():
    assert from_dict({"task": {"payload": "resnet50"}}).task.payload == "resnet50"
    with pytest.raises(ScenarioError, match=r"^network\.bandwidth='fast'; expected bytes per second: .*10Gbps"):
        from_dict({"network": {"bandwidth": "fast"}})


def test_the_resolved_scenario_shows_si_values_and_units_and_reads_back():
    scenario = resolve(from_dict({"network": {"bandwidth": "10Gbps", "latency": "50ms"}, "task": {"payload": "100MB"}}))
    text = format_scenario(scenario)
    assert "bandwidth = 1250000000.0  # 10 Gb/s" in text and "latency = 0.05  # 50 ms" in text
    assert "payload = 100000000.0  # 100 MB" in text
    assert loads(text) == scenario


def test_simsgp_show_prints_the_resolved_scenario(capsys):
    assert main(["show", "wan", "--set", "network.site_latency=50ms"]) == 0
    out = capsys.readouterr().out
    assert "site_latency = 0.05  # 50 ms" in out and "wan_bandwidth = 125000000.0  # 1 Gb/s" in out
    assert loads(out) == resolve(apply_overrides(load("wan"), ["network.site_latency=0.05"]))


# --- WAN keys of a sites topology -----------------------------------------------

@pytest.mark.parametrize(("network", "rate"), [
    ({"site_latency": "50ms"}, 1.25e8),
    ({"site_latency": 0.05, "wan_bandwidth": "2Gbps"}, 2.5e8),
    ({"site_latency": [[0.0, 0.05, 0.1, 0.1], [0.05, 0.0, 0.1, 0.1], [0.1, 0.1, 0.0, 0.1], [0.1, 0.1, 0.1, 0.0]],
      "wan_bandwidth": [2.5e8, 2.5e8, 1e8, 1e8]}, 2.5e8),
])
def test_site_latency_and_wan_bandwidth_set_the_closed_form_of_a_push(network, rate):
    # 2 nodes on wan-geo: node 0 at us-east, node 1 at us-west; each pushes P bytes to the other every iteration,
    # over its NIC (1.25e9 B/s) and the two sites' WAN links, in 0.1 s compute + 20 us + site latency + P / rate
    payload = 1e7
    result = simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "task": {"payload": payload},
                         "network": {"topology": "wan-geo", **network}})
    assert result.summary["sim_time_per_iteration"] == pytest.approx(0.1 + 20e-6 + 0.05 + payload / rate, rel=1e-9)


def test_without_wan_keys_a_sites_topology_keeps_its_file_figures():
    network = resolve(from_dict({"network": {"topology": "wan-geo"}})).network
    assert network.wan_bandwidth == 1.25e8 and network.site_latency[0][1] == 0.0435
    slowest = simsgp.run({"iterations": 3, "cluster": {"nodes": 2}, "task": {"payload": 1e7},
                          "network": {"topology": "wan-geo"}}).summary["sim_time_per_iteration"]
    assert slowest == pytest.approx(0.1 + 20e-6 + 0.0435 + 1e7 / 1.25e8, rel=1e-9)


@pytest.mark.parametrize(("network", "message"), [
    ({"site_latency": 0.05}, r"^network\.site_latency=0\.05; expected no site_latency: topology 'star-10gbe' is of kind 'star'"),
    ({"topology": "wan-geo", "site_latency": [[0.0, 0.05], [0.05, 0.0]]},
     r"^network\.site_latency=.*; expected one number or a 4 x 4 matrix"),
    ({"topology": "wan-geo", "site_latency": -1.0}, r"^network\.site_latency=-1\.0; expected a finite number of seconds"),
    ({"topology": "wan-geo", "wan_bandwidth": [1e8, 1e8]}, r"^network\.wan_bandwidth=.*; expected one number .* or 4"),
    ({"topology": "wan-geo", "wan_bandwidth": 0.0}, r"^network\.wan_bandwidth=0\.0 for site 0; expected a positive"),
])
def test_bad_wan_keys_are_one_line_errors(network, message):
    with pytest.raises(ScenarioError, match=message) as error:
        from_dict({"network": network})
    assert "\n" not in str(error.value)


def test_time_limit_alone_bounds_a_run_of_the_default_preset():
    scenario = apply_overrides(load("default"), ["time_limit=2s"])
    assert scenario.iterations is None and scenario.time_limit == 2.0
    result = simsgp.run(scenario)
    assert result.summary["sim_time"] <= 2.0 and result.summary["iterations"] == math.floor(2.0 / 0.18180250240000001)


@pytest.mark.parametrize(("compute", "message"), [
    ({"cv": 0.5}, r"^cluster\.compute\.cv=0\.5; expected 0 with cluster\.compute\.model='constant'; set model = 'lognormal'"),
    ({"model": "constant", "path": "x.csv"}, r"^cluster\.compute\.path='x\.csv'; expected no path with cluster\.compute\.model="),
])
def test_a_compute_key_the_model_would_ignore_is_an_error(compute, message):
    with pytest.raises(ScenarioError, match=message):
        from_dict({"cluster": {"compute": compute}})
