"""UDP scenarios: datagrams from the tester and socket calls by the DUT's program
(sock_steps.Sock), recorded on the real kernel with their results.

Every scenario whose DUT transmits to the tester begins with the tester's ARP
who-has, so the DUT knows the tester's MAC from a frame in sent.pcap. Socket
calls with tracepoint events (connect's and sendto's route lookups) come after
the first frame, which is the recording's time origin.
"""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

import dataclasses

from .model import (DUT1_IP, DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC, Scenario, Send, Wait, arp_who_has, send)
from .model import _add as _add_scenario
from .sock_steps import sock

DUT_PORT = 5000
TESTER_PORT = 4000
UDP_IP_ID = 0x2001
PAYLOAD = b"nettwin udp payload 0123456789ab"   # 32 bytes

SOL_SOCKET, SOL_IP, SOL_UDP = 1, 0, 17
SO_REUSEADDR, SO_ERROR, SO_BROADCAST, SO_SNDBUF, SO_RCVBUF, SO_REUSEPORT = 2, 4, 6, 7, 8, 15
IP_TOS, IP_TTL, IP_RECVERR = 1, 2, 11
UDP_CORK = 1
MSG_MORE = 0x8000
POLLIN, POLLOUT = 1, 4
AF_UNSPEC = 0


def udp_to_dut(payload: bytes = PAYLOAD, sport: int = TESTER_PORT, dport: int = DUT_PORT, ip_id: int = UDP_IP_ID,
               dst: str = DUT_IP, dst_mac: str = DUT_MAC, chksum=None) -> Ether:
    u = UDP(sport=sport, dport=dport) if chksum is None else UDP(sport=sport, dport=dport, chksum=chksum)
    return Ether(bytes(Ether(src=TESTER_MAC, dst=dst_mac) / IP(src=TESTER_IP, dst=dst, id=ip_id, ttl=64)
                       / u / Raw(payload)))


def with_bad_udp_checksum(frame: Ether) -> Ether:
    out = Ether(bytes(frame))
    out[UDP].chksum = frame[UDP].chksum ^ 0x0F0F
    return Ether(bytes(out))


def port_unreach_from_tester(payload: bytes, sport: int = DUT_PORT, dport: int = TESTER_PORT) -> Ether:
    """ICMP port unreachable from the tester quoting a datagram the DUT sent it."""
    quoted = IP(src=DUT_IP, dst=TESTER_IP, id=0, flags="DF", ttl=64) / UDP(sport=sport, dport=dport) / Raw(payload)
    return Ether(bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=0x2101, ttl=64)
                       / ICMP(type=3, code=3) / Raw(bytes(quoted))))


def udp_fragments(payload_len: int, frag_size: int, ip_id: int = 0x2201) -> list[Ether]:
    """A datagram to the DUT's port cut into IP fragments of frag_size payload bytes."""
    data = bytes(i % 251 for i in range(payload_len))
    dgram = IP(bytes(IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64) / UDP(sport=TESTER_PORT, dport=DUT_PORT)
                     / Raw(data)))
    body = bytes(dgram.payload)
    out = []
    for off in range(0, len(body), frag_size):
        piece = body[off:off + frag_size]
        more = off + frag_size < len(body)
        ip = IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64, proto=17, flags="MF" if more else 0, frag=off // 8)
        out.append(Ether(bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / ip / Raw(piece))))
    return out


_ARP = (send(arp_who_has()), Wait(100))


def _add(s: Scenario) -> None:
    """Register s, opening with the tester's ARP who-has unless it opens with a frame:
    the first frame is the time origin, and socket calls (bind's local-table lookup,
    connect's routes) have events that must come after it."""
    if not isinstance(s.steps[0], Send):
        s = dataclasses.replace(s, steps=_ARP + tuple(s.steps))
    _add_scenario(s)


def _bound(h: str = "a", ip: str = DUT_IP, port: int = DUT_PORT, *before) -> tuple:
    return (sock("socket", h, family=2, type=2),) + tuple(before) + (sock("bind", h, ip=ip, port=port),)


def _recv(h: str = "a", n: int = 2048) -> object:
    return sock("recvfrom", h, len=n)


_add(Scenario(
    "udp_closed_port",
    "ARP, then a UDP datagram to port 5000 where nothing listens: ICMP port unreachable, NO_SOCKET",
    _ARP + (send(udp_to_dut()),)))

_add(Scenario(
    "udp_bound_socket",
    "a socket bound to 198.51.100.2:5000 receives a datagram; a second read finds nothing (EAGAIN)",
    _bound() + (Wait(20), send(udp_to_dut()), Wait(50), _recv(), _recv(), sock("getsockname", "a"))))

_add(Scenario(
    "udp_connected_wrong_peer",
    "a socket bound to 5000 and connected to 198.51.100.1:4000: a datagram from port 4001 gets port "
    "unreachable, one from 4000 is received",
    _bound() + _ARP + (sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), Wait(20),
                       send(udp_to_dut(sport=4001)), Wait(50), send(udp_to_dut(ip_id=UDP_IP_ID + 1)),
                       Wait(50), send(udp_to_dut(b"second datagram", ip_id=UDP_IP_ID + 2)), Wait(50),
                       _recv(), _recv(), _recv(), sock("getpeername", "a"))))

_add(Scenario(
    "udp_rcvbuf_overflow",
    "SO_RCVBUF 1 (so 2304 bytes), then 6 datagrams of 100 bytes: those past the buffer are dropped "
    "as SOCKET_RCVBUFF; the reader gets the rest",
    _bound("a", DUT_IP, DUT_PORT, sock("setsockopt", "a", level=SOL_SOCKET, name=SO_RCVBUF, value=1))
    + (sock("getsockopt", "a", level=SOL_SOCKET, name=SO_RCVBUF), Wait(20))
    + tuple(send(udp_to_dut(bytes([0x41 + i]) * 100, ip_id=UDP_IP_ID + i)) for i in range(6))
    + (Wait(50),) + tuple(_recv() for _ in range(7))))

_add(Scenario(
    "udp_zero_checksum",
    "a datagram with UDP checksum 0 (none) to a bound socket: received",
    _bound() + (Wait(20), send(udp_to_dut(chksum=0)), Wait(50), _recv())))

_add(Scenario(
    "udp_bad_checksum_bound",
    "a datagram with a wrong UDP checksum, then a good one, to a bound socket: the bad one is dropped "
    "(UDP_CSUM) when the reader reaches it, the good one is read",
    _bound() + (Wait(20), send(with_bad_udp_checksum(udp_to_dut())), send(udp_to_dut(ip_id=UDP_IP_ID + 1)),
                Wait(50), _recv(), _recv())))

_add(Scenario(
    "udp_bad_checksum_closed_port",
    "ARP, then a datagram with a wrong UDP checksum to a port nobody listens on: UDP_CSUM, no ICMP",
    _ARP + (send(with_bad_udp_checksum(udp_to_dut())),)))

_add(Scenario(
    "udp_broadcast_rx",
    "sockets on 0.0.0.0:5000 and 198.51.100.2:5000 (SO_REUSEADDR); a datagram to 255.255.255.255:5000 "
    "reaches the wildcard one only",
    _bound("a", "", DUT_PORT, sock("setsockopt", "a", level=SOL_SOCKET, name=SO_REUSEADDR, value=1))
    + _bound("b", DUT_IP, DUT_PORT, sock("setsockopt", "b", level=SOL_SOCKET, name=SO_REUSEADDR, value=1))
    + (Wait(20), send(udp_to_dut(dst="255.255.255.255", dst_mac="ff:ff:ff:ff:ff:ff")), Wait(50),
       _recv("a"), _recv("b"))))

_add(Scenario(
    "udp_broadcast_send",
    "ARP, then sendto 255.255.255.255 and 198.51.100.255 without SO_BROADCAST (EACCES), then "
    "SO_BROADCAST set and read back",
    _ARP + _bound() + (
        sock("sendto", "a", data=PAYLOAD, ip="255.255.255.255", port=TESTER_PORT),
        sock("sendto", "a", data=PAYLOAD, ip="198.51.100.255", port=TESTER_PORT),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_BROADCAST),
        sock("setsockopt", "a", level=SOL_SOCKET, name=SO_BROADCAST, value=1),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_BROADCAST))))

_add(Scenario(
    "udp_send_fragmented",
    "ARP, then the DUT sends a 3000-byte datagram (larger than the 1500 MTU): it leaves in fragments",
    _ARP + _bound() + (sock("sendto", "a", data=bytes(i % 256 for i in range(3000)), ip=TESTER_IP,
                            port=TESTER_PORT),)))

_add(Scenario(
    "udp_recv_fragmented",
    "a 2000-byte datagram to a bound socket in two IP fragments: reassembled and received",
    _bound() + (Wait(20),) + tuple(send(f) for f in udp_fragments(2000, 1480)) + (Wait(50), _recv("a", 4096))))

_add(Scenario(
    "udp_port_unreach_connected",
    "a connected socket sends; the tester answers ICMP port unreachable: the next send fails with "
    "ECONNREFUSED, the one after succeeds",
    _ARP + _bound() + (sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), sock("send", "a", data=PAYLOAD),
                       Wait(20), send(port_unreach_from_tester(PAYLOAD)), Wait(50),
                       sock("poll", "a", events=POLLIN | POLLOUT), sock("send", "a", data=b"again"),
                       sock("send", "a", data=b"third"), sock("recvfrom", "a", len=100))))

_add(Scenario(
    "udp_recverr_queue",
    "IP_RECVERR on a connected socket: the ICMP port unreachable is queued (MSG_ERRQUEUE read) and "
    "reported as ECONNREFUSED",
    _ARP + _bound() + (sock("setsockopt", "a", level=SOL_IP, name=IP_RECVERR, value=1),
                       sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), sock("send", "a", data=PAYLOAD),
                       Wait(20), send(port_unreach_from_tester(PAYLOAD)), Wait(50),
                       sock("getsockopt", "a", level=SOL_SOCKET, name=SO_ERROR),
                       sock("recvmsg_errqueue", "a", len=100), sock("recvfrom", "a", len=100),
                       sock("recvmsg_errqueue", "a", len=100))))

_add(Scenario(
    "udp_unconnected_port_unreach",
    "an unconnected socket sends; the ICMP port unreachable that comes back is not reported (no error)",
    _ARP + _bound() + (sock("sendto", "a", data=PAYLOAD, ip=TESTER_IP, port=TESTER_PORT), Wait(20),
                       send(port_unreach_from_tester(PAYLOAD)), Wait(50),
                       sock("getsockopt", "a", level=SOL_SOCKET, name=SO_ERROR), sock("recvfrom", "a", len=100))))

_add(Scenario(
    "udp_reuseport_specific",
    "SO_REUSEPORT sockets on 0.0.0.0:5000 and 198.51.100.2:5000: the datagram goes to the one bound "
    "to the address",
    _bound("a", "", DUT_PORT, sock("setsockopt", "a", level=SOL_SOCKET, name=SO_REUSEPORT, value=1))
    + _bound("b", DUT_IP, DUT_PORT, sock("setsockopt", "b", level=SOL_SOCKET, name=SO_REUSEPORT, value=1))
    + (Wait(20), send(udp_to_dut()), Wait(50), _recv("a"), _recv("b"))))

_add(Scenario(
    "udp_send_unresolved",
    "the DUT sends to 198.51.100.9, which never answers ARP: three probes, then the datagram is dropped",
    (send(arp_who_has()), Wait(100)) + _bound() + (
        sock("sendto", "a", data=PAYLOAD, ip="198.51.100.9", port=TESTER_PORT),),
    settle_ms=4500))

_add(Scenario(
    "udp_eaddrinuse",
    "bind conflicts: a second socket on 5000 (EADDRINUSE, also with SO_REUSEADDR on one side only), "
    "a foreign address (EADDRNOTAVAIL), binding twice (EINVAL); then a datagram reaches the first",
    _bound() + (
        sock("socket", "b", family=2, type=2), sock("bind", "b", ip=DUT_IP, port=DUT_PORT),
        sock("bind", "b", ip="", port=DUT_PORT),
        sock("setsockopt", "b", level=SOL_SOCKET, name=SO_REUSEADDR, value=1),
        sock("bind", "b", ip=DUT_IP, port=DUT_PORT),
        sock("bind", "b", ip="198.51.100.3", port=DUT_PORT),
        sock("bind", "a", ip=DUT_IP, port=DUT_PORT + 1),
        sock("bind", "b", ip=DUT_IP, port=DUT_PORT + 1), sock("getsockname", "b"),
        Wait(20), send(udp_to_dut()), Wait(50), _recv("a"), _recv("b"))))

_add(Scenario(
    "udp_connect_send_recv",
    "ARP; a socket bound to 5000 connects to the tester, sends, and reads two answers (the second "
    "through early demux, without a route lookup)",
    _ARP + _bound() + (sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), sock("getsockname", "a"),
                       sock("getpeername", "a"), sock("send", "a", data=b"ping from the DUT"), Wait(20),
                       send(udp_to_dut(b"pong 1")), Wait(50), send(udp_to_dut(b"pong 2", ip_id=UDP_IP_ID + 1)),
                       Wait(50), _recv(), _recv(), sock("connect", "a", ip="", port=0, family=AF_UNSPEC),
                       sock("getpeername", "a"))))

_add(Scenario(
    "udp_ttl_tos",
    "ARP; IP_TTL 7 and IP_TOS 0x10 on a socket: its datagram goes out with TTL 7 and TOS 0x10",
    _ARP + _bound() + (sock("setsockopt", "a", level=SOL_IP, name=IP_TTL, value=7),
                       sock("setsockopt", "a", level=SOL_IP, name=IP_TOS, value=0x10),
                       sock("getsockopt", "a", level=SOL_IP, name=IP_TTL),
                       sock("getsockopt", "a", level=SOL_IP, name=IP_TOS),
                       sock("sendto", "a", data=PAYLOAD, ip=TESTER_IP, port=TESTER_PORT))))

_add(Scenario(
    "udp_cork",
    "ARP; UDP_CORK on, two sendto calls, UDP_CORK off: one datagram with both; then MSG_MORE and a "
    "plain send do the same",
    _ARP + _bound() + (sock("setsockopt", "a", level=SOL_UDP, name=UDP_CORK, value=1),
                       sock("sendto", "a", data=b"corked-1 ", ip=TESTER_IP, port=TESTER_PORT),
                       sock("sendto", "a", data=b"corked-2", ip=TESTER_IP, port=TESTER_PORT),
                       sock("setsockopt", "a", level=SOL_UDP, name=UDP_CORK, value=0),
                       sock("sendto", "a", data=b"more-1 ", ip=TESTER_IP, port=TESTER_PORT, flags=MSG_MORE),
                       sock("sendto", "a", data=b"more-2", ip=TESTER_IP, port=TESTER_PORT))))

_add(Scenario(
    "udp_errno_edges",
    "calls that fail before any datagram: send unconnected (EDESTADDRREQ), listen/accept (EOPNOTSUPP), "
    "getpeername and shutdown unconnected (ENOTCONN), port 0 (EINVAL), 65508 bytes (EMSGSIZE), "
    "SO_SNDBUF/SO_RCVBUF doubling; then a datagram is still received",
    _bound() + (
        sock("send", "a", data=PAYLOAD), sock("getpeername", "a"), sock("listen", "a", backlog=1),
        sock("accept", "a"),
        sock("sendto", "a", data=PAYLOAD, ip=TESTER_IP, port=0),
        sock("sendto", "a", data=bytes(65508), ip=TESTER_IP, port=TESTER_PORT),
        sock("setsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF, value=10000),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF),
        sock("setsockopt", "a", level=SOL_SOCKET, name=SO_RCVBUF, value=100000),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_RCVBUF),
        sock("setsockopt", "a", level=SOL_IP, name=IP_TTL, value=0),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_ERROR),
        sock("poll", "a", events=POLLIN | POLLOUT),
        Wait(20), send(udp_to_dut()), Wait(50), sock("poll", "a", events=POLLIN | POLLOUT), _recv(),
        sock("shutdown", "a", how=2), sock("recvfrom", "a", len=100))))


# ------------------------------------------------------------------ raw sockets

def echo_to_dut(ip_id: int = 0x2301) -> Ether:
    return Ether(bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64)
                       / ICMP(type=8, id=0x4E55, seq=1) / Raw(PAYLOAD)))


_add(Scenario(
    "raw_icmp_socket",
    "ARP; a raw IPPROTO_ICMP socket gets a copy of an echo request (IP header included) while the "
    "kernel answers it; the socket then sends an echo request of its own",
    _ARP + (sock("socket", "r", family=2, type=3, proto=1), Wait(20), send(echo_to_dut()), Wait(50),
            sock("recvfrom", "r", len=2048), sock("recvfrom", "r", len=2048),
            sock("sendto", "r", data=bytes(ICMP(type=8, id=0x4E56, seq=7) / Raw(b"raw socket ping 0123")),
                 ip=TESTER_IP, port=0),
            sock("getsockname", "r"))))


MSG_PEEK = 0x2

_add(Scenario(
    "udp_peek_trunc_shutdown",
    "ARP; a connected socket peeks at a datagram, reads it into a 10-byte buffer (MSG_TRUNC), then "
    "shuts down: writing fails with EPIPE, reading says EAGAIN, poll reports the hang-up",
    _ARP + _bound() + (sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), Wait(20), send(udp_to_dut()),
                       Wait(50), sock("poll", "a", events=POLLIN | POLLOUT),
                       sock("recvfrom", "a", len=100, flags=MSG_PEEK), sock("recvfrom", "a", len=10),
                       sock("recvfrom", "a", len=100), sock("shutdown", "a", how=1),
                       sock("send", "a", data=PAYLOAD), sock("getsockopt", "a", level=SOL_SOCKET, name=SO_ERROR),
                       sock("poll", "a", events=POLLIN | POLLOUT), sock("shutdown", "a", how=0),
                       sock("recvfrom", "a", len=100), sock("poll", "a", events=POLLIN | POLLOUT))))


MSG_DONTWAIT = 0x40
UNRESOLVED_IP = "198.51.100.9"


def _arp_reply_from(ip: str) -> Ether:
    """An ARP reply for ip (from the tester's MAC) answering the DUT's who-has."""
    from scapy.layers.l2 import ARP
    return Ether(src=TESTER_MAC, dst=DUT_MAC) / ARP(op=2, hwsrc=TESTER_MAC, psrc=ip, hwdst=DUT_MAC, pdst=DUT_IP)


_add(Scenario(
    "udp_sndbuf_full",
    "SO_SNDBUF 1 (so 4608 bytes); non-blocking sends to 198.51.100.9, unresolved: the datagrams wait "
    "in the arp_queue still charged to sk_wmem_alloc until the buffer is full (EAGAIN, no POLLOUT); "
    "the ARP reply lets them leave, the charge goes back, POLLOUT returns and a send succeeds",
    _ARP + _bound("a", DUT_IP, DUT_PORT, sock("setsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF, value=1))
    + (sock("getsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF),)
    + tuple(sock("sendto", "a", data=PAYLOAD, ip=UNRESOLVED_IP, port=TESTER_PORT, flags=MSG_DONTWAIT)
            for _ in range(8))
    + (sock("poll", "a", events=POLLIN | POLLOUT), Wait(20), send(_arp_reply_from(UNRESOLVED_IP)), Wait(50),
       sock("poll", "a", events=POLLIN | POLLOUT),
       sock("sendto", "a", data=PAYLOAD, ip=UNRESOLVED_IP, port=TESTER_PORT, flags=MSG_DONTWAIT))))


SO_TYPE, SO_PROTOCOL, SO_DOMAIN = 3, 38, 39
MSG_OOB = 0x1

_add(Scenario(
    "udp_socket_call_errnos",
    "the socket calls' documented failures on an unbound UDP socket: SOCK_SEQPACKET (ESOCKTNOSUPPORT), "
    "DGRAM with IPPROTO_TCP (EPROTONOSUPPORT), connect to AF_INET6 (EAFNOSUPPORT) and to 203.0.113.5 "
    "(ENETUNREACH), listen/accept (EOPNOTSUPP), MSG_OOB (EOPNOTSUPP), 255.255.255.255 with no route "
    "(ENETUNREACH), SO_TYPE/SO_PROTOCOL/SO_DOMAIN, SO_SNDBUF doubled, getsockname unbound, "
    "getpeername and shutdown unconnected (ENOTCONN)",
    _ARP + (
        sock("socket", "x", family=2, type=5), sock("socket", "y", family=2, type=2, proto=6),
        sock("socket", "a", family=2, type=2), sock("getsockname", "a"),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_TYPE),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_PROTOCOL),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_DOMAIN),
        sock("setsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF, value=10000),
        sock("getsockopt", "a", level=SOL_SOCKET, name=SO_SNDBUF),
        sock("connect", "a", ip="203.0.113.5", port=TESTER_PORT),
        sock("listen", "a", backlog=1), sock("accept", "a"),
        sock("sendto", "a", data=PAYLOAD, ip=TESTER_IP, port=TESTER_PORT, flags=MSG_OOB),
        sock("sendto", "a", data=PAYLOAD, ip="255.255.255.255", port=TESTER_PORT),
        sock("sendto", "a", data=PAYLOAD, ip="203.0.113.5", port=TESTER_PORT),
        sock("getpeername", "a"), sock("shutdown", "a", how=0))))


# ------------------------------------------------------------------ bind forms
# Every way a server binds, and a client's autobound socket: __udp4_lib_lookup
# tries the sockets bound to the destination address, then those bound to
# 0.0.0.0. The forwarding topology gives the DUT a second local address,
# 203.0.113.2 on ntdut1, which a datagram from the tester on ntdut0 may name
# (the weak host model): one socket, two destinations.

EPHEMERAL_PORT = 40000
# ip_local_port_range of one port: the autobound port is then known in advance,
# on Linux and in the stack alike, so the tester's reply can be a fixed frame.
ONE_EPHEMERAL_PORT = (("net.ipv4.ip_local_port_range", f"{EPHEMERAL_PORT} {EPHEMERAL_PORT}"),)


def _reuse(h: str, opt: int) -> object:
    return sock("setsockopt", h, level=SOL_SOCKET, name=opt, value=1)


_add(Scenario(
    "udp_bind_wildcard",
    "a socket bound to 0.0.0.0:5000 receives datagrams to both of the DUT's addresses "
    "(198.51.100.2 and 203.0.113.2)",
    _bound("a", "") + (Wait(20), send(udp_to_dut()), Wait(20),
                       send(udp_to_dut(b"to the second address", ip_id=UDP_IP_ID + 1, dst=DUT1_IP)),
                       Wait(50), _recv(), _recv(), _recv(), sock("getsockname", "a")),
    topology="forwarding"))

_add(Scenario(
    "udp_bind_specific_other_address",
    "ARP; a socket bound to 198.51.100.2:5000; a datagram to the DUT's other address 203.0.113.2:5000 "
    "finds no socket (port unreachable from 203.0.113.2, NO_SOCKET); one to 198.51.100.2 is received",
    _ARP + _bound() + (Wait(20), send(udp_to_dut(dst=DUT1_IP)), Wait(20),
                       send(udp_to_dut(b"to the bound address", ip_id=UDP_IP_ID + 1)), Wait(50),
                       _recv(), _recv()),
    topology="forwarding"))

for _opt, _optname in ((SO_REUSEADDR, "reuseaddr"), (SO_REUSEPORT, "reuseport")):
    _add(Scenario(
        f"udp_bind_wildcard_and_specific_{_optname}",
        f"SO_{_optname.upper()} sockets on 0.0.0.0:5000 (a) and 198.51.100.2:5000 (b): a datagram to "
        "198.51.100.2 goes to b, one to 203.0.113.2 to a; b closed, the next to 198.51.100.2 goes to a",
        _bound("a", "", DUT_PORT, _reuse("a", _opt)) + _bound("b", DUT_IP, DUT_PORT, _reuse("b", _opt))
        + (Wait(20), send(udp_to_dut(b"to b")), Wait(20),
           send(udp_to_dut(b"to a via the other address", ip_id=UDP_IP_ID + 1, dst=DUT1_IP)), Wait(50),
           _recv("a"), _recv("b"), _recv("a"), _recv("b"), sock("close", "b"), Wait(20),
           send(udp_to_dut(b"to a now", ip_id=UDP_IP_ID + 2)), Wait(50), _recv("a"), _recv("a")),
        topology="forwarding"))

_add(Scenario(
    "udp_connected_wildcard",
    "ARP; a socket bound to 0.0.0.0:5000 connects to 198.51.100.1:4000 (its address becomes "
    "198.51.100.2): a datagram from port 4000 is received, one from 4001 gets port unreachable",
    _ARP + _bound("a", "") + (sock("connect", "a", ip=TESTER_IP, port=TESTER_PORT), sock("getsockname", "a"),
                              Wait(20), send(udp_to_dut(b"from the peer")), Wait(20),
                              send(udp_to_dut(b"from another port", sport=TESTER_PORT + 1, ip_id=UDP_IP_ID + 1)),
                              Wait(50), _recv(), _recv())))

_add(Scenario(
    "udp_autobind_reply",
    f"ARP; ip_local_port_range {EPHEMERAL_PORT} {EPHEMERAL_PORT}; an unbound socket sends to "
    f"198.51.100.1:4000 (autobound to 0.0.0.0:{EPHEMERAL_PORT}) and receives the tester's reply to "
    "that port",
    _ARP + (sock("socket", "a", family=2, type=2),
            sock("sendto", "a", data=b"request from an unbound socket", ip=TESTER_IP, port=TESTER_PORT),
            sock("getsockname", "a"), Wait(20),
            send(udp_to_dut(b"reply to the ephemeral port", dport=EPHEMERAL_PORT)), Wait(50),
            _recv(), _recv()),
    sysctls=ONE_EPHEMERAL_PORT))

# Neighbour confirmation: a datagram sent with MSG_CONFIRM restarts its neighbour's reachable time
# (__ip_append_data marks the first skb, ip_finish_output2's sock_confirm_neigh spends it); without it
# the entry the first send found STALE turns DELAY and, 5 s later, PROBE (the tester never answers).
MSG_CONFIRM = 0x800
CONFIRM_ROUNDS = 20   # a datagram every 300 ms: 5.7 s, past the first probe's 5 s


def _confirm_rounds(flags: int) -> tuple:
    return tuple(step for _ in range(CONFIRM_ROUNDS)
                 for step in (sock("sendto", "a", data=PAYLOAD, ip=TESTER_IP, port=TESTER_PORT, flags=flags),
                              Wait(300)))


_add(Scenario(
    "udp_msg_confirm",
    "base_reachable_time 1 s; ARP, then a datagram to the tester every 300 ms with MSG_CONFIRM: each "
    "confirms the neighbour as it leaves, so the entry its first send put in DELAY goes back to "
    "REACHABLE and stays: no ARP probe",
    _ARP + _bound() + _confirm_rounds(MSG_CONFIRM),
    sysctls=(("net.ipv4.neigh.{dev}.base_reachable_time_ms", "1000"),)))

_add(Scenario(
    "udp_no_confirm_probes",
    "base_reachable_time 1 s; ARP, then a datagram to the tester every 300 ms without MSG_CONFIRM: "
    "nothing confirms the neighbour, DELAY turns PROBE 5 s after the first send and a unicast ARP "
    "request goes out each retrans_time (three, the last after the sends, within the settle time)",
    _ARP + _bound() + _confirm_rounds(0),
    sysctls=(("net.ipv4.neigh.{dev}.base_reachable_time_ms", "1000"),), settle_ms=2000))
