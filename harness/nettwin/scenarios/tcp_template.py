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

import socket
import struct
from dataclasses import dataclass, field

from ..client import wire
from ..client.wire import inet_checksum, tcp_checksum
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
        t = _dut_tcp(frame)
        if t is None:
            return
        syn = t.flags & 0x02
        if syn:
            self.dut_isn = t.seq
            if t.dport == TESTER_PORT or self.dut_port is None:
                self.dut_port = t.sport
        for name, value in t.options:
            if name == "Timestamp":
                self.dut_tsval = value[0]
                if (len(t.payload) or syn) and self.dut_isn is not None:
                    self.first_tsval.setdefault((t.seq - self.dut_isn) & 0xFFFFFFFF, value[0])

    def _scapy_option(self, o, elapsed_ms: int) -> tuple:
        """One option in Scapy's spelling (wire.tcp_option_bytes); "raw" stays ("raw", bytes)."""
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

    def ack_of(self, step: TcpSend) -> int:
        """The acknowledgment number a TcpSend carries: absolute, none (0), or
        relative to the DUT's ISN as learnt."""
        if step.ack_abs is not None:
            return step.ack_abs
        return 0 if step.ack is None else self._dut_seq(step.ack)

    def fill(self, step: TcpSend, elapsed_ms: int) -> bytes:
        """The frame of a TcpSend now, elapsed_ms after the time origin."""
        opts = [self._scapy_option(o, elapsed_ms) for o in step.options]
        ack = self.ack_of(step)
        dport = step.dport if step.dport is not None else self.dut_port
        if dport is None:
            raise ValueError("the DUT's port is not known yet")
        ip_id = IP_ID_BASE + self.sent
        self.sent += 1
        if step.icmp_mtu:
            return self._frag_needed(step, ack, dport, ip_id)
        payload = bytes.fromhex(step.payload)
        if any(o[0] == "raw" for o in opts):
            # Options with a "raw" part: every option's bytes in order, zero-padded to
            # a multiple of 4, ahead of the payload under a data offset that covers them.
            optbytes = b"".join(o[1] if o[0] == "raw" else wire.tcp_option_bytes(*o) for o in opts)
            optbytes += bytes(-len(optbytes) % 4)
        else:
            optbytes = wire.tcp_options_bytes(opts)
        flags = wire.flags_int(step.flags)
        tcp = _TCP_HEADER.pack(step.sport, dport, (TESTER_ISN + step.seq) & 0xFFFFFFFF, ack,
                               (5 + len(optbytes) // 4) << 4 | flags >> 8, flags & 0xFF, step.win, 0, 0)
        tcp += optbytes + payload
        packet = _ipv4(TESTER_IP, DUT_IP, ip_id, socket.IPPROTO_TCP, tcp, tos=step.tos)
        frame = bytearray(_ETHER_TO_DUT + packet)
        frame[14 + 20 + 16:14 + 20 + 18] = tcp_checksum(packet).to_bytes(2, "big")
        if step.bad_csum:
            frame[14 + 20 + 16] ^= 0x5a
        return bytes(frame)

    def _frag_needed(self, step: TcpSend, dut_seq: int, dut_port: int, ip_id: int) -> bytes:
        """ICMP fragmentation needed from the tester, quoting the DUT's segment at dut_seq: the
        quoted IP header (the DUT's full-sized datagram, DF) and the first 8 bytes of its TCP header."""
        quoted = _ipv4(DUT_IP, TESTER_IP, 0, socket.IPPROTO_TCP, b"", tot_len=1500, df=True)
        quoted += struct.pack("!HHI", dut_port, step.sport, dut_seq)
        icmp = bytearray(struct.pack("!BBHBBH", 3, 4, 0, 0, 0, step.icmp_mtu) + quoted)
        icmp[2:4] = inet_checksum(bytes(icmp)).to_bytes(2, "big")
        return _ETHER_TO_DUT + _ipv4(TESTER_IP, DUT_IP, ip_id, socket.IPPROTO_ICMP, bytes(icmp))

    def _dut_seq(self, rel: int) -> int:
        """A sequence number relative to the DUT's ISN, made absolute."""
        if self.dut_isn is None:
            raise ValueError("a relative ack before the DUT's ISN is known")
        return (self.dut_isn + rel) & 0xFFFFFFFF

    def matches(self, exp: Expect, frame: bytes) -> bool:
        """Whether a DUT frame satisfies an Expect (learning from it first when it is a SYN)."""
        t = _dut_tcp(frame)
        if t is None:
            return False
        if exp.flags and wire.flags_str(t.flags) != exp.flags:
            return False
        isn = t.seq if t.flags & 0x02 else self.dut_isn
        if exp.seq is not None and (isn is None or (t.seq - isn) & 0xFFFFFFFF != exp.seq):
            return False
        if exp.ack is not None and (t.ack - TESTER_ISN) & 0xFFFFFFFF != exp.ack:
            return False
        if exp.payload_len is not None and len(t.payload) != exp.payload_len:
            return False
        return True


_ETHER_TO_DUT = bytes.fromhex(DUT_MAC.replace(":", "") + TESTER_MAC.replace(":", "")) + b"\x08\x00"
_TCP_HEADER = struct.Struct("!HHIIBBHHH")


def _ipv4(src: str, dst: str, ip_id: int, proto: int, payload: bytes, tos: int = 0, ttl: int = 64,
          tot_len: int = 0, df: bool = False) -> bytes:
    """An IPv4 header without options (its checksum filled in) and the payload."""
    header = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, tos, tot_len or 20 + len(payload), ip_id,
                                   0x4000 if df else 0, ttl, proto, 0, socket.inet_aton(src),
                                   socket.inet_aton(dst)))
    header[10:12] = inet_checksum(bytes(header)).to_bytes(2, "big")
    return bytes(header) + payload


def _dut_tcp(frame: bytes):
    """The DUT frame's TCP segment, None for any other frame (the DUT's frames are whole:
    one wire.tcp cannot read is not a segment a template learns from)."""
    try:
        return wire.tcp(bytes(frame))
    except wire.Unsupported:
        return None


def is_tcp_step(step) -> bool:
    return isinstance(step, (TcpSend, Expect))
