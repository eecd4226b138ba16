"""Checksum verdicts read straight off a frame's bytes: is the IPv4 header, ICMP
or TCP checksum right for the bytes it covers? The comparator asks this of every
frame whose checksum covers a normalized field; answering by rebuilding the frame
through Scapy twice took a fifth of the suite's time."""
from __future__ import annotations

from typing import TYPE_CHECKING, Optional

from ..client.wire import CSUM_MANGLED_0, inet_checksum, tcp_checksum, zero_field  # noqa: F401  (re-exported)

if TYPE_CHECKING:
    from scapy.packet import Packet


def layers(pkt: Packet) -> list[Packet]:
    """The packet's layers, outermost first (NoPayload, which is falsy, ends it)."""
    out, layer = [], pkt
    while layer:
        out.append(layer)
        layer = layer.payload
    return out


def checksum_pair(pkt: Packet, index: int) -> Optional[tuple[int, int]]:
    """(carried, should be) for the checksum of the index-th layer, or None for a
    layer this does not read off bytes (then the caller asks Scapy)."""
    from scapy.packet import Padding
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
        return int.from_bytes(body[10:12], "big"), inet_checksum(zero_field(body[:ihl], 10))
    if cls == "ICMP" and len(body) >= 4:
        return int.from_bytes(body[2:4], "big"), inet_checksum(zero_field(body, 2))
    if cls == "TCP" and len(body) >= 20 and index > 0 and ls[index - 1].__class__.__name__ == "IP":
        ip = bytes(ls[index - 1])
        if len(ip) < 20 or ip[0] & 0x0F != 5:
            return None     # IP options: Scapy's pseudo-header follows a source route's final hop
        had, should = int.from_bytes(body[16:18], "big"), tcp_checksum(ip)
        # skb_checksum_help writes a folded 0 as CSUM_MANGLED_0: the same sum.
        return had, (CSUM_MANGLED_0 if had == CSUM_MANGLED_0 and should == 0 else should)
    return None
