"""The replay's passes over a capture (harness/nettwin/replay): records cut out of
chunks, frames parsed once per kind (frames.signature), the role survey counting
kinds. Each shortcut must give what reading frame by frame gives."""
from __future__ import annotations

import itertools
import struct

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_RR
from scapy.layers.l2 import ARP, Ether

from nettwin.replay import flows, pcapstream, roles
from nettwin.replay.frames import parse, signature, tcp_numbers

A, B = "02:00:00:00:01:01", "02:00:00:00:01:02"
IP_A, IP_B = "198.51.100.1", "198.51.100.2"


def write_pcap(path, frames, nanos=True):
    """frames: (ts_ns, bytes); a little-endian classic pcap."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D if nanos else 0xA1B2C3D4, 2, 4, 0, 0, 262144, 1))
        for ts, data in frames:
            frac = ts % 10**9 if nanos else ts % 10**9 // 1000
            f.write(struct.pack("<IIII", ts // 10**9, frac, len(data), len(data)) + data)


@pytest.mark.parametrize("chunk", [20, 100, 1 << 20])
def test_records_across_chunk_boundaries(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(pcapstream, "READ_BUFFER", chunk)
    frames = [(1_700_000_000_123_456_789 + i * 1001, bytes([i % 256]) * (1 + (i * 37) % 300)) for i in range(200)]
    write_pcap(tmp_path / "a.pcap", frames)
    got = list(pcapstream.records(tmp_path / "a.pcap"))
    assert got == [(i + 1, ts, data) for i, (ts, data) in enumerate(frames)]
    assert list(pcapstream.records(tmp_path / "a.pcap", 7)) == got[:7]


def test_records_in_microseconds(tmp_path):
    write_pcap(tmp_path / "u.pcap", [(1_700_000_000_123_456_000, b"x" * 60)], nanos=False)
    assert list(pcapstream.records(tmp_path / "u.pcap")) == [(1, 1_700_000_000_123_456_000, b"x" * 60)]


@pytest.mark.parametrize("chunk", [30, 1 << 20])
def test_a_record_cut_short_ends_the_records(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(pcapstream, "READ_BUFFER", chunk)
    frames = [(10**9 * i, bytes(60 + i)) for i in range(5)]
    write_pcap(tmp_path / "a.pcap", frames)
    whole = (tmp_path / "a.pcap").read_bytes()
    for cut in (len(whole) - 1, len(whole) - 60, len(whole) - 80 + 8):   # the last record's data, its header
        (tmp_path / "cut.pcap").write_bytes(whole[:cut])
        got = list(pcapstream.records(tmp_path / "cut.pcap"))
        assert [r[2] for r in got] == [d for _, d in frames[:4]]
    told = []
    list(pcapstream.records(tmp_path / "a.pcap", progress=told.append))
    assert sum(told) == len(whole)


def variety() -> list[bytes]:
    """Frames of every kind parse() tells apart, several of a kind (other seqs, IDs, lengths)."""
    e_ab, e_ba = Ether(src=A, dst=B), Ether(src=B, dst=A)
    out = []
    for seq, ipid, pad in itertools.product((1, 2**32 - 5), (0, 7), (b"", b"data")):
        for flags in ("S", "SA", "A", "PA", "FA", "R", "SF"):
            out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid) / TCP(sport=40000, dport=80, seq=seq, flags=flags) / pad)
            out.append(e_ba / IP(src=IP_B, dst=IP_A, id=ipid) / TCP(sport=80, dport=40000, seq=seq, flags=flags,
                                                                    options=[("MSS", 1460)]) / pad)
        out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid) / UDP(sport=5000, dport=53) / pad)
        out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid, proto=85) / (b"\x13\x88\x005" + pad))  # UDP's bytes
        out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid, proto=84) / (b"x" * 20 + pad))
        for itype in (8, 0, 13, 14):
            out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid) / ICMP(type=itype, id=9, seq=seq & 0xFFFF) / pad)
            out.append(e_ba / IP(src=IP_B, dst=IP_A, id=ipid) / ICMP(type=itype, id=9, seq=seq & 0xFFFF) / pad)
        out.append(e_ba / IP(src=IP_B, dst=IP_A, id=ipid) / UDP(sport=53, dport=5000) / pad)
        out.append(e_ba / IP(src=IP_B, dst=IP_A, id=ipid) / ICMP(type=3, code=3)
                   / IP(src=IP_A, dst=IP_B) / UDP(sport=5000, dport=seq & 0xFFFF))
        out.append(e_ab / IP(src=IP_A, dst=IP_B, id=ipid, options=[IPOption_RR()]) / TCP(seq=seq, flags="S") / pad)
        for op in (1, 2):
            out.append(Ether(src=A, dst="ff:ff:ff:ff:ff:ff") / ARP(op=op, psrc=IP_A, pdst=IP_B) / pad)
    out.append(e_ab / IP(src=IP_A, dst=IP_B) / TCP(flags="S"))
    frames = [bytes(p) for p in out]
    return frames + [f[:40] for f in frames[:3]] + [bytes(20), bytes(60)]


def test_frames_of_one_signature_parse_the_same():
    frames = variety()
    by_sig: dict = {}
    for data in frames:
        key = signature(data)
        if key is None:
            continue
        f = parse(data)
        if f.tcp:
            assert tcp_numbers(data) == f.tcp[:2]
        by_sig.setdefault(key, set()).add(f._replace(tcp=f.tcp and f.tcp[2:]) + (data[:12],))
    assert all(len(kinds) == 1 for kinds in by_sig.values()), [k for k in by_sig.values() if len(k) > 1]
    assert len(by_sig) >= 20    # the shortcut is taken for the common frames


def test_frames_parse_reads_whole_have_no_signature():
    frames = variety()
    icmp_error = next(d for d in frames if d[23] == 1 and d[34] == 3)
    with_options = next(d for d in frames if d[14] == 0x46)
    assert signature(icmp_error) is None and signature(with_options) is None
    assert signature(bytes(60)) is None and signature(frames[0][:40]) is None


def survey_of(frames):
    hosts, by_mac = roles.survey(frames)
    return ({ip: (h.order, h.sent, h.syns_in, h.answers, h.arp_answers, h.asked, list(h.macs.items()),
                  list(h.to_macs.items()), sorted(h.accepted_ports)) for ip, h in hosts.items()},
            [(mac, list(c.items())) for mac, c in by_mac.items()])


def test_survey_counts_the_same_whenever_its_kinds_are_flushed(monkeypatch):
    frames = variety() * 3
    whole = survey_of(frames)
    monkeypatch.setattr(roles, "SURVEY_KINDS", 1)
    assert survey_of(frames) == whole
    monkeypatch.setattr(roles, "SURVEY_KINDS", 3)
    assert survey_of(frames) == whole
    assert whole[0]   # it found hosts


def test_an_answer_counts_once_its_peer_has_spoken():
    """The same reply, before the peer's request (not an answer: nothing was asked) and after it."""
    reply = bytes(Ether(src=B, dst=A) / IP(src=IP_B, dst=IP_A) / ICMP(type=0, id=9, seq=1))
    request = bytes(Ether(src=A, dst=B) / IP(src=IP_A, dst=IP_B) / ICMP(type=8, id=9, seq=2))
    hosts, _ = roles.survey([reply, reply, request, reply, reply])
    dut = hosts[bytes([198, 51, 100, 2])]
    assert (dut.sent, dut.answers, dut.asked) == (4, 2, 1)
    synack = bytes(Ether(src=B, dst=A) / IP(src=IP_B, dst=IP_A) / TCP(sport=80, dport=40000, flags="SA"))
    syn = bytes(Ether(src=A, dst=B) / IP(src=IP_A, dst=IP_B) / TCP(sport=40000, dport=80, flags="S"))
    hosts, _ = roles.survey([synack, syn, synack])
    dut = hosts[bytes([198, 51, 100, 2])]
    assert (dut.answers, dut.syns_in, sorted(dut.accepted_ports)) == (1, 1, [80])


def matched(capture, stack):
    m = flows.FlowMatcher(bytes.fromhex(B.replace(":", "")), 10**9, 50)
    m.run(iter(capture), iter(stack))
    return (m.totals(), [(f.name, f.counts()) for f in m.dut_flows()],
            [(d.kind, d.flow, d.capture, d.stack) for d in m.examples])


def test_matcher_counts_the_same_whatever_kinds_it_remembers(monkeypatch):
    """The stack sends the DUT's frames again, some with another IPv4 ID (blanked:
    matched), some with another TTL (differing), some not at all (missing)."""
    frames = variety() * 2
    capture = [(i + 1, 10**9 + i * 1000, d) for i, d in enumerate(frames)]
    stack, n = [], 0
    for i, (_, ts, d) in enumerate(capture):
        if d[6:12] != bytes.fromhex(B.replace(":", "")) or i % 7 == 0:
            continue
        if len(d) >= 34 and d[12:14] == b"\x08\x00":
            d = d[:18] + bytes([i % 256, 1]) + (d[20:22] + bytes([9]) + d[23:] if i % 5 == 0 else d[20:])
        n += 1
        stack.append((n, ts + 10, d))
    whole = matched(capture, stack)
    monkeypatch.setattr(flows, "KINDS", 1)
    assert matched(capture, stack) == whole
    t = whole[0]
    assert t["matched"] and t["differing"] and t["missing"] and t["own_capture"]
