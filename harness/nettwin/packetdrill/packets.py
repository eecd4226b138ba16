"""Packets between the script and the stack: the frames a script's inbound lines
become, and the check of an outbound frame against the script's line, after
upstream's run_packet.c. Sequence numbers in a script are relative to each side's
ISN, as upstream's socket.h maps them: the stack's side from the ISN of its SYN or
SYN-ACK, the script's own (remote) side from the ISN of the SYN that made a passive
child or of the SYN-ACK an active opener took (remote_isn: SYNs as written, every
other segment's seq and the stack's ACK and SACK blocks offset by it). Outbound TS val values map to script
values by the first one seen (checked only with --tcp_ts_tick_usecs); an inbound
TS ecr takes the live value of the outbound TS val the script names."""
from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field
from typing import Optional

from . import script as S

U32 = 0xFFFFFFFF
DUT_MAC = "02:00:00:00:01:02"
REMOTE_MAC = "02:00:00:00:01:01"
IPPROTO = {"tcp": 6, "udp": 17, "icmp": 1}
TCPOPT = {"eol": 0, "nop": 1, "mss": 2, "wscale": 3, "sackOK": 4, "sack": 5, "TS": 8, "md5": 19, "FO": 34,
          "FOEXP": 254}
# ICMP types and codes by upstream's names (icmp_packet.c).
ICMP_TYPES = {"echo_reply": 0, "unreachable": 3, "source_quench": 4, "redirect": 5, "echo_request": 8,
              "time_exceeded": 11, "parameter_problem": 12, "timestamp_request": 13, "timestamp_reply": 14}
ICMP_CODES = {"net_unreachable": 0, "host_unreachable": 1, "protocol_unreachable": 2, "port_unreachable": 3,
              "frag_needed": 4, "source_route_failed": 5, "net_unknown": 6, "host_unknown": 7,
              "source_host_isolated": 8, "net_prohibited": 9, "host_prohibited": 10, "net_unreachable_for_tos": 11,
              "host_unreachable_for_tos": 12, "packet_filtered": 13, "precedence_violation": 14,
              "precedence_cutoff": 15, "ttl_exceeded": 0, "frag_reassembly_time_exceeded": 1}


class PacketError(Exception):
    """An outbound frame that is not what the script said (upstream's message)."""


@dataclass
class Conn:
    """One script socket's view of its flow (upstream's struct socket)."""
    script_fd: int
    proto: str                      # tcp / udp
    live_fd: int = -1
    local_ip: str = ""
    local_port: int = 0             # 0: not known yet (an ephemeral port learnt from the first frame)
    remote_ip: str = ""
    remote_port: int = 0
    listening: bool = False
    listener: Optional["Conn"] = None   # a passive child's listener
    accepted: bool = False
    script_local_isn: Optional[int] = None
    live_local_isn: Optional[int] = None
    remote_isn: int = 0             # the script's side: live == script (upstream's remote_isn)
    remote_isn_known: bool = False  # set by a passive child's SYN or the first SYN-ACK
    ts_map: dict = field(default_factory=dict)     # script TS val -> live TS val
    first_ts: Optional[tuple] = None                # (script val, live val)

    def local_to_script(self, seq: int) -> int:
        if self.live_local_isn is None:
            return seq
        return (seq - self.live_local_isn + self.script_local_isn) & U32

    def script_to_local(self, seq: int) -> int:
        if self.live_local_isn is None:
            return seq
        return (seq - self.script_local_isn + self.live_local_isn) & U32

    def remote_offset(self, is_syn: bool) -> int:
        """upstream's remote_seq_script_to_live_offset: 0 for a SYN, else remote_isn."""
        return 0 if is_syn else self.remote_isn


# ------------------------------------------------------------------ inbound

def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4_header(src: str, dst: str, proto: int, payload_len: int, tos: int = 0, ttl: int = 64) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + payload_len, 0, 0x4000, ttl or 64, proto, 0,
                      ipaddress.IPv4Address(src).packed, ipaddress.IPv4Address(dst).packed)
    return hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:]


def _l4_checksum(src: str, dst: str, proto: int, seg: bytes, at: int) -> bytes:
    pseudo = ipaddress.IPv4Address(src).packed + ipaddress.IPv4Address(dst).packed + \
        struct.pack("!BBH", 0, proto, len(seg))
    c = _csum(pseudo + seg)
    if proto == 17 and c == 0:
        c = 0xFFFF
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def encode_options(options, conn: Optional[Conn] = None, inbound: bool = True) -> bytes:
    """The option bytes in the script's order; an inbound TS ecr becomes the live TS
    val the script's value stands for."""
    out = b""
    for o in options or ():
        k = o.kind
        if k in ("nop", "eol"):
            out += bytes([TCPOPT[k]])
        elif k == "mss":
            out += struct.pack("!BBH", 2, 4, o.value[0])
        elif k == "wscale":
            out += struct.pack("!BBB", 3, 3, o.value[0])
        elif k == "sackOK":
            out += b"\x04\x02"
        elif k == "sack":
            out += struct.pack("!BB", 5, 2 + 8 * len(o.value))
            for l, r in o.value:
                if conn is not None and inbound:
                    l, r = conn.script_to_local(l), conn.script_to_local(r)
                elif conn is not None:     # the stack's SACK of the script's data
                    l, r = (l + conn.remote_isn) & U32, (r + conn.remote_isn) & U32
                out += struct.pack("!II", l, r)
        elif k == "TS":
            val, ecr = o.value
            out += struct.pack("!BBII", 8, 10, val, ecr)
        elif k == "md5":
            digest = bytes.fromhex(o.value[0]) if o.value else b""
            out += struct.pack("!BB", 19, 18) + digest.ljust(16, b"\0")
        elif k == "FO":
            cookie = bytes.fromhex(o.value[0]) if o.value else b""
            out += struct.pack("!BB", 34, 2 + len(cookie)) + cookie
        elif k == "FOEXP":
            cookie = bytes.fromhex(o.value[0]) if o.value else b""
            out += struct.pack("!BBH", 254, 4 + len(cookie), 0xF989) + cookie
    return out


def inbound_ts_ecr(conn: Conn, script_ecr: int, scaled: bool) -> int:
    if script_ecr in conn.ts_map:
        return conn.ts_map[script_ecr]
    if scaled and conn.first_ts is not None:
        return (script_ecr - conn.first_ts[0] + conn.first_ts[1]) & U32
    raise PacketError(f"unable to infer live TS ecr for script TS ecr {script_ecr};  "
                      "no matching or preceding outbound TS val")


def tcp_flags_byte(flags: str) -> tuple[int, int]:
    """(the flags byte, the AE bit) of a flags spec such as "S." or "F.1"."""
    bits = 0
    for c, b in (("F", 0x01), ("S", 0x02), ("R", 0x04), ("P", 0x08), (".", 0x10), ("U", 0x20),
                 ("E", 0x40), ("W", 0x80)):
        if c in flags:
            bits |= b
    ae = 1 if "A" in flags else 0
    ace = next((int(c) for c in flags if c.isdigit()), 0)
    if ace:
        bits = (bits & ~0xC0) | (0x40 if ace & 1 else 0) | (0x80 if ace & 2 else 0)
        ae = 1 if ace & 4 else 0
    return bits, ae


def build_tcp(pkt: S.TcpPacket, conn: Conn, ts_ecr_scaled: bool) -> bytes:
    """An inbound TCP line as an IPv4 packet from the remote to the stack."""
    options = list(pkt.options or ())
    for i, o in enumerate(options):
        if o.kind == "TS" and "." in pkt.flags:
            options[i] = S.TcpOption("TS", (o.value[0], inbound_ts_ecr(conn, o.value[1], ts_ecr_scaled)))
    opts = encode_options(options, conn)
    if len(opts) % 4:
        raise PacketError(f"TCP options are not padded correctly to ensure IP header is a multiple of 4 bytes: "
                          f"{len(opts)} excess bytes")
    src_port, dst_port = pkt.ports or (conn.remote_port, conn.local_port)
    bits, ae = tcp_flags_byte(pkt.flags)
    if "S" in pkt.flags and "." in pkt.flags and not conn.remote_isn_known:
        conn.remote_isn, conn.remote_isn_known = pkt.seq & U32, True    # an active opener's SYN-ACK
    seq = (pkt.seq + conn.remote_offset("S" in pkt.flags)) & U32
    ack = conn.script_to_local(pkt.ack) if pkt.ack is not None else 0
    if "." not in pkt.flags and pkt.ack is None:
        ack = 0
    doff = (20 + len(opts)) // 4
    seg = struct.pack("!HHIIBBHHH", src_port, dst_port, seq, ack & U32, (doff << 4) | ae, bits,
                      pkt.win or 0, 0, pkt.urg) + opts + bytes(pkt.length)
    seg = _l4_checksum(conn.remote_ip, conn.local_ip, 6, seg, 16)
    return ipv4_header(conn.remote_ip, conn.local_ip, 6, len(seg), _tos(pkt.ip), pkt.ip.ttl) + seg


def _tos(ip: S.IpInfo) -> int:
    return ip.tos if ip.tos_check in ("ecn", "tos") else 0


def build_udp(pkt: S.UdpPacket, conn: Conn) -> bytes:
    src_port, dst_port = pkt.ports or (conn.remote_port, conn.local_port)
    seg = struct.pack("!HHHH", src_port, dst_port, 8 + pkt.length, 0) + bytes(pkt.length)
    seg = _l4_checksum(conn.remote_ip, conn.local_ip, 17, seg, 6)
    return ipv4_header(conn.remote_ip, conn.local_ip, 17, len(seg), _tos(pkt.ip), pkt.ip.ttl) + seg


def icmp_type_code(pkt: S.IcmpPacket) -> tuple[int, int]:
    if pkt.type not in ICMP_TYPES:
        raise PacketError(f"unknown ICMP type '{pkt.type}'")
    code = 0
    if pkt.code:
        if pkt.code not in ICMP_CODES:
            raise PacketError(f"unknown ICMP code '{pkt.code}'")
        code = ICMP_CODES[pkt.code]
    return ICMP_TYPES[pkt.type], code


def build_icmp(pkt: S.IcmpPacket, conn: Optional[Conn], local_ip: str, remote_ip: str) -> bytes:
    """An inbound ICMP message; an error quotes the IP header and 8 bytes of a packet
    the stack sent on conn (its TCP seq mapped to the live one)."""
    itype, code = icmp_type_code(pkt)
    rest = 0
    if itype == 3 and code == 4:
        rest = (pkt.mtu or 0) & 0xFFFF
    elif itype in (0, 8):
        rest = (pkt.echo_id << 16)
    body = b""
    if itype in (3, 4, 5, 11, 12) and conn is not None:
        proto, seq, n = pkt.echoed
        if proto == "udp" or conn.proto == "udp":
            l4 = struct.pack("!HHHH", conn.local_port, conn.remote_port, 8 + n, 0)
            inner = ipv4_header(conn.local_ip, conn.remote_ip, 17, 8 + n) + l4
        else:
            l4 = struct.pack("!HHI", conn.local_port, conn.remote_port, conn.script_to_local(seq))
            inner = ipv4_header(conn.local_ip, conn.remote_ip, 6, 20 + n) + l4
        body = inner
    msg = struct.pack("!BBHI", itype, code, 0, rest) + body
    msg = msg[:2] + struct.pack("!H", _csum(msg)) + msg[4:]
    return ipv4_header(remote_ip, local_ip, 1, len(msg), _tos(pkt.ip), pkt.ip.ttl) + msg


def ether(ip_packet: bytes, dst_mac: str = DUT_MAC, src_mac: str = REMOTE_MAC) -> bytes:
    return bytes.fromhex(dst_mac.replace(":", "")) + bytes.fromhex(src_mac.replace(":", "")) + b"\x08\x00" + \
        ip_packet


# ------------------------------------------------------------------ outbound

@dataclass
class Live:
    """An outbound IPv4 frame, decoded."""
    time_ns: int
    raw: bytes
    tos: int
    ttl: int
    ihl: int
    total_len: int
    proto: int
    src: str
    dst: str
    sport: int = 0
    dport: int = 0
    seq: int = 0
    ack: int = 0
    doff: int = 0
    flags: int = 0
    ae: int = 0
    res: int = 0
    win: int = 0
    urg: int = 0
    options: list = field(default_factory=list)    # (kind, bytes of the whole option)
    payload: bytes = b""
    icmp_type: int = -1
    icmp_code: int = -1
    icmp_id: int = 0
    udp_len: int = 0


def parse_options(raw: bytes) -> list:
    out, i = [], 0
    while i < len(raw):
        kind = raw[i]
        if kind in (0, 1):
            out.append((kind, raw[i:i + 1]))
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2:
            out.append((kind, raw[i:]))
            break
        n = raw[i + 1]
        out.append((kind, raw[i:i + n]))
        i += n
    return out


def decode(frame: bytes, time_ns: int) -> Optional[Live]:
    """The IPv4 packet in an Ethernet frame, or None for anything else (ARP)."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    ihl = (ip[0] & 0x0F) * 4
    total = struct.unpack("!H", ip[2:4])[0]
    live = Live(time_ns, frame, ip[1], ip[8], ip[0] & 0x0F, total, ip[9],
                str(ipaddress.IPv4Address(ip[12:16])), str(ipaddress.IPv4Address(ip[16:20])))
    l4 = ip[ihl:total]
    if live.proto == 6 and len(l4) >= 20:
        (live.sport, live.dport, live.seq, live.ack, off, live.flags, live.win, _, live.urg) = \
            struct.unpack("!HHIIBBHHH", l4[:20])
        live.doff = off >> 4
        live.ae = off & 1
        live.res = (off >> 1) & 7
        live.options = parse_options(l4[20:live.doff * 4])
        live.payload = l4[live.doff * 4:]
    elif live.proto == 17 and len(l4) >= 8:
        live.sport, live.dport, live.udp_len, _ = struct.unpack("!HHHH", l4[:8])
        live.payload = l4[8:]
    elif live.proto == 1 and len(l4) >= 4:
        live.icmp_type, live.icmp_code = l4[0], l4[1]
        if len(l4) >= 6:
            live.icmp_id = struct.unpack("!H", l4[4:6])[0]
        live.payload = l4[8:]
    return live


def check_field(name: str, expected: int, actual: int):
    if expected != actual:
        raise PacketError(f"live packet field {name}: expected: {expected} (0x{expected:x}) vs "
                          f"actual: {actual} (0x{actual:x})")


def learn_outbound(pkt: S.TcpPacket, live: Live, conn: Conn):
    """What a SYN or SYN-ACK from the stack teaches: its ISN (and an active
    opener's ephemeral port)."""
    if live.flags & 0x02 and "S" in pkt.flags:
        conn.script_local_isn = pkt.seq
        conn.live_local_isn = live.seq


def map_ts(conn: Conn, pkt_opts, live: Live) -> Optional[tuple]:
    """Remember the script->live TS val mapping (upstream's tcp_convert_seq_number);
    returns (script val, live val rebased into script space) or None."""
    script_ts = next((o.value for o in (pkt_opts or ()) if o.kind == "TS"), None)
    live_ts = next((struct.unpack("!II", raw[2:10]) for k, raw in live.options if k == 8 and len(raw) == 10), None)
    if script_ts is None or live_ts is None:
        return None
    conn.ts_map[script_ts[0]] = live_ts[0]
    if conn.first_ts is None:
        conn.first_ts = (script_ts[0], live_ts[0])
    return script_ts[0], (conn.first_ts[0] + live_ts[0] - conn.first_ts[1]) & U32


def verify_tcp(pkt: S.TcpPacket, live: Live, conn: Conn, tolerance_usecs: int, ts_tick_usecs: int):
    """Raise PacketError at the first field that differs, in upstream's order."""
    if live.proto == 6 and len(live.payload) != pkt.length:
        raise PacketError(f"live packet payload: expected {pkt.length} bytes vs actual {len(live.payload)} bytes")
    if live.proto != 6:
        check_field("ipv4_protocol", 6, live.proto)
    learn_outbound(pkt, live, conn)
    ts = map_ts(conn, pkt.options, live)
    opts_len = len(encode_options(pkt.options)) if pkt.options is not None else 0
    allowance = sum(len(raw) for _, raw in live.options) if pkt.options is None else 0
    check_field("ipv4_version", 4, 4)
    check_field("ipv4_header_length", 5, live.ihl)
    check_field("ipv4_total_length", 20 + 20 + opts_len + pkt.length + allowance, live.total_len)
    _verify_tos(pkt.ip, live.tos)
    if pkt.ip.ttl:
        check_field("ttl", pkt.ip.ttl, live.ttl)
    bits, ae = tcp_flags_byte(pkt.flags)
    check_field("tcp_data_offset", (20 + opts_len + allowance) // 4, live.doff)
    check_field("tcp_fin", bits & 1, live.flags & 1)
    check_field("tcp_syn", (bits >> 1) & 1, (live.flags >> 1) & 1)
    check_field("tcp_rst", (bits >> 2) & 1, (live.flags >> 2) & 1)
    check_field("tcp_psh", (bits >> 3) & 1, (live.flags >> 3) & 1)
    check_field("tcp_ack", (bits >> 4) & 1, (live.flags >> 4) & 1)
    check_field("tcp_urg", (bits >> 5) & 1, (live.flags >> 5) & 1)
    check_field("tcp_ece", (bits >> 6) & 1, (live.flags >> 6) & 1)
    check_field("tcp_cwr", (bits >> 7) & 1, (live.flags >> 7) & 1)
    check_field("tcp_ae", ae, live.ae)
    check_field("tcp_reserved_bits", 0, live.res)
    check_field("tcp_seq", pkt.seq, conn.local_to_script(live.seq))
    check_field("tcp_ack_seq", pkt.ack if pkt.ack is not None else 0,
                (live.ack - conn.remote_offset(bool(live.flags & 0x02))) & U32 if live.flags & 0x10 else live.ack)
    if pkt.win is not None:
        check_field("tcp_window", pkt.win, live.win)
    check_field("tcp_urg_ptr", pkt.urg, live.urg)
    if pkt.options is not None:
        want = parse_options(encode_options(pkt.options, conn, inbound=False))
        if len(want) != len(live.options) or any(a[0] != b[0] for a, b in zip(want, live.options)):
            raise PacketError("bad outbound TCP options")
        for (kind, w), (_, a) in zip(want, live.options):
            if kind in (0, 1):
                continue
            if kind == 8:
                if ts_tick_usecs and ts is not None and abs(((ts[1] - ts[0] + 2**31) & U32) - 2**31) * \
                        ts_tick_usecs > tolerance_usecs:
                    raise PacketError(f"bad outbound TCP timestamp value, tolerance {tolerance_usecs}")
                continue
            err = "bad length" if len(w) != len(a) else "bad value" if w != a else None
            if err:
                raise PacketError(f"{err} in outbound TCP option (kind={kind}): expected: {_opt_text(w)} "
                                  f"actual: {_opt_text(a)}")
    if live.payload[:pkt.length] != bytes(pkt.length):
        raise PacketError("incorrect outbound data payload")


def _verify_tos(ip: S.IpInfo, tos: int):
    if ip.tos_check == "ect01":
        if tos & 3 not in (1, 2):
            raise PacketError(f"live packet field ip_ecn: expected: 0x1 or 0x2 vs actual: 0x{tos & 3:x}")
    elif ip.tos_check == "ecn":
        check_field("ip_ecn", ip.tos, tos & 3)
    elif ip.tos_check == "tos":
        check_field("tos", ip.tos, tos)


def verify_udp(pkt: S.UdpPacket, live: Live):
    check_field("ipv4_protocol", 17, live.proto)
    check_field("ipv4_header_length", 5, live.ihl)
    check_field("ipv4_total_length", 20 + 8 + pkt.length, live.total_len)
    _verify_tos(pkt.ip, live.tos)
    if pkt.ip.ttl:
        check_field("ttl", pkt.ip.ttl, live.ttl)
    check_field("udp_len", 8 + pkt.length, live.udp_len)
    if live.payload != bytes(pkt.length):
        raise PacketError("incorrect outbound data payload")


def verify_icmp(pkt: S.IcmpPacket, live: Live):
    check_field("ipv4_protocol", 1, live.proto)
    itype, code = icmp_type_code(pkt)
    check_field("icmp_type", itype, live.icmp_type)
    check_field("icmp_code", code, live.icmp_code)
    if itype in (0, 8) and pkt.echo_id:
        check_field("icmp_echo_id", pkt.echo_id, live.icmp_id)
    _verify_tos(pkt.ip, live.tos)
    if pkt.ip.ttl:
        check_field("ttl", pkt.ip.ttl, live.ttl)


def _opt_text(raw: bytes) -> str:
    kind = raw[0]
    if kind == 2 and len(raw) == 4:
        return f"mss {struct.unpack('!H', raw[2:4])[0]}"
    if kind == 3 and len(raw) == 3:
        return f"wscale {raw[2]}"
    if kind == 4:
        return "sackOK"
    if kind == 5:
        blocks = [struct.unpack("!II", raw[i:i + 8]) for i in range(2, len(raw) - 7, 8)]
        return "sack " + " ".join(f"{l}:{r}" for l, r in blocks)
    return f"kind {kind} {raw[2:].hex()}"


# ------------------------------------------------------------------ dumps (packetdrill's short form)

def _flags_text(flags: int, ae: int = 0) -> str:
    out = "".join(c for c, b in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("U", 0x20), ("E", 0x40),
                                 ("W", 0x80)) if flags & b)
    if ae:
        out += "A"
    return out + ("." if flags & 0x10 else "") if out or flags & 0x10 else "-"


def script_text(pkt) -> str:
    if isinstance(pkt, S.TcpPacket):
        s = f"{pkt.flags or '-'} {pkt.seq}:{pkt.end_seq}({pkt.length})"
        if pkt.ack is not None:
            s += f" ack {pkt.ack}"
        if pkt.win is not None:
            s += f" win {pkt.win}"
        if pkt.options is None:
            s += " <...>"
        elif pkt.options:
            s += " <" + ",".join(o.text() for o in pkt.options) + ">"
        return s
    if isinstance(pkt, S.UdpPacket):
        return f"udp ({pkt.length})"
    return f"icmp {pkt.type} {pkt.code}".rstrip()


def live_text(live: Live, conn: Optional[Conn]) -> str:
    if live.proto == 6:
        seq = conn.local_to_script(live.seq) if conn else live.seq
        n = len(live.payload)
        s = f"{_flags_text(live.flags, live.ae)} {seq}:{(seq + n) & U32}({n})"
        if live.flags & 0x10:
            s += f" ack {(live.ack - conn.remote_offset(bool(live.flags & 0x02))) & U32 if conn else live.ack}"
        s += f" win {live.win}"
        opts = []
        for kind, raw in live.options:
            if kind == 1:
                opts.append("nop")
            elif kind == 0:
                opts.append("eol")
            elif kind == 8 and len(raw) == 10:
                val, ecr = struct.unpack("!II", raw[2:10])
                opts.append(f"TS val {val} ecr {ecr}")
            else:
                opts.append(_opt_text(raw))
        if opts:
            s += " <" + ",".join(opts) + ">"
        return s
    if live.proto == 17:
        return f"udp ({len(live.payload)})"
    if live.proto == 1:
        return f"icmp type {live.icmp_type} code {live.icmp_code}"
    return f"ip proto {live.proto}"
