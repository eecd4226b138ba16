"""TCP scenarios: a reactive tester (tcp_template.py) against the DUT's TCP, with the
DUT's program making socket calls (sock_steps.py; blocking ones in the background,
collected later). Every scenario opens with the tester's ARP who-has (the time
origin, and the DUT learns the tester's MAC from a frame in sent.pcap).

Conventions: the DUT listens on 8080 (DUT_PORT), the tester uses 40000; tester
seq/ack are relative (tcp_template.py). The recordings wait in traces/pending/
until nettwin has TCP.
"""
from __future__ import annotations

import struct

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from .model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC, Scenario, Wait, arp_who_has, send
from .model import _add as _add_scenario
from .sock_steps import sock
from .tcp_template import DUT_PORT, TESTER_PORT, Expect, TcpSend

SOL_SOCKET, IPPROTO_TCP = 1, 6
SO_REUSEADDR, SO_KEEPALIVE, SO_LINGER, SO_ERROR, SO_RCVBUF, SO_SNDBUF = 2, 9, 13, 4, 8, 7
TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 1, 2, 3, 4, 5, 6
TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_INFO, TCP_QUICKACK, TCP_CONGESTION, TCP_USER_TIMEOUT = 8, 9, 11, 12, 13, 18
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
POLLIN, POLLOUT = 1, 4
TCP_INFO_LEN = 104
CLOSED_PORT = 8081

FULL = (("mss", 1460), ("sackok",), ("ts",), ("nop",), ("ws", 7))   # Linux's own SYN order
TS = (("nop",), ("nop",), ("ts",))
ARP = (send(arp_who_has()), Wait(50))


# One ephemeral port, so that the DUT's route lookups (which carry it) are the same in
# every recording; the template still learns it from the DUT's SYN.
ONE_EPHEMERAL_PORT = (("net.ipv4.ip_local_port_range", "50000 50000"),)


def _add(name: str, description: str, steps, sysctls=(), **kw) -> None:
    _add_scenario(Scenario(name, description, ARP + tuple(steps), tags=("tcp",),
                           sysctls=ONE_EPHEMERAL_PORT + tuple(sysctls), **kw))


def _opts_after(syn_opts) -> tuple:
    return TS if any(o[0] == "ts" for o in syn_opts) else ()


def _win(syn_opts) -> int:
    """The tester's window after the SYN: 64256 bytes, scaled when it offered WS."""
    ws = [o[1] for o in syn_opts if o[0] == "ws"]
    return 64256 >> ws[0] if ws else 64256


def listener(h: str = "l", backlog: int = 8, opts=()) -> tuple:
    return ((sock("socket", h, family=2, type=1),
             sock("setsockopt", h, level=SOL_SOCKET, name=SO_REUSEADDR, value=1))
            + tuple(opts)
            + (sock("bind", h, ip="", port=DUT_PORT), sock("listen", h, backlog=backlog),
               sock("accept_bg", h, into="c")))


def passive(syn_opts=FULL, h: str = "l") -> tuple:
    """Listener, the tester's handshake, accept collected: the connection is handle "c"."""
    return listener(h) + (
        Wait(10),
        TcpSend("S", 0, options=syn_opts),
        Expect("SA", ack=1),
        TcpSend("A", 1, 1, win=_win(syn_opts), options=_opts_after(syn_opts)),
        sock("collect", h))


def active(syn_opts=FULL, h: str = "c", pre=()) -> tuple:
    """The DUT connects to the tester (blocking, in the background); the tester answers."""
    return ((sock("socket", h, family=2, type=1),) + tuple(pre)
            + (sock("connect_bg", h, ip=TESTER_IP, port=TESTER_PORT),
               Expect("S"),
               TcpSend("SA", 0, 1, options=syn_opts, dport=None),
               Expect("A"),
               sock("collect", h)))


def seg(flags: str, seq: int, ack: int, data: bytes = b"", syn_opts=FULL, dport=DUT_PORT, win=None) -> TcpSend:
    return TcpSend(flags, seq, ack, win=_win(syn_opts) if win is None else win, options=_opts_after(syn_opts),
                   payload=data.hex(), dport=dport)


def info(h: str = "c"):
    return sock("getsockopt", h, level=IPPROTO_TCP, name=TCP_INFO, len=TCP_INFO_LEN)


def so_error(h: str = "c"):
    return sock("getsockopt", h, level=SOL_SOCKET, name=SO_ERROR)


DATA = b"nettwin tcp data 0123456789abcdef"   # 33 bytes
# A peer that never answers would also draw the DUT's ARP probes (neighbour DELAY ->
# PROBE at ~5 s), racing its TCP timers: a permanent entry keeps them out.
SILENT_PEER = (("ntdut0", TESTER_IP, TESTER_MAC),)

# ------------------------------------------------------------- closed ports (RST rules)

_add("tcp_syn_closed_port", "a SYN to a port nobody listens on: RST|ACK acking SYN+1",
     [TcpSend("S", 0, options=FULL, dport=CLOSED_PORT), Expect("RA", ack=1)])
_add("tcp_syn_noopt_closed_port", "a SYN without options to a closed port: RST|ACK",
     [TcpSend("S", 0, dport=CLOSED_PORT), Expect("RA", ack=1)])
_add("tcp_syn_payload_closed_port", "a SYN carrying 33 bytes to a closed port: RST|ACK acking SYN+33+1",
     [TcpSend("S", 0, payload=DATA.hex(), dport=CLOSED_PORT), Expect("RA", ack=1 + len(DATA))])
_add("tcp_ack_closed_port", "a bare ACK to a closed port: RST with seq = the ACK's ack field",
     [TcpSend("A", 1, ack_abs=0x12345678, dport=CLOSED_PORT), Expect("R")])
_add("tcp_fin_closed_port", "FIN|ACK to a closed port: RST",
     [TcpSend("FA", 1, ack_abs=0x12345678, dport=CLOSED_PORT), Expect("R")])
_add("tcp_synack_closed_port", "SYN|ACK to a closed port: RST",
     [TcpSend("SA", 0, ack_abs=0x12345678, dport=CLOSED_PORT), Expect("R")])
_add("tcp_rst_closed_port", "a RST to a closed port draws nothing",
     [TcpSend("R", 1, dport=CLOSED_PORT), Expect("", timeout_ms=300)])
_add("tcp_null_closed_port", "a segment with no flags to a closed port: RST|ACK acking seq (only a RST draws nothing)",
     [TcpSend("", 1, dport=CLOSED_PORT), Expect("", timeout_ms=300)])
_add("tcp_data_closed_port", "PSH|ACK with data to a closed port: RST",
     [TcpSend("PA", 1, ack_abs=0x1000, payload=DATA.hex(), dport=CLOSED_PORT), Expect("R")])


def bad_csum_segment(flags: str, seq: int, ack: int = 0, dport: int = DUT_PORT, payload: bytes = b""):
    """A segment from the tester whose TCP checksum is wrong (a fixed frame, not a template)."""
    return send(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, flags="DF")
                / TCP(sport=TESTER_PORT, dport=dport, flags=flags, seq=seq, ack=ack, window=64240, chksum=0xdead)
                / payload)


_add("tcp_bad_csum_syn_to_listener", "a SYN with a wrong TCP checksum to a listener: dropped (TCP_CSUM, tcp:tcp_bad_csum); the good SYN after it is answered",
     listener() + (Wait(10), bad_csum_segment("S", 1000), Wait(20), TcpSend("S", 0, options=FULL), Expect("SA"),
                   seg("A", 1, 1), sock("collect", "l")))
_add("tcp_bad_csum_closed_port", "a segment with a wrong TCP checksum to a closed port: no RST, dropped as TCP_CSUM",
     [bad_csum_segment("PA", 1000, 1, dport=CLOSED_PORT, payload=DATA), Expect("", timeout_ms=300)])

# ------------------------------------------------------------- passive open

# The SYN option sets both opens are recorded with (name, options, description).
SYN_OPTION_SETS = [
    ("full", FULL, "MSS, SACK_PERM, TS, NOP, WS 7"),
    ("noopt", (), "no options"),
    ("mss536", (("mss", 536),), "MSS 536 only"),
    ("ws0", (("mss", 1460), ("sackok",), ("ts",), ("nop",), ("ws", 0)), "WS 0"),
    ("ws14", (("mss", 1460), ("sackok",), ("ts",), ("nop",), ("ws", 14)), "WS 14"),
    ("nosack", (("mss", 1460), ("nop",), ("nop",), ("ts",), ("nop",), ("ws", 7)), "no SACK_PERM"),
    ("nots", (("mss", 1460), ("nop",), ("nop",), ("sackok",), ("nop",), ("ws", 7)), "no TS"),
]

for name, opts, what in SYN_OPTION_SETS + [
        ("mss_only_ws", (("mss", 1460), ("nop",), ("ws", 7)), "MSS and WS only"),
        ("sack_ts", (("mss", 1460), ("sackok",), ("ts",)), "MSS, SACK_PERM, TS, no WS")]:
    _add(f"tcp_passive_open_{name}",
         f"passive open with a SYN offering {what}; accept; the DUT closes (FIN), the tester acks and closes",
         passive(opts) + (info(), sock("close", "c"), Expect("FA"),
                          seg("FA", 1, 2, syn_opts=opts), Expect("A"), sock("close", "l")))

for name, opts, what in SYN_OPTION_SETS:
    _add(f"tcp_active_open_{name}",
         f"the DUT connects; the tester's SYN|ACK offers {what}; the DUT sends data and closes",
         active(opts) + (info(), sock("send", "c", data=DATA), Expect("PA", payload_len=len(DATA)),
                         seg("A", 1, 1 + len(DATA), syn_opts=opts, dport=None),
                         sock("close", "c"), Expect("FA"),
                         seg("FA", 1, 2 + len(DATA), syn_opts=opts, dport=None), Expect("A")))

_add("tcp_syn_payload_listener", "a SYN carrying 33 bytes to a listener: SYN|ACK acks only the SYN (data dropped)",
     listener() + (Wait(10), TcpSend("S", 0, options=FULL, payload=DATA.hex()), Expect("SA"),
                   TcpSend("R", 1), sock("close", "l")))

# ------------------------------------------------------------- RST, challenge ACK

_add("tcp_rst_in_window", "an established connection; a RST at exactly rcv_nxt resets it (recv: ECONNRESET)",
     passive() + (seg("R", 1, 1), Wait(50), sock("recvfrom", "c", len=100), so_error()))
_add("tcp_rst_in_window_not_exact", "a RST inside the window but not at rcv_nxt: challenge ACK, connection lives",
     passive() + (seg("R", 1001, 1), Expect("A"), info(), sock("close", "c"), Expect("FA")))
_add("tcp_rst_out_of_window", "a RST far outside the window: silently dropped",
     passive() + (seg("R", 10_000_000, 1), Expect("", timeout_ms=300), info()))
_add("tcp_syn_established_challenge_ack", "a SYN on an established connection: challenge ACK",
     passive() + (TcpSend("S", 0, options=FULL), Expect("A"), info()))

# ------------------------------------------------------------- data, ACKs

_add("tcp_data_in_delayed_ack", "the tester sends 33 bytes; the DUT acks (quick-ack at start), reads them",
     passive() + (seg("PA", 1, 1, DATA), Expect("A", ack=1 + len(DATA)), sock("recvfrom", "c", len=100)))
_add("tcp_data_in_two_segments_delack", "two data segments 100 ms apart after quick-acks: delayed ACK timing",
     passive() + tuple(x for i in range(4) for x in (seg("PA", 1 + i * len(DATA), 1, DATA), Wait(100)))
     + (Expect("A", timeout_ms=500), sock("recvfrom", "c", len=1000)))
_add("tcp_data_out_acked", "the DUT sends 33 bytes; the tester acks after 20 ms",
     passive() + (sock("send", "c", data=DATA), Expect("PA", payload_len=len(DATA)), Wait(20),
                  seg("A", 1, 1 + len(DATA)), info()))
_add("tcp_echo_both_ways", "data both ways: the tester sends, the DUT reads and writes back, the tester acks",
     passive() + (seg("PA", 1, 1, DATA), Expect("A"), sock("recvfrom", "c", len=100),
                  sock("send", "c", data=DATA[::-1]), Expect("PA"), seg("A", 1 + len(DATA), 1 + len(DATA)),
                  Wait(50), info()))
_add("tcp_quickack_option", "TCP_QUICKACK on the DUT socket then data: an immediate ACK",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_QUICKACK, value=1), Wait(300),
                  seg("PA", 1, 1, DATA), Expect("A"), Wait(300), seg("PA", 1 + len(DATA), 1, DATA),
                  Expect("A", timeout_ms=500)))
_add("tcp_nagle_small_writes", "Nagle: three small writes; the second and third wait for the first's ACK",
     passive() + (sock("send", "c", data=b"a" * 10), sock("send", "c", data=b"b" * 10),
                  sock("send", "c", data=b"c" * 10), Expect("PA", payload_len=10), Wait(50),
                  seg("A", 1, 11), Expect("PA", payload_len=20), seg("A", 1, 31)))
_add("tcp_nodelay_small_writes", "TCP_NODELAY: three small writes leave at once",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),
                  sock("send", "c", data=b"a" * 10), sock("send", "c", data=b"b" * 10),
                  sock("send", "c", data=b"c" * 10), Expect("PA", payload_len=10),
                  Expect("PA", payload_len=10), Expect("PA", payload_len=10), seg("A", 1, 31)))
_add("tcp_cork", "TCP_CORK: small writes are held until uncorked, then leave as one segment",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_CORK, value=1),
                  sock("send", "c", data=b"a" * 10), sock("send", "c", data=b"b" * 10), Wait(50),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_CORK, value=0),
                  Expect("PA", payload_len=20), seg("A", 1, 21)))
_add("tcp_large_write_segments", "a 4000-byte write: MSS-sized segments, acked by the tester",
     passive() + (sock("send", "c", data=bytes(i % 251 for i in range(4000))), Expect("A"), Expect("A"),
                  Expect("PA"), seg("A", 1, 4001), info()))
_add("tcp_mss_clamp", "TCP_MAXSEG 500 on the listener: the SYN|ACK's MSS and the data segments follow it",
     listener(opts=[sock("setsockopt", "l", level=IPPROTO_TCP, name=TCP_MAXSEG, value=500)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"),
        sock("send", "c", data=bytes(1200)), Expect("A"), Expect("A"), Expect("PA"), seg("A", 1, 1201)))

# ------------------------------------------------------------- windows

_add("tcp_zero_window_probe", "the tester advertises a zero window; the DUT's data waits and it probes",
     passive() + (seg("A", 1, 1, win=0), Wait(10), sock("send", "c", data=DATA),
                  Expect("A", timeout_ms=1500), Expect("A", timeout_ms=2500),
                  seg("A", 1, 1, win=500), Expect("PA", timeout_ms=1000), seg("A", 1, 1 + len(DATA))))
_add("tcp_receive_window_closes", "SO_RCVBUF small; the tester fills the DUT's window, it closes; a read reopens it",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=2048)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + tuple(seg("PA", 1 + i * 500, 1, bytes([65 + i]) * 500) for i in range(6))
     + (Wait(300), info(), sock("recvfrom", "c", len=4000), Expect("A", timeout_ms=500), info()))
_add("tcp_receive_window_zero_probe", "SO_RCVBUF 2048: 1500 bytes, then the 72 the window still offers; a 1-byte probe past the window is dropped; a read reopens it",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=2048)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + tuple(seg("PA", 1 + i * 500, 1, bytes([65 + i]) * 500) for i in range(3))
     + (seg("PA", 1501, 1, b"D" * 72), Expect("A", timeout_ms=300), Wait(100), seg("A", 1573, 1, b"E"),
        Expect("A", timeout_ms=300), info(), sock("recvfrom", "c", len=4000), Expect("A", timeout_ms=500), info()))
_add("tcp_receive_ofo_small_buffer", "SO_RCVBUF 2048: a segment past a hole is queued out of order, one past the window is dropped, the hole filled acks both",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=2048)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + (seg("PA", 1, 1, b"A" * 500), Expect("A"), seg("PA", 1001, 1, b"C" * 500), Expect("A"),
        seg("PA", 2001, 1, b"E" * 500), Expect("A"), seg("PA", 501, 1, b"B" * 500), Expect("A"),
        Wait(100), info(), sock("recvfrom", "c", len=4000), Expect("A", timeout_ms=500), info()))
_add("tcp_receive_ofo_full_buffer", "SO_RCVBUF 2048: twelve 20-byte segments overfill the buffer, then one past a 20-byte hole waits out of order, the hole is filled, a read takes all",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=2048)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + tuple(seg("PA", 1 + i * 20, 1, bytes([65 + i]) * 20) for i in range(12))
     + (seg("PA", 261, 1, b"O" * 20), Expect("A", timeout_ms=300), seg("PA", 241, 1, b"N" * 20), Expect("A", timeout_ms=300),
        Wait(100), info(), sock("recvfrom", "c", len=4000), Expect("A", timeout_ms=500), info()))
_add("tcp_receive_tiny_segments", "SO_RCVBUF 2048: forty 20-byte segments, coalesced into the receive queue's tail while it has room; a read takes them all",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=2048)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + tuple(seg("PA", 1 + i * 20, 1, bytes([65 + i % 26]) * 20) for i in range(40))
     + (Wait(300), info(), sock("recvfrom", "c", len=4000), Expect("A", timeout_ms=500), info()))

# ------------------------------------------------------------- retransmission

_add("tcp_syn_rto", "the DUT connects and the tester stays silent for 3.5 s: SYN retransmitted at 1 s and 3 s",
     (sock("socket", "c", family=2, type=1), sock("connect_nb", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect("S"), Expect("S", timeout_ms=1500), Expect("S", timeout_ms=2500),
      TcpSend("SA", 0, 1, options=FULL, dport=None), Expect("A"), sock("poll", "c", events=POLLOUT),
      so_error()))
_add("tcp_data_rto_backoff", "the DUT's data is not acked: retransmitted with backoff (200 ms, 400 ms, ...)",
     passive() + (sock("send", "c", data=DATA), Expect("PA"), Expect("PA", timeout_ms=800),
                  Expect("PA", timeout_ms=1200), seg("A", 1, 1 + len(DATA)), info()))
_add("tcp_three_dupacks", "the DUT sends 5 segments (NODELAY), none acked; 3 duplicate ACKs of the first: tail loss probe and retransmission as Linux does them",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),)
     + tuple(sock("send", "c", data=bytes([48 + i]) * 100) for i in range(5))
     + tuple(Expect("PA", payload_len=100) for _ in range(5))
     + tuple(seg("A", 1, 1) for _ in range(3)) + (Expect("PA", seq=1, timeout_ms=500), seg("A", 1, 501), info()))

# Without SACK (the tester's SYN offers none): Reno's duplicate-ACK counting,
# NewReno loss marking, fast retransmit with PRR, and the recovery's end.
NOSACK = (("mss", 1460), ("nop",), ("nop",), ("ts",), ("nop",), ("ws", 7))   # Linux's SYN order, SACK off


def _reno_sends(size: int) -> tuple:
    return ((sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),)
            + tuple(sock("send", "c", data=bytes([48 + i]) * size) for i in range(5))
            + tuple(Expect("PA", payload_len=size) for _ in range(5)))


def _dupacks(n: int) -> tuple:
    return tuple(seg("A", 1, 1, syn_opts=NOSACK) for _ in range(n))


_add("tcp_reno_three_dupacks", "no SACK: 5 segments (NODELAY), 3 duplicate ACKs: fast retransmit at once (NewReno "
     "marks the head lost), the five 100-byte segments collapsed into one; PRR's cwnd in TCP_INFO",
     passive(NOSACK) + _reno_sends(100) + _dupacks(3) + (Expect("PA", seq=1, timeout_ms=500), info()))
_add("tcp_reno_two_dupacks", "no SACK: 2 duplicate ACKs (below dupthresh) put the connection in Disorder, no "
     "retransmission; the ACK of everything brings it back to Open",
     passive(NOSACK) + _reno_sends(100) + _dupacks(2)
     + (Wait(20), info(), seg("A", 1, 501, syn_opts=NOSACK), info()))
_add("tcp_reno_recovery_full_ack", "no SACK: fast retransmit, then the ACK of high_seq holds Recovery (RFC 2582); "
     "new data goes out within PRR's cwnd and its ACK, above high_seq, ends the recovery (cwnd = ssthresh)",
     passive(NOSACK) + _reno_sends(100) + _dupacks(3)
     + (Expect("PA", seq=1, timeout_ms=500), seg("A", 1, 501, syn_opts=NOSACK), info(),
        sock("send", "c", data=b"z" * 100), Expect("PA", seq=501, payload_len=100),
        seg("A", 1, 601, syn_opts=NOSACK), info()))
_add("tcp_reno_partial_ack", "no SACK: 5 segments of 1000 bytes (too big to collapse), 4 duplicate ACKs, then a "
     "partial ACK: NewReno retransmits the next hole; the ACK of everything keeps Recovery (Reno)",
     passive(NOSACK) + _reno_sends(1000) + _dupacks(3)
     + (Expect("PA", seq=1, payload_len=1000, timeout_ms=500),) + _dupacks(1)
     + (Wait(20), info(), seg("A", 1, 2001, syn_opts=NOSACK), Expect("PA", seq=2001, payload_len=1000, timeout_ms=500),
        seg("A", 1, 5001, syn_opts=NOSACK), info()))
_add("tcp_reno_recovery_rto", "no SACK: fast retransmit, then silence: the RTO fires in Recovery (Loss, the "
     "retransmission again), and the ACK of high_seq holds Loss (Reno)",
     passive(NOSACK) + _reno_sends(100) + _dupacks(3)
     + (Expect("PA", seq=1, timeout_ms=500), Expect("PA", seq=1, timeout_ms=1500),
        seg("A", 1, 501, syn_opts=NOSACK), info()))

# ------------------------------------------------------------- close

_add("tcp_fin_from_tester", "the tester closes first: the DUT acks, recv reads EOF, the DUT closes, LAST_ACK",
     passive() + (seg("FA", 1, 1), Expect("A"), sock("recvfrom", "c", len=100), sock("close", "c"),
                  Expect("FA"), seg("A", 2, 2)))
_add("tcp_fin_from_dut", "the DUT closes first: FIN_WAIT_1, 2, the tester's FIN, TIME_WAIT's ACK",
     passive() + (sock("close", "c"), Expect("FA"), seg("A", 1, 2), Wait(50), seg("FA", 1, 2), Expect("A")))
_add("tcp_fin_timeout_short", "tcp_fin_timeout 3: the DUT's orphan waits 3 s in FIN_WAIT2; the tester's FIN after it draws a RST",
     passive() + (sock("close", "c"), Expect("FA"), seg("A", 1, 2), Wait(3600), seg("FA", 1, 2), Expect("R")),
     sysctls=(("net.ipv4.tcp_fin_timeout", "3"),))
_add("tcp_linger2_long", "TCP_LINGER2 65 s (above TIME_WAIT's 60): the orphan stays a full FIN_WAIT2 socket; the tester's FIN at 2 s is acked",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_LINGER2, value=65), sock("close", "c"),
                  Expect("FA"), seg("A", 1, 2), Wait(2000), seg("FA", 1, 2), Expect("A")))
_add("tcp_simultaneous_close", "both sides send FIN at once: CLOSING, then TIME_WAIT",
     passive() + (sock("close", "c"), seg("FA", 1, 1), Expect("FA"), Expect("A", timeout_ms=500),
                  seg("A", 2, 2), Wait(50)))
_add("tcp_time_wait_retransmitted_fin", "in TIME_WAIT, the tester's retransmitted FIN is acked again",
     passive() + (sock("close", "c"), Expect("FA"), seg("A", 1, 2), seg("FA", 1, 2), Expect("A"),
                  Wait(200), seg("FA", 1, 2), Expect("A")))
_add("tcp_time_wait_new_syn", "in TIME_WAIT, a new SYN with a higher seq opens a new connection",
     passive() + (sock("close", "c"), Expect("FA"), seg("A", 1, 2), seg("FA", 1, 2), Expect("A"),
                  Wait(100), sock("accept_bg", "l", into="d"),
                  TcpSend("S", 200_000, options=FULL), Expect("SA", timeout_ms=1500),
                  seg("A", 200_001, 1), sock("collect", "l"), sock("close", "l")), settle_ms=500)
_add("tcp_half_close_shut_wr", "shutdown(SHUT_WR): the DUT sends FIN and can still read the tester's data",
     passive() + (sock("shutdown", "c", how=SHUT_WR), Expect("FA"), seg("PA", 1, 2, DATA), Expect("A"),
                  sock("recvfrom", "c", len=100), seg("FA", 1 + len(DATA), 2), Expect("A"),
                  sock("recvfrom", "c", len=100)))
_add("tcp_close_unread_data", "close with unread data: the DUT sends RST instead of FIN",
     passive() + (seg("PA", 1, 1, DATA), Expect("A"), sock("close", "c"), Expect("RA")))
_add("tcp_so_linger_zero", "SO_LINGER {1, 0} then close: RST at once",
     passive() + (sock("setsockopt", "c", level=SOL_SOCKET, name=SO_LINGER, hex=struct.pack("ii", 1, 0).hex()),
                  sock("close", "c"), Expect("RA")))
_add("tcp_shutdown_rd_then_data", "shutdown(SHUT_RD) then data arrives: acked, recv returns 0",
     passive() + (sock("shutdown", "c", how=SHUT_RD), seg("PA", 1, 1, DATA), Expect("A"),
                  sock("recvfrom", "c", len=100)))

# ------------------------------------------------------------- connect errors

_add("tcp_connect_refused", "the DUT connects and the tester answers RST|ACK: ECONNREFUSED",
     (sock("socket", "c", family=2, type=1), sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect("S"), TcpSend("RA", 0, 1, dport=None), sock("collect", "c"), so_error()))
_add("tcp_connect_nonblocking_refused", "a non-blocking connect (EINPROGRESS), RST|ACK, then SO_ERROR ECONNREFUSED",
     (sock("socket", "c", family=2, type=1), sock("connect_nb", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect("S"), TcpSend("RA", 0, 1, dport=None), Wait(20), sock("poll", "c", events=POLLOUT), so_error()))
_add("tcp_connect_timeout", "the DUT connects to a silent peer (default tcp_syn_retries 6): SYN retransmissions, "
     "then ETIMEDOUT (about 127 s in real time)",
     (sock("socket", "c", family=2, type=1), sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect("S"), sock("collect", "c", timeout_ms=200_000), so_error()), settle_ms=500,
     dut_neighbours=SILENT_PEER)
_add("tcp_connect_syn_retries_2", "tcp_syn_retries 2 with a silent peer: SYN retransmissions (linear 1 s "
     "timeouts first, tcp_syn_linear_timeouts), then ETIMEDOUT",
     (sock("socket", "c", family=2, type=1), sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT),
      Expect("S"), sock("collect", "c", timeout_ms=20_000), so_error()),
     sysctls=(("net.ipv4.tcp_syn_retries", "2"),), settle_ms=500, dut_neighbours=SILENT_PEER)

# ------------------------------------------------------------- timers

_add("tcp_keepalive", "SO_KEEPALIVE with idle 1 s, interval 1 s: probes with seq-1, answered by the tester",
     passive() + (sock("setsockopt", "c", level=SOL_SOCKET, name=SO_KEEPALIVE, value=1),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_KEEPIDLE, value=1),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_KEEPINTVL, value=1),
                  Expect("A", timeout_ms=2000), seg("A", 1, 1), Expect("A", timeout_ms=2000),
                  seg("A", 1, 1), info()), settle_ms=500)
_add("tcp_keepalive_gives_up", "keepalive idle 1 s, interval 1 s, count 2, unanswered: RST and ETIMEDOUT",
     passive() + (sock("setsockopt", "c", level=SOL_SOCKET, name=SO_KEEPALIVE, value=1),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_KEEPIDLE, value=1),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_KEEPINTVL, value=1),
                  sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_KEEPCNT, value=2),
                  Expect("A", timeout_ms=2000), Expect("A", timeout_ms=2000), Expect("RA", timeout_ms=2000),
                  so_error()))
_add("tcp_user_timeout", "TCP_USER_TIMEOUT 1000 ms with unacked data: retransmissions, then the DUT gives up without a RST; SO_ERROR ETIMEDOUT",
     passive() + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_USER_TIMEOUT, value=1000),
                  sock("send", "c", data=DATA), Expect("PA"), Expect("R", timeout_ms=3000), so_error(),
                  sock("recvfrom", "c", len=100)))

# ------------------------------------------------------------- listen queue

_add("tcp_backlog_overflow", "backlog 0, nobody accepts, SYN cookies off: the first handshake fills the queue; a second SYN draws no SYN|ACK and its ACK a RST",
     (sock("socket", "l", family=2, type=1), sock("bind", "l", ip="", port=DUT_PORT),
      sock("listen", "l", backlog=0), Wait(10),
      TcpSend("S", 0, options=FULL, sport=40001), Expect("SA"), TcpSend("A", 1, 1, sport=40001, options=TS, win=502),
      TcpSend("S", 0, options=FULL, sport=40002), Expect("SA", timeout_ms=1500),
      TcpSend("A", 1, 1, sport=40002, options=TS, win=502), Wait(300)),
     sysctls=(("net.ipv4.tcp_syncookies", "0"),))
_add("tcp_syn_cookies", "tcp_syncookies 2 (always): the SYN|ACK is a cookie; the ACK completes the connection",
     listener() + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"),
                   TcpSend("A", 1, 1, win=502, options=TS), sock("collect", "l"), info()),
     sysctls=(("net.ipv4.tcp_syncookies", "2"),))

_add("tcp_defer_accept_data", "TCP_DEFER_ACCEPT 5 on the listener: the bare ACK is dropped, the listener stays unreadable; the first data makes the connection",
     listener(opts=[sock("setsockopt", "l", level=IPPROTO_TCP, name=TCP_DEFER_ACCEPT, value=5)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), Wait(50),
        sock("poll", "l", events=POLLIN), seg("PA", 1, 1, DATA), Expect("A"), sock("collect", "l"),
        sock("recvfrom", "c", len=100)))
_add("tcp_defer_accept_expires", "TCP_DEFER_ACCEPT 1: after the dropped bare ACK the SYN|ACK is resent at 1 s as a last chance; the bare ACK to it makes the connection",
     listener(opts=[sock("setsockopt", "l", level=IPPROTO_TCP, name=TCP_DEFER_ACCEPT, value=1)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1),
        Expect("SA", timeout_ms=1500), seg("A", 1, 1), sock("collect", "l"), info()))

# ------------------------------------------------------------- TCP_INFO and state

_add("tcp_info_states", "TCP_INFO on the listener, after the handshake, after data and after the peer's FIN",
     listener() + (info("l"), Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1),
                   sock("collect", "l"), info(), seg("PA", 1, 1, DATA), Expect("A"), info(),
                   seg("FA", 1 + len(DATA), 1), Expect("A"), info()))
_add("tcp_congestion_get", "getsockopt TCP_CONGESTION of a fresh TCP socket (the recorder set cubic)",
     (sock("socket", "c", family=2, type=1),
      sock("getsockopt", "c", level=IPPROTO_TCP, name=TCP_CONGESTION, len=16),
      sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_CONGESTION, text="reno"),
      sock("getsockopt", "c", level=IPPROTO_TCP, name=TCP_CONGESTION, len=16)))
_add("tcp_poll_after_handshake", "poll on the listener before and after the handshake, on the connection after data",
     (sock("socket", "l", family=2, type=1), sock("bind", "l", ip="", port=DUT_PORT), sock("listen", "l", backlog=4),
      sock("poll", "l", events=POLLIN), Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1),
      Wait(20), sock("poll", "l", events=POLLIN), sock("accept", "l", into="c"),
      sock("poll", "c", events=POLLIN | POLLOUT), seg("PA", 1, 1, DATA), Expect("A"),
      sock("poll", "c", events=POLLIN | POLLOUT), sock("recvfrom", "c", len=100)))
_add("tcp_ack_wrong_for_synrecv", "in SYN_RECV, an ACK acking the wrong seq draws a RST; the SYN|ACK is retransmitted at 1 s",
     listener() + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), TcpSend("A", 1, 1000, options=TS, win=502),
                   Expect("R")), settle_ms=1500)
