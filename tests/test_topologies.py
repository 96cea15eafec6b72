"""Racks and sites topologies: exact alpha-beta times, shipped files, file errors."""

import numpy as np
import pytest

from simsgp.errors import TopologyError
from simsgp.sim.flows import Network
from simsgp.sim.topology import available_topologies, load_topology, racks, servers, sites

B = 1.25e9  # bytes/s, 10 Gb/s host NICs
ALPHA = 20e-6
CORE = 5e-6
M = 102.2e6  # ResNet-50 in fp32
WAN = 1.25e8  # bytes/s, 1 Gb/s
SITE_LATENCY = [[0.0, 0.04, 0.07], [0.04, 0.0, 0.1], [0.07, 0.1, 0.0]]

SHIPPED = ["racks-oversubscribed", "servers-10gbe-8gpu", "star-100g-ib", "star-10gbe", "wan-geo"]


def _deliveries(env, topology, sends):
    """Start ``sends`` [(src, dst, nbytes)] at t = 0, run, return delivery times in send order."""
    net = Network(env, topology)
    times = [None] * len(sends)

    def sender(k, src, dst, nbytes):
        yield net.send(src, dst, nbytes)
        times[k] = env.now

    for k, send in enumerate(sends):
        env.process(sender(k, *send))
    env.run()
    return times


def _racks_of_8(n_hosts=16):
    return racks(n_hosts, B, ALPHA, rack_size=8, oversubscription=4.0, core_latency=CORE)


def _three_sites(n_hosts=6):
    return sites(n_hosts, B, ALPHA, site_latency=SITE_LATENCY, wan_bandwidth=WAN)


def test_racks_intra_rack_push_takes_alpha_plus_m_over_b(env):
    assert _deliveries(env, _racks_of_8(), [(0, 7, M)]) == [pytest.approx(ALPHA + M / B, rel=1e-12)]


def test_racks_single_cross_rack_flow_limited_by_host_nic(env):
    """The ToR uplink (2B) is wider than one NIC, so one flow still runs at B."""
    assert _deliveries(env, _racks_of_8(), [(3, 12, M)]) == [pytest.approx(ALPHA + CORE + M / B, rel=1e-12)]


def test_racks_full_rack_shares_oversubscribed_uplink(env):
    """8 hosts of rack 0 to 8 distinct hosts of rack 1 share the 8B/4 = 2B uplink."""
    times = _deliveries(env, _racks_of_8(), [(h, 8 + h, M) for h in range(8)])
    np.testing.assert_allclose(times, [ALPHA + CORE + 4 * M / B] * 8, rtol=1e-12)


def test_racks_uplink_below_nic_limits_single_flow(env):
    """With rack_size 2 at 4:1 the ToR uplink is B/2, below one NIC."""
    topo = racks(4, B, ALPHA, rack_size=2, oversubscription=4.0)
    assert _deliveries(env, topo, [(0, 2, M)]) == [pytest.approx(ALPHA + 2 * M / B, rel=1e-12)]


def test_racks_layout_and_partial_last_rack():
    topo = racks(10, B, ALPHA, rack_size=4, oversubscription=2.0, core_latency=CORE)
    assert topo.n_hosts == 10
    assert topo.link_names[20:] == ("rack0.up", "rack1.up", "rack2.up", "rack0.down", "rack1.down", "rack2.down")
    assert topo.capacity.tolist() == [B] * 20 + [2 * B] * 6  # 4 B / 2, the small last rack too
    assert [topo.link_names[link] for link in topo.route(9, 1)] == ["h9.up", "rack2.up", "rack0.down", "h1.down"]
    assert topo.route(8, 9) == (8, 19)
    assert (topo.latency(8, 9), topo.latency(9, 0)) == (ALPHA, ALPHA + CORE)


def test_racks_efficiency_scales_every_link():
    topo = racks(4, B, ALPHA, rack_size=2, oversubscription=1.0, efficiency=0.5)
    assert topo.capacity.tolist() == [B / 2] * 8 + [B] * 4


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"rack_size": 0, "oversubscription": 4.0}, "rack_size"),
        ({"rack_size": 2.5, "oversubscription": 4.0}, "rack_size"),
        ({"rack_size": 8, "oversubscription": 0.5}, "oversubscription"),
        ({"rack_size": 8, "oversubscription": 4.0, "core_latency": -1e-6}, "core_latency"),
    ],
)
def test_racks_rejects_bad_figures(options, key):
    with pytest.raises(TopologyError, match=key):
        racks(16, B, ALPHA, **options)


def test_racks_rejects_per_host_bandwidth():
    with pytest.raises(TopologyError, match="bandwidth"):
        racks(2, [B, B], ALPHA, rack_size=1, oversubscription=1.0)


def test_sites_places_hosts_in_even_blocks():
    topo = sites(7, B, ALPHA, site_latency=SITE_LATENCY, wan_bandwidth=WAN)
    # divmod(7, 3) = (2, 1): site 0 holds hosts 0-2, site 1 hosts 3-4, site 2 hosts 5-6
    site_of = [topo.link_names[topo.route(h, 0 if h >= 3 else 6)[1]] for h in range(7)]
    assert site_of == ["site0.wan_up"] * 3 + ["site1.wan_up"] * 2 + ["site2.wan_up"] * 2


def test_sites_cross_site_push_pays_site_latency_and_wan(env):
    """Site 0 to site 2 and site 1 to site 0 at once: disjoint WAN links."""
    times = _deliveries(env, _three_sites(), [(0, 5, M), (2, 0, M)])
    assert times == [
        pytest.approx(ALPHA + 0.07 + M / WAN, rel=1e-12),
        pytest.approx(ALPHA + 0.04 + M / WAN, rel=1e-12),
    ]


def test_sites_intra_site_push_uses_lan(env):
    assert _deliveries(env, _three_sites(), [(0, 1, M)]) == [pytest.approx(ALPHA + M / B, rel=1e-12)]


def test_sites_two_hosts_share_wan_uplink(env):
    """Hosts 0 and 1 (site 0) to hosts 2 and 3 (site 1) share site 0's WAN uplink."""
    times = _deliveries(env, _three_sites(), [(0, 2, M), (1, 3, M)])
    np.testing.assert_allclose(times, [ALPHA + 0.04 + 2 * M / WAN] * 2, rtol=1e-12)


def test_sites_per_site_wan_bandwidth_and_names():
    topo = sites(
        3, B, ALPHA, site_latency=SITE_LATENCY, wan_bandwidth=[WAN, 2 * WAN, 3 * WAN], site_names=["a", "b", "c"]
    )
    assert topo.link_names[6:] == ("a.wan_up", "b.wan_up", "c.wan_up", "a.wan_down", "b.wan_down", "c.wan_down")
    assert topo.capacity[6:].tolist() == [WAN, 2 * WAN, 3 * WAN] * 2


@pytest.mark.parametrize(
    ("matrix", "match"),
    [
        ([[0.0, 0.04]], "square"),
        ([[0.0, 0.04], [0.04]], "square"),
        ([[0.0, -0.04], [-0.04, 0.0]], r"site_latency\[0\]\[1\]=-0.04"),
        ([[0.01, 0.04], [0.04, 0.0]], r"site_latency\[0\]\[0\]=0.01; expected 0"),
        ([[0.0, 0.04], [0.05, 0.0]], r"site_latency\[0\]\[1\]=0.04 but site_latency\[1\]\[0\]=0.05"),
    ],
)
def test_sites_rejects_bad_latency_matrix(matrix, match):
    with pytest.raises(TopologyError, match=match):
        sites(4, B, ALPHA, site_latency=matrix, wan_bandwidth=WAN)


@pytest.mark.parametrize(
    ("options", "key"),
    [
        ({"wan_bandwidth": 0.0}, r"wan_bandwidth=0.0 for site 0"),
        ({"wan_bandwidth": [WAN, WAN]}, "wan_bandwidth"),
        ({"wan_bandwidth": WAN, "site_names": ["a", "a", "b"]}, "site_names"),
        ({"wan_bandwidth": WAN, "site_names": ["a", "b"]}, "site_names"),
    ],
)
def test_sites_rejects_bad_wan_figures(options, key):
    with pytest.raises(TopologyError, match=key):
        sites(4, B, ALPHA, site_latency=SITE_LATENCY, **options)


def test_available_topologies_lists_shipped_files():
    assert available_topologies() == SHIPPED


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("n_hosts", [1, 4, 8, 13, 32])
def test_shipped_topology_routes_use_valid_links(name, n_hosts):
    topo = load_topology(name, n_hosts)
    n_links = len(topo.capacity)
    assert topo.n_hosts == n_hosts and len(topo.link_names) == n_links
    assert np.all(topo.capacity > 0)
    for src in range(n_hosts):
        for dst in range(n_hosts):
            if src != dst:
                links = topo.route(src, dst)
                assert links[0] == src and links[-1] == n_hosts + dst
                assert len(set(links)) == len(links) and all(0 <= link < n_links for link in links)
                assert topo.latency(src, dst) == topo.latency(dst, src) >= 0


def test_star_100g_ib_figures():
    topo = load_topology("star-100g-ib", 2)
    assert topo.capacity.tolist() == [12.5e9] * 4
    assert topo.latency(0, 1) == 2e-6


def test_servers_file_figures(env):
    topo = load_topology("servers-10gbe-8gpu", 16)
    assert [topo.link_names[link] for link in topo.route(3, 12)] == ["h3.up", "server0.up", "server1.down", "h12.down"]
    assert topo.groups == (0,) * 8 + (1,) * 8
    # every GPU of server 0 sends M to its twin on server 1: the NIC is shared by 8 flows
    times = _deliveries(env, topo, [(h, 8 + h, M) for h in range(8)])
    np.testing.assert_allclose(times, [20e-6 + 8 * M / B] * 8, rtol=1e-12)
    assert topo.latency(0, 1) == 3e-6


def test_servers_refuse_bad_figures():
    with pytest.raises(TopologyError, match=r"gpus_per_node=0; expected an integer >= 1"):
        servers(4, 1.0, 0.0, gpus_per_node=0, gpu_bandwidth=1.0)
    with pytest.raises(TopologyError, match=r"gpu_bandwidth=\[1.0, 2.0\]; servers expect one number"):
        servers(4, 1.0, 0.0, gpus_per_node=2, gpu_bandwidth=[1.0, 2.0])


def test_racks_oversubscribed_file_figures(env):
    topo = load_topology("racks-oversubscribed", 16)
    assert topo.capacity[32:].tolist() == [8 * B / 4] * 4
    times = _deliveries(env, topo, [(h, 8 + h, M) for h in range(8)])
    np.testing.assert_allclose(times, [ALPHA + CORE + 4 * M / B] * 8, rtol=1e-12)


def test_wan_geo_file_figures():
    topo = load_topology("wan-geo", 8)
    route = [topo.link_names[link] for link in topo.route(1, 6)]
    assert route == ["h1.up", "us-east.wan_up", "asia.wan_down", "h6.down"]
    assert topo.capacity[16:].tolist() == [WAN] * 8
    one_way = [topo.latency(a, b) - ALPHA for a in range(0, 8, 2) for b in range(0, 8, 2) if a < b]
    assert all(0.02 <= t <= 0.15 for t in one_way)


def test_load_topology_overrides_set_host_figures_not_wan():
    """bandwidth moves host NICs (and ToR uplinks at the file's ratio); WAN figures stay."""
    geo = load_topology("wan-geo", 4, overrides={"bandwidth": 2 * B, "latency": 1e-3, "efficiency": None})
    assert geo.capacity.tolist() == [2 * B] * 8 + [WAN] * 8
    assert geo.latency(0, 0) == 1e-3 and geo.latency(0, 1) == pytest.approx(1e-3 + 0.0435, rel=1e-12)
    rack = load_topology("racks-oversubscribed", 8, overrides={"bandwidth": 2 * B})
    assert rack.capacity[16:].tolist() == [8 * 2 * B / 4] * 2


def _write(tmp_path, text, name="topo.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


RACKS_FILE = 'kind = "racks"\nbandwidth = 1.0\nlatency = 0.0\nrack_size = 2\noversubscription = 1.0\n'
SITES_FILE = 'kind = "sites"\nbandwidth = 1.0\nlatency = 0.0\nwan_bandwidth = 1.0\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (RACKS_FILE + "site_latency = [[0.0]]\n", r"unknown key\(s\) \['site_latency'\] for kind='racks'.*'rack_size'"),
        (
            SITES_FILE + "site_latency = [[0.0]]\nrack_size = 2\n",
            r"unknown key\(s\) \['rack_size'\] for kind='sites'.*'wan_bandwidth'",
        ),
        ('kind = "star"\nbandwidth = 1.0\nlatency = 0.0\ncore_latency = 1.0\n', r"\['core_latency'\] for kind='star'"),
        ('kind = "mesh"\nbandwidth = 1.0\n', r"kind='mesh'; expected one of \['racks', 'servers', 'sites', 'star'\]"),
        (SITES_FILE + "site_latency = [[0.0, 0.1]]\n", r"site_latency=.*square"),
        (SITES_FILE + "site_latency = [[0.0, 0.1], [0.2, 0.0]]\n", r"site_latency\[0\]\[1\]=0.1 but .*symmetric"),
        (SITES_FILE + "site_latency = [[0.0, -0.1], [-0.1, 0.0]]\n", r"site_latency\[0\]\[1\]=-0.1; expected .* >= 0"),
        (SITES_FILE, r"missing key 'site_latency'"),
        (RACKS_FILE.replace("rack_size = 2", "rack_size = 0"), r"rack_size=0; expected an integer >= 1"),
        (RACKS_FILE.replace("oversubscription = 1.0", "oversubscription = 0.25"), r"oversubscription=0.25"),
        (RACKS_FILE.replace("rack_size = 2\n", ""), r"missing key 'rack_size'"),
        (RACKS_FILE.replace("bandwidth = 1.0", "bandwidth = -1.0"), r"bandwidth=-1.0 for host 0"),
    ],
)
def test_load_topology_file_error_names_file_and_key(tmp_path, text, match):
    path = _write(tmp_path, text)
    with pytest.raises(TopologyError, match=match) as info:
        load_topology(path, 4)
    assert str(info.value).startswith(f"topology file {path}: ")


STAR_FILE = 'kind = "star"\nbandwidth = 1.0\nlatency = 0.0\n'


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("bandwidth = 1.0\nlatency = true\n", r"latency=True; expected a finite number of seconds >= 0"),
        ("bandwidth = true\nlatency = 0.0\n", r"bandwidth=True; expected one number of bytes per second"),
        ("bandwidth = [1.0, true, 1.0, 1.0]\nlatency = 0.0\n", r"bandwidth=\[1\.0, True, 1\.0, 1\.0\]; expected"),
        ('bandwidth = "1e9"\nlatency = 0.0\n', r"bandwidth='1e9'; expected one number"),
        (STAR_FILE + 'efficiency = "high"\n', r"efficiency='high'; expected a fraction in \(0, 1\]"),
        (STAR_FILE + "efficiency = [0.5]\n", r"efficiency=\[0\.5\]; expected a fraction"),
        (STAR_FILE + "efficiency = true\n", r"efficiency=True; expected a fraction"),
        (STAR_FILE + "efficiency = nan\n", r"efficiency=nan; expected a fraction"),
        (STAR_FILE + "[efficiency]\nhigh = 1\n", r"efficiency=\{'high': 1\}; expected a fraction"),
        ("bandwidth = 1.0\nlatency = inf\n", r"latency=inf; expected a finite number of seconds >= 0"),
        ("bandwidth = 1.0\nlatency = -1\n", r"latency=-1; expected a finite number of seconds >= 0"),
        ("bandwidth = inf\nlatency = 0.0\n", r"bandwidth=inf for host 0; expected a positive finite number"),
        ("bandwidth = 0\nlatency = 0.0\n", r"bandwidth=0 for host 0; expected a positive finite number"),
        ("bandwidth = " + "9" * 400 + "\nlatency = 0.0\n", r"bandwidth=<an integer of about \d+ digits> for host 0"),
        (STAR_FILE + "name = 5\n", r"name=5; expected a string"),
        (STAR_FILE + "description = [1]\n", r"description=\[1\]; expected a string"),
        (RACKS_FILE.replace("oversubscription = 1.0", "oversubscription = true"), r"oversubscription=True; expected"),
        (RACKS_FILE.replace("oversubscription = 1.0", "oversubscription = nan"), r"oversubscription=nan; expected"),
        (RACKS_FILE.replace("rack_size = 2", "rack_size = true"), r"rack_size=True; expected an integer >= 1"),
        (RACKS_FILE.replace("rack_size = 2", "rack_size = 2.0"), r"rack_size=2\.0; expected an integer >= 1"),
        (RACKS_FILE + 'core_latency = "5e-6"\n', r"core_latency='5e-6'; expected a finite number of seconds"),
        (RACKS_FILE + "core_latency = false\n", r"core_latency=False; expected a finite number of seconds"),
        (RACKS_FILE.replace("bandwidth = 1.0", "bandwidth = [[1.0], [1.0, 2.0]]"), r"racks expect one number"),
        (
            RACKS_FILE.replace("rack_size = 2", "rack_size = " + "9" * 400),
            r"rack_size=<an integer of about \d+ digits>: a rack uplink .* expected a finite number",
        ),
        (SITES_FILE + "site_latency = [[false, 0.1], [0.1, 0.0]]\n", r"site_latency=\[\[False, 0\.1\], .*square matrix"),
        (SITES_FILE + 'site_latency = [["0", 0.1], [0.1, 0.0]]\n', r"site_latency=\[\['0', 0\.1\], .*square matrix"),
        (SITES_FILE + "site_latency = [[0.0, inf], [inf, 0.0]]\n", r"site_latency\[0\]\[1\]=inf; expected .* >= 0"),
        (SITES_FILE + "site_latency = [[0.0]]\nsite_names = 5\n", r"site_names=5; expected 1 distinct names"),
        (SITES_FILE.replace("wan_bandwidth = 1.0", "wan_bandwidth = true") + "site_latency = [[0.0]]\n", r"wan_bandwidth=True"),
    ],
)
def test_load_topology_rejects_values_of_the_wrong_type_or_range_in_one_line(tmp_path, text, match):
    """bool is an int in Python and numpy converts strings: neither may pass for a number."""
    path = _write(tmp_path, text)
    with pytest.raises(TopologyError, match=match) as info:
        load_topology(path, 4)
    message = str(info.value)
    assert message.startswith(f"topology file {path}: ") and "\n" not in message and len(message) < 400


def test_load_topology_rejects_latencies_adding_up_past_a_float(tmp_path):
    path = _write(tmp_path, RACKS_FILE.replace("latency = 0.0", "latency = 1e308") + "core_latency = 1e308\n")
    with pytest.raises(TopologyError, match=r"latency \+ core_latency = inf seconds; expected a finite number"):
        load_topology(path, 4)


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (bytes(range(128, 256)) * 2, r"is not UTF-8 text \(byte 0x80 at offset 0\)"),
        (STAR_FILE.encode("utf-16"), r"is not UTF-8 text \(byte 0xff at offset 0\)"),
        (STAR_FILE.encode("utf-16-le"), r"is not UTF-8 text \(it holds NUL bytes, as UTF-16 text does\)"),
        (("name = 'caf\xe9'\n" + STAR_FILE).encode("latin-1"), r"is not UTF-8 text \(byte 0xe9 at offset 11\)"),
        (("bandwidth = " + "[" * 5000 + "]" * 5000 + "\n").encode(), r"does not parse: arrays or tables are nested too deeply"),
        (("bandwidth = " + "9" * 5000 + "\nlatency = 0.0\n").encode(), r"does not parse: an integer has too many digits"),
    ],
)
def test_load_topology_unreadable_text_is_one_line_error(tmp_path, data, match):
    path = tmp_path / "topo.toml"
    path.write_bytes(data)
    with pytest.raises(TopologyError, match=match) as info:
        load_topology(path, 4)
    assert str(info.value).startswith(f"topology file {path} ") and "\n" not in str(info.value)


def test_load_topology_accepts_a_utf8_byte_order_mark(tmp_path):
    path = tmp_path / "topo.toml"
    path.write_bytes(("# caf\u00e9\n" + STAR_FILE).encode("utf-8-sig"))
    assert load_topology(path, 2).capacity.tolist() == [1.0] * 4


@pytest.mark.parametrize("name", ["x" * 300, "x" * 300 + ".toml", "/" + "y" * 300 + "/net.toml"])
def test_load_topology_unusable_path_is_one_line_error(name):
    """ENAMETOOLONG from the file system becomes a TopologyError with the name cut short."""
    with pytest.raises(TopologyError, match=r"network\.topology='[xy/]+\.\.\..*': cannot read the file \(File name too long\)") as info:
        load_topology(name, 4)
    assert len(str(info.value)) < 200


def test_load_topology_unknown_long_key_is_cut_short(tmp_path):
    path = _write(tmp_path, STAR_FILE + "x" * 10_000 + " = 1\n")
    with pytest.raises(TopologyError, match=r"unknown key\(s\) \['xxx.*\.\.\..*xxx'\]") as info:
        load_topology(path, 4)
    assert len(str(info.value)) < 400
