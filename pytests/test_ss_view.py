"""The ss view over gRPC (Sockets.ListSockets, Stack.ss(), `nettwin ss`): UDP sockets bound,
connected and holding a datagram, listed with ss's columns; bad filters are INVALID_ARGUMENT."""
from __future__ import annotations

import subprocess

import grpc
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from nettwin.client import StackError
from nettwin.client.ss import format_ss, tcp_info_line
from nettwin.client.sockets import AF_INET, SOCK_DGRAM
from nettwin.client import tcp_info

DUT = "ntdut0"
DUT_MAC, TESTER_MAC = "02:00:00:00:01:02", "02:00:00:00:01:01"
DUT_IP, TESTER_IP = "198.51.100.2", "198.51.100.1"


@pytest.fixture
def dut(stack):
    stack.create_device(DUT, kind="veth", mac=DUT_MAC, ifindex=7102)
    stack.add_address(DUT, "198.51.100.2/24")
    return stack


def test_udp_sockets_as_ss_lists_them(dut):
    bound = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(bound, (DUT_IP, 5000))
    connected = dut.socket(AF_INET, SOCK_DGRAM)
    dut.connect(connected, (TESTER_IP, 4000))
    assert [r["fd"] for r in dut.ss()] == [bound, connected]
    rows = {r["fd"]: r for r in dut.ss()}
    assert rows[bound]["netid"] == "udp" and rows[bound]["state"] == "UNCONN"
    assert rows[bound]["local"] == f"{DUT_IP}:5000" and rows[bound]["peer"] == "0.0.0.0:*"
    assert rows[bound]["recv_q"] == 0
    assert rows[connected]["state"] == "ESTAB" and rows[connected]["peer"] == f"{TESTER_IP}:4000"
    assert rows[connected]["tcp_info"] is None and rows[connected]["timer"] == ""

    # A datagram waiting to be read shows in Recv-Q (sk_rmem_alloc: its truesize, more than its bytes).
    frame = Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / UDP(sport=4000, dport=5000) / Raw(b"x" * 100)
    dut.inject(DUT, [frame], run_until_idle=True)
    queued = {r["fd"]: r for r in dut.ss()}[bound]["recv_q"]
    assert queued > 100
    dut.recvfrom(bound, 200)
    assert {r["fd"]: r for r in dut.ss()}[bound]["recv_q"] == 0

    text = format_ss(dut.ss())
    lines = text.splitlines()
    assert lines[0].split() == ["Netid", "State", "Recv-Q", "Send-Q", "Local", "Address:Port", "Peer", "Address:Port"]
    assert lines[1].split() == ["udp", "UNCONN", "0", "0", f"{DUT_IP}:5000", "0.0.0.0:*"]


def test_filters(dut):
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    assert [r["fd"] for r in dut.ss(["udp"])] == [fd]
    assert dut.ss(["tcp"]) == []
    assert dut.ss(["raw", "packet"]) == []


def test_unknown_netid_is_invalid_argument(dut):
    with pytest.raises(StackError) as e:
        dut.ss(["sctp"])
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "sctp" in str(e.value) and "netids" in str(e.value)


def test_tcp_info_line_as_ss_prints_it():
    info = tcp_info.decode(bytes(tcp_info.SIZE))
    info.update(state=1, options=7, snd_wscale=7, rcv_wscale=7, rto=204000, rtt=1500, rttvar=750,
                snd_mss=1448, pmtu=1500, rcv_mss=536, advmss=1448, snd_cwnd=10, snd_ssthresh=0x7FFFFFFF,
                bytes_acked=1, segs_out=2, segs_in=1, min_rtt=1500, snd_wnd=64256, rcv_wnd=64256,
                reordering=3, pacing_rate=2**64 - 1)
    line = tcp_info_line(info, "cubic")
    assert line.startswith("\t ts sack cubic wscale:7,7 rto:204 rtt:1.5/0.75 mss:1448 pmtu:1500 rcvmss:536 "
                           "advmss:1448 cwnd:10 bytes_acked:1 segs_out:2 segs_in:1 send ")
    assert " send 77226667bps " in line  # mss * cwnd * 8 / rtt, as ss computes it
    assert line.endswith(" minrtt:1.5 snd_wnd:64256")
    assert "ssthresh" not in line  # the infinite threshold is not shown


def test_listener_line_is_cc_and_cwnd():
    info = tcp_info.decode(bytes(tcp_info.SIZE))
    info.update(state=10, snd_cwnd=10, unacked=1, sacked=7)
    assert tcp_info_line(info, "cubic") == "\t cubic cwnd:10"


def test_nettwin_ss_command(dut, harness_env, nettwin_cmd):
    fd = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(fd, (DUT_IP, 5353))
    address = dut.address
    out = subprocess.run([*nettwin_cmd, "ss", "--address", address, "-u", "-o"],
                         capture_output=True, text=True, env=harness_env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].split() == ["udp", "UNCONN", "0", "0", f"{DUT_IP}:5353", "0.0.0.0:*"]
    bad = subprocess.run([*nettwin_cmd, "ss"], capture_output=True, text=True,
                         env=harness_env, timeout=60)
    assert bad.returncode == 2 and "--address" in bad.stderr
