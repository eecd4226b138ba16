"""AF_PACKET sockets in the stack over the Sockets service: an ETH_P_ALL socket
sees an injected ARP request and the reply the stack sends, as tcpdump on the
device would; per-protocol sockets, SOCK_DGRAM, sending a frame, Linux's
errnos, and INVALID_ARGUMENT for malformed sockaddr_ll."""
from __future__ import annotations

import errno

import grpc
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from nettwin.client import StackError
from nettwin.client.sockets import (AF_INET, AF_PACKET, ARPHRD_ETHER, ETH_P_ALL, ETH_P_ARP, ETH_P_IP, MSG_DONTWAIT,
                             PACKET_BROADCAST, PACKET_HOST, PACKET_OUTGOING, SOCK_DGRAM, SOCK_RAW, LLAddr,
                             SocketError, htons)

DUT = "ntdut0"
IFINDEX = 7102
DUT_MAC, TESTER_MAC = "02:00:00:00:01:02", "02:00:00:00:01:01"
DUT_IP, TESTER_IP = "198.51.100.2", "198.51.100.1"


def mac(text: str) -> bytes:
    return bytes.fromhex(text.replace(":", ""))


@pytest.fixture
def dut(stack):
    stack.create_device(DUT, kind="veth", mac=DUT_MAC, ifindex=IFINDEX)
    stack.add_address(DUT, "198.51.100.2/24")
    return stack


def arp_request() -> Ether:
    return Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP,
                                                                pdst=DUT_IP)


def test_eth_p_all_sees_the_arp_request_and_the_reply(dut):
    fd = dut.socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))
    req = arp_request()
    dut.inject(DUT, [req], run_until_idle=True)
    frame, ll = dut.recvfrom(fd, 2048, MSG_DONTWAIT)
    assert frame == bytes(req)
    assert ll == LLAddr(IFINDEX, ETH_P_ARP, PACKET_BROADCAST, ARPHRD_ETHER, mac(TESTER_MAC))
    frame, ll = dut.recvfrom(fd, 2048, MSG_DONTWAIT)
    assert (ll.pkttype, ll.protocol, ll.addr) == (PACKET_OUTGOING, ETH_P_ARP, mac(DUT_MAC))
    reply = Ether(frame)
    assert reply[ARP].op == 2 and reply[ARP].psrc == DUT_IP and reply[ARP].pdst == TESTER_IP
    assert reply.dst == TESTER_MAC
    assert [bytes(p) for p in dut.wire(DUT)] == [frame]  # what the socket saw is what left
    with pytest.raises(SocketError) as e:
        dut.recvfrom(fd, 2048, MSG_DONTWAIT)
    assert e.value.errno == errno.EAGAIN


def test_per_protocol_dgram_socket_and_getsockname(dut):
    fd = dut.socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP))
    dut.bind(fd, LLAddr(ifindex=IFINDEX))  # protocol 0 keeps ETH_P_IP
    name = dut.sockets.getsockname(fd)
    assert name == LLAddr(IFINDEX, ETH_P_IP, 0, ARPHRD_ETHER, mac(DUT_MAC))
    echo = Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / ICMP(id=1, seq=1) / Raw(b"ping")
    dut.inject(DUT, [arp_request(), echo], run_until_idle=True)
    data, ll = dut.recvfrom(fd, 2048, MSG_DONTWAIT)
    assert data == bytes(echo[IP])  # SOCK_DGRAM: no Ethernet header
    assert (ll.protocol, ll.pkttype) == (ETH_P_IP, PACKET_HOST)
    r = dut.sockets.recvfrom(fd, 2048, MSG_DONTWAIT, check=False)
    assert r.errno == errno.EAGAIN  # neither ARP nor the sent echo reply


def test_send_a_frame_from_a_packet_socket(dut):
    tx = dut.socket(AF_PACKET, SOCK_DGRAM, 0)
    payload = bytes(ARP(op=1, hwsrc=DUT_MAC, psrc=DUT_IP, pdst=TESTER_IP))
    assert dut.sendto(tx, payload, LLAddr(IFINDEX, ETH_P_ARP, addr=mac(TESTER_MAC))) == len(payload)
    out = dut.wire(DUT)
    assert len(out) == 1
    assert out[0].dst == TESTER_MAC and out[0].src == DUT_MAC and out[0].type == ETH_P_ARP
    assert bytes(out[0].payload)[:len(payload)] == payload


def test_packet_errnos(dut):
    r = dut.sockets.socket(AF_PACKET, 1, 0, check=False)  # SOCK_STREAM
    assert r.errno == errno.ESOCKTNOSUPPORT
    fd = dut.socket(AF_PACKET, SOCK_RAW, 0)
    r = dut.sockets.send(fd, bytes(60), check=False)
    assert r.errno == errno.ENXIO  # unbound, no address
    r = dut.sockets.sendto(fd, bytes(1600), LLAddr(IFINDEX), check=False)
    assert r.errno == errno.EMSGSIZE
    r = dut.sockets.sendto(fd, bytes(60), LLAddr(IFINDEX), addrlen=16, check=False)
    assert r.errno == errno.EINVAL
    r = dut.sockets.bind(fd, LLAddr(ifindex=4242), check=False)
    assert r.errno == errno.ENODEV
    dut.set_link(DUT, False)
    r = dut.sockets.sendto(fd, bytes(60), LLAddr(IFINDEX), check=False)
    assert r.errno == errno.ENETDOWN
    udp = dut.socket(AF_INET, SOCK_DGRAM)
    r = dut.sockets.bind(udp, LLAddr(IFINDEX, ETH_P_IP), check=False)
    assert r.errno == errno.EAFNOSUPPORT


@pytest.mark.parametrize("addr,words", [
    (dict(family=AF_PACKET, ifindex=IFINDEX, protocol=70000), ["bad protocol 70000"]),
    (dict(family=AF_PACKET, ifindex=IFINDEX, hwaddr="02:00:zz"), ["bad hwaddr", "02:00:zz"]),
    (dict(family=AF_PACKET, hwaddr="01:02:03:04:05:06:07:08:09"), ["bad hwaddr"]),
    (dict(family=AF_PACKET, ip="198.51.100.2"), ["AF_PACKET address has no ip"]),
    (dict(family=AF_PACKET, pkttype=256), ["bad pkttype 256"]),
    (dict(ip=DUT_IP, port=1, ifindex=IFINDEX), ["ifindex", "AF_PACKET (17)"]),
])
def test_malformed_sockaddr_ll_is_invalid_argument(dut, addr, words):
    fd = dut.socket(AF_PACKET, SOCK_RAW, 0)
    pb = dut.pb
    with pytest.raises(StackError) as e:
        dut._call("Sockets.bind", dut.sockets.stub.Bind, pb.SockAddrRequest(fd=fd, addr=pb.SockAddr(**addr)))
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in str(e.value)


def test_wrapper_checks_sockaddr_ll(dut):
    fd = dut.socket(AF_PACKET, SOCK_RAW, 0)
    with pytest.raises(ValueError):
        dut.bind(fd, LLAddr(IFINDEX, addr=bytes(9)))
    with pytest.raises(ValueError, match="no device named 'nope0'"):
        dut.bind(fd, LLAddr("nope0"))
    with pytest.raises(TypeError):
        dut.bind(fd, LLAddr(IFINDEX, protocol="arp"))
    dut.bind(fd, LLAddr(DUT, ETH_P_ARP))  # a device name, like Python's own AF_PACKET tuples
    assert dut.sockets.getsockname(fd).ifindex == IFINDEX
