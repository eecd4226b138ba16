"""tcp_side.py's pieces without root or a stack: the ICMP fragmentation-needed template quoting the
DUT's segment, and the TCP_INFO chrono comparison (busy_time, rwnd_limited, sndbuf_limited) that
conform applies to a 224-byte TCP_INFO read."""
from __future__ import annotations

import struct

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether

from nettwin.client import tcp_info
from nettwin.scenarios.model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC
from nettwin.scenarios.sock_steps import Sock, diff_calls
from nettwin.scenarios.tcp_template import DUT_PORT, TESTER_ISN, TESTER_PORT, TcpSend, TcpState


def _syn_ack(isn: int) -> bytes:
    return bytes(Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src=DUT_IP, dst=TESTER_IP)
                 / TCP(sport=DUT_PORT, dport=TESTER_PORT, seq=isn, ack=TESTER_ISN + 1, flags="SA"))


def test_frag_needed_quotes_the_dut_segment_at_its_relative_seq():
    st = TcpState()
    st.observe(_syn_ack(0xFFFFFF00))
    step = TcpSend("", 0, 1 + 1448, icmp_mtu=1200)
    assert TcpSend.from_json(step.to_json()) == step
    pkt = Ether(st.fill(step, 10))
    assert pkt[IP].src == TESTER_IP and pkt[IP].dst == DUT_IP
    icmp = pkt[ICMP]
    assert (icmp.type, icmp.code, icmp.nexthopmtu) == (3, 4, 1200)
    quoted = bytes(icmp.payload)
    assert len(quoted) == 28    # the quoted IP header and 8 bytes of TCP
    qip = IP(quoted[:20])
    assert (qip.src, qip.dst, qip.proto) == (DUT_IP, TESTER_IP, 6)
    sport, dport, seq = struct.unpack("!HHI", quoted[20:28])
    assert (sport, dport) == (DUT_PORT, TESTER_PORT)
    assert seq == (0xFFFFFF00 + 1 + 1448) & 0xFFFFFFFF


def _info(busy=0, rwnd=0, sndbuf=0) -> bytes:
    raw = bytearray(224)
    offsets = {name: off for name, _fmt, off in tcp_info.LAYOUT}
    struct.pack_into("<QQQ", raw, offsets["busy_time"], busy, rwnd, sndbuf)
    return bytes(raw)


def test_chronos_agree_within_their_jiffy_rounding_and_not_beyond():
    j = tcp_info.JIFFY_US
    linux = tcp_info.decode(_info(busy=50 * j, rwnd=25 * j))
    assert tcp_info.compare_chronos(linux, tcp_info.decode(_info(busy=51 * j, rwnd=24 * j))) == []
    # A chrono the twin never ran, or ran when Linux did not, is a difference.
    assert tcp_info.compare_chronos(linux, tcp_info.decode(_info(busy=50 * j))) != []
    assert tcp_info.compare_chronos(tcp_info.decode(_info()), tcp_info.decode(_info(sndbuf=25 * j))) != []


def test_conform_reports_a_chrono_difference_the_byte_mask_leaves_out():
    step = Sock("getsockopt", "c", (("level", 6), ("name", 11), ("len", 224)))
    call = {"index": 3, "step": step, "t_ns": 0,
            "result": {"ret": 0, "errno": "", "value": _info(busy=100_000, rwnd=100_000).hex()}}
    same = {"ret": 0, "errno": "", "value": _info(busy=100_000, rwnd=100_000).hex()}
    none = {"ret": 0, "errno": "", "value": _info().hex()}
    assert diff_calls([call], [same]) == []
    out = diff_calls([call], [none])
    assert any("tcpi_rwnd_limited" in line for line in out)
