"""DUT TCP frames with what is random by design made relative, so that Linux's
frames and the stack's compare field by field: per connection (the DUT's address
and port, the tester's port), seq relative to the DUT's ISN (from its SYN; else the last
ISN the DUT chose; absolute when it chose none, e.g. a RST to a closed port, whose seq
the tester chose), ack
relative to the tester's fixed ISN, TSval relative to the connection's first DUT
TSval, TSecr relative to the tester's TS base, IP ID relative to the connection's
first, and an ephemeral DUT port (ip_local_port_range, >= 32768) as 1.
Each frame with a TSval also carries `ts_frame_ms`, the ms its capture came after
the connection's first TSval frame: a TSval is the sender's clock when the frame
left, so it is held to its own frame's time (compare.py), as the timer wheel may
send a retransmission a granule earlier or later on either side.
Checksums are recomputed over the relative frame; a frame whose original TCP or IP
checksum was wrong gets checksum 0, so a wrong checksum still shows as a difference.
"""
from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from ..scenarios.tcp_template import TESTER_ISN, TS_BASE
from .checksums import layers
from .compare import checksum_verdict

EPHEMERAL_LOW = 32768
M32 = 0xFFFFFFFF


def _checksums_ok(pkt) -> bool:
    kinds = [layer.__class__ for layer in layers(pkt)]
    return all(checksum_verdict(pkt, kinds.index(kind), "chksum") == "valid" for kind in (IP, TCP))


def relative_frames(frames) -> list:
    """The frames (Scapy packets or bytes) with DUT TCP numbers made relative; others as they are."""
    conns: dict = {}
    last_isn = None
    out = []
    for f in frames:
        pkt = f if not isinstance(f, (bytes, bytearray)) else Ether(bytes(f))
        if TCP not in pkt or IP not in pkt:
            out.append(pkt)
            continue
        t0 = getattr(pkt, "time", None)
        ok = _checksums_ok(pkt)
        rel = Ether(bytes(pkt))
        ip, tcp = rel[IP], rel[TCP]
        key = (ip.src, tcp.sport, tcp.dport)
        c = conns.setdefault(key, {"isn": None, "tsval": None, "ts_t0": None, "ipid": ip.id})
        if "S" in str(tcp.flags):
            c["isn"] = tcp.seq
            last_isn = tcp.seq
        # A connection with no SYN of its own (a RST answering the tester's ACK) is
        # relative to the last ISN the DUT chose, as the tester's template was.
        isn = c["isn"] if c["isn"] is not None else last_isn
        if isn is not None:
            tcp.seq = (tcp.seq - isn) & M32
        if "A" in str(tcp.flags):
            tcp.ack = (tcp.ack - TESTER_ISN) & M32
        opts = []
        ts_frame_ms = None
        for name, value in tcp.options:
            if name == "Timestamp":
                if c["tsval"] is None:
                    c["tsval"] = value[0]
                    c["ts_t0"] = t0
                if t0 is not None and c["ts_t0"] is not None:
                    ts_frame_ms = (float(t0) - float(c["ts_t0"])) * 1000
                value = ((value[0] - c["tsval"]) & M32, (value[1] - TS_BASE) & M32 if value[1] else 0)
            opts.append((name, value))
        tcp.options = opts
        ip.id = (ip.id - c["ipid"]) & 0xFFFF
        if tcp.sport >= EPHEMERAL_LOW:
            tcp.sport = 1
        del ip.chksum
        del tcp.chksum
        rel = Ether(bytes(rel))
        if not ok:
            rel[IP].chksum = 0
            rel[TCP].chksum = 0
            rel = Ether(bytes(rel))
        if t0 is not None:
            rel.time = t0
        if ts_frame_ms is not None:
            rel.ts_frame_ms = ts_frame_ms
        out.append(rel)
    return out


def frame_outline(frames) -> list[tuple]:
    """What two recordings of one scenario must agree on, frame by frame: for TCP the
    flags, relative seq and ack, payload length, window, ports and option kinds (TS
    values move with the ms the run took); any other frame as its bytes."""
    out = []
    for pkt in relative_frames(frames):
        if TCP in pkt:
            t = pkt[TCP]
            out.append(("tcp", str(t.flags), t.seq, t.ack, len(bytes(t.payload)), t.window, t.sport, t.dport,
                        tuple(name for name, _ in t.options)))
        else:
            out.append(("frame", bytes(pkt).hex()))
    return out
