"""Ethernet/IPv4/TCP read and written as bytes, in Scapy's spelling (TCP options as
Scapy's TCPOptionsField gives them, flags as its letters), for the conformance path:
building and dissecting each frame through Scapy was most of what a scenario cost.
pytests/test_wire_bytes.py holds each of these to Scapy's answer over traces/."""
from __future__ import annotations

import array
import struct
import sys
from typing import NamedTuple, Optional

ETH_P_IP = 0x0800
TCP_FLAGS = "FSRPAUECN"          # Scapy's TCP flag letters, bit 0 first
# Scapy's TCPOptions table (scapy/layers/inet.py): kind -> (name, struct format).
# AO (29) is left out: Scapy dissects it into a packet of its own (unsupported here).
TCP_OPTIONS = {0: ("EOL", None), 1: ("NOP", None), 2: ("MSS", "!H"), 3: ("WScale", "!B"),
               4: ("SAckOK", None), 5: ("SAck", "!"), 8: ("Timestamp", "!II"),
               14: ("AltChkSum", "!BH"), 15: ("AltChkSumOpt", None), 19: ("MD5", "16s"),
               25: ("Mood", "!p"), 28: ("UTO", "!H"), 34: ("TFO", "!II")}
TCP_OPTION_KINDS = {name: kind for kind, (name, _) in TCP_OPTIONS.items()}
AO = 29


class Unsupported(ValueError):
    """Bytes these helpers do not spell as Scapy would: the caller asks Scapy."""


def flags_str(flags: int) -> str:
    """str(TCP.flags) in Scapy: the set bits' letters, lowest first ("SA")."""
    return "".join(c for i, c in enumerate(TCP_FLAGS) if flags >> i & 1)


def flags_int(letters: str) -> int:
    try:
        return sum(1 << TCP_FLAGS.index(c) for c in set(letters))
    except ValueError:
        raise ValueError(f"TCP flags {letters!r}: letters are {TCP_FLAGS}") from None


def tcp_options(x: bytes) -> list:
    """TCPOptionsField.m2i: the option bytes as [(name, value)], kinds Scapy does not
    name as (kind, bytes); a malformed length is taken as 2, as Scapy does."""
    opt = []
    while x:
        onum = x[0]
        if onum == 0:
            opt.append(("EOL", None))
            break
        if onum == 1:
            opt.append(("NOP", None))
            x = x[1:]
            continue
        olen = x[1] if len(x) > 1 else 0
        if olen < 2:
            olen = 2
        oval = x[2:olen]
        if onum == AO:
            raise Unsupported("TCP-AO option")
        if onum in TCP_OPTIONS:
            oname, ofmt = TCP_OPTIONS[onum]
            if onum == 5:
                ofmt += "%iI" % (len(oval) // 4)
            if ofmt and struct.calcsize(ofmt) == len(oval):
                oval = struct.unpack(ofmt, oval)
                if len(oval) == 1:
                    oval = oval[0]
            opt.append((oname, oval))
        else:
            opt.append((onum, oval))
        x = x[olen:]
    return opt


def tcp_option_bytes(name, value) -> bytes:
    """One option as TCPOptionsField.i2m writes it (no padding): ("MSS", 1460),
    ("Timestamp", (v, e)), ("SAck", (a, b, ...)), ("SAckOK", b""), ("NOP", None), (kind, bytes)."""
    name = {0: "EOL", 1: "NOP"}.get(name, name)
    if name == "NOP":
        return b"\x01"
    if name == "EOL":
        return b"\x00"
    if isinstance(name, str):
        kind = TCP_OPTION_KINDS[name]
        fmt = TCP_OPTIONS[kind][1]
        if kind == 5:
            fmt += "%iI" % len(value)
        if fmt is not None and (not isinstance(value, (bytes, str)) or "s" in fmt):
            value = struct.pack(fmt, *(value if isinstance(value, tuple) else (value,)))
    else:
        kind = name
    value = value.encode() if isinstance(value, str) else bytes(value)
    return bytes((kind, 2 + len(value))) + value


def tcp_options_bytes(options) -> bytes:
    """The options field as i2m writes it: each option, then zeros to a multiple of 4."""
    opt = b"".join(tcp_option_bytes(n, v) for n, v in options)
    return opt + bytes(3 - (len(opt) + 3) % 4)


class Tcp(NamedTuple):
    """A TCP segment in an Ethernet frame, read as Scapy dissects Ether/IP/TCP."""
    ip: int             # offset of the IP header
    tcp: int            # offset of the TCP header
    sport: int
    dport: int
    seq: int
    ack: int
    dataofs: int
    flags: int
    window: int
    options: list       # Scapy's spelling (tcp_options)
    payload: bytes      # what follows the header, up to the IP total length


_TCP = struct.Struct("!HHIIBBH")


def tcp(frame: bytes) -> Optional[Tcp]:
    """The frame's TCP segment where Scapy dissects Ether / IP / TCP (IPv4, first
    fragment, protocol 6), else None. Raises Unsupported where Scapy would go
    another way this does not follow (an IP header shorter than 20 bytes, a TCP
    header cut short, an AO option)."""
    if len(frame) < 14 or frame[12:14] != b"\x08\x00":
        return None
    if len(frame) < 34:
        raise Unsupported("a truncated IPv4 header")
    if frame[14 + 9] != 6 or int.from_bytes(frame[20:22], "big") & 0x1FFF:
        return None
    ihl = (frame[14] & 0x0F) * 4
    tot_len = int.from_bytes(frame[16:18], "big")
    if ihl < 20 or len(frame) < 14 + ihl:
        raise Unsupported("an IPv4 header Scapy reads otherwise")
    # IP.extract_padding: the payload ends at tot_len (unless tot_len is below the header).
    end = 14 + tot_len if tot_len >= ihl else len(frame)
    at = 14 + ihl
    seg = frame[at:end]
    if len(seg) < 20:
        raise Unsupported("a TCP header cut short")
    sport, dport, seq, ack, off, flags_lo, window = _TCP.unpack_from(seg)
    dataofs = off >> 4
    flags = (off & 0x01) << 8 | flags_lo
    opsz = max((dataofs - 5) * 4, 0)
    options = tcp_options(seg[20:20 + opsz])
    return Tcp(14, at, sport, dport, seq, ack, dataofs, flags, window, options, seg[20 + opsz:])


# ---------------------------------------------------------------- checksums

_LITTLE_ENDIAN = sys.byteorder == "little"
CSUM_MANGLED_0 = 0xFFFF  # one's-complement zero, carried in place of 0


def inet_checksum(data: bytes) -> int:
    """RFC 1071's ones'-complement sum, as Linux's csum_fold(csum_partial(...))."""
    if len(data) % 2:
        data += b"\0"
    s = sum(array.array("H", data))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    s = ~s & 0xFFFF
    return ((s >> 8) | ((s & 0xFF) << 8)) if _LITTLE_ENDIAN else s


def zero_field(data: bytes, at: int) -> bytes:
    return data[:at] + b"\0\0" + data[at + 2:]


def tcp_checksum(packet: bytes) -> int:
    """The TCP checksum an IPv4 packet (its header, then TCP) should carry: the segment
    up to tot_len under the pseudo-header (addresses from the header, no source route).
    The pseudo-header's length is tot_len - ihl, as the receiver's skb is trimmed to
    tot_len, even where the frame carries fewer bytes."""
    ihl = (packet[0] & 0x0F) * 4
    tot_len = int.from_bytes(packet[2:4], "big")
    segment = packet[ihl:max(tot_len, ihl)]
    pseudo = packet[12:20] + bytes((0, 6)) + max(tot_len - ihl, 0).to_bytes(2, "big")
    return inet_checksum(pseudo + zero_field(segment, 16))
