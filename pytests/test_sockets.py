"""The Sockets service end to end: a UDP socket in the stack talks to
Scapy-built datagrams; errno comes back in the reply (not as a gRPC error);
harness faults are INVALID_ARGUMENT; blocking reads wait in virtual time."""
from __future__ import annotations

import errno

import grpc
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from nettwin.client import StackError
from nettwin.client.sockets import (AF_INET, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLLET, EPOLLIN,
                                    EPOLLONESHOT, EPOLLOUT, MSG_DONTWAIT, SOCK_DGRAM, SocketError)

DUT = "ntdut0"
DUT_MAC, TESTER_MAC = "02:00:00:00:01:02", "02:00:00:00:01:01"
DUT_IP, TESTER_IP = "198.51.100.2", "198.51.100.1"


@pytest.fixture
def dut(stack):
    stack.create_device(DUT, kind="veth", mac=DUT_MAC, ifindex=7102)
    stack.add_address(DUT, "198.51.100.2/24")
    return stack


def datagram(payload: bytes, sport=4000, dport=5000) -> Ether:
    return (Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / UDP(sport=sport, dport=dport)
            / Raw(payload))


def test_receive_a_scapy_datagram(dut):
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(fd, (DUT_IP, 5000))
    dut.inject(DUT, [datagram(b"hello")], run_until_idle=True)
    data, addr = dut.recvfrom(fd, 100)
    assert data == b"hello"
    assert addr == (TESTER_IP, 4000)
    assert dut.counters()["Udp.InDatagrams"] == 1


def test_send_reaches_the_wire(dut):
    dut.inject(DUT, [Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff")
                     / ARP(op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP, pdst=DUT_IP)], run_until_idle=True)
    dut.wire(DUT)
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(fd, (DUT_IP, 5000))
    assert dut.sendto(fd, b"from the stack", (TESTER_IP, 4000)) == 14
    dut.run_until_idle()
    out = [p for p in dut.wire(DUT) if UDP in p]
    assert len(out) == 1
    assert out[0][UDP].sport == 5000 and out[0][UDP].dport == 4000
    assert bytes(out[0][UDP].payload) == b"from the stack"
    assert out[0][IP].flags == "DF"


def test_errno_is_data_not_a_grpc_error(dut):
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    with pytest.raises(SocketError) as e:
        dut.recvfrom(fd, 100, MSG_DONTWAIT)
    assert e.value.errno == errno.EAGAIN
    r = dut.sockets.bind(fd, ("198.51.100.3", 5000), check=False)
    assert (r.ret, r.errno) == (-1, errno.EADDRNOTAVAIL)
    r = dut.sockets.listen(fd, 1, check=False)
    assert (r.ret, r.errno) == (-1, errno.EOPNOTSUPP)
    r = dut.sockets.close(99, check=False)
    assert (r.ret, r.errno) == (-1, errno.EBADF)


def test_blocking_read_advances_virtual_time(dut):
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(fd, (DUT_IP, 5000))
    before = dut.now()
    r = dut.sockets.recvfrom(fd, 100, 0, timeout_ns=7_000_000, check=False)
    assert r.errno == errno.EAGAIN
    assert r.now_ns == before + 7_000_000


@pytest.mark.parametrize("call, words", [
    (lambda s: s.sockets.bind(3, ("198.51.100.300", 1)), ["bad address ip", "198.51.100.300"]),
    (lambda s: s.sockets.bind(3, (DUT_IP, 70000)), ["bad port 70000"]),
    (lambda s: s.sockets.recvfrom(3, 10, 0, timeout_ns=10**13), ["timeout_ns", "one hour"]),
    (lambda s: s.sockets.setsockopt(3, 1, 2, 1, optlen=99999), ["optlen 99999"]),
    (lambda s: s.sockets._do("epoll_ctl", s.sockets.stub.EpollCtl,
                             s.pb.EpollCtlRequest(epfd=4, op=EPOLL_CTL_ADD, fd=3), True), ["event is required"]),
    (lambda s: s.sockets._do("epoll_create", s.sockets.stub.EpollCreate, s.pb.EpollCreateRequest(flags=1), True),
     ["flags belong to epoll_create1"]),
    (lambda s: s.sockets.epoll_wait(4, 1, timeout_ns=10**13), ["timeout_ns", "one hour"]),
])
def test_harness_faults_are_invalid_argument(dut, call, words):
    dut.socket(AF_INET, SOCK_DGRAM)
    with pytest.raises(StackError) as e:
        call(dut)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in e.value.message


def test_epoll_over_grpc(dut):
    """The Sockets service's epoll calls: the events in the ready list's order, each with its
    data word, level-triggered until read, EPOLLET once per datagram, errno as data."""
    a, b = dut.socket(AF_INET, SOCK_DGRAM), dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(a, (DUT_IP, 5000))
    dut.bind(b, (DUT_IP, 5001))
    ep = dut.sockets.epoll_create1()
    assert ep == b + 1                                   # the sockets' descriptor space
    dut.sockets.epoll_ctl(ep, EPOLL_CTL_ADD, a, EPOLLIN, data=2**40 + 1)
    dut.sockets.epoll_ctl(ep, EPOLL_CTL_ADD, b, EPOLLIN | EPOLLET)
    assert dut.sockets.epoll_wait(ep) == []
    dut.inject(DUT, [datagram(b"x", dport=5001), datagram(b"y", dport=5000)], run_until_idle=True)
    assert dut.sockets.epoll_wait(ep) == [(EPOLLIN, b), (EPOLLIN, 2**40 + 1)]
    assert dut.sockets.epoll_wait(ep) == [(EPOLLIN, 2**40 + 1)]     # b is edge-triggered
    dut.sockets.epoll_ctl(ep, EPOLL_CTL_MOD, b, EPOLLOUT | EPOLLONESHOT)
    assert dut.sockets.epoll_wait(ep, maxevents=1) == [(EPOLLIN, 2**40 + 1)]
    assert dut.sockets.epoll_wait(ep) == [(EPOLLOUT, b), (EPOLLIN, 2**40 + 1)]
    dut.sockets.epoll_ctl(ep, EPOLL_CTL_DEL, a)
    assert dut.sockets.epoll_wait(ep) == []
    r = dut.sockets.epoll_ctl(ep, EPOLL_CTL_DEL, a, check=False)
    assert (r.ret, r.errno) == (-1, errno.ENOENT)
    r = dut.sockets.epoll_create(0, check=False)
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    before = dut.now()
    r = dut.sockets.epoll_wait(ep, 4, timeout_ns=3_000_000, check=False)
    assert (r.ret, r.events, r.now_ns) == (0, [], before + 3_000_000)
    assert dut.sockets.close(ep) == 0
