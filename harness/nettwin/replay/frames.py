"""What a replay needs to know of an Ethernet frame, read from its bytes (no
Scapy: a capture of a million frames is read in seconds): its flow, whether it
is a request by nature (an ARP request, an ICMP echo or timestamp request, a
TCP SYN), its TCP numbers, and its bytes with what is random or clock-bound by
design blanked, for comparing the DUT's frames with the stack's.

A flow is the same whichever way its frames go: TCP and UDP by their two
address:port ends, ICMP echo and timestamp by the two addresses and the ICMP
id, an ICMP error by the flow of the packet it quotes, ARP by the two
addresses it is about, other IPv4 by protocol and addresses."""
from __future__ import annotations

import socket
import struct
from typing import NamedTuple, Optional

ETH_IPV4, ETH_ARP = 0x0800, 0x0806
TCP, UDP, ICMP = 6, 17, 1
SYN, ACK, FIN = 0x02, 0x10, 0x01
ICMP_REQUESTS = {8, 13}          # echo, timestamp
ICMP_ANSWERS = {0, 14}           # their replies
ICMP_ERRORS = {3, 4, 5, 11, 12}  # they quote the packet they answer
_H = struct.Struct("!H")
_I = struct.Struct("!I")


class Frame(NamedTuple):
    flow: tuple
    src_ip: bytes           # b"" when the frame has none
    dst_ip: bytes
    request: bool           # a request by nature: ARP request, ICMP request, SYN without ACK
    answer: bool            # an answer by nature: ARP reply, ICMP reply, SYN-ACK
    tcp: Optional[tuple]    # (seq, length in sequence space, flags, source port) for TCP


def _ends(a: bytes, pa: int, b: bytes, pb: int) -> tuple:
    return ((a, pa), (b, pb)) if (a, pa) <= (b, pb) else ((b, pb), (a, pa))


def _ip_flow(pkt: bytes, ihl: int, proto: int, src: bytes, dst: bytes) -> tuple:
    l4 = pkt[ihl:ihl + 4]
    if proto in (TCP, UDP) and len(l4) == 4:
        return (proto, *_ends(src, _H.unpack_from(l4, 0)[0], dst, _H.unpack_from(l4, 2)[0]))
    return (proto, *sorted((src, dst)))


def parse(data: bytes) -> Frame:
    """The frame's flow and nature (a frame too short for its headers is its own kind of flow)."""
    etype = _H.unpack_from(data, 12)[0] if len(data) >= 14 else 0
    if etype == ETH_ARP and len(data) >= 42:
        spa, tpa = data[28:32], data[38:42]
        op = _H.unpack_from(data, 20)[0]
        return Frame(("arp", *sorted((spa, tpa))), spa, tpa, op == 1, op == 2, None)
    if etype != ETH_IPV4 or len(data) < 34 or data[14] >> 4 != 4:
        return Frame(("ether", etype, *sorted((data[0:6], data[6:12]))), b"", b"", False, False, None)
    ihl = (data[14] & 0x0F) * 4
    proto, src, dst = data[23], data[26:30], data[30:34]
    l4 = 14 + ihl
    if proto == TCP and len(data) >= l4 + 20:
        sport, dport, seq = struct.unpack_from("!HHI", data, l4)
        flags = data[l4 + 13]
        total = _H.unpack_from(data, 16)[0]
        length = total - ihl - (data[l4 + 12] >> 4) * 4 + bool(flags & SYN) + bool(flags & FIN)
        syn_only = flags & (SYN | ACK) == SYN
        return Frame((TCP, *_ends(src, sport, dst, dport)), src, dst, syn_only,
                     flags & (SYN | ACK) == SYN | ACK, (seq, length, flags, sport))
    if proto == ICMP and len(data) >= l4 + 8:
        itype = data[l4]
        if itype in ICMP_ERRORS and len(data) >= l4 + 8 + 20:
            inner = data[l4 + 8:]
            return Frame(_ip_flow(inner, (inner[0] & 0x0F) * 4, inner[9], inner[12:16], inner[16:20]),
                         src, dst, False, True, None)
        ident = _H.unpack_from(data, l4 + 4)[0]
        return Frame(("icmp", *sorted((src, dst)), ident), src, dst, itype in ICMP_REQUESTS,
                     itype in ICMP_ANSWERS, None)
    return Frame(_ip_flow(data[14:], ihl, proto, src, dst), src, dst, False, False, None)


def signature(data: bytes) -> Optional[bytes]:
    """The bytes of the common frames (ARP; IPv4 without options: TCP, UDP, ICMP
    but its errors) that parse() reads but for TCP's seq and length, and the MACs:
    frames of one signature parse the same, so a pass parses one of them and looks
    the others up. None for the rest (parse each)."""
    if len(data) < 42:
        return None
    etype = data[12:14]
    if etype == b"\x08\x00":
        if data[14] != 0x45:
            return None
        proto = data[23]
        if proto == TCP:
            return data[:12] + b"T" + data[26:38] + data[47:48] if len(data) >= 54 else None
        if proto == ICMP:
            return None if data[34] in ICMP_ERRORS else data[:12] + b"I" + data[26:35] + data[38:40]
        if proto == UDP:
            return data[:12] + b"U" + data[26:38]
        return data[:12] + b"P" + data[23:24] + data[26:34]   # each kind its own length: no clash
    if etype == b"\x08\x06":
        return data[:12] + b"A" + data[20:22] + data[28:32] + data[38:42]
    return None


def tcp_numbers(data: bytes) -> tuple:
    """(seq, length in sequence space) of a TCP frame of signature(): no IP options."""
    seq = _I.unpack_from(data, 38)[0]
    flags = data[47]
    return seq, (_H.unpack_from(data, 16)[0] - 20 - (data[46] >> 4) * 4
                 + bool(flags & SYN) + bool(flags & FIN))


def ip_text(raw: bytes) -> str:
    return socket.inet_ntoa(raw) if len(raw) == 4 else raw.hex(":")


def flow_name(flow: tuple) -> str:
    """'TCP 198.51.100.1:40000 <-> 198.51.100.2:80', 'ICMP 198.51.100.1 <-> 198.51.100.2 id 7'..."""
    kind = flow[0]
    if kind == "arp":
        return f"ARP {ip_text(flow[1])} <-> {ip_text(flow[2])}"
    if kind == "icmp":
        return f"ICMP {ip_text(flow[1])} <-> {ip_text(flow[2])} id {flow[3]}"
    if kind == "ether":
        return f"ethertype 0x{flow[1]:04x} {flow[2].hex(':')} <-> {flow[3].hex(':')}"
    if kind in (TCP, UDP):
        (a, pa), (b, pb) = flow[1], flow[2]
        return f"{'TCP' if kind == TCP else 'UDP'} {ip_text(a)}:{pa} <-> {ip_text(b)}:{pb}"
    return f"IP proto {kind} {ip_text(flow[1])} <-> {ip_text(flow[2])}"


def blanked(data: bytes, seq_base: Optional[int]) -> bytes:
    """The frame with what differs by design between the capture's DUT and the
    stack blanked: the IPv4 ID (random), the IPv4 and TCP checksums (they cover
    those), a TCP seq made relative to the sender's first in the flow (seq_base:
    its ISN), the TCP TSval (the sender's clock) and an ICMP timestamp reply's
    clock readings with its checksum."""
    if len(data) < 34 or _H.unpack_from(data, 12)[0] != ETH_IPV4:
        return data
    ihl = (data[14] & 0x0F) * 4
    l4 = 14 + ihl
    proto = data[23]
    if proto != TCP and (proto != ICMP or len(data) < l4 + 20 or data[l4] != 14):
        return data[:18] + b"\0\0" + data[20:24] + b"\0\0" + data[26:]   # the IPv4 ID and checksum only
    out = bytearray(data)
    out[18:20] = out[24:26] = b"\0\0"
    if data[23] == TCP and len(data) >= l4 + 20:
        if seq_base is not None:
            _I.pack_into(out, l4 + 4, (_I.unpack_from(data, l4 + 4)[0] - seq_base) & 0xFFFFFFFF)
        out[l4 + 16:l4 + 18] = b"\0\0"
        at, end = l4 + 20, min(len(data), l4 + (data[l4 + 12] >> 4) * 4)
        while at < end and data[at] != 0:
            if data[at] == 1:
                at += 1
                continue
            if at + 1 >= end or data[at + 1] < 2:
                break
            if data[at] == 8 and data[at + 1] == 10 and at + 6 <= end:
                out[at + 2:at + 6] = b"\0\0\0\0"
            at += data[at + 1]
    elif data[23] == ICMP and len(data) >= l4 + 20 and data[l4] == 14:
        out[l4 + 2:l4 + 4] = b"\0\0"
        out[l4 + 12:l4 + 20] = bytes(8)
    return bytes(out)
