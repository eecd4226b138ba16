"""Floods against the real nettwin-server process: the neighbour table and
the inet_peer store stay bounded (Linux's gc_thresh3 and inet_peer_threshold),
the server's resident memory with them, and what was refused is counted.

Frames are built as raw bytes (100k Scapy packets would dominate the run) and
injected a ring's worth per call; senders come from 198.18.0.0/15 (RFC 2544's
benchmarking range: 100k on-link hosts), frames only ever travel in memory.
"""

import struct

from server_fixtures import (  # noqa: F401  (fixtures)
    DUT_DEV, DUT_IP, DUT_MAC, TESTER_MAC, client, pb, server_process)

RING = 4096
BENCH_NET = 0xC6120000  # 198.18.0.0
FIRST_SENDER = BENCH_NET + 2
FLOOD = 100_000
GC_THRESH3 = 1024
INET_PEER_THRESHOLD = 4096  # the low end of Linux's default (small machines): most of the flood is past it
PEER_MAX_GC = 32
MS = 1_000_000


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def ip_bytes(dotted):
    return bytes(int(x) for x in dotted.split("."))


def arp_request(sender):
    """Who has the DUT's address, asks sender (an unknown host on the link)."""
    return (b"\xff" * 6 + mac_bytes(TESTER_MAC) + b"\x08\x06"
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1)
            + mac_bytes(TESTER_MAC) + struct.pack("!I", sender) + b"\x00" * 6 + ip_bytes(DUT_IP))


def ip_checksum(header):
    total = sum(struct.unpack("!10H", header))
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def udp_to_closed_port(sender):
    """A datagram from sender to a port nobody listens on: port unreachable back."""
    payload = b"nett"
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + len(payload), 0, 0, 64, 17, 0,
                         struct.pack("!I", sender), ip_bytes(DUT_IP))
    header = header[:10] + struct.pack("!H", ip_checksum(header)) + header[12:]
    udp = struct.pack("!HHHH", 40000, 9, 8 + len(payload), 0) + payload
    return mac_bytes(DUT_MAC) + mac_bytes(TESTER_MAC) + b"\x08\x00" + header + udp


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def setup_flood_dut(client):
    client.control.CreateDevice(pb.DeviceConfig(name=DUT_DEV, kind="ring", mac=DUT_MAC,
                                                rx_ring_size=RING, tx_ring_size=RING))
    client.control.AddAddress(pb.AddressRequest(dev=DUT_DEV, cidr=DUT_IP + "/24"))
    client.control.AddAddress(pb.AddressRequest(dev=DUT_DEV, cidr="198.18.0.1/15"))


def flood(client, make_frame, first, count):
    """count frames from senders first, first+1, ...: a ring's worth per call,
    each handled 1 ms of virtual time later; what the stack sent is read off."""
    for start in range(first, first + count, RING):
        senders = range(start, min(start + RING, first + count))
        reply = client.nic.Inject(pb.InjectRequest(
            dev=DUT_DEV, frames=[pb.Frame(data=make_frame(s)) for s in senders]))
        assert reply.queued == len(senders) and reply.rx_missed == 0
        client.control.Advance(pb.ClockRequest(ns=MS))
        client.nic.ReadWire(pb.ReadWireRequest(dev=DUT_DEV))


def counters(client):
    return {c.name: c.value for c in client.control.ReadCounters(pb.Empty()).counters}


def set_sysctl(client, name, value):
    client.control.SetSysctl(pb.SysctlRequest(name=name, value=str(value)))


def test_arp_flood_from_100k_senders_keeps_the_table_and_memory_bounded(server_process, client):
    setup_flood_dut(client)
    pid = server_process.proc.pid
    flood(client, arp_request, FIRST_SENDER, 5_000)  # warm up: the table is full from here on
    rss_full = vm_rss_kib(pid)
    flood(client, arp_request, FIRST_SENDER + 5_000, FLOOD - 5_000)
    rss_after = vm_rss_kib(pid)

    c = counters(client)
    assert c["arp_cache.entries"] == GC_THRESH3
    assert c["arp_cache.allocs"] == GC_THRESH3
    assert c["arp_cache.table_fulls"] == FLOOD - GC_THRESH3
    assert c["arp_cache.forced_gc_runs"] == FLOOD - GC_THRESH3
    states = {n.state for n in client.control.ListNeighbours(pb.Empty()).neighbours}
    assert states == {"stale"}
    # 95k more senders once the table is full: an entry each would take
    # tens of MB; a bounded table takes none. 8 MB covers allocator and gRPC slack.
    assert rss_after - rss_full < 8 * 1024, f"VmRSS grew {rss_after - rss_full} KiB"


def test_icmp_error_flood_to_100k_destinations_keeps_peers_neighbours_and_memory_bounded(
        server_process, client):
    setup_flood_dut(client)
    # The netns-wide ICMP bucket would stop the errors, and the peer lookups, after its burst.
    set_sysctl(client, "net.ipv4.icmp_msgs_per_sec", 2147483647)
    set_sysctl(client, "net.ipv4.icmp_msgs_burst", 2147483647)
    set_sysctl(client, "net.ipv4.inet_peer_threshold", INET_PEER_THRESHOLD)
    pid = server_process.proc.pid
    flood(client, udp_to_closed_port, FIRST_SENDER, 5_000)  # both stores are full from here on
    rss_full = vm_rss_kib(pid)
    flood(client, udp_to_closed_port, FIRST_SENDER + 5_000, FLOOD - 5_000)
    rss_after = vm_rss_kib(pid)

    c = counters(client)
    assert c["Icmp.OutDestUnreachs"] == FLOOD
    assert INET_PEER_THRESHOLD - PEER_MAX_GC <= c["inet_peer.total"] <= INET_PEER_THRESHOLD
    assert c["inet_peer.total"] + c["inet_peer.gc_frees"] == FLOOD
    # Every error needs a neighbour: gc_thresh3 of them resolve (and hold their
    # queued error), the rest are refused and dropped (NEIGH_CREATEFAIL).
    assert c["arp_cache.entries"] == GC_THRESH3
    assert c["arp_cache.table_fulls"] == FLOOD - GC_THRESH3
    # 95k more destinations with both stores full: a peer each would take
    # about 10 MB, a neighbour and its queued error each far more.
    assert rss_after - rss_full < 4 * 1024, f"VmRSS grew {rss_after - rss_full} KiB"

    # Resolution fails after 3 probes; the periodic collector removes the FAILED entries.
    client.control.Advance(pb.ClockRequest(ns=4_000 * MS))
    assert counters(client)["arp_cache.res_failed"] == GC_THRESH3
    client.control.Advance(pb.ClockRequest(ns=60_000 * MS))
    c = counters(client)
    assert c["arp_cache.entries"] == 0
    assert c["arp_cache.destroys"] == c["arp_cache.allocs"] == GC_THRESH3
