"""DUT TCP frames with what is random by design made relative, so that Linux's
frames and the stack's compare field by field: per connection (the DUT's address
and port, the tester's port), seq relative to the DUT's ISN (from its SYN; else the last
ISN the DUT chose; absolute when it chose none, e.g. a RST to a closed port, whose seq
the tester chose), ack
relative to the tester's fixed ISN, TSval relative to the connection's first DUT
TSval (without SYN, below), TSecr relative to the tester's TS base, IP ID relative to the connection's
first, and an ephemeral DUT port (ip_local_port_range, >= 32768) as 1.
Each frame with a TSval also carries `ts_frame_ms`, the ms its capture came after
the connection's first TSval frame: a TSval is the sender's clock when the frame
left, so it is held to its own frame's time (compare.py), as the timer wheel may
send a retransmission a granule earlier or later on either side.
The TSval base is the connection's first DUT segment without SYN when there is
one: a SYN-ACK's TSval may be a syncookie's, whose low 6 bits carry the options
(cookie_init_timestamp: up to 63 ms below the clock, by the clock's own low bits,
random by design); such a SYN-ACK is marked `ts_synack` and held to its frame's time
within that range (compare.py).
Checksums are recomputed over the relative frame; a frame whose original TCP or IP
checksum was wrong gets checksum 0, so a wrong checksum still shows as a difference.
"""
from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from ..scenarios.tcp_template import TESTER_ISN, TS_BASE

EPHEMERAL_LOW = 32768
M32 = 0xFFFFFFFF


def _checksums_ok(pkt) -> bool:
    ip, tcp = pkt[IP], pkt[TCP]
    fresh = Ether(bytes(pkt))
    del fresh[IP].chksum
    del fresh[TCP].chksum
    fresh = Ether(bytes(fresh))
    return fresh[IP].chksum == ip.chksum and fresh[TCP].chksum == tcp.chksum


def relative_frames(frames) -> list:
    """The frames (Scapy packets or bytes) with DUT TCP numbers made relative; others as they are."""
    conns: dict = {}
    last_isn = None
    out = []
    pkts = [f if not isinstance(f, (bytes, bytearray)) else Ether(bytes(f)) for f in frames]
    # Each connection's TSval base: its first DUT segment with a TSval and no SYN.
    bases: dict = {}
    for pkt in pkts:
        if TCP in pkt and IP in pkt and "S" not in str(pkt[TCP].flags):
            for name, value in pkt[TCP].options:
                if name == "Timestamp" and isinstance(value, tuple) and len(value) == 2:
                    bases.setdefault((pkt[IP].src, pkt[TCP].sport, pkt[TCP].dport),
                                     (value[0], getattr(pkt, "time", None)))
    for pkt in pkts:
        if TCP not in pkt or IP not in pkt:
            out.append(pkt)
            continue
        t0 = getattr(pkt, "time", None)
        ok = _checksums_ok(pkt)
        rel = Ether(bytes(pkt))
        ip, tcp = rel[IP], rel[TCP]
        key = (ip.src, tcp.sport, tcp.dport)
        c = conns.setdefault(key, {"isn": None, "tsval": None, "ts_t0": None, "ipid": ip.id})
        if c["tsval"] is None and key in bases:
            c["tsval"], c["ts_t0"] = bases[key]
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
            rel.ts_synack = "S" in str(rel[TCP].flags) and "A" in str(rel[TCP].flags)
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
