"""Routes, rules and netfilter hooks over gRPC (Control.AddRoute / ListRoutes /
AddRule, the Hooks service) through the Python client, against the real server."""
from __future__ import annotations

import threading
import time

import grpc
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from nettwin.client import Stack, StackError

TESTER_MAC, DUT_MAC, FAR_MAC = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:02:01"


def router(stack):
    """The forwarding topology's DUT: ntdut0 / ntdut1, neighbours known, forwarding on."""
    stack.create_device("ntdut0", kind="veth", mac=DUT_MAC, ifindex=7102)
    stack.add_address("ntdut0", "198.51.100.2/24")
    stack.create_device("ntdut1", kind="veth", mac="02:00:00:00:02:02", ifindex=7202)
    stack.add_address("ntdut1", "203.0.113.2/24")
    stack.add_neighbour("ntdut1", "203.0.113.1", FAR_MAC)
    stack.add_neighbour("ntdut0", "198.51.100.1", TESTER_MAC)
    stack.sysctl("net.ipv4.ip_forward", "1")


def to_far(ttl=64, dst="203.0.113.1"):
    return Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src="198.51.100.1", dst=dst, ttl=ttl) / \
        ICMP(id=7, seq=1) / b"forward-me"


def test_routes_list_and_forward_through_a_gateway(stack):
    router(stack)
    stack.add_neighbour("ntdut1", "203.0.113.9", "02:00:00:00:02:09")
    stack.add_route("10.0.0.0/8", gateway="203.0.113.9", metric=5)
    rows = {(r.dst, r.gateway, r.dev, r.type, r.table, r.metric) for r in stack.routes(254)}
    assert ("10.0.0.0/8", "203.0.113.9", "ntdut1", "unicast", 254, 5) in rows
    assert ("198.51.100.0/24", "", "ntdut0", "unicast", 254, 0) in rows
    assert {r.dst for r in stack.routes(255) if r.type == "local"} == {"198.51.100.2", "203.0.113.2"}
    stack.inject("ntdut0", to_far(dst="10.1.2.3"), run_until_idle=True)
    out = stack.wire("ntdut1")
    assert len(out) == 1 and out[0].dst == "02:00:00:00:02:09" and out[0][IP].ttl == 63
    stack.del_route("10.0.0.0/8", gateway="203.0.113.9")
    assert not [r for r in stack.routes(254) if r.dst == "10.0.0.0/8"]


def test_rule_sends_a_source_to_its_table(stack):
    router(stack)
    stack.add_neighbour("ntdut0", "198.51.100.3", "02:00:00:00:01:03")
    stack.add_route("203.0.113.0/24", gateway="198.51.100.3", table=100)
    stack.add_rule(pref=100, table=100, src="198.51.100.1/32")
    assert [(r.pref, r.table) for r in stack.rules()] == [(0, 255), (100, 100), (32766, 254), (32767, 253)]
    stack.inject("ntdut0", to_far(), run_until_idle=True)
    assert [f.dst for f in stack.wire("ntdut1")] == []
    assert "02:00:00:00:01:03" in [f.dst for f in stack.wire("ntdut0")]


def test_route_metrics_are_listed_and_replaced(stack):
    router(stack)
    stack.add_route("10.0.0.0/8", dev="ntdut1", initcwnd=20, rto_min_ms=0, mtu=100000, mtu_lock=True,
                    congctl="reno", ecn=True)
    [r] = [r for r in stack.routes(254) if r.dst == "10.0.0.0/8"]
    assert (r.initcwnd, r.rto_min_ms, r.mtu, r.mtu_lock, r.congctl, r.ecn) == (20, 0, 65520, True, "reno", True)
    assert r.HasField("rto_min_ms") and not r.quickack
    stack.replace_route("10.0.0.0/8", dev="ntdut1", create=False, quickack=True)
    [r] = [r for r in stack.routes(254) if r.dst == "10.0.0.0/8"]
    assert (r.initcwnd, r.quickack, r.HasField("rto_min_ms")) == (0, True, False)   # the new metrics only
    stack.replace_route("10.1.0.0/16", dev="ntdut1", advmss=1000)                       # create
    assert [r.advmss for r in stack.routes(254) if r.dst == "10.1.0.0/16"] == [1000]


@pytest.mark.parametrize("call, kwargs, words", [
    ("add_route", dict(dst="10.0.0.1/8", dev="ntdut0"), ["host bits"]),
    ("add_route", dict(dst="10.0.0.0/33", dev="ntdut0"), ["prefix length", "33"]),
    ("add_route", dict(dst="10.0.0.0/8", gateway="192.168.9.9"), ["192.168.9.9", "not on a directly connected"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="eth9"), ["unknown device", "eth9"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", type="nat"), ["route type", "nat"]),
    ("add_route", dict(dst="", dev="ntdut0"), ["no destination"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", tos=300), ["tos", "300"]),
    ("del_route", dict(dst="10.0.0.0/8"), ["no route", "10.0.0.0/8"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", mtu=67), ["mtu 67", "minimum of 68"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", mtu_lock=True), ["mtu lock needs an mtu"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", congctl="vegas"), ["congestion algorithm 'vegas'"]),
    ("add_route", dict(dst="10.0.0.0/8", dev="ntdut0", congctl_lock=True), ["congctl lock needs"]),
    ("replace_route", dict(dst="10.0.0.0/8", dev="ntdut0", create=False), ["no route 10.0.0.0/8", "to change"]),
    ("add_rule", dict(pref=5, table=100, src="300.1.1.1"), ["300.1.1.1"]),
    ("add_rule", dict(pref=5, table=100, iif="eth9"), ["eth9"]),
])
def test_bad_routes_and_rules_are_invalid_argument(stack, call, kwargs, words):
    router(stack)
    with pytest.raises(StackError) as e:
        getattr(stack, call)(**kwargs)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in str(e.value)


def test_hook_sees_forwarded_packet_and_drops_it(stack):
    router(stack)
    seen = []

    def cb(pkt):
        seen.append((pkt.hook, pkt.in_dev, pkt.out_dev, pkt.ip.dst, pkt.ip.ttl))
        return ("drop", "NETFILTER_DROP")

    with stack.subscribe(["skb:kfree_skb"]) as sub, stack.hook("FORWARD", cb, timeout_ms=5000):
        stack.inject("ntdut0", to_far(), run_until_idle=True)
        drops = sub.read()
    assert seen == [("FORWARD", "ntdut0", "ntdut1", "203.0.113.1", 63)]
    assert stack.wire("ntdut1") == []
    assert [(d.fields["reason"], d.fields["location"]) for d in drops] == [("NETFILTER_DROP", "nf_hook_slow")]
    # Disarmed when the with block ends: the next packet is forwarded.
    stack.inject("ntdut0", to_far(), run_until_idle=True)
    assert len(stack.wire("ntdut1")) == 1


def test_hook_modifies_bytes_in_priority_order(stack):
    router(stack)
    order = []

    def ttl_to_9(pkt):
        order.append("first")
        ip = pkt.ip
        ip.ttl = 9
        del ip.chksum
        return bytes(ip)

    def look(pkt):
        order.append(f"second ttl={pkt.ip.ttl}")

    with stack.hook("PRE_ROUTING", look, priority=10), stack.hook("PRE_ROUTING", ttl_to_9, priority=-10):
        stack.inject("ntdut0", to_far(), run_until_idle=True)
    assert order == ["first", "second ttl=9"]
    out = stack.wire("ntdut1")
    assert len(out) == 1 and out[0][IP].ttl == 8
    assert IP(bytes(out[0][IP])).chksum == Ether(bytes(out[0]))[IP].chksum  # a valid header


def test_hook_timeout_applies_the_default_verdict(stack):
    router(stack)
    release = threading.Event()

    def slow(pkt):
        release.wait(5)
        return "accept"

    with stack.hook("FORWARD", slow, timeout_ms=200, default="drop"):
        t0 = time.monotonic()
        stack.inject("ntdut0", to_far(), run_until_idle=True)
        waited = time.monotonic() - t0
        release.set()
    assert stack.wire("ntdut1") == []
    assert waited < 4.0, "the engine waited past the hook's timeout"


def test_hook_bad_arm_is_invalid_argument(stack):
    router(stack)
    with pytest.raises(StackError) as e:
        stack.hook("INPUT", lambda p: None)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "INPUT" in str(e.value)
    with pytest.raises(StackError) as e:
        stack.hook("FORWARD", lambda p: None, timeout_ms=600000)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "timeout_ms" in str(e.value)


def test_hook_bad_verdict_ends_the_stream_with_a_reason(stack):
    router(stack)
    h = stack.hook("FORWARD", lambda p: ("drop", "NOT_A_REASON"), timeout_ms=2000)
    stack.inject("ntdut0", to_far(), run_until_idle=True)
    h.close()
    assert any(isinstance(e, StackError) and e.code == grpc.StatusCode.INVALID_ARGUMENT
               and "NOT_A_REASON" in str(e) for e in h.errors), h.errors
    # The packet took the default (accept) and the stack still serves.
    assert len(stack.wire("ntdut1")) == 1
    stack.inject("ntdut0", to_far(), run_until_idle=True)
    assert len(stack.wire("ntdut1")) == 1
