"""The byte-level frame code of the conformance path (nettwin.wire, the TCP template's
builder, the pcap reader, comparison/flat.py) against Scapy's own answers, over every
frame and every TcpSend of traces/: the bytes path must say what Scapy said."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import rdpcap

from nettwin.client import pcapfile, wire
from nettwin.comparison import flat, tcp_relative
from nettwin.comparison.compare import flatten, tcp_options_verdict
from nettwin.client.frame import Frame
from nettwin.comparison.tcp_relative import _tcp_offsets, _timestamp_option_at
from nettwin.comparison.tcp_replay import _elapsed_ms
from nettwin.scenarios import folder as scenario_folder
from nettwin.scenarios.model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC
from nettwin.scenarios.tcp_template import IP_ID_BASE, TESTER_ISN, TcpSend, TcpState

TRACES = Path(__file__).resolve().parent.parent / "traces"
PCAPS = sorted(TRACES.glob("*/*.pcap"))


# ------------------------------------------------------------ the TCP template's frames

def _scapy_option_len(o: tuple) -> int:
    if o[0] in ("NOP", "EOL", 0, 1):
        return 1
    return bytes(TCP(options=[o]))[21] if len(bytes(TCP(options=[o]))) > 21 else 0


def scapy_fill(state: TcpState, step: TcpSend, elapsed_ms: int) -> bytes:
    """The template's frame as it was built before the bytes builder: through Scapy."""
    opts = [state._scapy_option(o, elapsed_ms) for o in step.options]
    raw = any(o[0] == "raw" for o in opts)
    ack = state.ack_of(step)
    dport = step.dport if step.dport is not None else state.dut_port
    ip_id = IP_ID_BASE + state.sent
    if step.icmp_mtu:
        quoted = IP(src=DUT_IP, dst=TESTER_IP, id=0, ttl=64, flags="DF", len=1500) / TCP(
            sport=dport, dport=step.sport, seq=ack, ack=0, flags="A")
        return bytes(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64)
                     / ICMP(type=3, code=4, nexthopmtu=step.icmp_mtu) / Raw(bytes(quoted)[:28]))
    payload = bytes.fromhex(step.payload)
    if raw:
        optbytes = b"".join(o[1] if o[0] == "raw" else bytes(TCP(options=[o]))[20:20 + _scapy_option_len(o)]
                            for o in opts)
        optbytes += bytes(-len(optbytes) % 4)
        tcp = TCP(sport=step.sport, dport=dport, seq=(TESTER_ISN + step.seq) & 0xFFFFFFFF, ack=ack,
                  flags=step.flags, window=step.win, dataofs=5 + len(optbytes) // 4)
        payload = optbytes + payload
    else:
        tcp = TCP(sport=step.sport, dport=dport, seq=(TESTER_ISN + step.seq) & 0xFFFFFFFF, ack=ack,
                  flags=step.flags, window=step.win, options=opts)
    pkt = Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP, id=ip_id, ttl=64, tos=step.tos) / tcp
    if payload:
        pkt = pkt / Raw(payload)
    frame = bytearray(bytes(pkt))
    if step.bad_csum:
        frame[14 + 20 + 16] ^= 0x5a
    return bytes(frame)


def reactive_folders() -> list[Path]:
    out = []
    for p in sorted(TRACES.glob("*/scenario.json")):
        steps = json.loads(p.read_text()).get("steps", [])
        if any(s.get("kind") == "tcp_send" for s in steps):
            out.append(p.parent)
    return out


def test_every_tcp_send_of_traces_is_built_as_scapy_built_it_and_as_the_tester_sent_it():
    """Each TcpSend filled from what the DUT had sent by then (the recording's received frames up
    to the send's capture time): the bytes builder gives Scapy's frame, and that is sent.pcap's."""
    built = same_as_recorded = 0
    for path in reactive_folders():
        scen = scenario_folder.load(path)
        steps = json.loads((path / "scenario.json").read_text())["steps"]
        sends = [s for s in steps if s.get("kind") in ("send", "tcp_send")]
        state, seen = TcpState(), 0
        for k, st in enumerate(sends):
            recorded = scen.sent_frames[k]
            while seen < len(scen.received_frames) and scen.received_frames[seen].time_ns <= recorded.time_ns:
                state.observe(bytes(scen.received_frames[seen]))
                seen += 1
            if st["kind"] != "tcp_send":
                continue
            step = TcpSend.from_json(st)
            elapsed = _elapsed_ms(recorded, scen.rel_ns(recorded))
            before = copy.deepcopy(state)
            try:
                ours = state.fill(step, elapsed)
            except ValueError:
                continue                      # the replay sends the recorded frame (tcp_replay.run)
            assert ours == scapy_fill(before, step, elapsed), (path.name, k, st)
            built += 1
            same_as_recorded += ours == bytes(recorded)
            # The state is rebuilt from capture times: where the tester had not yet read the
            # DUT's latest frame, its TSecr (and so the checksum) was the one before.
            assert _but_tsecr(ours) == _but_tsecr(bytes(recorded)), (path.name, k, st)
    assert built > 1000 and same_as_recorded > 0.8 * built, (same_as_recorded, built)


def _but_tsecr(frame: bytes) -> bytes:
    """The frame with its TCP checksum and TSecr zeroed."""
    out = bytearray(frame)
    where = _tcp_offsets(frame)
    if where is not None:
        out[where[1] + 16:where[1] + 18] = b"\0\0"
        ts = _timestamp_option_at(frame, where[1])
        if ts is not None:
            out[ts + 4:ts + 8] = bytes(4)
    return bytes(out)


@pytest.mark.parametrize("options", [
    (("mss", 1460), ("sackok",), ("ts",), ("nop",), ("ws", 7)),
    (("nop",), ("nop",), ("sack", ((1, 5), (9, 20)))),
    (("kind", 30, "0102"), ("eol",)),
    (("raw", "0303"), ("mss", 536)),
    (("kind", 1, ""), ("raw", "08"), ("ts",)),
])
def test_template_options_at_their_edges_are_built_as_scapy_built_them(options):
    state = TcpState(dut_isn=77, dut_port=8080, dut_tsval=9)
    step = TcpSend("PA", 3, 1, win=1000, options=options, payload="abcd", tos=3, bad_csum=True)
    assert state.fill(step, 12) == scapy_fill(TcpState(dut_isn=77, dut_port=8080, dut_tsval=9), step, 12)


def test_frag_needed_is_built_as_scapy_built_it():
    state = TcpState(dut_isn=5, dut_port=50000)
    step = TcpSend("A", 0, 100, icmp_mtu=1280)
    assert state.fill(step, 0) == scapy_fill(TcpState(dut_isn=5, dut_port=50000), step, 0)


# ------------------------------------------------------------ reading frames

def test_pcap_reader_gives_scapys_frames_and_times():
    for path in PCAPS:
        ours = pcapfile.read_frames(path)
        theirs = rdpcap(str(path))
        assert [d for _, d in ours] == [bytes(p) for p in theirs], path
        assert [t for t, _ in ours] == [int(p.time * 10**9) for p in theirs], path


@pytest.mark.parametrize("cut", [10, 24 + 8, 24 + 16 + 3])
def test_a_truncated_pcap_names_the_file_and_the_offset(tmp_path, cut):
    data = next(p for p in PCAPS if p.stat().st_size > 100).read_bytes()
    bad = tmp_path / "cut.pcap"
    bad.write_bytes(data[:cut])
    with pytest.raises(pcapfile.PcapError, match=r"cut\.pcap: byte offset \d+"):
        pcapfile.read_frames(bad)


def test_the_other_byte_order_and_ns_magic_read_alike(tmp_path):
    import struct
    frames = [(1_700_000_000_123_456_789, b"\x01" * 60), (1_700_000_001_000_000_001, b"\x02" * 42)]
    for order, magic, unit in (("<", 0xA1B23C4D, 1), (">", 0xA1B23C4D, 1), (">", 0xA1B2C3D4, 1000)):
        blob = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, 1)
        for t, d in frames:
            blob += struct.pack(order + "IIII", t // 10**9, t % 10**9 // unit, len(d), len(d)) + d
        p = tmp_path / "x.pcap"
        p.write_bytes(blob)
        assert pcapfile.read_frames(p) == [(t - t % unit, d) for t, d in frames]


def test_tcp_segments_read_as_scapy_dissects_them():
    n = 0
    for path in PCAPS:
        for _, data in pcapfile.read_frames(path):
            pkt = Ether(data)
            try:
                t = wire.tcp(data)
            except wire.Unsupported:
                continue
            has = TCP in pkt and type(pkt[IP].payload) is TCP if IP in pkt else False
            assert (t is not None) == has, (path, data.hex())
            if t is None:
                continue
            s = pkt[TCP]
            assert (t.sport, t.dport, t.seq, t.ack, t.dataofs, t.window) == \
                (s.sport, s.dport, s.seq, s.ack, s.dataofs, s.window)
            assert wire.flags_str(t.flags) == str(s.flags) and t.flags == int(s.flags)
            assert t.options == s.options and t.payload == bytes(s.payload)
            n += 1
    assert n > 2000


# ------------------------------------------------------------ flattening frames

def _scapy_rows(frame: Frame) -> list:
    return [(k, v) for k, _, v in flatten(frame.packet())]


def test_flat_rows_are_scapys_for_every_frame_of_traces():
    """Every frame of every pcap as it is, and every TCP frame as tcp_relative makes it
    (its TSval held to its frame's time): the bytes rows where flat.py reads the frame
    are compare.flatten's keys and values; flat.py leaves only a few frames to Scapy."""
    read = left = 0
    for path in PCAPS:
        frames = scenario_folder._pcap(path)
        for frame in frames + tcp_relative.relative_frames(frames):
            rows = flat.values(frame, tcp_options_verdict)
            if rows is None:
                left += 1
                continue
            assert rows == _scapy_rows(frame), (path, bytes(frame).hex())
            read += 1
    assert read > 5000 and left < read / 20, (read, left)
