"""The forwarding topology in the comparator: the far host's frames are compared
too (a stack that forwards differently fails), the DUT's setup data is applied
from meta.json, and the scenario definitions carry what the recorder needs."""
from __future__ import annotations

import shutil

import pytest
from scapy.layers.inet import IP

from conftest import REPO
from nettwin.comparison import conform
from nettwin.comparison.sidebyside import render
from nettwin.recording import netns
from nettwin.scenarios import catalog, model
from nettwin.scenarios import folder as scenario_folder

TRACES = REPO / "traces"


def test_far_frames_are_compared(stack):
    scen = scenario_folder.load(TRACES / "forward_echo")
    assert scen.far_dut_ifname == "ntdut1" and len(scen.far_received) == 2
    rep = conform.replay(stack, scen)
    assert conform.compare_replay(scen, rep).ok
    # The same run with another TTL in the forwarded frames is no longer Linux.
    for pkt in rep.far_wire:
        pkt[IP].ttl = 1
        del pkt[IP].chksum
    c = conform.compare_replay(scen, rep)
    assert not c.ok and all(f.where == "far" for f in c.frames if f.differs)
    assert "frame 1 (far)" in render(c)


def test_forwarding_off_in_the_stack_fails_the_recording(stack):
    rep_ok = conform.run_scenario(stack, TRACES / "forward_echo")
    assert rep_ok.ok
    bad = conform.run_scenario(stack, TRACES / "forward_echo", sysctl_overrides={"net.ipv4.ip_forward": "0"})
    assert not bad.ok


def test_dut_setup_is_applied_from_meta(stack, tmp_path):
    src = TRACES / "forward_redirect"
    scen = scenario_folder.load(src)
    conform.configure(stack, scen)
    routes = {(r.dst, r.gateway, r.dev) for r in stack.routes(254)}
    assert ("203.0.113.100/32", "198.51.100.3", "ntdut0") in routes
    assert {(n.ip, n.mac, n.state) for n in stack.neighbours()} >= {("198.51.100.3", "02:00:00:00:01:03",
                                                                      "permanent")}
    # Without its route the recording no longer conforms: the data matters.
    copy = tmp_path / "forward_redirect"
    shutil.copytree(src, copy)
    import json
    meta = json.loads((copy / "meta.json").read_text())
    meta["dut_setup"]["routes"] = []
    (copy / "meta.json").write_text(json.dumps(meta))
    assert not conform.run_scenario(stack, copy).ok


def test_far_pcaps_need_the_far_topology(tmp_path):
    copy = tmp_path / "arp_then_echo"
    shutil.copytree(TRACES / "arp_then_echo", copy)
    shutil.copy(TRACES / "forward_echo" / "far_received.pcap", copy / "far_received.pcap")
    with pytest.raises(scenario_folder.ScenarioError, match="topology.far"):
        scenario_folder.load(copy)


def test_topology_refuses_unknown_kind_and_foreign_mtu():
    with pytest.raises(netns.NetnsError, match="unknown topology"):
        netns.Topology("x", kind="three_host")
    with pytest.raises(netns.NetnsError, match="ntdut1"):
        netns.Topology("x", kind="two_host", dut_mtus={"ntdut1": 1280})
    t = netns.Topology("x", kind="forwarding", dut_mtus={"ntdut1": 1280})
    assert [h.ifname for h in t.dut_interfaces()] == ["ntdut0", "ntdut1"]
    assert t.far.ifname == "ntfar0" and t.far.ifindex == 7201 and t.far.addresses == ["203.0.113.1/24"]


def test_forwarding_scenarios_declare_what_they_need():
    for s in catalog.SCENARIOS.values():
        far_sends = [f for f in s.frames() if f.iface == model.FAR_IFACE]
        if far_sends or s.dut_mtus or any(dev == "ntdut1" for dev, _, _ in s.dut_neighbours):
            assert s.topology == "forwarding", s.name
        j = s.to_json()
        assert j["topology"] == s.topology and j["dut_routes"] == s.routes_data()
