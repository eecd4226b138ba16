"""TCP socket options through the real nettwin-server: a string (TCP_CONGESTION) and structs
(SO_LINGER's struct linger, TCP_INFO's struct tcp_info) travel as bytes, as a program passes
and reads them; ints and errnos are Linux's (do_tcp_setsockopt, sk_setsockopt)."""
from __future__ import annotations

import errno
import socket
import struct

import pytest

from nettwin.client.sockets import AF_INET, SOCK_STREAM, SocketError
from nettwin.client.tcp_info import decode

DUT, DUT_MAC, DUT_IP = "ntdut0", "02:00:00:00:01:02", "198.51.100.2"
SOL_TCP = socket.IPPROTO_TCP
TCP_CONGESTION, TCP_INFO, TCP_MAXSEG = 13, 11, 2
SO_LINGER = socket.SO_LINGER


@pytest.fixture
def dut(stack):
    stack.create_device(DUT, kind="veth", mac=DUT_MAC, ifindex=7102)
    stack.add_address(DUT, DUT_IP + "/24")
    return stack


def test_congestion_is_a_string_and_reads_back_as_its_16_byte_buffer(dut):
    fd = dut.socket(AF_INET, SOCK_STREAM)
    assert dut.getsockopt(fd, SOL_TCP, TCP_CONGESTION, optlen=16) == b"cubic".ljust(16, b"\0")
    assert dut.setsockopt(fd, SOL_TCP, TCP_CONGESTION, "reno") == 0
    assert dut.getsockopt(fd, SOL_TCP, TCP_CONGESTION, optlen=16) == b"reno".ljust(16, b"\0")
    assert dut.getsockopt(fd, SOL_TCP, TCP_CONGESTION, optlen=64) == b"reno".ljust(16, b"\0")
    assert dut.getsockopt(fd, SOL_TCP, TCP_CONGESTION, optlen=2) == b"re"
    with pytest.raises(SocketError) as e:
        dut.setsockopt(fd, SOL_TCP, TCP_CONGESTION, "nosuch")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(SocketError) as e:
        dut.setsockopt(fd, SOL_TCP, TCP_CONGESTION, b"")
    assert e.value.errno == errno.EINVAL
    assert dut.getsockopt(fd, SOL_TCP, TCP_CONGESTION, optlen=16).rstrip(b"\0") == b"reno"


def test_so_linger_is_a_struct(dut):
    fd = dut.socket(AF_INET, SOCK_STREAM)
    assert struct.unpack("ii", dut.getsockopt(fd, socket.SOL_SOCKET, SO_LINGER, optlen=8)) == (0, 0)
    assert dut.setsockopt(fd, socket.SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 7)) == 0
    assert struct.unpack("ii", dut.getsockopt(fd, socket.SOL_SOCKET, SO_LINGER, optlen=8)) == (1, 7)
    with pytest.raises(SocketError) as e:  # 1003.1g: the whole struct linger
        dut.setsockopt(fd, socket.SOL_SOCKET, SO_LINGER, struct.pack("i", 1))
    assert e.value.errno == errno.EINVAL


def test_tcp_info_reads_as_bytes(dut):
    fd = dut.socket(AF_INET, SOCK_STREAM)
    raw = dut.getsockopt(fd, SOL_TCP, TCP_INFO, optlen=512)
    assert len(raw) == 280  # sizeof(struct tcp_info) on 6.18
    info = decode(raw)
    assert info["state"] == 7  # TCP_CLOSE
    assert info["snd_cwnd"] == 10 and info["snd_mss"] == 536 and info["rto"] == 1_000_000
    listener = dut.socket(AF_INET, SOCK_STREAM)
    dut.bind(listener, (DUT_IP, 8080))
    dut.sockets.listen(listener, 8)
    info = decode(dut.getsockopt(listener, SOL_TCP, TCP_INFO, optlen=104))
    assert info["state"] == 10 and info["sacked"] == 8  # TCP_LISTEN; the backlog
    assert len(dut.getsockopt(fd, SOL_TCP, TCP_INFO, optlen=8)) == 8


def test_maxseg_int_and_its_bounds(dut):
    fd = dut.socket(AF_INET, SOCK_STREAM)
    assert dut.getsockopt(fd, SOL_TCP, TCP_MAXSEG) == 536
    dut.setsockopt(fd, SOL_TCP, TCP_MAXSEG, 500)
    assert dut.getsockopt(fd, SOL_TCP, TCP_MAXSEG) == 500
    for bad in (87, 32768):
        with pytest.raises(SocketError) as e:
            dut.setsockopt(fd, SOL_TCP, TCP_MAXSEG, bad)
        assert e.value.errno == errno.EINVAL
    with pytest.raises(SocketError) as e:
        dut.getsockopt(fd, SOL_TCP, 99)
    assert e.value.errno == errno.ENOPROTOOPT
