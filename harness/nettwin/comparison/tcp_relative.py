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

from typing import Optional

from ..client.frame import Frame
from ..scenarios.tcp_template import TESTER_ISN, TS_BASE
from ..client.wire import CSUM_MANGLED_0, inet_checksum, tcp_checksum

EPHEMERAL_LOW = 32768
M32 = 0xFFFFFFFF


def _tcp_offsets(raw: bytes) -> Optional[tuple[int, int]]:
    """(IP offset, TCP offset) of an Ethernet frame carrying IPv4/TCP with its TCP header
    (not a later fragment), else None."""
    if len(raw) < 14 + 20 or raw[12:14] != b"\x08\x00" or raw[14] >> 4 != 4 or raw[14 + 9] != 6:
        return None
    if int.from_bytes(raw[14 + 6:14 + 8], "big") & 0x1FFF:
        return None
    tcp = 14 + (raw[14] & 0x0F) * 4
    if raw[14] & 0x0F < 5 or len(raw) < tcp + 20:
        return None
    return 14, tcp


def _timestamp_option_at(raw: bytes, tcp: int) -> Optional[int]:
    """Where the TCP Timestamp option's TSval starts, walking the options as tcp_parse_options does."""
    i, end = tcp + 20, min(len(raw), tcp + (raw[tcp + 12] >> 4) * 4)
    while i < end:
        kind = raw[i]
        if kind == 0:
            return None
        if kind == 1:
            i += 1
            continue
        if i + 1 >= end or raw[i + 1] < 2:
            return None
        if kind == 8 and raw[i + 1] == 10 and i + 10 <= end:
            return i + 2
        i += raw[i + 1]
    return None


def _conn_key(raw: bytes, ip: int, tcp: int) -> tuple:
    """The DUT's address and port, the tester's port."""
    return bytes(raw[ip + 12:ip + 16]), bytes(raw[tcp:tcp + 2]), bytes(raw[tcp + 2:tcp + 4])


def _sub32(raw: bytearray, at: int, base: int) -> None:
    raw[at:at + 4] = ((int.from_bytes(raw[at:at + 4], "big") - base) & M32).to_bytes(4, "big")


def _checksums_valid(frame: Frame, raw: bytes, ip: int, tcp: int) -> bool:
    """Are the IP and TCP checksums right (compare.checksum_verdict's "valid" for both)?
    Read off the bytes for a whole segment without IP options, else asked of Scapy."""
    tot_len = int.from_bytes(raw[ip + 2:ip + 4], "big")
    if tcp - ip == 20 and 40 <= tot_len <= len(raw) - ip:
        if int.from_bytes(raw[ip + 10:ip + 12], "big") != inet_checksum(raw[ip:ip + 10] + b"\0\0" + raw[ip + 12:tcp]):
            return False
        had, should = int.from_bytes(raw[tcp + 16:tcp + 18], "big"), tcp_checksum(raw[ip:])
        return had == should or (had == CSUM_MANGLED_0 and should == 0)
    from scapy.layers.inet import IP, TCP
    from .checksums import layers
    from .compare import checksum_verdict
    pkt = frame.packet()
    kinds = [layer.__class__ for layer in layers(pkt)]
    return all(checksum_verdict(pkt, kinds.index(kind), "chksum") == "valid" for kind in (IP, TCP))


def _has_tcp_layer(raw: bytes, ip: int, tcp: int) -> bool:
    """Scapy dissects a TCP layer: the IP payload (up to tot_len, or all of it when tot_len is
    below the header) is not empty."""
    return int.from_bytes(raw[ip + 2:ip + 4], "big") != tcp - ip


def relative_frames(frames) -> list[Frame]:
    """The frames (Frames, Scapy packets or bytes) as Frames, with DUT TCP numbers made
    relative in their bytes; others as they are."""
    conns: dict = {}
    last_isn = None
    out = []
    frames = [Frame.of(f) for f in frames]
    frames_raw = [bytearray(f.data) for f in frames]
    # Each connection's TSval base: its first DUT segment with a TSval and no SYN.
    bases: dict = {}
    for frame, raw in zip(frames, frames_raw):
        where = _tcp_offsets(raw)
        if where is None or raw[where[1] + 13] & 0x02:
            continue
        ip, tcp = where
        ts = _timestamp_option_at(raw, tcp)
        if ts is not None:
            bases.setdefault(_conn_key(raw, ip, tcp), (int.from_bytes(raw[ts:ts + 4], "big"), frame.seconds))
    for frame, raw in zip(frames, frames_raw):
        where = _tcp_offsets(raw)
        if where is None or not _has_tcp_layer(raw, *where):
            out.append(frame)
            continue
        ip, tcp = where
        ok = _checksums_valid(frame, bytes(raw), ip, tcp)
        t0 = frame.seconds
        sport, flags = int.from_bytes(raw[tcp:tcp + 2], "big"), raw[tcp + 13]
        key = _conn_key(raw, ip, tcp)
        c = conns.setdefault(key, {"isn": None, "tsval": None, "ts_t0": None,
                                   "ipid": int.from_bytes(raw[ip + 4:ip + 6], "big")})
        if c["tsval"] is None and key in bases:
            c["tsval"], c["ts_t0"] = bases[key]
        if flags & 0x02:                                  # SYN
            c["isn"] = last_isn = int.from_bytes(raw[tcp + 4:tcp + 8], "big")
        # A connection with no SYN of its own (a RST answering the tester's ACK) is
        # relative to the last ISN the DUT chose, as the tester's template was.
        isn = c["isn"] if c["isn"] is not None else last_isn
        if isn is not None:
            _sub32(raw, tcp + 4, isn)
        if flags & 0x10:                                  # ACK
            _sub32(raw, tcp + 8, TESTER_ISN)
        ts_frame_ms = None
        ts = _timestamp_option_at(raw, tcp)
        if ts is not None:
            if c["tsval"] is None:
                c["tsval"] = int.from_bytes(raw[ts:ts + 4], "big")
                c["ts_t0"] = t0
            if t0 is not None and c["ts_t0"] is not None:
                ts_frame_ms = (t0 - c["ts_t0"]) * 1000
            _sub32(raw, ts, c["tsval"])
            if int.from_bytes(raw[ts + 4:ts + 8], "big"):
                _sub32(raw, ts + 4, TS_BASE)
        raw[ip + 4:ip + 6] = ((int.from_bytes(raw[ip + 4:ip + 6], "big") - c["ipid"]) & 0xFFFF).to_bytes(2, "big")
        if sport >= EPHEMERAL_LOW:
            raw[tcp:tcp + 2] = (1).to_bytes(2, "big")
        # Checksums over the relative frame; 0 where the original's were wrong, so
        # that a wrong checksum still shows as a difference.
        raw[ip + 10:ip + 12] = raw[tcp + 16:tcp + 18] = b"\0\0"
        if ok:
            raw[ip + 10:ip + 12] = inet_checksum(bytes(raw[ip:tcp])).to_bytes(2, "big")
            raw[tcp + 16:tcp + 18] = tcp_checksum(bytes(raw[ip:])).to_bytes(2, "big")
        rel = Frame(raw, frame.time_ns, frame._time, frame.sniffed_on)
        if ts_frame_ms is not None:
            rel.ts_frame_ms = ts_frame_ms
            rel.ts_synack = flags & 0x12 == 0x12
        out.append(rel)
    return out


def frame_outline(frames) -> list[tuple]:
    """What two recordings of one scenario must agree on, frame by frame: for TCP the
    flags, relative seq and ack, payload length, window, ports and option kinds (TS
    values move with the ms the run took); any other frame as its bytes."""
    from scapy.layers.inet import TCP
    out = []
    for frame in relative_frames(frames):
        pkt = frame.packet()
        if TCP in pkt:
            t = pkt[TCP]
            out.append(("tcp", str(t.flags), t.seq, t.ack, len(bytes(t.payload)), t.window, t.sport, t.dport,
                        tuple(name for name, _ in t.options)))
        else:
            out.append(("frame", bytes(pkt).hex()))
    return out
