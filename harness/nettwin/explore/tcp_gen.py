"""TCP grammar: the reactive tester (tcp_template.py) against the DUT's TCP, the
DUT's program making socket calls (sock_steps.py). A scenario is one of:

  closed    segments of any flags and options to a port nobody listens on
  listen    the DUT listens; the tester's SYN with options at their edges (or an odd
            SYN), then a handshake ACK that completes it or does not
  connect   the DUT connects; the tester's SYN|ACK with options at their edges (or an
            odd answer)

and, once a connection is up, a few exchanges: data each way (the tester acks the
DUT's data at once: no loss, so no recovery), segments at the window's edges (RFC
5961's RST and ACK rules, data in and out of window, old, out of order, FIN at odd
sequence numbers, URG, no ACK flag, bad checksums, odd options), socket calls with
values at their edges, waits across the delayed ACK, and a close of some kind.

Left out on purpose: ECN bits, D-SACK (no data below rcv_nxt once SACK is on), and
loss (every DUT segment is acked before any timer can fire), areas other work changes.

The generator keeps a model of both sides' sequence numbers (relative, as the
templates are: the tester's ISN is 0, its SYN seq 0; the DUT's ack field relative
to the DUT's ISN)."""
from __future__ import annotations

import random
import struct
from dataclasses import dataclass, field

from ..scenarios.model import Wait, arp_who_has, send
from ..scenarios.sock_steps import sock
from ..scenarios.tcp_template import DUT_PORT, TESTER_PORT, Expect, TcpSend

SOL_SOCKET, IPPROTO_TCP = 1, 6
SO_KEEPALIVE, SO_LINGER, SO_ERROR, SO_RCVBUF, SO_SNDBUF, SO_OOBINLINE = 9, 13, 4, 8, 7, 10
TCP_NODELAY, TCP_MAXSEG, TCP_CORK, TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT = 1, 2, 3, 4, 5, 6
TCP_LINGER2, TCP_DEFER_ACCEPT, TCP_WINDOW_CLAMP, TCP_INFO, TCP_QUICKACK, TCP_USER_TIMEOUT = 8, 9, 10, 11, 12, 18
MSG_OOB, MSG_PEEK, MSG_TRUNC = 1, 2, 0x20
CLOSED_PORT = 8081
TESTER_IP = "198.51.100.1"
SHORT = 150                      # ms an Expect waits for the DUT's answer

SYSCTLS = {"net.ipv4.tcp_timestamps": ("0", "1"),
           "net.ipv4.tcp_sack": ("0", "1"),
           "net.ipv4.tcp_window_scaling": ("0", "1"),
           "net.ipv4.tcp_syncookies": ("0", "1", "2"),
           "net.ipv4.tcp_rfc1337": ("0", "1"),
           "net.ipv4.tcp_moderate_rcvbuf": ("0", "1")}

# Socket options with values at their edges (level, name, values); the DUT's
# program sets them before listen/connect or on the connection.
SOCKOPTS = ((IPPROTO_TCP, TCP_NODELAY, (0, 1)), (IPPROTO_TCP, TCP_MAXSEG, (0, 1, 88, 536, 1400, 65535, 65536)),
            (IPPROTO_TCP, TCP_CORK, (0,)), (IPPROTO_TCP, TCP_QUICKACK, (0, 1)),
            (IPPROTO_TCP, TCP_KEEPIDLE, (0, 1, 32767, 32768)), (IPPROTO_TCP, TCP_KEEPINTVL, (0, 1, 32768)),
            (IPPROTO_TCP, TCP_KEEPCNT, (0, 1, 127, 128)), (IPPROTO_TCP, TCP_LINGER2, (-1, 0, 1, 200)),
            (IPPROTO_TCP, TCP_DEFER_ACCEPT, (0, 1, 1000)), (IPPROTO_TCP, TCP_WINDOW_CLAMP, (0, 1, 100, 65535)),
            (IPPROTO_TCP, TCP_USER_TIMEOUT, (-1, 0, 5000)),
            (SOL_SOCKET, SO_RCVBUF, (0, 1, 2048, 1 << 20)), (SOL_SOCKET, SO_SNDBUF, (0, 1, 4096, 1 << 20)),
            (SOL_SOCKET, SO_KEEPALIVE, (0, 1)), (SOL_SOCKET, SO_OOBINLINE, (0, 1)))
GETOPTS = ((IPPROTO_TCP, TCP_NODELAY), (IPPROTO_TCP, TCP_MAXSEG), (IPPROTO_TCP, TCP_CORK),
           (IPPROTO_TCP, TCP_KEEPIDLE), (IPPROTO_TCP, TCP_WINDOW_CLAMP), (IPPROTO_TCP, TCP_LINGER2),
           (IPPROTO_TCP, TCP_DEFER_ACCEPT), (SOL_SOCKET, SO_ERROR), (SOL_SOCKET, SO_RCVBUF),
           (SOL_SOCKET, SO_SNDBUF), (SOL_SOCKET, SO_KEEPALIVE))


def fill(rng: random.Random, n: int) -> bytes:
    """n readable payload bytes (a shrunk finding stays readable)."""
    start = rng.randrange(26)
    return bytes(0x41 + (start + i) % 26 for i in range(n))


# ------------------------------------------------------------------ options

def syn_options(rng: random.Random) -> tuple[tuple, dict]:
    """A SYN's options: the usual four in some order, values at their edges,
    sometimes an unknown kind, a bad length, EOL padding or a duplicate.
    Returns (options, what was offered: mss/ws/ts/sack)."""
    offered = {}
    opts = []
    kinds = [k for k in ("mss", "sackok", "ts", "ws") if rng.random() < 0.75]
    if rng.random() < 0.3:
        rng.shuffle(kinds)
    for k in kinds:
        if k == "mss":
            v = rng.choice((1460, 1460, 0, 1, 48, 88, 536, 1400, 65535))
            opts.append(("mss", v))
            offered["mss"] = v
        elif k == "ws":
            v = rng.choice((7, 7, 0, 1, 14, 15, 255))
            opts += [("nop",), ("ws", v)]
            offered["ws"] = v
        elif k == "ts":
            opts += [("nop",), ("nop",), ("ts",)] if rng.random() < 0.5 else [("ts",)]
            offered["ts"] = True
        else:
            opts.append(("sackok",))
            offered["sack"] = True
    r = rng.random()
    if r < 0.08:
        opts.append(("kind", rng.choice((6, 30, 34, 76, 253, 254)), fill(rng, rng.choice((0, 2, 6))).hex()))
    elif r < 0.14:
        opts.insert(0, ("kind", rng.choice((2, 3, 4, 8)), fill(rng, rng.choice((0, 1, 3, 9))).hex()))
        offered["bad_len"] = True
    elif r < 0.18:
        opts.append(("raw", rng.choice(("0201", "0200", "02ff", "0828", "03"))))
        offered["bad_len"] = True
    elif r < 0.22:
        opts = [("eol",)] + opts          # nothing after EOL counts
        offered = {"eol_first": True}
    elif r < 0.26 and "mss" in offered:
        opts.append(("mss", 536))         # a second MSS: the last one wins
        offered["mss"] = 536
    if len(opts) > 12:
        opts = opts[:12]
    return tuple(opts), offered


@dataclass
class Conn:
    """The generator's model of one connection (relative sequence numbers)."""
    dport: int | None                # None: the DUT's own port (it connected)
    ts: bool                         # TS on both SYNs
    sack: bool
    ws: int | None                   # the tester's shift, when both offered WS
    mss: int                         # the DUT's send MSS, roughly
    t_nxt: int = 1                   # the tester's next seq
    d_nxt: int = 1                   # the DUT's next seq (what the tester acks)
    rcv_hole: tuple | None = None    # an out-of-order range the tester sent: (a, b, with FIN)
    dut_fin: bool = False
    tester_fin: bool = False
    dead: bool = False               # reset, or closed by the DUT's program
    closed: bool = False
    unread: int = 0
    steps: list = field(default_factory=list)

    def opts(self) -> tuple:
        return (("nop",), ("nop",), ("ts",)) if self.ts else ()

    def win(self) -> int:
        return 64256 >> self.ws if self.ws is not None else 64256

    def seg(self, flags: str, seq: int | None = None, ack: int | None = None, data: bytes = b"",
            win: int | None = None, options: tuple | None = None, bad_csum: bool = False) -> TcpSend:
        return TcpSend(flags, self.t_nxt if seq is None else seq, self.d_nxt if ack is None else ack,
                       win=self.win() if win is None else win, options=self.opts() if options is None else options,
                       payload=data.hex(), dport=self.dport, bad_csum=bad_csum)


# ------------------------------------------------------------------ openings

def _sysctls(rng: random.Random) -> tuple:
    return tuple((n, rng.choice(v)) for n, v in sorted(SYSCTLS.items()) if rng.random() < 0.15)


def _sockopt(rng: random.Random, h: str):
    level, name, values = rng.choice(SOCKOPTS)
    return sock("setsockopt", h, level=level, name=name, value=rng.choice(values))


def _opt_value(step, name: int):
    """The value a setsockopt step sets for option name (IPPROTO_TCP), else None."""
    a = dict(getattr(step, "args", ()))
    if getattr(step, "op", "") == "setsockopt" and a.get("level") == IPPROTO_TCP and a.get("name") == name:
        return a.get("value")
    return None


def _mss_of(offered: dict, ts: bool, steps: list) -> int:
    """Roughly the DUT's send MSS: the tester's (0: 536; at least 48) or the DUT's
    own TCP_MAXSEG, less the TS option."""
    mss = max(offered.get("mss") or 536, 48)
    for s in steps:
        v = _opt_value(s, TCP_MAXSEG)
        if v is not None and 88 <= v < mss:
            mss = v
    return mss - (12 if ts else 0)


def _negotiated(offered: dict, sysctls: dict) -> tuple[bool, bool, int | None]:
    ts = bool(offered.get("ts")) and sysctls.get("net.ipv4.tcp_timestamps", "1") != "0"
    sack = bool(offered.get("sack")) and sysctls.get("net.ipv4.tcp_sack", "1") != "0"
    ws = offered.get("ws") if sysctls.get("net.ipv4.tcp_window_scaling", "1") != "0" else None
    return ts, sack, (min(ws, 14) if ws is not None else None)


def gen_closed(rng: random.Random) -> list:
    steps = []
    for _ in range(rng.randint(1, 3)):
        flags = rng.choice(("S", "S", "SA", "A", "R", "RA", "FA", "F", "", "PA", "SF", "SR", "U", "FPU"))
        data = fill(rng, rng.choice((0, 0, 1, 33))) if "R" not in flags or rng.random() < 0.3 else b""
        opts = syn_options(rng)[0] if "S" in flags and rng.random() < 0.6 else ()
        ack = rng.choice((0, 1, 0x12345678, 0xffffffff)) if "A" in flags else rng.choice((None, 0x1000))
        steps.append(TcpSend(flags, rng.choice((0, 1, 0xfffffff0)), None, win=rng.choice((65535, 0, 1)),
                             options=opts, payload=data.hex(), dport=CLOSED_PORT,
                             ack_abs=ack if ack is not None else None,
                             bad_csum=rng.random() < 0.1))
        steps.append(Wait(rng.choice((1, 20))))
    return steps


def gen_listen(rng: random.Random, sysctls: dict) -> tuple[list, Conn | None]:
    """The DUT's listener, the tester's SYN and handshake; a Conn when it is up."""
    steps = [sock("socket", "l", family=2, type=1),
             sock("setsockopt", "l", level=SOL_SOCKET, name=2, value=1)]
    for _ in range(rng.choice((0, 0, 1, 2))):
        steps.append(_sockopt(rng, "l"))
    steps += [sock("bind", "l", ip=rng.choice(("", "", "198.51.100.2")), port=DUT_PORT),
              sock("listen", "l", backlog=rng.choice((0, 1, 8, 8))), sock("accept_bg", "l", into="c"),
              Wait(10)]
    opts, offered = syn_options(rng)
    odd = rng.random()
    if odd < 0.15:                                 # a SYN Linux answers oddly or not at all
        flags = rng.choice(("SF", "SR", "SA", "SU", "SP", "S", "SRA", "SFP"))
        steps.append(TcpSend(flags, 0, ack_abs=rng.choice((None, 0x12345)), options=opts,
                             payload=fill(rng, rng.choice((0, 10))).hex(), bad_csum=rng.random() < 0.2))
        steps.append(Expect("", timeout_ms=SHORT))
        steps += [sock("poll", "l", events=1)]
        return steps, None
    syn_data = fill(rng, 20) if rng.random() < 0.05 else b""
    steps.append(TcpSend("S", 0, options=opts, payload=syn_data.hex()))
    if offered.get("bad_len") or offered.get("eol_first"):
        # Linux's answer to a broken option list is the question: watch, no handshake.
        steps.append(Expect("SA", timeout_ms=SHORT))
        return steps + [sock("poll", "l", events=1)], None
    steps.append(Expect("SA", timeout_ms=500))
    ts, sack, ws = _negotiated(offered, sysctls)
    conn = Conn(DUT_PORT, ts, sack, ws if "ws" in offered else None, _mss_of(offered, ts, steps))
    deferred = any(_opt_value(s, TCP_DEFER_ACCEPT) for s in steps)
    r = rng.random()
    if r < 0.12:                                   # handshake ACKs that do not complete it
        kind = rng.choice(("bad_ack", "rst", "syn_again", "old_seq", "no_ack_flag"))
        if kind == "bad_ack":
            steps.append(conn.seg("A", ack=rng.choice((0, 2, 1000, 0x80000000))))
        elif kind == "rst":
            steps.append(conn.seg(rng.choice(("R", "RA")), seq=rng.choice((1, 2, 100000))))
        elif kind == "syn_again":
            steps.append(TcpSend("S", 0, options=opts))
        elif kind == "old_seq":
            steps.append(conn.seg("A", seq=rng.choice((0, 2, 70000))))
        else:
            steps.append(conn.seg("P", data=fill(rng, 5)))
        steps.append(Expect("", timeout_ms=SHORT))
        return steps + [sock("poll", "l", events=1)], None
    if r < 0.2:                                    # the handshake's ACK carries data or FIN
        data = fill(rng, rng.choice((1, 100)))
        flags = rng.choice(("PA", "FPA"))
        steps.append(conn.seg(flags, data=data, options=conn.opts() if rng.random() < 0.8 else ()))
        conn.t_nxt += len(data) + ("F" in flags)
        conn.tester_fin = "F" in flags
        conn.unread += len(data)
    elif r < 0.26 and ts:
        steps.append(conn.seg("A", options=()))     # TS on the SYNs, none on the ACK
    else:
        steps.append(conn.seg("A"))
    steps.append(Expect("", timeout_ms=30))
    if deferred and not conn.unread:
        return steps + [sock("poll", "l", events=1)], None   # accept waits for data
    return steps + [sock("collect", "l", timeout_ms=300)], conn


def gen_connect(rng: random.Random, sysctls: dict) -> tuple[list, Conn | None]:
    """The DUT connects; the tester answers its SYN; a Conn when it is up."""
    steps = [sock("socket", "c", family=2, type=1)]
    for _ in range(rng.choice((0, 0, 1, 2))):
        steps.append(_sockopt(rng, "c"))
    steps += [sock("connect_bg", "c", ip=TESTER_IP, port=TESTER_PORT), Expect("S", timeout_ms=500)]
    opts, offered = syn_options(rng)
    r = rng.random()
    if r < 0.15:
        kind = rng.choice(("rst", "rst_bad_ack", "syn", "ack_only", "synack_bad_ack", "synack_fin", "silence"))
        if kind == "rst":
            steps.append(TcpSend("RA", 0, 1, win=0, dport=None))
        elif kind == "rst_bad_ack":
            steps.append(TcpSend("RA", 0, rng.choice((0, 2)), win=0, dport=None))
        elif kind == "syn":                        # simultaneous open
            steps.append(TcpSend("S", 0, options=opts, dport=None))
        elif kind == "ack_only":
            steps.append(TcpSend("A", 1, rng.choice((1, 2)), dport=None))
        elif kind == "synack_bad_ack":
            steps.append(TcpSend("SA", 0, rng.choice((0, 2, 0x40000000)), options=opts, dport=None))
        elif kind == "synack_fin":
            steps.append(TcpSend("SFA", 0, 1, options=opts, dport=None))
        else:
            steps.append(Wait(rng.choice((300, 1100))))   # across the SYN's RTO (1 s)
            steps.append(Expect("S", timeout_ms=SHORT))
            return steps, None
        steps.append(Expect("", timeout_ms=SHORT))
        if kind == "rst":
            # Refused: Linux's blocking connect returns (and takes sk_err) now; the
            # replay's connect_bg learns its outcome only when it is collected.
            return steps + [sock("collect", "c", timeout_ms=300), sock("poll", "c", events=4),
                            sock("getsockopt", "c", level=SOL_SOCKET, name=SO_ERROR)], None
        return steps + [sock("poll", "c", events=4)], None
    bad_csum = rng.random() < 0.05
    data = fill(rng, 10) if rng.random() < 0.05 else b""
    synack = TcpSend("SA", 0, 1, win=rng.choice((65535, 65535, 1000, 0)), options=opts,
                     payload=data.hex(), dport=None, bad_csum=bad_csum)
    steps.append(synack)
    if bad_csum or offered.get("bad_len") or offered.get("eol_first"):
        steps.append(Expect("", timeout_ms=SHORT))
        return steps + [sock("poll", "c", events=4)], None
    steps += [Expect("A", timeout_ms=500), sock("collect", "c", timeout_ms=300)]
    ts, sack, ws = _negotiated(offered, sysctls)
    conn = Conn(None, ts, sack, ws if "ws" in offered else None, _mss_of(offered, ts, steps))
    conn.unread = len(data)
    conn.t_nxt += len(data)
    if synack.win != 65535:
        steps.append(conn.seg("A"))                # the window opens
    return steps, conn


# ------------------------------------------------------------------ established

def _dut_send(rng: random.Random, c: Conn) -> list:
    """The DUT writes; the tester acks all of it once it is seen (no loss)."""
    size = rng.choice((1, 10, 33, 100, 1000, 3000)) if c.mss >= 500 else rng.choice((1, 10, 33))
    if c.mss < 36:
        size = min(size, 10)
    steps = [sock("send", "c", data=fill(rng, size), flags=rng.choice((0, 0, 0, MSG_OOB)))]
    c.d_nxt += size
    steps.append(Expect("PA", timeout_ms=SHORT))
    if rng.random() < 0.15 and c.sack:
        # SACK blocks beyond what the DUT sent (invalid, ignored), with the ACK of all.
        edge = c.d_nxt + rng.choice((1, 1000, 1 << 30))
        steps.append(c.seg("A", options=c.opts() + (("nop",), ("nop",), ("sack", ((edge, edge + 100),)))))
    else:
        steps.append(c.seg("A"))
    return steps


def _tester_data(rng: random.Random, c: Conn) -> list:
    size = rng.choice((1, 10, 100, 536, 1000, 1448 if c.ts else 1460))
    data = fill(rng, size)
    if c.rcv_hole and c.t_nxt + size > c.rcv_hole[0]:
        data = data[:c.rcv_hole[0] - c.t_nxt]      # exactly fills up to the out-of-order range
    steps = [c.seg(rng.choice(("PA", "PA", "A")), data=data)]
    c.t_nxt += len(data)
    c.unread += len(data)
    if c.rcv_hole and c.t_nxt == c.rcv_hole[0]:
        a, b, fin = c.rcv_hole
        c.unread += b - a - fin
        c.t_nxt = b
        c.tester_fin = fin
        c.rcv_hole = None
    return steps


def _edge_segment(rng: random.Random, c: Conn) -> list:
    """One segment at an edge of the connection's rules, and what it changes."""
    kind = rng.choice(("syn", "syn_fin", "rst_exact", "rst_in_window", "rst_left", "rst_far", "ack_old",
                       "ack_too_old", "ack_unsent", "no_ack_flag", "data_ofo", "data_beyond_window",
                       "data_old", "fin_ofo", "fin_old", "urg", "bad_csum", "win_zero", "opt_odd",
                       "ts_missing", "paws", "null", "xmas"))
    t, d = c.t_nxt, c.d_nxt
    if kind == "syn":
        return [c.seg("S", seq=rng.choice((0, t, t + 10)), ack=None, options=syn_options(rng)[0])]
    if kind == "syn_fin":
        return [c.seg("SF", seq=t)]
    if kind == "rst_exact":
        c.dead = True
        return [c.seg(rng.choice(("R", "RA")), seq=t)]
    if kind == "rst_in_window":
        return [c.seg("R", seq=t + rng.choice((1, 100, 30000)))]
    if kind == "rst_left":
        return [c.seg("R", seq=t - 1)]
    if kind == "rst_far":
        return [c.seg("RA", seq=t + rng.choice((1 << 20, 1 << 31)))]
    if kind == "ack_old":
        return [c.seg("A", ack=d - 1)]
    if kind == "ack_too_old":
        return [c.seg("A", ack=d - rng.choice((70000, 1 << 20, 1 << 30)))]
    if kind == "ack_unsent":
        return [c.seg("A", ack=d + rng.choice((1, 1000, 1 << 20)))]
    if kind == "no_ack_flag":
        return [c.seg(rng.choice(("P", "")), data=fill(rng, 10))]
    if kind == "data_ofo" and c.rcv_hole is None:
        gap = rng.choice((1, 100, 1000))
        size = rng.choice((1, 100))
        c.rcv_hole = (t + gap, t + gap + size, False)
        return [c.seg("PA", seq=t + gap, data=fill(rng, size))]
    if kind == "data_beyond_window":
        return [c.seg("PA", seq=t + rng.choice((1 << 20, 1 << 24)), data=fill(rng, 10))]
    if kind == "data_old" and not c.sack and t > 40:
        return [c.seg("PA", seq=t - 20, data=fill(rng, rng.choice((10, 20))))]
    if kind == "fin_ofo" and c.rcv_hole is None:
        c.rcv_hole = (t + 10, t + 11, True)      # in-order data fills up to it, no overlap
        return [c.seg("FA", seq=t + 10)]
    if kind == "fin_old":
        return [c.seg("FA", seq=t - 1)]
    if kind in ("urg", "ts_missing") and c.rcv_hole:
        return [c.seg("A")]                       # in-order data must not reach the out-of-order range
    if kind == "urg":
        data = fill(rng, rng.choice((1, 10)))
        out = [c.seg(rng.choice(("UA", "PUA")), data=data)]
        c.t_nxt += len(data)
        c.unread += len(data)
        return out
    if kind == "bad_csum":
        return [c.seg("PA", data=fill(rng, 10), bad_csum=True)]
    if kind == "win_zero":
        return [c.seg("A", win=0), Wait(rng.choice((1, 50))), c.seg("A")]
    if kind == "opt_odd":
        opt = rng.choice((("kind", 254, "0102"), ("kind", 2, "05b4"), ("kind", 3, "07"), ("raw", "0201"),
                          ("raw", "0828"), ("kind", 5, "0000"), ("eol",), ("kind", 8, "00")))
        return [c.seg("A", options=c.opts() + (opt,))]
    if kind == "ts_missing" and c.ts:
        data = fill(rng, 10)
        out = [c.seg("PA", data=data, options=())]
        c.t_nxt += len(data)
        c.unread += len(data)
        return out
    if kind == "paws" and c.ts:
        # TSval 1, far older than the 5000000s the tester has sent: PAWS.
        return [c.seg("PA", data=fill(rng, 10), options=(("nop",), ("nop",), ("kind", 8, "0000000100000000")))]
    if kind == "null":
        return [c.seg("", seq=t)]
    if kind == "xmas":
        return [c.seg("FPUA", seq=t + 5)]
    return [c.seg("A")]


def _sock_call(rng: random.Random, c: Conn) -> list:
    op = rng.choice(("recv", "recv", "recv", "info", "setopt", "getopt", "poll", "names", "shutdown"))
    if op == "recv":
        flags = rng.choice((0, 0, 0, MSG_PEEK, MSG_OOB, MSG_TRUNC))
        n = rng.choice((0, 1, 10, 4096, 65536))
        if flags == 0:
            c.unread = max(0, c.unread - n)
        return [sock("recvfrom", "c", len=n, flags=flags)]
    if op == "info":
        return [sock("getsockopt", "c", level=IPPROTO_TCP, name=TCP_INFO, len=104)]
    if op == "setopt":
        return [_sockopt(rng, "c")]
    if op == "getopt":
        level, name = rng.choice(GETOPTS)
        return [sock("getsockopt", "c", level=level, name=name)]
    if op == "poll":
        return [sock("poll", "c", events=rng.choice((1, 4, 5, 3)))]
    if op == "names":
        return [sock(rng.choice(("getsockname", "getpeername")), "c")]
    how = rng.choice((0, 1, 2))
    if how in (1, 2) and not c.dut_fin:
        c.dut_fin = True
        out = [sock("shutdown", "c", how=how), Expect("FA", timeout_ms=SHORT)]
        c.d_nxt += 1
        out.append(c.seg("A"))
        return out
    return [sock("shutdown", "c", how=0)]


def _close(rng: random.Random, c: Conn) -> list:
    """An ending: the DUT closes (FIN, or RST with unread data or SO_LINGER 0), or
    the tester does; every FIN the DUT sends is acked at once."""
    kind = rng.choice(("dut_close", "dut_close", "tester_fin", "linger0", "none"))
    if kind == "tester_fin" and (c.tester_fin or c.rcv_hole):
        kind = "dut_close"
    if kind == "none" or c.dead:
        return []
    if kind == "linger0":
        c.dead = True
        return [sock("setsockopt", "c", level=SOL_SOCKET, name=SO_LINGER, hex=struct.pack("ii", 1, 0).hex()),
                sock("close", "c"), Expect("", timeout_ms=SHORT)]
    if kind == "tester_fin":
        steps = [c.seg("FA"), Expect("A", timeout_ms=SHORT), sock("recvfrom", "c", len=65536)]
        c.t_nxt += 1
        c.unread = 0
        steps += [sock("close", "c")]
        if not c.dut_fin:
            steps.append(Expect("FA", timeout_ms=SHORT))
            c.d_nxt += 1
        steps += [c.seg("A"), Wait(rng.choice((1, 50)))]
        return steps
    steps = [sock("close", "c")]
    if c.unread or c.dut_fin:
        return steps + [Expect("", timeout_ms=SHORT)]
    steps.append(Expect("FA", timeout_ms=SHORT))
    c.d_nxt += 1
    steps.append(c.seg("A"))
    if rng.random() < 0.6:
        steps += [Wait(rng.choice((1, 20))), c.seg("FA"), Expect("A", timeout_ms=SHORT)]
        c.t_nxt += 1
        if rng.random() < 0.3:                       # TIME_WAIT: the FIN again, or a new SYN
            steps += [Wait(20), rng.choice((c.seg("FA", seq=c.t_nxt - 1),
                                             TcpSend("S", c.t_nxt + 100000, options=syn_options(rng)[0],
                                                     dport=c.dport)))]
            steps.append(Expect("", timeout_ms=SHORT))
    return steps


def established(rng: random.Random, c: Conn) -> list:
    steps = []
    for _ in range(rng.randint(1, 6)):
        if c.dead:
            break
        r = rng.random()
        if r < 0.22 and not c.dut_fin:
            steps += _dut_send(rng, c)
        elif r < 0.42 and not c.tester_fin:
            steps += _tester_data(rng, c)
            steps.append(Wait(rng.choice((1, 1, 10, 50, 250))))
        elif r < 0.67:
            steps += _edge_segment(rng, c)
            steps.append(Wait(rng.choice((1, 10, 50))))
        elif r < 0.92:
            steps += _sock_call(rng, c)
        else:
            steps.append(Wait(rng.choice((50, 250))))     # across the delayed ACK
    if c.dead:
        steps += [sock("recvfrom", "c", len=100), sock("getsockopt", "c", level=SOL_SOCKET, name=SO_ERROR)]
        return steps
    steps.append(sock("getsockopt", "c", level=IPPROTO_TCP, name=TCP_INFO, len=104))
    return steps + _close(rng, c)


def gen_tcp(rng: random.Random) -> tuple[tuple, tuple]:
    """(steps, sysctls) of one TCP scenario."""
    sysctls = _sysctls(rng)
    mode = rng.choice(("closed", "listen", "listen", "listen", "connect", "connect"))
    steps = [send(arp_who_has()), Wait(50)]
    if mode == "closed":
        return tuple(steps + gen_closed(rng)), sysctls
    gen = gen_listen if mode == "listen" else gen_connect
    opening, conn = gen(rng, dict(sysctls))
    steps += opening
    if conn is not None:
        steps += established(rng, conn)
    return tuple(steps), sysctls
