"""Nic.Inject, Nic.ReadWire and Trace.Read with packed blobs (many frames or events
in one bytes field): frames arrive in order and are counted, the wire and the trace
come back as records holding what the per-item messages would, and malformed inject
blobs are refused naming the offset, before anything is injected."""
from __future__ import annotations

import struct

import grpc
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from nettwin.client import StackError
from nettwin.client.packed import pack_frames, unpack_events, unpack_wire

DUT, DUT_MAC, TESTER_MAC = "ntdut0", "02:00:00:00:01:02", "02:00:00:00:01:01"


def set_up(stack):
    stack.create_device(DUT, kind="ring", mac=DUT_MAC)
    stack.add_address(DUT, "198.51.100.2/24")
    stack.add_neighbour(DUT, "198.51.100.1", TESTER_MAC)
    return stack


@pytest.fixture
def dut(stack):
    return set_up(stack)


def echo(seq: int) -> bytes:
    return bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src="198.51.100.1", dst="198.51.100.2") /
                 ICMP(id=0x77, seq=seq) / b"packed")


def test_packed_frames_arrive_in_order_and_are_counted(dut):
    assert dut.inject_packed(DUT, [echo(seq) for seq in range(100)], run_until_idle=True) == (100, 0)
    replies = dut.wire_packed(DUT)
    assert [Ether(r.data)[ICMP].seq for r in replies] == list(range(100))
    assert all(Ether(r.data)[ICMP].type == 0 for r in replies)
    ifindex = next(d.config.ifindex for d in dut.devices() if d.config.name == DUT)
    assert {r.ifindex for r in replies} == {ifindex}
    assert dut.wire_packed(DUT) == []


def test_packed_wire_holds_what_the_unpacked_read_would(dut):
    dut.inject_packed(DUT, [echo(1), echo(2)], run_until_idle=True)
    packed = dut.wire_packed(DUT)
    dut.reset(1)  # the same seed again: the same IP IDs
    set_up(dut)
    dut.inject_packed(DUT, [echo(1), echo(2)], run_until_idle=True)
    plain = dut.wire_raw(DUT)
    assert len(packed) == 2
    assert [tuple(p) for p in packed] == [(w.ifindex, w.time_ns, w.data) for w in plain]


def test_packed_wire_reply_is_bounded_and_the_rest_stays(dut):
    dut.inject_packed(DUT, [echo(seq) for seq in range(10)], run_until_idle=True)
    one = len(echo(0)) + 16
    reply = dut._nic.ReadWire(dut.pb.ReadWireRequest(dev=DUT, packed=True, max_bytes=3 * one + 64))
    assert [Ether(r.data)[ICMP].seq for r in unpack_wire(reply.packed)] == [0, 1, 2]
    assert reply.remaining == 7 and not reply.frames
    assert [Ether(r.data)[ICMP].seq for r in dut.wire_packed(DUT)] == list(range(3, 10))


def test_a_blob_larger_than_the_rx_ring_misses_the_rest(dut):
    queued, missed = dut.inject_packed(DUT, [echo(seq) for seq in range(300)])
    assert (queued, missed) == (256, 44)  # the default RX ring: 256 descriptors


def test_stream_of_packed_batches_run_until_idle_receives_all(dut):
    batches = [dut.pb.InjectRequest(dev=DUT, packed=pack_frames(echo(b * 200 + i) for i in range(200)),
                                    run_until_idle=True) for b in range(5)]
    reply = dut._nic.InjectStream(iter(batches))
    assert (reply.queued, reply.rx_missed) == (1000, 0)
    assert [Ether(r.data)[ICMP].seq for r in dut.wire_packed(DUT)] == list(range(1000))


def refused(dut, packed: bytes, **fields) -> str:
    with pytest.raises(StackError) as e:
        dut._call("Nic.Inject", dut._nic.Inject, dut.pb.InjectRequest(dev=DUT, packed=packed, **fields))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    dut.run_until_idle()
    assert dut.wire_packed(DUT) == [], "a refused blob injected something"
    return e.value.message


def test_length_past_the_end_names_its_offset(dut):
    good = pack_frames([echo(1)])
    message = refused(dut, good + struct.pack("<I", 500) + echo(2))
    assert f"packed record 1 at byte offset {len(good)}: length 500 runs past the end" in message


def test_zero_length_names_its_offset(dut):
    good = pack_frames([echo(1), echo(2)])
    message = refused(dut, good + struct.pack("<I", 0) + pack_frames([echo(3)]))
    assert f"packed record 2 at byte offset {len(good)}: zero length" in message


def test_cut_short_length_names_its_offset(dut):
    good = pack_frames([echo(1)])
    assert f"record 1 at byte offset {len(good)}: its length is cut short" in refused(dut, good + b"\x01\x00")


def test_too_many_frames_is_refused(dut):
    limit = dut.pb.MAX_PACKED_FRAMES
    message = refused(dut, pack_frames([b"\x00"] * (limit + 1)))
    assert f"packed record {limit} at byte offset {limit * 5}: more than {limit} frames" in message


def test_frames_and_packed_together_are_refused(dut):
    message = refused(dut, pack_frames([echo(1)]), frames=[dut.pb.Frame(data=echo(2))])
    assert "sets both frames and packed" in message


def test_a_frame_the_stack_refuses_stops_the_blob_there(dut):
    with pytest.raises(StackError) as e:
        dut.inject_packed(DUT, [echo(1), echo(2), b"short", echo(3)], run_until_idle=True)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "frame 2 of 5 bytes" in e.value.message and "2 frames before it were injected" in e.value.message
    dut.run_until_idle()
    assert [Ether(r.data)[ICMP].seq for r in dut.wire_packed(DUT)] == [1, 2]


def test_packed_trace_read_holds_what_the_event_read_would(dut):
    """Two subscriptions to the same events, one read packed: the same events in the
    same order, fields and all (checkpoints included), and both emptied."""
    plain = dut.subscribe(["*"], checkpoints=True)
    packed = dut.subscribe(["*"], checkpoints=True)
    dut.inject_packed(DUT, [echo(seq) for seq in range(20)], run_until_idle=True)
    from_packed = packed.read(packed=True)
    from_events = plain.read()
    assert len(from_packed) > 40 and from_packed == from_events
    assert {"net:netif_receive_skb", "checkpoint:ip_rcv"} <= {e.name for e in from_packed}
    assert packed.read(packed=True) == []
    plain.close()
    packed.close()


def test_packed_trace_read_is_bounded_and_the_rest_stays(dut):
    with dut.subscribe(["net:netif_receive_skb"]) as sub:
        dut.inject_packed(DUT, [echo(seq) for seq in range(10)], run_until_idle=True)
        reply = dut._trace.Read(dut.pb.ReadEventsRequest(id=sub.id, packed=True, max=4))
        assert len(unpack_events(reply.packed)) == 4 and reply.remaining == 6 and not reply.events
        assert len(sub.read(packed=True)) == 6
