"""Replies that fold in what took a call of its own, against the real server: a
socket call's run_until_ns (RunUntil then the call), the counters in ReadWire's and
Configure's replies (ReadCounters), Trace.Read's close (Trace.Close). Each gives what
the calls it stands for give."""
from __future__ import annotations

import grpc
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from nettwin.client import StackError
from nettwin.client.sockets import AF_INET, MSG_DONTWAIT, SOCK_DGRAM
from nettwin.scenarios.sock_steps import Sock, perform

DUT = "ntdut0"
DUT_MAC, TESTER_MAC = "02:00:00:00:01:02", "02:00:00:00:01:01"
DUT_IP, TESTER_IP = "198.51.100.2", "198.51.100.1"
S = 1_000_000_000


def datagram(payload: bytes) -> bytes:
    return bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / UDP(sport=4000, dport=5000)
                 / Raw(payload))


def set_up(stack):
    stack.setup(3).create_device(DUT, kind="veth", mac=DUT_MAC, ifindex=7).add_address(DUT, DUT_IP + "/24").apply()


def program(stack, at):
    """A DUT program's calls, each at its time (`at` puts the clock there first):
    a datagram injected but not yet received is read at 3 us; a send at 1 s waits
    for ARP (its retries are timers); one more send asks for a time already passed."""
    sk = stack.sockets
    at(1_000)
    fd = sk.socket(AF_INET, SOCK_DGRAM, check=False).ret
    at(2_000)
    replies = [sk.bind(fd, (DUT_IP, 5000), check=False)]
    stack.inject(DUT, [datagram(b"early")])
    at(3_000)
    replies.append(sk.recvfrom(fd, 100, MSG_DONTWAIT, timeout_ns=0, check=False))
    at(1 * S)
    replies.append(sk.sendto(fd, b"out", (TESTER_IP, 4000), check=False))
    at(500)
    replies.append(sk.sendto(fd, b"again", (TESTER_IP, 4000), check=False))
    now, frames = stack.run_until_and_read_wire(4 * S, DUT)
    return ([(r.ret, r.errno, r.data, r.now_ns) for r in replies], now,
            [(f.time_ns, f.data) for f in frames])


def test_socket_call_that_runs_the_clock_is_run_until_then_the_call(stack):
    # sys_recvmsg and sys_sendmsg behind Sockets.RecvFrom/SendTo, the clock run first in
    # the same engine step: what RunUntil then the call gives, one round trip each.
    set_up(stack)
    by_two = program(stack, stack.run_until)
    set_up(stack)
    calls = stack.calls
    by_one = program(stack, stack.sockets.at)
    assert by_one == by_two
    # Five calls, one read, one inject: no RunUntil among them (at(500) rides on the send).
    assert stack.calls - calls == 7
    replies, now, frames = by_one
    assert replies[1][:3] == (5, 0, b"early")     # the datagram arrived before the read
    assert replies[2][3] == 1 * S and replies[3][3] == 1 * S   # a time passed leaves the clock
    assert now == 4 * S
    assert frames[0][0] == 1 * S and len(frames) >= 2   # the ARP request at the send, then its retries


def test_run_pending_runs_the_clock_when_no_call_took_the_time(stack):
    set_up(stack)
    stack.sockets.at(2 * S)
    stack.sockets.run_pending()
    assert stack.now() == 2 * S
    stack.sockets.run_pending()      # nothing pending: no call
    assert stack.now() == 2 * S


def test_socket_call_past_the_clock_end_is_refused_and_runs_nothing(stack):
    set_up(stack)
    pb = stack.pb
    with pytest.raises(grpc.RpcError) as refused:
        stack.sockets.stub.Socket(pb.SocketRequest(domain=AF_INET, type=SOCK_DGRAM, run_until_ns=2**63))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert str(2**63) in refused.value.details() and "overflows" in refused.value.details()
    assert stack.now() == 0 and stack.ss() == []     # neither the clock nor the call ran


def test_read_wire_with_counters_is_read_wire_then_read_counters(stack):
    set_up(stack)
    stack.inject(DUT, [datagram(b"x")])      # no listener: an ICMP port unreachable after ARP
    counters: dict = {}
    now, frames = stack.run_until_and_read_wire(2 * S, DUT, counters=counters)
    assert frames and now == 2 * S
    assert counters == stack.counters()
    assert counters[f"dev.{DUT}.rx_packets"] == 1 and counters["Udp.NoPorts"] == 1
    # Not asked: none in the reply.
    reply = stack._nic.ReadWire(stack.pb.ReadWireRequest(dev=DUT))
    assert len(reply.counters) == 0


def test_read_wire_whose_budget_cannot_hold_the_counters_takes_nothing(stack):
    set_up(stack)
    stack.inject(DUT, [datagram(b"x")], run_until_idle=True)
    with pytest.raises(StackError) as refused:
        stack.run_until_and_read_wire(0, DUT, max_bytes=200, counters={})
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "too small for the counters" in str(refused.value)
    assert stack.wire_raw(DUT)               # the ARP requests are still there


def test_configure_with_counters_is_configure_then_read_counters(stack):
    setup = stack.setup(3).create_device(DUT, kind="veth", mac=DUT_MAC).add_address(DUT, DUT_IP + "/24")
    setup.with_counters().apply()
    assert setup.counters and setup.counters == stack.counters()
    plain = stack.setup(3).create_device(DUT, kind="veth", mac=DUT_MAC)
    plain.apply()
    assert plain.counters == {}


def test_trace_read_that_closes_is_read_then_close(stack):
    set_up(stack)
    sub = stack.subscribe(["net:*"])
    stack.inject(DUT, [datagram(b"x")], run_until_idle=True)
    first = sub.read(max=1, close=True)        # events remain: still open
    assert len(first) == 1 and not sub.closed
    rest = sub.read(close=True)
    assert rest and sub.closed
    with pytest.raises(StackError) as gone:     # closed on the server: as after Trace.Close
        sub.read()
    assert gone.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"unknown subscription id {sub.id}" in str(gone.value)
    kept = stack.subscribe(["net:*"])
    kept.read()                                # not asked: it stays open
    assert not kept.closed and kept.read() == []
    kept.close()


def test_inject_that_reads_the_wire_is_inject_then_read_wire(stack):
    # A datagram to a closed port at 1 us (its ICMP error waits for ARP, which is
    # retried), then one more at 2 s: the frames read with the second Inject are those
    # ReadWire gives right after it; the second datagram has not run yet.
    def by_two_calls():
        stack.inject(DUT, [datagram(b"x")], at_ns=1_000)
        stack.inject(DUT, [datagram(b"y")], at_ns=2 * S)
        return stack.frames(DUT)

    def by_one_call():
        stack.inject(DUT, [datagram(b"x")], at_ns=1_000)
        return stack.inject_and_frames(DUT, [datagram(b"y")], at_ns=2 * S)

    seen = []
    for inject in (by_two_calls, by_one_call):
        set_up(stack)
        calls = stack.calls
        read = [(f.time_ns, bytes(f)) for f in inject()]
        seen.append((read, stack.calls - calls, stack.counters()["Udp.NoPorts"]))
    assert seen[0][0] == seen[1][0] and seen[1][1] == 2
    assert seen[1][0] and all(t < 2 * S for t, _ in seen[1][0])   # the ARP requests for the first
    assert seen[0][2] == seen[1][2] == 1                          # the second still in the ring


def test_a_stream_batch_that_reads_the_wire_is_refused(stack):
    set_up(stack)
    pb = stack.pb
    batch = pb.InjectRequest(dev=DUT, frames=[pb.Frame(data=datagram(b"x"))], read_wire=True)
    with pytest.raises(grpc.RpcError) as refused:
        stack._nic.InjectStream(iter([batch]))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "batch 0" in refused.value.details() and "read_wire is for Nic.Inject" in refused.value.details()


def test_configure_that_subscribes_is_configure_then_trace_open(stack):
    # The same events, subscribed in Configure's call or with Trace.Open after it.
    seen = []
    for fold in (False, True):
        setup = stack.setup(3).create_device(DUT, kind="veth", mac=DUT_MAC).add_address(DUT, DUT_IP + "/24")
        if fold:
            setup.subscribe(["net:*", "skb:*"])
        calls = stack.calls
        setup.apply()
        sub = setup.subscription or stack.subscribe(["net:*", "skb:*"])
        stack.inject(DUT, [datagram(b"x")], run_until_idle=True)
        seen.append(([(e.time_ns, e.name, e.fields) for e in sub.read(close=True)], stack.calls - calls))
    assert seen[0][0] == seen[1][0] and seen[0][0]
    assert seen[1][1] == seen[0][1] - 1


def test_configure_with_a_bad_subscription_changes_nothing(stack):
    set_up(stack)
    with pytest.raises(StackError) as refused:
        stack.setup(3).create_device("ntx9", kind="veth", mac=DUT_MAC).subscribe(["netif_receive_skb"]).apply()
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "subscribe:" in str(refused.value) and "group:event" in str(refused.value)
    assert [d.config.name for d in stack.devices()] == [DUT]   # the stack it replaced is back


def test_a_step_that_makes_no_call_still_runs_the_clock_to_its_time(stack):
    # sock_steps.perform with at_ns: the step's first request carries the time; a step
    # that makes no call (a background recv, made when collected) runs it on its own.
    set_up(stack)
    handles: dict = {}
    perform(stack.sockets, handles, Sock("socket", "s", (("type", SOCK_DGRAM),)), at_ns=1 * S)
    assert stack.sockets.last.now_ns == 1 * S
    calls = stack.calls
    perform(stack.sockets, handles, Sock("recv_bg", "s"), at_ns=2 * S)
    assert stack.calls - calls == 1 and stack.now() == 2 * S
    with pytest.raises(ValueError):       # a step that fails before its call: the clock still runs
        perform(stack.sockets, handles, Sock("no_such_op", "s"), at_ns=3 * S)
    assert stack.now() == 3 * S
