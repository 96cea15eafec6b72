"""The words that describe shipped presets and topologies agree with what the files hold.

A preset's description is the first comment line of its file (``simsgp
scenarios`` prints it). One described as "The default scenario with ..." must
be the default plus exactly the keys it names; the figures a description or a
topology file's header states (nodes, factors, Gb/s, milliseconds) are read
back from the scenario and from the network as built.
"""

import math
import re
from importlib import resources

import pytest

from simsgp import paper
from simsgp.scenario import load, parse_toml, presets, to_dict
from simsgp.sim.topology import host_figures, load_topology, topology_path
from simsgp.tasks import payload_bytes

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def _flat(data, prefix=""):
    """Dotted keys of a nested mapping; ``slow_nodes`` and lists count as one value."""
    out = {}
    for key, value in data.items():
        if isinstance(value, dict) and value and key != "slow_nodes":
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _changed(name):
    """Dotted keys where preset ``name`` differs from the default scenario."""
    default, preset = _flat(to_dict(load("default"))), _flat(to_dict(load(name)))
    return {key for key in default.keys() | preset.keys() if default.get(key, "absent") != preset.get(key, "absent")}


def _match(pattern, name):
    found = re.fullmatch(pattern, presets()[name])
    assert found, f"{name}: the description {presets()[name]!r} no longer reads as this test expects; update both"
    return found


def _gbps(bytes_per_second):
    return bytes_per_second * 8 / 1e9


def _e(number):
    """A number as the topology files write it: ``1.25e9``."""
    return re.sub(r"e\+0?", "e", f"{number:g}")


def _site(net, host):
    """The site whose WAN downlink messages into ``host`` from other sites cross (None on one site)."""
    names = {net.link_names[link] for other in range(net.n_hosts) if other != host for link in net.route(other, host)}
    sites = {n.removesuffix(".wan_down") for n in names if n.endswith(".wan_down")}
    assert len(sites) <= 1
    return next(iter(sites), None)


# --- presets ---------------------------------------------------------------------

DEFAULT_PLUS = {
    "slow-node": {"cluster.slow_nodes"},
    "straggler-windows": {"cluster.compute", "cluster.transient", "cluster.stragglers", "cluster.failures"},
}
"""Presets that are the default scenario plus these tables or keys, and nothing else."""


def test_presets_described_as_the_default_are_the_default_plus_what_they_name():
    described = {name for name, text in presets().items() if text.startswith("The default scenario")}
    assert described == set(DEFAULT_PLUS)
    for name, tables in DEFAULT_PLUS.items():
        touched = {next((t for t in tables if key == t or key.startswith(t + ".")), key) for key in _changed(name)}
        assert touched == tables, name


def check_default():
    found = _match(r"(\d+) nodes on a (\d+) Gb/s star, (\w+), digits with ResNet-(\d+)-sized \((\d+) MB\) messages: "
                   r"a push costs about as much as compute", "default")
    s = load("default")
    assert s.cluster.nodes == int(found[1])
    assert _gbps(host_figures(s.network.topology)["bandwidth"]) == float(found[2])
    assert s.network.topology.startswith("star") and s.algorithm.name == found[3].lower()
    assert "digits" in s.task.name and s.task.payload == f"resnet{found[4]}"
    message = payload_bytes(s.task.payload, 0)
    assert round(message / 1e6) == int(found[5])
    push = message / host_figures(s.network.topology)["bandwidth"]
    assert s.cluster.compute.model == "constant" and 2 / 3 <= push / s.cluster.compute.mean <= 3 / 2  # about as much


def check_slow_node():
    found = _match(r"The default scenario with node (\d+) (\w+) times slower than the others", "slow-node")
    assert load("slow-node").cluster.slow_nodes == {int(found[1]): float(NUMBER_WORDS[found[2]])}


def check_straggler_windows():
    found = _match(
        r"The default scenario with jittery compute, (\d+) % of iterations ([\d.]+)-([\d.]+)x slower, "
        r"(\w+) straggle windows \(([\d.]+)x, ([\d.]+)x\) and a ([\d.]+) s outage",
        "straggler-windows",
    )
    cluster = load("straggler-windows").cluster
    assert cluster.compute.model != "constant" and cluster.compute.cv > 0
    assert cluster.transient.probability * 100 == pytest.approx(float(found[1]))
    assert (cluster.transient.low, cluster.transient.high) == (float(found[2]), float(found[3]))
    assert len(cluster.stragglers) == NUMBER_WORDS[found[4]]
    assert [w.factor for w in cluster.stragglers] == [float(found[5]), float(found[6])]
    assert [f.end - f.start for f in cluster.failures] == [float(found[7])]


def check_wan():
    found = _match(
        r"(\d+) nodes in (\w+) regions joined by ([\d.]+) Gb/s WAN links with (\d+)-(\d+) ms one-way latency, "
        r"ResNet-(\d+)-sized messages",
        "wan",
    )
    s = load("wan")
    net = load_topology(s.network.topology, s.cluster.nodes)
    sites = [_site(net, h) for h in range(net.n_hosts)]
    assert s.cluster.nodes == int(found[1]) and len(set(sites)) == NUMBER_WORDS[found[2]]
    wan = [c for c, n in zip(net.capacity, net.link_names) if ".wan_" in n]
    assert wan and {_gbps(c) for c in wan} == {float(found[3])}
    between = [net.latency(a, b) * 1e3 for a in range(net.n_hosts) for b in range(net.n_hosts) if sites[a] != sites[b]]
    assert (round(min(between)), round(max(between))) == (int(found[4]), int(found[5]))
    assert s.task.payload == f"resnet{found[6]}"


def check_paper_resnet50_10gbe():
    found = _match(
        r"ResNet-(\d+) messages on (\d+) GbE, nodes of (\d+) GPUs, TCP backend, as the SGP paper's timing table was run "
        r"\(Assran et al\., ICML 2019\)",
        "paper-resnet50-10gbe",
    )
    s = load("paper-resnet50-10gbe")
    assert s.task.payload == f"resnet{found[1]}"
    net = load_topology(s.network.topology, s.cluster.nodes)
    assert {_gbps(c) for c in net.capacity} == {float(found[2])} and "Ethernet" in net_description(s.network.topology)
    assert f"nodes of {found[3]} GPUs" in paper.__doc__
    assert s.cluster.nodes in paper.PAPER_SECONDS["sgp"]
    header = (resources.files("simsgp") / "scenarios" / "paper-resnet50-10gbe.toml").read_text(encoding="utf-8")
    words = header.replace("\n# ", " ").replace("\n#   ", " ")
    adpsgd = paper.PAPER_SECONDS["adpsgd"]
    assert f"Compute: {s.cluster.compute.mean:g} s per iteration, the paper's AD-PSGD" in words
    assert round(adpsgd[min(adpsgd)], 2) == s.cluster.compute.mean
    assert f"reduce_rate = {s.network.reduce_rate / 1e9:g} GB/s" in words
    assert s.network.eager_limit is not None and s.network.eager_limit < payload_bytes(s.task.payload, 0)
    assert "rendezvous above eager_limit" in words
    assert 'algorithm.collective = "recursive-doubling"' in words
    assert paper.PAPER_SETS["allreduce"] == ("algorithm.collective=recursive-doubling",)
    epoch = s.cluster.epoch
    assert f"pauses {epoch.pause:g} s at the start of each epoch of {epoch.samples:,} images" in words
    assert f"{epoch.batch} images per node" in words
    assert "Links run at line rate" in header and s.network.efficiency is None
    assert host_figures(s.network.topology)["efficiency"] == 1.0


CHECKS = {
    "default": check_default,
    "slow-node": check_slow_node,
    "straggler-windows": check_straggler_windows,
    "wan": check_wan,
    "paper-resnet50-10gbe": check_paper_resnet50_10gbe,
}


def test_every_preset_description_is_checked():
    assert sorted(CHECKS) == sorted(presets())


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_preset_description_matches_its_file(name):
    CHECKS[name]()


# --- topology files -----------------------------------------------------------------


def net_spec(name):
    path = topology_path(name)
    return parse_toml(path.read_text(encoding="utf-8"), str(path))


def net_description(name):
    return net_spec(name)["description"]


def net_header(name):
    lines = topology_path(name).read_text(encoding="utf-8").splitlines()
    return "\n".join(line.lstrip("# ") for line in lines if line.startswith("#"))


TOPOLOGIES = ["racks-oversubscribed", "star-100g-ib", "star-10gbe", "wan-geo"]


@pytest.mark.parametrize("name", TOPOLOGIES)
def test_every_rate_a_topology_names_is_one_of_its_links(name):
    net = load_topology(name, 16)
    rates = {_gbps(float(c)) for c in net.capacity}
    named = {float(g) for g in re.findall(r"(\d+(?:\.\d+)?) Gb/s", net_description(name))}
    assert named and named <= rates
    for gbps, per_second in re.findall(r"(\d+) Gb/s = ([\d.]+e\d+) bytes/s", net_header(name)):
        assert float(gbps) * 1e9 / 8 == float(per_second) == net_spec(name)["bandwidth"]


@pytest.mark.parametrize(
    "name, phrase",
    [("star-10gbe", "about 20 us host to host"), ("star-100g-ib", "Latency 2 us per message"),
     ("racks-oversubscribed", "Latency 20 us host to host"), ("wan-geo", "20 us host-to-host latency")],
)
def test_the_latency_a_header_states_is_the_files(name, phrase):
    assert phrase in net_header(name).replace("\n", " ")
    microseconds = float(re.search(r"(\d+) us", phrase)[1])
    assert net_spec(name)["latency"] == pytest.approx(microseconds * 1e-6)


def test_racks_header_figures():
    spec, header = net_spec("racks-oversubscribed"), net_header("racks-oversubscribed").replace("\n", " ")
    net = load_topology("racks-oversubscribed", 16)
    assert f"Racks of {spec['rack_size']} hosts" in header and f"racks of {spec['rack_size']} " in net_description("racks-oversubscribed")
    ratio = f"{spec['oversubscription']:g}:1"
    assert f"{ratio} oversubscription" in header and ratio in net_description("racks-oversubscribed")
    uplink = spec["rack_size"] * spec["bandwidth"] / spec["oversubscription"]
    assert f"{spec['rack_size']} * {_e(spec['bandwidth'])} / {spec['oversubscription']:g} = {_e(uplink)}" in header
    assert {float(c) for c, n in zip(net.capacity, net.link_names) if n.startswith("rack")} == {uplink}
    assert f"core_latency {spec['core_latency'] * 1e6:g} us" in header
    frame = 1500 * 8 / 10e9  # "1.2 us of store-and-forward serialisation of a 1500-byte frame at 10 Gb/s"
    assert f"{frame * 1e6:g} us of store-and-forward" in header
    assert 2 * (1e-6 + frame) == pytest.approx(spec["core_latency"], rel=0.15)  # two hops of about 1 us + 1.2 us
    assert net.latency(0, 15) == pytest.approx(spec["latency"] + spec["core_latency"])


def test_wan_geo_header_figures():
    spec, header = net_spec("wan-geo"), net_header("wan-geo")
    assert f"({', '.join(spec['site_names'])})" in net_description("wan-geo")
    assert f"{_gbps(spec['wan_bandwidth']):g} Gb/s WAN uplink and downlink ({_e(spec['wan_bandwidth'])} bytes/s" in header.replace("\n", " ")
    rtts = re.findall(r"([\w-]+)\s+-\s+([\w-]+)\s+~(\d+) ms RTT", header)
    assert len(rtts) == math.comb(len(spec["site_names"]), 2)
    index = {name: k for k, name in enumerate(spec["site_names"])}
    for a, b, rtt in rtts:
        assert 2 * spec["site_latency"][index[a]][index[b]] * 1e3 == pytest.approx(float(rtt)), (a, b)
    assert 5600 * 5e-6 == pytest.approx(0.028)  # "about 5,600 km, is at least 28 ms one way" at 5 us per km
    for n in (4, 10, 16):  # "the first n mod 4 sites hold ceil(n / 4) and the rest floor(n / 4), host 0 at us-east"
        net = load_topology("wan-geo", n)
        sites = [_site(net, h) for h in range(n)]
        sizes = [sites.count(name) for name in spec["site_names"]]
        assert sizes == [math.ceil(n / 4)] * (n % 4) + [n // 4] * (4 - n % 4) and sites[0] == "us-east"
