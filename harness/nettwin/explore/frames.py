"""Frame grammar: one function per area draws a frame (or a few) from an rng, with
values at their edges and checksums right or wrong. Only the topology's own
addresses and 198.51.100.0/24, 203.0.113.0/24 appear (never 192.0.2.0/24)."""
from __future__ import annotations

import random

from scapy.layers.inet import ICMP, IP, UDP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from ..scenarios.model import DUT_IP, DUT_MAC, OTHER_MAC, TESTER_IP, TESTER_MAC

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
DUT_PORT = 5000
TESTER_PORT = 4000
# Addresses a frame may name: ours, the tester's, neighbours nobody has, the
# subnet's broadcast, the far net, limited broadcast, loopback (a martian) and 0.
ON_LINK_OTHERS = ("198.51.100.7", "198.51.100.50", "198.51.100.254")
FAR_NET = ("203.0.113.1", "203.0.113.2", "203.0.113.77")
SUBNET_BCAST = "198.51.100.255"


def fill(rng: random.Random, n: int) -> bytes:
    """n payload bytes in one of a few patterns (never random noise: a shrunk
    finding stays readable)."""
    kind = rng.randrange(3)
    if kind == 0:
        return bytes(n)
    if kind == 1:
        return bytes((0x20 + i) % 0x5f + 0x20 for i in range(n))
    return bytes([rng.choice((0x41, 0x5a, 0xff))]) * n


def frozen(pkt) -> Ether:
    """The packet as it will be on the wire (lengths and checksums computed)."""
    return Ether(bytes(pkt))


def eth(dst: str = DUT_MAC, src: str = TESTER_MAC, **kw) -> Ether:
    return Ether(dst=dst, src=src, **kw)


# ------------------------------------------------------------------ ARP

def arp_frame(rng: random.Random) -> tuple[bytes, str]:
    op = rng.choice((1, 1, 1, 2, 2, 3, 4, 8, 9, 0, rng.randrange(65536)))
    hwsrc = rng.choice((TESTER_MAC, TESTER_MAC, OTHER_MAC))
    psrc = rng.choice((TESTER_IP, TESTER_IP, "198.51.100.7", "0.0.0.0", DUT_IP, "203.0.113.1", SUBNET_BCAST))
    pdst = rng.choice((DUT_IP, DUT_IP, DUT_IP, TESTER_IP, "198.51.100.7", "203.0.113.2", "127.0.0.1"))
    what = f"ARP op {op} {psrc}->{pdst}"
    if rng.random() < 0.2:                      # gratuitous: sender and target the same
        pdst = psrc
        what += " gratuitous"
    dst = rng.choice((BROADCAST_MAC, BROADCAST_MAC, DUT_MAC, OTHER_MAC))
    hwdst = rng.choice(("00:00:00:00:00:00", DUT_MAC, BROADCAST_MAC))
    a = ARP(op=op, hwsrc=hwsrc, psrc=psrc, hwdst=hwdst, pdst=pdst)
    r = rng.random()
    if r < 0.08:
        a.hwtype = rng.choice((6, 0, 0xffff))
        what += f" hwtype {a.hwtype}"
    elif r < 0.16:
        a.ptype = rng.choice((0x86dd, 0x0806, 0))
        what += f" ptype {a.ptype:#x}"
    elif r < 0.24:
        a.hwlen = rng.choice((0, 4, 8, 255))
        what += f" hwlen {a.hwlen}"
    elif r < 0.30:
        a.plen = rng.choice((0, 6, 16))
        what += f" plen {a.plen}"
    frame = bytes(eth(dst=dst, src=hwsrc) / a)
    r = rng.random()
    if r < 0.15:                                 # cut short
        cut = rng.randrange(15, len(frame))
        frame = frame[:cut]
        what += f" cut to {cut} bytes"
    elif r < 0.3:                                # padded or trailing bytes
        extra = rng.choice((1, 3, 18, 100))
        frame = frame + fill(rng, extra)
        what += f" +{extra} bytes"
    return frame, what


# ------------------------------------------------------------------ IPv4

IP_OPTIONS = {
    "nop": b"\x01\x01\x01\x01",
    "eol": b"\x00\x00\x00\x00",
    "rr": b"\x07\x07\x04" + bytes(4) + b"\x00",                  # record route, room for one
    "rr_full": b"\x07\x07\x08" + bytes(4) + b"\x00",             # pointer past the end
    "ts": b"\x44\x0c\x05\x00" + bytes(8),                        # timestamp, room for two
    "ts_bad_ptr": b"\x44\x0c\x03\x00" + bytes(8),
    "router_alert": b"\x94\x04\x00\x00",
    "lsrr": b"\x83\x07\x04" + bytes([198, 51, 100, 1]) + b"\x00",
    "ssrr": b"\x89\x07\x04" + bytes([203, 0, 113, 1]) + b"\x00",
    "unknown": b"\x9e\x04\x00\x00",
    "bad_len": b"\x07\x02\x04\x00",
    "len_past_end": b"\x07\x28\x04\x00",
    "cipso_short": b"\x86\x03\x00\x00",
}


def icmp_echo(rng: random.Random, size: int, ip_id: int = 0x3001, **ip) -> Ether:
    ip.setdefault("src", TESTER_IP)
    ip.setdefault("dst", DUT_IP)
    ip.setdefault("ttl", 64)
    return eth() / IP(id=ip_id, **ip) / ICMP(type=8, id=0x4E54, seq=rng.randrange(1, 5)) / fill(rng, size)


def ipv4_frame(rng: random.Random) -> tuple[bytes, str]:
    """One IPv4 datagram (an echo request, a UDP datagram or an unknown protocol)
    with one thing at an edge."""
    carrier = rng.choice(("echo", "echo", "udp", "proto"))
    size = rng.choice((0, 8, 32, 100))
    if carrier == "echo":
        base = icmp_echo(rng, size)
    elif carrier == "udp":
        base = eth() / IP(src=TESTER_IP, dst=DUT_IP, id=0x3002, ttl=64) / UDP(sport=TESTER_PORT, dport=DUT_PORT) \
            / fill(rng, size)
    else:
        proto = rng.choice((0, 2, 4, 41, 47, 50, 132, 253, 255))
        base = eth() / IP(src=TESTER_IP, dst=DUT_IP, id=0x3003, ttl=64, proto=proto) / fill(rng, size + 8)
    what = f"IPv4 {carrier} {size}"
    edit = rng.choice(("ok", "options", "chksum", "tot_len_short", "tot_len_long", "version", "ihl_small",
                       "ihl_big", "ttl", "dst", "src", "flags", "tos", "trailing", "cut"))
    ip = base[IP]
    options = b""
    if edit == "options":
        names = rng.sample(sorted(IP_OPTIONS), rng.choice((1, 1, 2)))
        raw = b"".join(IP_OPTIONS[n] for n in names)
        raw += bytes(-len(raw) % 4)
        options = raw
        what += " options " + "+".join(names)
    elif edit == "ttl":
        ip.ttl = rng.choice((0, 1, 255))
        what += f" ttl {ip.ttl}"
    elif edit == "dst":
        ip.dst = rng.choice(ON_LINK_OTHERS + FAR_NET + (SUBNET_BCAST, "255.255.255.255", "127.0.0.1",
                                                        "0.0.0.0", "198.51.100.0"))
        what += f" to {ip.dst}"
        if ip.dst in (SUBNET_BCAST, "255.255.255.255") and rng.random() < 0.7:
            base[Ether].dst = BROADCAST_MAC
    elif edit == "src":
        ip.src = rng.choice(("0.0.0.0", "127.0.0.1", DUT_IP, SUBNET_BCAST, "203.0.113.1", "198.51.100.7",
                             "255.255.255.255"))
        what += f" from {ip.src}"
    elif edit == "flags":
        ip.flags = rng.choice(("DF", "evil", "DF+evil"))
        what += f" flags {ip.flags}"
    elif edit == "tos":
        ip.tos = rng.choice((0x10, 0xb8, 0x03, 0xff))
        what += f" tos {ip.tos:#x}"
    frame = bytearray(bytes(base))
    if options:
        frame[34:34] = options
        frame[14] = 0x40 | (5 + len(options) // 4)
        frame[16:18] = (len(frame) - 14).to_bytes(2, "big")
        _fix_ip_checksum(frame)
    if edit == "chksum":
        frame[24] ^= 0x5a
        what += " bad checksum"
    elif edit == "tot_len_short":
        n = rng.choice((0, 19, 20, 27, len(frame) - 14 - 1))
        frame[16:18] = n.to_bytes(2, "big")
        _fix_ip_checksum(frame)
        what += f" tot_len {n}"
    elif edit == "tot_len_long":
        n = len(frame) - 14 + rng.choice((1, 8, 1000))
        frame[16:18] = n.to_bytes(2, "big")
        _fix_ip_checksum(frame)
        what += f" tot_len {n}"
    elif edit == "version":
        v = rng.choice((0, 5, 6, 15))
        frame[14] = (v << 4) | (frame[14] & 0xf)
        _fix_ip_checksum(frame)
        what += f" version {v}"
    elif edit == "ihl_small":
        ihl = rng.choice((0, 1, 4))
        frame[14] = 0x40 | ihl
        what += f" ihl {ihl}"
    elif edit == "ihl_big":
        ihl = rng.choice((6, 15))
        frame[14] = 0x40 | ihl
        _fix_ip_checksum(frame)
        what += f" ihl {ihl}"
    elif edit == "trailing":
        n = rng.choice((1, 4, 60))
        frame += fill(rng, n)
        what += f" +{n} trailing bytes"
    elif edit == "cut":
        cut = rng.randrange(14, 34)
        frame = frame[:cut]
        what += f" cut to {cut} bytes"
    return bytes(frame), what


def _fix_ip_checksum(frame: bytearray) -> None:
    """Recompute the IPv4 header checksum over the header the IHL claims (when it fits)."""
    ihl = (frame[14] & 0xf) * 4
    if ihl < 20 or 14 + ihl > len(frame):
        return
    frame[24:26] = b"\0\0"
    s = 0
    for i in range(14, 14 + ihl, 2):
        s += (frame[i] << 8) | frame[i + 1]
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    frame[24:26] = (~s & 0xffff).to_bytes(2, "big")


# ------------------------------------------------------------------ fragments

MAX_FRAGMENT = 1480      # fragment payload bytes that fit the 1500-byte MTU

def fragments(rng: random.Random) -> tuple[list[bytes], str]:
    """A datagram (echo request or UDP to the DUT's port) cut into fragments, then
    reordered, duplicated, overlapped, left with a gap or made tiny."""
    proto = rng.choice(("echo", "echo", "udp"))
    total = rng.choice((24, 64, 200, 1200, 2000))
    ip_id = rng.randrange(0x4000, 0x5000)
    df = rng.random() < 0.05
    if proto == "echo":
        dgram = IP(bytes(IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64) / ICMP(type=8, id=0x4E54, seq=1)
                         / fill(rng, total - 8)))
    else:
        dgram = IP(bytes(IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64) / UDP(sport=TESTER_PORT, dport=DUT_PORT)
                         / fill(rng, total - 8)))
    body = bytes(dgram.payload)
    size = rng.choice((8, 16, 24, 32, 64, 512, 1480))
    size = max(8, min(size, len(body) - 1) // 8 * 8) if len(body) > 8 else 8
    pieces = [(off, body[off:off + size]) for off in range(0, len(body), size)]
    what = [f"{proto} {total}B in {len(pieces)} fragments of {size}"]
    edit = rng.choice(("inorder", "reverse", "shuffle", "dup", "overlap", "gap", "last_first", "mf_bad",
                       "tiny_first", "odd_size"))
    plan = [(off, data, off + len(data) < len(body)) for off, data in pieces]
    if edit == "reverse":
        plan.reverse()
    elif edit == "shuffle":
        rng.shuffle(plan)
    elif edit == "dup":
        plan.insert(rng.randrange(len(plan) + 1), plan[rng.randrange(len(plan))])
    elif edit == "overlap" and len(plan) > 1:
        i = rng.randrange(1, len(plan))
        off, data, more = plan[i]
        back = 8 * rng.choice((1, 2))
        back = min(back, off)
        plan[i] = (off - back, body[off - back:off] if rng.random() < 0.5 else bytes(back), more)
        plan[i] = (off - back, plan[i][1] + data, more)
    elif edit == "gap" and len(plan) > 1:
        del plan[rng.randrange(len(plan))]
    elif edit == "last_first":
        plan.insert(0, plan.pop())
    elif edit == "mf_bad":
        off, data, _ = plan[-1]
        plan[-1] = (off, data, True)
    elif edit == "tiny_first" and len(body) > 8:
        plan = [(0, body[:8], True), (8, body[8:], False)]
    elif edit == "odd_size" and len(plan) > 1:
        off, data, more = plan[0]
        plan[0] = (off, data[:-3] if len(data) > 3 else data, True)
    what.append(edit + (" DF" if df else ""))
    frames = []
    for off, data, more in plan:
        if len(data) > MAX_FRAGMENT:         # the link's MTU: the tester cannot send more
            data, more = data[:MAX_FRAGMENT], True
        flags = ("MF" if more else 0)
        if df:
            flags = "DF+MF" if more else "DF"
        ip = IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64, proto=dgram.proto, flags=flags, frag=off // 8)
        frames.append(bytes(eth() / ip / Raw(data)))
    return frames, " ".join(what)


# ------------------------------------------------------------------ ICMP

def quoted_datagram(rng: random.Random) -> bytes:
    """An IP datagram the DUT could have sent to the tester (as an ICMP error quotes it)."""
    kind = rng.choice(("udp", "udp", "tcp", "icmp", "short", "other_src"))
    src = DUT_IP if kind != "other_src" else "198.51.100.7"
    if kind in ("udp", "other_src"):
        q = IP(src=src, dst=TESTER_IP, id=0, flags="DF", ttl=64) / UDP(sport=DUT_PORT, dport=TESTER_PORT) / fill(rng, 16)
    elif kind == "tcp":
        q = IP(src=src, dst=TESTER_IP, id=0, flags="DF", ttl=64) / TCP(sport=DUT_PORT, dport=TESTER_PORT, flags="S")
    elif kind == "icmp":
        q = IP(src=src, dst=TESTER_IP, id=0, ttl=64) / ICMP(type=0, id=7, seq=1) / fill(rng, 8)
    else:
        q = IP(src=src, dst=TESTER_IP, id=0, ttl=64) / UDP(sport=DUT_PORT, dport=TESTER_PORT)
    raw = bytes(q)
    if kind == "short":
        raw = raw[:rng.choice((4, 20, 24))]
    return raw


def icmp_frame(rng: random.Random) -> tuple[bytes, str]:
    kind = rng.choice(("echo", "echo", "type", "error", "error", "timestamp", "bad_chksum", "broadcast"))
    if kind == "echo":
        size = rng.choice((0, 1, 7, 8, 9, 55, 56, 57, 1000, 1472))
        return bytes(icmp_echo(rng, size)), f"ICMP echo {size}B"
    if kind == "broadcast":
        dst = rng.choice((SUBNET_BCAST, "255.255.255.255"))
        p = icmp_echo(rng, 16, dst=dst)
        p[Ether].dst = BROADCAST_MAC
        return bytes(p), f"ICMP echo to {dst}"
    if kind == "type":
        t = rng.choice((0, 1, 2, 6, 7, 9, 10, 15, 16, 17, 18, 19, 30, 37, 40, 42, 43, 255))
        code = rng.choice((0, 0, 1, 255))
        p = eth() / IP(src=TESTER_IP, dst=DUT_IP, id=0x3101, ttl=64) / ICMP(type=t, code=code) / fill(rng, 8)
        return bytes(p), f"ICMP type {t} code {code}"
    if kind == "timestamp":
        n = rng.choice((0, 4, 12, 16))
        p = eth() / IP(src=TESTER_IP, dst=DUT_IP, id=0x3102, ttl=64, proto=1) / Raw(
            bytes([13, 0, 0, 0]) + (0x4E54).to_bytes(2, "big") + b"\0\1" + fill(rng, n))
        raw = bytearray(bytes(frozen(p)))
        _fix_icmp_checksum(raw)
        return bytes(raw), f"ICMP timestamp request with {n} bytes of times"
    if kind == "bad_chksum":
        p = bytearray(bytes(icmp_echo(rng, 16)))
        p[36] ^= 0x33
        return bytes(p), "ICMP echo, bad checksum"
    t, code = rng.choice(((3, 0), (3, 1), (3, 2), (3, 3), (3, 4), (3, 13), (3, 15), (11, 0), (11, 1),
                          (12, 0), (4, 0), (5, 1), (3, 99)))
    rest = 0
    if (t, code) == (3, 4):
        rest = rng.choice((0, 68, 576, 1280, 1400))
    p = (eth() / IP(src=rng.choice((TESTER_IP, TESTER_IP, "203.0.113.1")), dst=DUT_IP, id=0x3103, ttl=64)
         / ICMP(type=t, code=code, unused=rest) / Raw(quoted_datagram(rng)))
    return bytes(p), f"ICMP error {t}/{code}" + (f" mtu {rest}" if rest else "")


def _fix_icmp_checksum(frame: bytearray) -> None:
    ihl = (frame[14] & 0xf) * 4
    start = 14 + ihl
    frame[start + 2:start + 4] = b"\0\0"
    data = bytes(frame[start:])
    if len(data) % 2:
        data += b"\0"
    s = sum((data[i] << 8) | data[i + 1] for i in range(0, len(data), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    frame[start + 2:start + 4] = (~s & 0xffff).to_bytes(2, "big")


# ------------------------------------------------------------------ UDP

def udp_frame(rng: random.Random, dport: int = DUT_PORT) -> tuple[bytes, str]:
    size = rng.choice((0, 1, 8, 32, 100, 1472))
    sport = rng.choice((TESTER_PORT, TESTER_PORT, 4001, 0, 53))
    dst = DUT_IP
    dmac = DUT_MAC
    r = rng.random()
    what = f"UDP {sport}->{dport} {size}B"
    if r < 0.1:
        dst, dmac = rng.choice((SUBNET_BCAST, "255.255.255.255")), BROADCAST_MAC
        what += f" to {dst}"
    p = eth(dst=dmac) / IP(src=TESTER_IP, dst=dst, id=0x3201 + rng.randrange(16), ttl=64) \
        / UDP(sport=sport, dport=dport) / fill(rng, size)
    frame = bytearray(bytes(p))
    edit = rng.choice(("ok", "ok", "ok", "chksum", "zero_chksum", "len_short", "len_long", "len_small",
                       "trailing"))
    u = 14 + 20
    if edit == "chksum":
        frame[u + 6] ^= 0x21
        what += " bad checksum"
    elif edit == "zero_chksum":
        frame[u + 6:u + 8] = b"\0\0"
        what += " checksum 0"
    elif edit in ("len_short", "len_long", "len_small"):
        ulen = int.from_bytes(frame[u + 4:u + 6], "big")
        n = {"len_short": max(8, ulen - rng.choice((1, 8))), "len_long": ulen + rng.choice((1, 8)),
             "len_small": rng.choice((0, 7))}[edit]
        frame[u + 4:u + 6] = n.to_bytes(2, "big")
        what += f" udp len {n} of {ulen}"
    elif edit == "trailing" and len(frame) + 6 <= 1514:     # within the MTU
        frame += fill(rng, 6)
        frame[16:18] = (len(frame) - 14).to_bytes(2, "big")
        _fix_ip_checksum(frame)
        what += " +6 bytes after the datagram"
    return bytes(frame), what


def icmp_frame_echo(rng: random.Random) -> tuple[bytes, str]:
    """A plain echo request (its reply shows the DUT's neighbour entry for the tester)."""
    return bytes(icmp_echo(rng, 16)), "ICMP echo 16B"
