"""Checksum verdicts read straight off a frame's bytes: is the IPv4 header, ICMP
or TCP checksum right for the bytes it covers? The comparator asks this of every
frame whose checksum covers a normalized field; answering by rebuilding the frame
through Scapy twice took a fifth of the suite's time."""
from __future__ import annotations

import array
import sys
from typing import Optional

from scapy.packet import Packet, Padding

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


def layers(pkt: Packet) -> list[Packet]:
    """The packet's layers, outermost first (NoPayload, which is falsy, ends it)."""
    out, layer = [], pkt
    while layer:
        out.append(layer)
        layer = layer.payload
    return out


def _with_zero_field(data: bytes, at: int) -> bytes:
    return data[:at] + b"\0\0" + data[at + 2:]


def checksum_pair(pkt: Packet, index: int) -> Optional[tuple[int, int]]:
    """(carried, should be) for the checksum of the index-th layer, or None for a
    layer this does not read off bytes (then the caller asks Scapy)."""
    ls = layers(pkt)
    if index >= len(ls):
        return None
    cls = ls[index].__class__.__name__
    raw, full = bytes(pkt), bytes(ls[index])
    if not raw.endswith(full):
        return None
    # The checksum covers the layer and its payload, not the Ethernet padding after them.
    pad = len(bytes(ls[-1])) if isinstance(ls[-1], Padding) and len(ls) - 1 > index else 0
    body = full[:len(full) - pad]
    if cls == "IP":
        ihl = (body[0] & 0x0F) * 4 if body else 0
        if ihl < 20 or len(body) < ihl:
            return None
        return int.from_bytes(body[10:12], "big"), inet_checksum(_with_zero_field(body[:ihl], 10))
    if cls == "ICMP" and len(body) >= 4:
        return int.from_bytes(body[2:4], "big"), inet_checksum(_with_zero_field(body, 2))
    if cls == "TCP" and len(body) >= 20 and index > 0 and ls[index - 1].__class__.__name__ == "IP":
        ip = bytes(ls[index - 1])
        if len(ip) < 20 or ip[0] & 0x0F != 5:
            return None     # IP options: Scapy's pseudo-header follows a source route's final hop
        had, should = int.from_bytes(body[16:18], "big"), tcp_checksum(ip)
        # skb_checksum_help writes a folded 0 as CSUM_MANGLED_0: the same sum.
        return had, (CSUM_MANGLED_0 if had == CSUM_MANGLED_0 and should == 0 else should)
    return None


def tcp_checksum(packet: bytes) -> int:
    """The TCP checksum an IPv4 packet (its header, then TCP) should carry: the segment
    up to tot_len under the pseudo-header (addresses from the header, no source route).
    The pseudo-header's length is tot_len - ihl, as the receiver's skb is trimmed to
    tot_len, even where the frame carries fewer bytes."""
    ihl = (packet[0] & 0x0F) * 4
    tot_len = int.from_bytes(packet[2:4], "big")
    segment = packet[ihl:max(tot_len, ihl)]
    pseudo = packet[12:20] + bytes((0, 6)) + max(tot_len - ihl, 0).to_bytes(2, "big")
    return inet_checksum(pseudo + _with_zero_field(segment, 16))
