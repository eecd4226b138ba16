"""AF_PACKET scenarios: the DUT's program holds a packet socket (as tcpdump
does) while the tester talks to the DUT; what the socket reads - frames,
sockaddr_ll, PACKET_OUTGOING copies - is recorded on the real kernel.
"""
from __future__ import annotations

from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .model import DUT_MAC, TESTER_MAC, Scenario, Wait, arp_who_has, echo_request, send
from .model import _add
from .sock_steps import sock

AF_PACKET, SOCK_RAW, SOCK_DGRAM = 17, 3, 2
DUT_IFINDEX = 7102  # ntdut0 (recording/netns.py)
ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
ETH_P_EXPERIMENTAL = 0x88b5  # IEEE 802 local experimental: nobody answers it
SOL_SOCKET, SO_RCVBUF = 1, 8


def htons(v: int) -> int:
    return ((v & 0xff) << 8) | (v >> 8)


def _recv(h: str, n: int = 2048):
    return sock("recvfrom", h, len=n)


_add(Scenario(
    "packet_all_arp",
    "an ETH_P_ALL SOCK_RAW packet socket in the DUT reads the tester's ARP who-has (PACKET_BROADCAST) "
    "and the DUT's reply (PACKET_OUTGOING), then finds nothing (EAGAIN)",
    (send(arp_who_has()), sock("socket", "a", family=AF_PACKET, type=SOCK_RAW, proto=htons(ETH_P_ALL)),
     Wait(20), send(arp_who_has()), Wait(50), _recv("a"), _recv("a"), _recv("a"), sock("close", "a"))))

_add(Scenario(
    "packet_dgram_ip_bound",
    "an ETH_P_IP SOCK_DGRAM packet socket bound to the DUT's device reads an echo request without its "
    "Ethernet header; the echo reply and ARP are not for it",
    (send(arp_who_has()), sock("socket", "a", family=AF_PACKET, type=SOCK_DGRAM, proto=htons(ETH_P_IP)),
     sock("bind_ll", "a", ifindex=DUT_IFINDEX, protocol=ETH_P_IP), Wait(20), send(echo_request()), Wait(50),
     _recv("a"), _recv("a"), sock("getsockname", "a"), sock("close", "a"))))


def experimental_frame(src: str, dst: str, n: int = 46, fill: int = 0x5a) -> bytes:
    return bytes(Ether(src=src, dst=dst, type=ETH_P_EXPERIMENTAL) / Raw(bytes([fill]) * n))


_add(Scenario(
    "packet_send",
    "packet sockets in the DUT send: SOCK_RAW unbound without an address (ENXIO), a whole frame to "
    "ifindex 7102, one above MTU + header + VLAN (EMSGSIZE), one shorter than the Ethernet header "
    "(EINVAL), SOCK_DGRAM with a destination MAC; an ETH_P_ALL socket reads both as PACKET_OUTGOING "
    "but not the frame it sends itself (skb_loop_sk)",
    (send(arp_who_has()),
     sock("socket", "a", family=AF_PACKET, type=SOCK_RAW, proto=0),
     sock("socket", "b", family=AF_PACKET, type=SOCK_RAW, proto=htons(ETH_P_ALL)),
     sock("socket", "c", family=AF_PACKET, type=SOCK_DGRAM, proto=0),
     Wait(20),
     sock("send", "a", data=experimental_frame(DUT_MAC, TESTER_MAC)),
     sock("sendto_ll", "a", data=experimental_frame(DUT_MAC, TESTER_MAC), ifindex=DUT_IFINDEX),
     sock("sendto_ll", "a", data=bytes(1519), ifindex=DUT_IFINDEX),
     sock("sendto_ll", "a", data=bytes(10), ifindex=DUT_IFINDEX),
     sock("sendto_ll", "c", data=bytes([0x33]) * 46, ifindex=DUT_IFINDEX, protocol=ETH_P_EXPERIMENTAL,
          addr=bytes.fromhex(TESTER_MAC.replace(":", "")).hex()),
     sock("sendto_ll", "b", data=experimental_frame(DUT_MAC, TESTER_MAC, fill=0x77), ifindex=DUT_IFINDEX),
     Wait(20), _recv("b"), _recv("b"), _recv("b"),
     sock("close", "a"), sock("close", "b"), sock("close", "c"))))

_add(Scenario(
    "packet_rcvbuf_overflow",
    "a SOCK_RAW socket for the experimental ethertype 0x88b5 with SO_RCVBUF 1 (2304 bytes) gets 6 "
    "frames: those past the buffer are dropped in packet_rcv as PACKET_SOCK_ERROR; the reader gets the rest",
    (send(arp_who_has()),
     sock("socket", "a", family=AF_PACKET, type=SOCK_RAW, proto=htons(ETH_P_EXPERIMENTAL)),
     sock("setsockopt", "a", level=SOL_SOCKET, name=SO_RCVBUF, value=1), Wait(20))
    + tuple(x for i in range(6) for x in (send(Ether(experimental_frame(TESTER_MAC, DUT_MAC, fill=i))), Wait(5)))
    + (Wait(20),) + tuple(_recv("a") for _ in range(7)) + (sock("close", "a"),)))
