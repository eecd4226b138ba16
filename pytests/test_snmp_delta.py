"""The MIB referee: the recorder's parsing of /proc/net/snmp and netstat, the
delta it stores in meta.json, and the comparator that holds the stack's counter
deltas to it."""
from __future__ import annotations

import pytest

from nettwin.recording import netns
from nettwin.comparison.compare import compare_counters

SNMP = """Ip: Forwarding DefaultTTL InReceives InHdrErrors ReasmOKs OutTransmits
Ip: 2 64 10 1 0 7
Icmp: InMsgs InErrors OutRateLimitHost
Icmp: 3 0 5
IcmpMsg: InType8 OutType0
IcmpMsg: 3 3
Udp: InDatagrams NoPorts
Udp: 0 1
"""
NETSTAT = """TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 0
IpExt: InNoRoutes InOctets ReasmOverlaps
IpExt: 0 840 2
"""


def test_parse_snmp_reads_every_group_and_column():
    v = netns.parse_snmp(SNMP)
    assert v["Ip.InReceives"] == 10
    assert v["Ip.OutTransmits"] == 7
    assert v["Icmp.OutRateLimitHost"] == 5
    assert v["IcmpMsg.OutType0"] == 3
    assert v["Udp.NoPorts"] == 1
    assert len(v) == 6 + 3 + 2 + 2


def test_parse_netstat_keeps_only_the_groups_asked_for():
    v = netns.parse_snmp(NETSTAT, groups={"IpExt"})
    assert v == {"IpExt.InNoRoutes": 0, "IpExt.InOctets": 840, "IpExt.ReasmOverlaps": 2}


def test_parse_refuses_a_layout_it_does_not_know():
    with pytest.raises(netns.NetnsError):
        netns.parse_snmp("Ip: InReceives\nIcmp: 3\n")


def test_delta_covers_rows_that_appear_and_leaves_out_settings():
    before = {"Ip.Forwarding": 1, "Ip.DefaultTTL": 64, "Ip.InReceives": 10}
    after = {"Ip.Forwarding": 2, "Ip.DefaultTTL": 64, "Ip.InReceives": 13, "IcmpMsg.OutType3": 2}
    assert netns.snmp_delta(before, after) == {"Ip.InReceives": 3, "IcmpMsg.OutType3": 2}


def test_counters_that_agree_pass():
    linux = {"Ip.InReceives": 2, "Ip.ReasmOKs": 1, "IcmpMsg.OutType0": 1, "Udp.NoPorts": 0}
    before = {"Ip.InReceives": 5, "Ip.ReasmOKs": 0, "dev.ntdut0.rx_packets": 0}
    after = {"Ip.InReceives": 7, "Ip.ReasmOKs": 1, "IcmpMsg.OutType0": 1, "dev.ntdut0.rx_packets": 9}
    assert compare_counters(linux, before, after) == []


def test_counters_that_differ_are_named():
    linux = {"Ip.InReceives": 2, "Ip.ReasmOKs": 1, "IcmpMsg.OutType0": 1}
    before = {"Ip.InReceives": 0, "Ip.ReasmOKs": 0}
    after = {"Ip.InReceives": 2, "Ip.ReasmOKs": 0, "IcmpMsg.OutType3": 1}
    diffs = {(d.name, d.linux, d.nettwin) for d in compare_counters(linux, before, after)}
    # A missing IcmpMsg row is a zero on that side; a counter the stack lacks is not judged.
    assert diffs == {("Ip.ReasmOKs", 1, 0), ("IcmpMsg.OutType0", 1, 0), ("IcmpMsg.OutType3", 0, 1)}


def test_counters_the_stack_does_not_have_are_not_judged():
    assert compare_counters({"Tcp.ActiveOpens": 4, "Ip.InReceives": 1}, {}, {"Ip.InReceives": 1}) == []
