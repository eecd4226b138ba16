"""ARP and ICMP echo through the real nettwin-server, frames built with Scapy."""

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from server_fixtures import (  # noqa: F401  (fixtures)
    DUT_DEV, DUT_IP, DUT_MAC, ECHO_ID, ECHO_PAYLOAD, ECHO_SEQ, TESTER_IP, TESTER_MAC,
    arp_request, client, dut, echo_request, inject, neighbour_probes_only, pb, server_process,
)


def wire_frames(client):
    return list(client.nic.ReadWire(pb.ReadWireRequest(dev=DUT_DEV)).frames)


def checksums_valid(packet):
    """Scapy recomputes a checksum that is deleted; a valid one survives that."""
    rebuilt = packet.copy()
    del rebuilt[IP].chksum
    del rebuilt[ICMP].chksum
    rebuilt = Ether(bytes(rebuilt))
    return rebuilt[IP].chksum == packet[IP].chksum and rebuilt[ICMP].chksum == packet[ICMP].chksum


def dut_ifindex(client):
    devices = client.control.ListDevices(pb.Empty()).devices
    return next(d.config.ifindex for d in devices if d.config.name == DUT_DEV)


def test_arp_request_is_answered(dut):
    reply = inject(dut, arp_request())
    assert (reply.queued, reply.rx_missed) == (1, 0)
    dut.control.RunUntilIdle(pb.Empty())

    frames = wire_frames(dut)
    assert len(frames) == 1
    assert frames[0].dev == DUT_DEV and frames[0].ifindex == dut_ifindex(dut)
    answer = Ether(frames[0].data)
    assert answer.dst == TESTER_MAC and answer.src == DUT_MAC and answer.type == 0x0806
    arp = answer[ARP]
    assert arp.op == 2
    assert (arp.hwsrc, arp.psrc) == (DUT_MAC, DUT_IP)
    assert (arp.hwdst, arp.pdst) == (TESTER_MAC, TESTER_IP)
    # The wire was read empty.
    assert wire_frames(dut) == []


def test_echo_request_is_answered(dut):
    inject(dut, arp_request())  # the DUT learns the tester's MAC from it
    inject(dut, echo_request())
    dut.control.RunUntilIdle(pb.Empty())

    frames = wire_frames(dut)
    answers = [Ether(f.data) for f in frames]
    assert [a.type for a in answers[:2]] == [0x0806, 0x0800]
    # Then the stack probes the tester on its own (neighbour STALE -> DELAY -> PROBE).
    for frame, answer in zip(frames[2:], answers[2:]):
        answer.time = frame.time_ns / 1e9
    assert neighbour_probes_only(answers[2:], after=frames[1].time_ns / 1e9)
    echo = answers[1]
    assert echo.dst == TESTER_MAC and echo.src == DUT_MAC
    assert echo[IP].src == DUT_IP and echo[IP].dst == TESTER_IP
    assert echo[ICMP].type == 0 and echo[ICMP].code == 0
    assert echo[ICMP].id == ECHO_ID and echo[ICMP].seq == ECHO_SEQ
    assert bytes(echo[ICMP].payload) == ECHO_PAYLOAD
    assert checksums_valid(echo)


def test_frames_left_on_the_wire_carry_virtual_time(dut):
    dut.control.Advance(pb.ClockRequest(ns=5_000_000))
    inject(dut, arp_request())
    now = dut.control.RunUntilIdle(pb.Empty()).now_ns
    frames = wire_frames(dut)
    assert len(frames) == 1
    assert 5_000_000 <= frames[0].time_ns <= now


def test_read_wire_max_leaves_the_rest(dut):
    inject(dut, arp_request(), arp_request())
    dut.control.RunUntilIdle(pb.Empty())
    first = dut.nic.ReadWire(pb.ReadWireRequest(dev=DUT_DEV, max=1)).frames
    rest = dut.nic.ReadWire(pb.ReadWireRequest(dev="")).frames
    assert len(first) == 1 and len(rest) == 1
    assert Ether(first[0].data)[ARP].op == 2 and Ether(rest[0].data)[ARP].op == 2


def test_inject_stream_batches_are_all_answered(dut):
    batches = [pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(arp_request()))] * 10)
               for _ in range(5)]
    reply = dut.nic.InjectStream(iter(batches))
    assert reply.queued + reply.rx_missed == 50
    dut.control.RunUntilIdle(pb.Empty())
    answers = [Ether(f.data) for f in wire_frames(dut)]
    assert len(answers) == reply.queued
    assert all(a[ARP].op == 2 and a[ARP].pdst == TESTER_IP for a in answers)


def test_inject_stream_can_run_the_stack_after_each_batch(dut):
    """4000 frames, more than the RX ring or backlog holds: received when each
    batch is followed by a run until idle, partly missed when not."""
    frame = pb.Frame(data=bytes(arp_request()))

    def batches(run):
        return iter([pb.InjectRequest(dev=DUT_DEV, frames=[frame] * 200, run_until_idle=run)
                     for _ in range(20)])

    running = dut.nic.InjectStream(batches(True))
    assert (running.queued, running.rx_missed) == (4000, 0)
    answers = dut.nic.ReadWire(pb.ReadWireRequest()).frames
    assert len(answers) == 4000

    piling_up = dut.nic.InjectStream(batches(False))
    assert piling_up.queued + piling_up.rx_missed == 4000
    assert piling_up.rx_missed > 0


def test_reset_gives_a_fresh_stack(dut):
    dut.control.Advance(pb.ClockRequest(ns=1000))
    dut.control.Reset(pb.ResetRequest(seed=3))
    assert dut.control.Now(pb.Empty()).now_ns == 0
    assert list(dut.control.ListDevices(pb.Empty()).devices) == []


def test_counters_count_the_received_frame(dut):
    inject(dut, arp_request())
    dut.control.RunUntilIdle(pb.Empty())
    counters = {c.name: c.value for c in dut.control.ReadCounters(pb.Empty()).counters}
    assert counters["trace.lost"] == 0
    assert counters.get(f"dev.{DUT_DEV}.rx_packets") == 1
