"""TCP scenarios for ECN (RFC 3168 as Linux 6.18 runs it with tcp_ecn 1 and 2) and
D-SACK (RFC 2883, tcp_dsack 1), both directions: the reactive tester of tcp.py,
whose segments carry IP ECN bits (TcpSend.tos) and SACK blocks (the "sack" option).

ECN: the ECN-setup SYN carries ECE|CWR and the SYN-ACK that accepts it ECE; once
negotiated, new data leaves ECT(0) (pure ACKs and retransmissions Not-ECT); CE on
received data makes the receiver set ECE on its ACKs until a segment with CWR comes;
an ACK with ECE puts the sender in CWR, and its next new data carries CWR.
D-SACK: the first SACK block reports a duplicate (RFC 2883); a receiver sends one for
old or out-of-order duplicates, a sender counts it and undoes a spurious recovery.
"""
from __future__ import annotations

from dataclasses import replace

from .model import TESTER_IP, Wait
from .sock_steps import sock
from .tcp import DATA, FULL, IPPROTO_TCP, TCP_INFO, TCP_NODELAY, TESTER_PORT, _add, listener, seg
from .tcp_template import CE, ECT_0, Expect, TcpSend

# struct tcp_info through tcpi_reord_seen: delivered, delivered_ce and dsack_dups too.
TCP_INFO_LONG = 224
ECN_SYN = "SEC"          # SYN|ECE|CWR: the ECN-setup SYN (RFC 3168 6.1.1)
ECN_SYNACK = "SAE"       # SYN|ACK|ECE: the ECN-setup SYN-ACK


def info(h: str = "c"):
    return sock("getsockopt", h, level=IPPROTO_TCP, name=TCP_INFO, len=TCP_INFO_LONG)


def ecn(value: int) -> tuple:
    return (("net.ipv4.tcp_ecn", str(value)),)


def passive_open(syn_flags: str = ECN_SYN, synack: str = ECN_SYNACK, syn_tos: int = 0) -> tuple:
    """Listener, the tester's handshake with these SYN flags, accept collected (handle "c")."""
    return listener() + (Wait(10), TcpSend(syn_flags, 0, options=FULL, tos=syn_tos), Expect(synack, ack=1),
                         seg("A", 1, 1), sock("collect", "l"))


def active_open(synack: str, syn: str = ECN_SYN) -> tuple:
    """The DUT connects (tcp_ecn 1: an ECN-setup SYN); the tester answers with synack's flags."""
    return (sock("socket", "c", family=2, type=1), sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT),
            Expect(syn), TcpSend(synack, 0, 1, options=FULL, dport=None), Expect("A"), sock("collect", "c"))


def data_out_and_acked(dport=8080) -> tuple:
    """The DUT sends 33 bytes (ECT(0) when ECN is on), the tester acks them."""
    return (sock("send", "c", data=DATA), Expect("PA", payload_len=len(DATA)), Wait(5),
            seg("A", 1, 1 + len(DATA), dport=dport))


def ecn_data(flags: str, seq: int, ack: int, tos: int, data: bytes = DATA) -> TcpSend:
    """The tester's data segment with the IP ECN field tos."""
    return replace(seg(flags, seq, ack, data), tos=tos)


NODELAY = sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1)

# ------------------------------------------------------------- ECN negotiation

_add("tcp_ecn_passive_setup", "tcp_ecn 2: an ECN-setup SYN (ECE|CWR) is answered with ECE; the DUT's data "
     "leaves ECT(0), its ACK of the tester's ECT(0) data Not-ECT; TCP_INFO says ECN (and ECN_SEEN)",
     passive_open() + (info(),) + data_out_and_acked()
     + (info(), ecn_data("PA", 1, 1 + len(DATA), ECT_0), Expect("A"), info()),
     sysctls=ecn(2))
_add("tcp_ecn_not_requested", "tcp_ecn 2 and a plain SYN: no ECE in the SYN-ACK, data Not-ECT, and a CE mark "
     "on the tester's data draws no ECE (ECN is off)",
     passive_open("S", "SA") + data_out_and_acked() + (ecn_data("PA", 1, 1 + len(DATA), CE), Expect("A"), info()),
     sysctls=ecn(2))
_add("tcp_ecn_ect_syn", "tcp_ecn 2: an ECN-setup SYN that is itself ECT(0) is not ECN-capable "
     "(tcp_ecn_create_request): the SYN-ACK has no ECE and ECN stays off",
     passive_open(syn_tos=ECT_0, synack="SA") + data_out_and_acked() + (info(),),
     sysctls=ecn(2))
_add("tcp_ecn_active_setup", "tcp_ecn 1: the DUT's SYN asks for ECN (ECE|CWR), the SYN-ACK has ECE: ECN is on, "
     "the DUT's data leaves ECT(0)",
     active_open(ECN_SYNACK) + (info(),) + data_out_and_acked(dport=None) + (info(),),
     sysctls=ecn(1))
_add("tcp_ecn_active_refused", "tcp_ecn 1: the DUT's SYN asks for ECN, the SYN-ACK has no ECE: ECN is off, "
     "data Not-ECT",
     active_open("SA") + (info(),) + data_out_and_acked(dport=None) + (info(),),
     sysctls=ecn(1))
_add("tcp_ecn_syn_retransmit", "tcp_ecn 1 and a silent peer: the retransmitted SYN drops ECE|CWR "
     "(tcp_ecn_fallback); an ECE SYN-ACK to it still turns ECN on, and the first data carries CWR (the SYN's "
     "RTO entered Loss, which queues one); unacked, it is retransmitted at the RTO Not-ECT and without CWR",
     (sock("socket", "c", family=2, type=1), sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect(ECN_SYN), Expect("S", timeout_ms=1500), TcpSend(ECN_SYNACK, 0, 1, options=FULL, dport=None),
      Expect("A"), sock("collect", "c"), info()) + data_out_and_acked(dport=None) + (info(),),
     sysctls=ecn(1))

# ------------------------------------------------------------- CE echo and CWR

_add("tcp_ecn_ce_echo", "ECN on; the tester's data arrives CE-marked: the DUT's ACKs carry ECE (for ECT(0) "
     "data after it too) until a segment with CWR (a pure ACK with CWR, then data with CWR); Not-ECT data "
     "after ECT is acked at once",
     passive_open() + (ecn_data("PA", 1, 1, CE), Expect("AE"), Wait(5),
                       ecn_data("PA", 34, 1, ECT_0), Expect("AE", timeout_ms=500), Wait(5), info(),
                       seg("AC", 67, 1), Wait(5), ecn_data("PA", 67, 1, ECT_0), Expect("", timeout_ms=500),
                       Wait(5), ecn_data("PA", 100, 1, CE), Expect("AE", timeout_ms=500), Wait(5),
                       ecn_data("PAC", 133, 1, ECT_0), Expect("A", timeout_ms=500), Wait(5),
                       ecn_data("PA", 166, 1, 0), Expect("A", timeout_ms=500), info(),
                       sock("recvfrom", "c", len=1000)),
     sysctls=ecn(2))
_add("tcp_ecn_ece_cwr", "ECN on; the tester acks the DUT's first segment with ECE: the DUT enters CWR "
     "(ssthresh from cubic, PRR's cwnd), its next new data carries CWR; the ACK past high_seq ends CWR",
     passive_open() + (NODELAY, sock("send", "c", data=b"a" * 100), sock("send", "c", data=b"b" * 100),
                       Expect("PA", payload_len=100), Expect("PA", payload_len=100), Wait(5),
                       seg("AE", 1, 101), Wait(5), info(),
                       sock("send", "c", data=b"c" * 100), Expect("PAC", payload_len=100), Wait(5),
                       seg("A", 1, 301), Wait(5), info(),
                       sock("send", "c", data=b"d" * 100), Expect("PA", payload_len=100), seg("A", 1, 401)),
     sysctls=ecn(2))

# ------------------------------------------------------------- D-SACK sent

_add("tcp_dsack_duplicate_data", "the tester sends 33 bytes twice: the duplicate is acked at once with a "
     "D-SACK block for it (TCPDSACKOldSent, DelayedACKLost)",
     passive_open("S", "SA") + (seg("PA", 1, 1, DATA), Expect("A"), Wait(5), seg("PA", 1, 1, DATA),
                                Expect("A"), info(), sock("recvfrom", "c", len=100)),
     sysctls=(("net.ipv4.tcp_dsack", "1"),))
_add("tcp_dsack_partial_duplicate", "a segment overlapping what was received: its new part is queued, the "
     "old part reported as a D-SACK block",
     passive_open("S", "SA") + (seg("PA", 1, 1, DATA), Expect("A"), Wait(5), seg("PA", 1, 1, DATA + DATA),
                                Expect("A"), info(), sock("recvfrom", "c", len=100)),
     sysctls=(("net.ipv4.tcp_dsack", "1"),))
_add("tcp_dsack_ofo_duplicate", "a segment past a hole, then the same segment again: the duplicate is "
     "dropped (TCP_OFOMERGE) and acked with a D-SACK block ahead of the SACK block (TCPDSACKOfoSent); "
     "the hole filled acks everything",
     passive_open("S", "SA") + (seg("PA", 1, 1, DATA), Expect("A"), seg("PA", 67, 1, DATA), Expect("A"),
                                Wait(5), seg("PA", 67, 1, DATA), Expect("A"), Wait(5),
                                seg("PA", 34, 1, DATA), Expect("A"), info(), sock("recvfrom", "c", len=200)),
     sysctls=(("net.ipv4.tcp_dsack", "1"),))

# ------------------------------------------------------------- D-SACK received


def _sack(flags: str, ack: int, blocks) -> TcpSend:
    """The tester's ACK with SACK blocks (relative to the DUT's ISN; a first block below
    the ACK is a D-SACK), after the timestamp as Linux orders them."""
    return replace(seg(flags, 1, ack), options=seg(flags, 1, ack).options + (("nop",), ("nop",),
                                                                           ("sack", tuple(blocks))))


_add("tcp_dsack_recv_dubious", "the tester D-SACKs data the DUT never retransmitted: counted (TCPDSACKRecv, "
     "tcpi_dsack_dups) but ignored as dubious (TCPDSACKIgnoredDubious)",
     passive_open("S", "SA") + (sock("send", "c", data=DATA), Expect("PA"), Wait(5), seg("A", 1, 34),
                                sock("send", "c", data=DATA), Expect("PA"), Wait(5),
                                _sack("A", 67, [(1, 34)]), Wait(5), info()),
     sysctls=(("net.ipv4.tcp_dsack", "1"),))
_add("tcp_dsack_recv_undo", "six 1000-byte segments; a SACK of the 2nd-6th starts fast recovery (the 1st "
     "retransmitted); the ACK of everything D-SACKs the retransmission: undo_retrans reaches 0, so the recovery "
     "was spurious and tcp_try_undo_recovery restores cwnd and ssthresh (the TSecr echoes the retransmission: "
     "only the D-SACK proves it)",
     passive_open("S", "SA") + (NODELAY,)
     + tuple(sock("send", "c", data=bytes([48 + i]) * 1000) for i in range(6))
     + tuple(Expect("PA", payload_len=1000) for _ in range(6))
     + (_sack("A", 1, [(1001, 6001)]), Expect("PA", seq=1, timeout_ms=500), Wait(5), info(),
        _sack("A", 6001, [(1, 1001)]), Wait(5), info()),
     sysctls=(("net.ipv4.tcp_dsack", "1"),))
