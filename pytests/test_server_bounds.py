"""Bounded memory and bounded replies in the real nettwin-server: a reply takes out
of the server only what it carries (ReadWire, Trace.Read), the wire keeps a bounded
backlog per device and counts what it could not keep, trace subscriptions are
limited in number, and live streams cost no thread each."""

import grpc
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether

from server_fixtures import (
    DUT_DEV, DUT_IP, DUT_MAC, EXIT_GUARD_S, TESTER_IP, TESTER_MAC, Client, arp_request,
    create_dut, pb, pb_grpc, start_server,
)

RECEIVE = "net:netif_receive_skb"
FLOOD = 100_000
BATCH = 500  # below the veth backlog (netdev_max_backlog 1000): nothing is missed


def proc_status(server, field):
    """A /proc/<pid>/status field of the server as a number (VmRSS in kB, Threads)."""
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"no {field} in /proc/{server.proc.pid}/status")


def counters(client):
    return {c.name: c.value for c in client.control.ReadCounters(pb.Empty()).counters}


def icmp_checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def numbered_echo_requests(count, payload):
    """count echo requests from the tester, told apart by ICMP id (high bits) and seq."""
    template = bytes(Ether(dst=DUT_MAC, src=TESTER_MAC) / IP(src=TESTER_IP, dst=DUT_IP)
                     / ICMP(type=8, id=0, seq=0) / payload)
    head, icmp = template[:34], bytearray(template[34:])
    for n in range(count):
        icmp[2:8] = b"\0\0" + (n >> 16).to_bytes(2, "big") + (n & 0xFFFF).to_bytes(2, "big")
        icmp[2:4] = icmp_checksum(bytes(icmp)).to_bytes(2, "big")
        yield head + bytes(icmp)


def echo_number(frame):
    icmp = Ether(frame)[ICMP]
    assert icmp.type == 0, "an echo reply"
    return (icmp.id << 16) | icmp.seq


def flood(client, frames):
    """Inject every frame, running the stack after each batch; returns how many."""
    batch, sent = [], 0

    def send():
        reply = client.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=batch, run_until_idle=True))
        assert (reply.queued, reply.rx_missed) == (len(batch), 0)
        return len(batch)

    for frame in frames:
        batch.append(pb.Frame(data=frame))
        if len(batch) == BATCH:
            sent += send()
            batch = []
    if batch:
        sent += send()
    return sent


def pinged_dut(client):
    create_dut(client.control)
    client.control.AddNeighbour(pb.NeighbourRequest(dev=DUT_DEV, ip=TESTER_IP, mac=TESTER_MAC,
                                                    state="permanent"))


@pytest.fixture
def server(tmp_path):
    server = start_server(tmp_path)
    yield server
    server.stop()


def test_read_wire_replies_are_bounded_and_lose_no_frame(server):
    """100k replies are more than gRPC's default 4 MiB: a client left at gRPC's
    defaults reads them all, in order, in replies it can receive."""
    client = Client(server.address)
    plain = grpc.insecure_channel(server.address)  # gRPC's default receive bound
    nic = pb_grpc.NicStub(plain)
    try:
        pinged_dut(client)
        client.nic.SetWireLimit(pb.WireLimit(dev=DUT_DEV, frames=2 * FLOOD))
        assert flood(client, numbered_echo_requests(FLOOD, b"x" * 32)) == FLOOD

        numbers, replies, remaining = [], 0, FLOOD
        while remaining:
            reply = nic.ReadWire(pb.ReadWireRequest())
            assert reply.ByteSize() <= 4 << 20
            assert reply.frames and reply.remaining == remaining - len(reply.frames)
            remaining = reply.remaining
            numbers += [echo_number(f.data) for f in reply.frames]
            replies += 1
        assert replies > 1, "the frames did not need more than one reply"
        assert numbers == list(range(FLOOD))

        # A bound chosen by the request holds too, and the count continues the rest.
        assert flood(client, numbered_echo_requests(1000, b"x" * 32)) == 1000
        taken = 0
        while True:
            reply = client.nic.ReadWire(pb.ReadWireRequest(dev=DUT_DEV, max=300, max_bytes=16_000))
            assert reply.ByteSize() <= 16_000 and len(reply.frames) <= 300
            taken += len(reply.frames)
            if not reply.remaining:
                break
        assert taken == 1000
        assert counters(client)[f"dev.{DUT_DEV}.wire_dropped"] == 0
    finally:
        plain.close()
        client.close()


def test_a_read_too_small_for_the_next_frame_takes_nothing(server):
    client = Client(server.address)
    try:
        create_dut(client.control)
        client.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(arp_request()))],
                                           run_until_idle=True))
        with pytest.raises(grpc.RpcError) as refused:
            client.nic.ReadWire(pb.ReadWireRequest(max_bytes=50))
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "max_bytes 50 is too small for the next frame" in refused.value.details()
        assert counters(client)[f"dev.{DUT_DEV}.wire_qlen"] == 1
        assert len(client.nic.ReadWire(pb.ReadWireRequest()).frames) == 1
    finally:
        client.close()


def test_trace_read_is_bounded_and_the_client_reads_every_event(server):
    from nettwin.client import Stack
    stack = Stack(address=server.address)
    client = Client(server.address)
    try:
        pinged_dut(client)
        sub = stack.subscribe([RECEIVE])
        raw = client.trace.Open(pb.TraceFilter(events=[RECEIVE]))
        assert flood(client, numbered_echo_requests(FLOOD, b"")) == FLOOD
        client.nic.SetWireLimit(pb.WireLimit(dev=DUT_DEV, frames=1))  # the replies are not the point

        events = sub.read()
        assert len(events) == FLOOD and sub.lost == 0
        assert all(e.name == RECEIVE for e in events)

        seen = 0
        while True:
            reply = client.trace.Read(pb.ReadEventsRequest(id=raw.id, max_bytes=64 << 10))
            assert reply.ByteSize() <= 64 << 10 and reply.lost == 0
            seen += len(reply.events)
            if not reply.remaining:
                break
        assert seen == FLOOD
        assert counters(client)["trace.lost"] == 0
    finally:
        client.close()
        stack.close()


def test_unread_wire_is_bounded_and_the_drops_counted(server):
    """100k full-size replies nobody reads: the wire keeps its default bound
    (64 MiB of frames), the rest is counted as wire_dropped, the stack sent them all."""
    client = Client(server.address)
    try:
        pinged_dut(client)
        rss_before = proc_status(server, "VmRSS")
        payload = b"y" * (1500 - 20 - 8)
        assert flood(client, numbered_echo_requests(FLOOD, payload)) == FLOOD
        rss_growth_mib = (proc_status(server, "VmRSS") - rss_before) / 1024
        seen = counters(client)
        kept, dropped = seen[f"dev.{DUT_DEV}.wire_qlen"], seen[f"dev.{DUT_DEV}.wire_dropped"]
        assert seen[f"dev.{DUT_DEV}.tx_packets"] == FLOOD
        assert kept == (64 << 20) // 1514
        assert kept + dropped == FLOOD
        # The frames alone would be 144 MiB unbounded; the bound keeps 64 MiB of them.
        assert rss_growth_mib < 112, f"server RSS grew {rss_growth_mib:.0f} MiB"

        limit = client.nic.SetWireLimit(pb.WireLimit(dev=DUT_DEV))
        assert (limit.frames, limit.bytes) == (65536, 64 << 20)
        taken = 0
        while True:
            reply = client.nic.ReadWire(pb.ReadWireRequest(max_bytes=pb.MAX_MESSAGE_BYTES))
            taken += len(reply.frames)
            if not reply.remaining:
                break
        assert taken == kept
    finally:
        client.close()


def test_wire_limit_is_checked(server):
    client = Client(server.address)
    try:
        create_dut(client.control)
        for request, words in [(pb.WireLimit(dev="eth9", frames=1), 'unknown device "eth9"'),
                               (pb.WireLimit(dev=DUT_DEV, bytes=1000), "smaller than ntdut0's max frame (1518)")]:
            with pytest.raises(grpc.RpcError) as refused:
                client.nic.SetWireLimit(request)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert words in refused.value.details()
    finally:
        client.close()


def test_subscriptions_are_limited_in_number(tmp_path):
    server = start_server(tmp_path, "--max-subscriptions", "3")
    client = Client(server.address)
    try:
        create_dut(client.control)
        first = client.trace.Open(pb.TraceFilter())
        client.trace.Open(pb.TraceFilter())
        stream = client.trace.Stream(pb.TraceFilter(events=[RECEIVE]), timeout=EXIT_GUARD_S)
        stream.initial_metadata()  # sent once the stream's subscription is in place
        client.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(arp_request()))],
                                           run_until_idle=True))
        assert next(stream).name == RECEIVE

        with pytest.raises(grpc.RpcError) as refused:
            client.trace.Open(pb.TraceFilter())
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "too many trace subscriptions: 3 are open" in refused.value.details()
        assert "--max-subscriptions 3" in refused.value.details()
        one_more = client.trace.Stream(pb.TraceFilter(), timeout=EXIT_GUARD_S)
        with pytest.raises(grpc.RpcError) as refused:
            next(one_more)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

        client.trace.Close(first)
        client.trace.Open(pb.TraceFilter())  # room again
        stream.cancel()
    finally:
        client.close()
        server.stop()


def test_events_held_for_all_subscriptions_share_one_budget(tmp_path):
    server = start_server(tmp_path, "--trace-budget", "1000")
    client = Client(server.address)
    try:
        pinged_dut(client)
        subs = [client.trace.Open(pb.TraceFilter(events=[RECEIVE])) for _ in range(3)]
        assert flood(client, numbered_echo_requests(800, b"")) == 800
        # Each subscription has room for all 800; together they hold at most 1000.
        held = counters(client)
        assert held["trace.held"] == 1000
        assert held["trace.lost"] == 3 * 800 - 1000

        delivered = 0
        for sub in subs:
            reply = client.trace.Read(pb.ReadEventsRequest(id=sub.id))
            assert reply.remaining == 0
            delivered += len(reply.events)
        assert delivered == 1000
        after = counters(client)
        assert after["trace.held"] == 0  # read events give their share back
        assert after["trace.lost"] == 3 * 800 - 1000

        # The budget is whole again: a fresh flood is held in full by one reader.
        for sub in subs[1:]:
            client.trace.Close(sub)
        assert flood(client, numbered_echo_requests(900, b"")) == 900
        assert counters(client)["trace.held"] == 900
        assert len(client.trace.Read(pb.ReadEventsRequest(id=subs[0].id)).events) == 900
    finally:
        client.close()
        server.stop()


def test_two_thousand_idle_streams_cost_no_thread_each(server):
    client = Client(server.address)
    streams = []
    try:
        create_dut(client.control)
        threads_before = proc_status(server, "Threads")
        rss_before = proc_status(server, "VmRSS")
        streams = [client.trace.Stream(pb.TraceFilter(events=[RECEIVE]), timeout=120)
                   for _ in range(2000)]
        for s in streams:
            s.initial_metadata()  # sent once the stream's subscription is in place
        client.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(arp_request()))],
                                           run_until_idle=True))
        assert all(next(s).name == RECEIVE for s in streams)

        threads = proc_status(server, "Threads")
        assert threads < threads_before + 32, f"{threads} threads for 2000 streams"
        rss_growth_mib = (proc_status(server, "VmRSS") - rss_before) / 1024
        assert rss_growth_mib < 256, f"server RSS grew {rss_growth_mib:.0f} MiB"

        # The engine still answers while they are open.
        client.nic.ReadWire(pb.ReadWireRequest())
        client.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(arp_request()))],
                                           run_until_idle=True))
        assert len(client.nic.ReadWire(pb.ReadWireRequest()).frames) == 1
        assert all(next(s).name == RECEIVE for s in streams)
    finally:
        for s in streams:
            s.cancel()
        client.close()
