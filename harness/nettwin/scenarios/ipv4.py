"""The IPv4 family of scenarios: ARP and neighbours, ICMP, IP header checks,
fragments, routing and forwarding (the frames and steps: model.py)."""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from .model import (BEHIND_GATEWAY_IP, DUT1_IP, DUT_IP, DUT_MAC, ECHO_ID, ECHO_IP_ID, ECHO_PAYLOAD, ECHO_SEQ,
                    FAR_IFACE, FAR_IP, FAR_MAC, GATEWAY_IP, GATEWAY_MAC, OTHER_MAC, TESTER_IP, TESTER_MAC,
                    Scenario, Send, Wait, _add, arp_who_has, echo_request, send)


def ip_packet(dst: str, src: str = TESTER_IP, ttl: int = 64, payload_len: int = 32,
              df: bool = False, ip_id: int = ECHO_IP_ID, seq: int = ECHO_SEQ) -> Ether:
    """An ICMP echo request from the tester to the DUT's MAC for any IP destination
    (to be forwarded, or with a martian address), payload_len bytes of payload."""
    payload = bytes((0x20 + i % 0x5f) for i in range(payload_len))
    return (Ether(src=TESTER_MAC, dst=DUT_MAC)
            / IP(src=src, dst=dst, id=ip_id, ttl=ttl, flags="DF" if df else 0)
            / ICMP(type=8, code=0, id=ECHO_ID, seq=seq) / payload)


def with_bad_ip_checksum(frame: Ether) -> Ether:
    """The frame with its IPv4 header checksum wrong (and only that wrong)."""
    good = Ether(bytes(frame))[IP].chksum
    out = Ether(bytes(frame))
    out[IP].chksum = good ^ 0x00FF
    return out


def truncated(frame: Ether, claimed_total_length: int) -> Ether:
    """The frame with an IPv4 total length larger than the bytes present (and a
    header checksum that is right for that length, so only the length is wrong)."""
    out = Ether(bytes(frame))
    out[IP].len = claimed_total_length
    out[IP].chksum = None
    out[ICMP].chksum = None
    return Ether(bytes(out))




_add(Scenario(
    "arp_then_echo",
    "ARP who-has 198.51.100.2 from the tester, then 100 ms later an ICMP echo request to it",
    (send(arp_who_has()), Wait(100), send(echo_request()))))

_add(Scenario(
    "echo_bad_ip_csum",
    "an ICMP echo request whose IPv4 header checksum is wrong: dropped at IP_CSUM",
    (send(with_bad_ip_checksum(echo_request())),)))

_add(Scenario(
    "other_mac",
    "an ICMP echo request sent to MAC 02:00:00:00:01:99, not the DUT's: dropped as OTHERHOST",
    (send(echo_request(dst_mac=OTHER_MAC)),)))

_add(Scenario(
    "truncated_ipv4",
    "an ICMP echo request whose IPv4 total length (128) is larger than the 60 bytes present",
    (send(truncated(echo_request(), 128)),)))

_add(Scenario(
    "ipv4_version5",
    "an ICMP echo request whose IP header says version 5 (checksum right)",
    (send(echo_request(version=5)),)))


# ------------------------------------------------------- routing and forwarding

FORWARD_ON = (("net.ipv4.ip_forward", "1"),)
FAR_NEIGHBOUR = (("ntdut1", FAR_IP, FAR_MAC),)

_add(Scenario(
    "forward_off",
    "ip_forward=0: an echo request from the tester to the far host 203.0.113.1 (routed via "
    "ntdut1) arrives at the DUT and is not forwarded",
    (send(ip_packet(FAR_IP)),),
    topology="forwarding", dut_neighbours=FAR_NEIGHBOUR))

_add(Scenario(
    "forward_echo",
    "ip_forward=1: two echo requests from the tester to the far host are forwarded out of "
    "ntdut1 with TTL 63 (far neighbour permanent; the far host is muted)",
    (send(ip_packet(FAR_IP)), Wait(50), send(ip_packet(FAR_IP, ip_id=ECHO_IP_ID + 1, seq=2))),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR))

_add(Scenario(
    "forward_ttl_expired",
    "ip_forward=1: ARP from the tester, then an echo request to the far host with TTL 1: "
    "ICMP time exceeded back to the tester, nothing forwarded",
    (send(arp_who_has()), Wait(100), send(ip_packet(FAR_IP, ttl=1))),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR))

_add(Scenario(
    "forward_redirect",
    "ip_forward=1, route 203.0.113.100/32 via 198.51.100.3 on the tester's link: three echo "
    "requests to it are forwarded back out of ntdut0; the first draws an ICMP redirect, the "
    "next two are rate limited (ip_rt_send_redirect)",
    (send(arp_who_has()), Wait(100), send(ip_packet(BEHIND_GATEWAY_IP)),
     Wait(5), send(ip_packet(BEHIND_GATEWAY_IP, ip_id=ECHO_IP_ID + 1, seq=2)),
     Wait(5), send(ip_packet(BEHIND_GATEWAY_IP, ip_id=ECHO_IP_ID + 2, seq=3))),
    sysctls=FORWARD_ON, dut_routes=((BEHIND_GATEWAY_IP + "/32", GATEWAY_IP, "ntdut0"),),
    dut_neighbours=(("ntdut0", GATEWAY_IP, GATEWAY_MAC),)))

_add(Scenario(
    "forward_frag_needed",
    "ip_forward=1, ntdut1 MTU 1280: a 1400-byte echo request with DF to the far host draws "
    "ICMP fragmentation needed (mtu 1280); a 1000-byte one is forwarded",
    (send(arp_who_has()), Wait(100), send(ip_packet(FAR_IP, payload_len=1372, df=True)),
     Wait(20), send(ip_packet(FAR_IP, payload_len=972, df=True, ip_id=ECHO_IP_ID + 1, seq=2))),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR,
    dut_mtus=(("ntdut1", 1280),)))

_add(Scenario(
    "forward_echo_reply",
    "ip_forward=1: the tester pings the far host through the DUT, and the far host's echo reply "
    "(sent from ntfar0) is forwarded back to the tester (both neighbours from the scenario's ARP "
    "and the DUT's setup)",
    (send(arp_who_has()), Wait(100), send(ip_packet(FAR_IP)), Wait(20),
     Send(bytes(Ether(src=FAR_MAC, dst="02:00:00:00:02:02")
                / IP(src=FAR_IP, dst=TESTER_IP, id=0x2001, ttl=64)
                / ICMP(type=0, code=0, id=ECHO_ID, seq=ECHO_SEQ) / ECHO_PAYLOAD),
          "Ether / IP / ICMP 203.0.113.1 > 198.51.100.1 echo-reply", iface=FAR_IFACE)),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR))

_add(Scenario(
    "forward_fragmented",
    "ip_forward=1, ntdut1 MTU 1280: a 1400-byte echo request without DF to the far host is "
    "forwarded as two fragments (ip_fragment on the forwarding path)",
    (send(ip_packet(FAR_IP, payload_len=1372)),),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR,
    dut_mtus=(("ntdut1", 1280),)))

_add(Scenario(
    "martian_source",
    "ip_forward=1: ARP, then packets from martian or own sources are dropped at routing: "
    "127.0.0.1, 224.0.0.5, 0.0.0.0, the DUT's own 203.0.113.2 (to the DUT), and to 0.1.2.3",
    (send(arp_who_has()), Wait(100), send(ip_packet(DUT_IP, src="127.0.0.1")), Wait(10),
     send(ip_packet(FAR_IP, src="224.0.0.5")), Wait(10),
     send(ip_packet(FAR_IP, src="0.0.0.0")), Wait(10),
     send(ip_packet(DUT_IP, src=DUT1_IP)), Wait(10),
     send(ip_packet("0.1.2.3"))),
    sysctls=FORWARD_ON, topology="forwarding", dut_neighbours=FAR_NEIGHBOUR))

_add(Scenario(
    "forward_no_route_burst",
    "ip_forward=1, two hosts: ARP, then six echo requests to 203.0.113.1 (no route) 2 ms apart: "
    "ip_error's token bucket (ip_rt_error_cost / _burst) and the ICMP rate limit share the "
    "sender's inet_peer, so only the first few get net unreachable",
    (send(arp_who_has()), Wait(100))
    + tuple(x for i in range(6) for x in (send(ip_packet(FAR_IP, ip_id=ECHO_IP_ID + i, seq=1 + i)), Wait(2)))[:-1],
    sysctls=FORWARD_ON))

_add(Scenario(
    "forward_no_route",
    "ip_forward=1, two hosts: ARP, then an echo request to 203.0.113.1, for which the DUT "
    "has no route: ICMP destination unreachable (net unreachable) back to the tester",
    (send(arp_who_has()), Wait(100), send(ip_packet(FAR_IP))),
    sysctls=FORWARD_ON))



# ------------------------------------------------------- neighbours and ARP

TESTER_MAC_NEW = "02:00:00:00:01:03"   # the tester's "replaced NIC" in the update scenarios
UNUSED_IP = "198.51.100.7"              # an address nobody on the link has


def arp_is_at(hwsrc: str = TESTER_MAC) -> Ether:
    """The tester's ARP reply to the DUT's who-has 198.51.100.1 (unicast, as Linux answers)."""
    return (Ether(src=hwsrc, dst=DUT_MAC)
            / ARP(op=2, hwsrc=hwsrc, psrc=TESTER_IP, hwdst=DUT_MAC, pdst=DUT_IP))


def gratuitous_arp(hwsrc: str = TESTER_MAC) -> Ether:
    """A gratuitous ARP request: sender and target address both the tester's, broadcast."""
    return (Ether(src=hwsrc, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=hwsrc, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=TESTER_IP))


def arp_who_has_from(hwsrc: str, target: str = DUT_IP) -> Ether:
    return (Ether(src=hwsrc, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=hwsrc, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=target))


_add(Scenario(
    "neigh_unresolved_answered",
    "an echo request with no ARP before it: the DUT queues its reply, asks who-has 198.51.100.1, "
    "the tester answers 100 ms later and the queued reply goes out",
    (send(echo_request()), Wait(100), send(arp_is_at())),
    tags=("neigh",)))

_add(Scenario(
    "neigh_resolution_failure",
    "an echo request with no ARP before it and no ARP answer ever: the DUT probes "
    "mcast_solicit times, then the neighbour fails and the queued reply is dropped",
    (send(echo_request()),),
    settle_ms=4000, tags=("neigh",)))

_add(Scenario(
    "gratuitous_arp_then_echo",
    "a gratuitous ARP from the tester (no entry yet: arp_accept 0 ignores it), then an echo "
    "request whose reply needs resolving, answered by the tester",
    (send(gratuitous_arp()), Wait(100), send(echo_request()), Wait(100), send(arp_is_at())),
    tags=("neigh",)))

_add(Scenario(
    "gratuitous_arp_known_neighbour",
    "who-has from the tester, then a gratuitous ARP announcing a new MAC for 198.51.100.1 "
    "(overrides at once), then an echo request: the reply goes to the new MAC",
    (send(arp_who_has()), Wait(100), send(gratuitous_arp(TESTER_MAC_NEW)), Wait(100),
     send(echo_request())),
    tags=("neigh",)))

_add(Scenario(
    "arp_request_other_address",
    "an ARP who-has 198.51.100.7 (not the DUT's): ignored, no entry is made, no answer",
    (send(arp_who_has(UNUSED_IP)),),
    tags=("neigh",)))

_add(Scenario(
    "arp_request_new_sender_mac",
    "who-has 198.51.100.2 from the tester, then again 100 ms later with another sender MAC "
    "(requests for us always override), then an echo request: the reply goes to the new MAC",
    (send(arp_who_has()), Wait(100), send(arp_who_has_from(TESTER_MAC_NEW)), Wait(100),
     send(echo_request())),
    tags=("neigh",)))

_add(Scenario(
    "arp_reply_within_locktime",
    "who-has from the tester, then 100 ms later an unsolicited ARP reply with another MAC: "
    "within locktime (1 s) it does not override; the echo reply goes to the first MAC",
    (send(arp_who_has()), Wait(100), send(arp_is_at(TESTER_MAC_NEW)), Wait(100),
     send(echo_request())),
    tags=("neigh",)))


# ------------------------------------------- fragments, ICMP, header lengths (issue 3)

FRAG_IP_ID = 0x2001


def echo_datagram(payload_len: int, ip_id: int = FRAG_IP_ID, **ip_fields) -> IP:
    """An unfragmented echo request to the DUT with payload_len bytes of pattern
    (its checksums computed once, so its fragments carry the very same bytes)."""
    payload = bytes((0x20 + i) % 0x60 + 0x20 for i in range(payload_len))
    pkt = IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64, **ip_fields) / ICMP(
        type=8, code=0, id=ECHO_ID, seq=ECHO_SEQ) / payload
    return IP(bytes(pkt))


def ip_fragment_of(dgram: IP, offset: int, length: int, more: bool) -> Ether:
    """One fragment of dgram: IP payload bytes [offset, offset+length) (offset a
    multiple of 8), MF as given, header checksum recomputed."""
    data = bytes(dgram[IP].payload)[offset:offset + length]
    hdr = dgram.copy()
    hdr.remove_payload()
    hdr.flags = "MF" if more else 0
    hdr.frag = offset // 8
    hdr.len = None
    hdr.chksum = None
    return Ether(bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / hdr / data))


def echo_fragments(payload_len: int, size: int, ip_id: int = FRAG_IP_ID) -> list[Ether]:
    """An echo request of payload_len bytes cut into fragments of size payload bytes."""
    dgram = echo_datagram(payload_len, ip_id)
    total = len(bytes(dgram[IP].payload))
    return [ip_fragment_of(dgram, off, size, off + size < total) for off in range(0, total, size)]


def raw_ip(proto: int, payload: bytes = bytes(range(16)), dst: str = DUT_IP, ip_id: int = ECHO_IP_ID,
           dst_mac: str = DUT_MAC) -> Ether:
    return Ether(src=TESTER_MAC, dst=dst_mac) / IP(src=TESTER_IP, dst=dst, id=ip_id, ttl=64,
                                                   proto=proto) / payload


def with_ihl(frame: Ether, ihl: int, total_length: int | None = None) -> Ether:
    """The frame with its IPv4 header length field set to ihl (and total length if
    given), the header checksum recomputed over what the header then claims."""
    raw = bytearray(bytes(frame))
    raw[14] = 0x40 | ihl
    if total_length is not None:
        raw[16:18] = total_length.to_bytes(2, "big")
    raw[24:26] = b"\0\0"
    hlen = min(ihl * 4, len(raw) - 14)
    s = sum(int.from_bytes(raw[14 + i:16 + i], "big") for i in range(0, hlen - hlen % 2, 2))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    raw[24:26] = (~s & 0xFFFF).to_bytes(2, "big")
    return Ether(bytes(raw))


def with_bad_icmp_checksum(frame: Ether) -> Ether:
    out = Ether(bytes(frame))
    out[ICMP].chksum ^= 0x00FF
    return out


_F = echo_fragments(88, 32)          # 96-byte ICMP datagram: fragments at 0, 32, 64
_ARP = (send(arp_who_has()), Wait(100))

_add(Scenario(
    "frag_in_order",
    "ARP, then an ICMP echo request in three 32-byte fragments, in order: reassembled and answered",
    _ARP + tuple(send(f) for f in _F)))

_add(Scenario(
    "frag_out_of_order",
    "ARP, then an ICMP echo request in three fragments sent last, first, middle: reassembled and answered",
    _ARP + tuple(send(_F[i]) for i in (2, 0, 1))))

_add(Scenario(
    "frag_duplicate",
    "ARP, then an echo request in three fragments with the first one sent twice: the copy is dropped",
    _ARP + tuple(send(f) for f in (_F[0], _F[0], _F[1], _F[2]))))

_add(Scenario(
    "frag_overlap",
    "ARP, then fragments 0-31 and 16-47 of one echo request (overlapping, RFC 5722), then the "
    "rest: the overlap kills the queue",
    _ARP + (send(_F[0]), send(ip_fragment_of(echo_datagram(88), 16, 32, True)), send(_F[1]),
            send(_F[2]))))

_add(Scenario(
    "frag_timeout_first",
    "ARP, then only the first fragment of an echo request: after ipfrag_time (30 s) the queue "
    "expires and the DUT sends ICMP time exceeded (fragment reassembly)",
    _ARP + (send(_F[0]),), settle_ms=33000))

_add(Scenario(
    "frag_timeout_nofirst",
    "only the middle fragment of an echo request: the queue expires after 30 s, no ICMP is sent",
    (send(_F[1]),), settle_ms=33000))

_F_BIG = echo_fragments(2000, 1480, ip_id=0x2002)   # 2008-byte ICMP datagram in two fragments

_add(Scenario(
    "frag_echo_large",
    "ARP, then a 2028-byte echo request in two fragments: reassembled, and the 2028-byte reply "
    "leaves fragmented to the 1500-byte MTU",
    _ARP + tuple(send(f) for f in _F_BIG)))

_add(Scenario(
    "echo_broadcast_limited",
    "ARP, then an ICMP echo request to 255.255.255.255: ignored (icmp_echo_ignore_broadcasts 1)",
    _ARP + (send(Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(
        src=TESTER_IP, dst="255.255.255.255", id=ECHO_IP_ID, ttl=64) / ICMP(
        type=8, id=ECHO_ID, seq=ECHO_SEQ) / ECHO_PAYLOAD),)))

_add(Scenario(
    "echo_broadcast_subnet",
    "ARP, then an ICMP echo request to 198.51.100.255 (the DUT's address has no brd)",
    _ARP + (send(Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / IP(
        src=TESTER_IP, dst="198.51.100.255", id=ECHO_IP_ID, ttl=64) / ICMP(
        type=8, id=ECHO_ID, seq=ECHO_SEQ) / ECHO_PAYLOAD),)))

_add(Scenario(
    "unknown_proto",
    "ARP, then an IPv4 datagram of protocol 253 to the DUT: ICMP protocol unreachable, IP_NOPROTO",
    _ARP + (send(raw_ip(253)),)))

_add(Scenario(
    "icmp_ratelimit",
    "ARP, then 60 datagrams of protocol 253 in a burst: how many protocol unreachables "
    "the rate limits let out",
    _ARP + tuple(send(raw_ip(253, ip_id=0x3000 + i)) for i in range(60))))

_add(Scenario(
    "ip_ihl4",
    "an ICMP echo request whose IP header length field says 4 (16 bytes): IP_INHDR",
    (send(with_ihl(echo_request(), 4)),)))

_add(Scenario(
    "ip_ihl_beyond_packet",
    "an ICMP echo request (28-byte IP datagram) whose IP header length says 15 (60 bytes)",
    (send(with_ihl(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(
        src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID, ttl=64) / ICMP(type=8, id=ECHO_ID, seq=ECHO_SEQ), 15)),)))

_add(Scenario(
    "ip_totlen_below_ihl",
    "an ICMP echo request whose IP total length (20) is below its header length (24 bytes, ihl 6)",
    (send(with_ihl(echo_request(), 6, total_length=20)),)))

_add(Scenario(
    "icmp_bad_csum",
    "an ICMP echo request whose ICMP checksum is wrong: dropped at ICMP_CSUM",
    (send(with_bad_icmp_checksum(echo_request())),)))

_add(Scenario(
    "icmp_echo_ignore_all",
    "ARP, then an ICMP echo request with net.ipv4.icmp_echo_ignore_all=1: no reply",
    _ARP + (send(echo_request()),), sysctls=(("net.ipv4.icmp_echo_ignore_all", "1"),)))


def icmp_error_to_dut(icmp_type: int, code: int, rest: int = 0) -> Ether:
    """An ICMP error from the tester quoting a UDP datagram the DUT (198.51.100.2:12345)
    sent to the tester's port 53."""
    from scapy.layers.inet import UDP
    from scapy.layers.inet import UDP
    from scapy.utils import checksum
    quoted = bytes(IP(src=DUT_IP, dst=TESTER_IP, id=0x0101, ttl=64) / UDP(sport=12345, dport=53)
                   / b"nettwin!")
    body = bytes([icmp_type, code, 0, 0]) + rest.to_bytes(4, "big") + quoted
    c = checksum(body)
    body = body[:2] + c.to_bytes(2, "big") + body[4:]
    return Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID,
                                                   ttl=64, proto=1) / body


_add(Scenario(
    "unknown_proto_tos",
    "ARP, then a protocol-253 datagram with TOS 0xb9: the protocol unreachable's TOS and precedence",
    _ARP + (send(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(
        src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID, ttl=64, proto=253, tos=0xb9) / bytes(range(16))),)))

_add(Scenario(
    "echo_tos",
    "ARP, then an ICMP echo request with TOS 0xb9: the reply keeps the request's TOS",
    _ARP + (send(echo_request(tos=0xb9)),)))

def timestamp_request(originate: int, seq: int = ECHO_SEQ) -> Ether:
    """ICMP timestamp request (type 13): originate as given, receive and transmit 0."""
    return (Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID + 0x40 + seq, ttl=64)
            / ICMP(type=13, code=0, id=ECHO_ID, seq=seq, ts_ori=originate, ts_rx=0, ts_tx=0))


_add(Scenario(
    "icmp_timestamp_request",
    "ARP, then two ICMP timestamp requests 300 ms apart: each reply echoes the originate time and "
    "carries the DUT's clock (ms since midnight UT) as receive and transmit time",
    _ARP + (Wait(200), send(timestamp_request(12_345_678)), Wait(300), send(timestamp_request(0x80000001, seq=2)))))

_add(Scenario(
    "frag_bad_end",
    "ARP, then the last fragment of an echo request twice with different ends: the queue is discarded",
    _ARP + (send(_F[2]), send(ip_fragment_of(echo_datagram(88), 64, 24, False)), send(_F[0]),
            send(_F[1]))))

_add(Scenario(
    "frag_timeout_partial",
    "ARP, then the first and last fragments of an echo request, never the middle: after 30 s "
    "ICMP time exceeded quotes the first, and both are freed",
    _ARP + (send(_F[0]), send(_F[2])), settle_ms=33000))

_add(Scenario(
    "icmp_errors_in",
    "ICMP port unreachable, fragmentation needed (mtu 1280), parameter problem and an unknown "
    "type 42 to the DUT, each quoting a UDP datagram from it",
    (send(icmp_error_to_dut(3, 3)), send(icmp_error_to_dut(3, 4, 1280)),
     send(icmp_error_to_dut(12, 0, 0x14000000)), send(icmp_error_to_dut(42, 0)))))

_add(Scenario(
    "icmp_ratelimit_refill",
    "ARP, then 8 protocol-253 datagrams, 1.1 s later 3 more: the per-destination bucket "
    "refills one token per icmp_ratelimit",
    _ARP + tuple(send(raw_ip(253, ip_id=0x3100 + i)) for i in range(8)) + (Wait(1100),)
    + tuple(send(raw_ip(253, ip_id=0x3200 + i)) for i in range(3))))


_add(Scenario(
    "unknown_proto_large",
    "ARP, then a 1020-byte protocol-253 datagram: the protocol unreachable quotes only what "
    "fits in 576 bytes",
    _ARP + (send(raw_ip(253, bytes(i % 256 for i in range(1000)))),)))


def echo_with_options(raw_options: bytes) -> Ether:
    """An echo request to the DUT whose IP header carries raw_options (a multiple of 4 bytes)."""
    from scapy.layers.inet import IPOption
    return echo_request(options=[IPOption(raw_options)])


_add(Scenario(
    "ip_option_bad_rr",
    "ARP, then an echo request with a record-route option of length 2: ICMP parameter "
    "problem pointing at the length byte, datagram dropped",
    _ARP + (send(echo_with_options(b"\x07\x02\x00\x00")),)))

_add(Scenario(
    "ip_option_overlong",
    "ARP, then an echo request with an option whose length (12) runs past the 4-byte option "
    "area: ICMP parameter problem pointing at the option",
    _ARP + (send(echo_with_options(b"\x88\x0c\x00\x00")),)))

_add(Scenario(
    "ip_option_lsrr",
    "ARP, then an echo request with a loose source route via 203.0.113.9: dropped "
    "(accept_source_route 0), no answer",
    _ARP + (send(echo_with_options(b"\x83\x07\x04\xcb\x00\x71\x09\x00")),)))


# ------------------------------------------------ neighbours and ARP (more)


def echo_request_seq(seq: int) -> Ether:
    """The standard echo request with its own sequence number and IP ID."""
    return (Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID + seq, ttl=64)
            / ICMP(type=8, code=0, id=ECHO_ID, seq=seq) / ECHO_PAYLOAD)


_add(Scenario(
    "neigh_unresolved_three_queued",
    "three echo requests 10 ms apart with no ARP before them: one who-has, the three replies "
    "wait in the neighbour's queue and leave in order once the tester answers",
    (send(echo_request_seq(1)), Wait(10), send(echo_request_seq(2)), Wait(10), send(echo_request_seq(3)),
     Wait(100), send(arp_is_at())),
    tags=("neigh",)))

_add(Scenario(
    "gratuitous_arp_accept",
    "with arp_accept 1, a gratuitous ARP from the tester creates a stale entry, so the reply to "
    "the echo request that follows needs no who-has",
    (send(gratuitous_arp()), Wait(100), send(echo_request())),
    tags=("neigh",), sysctls=(("net.ipv4.conf.all.arp_accept", "1"),)))

_add(Scenario(
    "arp_ignore_8",
    "with arp_ignore 8, an ARP who-has for the DUT's own address is not answered (and makes no entry)",
    (send(arp_who_has()),),
    tags=("neigh",), sysctls=(("net.ipv4.conf.all.arp_ignore", "8"),)))

_add(Scenario(
    "echo_record_route",
    "ARP, then an echo request with an empty two-slot record-route option: the reply echoes "
    "the option with the DUT's address recorded on the way in and on the way out",
    _ARP + (send(echo_with_options(b"\x07\x0b\x04" + bytes(8) + b"\x00")),)))

_add(Scenario(
    "neigh_unres_qlen_bytes_1",
    "unres_qlen_bytes 1 on the DUT's device: of three replies waiting for resolution each one "
    "pushes out the older ones (NEIGH_QUEUEFULL); only the third leaves once the tester answers",
    (send(echo_request_seq(1)), Wait(10), send(echo_request_seq(2)), Wait(10), send(echo_request_seq(3)),
     Wait(100), send(arp_is_at())),
    tags=("neigh",), sysctls=(("net.ipv4.neigh.{dev}.unres_qlen_bytes", "1"),)))

_add(Scenario(
    "neigh_mcast_solicit_1",
    "mcast_solicit 1 and retrans_time_ms 200 on the DUT's device: one who-has for the reply's "
    "next hop, no answer, resolution fails 200 ms later",
    (send(echo_request()),),
    settle_ms=1500, tags=("neigh",),
    sysctls=(("net.ipv4.neigh.{dev}.mcast_solicit", "1"), ("net.ipv4.neigh.{dev}.retrans_time_ms", "200"))))

_add(Scenario(
    "unknown_proto_tos_ecn",
    "ARP, then a protocol-253 datagram with TOS 0x0e (an ECN bit set): which TOS bits the "
    "protocol unreachable keeps",
    _ARP + (send(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(
        src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID, ttl=64, proto=253, tos=0x0e) / bytes(range(16))),)))

_add(Scenario(
    "arp_reply_unsolicited",
    "an ARP reply nobody asked for, from 198.51.100.1 (arp_accept 0: no entry is made), then an "
    "echo request whose reply needs resolving, answered by the tester",
    (send(arp_is_at()), Wait(100), send(echo_request()), Wait(100), send(arp_is_at())),
    tags=("neigh",)))

_add(Scenario(
    "arp_dad_probe",
    "an ARP probe for 198.51.100.2 with sender address 0.0.0.0 (duplicate address detection): "
    "the DUT defends its address with a reply to the prober's MAC and makes no entry",
    (send(Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff")
          / ARP(op=1, hwsrc=TESTER_MAC, psrc="0.0.0.0", hwdst="00:00:00:00:00:00", pdst=DUT_IP)),),
    tags=("neigh",)))

_F_BIG3 = echo_fragments(3000, 1480, ip_id=0x2003)   # 3008-byte ICMP datagram in three fragments

_add(Scenario(
    "frag_echo_large3",
    "ARP, then a 3028-byte echo request in three fragments (1480, 1480, 48): the middle one "
    "cannot be coalesced into the head and rides on its frag_list",
    _ARP + tuple(send(f) for f in _F_BIG3)))
