"""Every frame the stack sends dissects in tshark (an independent dissector) with no
malformed packet and no expert warning or error: in every recorded scenario and in
an ARP + ping exchange. The stack's frames are written among the frames that caused
them, so tshark also checks request/reply pairing; only the stack's frames are
judged (some recordings inject malformed frames on purpose), and what tshark also says of
Linux's identical frames in the recording (a retransmission overlapping old data) is the
conversation's, not the frame's."""
from __future__ import annotations

import subprocess

import pytest
from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap, wrpcap

from conftest import scenario_folders
from nettwin.client import paths
from nettwin.comparison import conform
from nettwin.scenarios import folder as scenario_folder
from nettwin.interactive.session import Session

SCENARIOS = scenario_folders()
WARNING = 0x600000  # expert severity: PI_WARN; PI_ERROR is 0x800000
# arp.detect_duplicate_ips off: the neighbour scenarios move 198.51.100.1 to a new
# MAC on purpose, which is configuration tshark's heuristic flags, not a bad frame.
TSHARK_PREFS = ["-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
                "-o", "tcp.check_checksum:TRUE", "-o", "arp.detect_duplicate_ips:FALSE"]
# tshark marks every RST, and every segment advertising a zero window, with a
# warning: it says what the segment means to the conversation (a reset, flow
# control that Linux does too: tcp_receive_window_zero_probe), not that the
# frame is badly formed.
CONVERSATION_NOTES = {"Connection reset (RST)", "TCP Zero Window segment"}


def expert_rows(pcap) -> list[list[str]]:
    """tshark's (frame number, severities, messages, malformed) for every frame."""
    done = subprocess.run(["tshark", "-n", "-r", str(pcap), *TSHARK_PREFS, "-T", "fields",
                           "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=|",
                           "-e", "frame.number", "-e", "_ws.expert.severity", "-e", "_ws.expert.message",
                           "-e", "_ws.malformed"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.splitlines() if line.strip()]
    return [row + [""] * (4 - len(row)) for row in rows]


def tshark_problems(pcap, judged: set[int], linux_notes: frozenset[str] = frozenset()) -> list[str]:
    """Expert warnings/errors and malformed marks on the judged frame numbers (1-based),
    less what tshark also says of Linux's own frames in the same conversation."""
    rows = expert_rows(pcap)
    assert len(rows) >= max(judged, default=0), f"tshark read fewer frames than written:\n{done.stdout}"
    problems = []
    # An ICMP error quotes the datagram that caused it: what tshark finds wrong in
    # a sent frame it finds again in the quote, and that is the sender's fault.
    inherited = set()
    for row in rows:
        if int(row[0]) not in judged:
            inherited.update(m for m in row[2].split("|") if m)
    for row in rows:
        number, severities, messages, malformed = int(row[0]), row[1], row[2], row[3]
        if number not in judged:
            continue
        pairs = list(zip([s for s in severities.split("|") if s], messages.split("|")))
        own = [(int(level, 0), m) for level, m in pairs
               if m not in inherited and m not in CONVERSATION_NOTES and m not in linux_notes]
        if (malformed and "_ws.malformed" not in linux_notes) or any(level >= WARNING for level, _ in own):
            problems.append(f"frame {number}: severities {severities} {messages} {malformed}".strip())
    verbose = subprocess.run(["tshark", "-n", "-r", str(pcap), *TSHARK_PREFS, "-V"],
                             capture_output=True, text=True, timeout=120).stdout
    for block in verbose.split("\nFrame ")[0:]:
        head = block.split(":", 1)[0].replace("Frame ", "").strip()
        if head.isdigit() and int(head) in judged and "Malformed" in block and "_ws.malformed" not in linux_notes:
            problems.append(f"frame {head}: tshark -V says Malformed")
    return problems


def write_exchange(path, sent: list, sent_ns: list[int], answers: list) -> set[int]:
    """Merge the sent frames and the stack's answers by time (a cause before its
    effect at equal times); returns the 1-based numbers of the stack's frames."""
    tagged = [(t, 0, i, p) for i, (t, p) in enumerate(zip(sent_ns, sent))]
    tagged += [(p.time_ns, 1, i, p) for i, p in enumerate(answers)]
    tagged.sort(key=lambda x: x[:3])
    frames = []
    for t, _, _, p in tagged:
        p = Ether(bytes(p))
        p.time = t / 1e9
        frames.append(p)
    wrpcap(str(path), frames)
    return {n for n, (_, who, _, _) in enumerate(tagged, 1) if who == 1}


def linux_conversation_notes(folder, tmp_path) -> frozenset[str]:
    """What tshark says of Linux's own frames in the recording (sent.pcap and
    received.pcap by time): on a twin frame that equals Linux's, a retransmission's
    overlap or an out-of-order segment belongs to the conversation the recording
    chose, not to a badly formed frame."""
    tagged = [(p.time, 0, i, p) for i, p in enumerate(rdpcap(str(folder / "sent.pcap")))]
    tagged += [(p.time, 1, i, p) for i, p in enumerate(rdpcap(str(folder / "received.pcap")))]
    tagged.sort(key=lambda x: x[:3])
    wrpcap(str(tmp_path / "linux.pcap"), [p for *_, p in tagged])
    linux_frames = {n for n, (_, who, _, _) in enumerate(tagged, 1) if who == 1}
    notes = set()
    for number, _, messages, malformed in expert_rows(tmp_path / "linux.pcap"):
        if int(number) in linux_frames:
            notes.update(m for m in messages.split("|") if m)
            if malformed:
                notes.add("_ws.malformed")
    return frozenset(notes)


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_scenario_frames_dissect_cleanly(stack, folder, tmp_path):
    scen = scenario_folder.load(folder)
    rep = conform.replay(stack, scen)
    # The frames the replay put in (a reactive TCP tester fills them from the stack's own).
    judged = write_exchange(tmp_path / "exchange.pcap", [f for _, f in rep.injected],
                            [t for t, _ in rep.injected], rep.wire)
    assert len(judged) == len(rep.wire)
    notes = linux_conversation_notes(folder, tmp_path)
    assert tshark_problems(tmp_path / "exchange.pcap", judged, notes) == []


def test_large_tcp_write_segments_dissect_cleanly(stack, tmp_path):
    """A 4000-byte write leaves TCP as one GSO skb that GSO cuts at the device:
    each segment carries its own IP length, ID and checksum and its own TCP
    sequence number, flags and checksum, which tshark checks frame by frame."""
    rep = conform.replay(stack, scenario_folder.load(paths.TRACES / "tcp_large_write_segments"))
    data = [Ether(bytes(p)) for p in rep.wire]
    data = [p for p in data if p.haslayer(TCP) and len(p[TCP].payload)]
    assert [len(p[TCP].payload) for p in data] == [1448, 1448, 1104]
    assert [p[IP].id - data[0][IP].id for p in data] == [0, 1, 2]
    judged = write_exchange(tmp_path / "large_write.pcap", [f for _, f in rep.injected],
                            [t for t, _ in rep.injected], rep.wire)
    assert tshark_problems(tmp_path / "large_write.pcap", judged) == []


def test_arp_and_ping_dissect_cleanly(stack, tmp_path):
    session = Session(stack, kind="ring")
    try:
        tester, dut = "02:00:00:00:01:01", "02:00:00:00:01:02"
        arp = Ether(src=tester, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=tester, psrc="198.51.100.1",
                                                                pdst="198.51.100.2")
        echo = Ether(src=tester, dst=dut) / IP(src="198.51.100.1", dst="198.51.100.2") / \
            ICMP(id=0x77, seq=1) / (b"nettwin" * 8)
        t_arp = stack.now()
        arp_answers = session.inject(arp)
        t_echo = stack.now()
        echo_answers = session.inject(echo)
    finally:
        session.close()
    answers = list(arp_answers) + list(echo_answers)
    assert any(p.haslayer(ARP) and p[ARP].op == 2 for p in answers), answers
    assert any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in answers), answers
    judged = write_exchange(tmp_path / "ping.pcap", [arp, echo], [t_arp, t_echo], answers)
    assert tshark_problems(tmp_path / "ping.pcap", judged) == []


def test_the_check_itself_catches_a_bad_frame(tmp_path):
    """The tshark check has teeth: a truncated IPv4 frame, a bad checksum and a cut ARP are reported."""
    good = Ether() / IP(src="198.51.100.2", dst="198.51.100.1") / ICMP(type=0)
    bad_len = Ether(bytes(Ether() / IP(src="198.51.100.2", dst="198.51.100.1", len=200) / ICMP()))
    bad_sum = Ether(bytes(Ether() / IP(src="198.51.100.2", dst="198.51.100.1", chksum=0x1234) / ICMP()))
    short_arp = Ether(src="02:00:00:00:01:02", type=0x0806) / b"\x00\x01\x08\x00\x06"
    wrpcap(str(tmp_path / "bad.pcap"), [good, bad_len, bad_sum, short_arp])
    problems = tshark_problems(tmp_path / "bad.pcap", {1, 2, 3, 4})
    assert [p.split(":")[0] for p in problems if "severities" in p] == ["frame 2", "frame 3", "frame 4"]
    assert "frame 4: tshark -V says Malformed" in problems
    assert tshark_problems(tmp_path / "bad.pcap", {1}) == []
