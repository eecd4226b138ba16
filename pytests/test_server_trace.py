"""Trace subscriptions of the real nettwin-server: buffered Open/Read/Close and
the live Stream, with losses counted rather than silent."""

import grpc
import pytest

from server_fixtures import (  # noqa: F401  (fixtures)
    DUT_DEV, Client, arp_request, client, create_dut, dut, echo_request, inject, pb,
    server_process, start_server,
)

RECEIVE = "net:netif_receive_skb"


def fields(event):
    return {f.key: f.value for f in event.fields}


def test_subscription_sees_netif_receive_skb(dut):
    sub = dut.trace.Open(pb.TraceFilter(events=[RECEIVE]))
    frame = bytes(echo_request())
    inject(dut, frame)
    dut.control.RunUntilIdle(pb.Empty())

    read = dut.trace.Read(pb.ReadEventsRequest(id=sub.id))
    assert read.lost == 0
    assert [e.name for e in read.events] == [RECEIVE]
    event = read.events[0]
    assert event.skb != 0
    # skb->len after eth_type_trans() pulled the Ethernet header.
    assert fields(event)["name"] == DUT_DEV
    assert fields(event)["len"] == str(len(frame) - 14)
    # Read took the events: a second read is empty.
    assert list(dut.trace.Read(pb.ReadEventsRequest(id=sub.id)).events) == []

    dut.trace.Close(sub)
    with pytest.raises(grpc.RpcError) as failure:
        dut.trace.Read(pb.ReadEventsRequest(id=sub.id))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"unknown subscription id {sub.id}" in failure.value.details()


def test_group_pattern_and_checkpoints(dut):
    net_only = dut.trace.Open(pb.TraceFilter(events=["net:*"]))
    with_checkpoints = dut.trace.Open(pb.TraceFilter(events=["net:*"], checkpoints=True))
    inject(dut, echo_request())
    dut.control.RunUntilIdle(pb.Empty())

    plain = [e.name for e in dut.trace.Read(pb.ReadEventsRequest(id=net_only.id)).events]
    both = [e.name for e in dut.trace.Read(pb.ReadEventsRequest(id=with_checkpoints.id)).events]
    assert RECEIVE in plain and all(n.startswith("net:") for n in plain)
    assert any(n.startswith("checkpoint:") for n in both)
    assert [n for n in both if n.startswith("net:")] == plain


def test_read_max_returns_the_oldest_first(dut):
    sub = dut.trace.Open(pb.TraceFilter(events=[RECEIVE]))
    inject(dut, arp_request(), echo_request())
    dut.control.RunUntilIdle(pb.Empty())
    first = dut.trace.Read(pb.ReadEventsRequest(id=sub.id, max=1)).events
    second = dut.trace.Read(pb.ReadEventsRequest(id=sub.id, max=1)).events
    assert len(first) == 1 and len(second) == 1
    assert first[0].skb != second[0].skb
    assert first[0].time_ns <= second[0].time_ns


def test_subscription_survives_reset(dut):
    sub = dut.trace.Open(pb.TraceFilter(events=[RECEIVE]))
    dut.control.Reset(pb.ResetRequest())
    create_dut(dut.control)
    inject(dut, arp_request())
    dut.control.RunUntilIdle(pb.Empty())
    assert [e.name for e in dut.trace.Read(pb.ReadEventsRequest(id=sub.id)).events] == [RECEIVE]


def test_buffer_overflow_is_counted(tmp_path):
    server = start_server(tmp_path, "--trace-buffer", "2")
    client = Client(server.address)
    try:
        create_dut(client.control)
        sub = client.trace.Open(pb.TraceFilter(events=[RECEIVE]))
        inject(client, *[arp_request()] * 5)
        client.control.RunUntilIdle(pb.Empty())
        read = client.trace.Read(pb.ReadEventsRequest(id=sub.id))
        assert len(read.events) == 2
        assert read.lost == 3
        counters = {c.name: c.value for c in client.control.ReadCounters(pb.Empty()).counters}
        assert counters["trace.lost"] == 3
    finally:
        client.close()
        server.stop()


def test_stream_delivers_live_events(dut):
    stream = dut.trace.Stream(pb.TraceFilter(events=[RECEIVE]), timeout=60)
    # The subscription is made when the server handles the call; its initial
    # metadata says it is in place.
    stream.initial_metadata()
    inject(dut, arp_request())
    dut.control.RunUntilIdle(pb.Empty())
    event = next(stream)
    assert event.name == RECEIVE and fields(event)["name"] == DUT_DEV
    stream.cancel()


def test_stream_losses_are_reported_as_trace_lost(tmp_path):
    """A client that does not read while the engine produces: the bounded queue
    overflows, and every frame is accounted for as an event or in a trace:lost count."""
    server = start_server(tmp_path, "--stream-queue", "16")
    # No BDP probing: the HTTP/2 window stays at its 64 KiB default, so an unread
    # stream backs up into the server's queue.
    client = Client(server.address, options=[("grpc.http2.bdp_probe", 0)])
    try:
        create_dut(client.control)
        stream = client.trace.Stream(pb.TraceFilter(events=[RECEIVE]), timeout=120)
        stream.initial_metadata()  # sent once the subscription is in place
        inject(client, arp_request())
        client.control.RunUntilIdle(pb.Empty())
        assert next(stream).name == RECEIVE
        client.nic.ReadWire(pb.ReadWireRequest())

        frames = 0
        for _ in range(200):
            reply = inject(client, *[arp_request()] * 200)
            assert reply.rx_missed == 0
            frames += reply.queued
            client.control.RunUntilIdle(pb.Empty())
            client.nic.ReadWire(pb.ReadWireRequest())

        seen = lost = 0
        while seen + lost < frames:
            event = next(stream)
            if event.name == "trace:lost":
                lost += int(fields(event)["count"])
            else:
                assert event.name == RECEIVE
                seen += 1
        assert seen + lost == frames
        assert lost > 0
        counters = {c.name: c.value for c in client.control.ReadCounters(pb.Empty()).counters}
        assert counters["trace.lost"] == lost
        stream.cancel()
    finally:
        client.close()
        server.stop()
