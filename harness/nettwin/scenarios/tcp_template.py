"""A reactive TCP peer's steps: frame templates filled from what the DUT sent, and
Expect, which waits for a DUT frame. The DUT's ISN, TSval and ephemeral port are
chosen at run time, so the tester's frames cannot be fixed bytes.

Conventions (packetdrill's): `seq` of a tester frame is relative to the tester's
ISN (fixed here, TESTER_ISN), its `ack` relative to the DUT's ISN (learnt from the
DUT's SYN or SYN-ACK). An Expect's `seq` is relative to the DUT's ISN and its `ack`
to the tester's. A TS option carries TSval = TS_BASE + ms since the time origin and
TSecr = the DUT's last TSval, or with ["ts", seq] the TSval of the DUT's first segment
at relative seq (an ACK of a delayed original rather than of its retransmission; seq 0:
its SYN, an echo that never changes).
dport None means the port the DUT chose (active open).

TcpState holds what was learnt; the recorder (real kernel) and the replay (nettwin)
fill templates with the same code, so both sides send the same frames relative to
the same peer.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from .model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC

TESTER_ISN = 1_000_000
TS_BASE = 5_000_000
TESTER_PORT = 40000
DUT_PORT = 8080
IP_ID_BASE = 0x3001

# Option spellings in scenarios: name or [name, value]; ["sack", [[start, end], ...]]
# carries SACK blocks relative to the DUT's ISN (a block below the ACK is a D-SACK);
# ["ts", seq] echoes the TSval of the DUT's first segment at relative seq; for options
# at their edges also ["kind", N, hex] (kind N with that value, its length byte 2 + the
# value's) and ["raw", hex] (bytes as they are, a length byte that lies included).
_OPT_NAMES = {"mss": "MSS", "sackok": "SAckOK", "ts": "Timestamp", "nop": "NOP", "ws": "WScale",
              "eol": "EOL", "sack": "SAck"}

# The IP header's ECN field (RFC 3168), the low two bits of TcpSend.tos.
ECT_1, ECT_0, CE = 1, 2, 3


def _option(o) -> tuple:
    """One option as a hashable tuple (JSON gives SACK blocks as lists)."""
    if o and o[0] == "sack":
        return ("sack", tuple(tuple(b) for b in o[1]))
    return tuple(o)


def _option_json(o: tuple) -> list:
    if o[0] == "sack":
        return ["sack", [list(b) for b in o[1]]]
    return list(o)


@dataclass(frozen=True)
class TcpSend:
    """The tester sends one TCP segment, filled from the TcpState when it is sent."""
    flags: str
    seq: int = 0
    ack: int | None = None          # relative to the DUT's ISN; None: ack field 0
    win: int = 65535
    options: tuple = ()             # ("mss", 1460), ("sackok",), ("ts",), ("nop",), ("ws", 7)
    payload: str = ""               # hex
    sport: int = TESTER_PORT
    dport: int | None = DUT_PORT    # None: the DUT's own port, learnt from its SYN
    ack_abs: int | None = None      # an absolute ack field (segments to closed ports)
    tos: int = 0                    # the IP TOS byte: DSCP << 2 | ECN (ECT_0, ECT_1, CE)
    bad_csum: bool = False          # the TCP checksum made wrong (flipped bits)
    # Not a segment but a router's ICMP "fragmentation needed" (type 3 code 4) with this next-hop
    # MTU, quoting the DUT's segment at relative seq `ack` (its IP header and 8 bytes of TCP).
    icmp_mtu: int = 0
    kind: str = "tcp_send"

    def to_json(self) -> dict:
        d = {"kind": self.kind, "flags": self.flags, "seq": self.seq, "ack": self.ack,
             "win": self.win, "options": [_option_json(o) for o in self.options],
             "payload": self.payload, "sport": self.sport, "dport": self.dport,
             "ack_abs": self.ack_abs}
        if self.tos:
            d["tos"] = self.tos
        if self.bad_csum:
            d["bad_csum"] = True
        if self.icmp_mtu:
            d["icmp_mtu"] = self.icmp_mtu
        return d

    @staticmethod
    def from_json(d: dict) -> "TcpSend":
        return TcpSend(d["flags"], d.get("seq", 0), d.get("ack"), d.get("win", 65535),
                       tuple(_option(o) for o in d.get("options", [])), d.get("payload", ""),
                       d.get("sport", TESTER_PORT), d.get("dport", DUT_PORT), d.get("ack_abs"),
                       tos=d.get("tos", 0), bad_csum=bool(d.get("bad_csum", False)),
                       icmp_mtu=d.get("icmp_mtu", 0))


@dataclass(frozen=True)
class Expect:
    """Wait up to timeout_ms for a DUT frame matching: TCP flags (exact, Scapy's
    letters such as "SA"; "" any TCP), and optionally seq (relative to the DUT's ISN),
    ack (relative to the tester's ISN) and payload length. A timeout is a result."""
    flags: str = ""
    timeout_ms: int = 1000
    seq: int | None = None
    ack: int | None = None
    payload_len: int | None = None
    kind: str = "expect"

    def to_json(self) -> dict:
        return {"kind": self.kind, "flags": self.flags, "timeout_ms": self.timeout_ms,
                "seq": self.seq, "ack": self.ack, "payload_len": self.payload_len}

    @staticmethod
    def from_json(d: dict) -> "Expect":
        return Expect(d.get("flags", ""), d.get("timeout_ms", 1000), d.get("seq"), d.get("ack"),
                      d.get("payload_len"))


@dataclass
class TcpState:
    """What the tester has learnt of the DUT's side of the connection."""
    dut_isn: int | None = None
    dut_port: int | None = None
    dut_tsval: int = 0
    sent: int = 0                    # tester frames so far (IP ID)
    seen: list = field(default_factory=list)
    first_tsval: dict = field(default_factory=dict)   # relative seq -> TSval of its first data segment

    def observe(self, frame: bytes) -> None:
        """Learn from a DUT frame: its ISN from a SYN, its port, its last TSval."""
        pkt = Ether(frame)
        if TCP not in pkt:
            return
        t = pkt[TCP]
        if "S" in str(t.flags):
            self.dut_isn = t.seq
            if t.dport == TESTER_PORT or self.dut_port is None:
                self.dut_port = t.sport
        for name, value in t.options:
            if name == "Timestamp":
                self.dut_tsval = value[0]
                if (len(t.payload) or "S" in str(t.flags)) and self.dut_isn is not None:
                    self.first_tsval.setdefault((t.seq - self.dut_isn) & 0xFFFFFFFF, value[0])

    def _scapy_option(self, o, elapsed_ms: int) -> tuple:
        """One option in Scapy's spelling; "raw" stays ("raw", bytes)."""
        if o[0] == "kind":
            return (int(o[1]), bytes.fromhex(o[2]))
        if o[0] == "raw":
            return ("raw", bytes.fromhex(o[1]))
        name = _OPT_NAMES[o[0]]
        if name == "Timestamp":
            tsecr = self.first_tsval[o[1]] if len(o) > 1 else self.dut_tsval
            return (name, ((TS_BASE + elapsed_ms) & 0xFFFFFFFF, tsecr))
        if name in ("MSS", "WScale"):
            return (name, o[1])
        if name == "SAck":
            return (name, tuple(self._dut_seq(x) for block in o[1] for x in block))
        return (name, b"" if name == "SAckOK" else None)

    def fill(self, step: TcpSend, elapsed_ms: int) -> bytes:
        """The frame of a TcpSend now, elapsed_ms after the time origin."""
        opts = [self._scapy_option(o, elapsed_ms) for o in step.options]
        raw = any(o[0] == "raw" for o in opts)
        if step.ack_abs is not None:
            ack = step.ack_abs
        elif step.ack is None:
            ack = 0
        else:
            ack = self._dut_seq(step.ack)
        dport = step.dport if step.dport is not None else self.dut_port
        if dport is None:
            raise ValueError("the DUT's port is not known yet")
        ip_id = IP_ID_BASE + self.sent
        self.sent += 1
        if step.icmp_mtu:
            return self._frag_needed(step, ack, dport, ip_id)
        payload = bytes.fromhex(step.payload)
        if raw:
            # Options with a "raw" part: every option's bytes in order, zero-padded to
            # a multiple of 4, ahead of the payload under a data offset that covers them.
            optbytes = b"".join(o[1] if o[0] == "raw" else bytes(TCP(options=[o]))[20:20 + _option_len(o)]
                                for o in opts)
            optbytes += bytes(-len(optbytes) % 4)
            tcp = TCP(sport=step.sport, dport=dport, seq=(TESTER_ISN + step.seq) & 0xFFFFFFFF, ack=ack,
                      flags=step.flags, window=step.win, dataofs=5 + len(optbytes) // 4)
            payload = optbytes + payload
        else:
            tcp = TCP(sport=step.sport, dport=dport, seq=(TESTER_ISN + step.seq) & 0xFFFFFFFF, ack=ack,
                      flags=step.flags, window=step.win, options=opts)
        pkt = Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64, tos=step.tos) / tcp
        if payload:
            pkt = pkt / Raw(payload)
        frame = bytearray(bytes(pkt))
        if step.bad_csum:
            csum = 14 + 20 + 16
            frame[csum] ^= 0x5a
        return bytes(frame)

    def _frag_needed(self, step: TcpSend, dut_seq: int, dut_port: int, ip_id: int) -> bytes:
        """ICMP fragmentation needed from the tester, quoting the DUT's segment at dut_seq: the
        quoted IP header (the DUT's full-sized datagram, DF) and the first 8 bytes of its TCP header."""
        quoted = IP(src=DUT_IP, dst=TESTER_IP, id=0, ttl=64, flags="DF", len=1500) / TCP(
            sport=dut_port, dport=step.sport, seq=dut_seq, ack=0, flags="A")
        pkt = (Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64)
               / ICMP(type=3, code=4, nexthopmtu=step.icmp_mtu) / Raw(bytes(quoted)[:28]))
        return bytes(pkt)

    def _dut_seq(self, rel: int) -> int:
        """A sequence number relative to the DUT's ISN, made absolute."""
        if self.dut_isn is None:
            raise ValueError("a relative ack before the DUT's ISN is known")
        return (self.dut_isn + rel) & 0xFFFFFFFF

    def matches(self, exp: Expect, frame: bytes) -> bool:
        """Whether a DUT frame satisfies an Expect (learning from it first when it is a SYN)."""
        pkt = Ether(frame)
        if TCP not in pkt:
            return False
        t = pkt[TCP]
        if exp.flags and str(t.flags) != exp.flags:
            return False
        isn = t.seq if "S" in str(t.flags) else self.dut_isn
        if exp.seq is not None and (isn is None or (t.seq - isn) & 0xFFFFFFFF != exp.seq):
            return False
        if exp.ack is not None and (t.ack - TESTER_ISN) & 0xFFFFFFFF != exp.ack:
            return False
        if exp.payload_len is not None and len(bytes(t.payload)) != exp.payload_len:
            return False
        return True


def _option_len(o: tuple) -> int:
    """The bytes Scapy writes for one option (NOP and EOL: 1, others 2 + value)."""
    if o[0] in ("NOP", "EOL", 0, 1):
        return 1
    return bytes(TCP(options=[o]))[21] if len(bytes(TCP(options=[o]))) > 21 else 0


def is_tcp_step(step) -> bool:
    return isinstance(step, (TcpSend, Expect))

