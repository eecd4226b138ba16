"""Who the DUT of a capture is. Named by --dut-ip or --dut-mac (the other one is
then read from the capture), or else taken from the capture's roles, in this
order: the host that receives the most TCP SYNs (the server of the most
connections, whether the capture was made on the client's side or the server's);
with no SYN, the host that sends the most answers (ICMP replies and errors,
SYN-ACKs, each to a host that spoke first in its flow; ARP replies, which every
host sends, only break a tie); with none, the host most asked (ARP and ICMP requests to it).
A tie goes to the host seen first. The DUT's MAC is the one its frames come
from; if it sent none, the one unicast frames to it go to; if none, the made-up
MAC of a capture without Ethernet headers (02:00 and its IPv4 address)."""
from __future__ import annotations

import ipaddress
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .frames import ip_text, parse, signature


@dataclass
class Host:
    order: int                               # when it was first seen
    sent: int = 0
    syns_in: int = 0
    answers: int = 0
    arp_answers: int = 0
    asked: int = 0                           # requests to it
    macs: Counter = field(default_factory=Counter)       # source MACs of its frames
    to_macs: Counter = field(default_factory=Counter)    # destination MACs of unicast frames to it
    accepted_ports: set = field(default_factory=set)     # TCP ports it sent a SYN-ACK from


@dataclass
class Dut:
    ip: str
    mac: str
    why: str                                 # how it was chosen, for the report
    listen_ports: list = field(default_factory=list)


class DutError(Exception):
    pass


SURVEY_KINDS = 1 << 14   # kinds of frame counted before their counts go to the hosts (memory bound)


def survey(frames: Iterable[bytes]) -> tuple[dict, dict]:
    """Hosts by IPv4 address, and for each source MAC the addresses its frames came from.

    Frames of one kind (one frames.signature(): the same MACs, addresses, flow and
    nature) count the same, so each kind is parsed once and counted; the counts go
    to the hosts in the order each kind was first seen (the order a frame-by-frame
    count would have met them in: Counter.most_common breaks ties by it) when the
    capture ends or SURVEY_KINDS kinds are waiting. The one thing that changes
    within a kind is whether an answer's peer spoke first in the flow: checked
    frame by frame until it has."""
    hosts: dict[bytes, Host] = {}
    by_mac: dict[bytes, Counter] = {}
    spoke: set = set()     # (flow, address): that address sent a frame of that flow
    kinds: dict = {}       # signature -> [frames, answers counted, parsed, peer spoke]

    def host(ip: bytes) -> Host:
        h = hosts.get(ip)
        if h is None:
            h = hosts[ip] = Host(len(hosts))
        return h

    def count() -> None:
        for n, answered, f, _ in kinds.values():
            if f is None:
                continue
            data, f = f
            src, dst, smac = hosts[f.src_ip], hosts[f.dst_ip], data[6:12]
            src.sent += n
            src.macs[smac] += n
            macs = by_mac.get(smac)
            if macs is None:
                macs = by_mac[smac] = Counter()
            macs[f.src_ip] += n
            if not data[0] & 1:
                dst.to_macs[data[0:6]] += n
            if answered:
                if f.flow[0] == "arp":
                    src.arp_answers += answered
                    continue
                src.answers += answered
                if f.tcp:
                    src.accepted_ports.add(f.tcp[3])
            if f.request:
                dst.asked += n
                if f.tcp:
                    dst.syns_in += n
        kinds.clear()

    for data in frames:
        key = signature(data)
        if key is None:
            f = parse(data)
            key = (data[:12], f)
        else:
            kind = kinds.get(key)
            if kind is not None:
                kind[0] += 1
                if kind[3]:
                    kind[1] += 1
                elif kind[3] is False and (kind[2][1].flow, kind[2][1].dst_ip) in spoke:
                    kind[3] = True
                    kind[1] += 1
                continue
            f = parse(data)
        kind = kinds.get(key)
        if kind is not None:    # a frame parse() reads whole, of a kind seen before
            kind[0] += 1
            if kind[3]:
                kind[1] += 1
            elif kind[3] is False and (f.flow, f.dst_ip) in spoke:
                kind[3] = True
                kind[1] += 1
            continue
        if not f.src_ip or f.src_ip == b"\0\0\0\0":
            kinds[key] = [1, 0, None, None]
        else:
            host(f.src_ip)
            host(f.dst_ip)
            spoke.add((f.flow, f.src_ip))
            spoken = (f.flow, f.dst_ip) in spoke if f.answer else None
            kinds[key] = [1, 1 if spoken else 0, (data, f), spoken]
        if len(kinds) >= SURVEY_KINDS:
            count()
    count()
    return hosts, by_mac


def _mac_text(raw: bytes) -> str:
    return raw.hex(":")


def _mac_of(ip: bytes, h: Optional[Host]) -> str:
    if h and h.macs:
        return _mac_text(h.macs.most_common(1)[0][0])
    if h and h.to_macs:
        return _mac_text(h.to_macs.most_common(1)[0][0])
    return _mac_text(b"\x02\x00" + ip)


def choose(hosts: dict, by_mac: dict, dut_ip: Optional[str], dut_mac: Optional[str]) -> Dut:
    """The DUT, by the rules of this module's docstring."""
    if dut_ip:
        raw = ipaddress.IPv4Address(dut_ip).packed
        h = hosts.get(raw)
        if h is None and not dut_mac:
            raise DutError(f"--dut-ip {dut_ip}: no frame of the capture is from or to it")
        mac = dut_mac or _mac_of(raw, h)
        return Dut(dut_ip, mac, "named by --dut-ip" + (" and --dut-mac" if dut_mac else ""),
                   sorted(h.accepted_ports) if h else [])
    if dut_mac:
        raw_mac = bytes.fromhex(dut_mac.replace(":", "").replace("-", ""))
        sent = by_mac.get(raw_mac)
        if not sent:
            raise DutError(f"--dut-mac {dut_mac}: no IPv4 frame of the capture comes from it; "
                           "name its address with --dut-ip")
        raw = sent.most_common(1)[0][0]
        return Dut(ip_text(raw), dut_mac.lower(), "named by --dut-mac",
                   sorted(hosts[raw].accepted_ports))
    rules = (("syns_in", lambda h: (h.syns_in,), "receives the most TCP SYNs"),
             ("answers", lambda h: (h.answers, h.arp_answers),
              "sends the most answers (no TCP SYN in the capture)"),
             ("arp_answers", lambda h: (h.arp_answers,), "sends the most ARP replies (no SYN, no other answer)"),
             ("asked", lambda h: (h.asked,), "is asked the most (no SYN and no answer in the capture)"))
    for attribute, rank, what in rules:
        best = max(hosts.items(), key=lambda kv: (rank(kv[1]), -kv[1].order), default=None)
        if best and getattr(best[1], attribute):
            raw, h = best
            count = getattr(h, attribute)
            total = sum(getattr(o, attribute) for o in hosts.values())
            return Dut(ip_text(raw), _mac_of(raw, h), f"taken from the capture: it {what} ({count} of {total})",
                       sorted(h.accepted_ports))
    raise DutError("cannot tell the DUT from the capture (no SYN, no answer, no request to a host): "
                   "name it with --dut-ip or --dut-mac")

