"""compare.flatten's (key, compared value) rows read straight off a frame's bytes, for
the frames most scenarios carry: Ether / ARP, Ether / IPv4 without options / TCP,
UDP or ICMP echo / Raw / Padding. Keys and values are Scapy's (its field names, the
values its dissection holds, the same normalizations), so two frames compare here as
they would through Scapy; any other frame is None, and the caller asks Scapy.
pytests/test_wire_bytes.py holds these rows to compare.flatten over traces/."""
from __future__ import annotations

import socket
import struct
from typing import Optional

from ..client import wire
from ..client.wire import CSUM_MANGLED_0, inet_checksum, tcp_checksum

RANDOM_MARK = "(random by design)"    # compare.RANDOM_MARK
# Ports Scapy binds a TCP or UDP payload to (scapy.all's payload_guess): such a payload
# is not Raw, and the frame goes to Scapy.
TCP_BOUND_PORTS = frozenset({53, 88, 135, 139, 389, 445, 1723, 2000, 3268})
UDP_BOUND_PORTS = frozenset({53, 67, 68, 69, 88, 123, 137, 138, 161, 162, 389, 434, 500, 520, 546, 547,
                             1701, 1812, 1813, 1985, 2029, 2055, 2056, 2727, 3799, 4500, 4789, 4790, 5353,
                             5355, 6343, 6633, 8472, 9995, 9996, 17754, 48879})
# IP protocols Scapy dissects as something other than TCP, UDP, ICMP or Raw (with frag 0:
# IP-in-IP, GRE; at any offset: IPv6, AH, ESP, SCTP, VRRP).
IP_BOUND_FIRST_FRAGMENT = frozenset({4, 47})
IP_BOUND_ANY = frozenset({41, 50, 51, 112, 132})
ICMP_ECHO = (0, 8)

_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")


class _Unsupported(Exception):
    pass


def _mac(b: bytes) -> str:
    return b.hex(":")


def _csum_verdict(had: int, should: int) -> str:
    return "valid" if had == should else f"INVALID (0x{had:04x}, should be 0x{should:04x})"


def values(frame, options_verdict) -> Optional[list[tuple[str, object]]]:
    """[(key, compared value)] as compare.flatten gives them for the frame (a Frame: its
    bytes, ts_frame_ms, ts_synack), or None where Scapy must answer. options_verdict is
    compare.tcp_options_verdict: a relative TSval's TCP options as compared."""
    try:
        return _ether(frame, options_verdict)
    except (_Unsupported, wire.Unsupported):
        return None


def _ether(frame, options_verdict) -> list:
    data = frame.data
    if len(data) < 14:
        raise _Unsupported
    etype = int.from_bytes(data[12:14], "big")
    rows = [("Ether.dst", _mac(data[0:6])), ("Ether.src", _mac(data[6:12])), ("Ether.type", etype)]
    if len(data) == 14:
        return rows
    if etype == 0x0800:
        return rows + _ipv4(frame, data, options_verdict)
    if etype == 0x0806:
        return rows + _arp(data)
    raise _Unsupported


def _arp(data: bytes) -> list:
    if len(data) < 14 + 28:
        raise _Unsupported
    hwtype, ptype, hwlen, plen, op = struct.unpack_from("!HHBBH", data, 14)
    if (hwtype, ptype, hwlen, plen) != (1, 0x0800, 6, 4):
        raise _Unsupported
    rows = [("ARP.hwtype", hwtype), ("ARP.ptype", ptype), ("ARP.hwlen", hwlen), ("ARP.plen", plen),
            ("ARP.op", op), ("ARP.hwsrc", _mac(data[22:28])), ("ARP.psrc", socket.inet_ntoa(data[28:32])),
            ("ARP.hwdst", _mac(data[32:38])), ("ARP.pdst", socket.inet_ntoa(data[38:42]))]
    if len(data) > 42:                                 # ARP.extract_padding: the rest is padding
        rows.append(("Padding.load", data[42:]))
    return rows


def _ipv4(frame, data: bytes, options_verdict) -> list:
    if len(data) < 34:
        raise _Unsupported
    vihl, tos, tot_len, _, frag_word, ttl, proto, chksum, src, dst = _IP.unpack_from(data, 14)
    if vihl & 0x0F != 5:
        raise _Unsupported                             # IP options: Scapy's IPOption packets
    frag = frag_word & 0x1FFF
    rows = [("IP.version", vihl >> 4), ("IP.ihl", 5), ("IP.tos", tos), ("IP.len", tot_len),
            ("IP.id", RANDOM_MARK), ("IP.flags", frag_word >> 13), ("IP.frag", frag), ("IP.ttl", ttl),
            ("IP.proto", proto),
            ("IP.chksum", _csum_verdict(chksum, inet_checksum(data[14:24] + b"\0\0" + data[26:34]))),
            ("IP.src", socket.inet_ntoa(src)), ("IP.dst", socket.inet_ntoa(dst)), ("IP.options", [])]
    # IP.extract_padding: the payload ends at tot_len, what follows is padding.
    if tot_len >= 20:
        payload, pad = data[34:14 + tot_len], data[14 + tot_len:]
    else:
        payload, pad = data[34:], b""
    if payload:
        if proto in IP_BOUND_ANY or (frag == 0 and proto in IP_BOUND_FIRST_FRAGMENT):
            raise _Unsupported
        if frag:
            rows.append(("Raw.load", payload))
        elif proto == 6:
            rows += _tcp(frame, data, payload, options_verdict)
        elif proto == 17:
            rows += _udp(payload)
        elif proto == 1:
            rows += _icmp(payload)
        else:
            rows.append(("Raw.load", payload))
    if pad:
        rows.append(("Padding.load", pad))
    return rows


def _tcp(frame, data: bytes, seg: bytes, options_verdict) -> list:
    if len(seg) < 20:
        raise _Unsupported
    sport, dport, seq, ack, off, flags_lo, window, chksum, urgptr = _TCP.unpack_from(seg)
    dataofs = off >> 4
    opsz = max((dataofs - 5) * 4, 0)
    options = wire.tcp_options(seg[20:20 + opsz])
    rows = [("TCP.sport", sport), ("TCP.dport", dport), ("TCP.seq", seq), ("TCP.ack", ack),
            ("TCP.dataofs", dataofs), ("TCP.reserved", off >> 1 & 0x07), ("TCP.flags", (off & 1) << 8 | flags_lo),
            ("TCP.window", window)]
    if frame.ts_frame_ms is not None:
        # The checksum covers the relative TSval: its validity (checksums.checksum_pair).
        should = tcp_checksum(data[14:])
        if chksum == CSUM_MANGLED_0 and should == 0:
            should = CSUM_MANGLED_0
        rows.append(("TCP.chksum", _csum_verdict(chksum, should)))
    else:
        rows.append(("TCP.chksum", chksum))
    rows.append(("TCP.urgptr", urgptr))
    # Scapy's dissection stops where the bytes do: no option bytes leave the field's default (b"").
    if len(seg) == 20:
        options = b""
    if frame.ts_frame_ms is not None:
        options = options_verdict(frame, options)[1]
    rows.append(("TCP.options", options))
    payload = seg[20 + opsz:]
    if payload:
        if sport in TCP_BOUND_PORTS or dport in TCP_BOUND_PORTS:
            raise _Unsupported
        rows.append(("Raw.load", payload))
    return rows


def _udp(seg: bytes) -> list:
    if len(seg) < 8:
        raise _Unsupported
    sport, dport, length, chksum = struct.unpack_from("!HHHH", seg)
    if length != len(seg):
        raise _Unsupported                             # UDP.extract_padding would cut it
    rows = [("UDP.sport", sport), ("UDP.dport", dport), ("UDP.len", length), ("UDP.chksum", chksum)]
    if len(seg) > 8:
        if sport in UDP_BOUND_PORTS or dport in UDP_BOUND_PORTS:
            raise _Unsupported
        rows.append(("Raw.load", seg[8:]))
    return rows


def _icmp(seg: bytes) -> list:
    if len(seg) < 8 or seg[0] not in ICMP_ECHO:
        raise _Unsupported
    icmp_type, code, chksum, ident, seq = struct.unpack_from("!BBHHH", seg)
    rows = [("ICMP.type", icmp_type), ("ICMP.code", code), ("ICMP.chksum", chksum), ("ICMP.id", ident),
            ("ICMP.seq", seq), ("ICMP.unused", b"" if len(seg) > 8 else None)]
    if len(seg) > 8:
        rows.append(("Raw.load", seg[8:]))
    return rows
