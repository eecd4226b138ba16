"""nettwin-replay: a pcap in, the stack's answers out as a pcap; broken input
files are reported with their name and the byte offset, exit status 2."""

import subprocess

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap, wrpcap

from server_fixtures import (
    DUT_CIDR, DUT_DEV, DUT_IP, DUT_MAC, ECHO_ID, ECHO_PAYLOAD, ECHO_SEQ, EXIT_GUARD_S,
    REPLAY_BIN, TESTER_IP, TESTER_MAC, arp_request, echo_request, neighbour_probes_only,
    require_binary,
)

PCAP_HEADER_LEN = 24
RECORD_HEADER_LEN = 16
T0 = 1_700_000_000.0  # capture time of the first input frame


def replay(infile, outfile, *extra):
    require_binary(REPLAY_BIN)
    return subprocess.run(
        [str(REPLAY_BIN), "--in", str(infile), "--out", str(outfile), "--dev", DUT_DEV,
         "--mac", DUT_MAC, "--ip", DUT_CIDR, *extra],
        capture_output=True, text=True, timeout=EXIT_GUARD_S)


def timed(packet, t):
    packet.time = t
    return packet


def recorded_frames():
    return [timed(arp_request(), T0), timed(echo_request(), T0 + 0.001)]


def test_arp_and_echo_answers_are_written(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), recorded_frames())
    proc = replay(infile, outfile)
    assert proc.returncode == 0, proc.stderr
    written = rdpcap(str(outfile))
    assert "read 2 frames" in proc.stdout and "injected 2" in proc.stdout
    assert f"wrote {len(written)} frames" in proc.stdout and "frames/s" in proc.stdout

    assert len(written) >= 2
    arp, echo = written[0], written[1]
    assert arp[Ether].dst == TESTER_MAC and arp[ARP].op == 2
    assert (arp[ARP].hwsrc, arp[ARP].psrc, arp[ARP].pdst) == (DUT_MAC, DUT_IP, TESTER_IP)
    assert echo[Ether].src == DUT_MAC and echo[IP].src == DUT_IP and echo[IP].dst == TESTER_IP
    assert echo[ICMP].type == 0 and (echo[ICMP].id, echo[ICMP].seq) == (ECHO_ID, ECHO_SEQ)
    assert bytes(echo[ICMP].payload) == ECHO_PAYLOAD
    # Output timestamps are virtual time on the input's timeline: each answer
    # follows its request within the same virtual second.
    assert T0 <= float(arp.time) < T0 + 1
    assert T0 + 0.001 <= float(echo.time) < T0 + 1
    assert neighbour_probes_only(written[2:], after=float(echo.time))


def test_frames_not_for_the_dut_are_not_injected(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    own_answer = Ether(dst=TESTER_MAC, src=DUT_MAC) / ARP(op=2, hwsrc=DUT_MAC, psrc=DUT_IP,
                                                          hwdst=TESTER_MAC, pdst=TESTER_IP)
    other_host = Ether(dst="02:00:00:00:07:07", src=TESTER_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / ICMP()
    frames = recorded_frames()
    wrpcap(str(infile), [frames[0], timed(own_answer, T0 + 0.0005), timed(other_host, T0 + 0.0007),
                         frames[1]])
    proc = replay(infile, outfile)
    assert proc.returncode == 0, proc.stderr
    assert "read 4 frames" in proc.stdout and "injected 2" in proc.stdout
    assert "DUT's own 1" in proc.stdout and "other hosts 1" in proc.stdout
    written = rdpcap(str(outfile))
    assert written[0][ARP].op == 2 and written[1][ICMP].type == 0
    assert neighbour_probes_only(written[2:], after=float(written[1].time))


def test_replay_is_deterministic(tmp_path):
    infile = tmp_path / "in.pcap"
    wrpcap(str(infile), recorded_frames() * 3)
    outputs = []
    for name in ("a.pcap", "b.pcap"):
        assert replay(infile, tmp_path / name, "--seed", "7").returncode == 0
        outputs.append((tmp_path / name).read_bytes())
    assert outputs[0] == outputs[1]
    written = rdpcap(str(tmp_path / "a.pcap"))
    arp_replies = [f for f in written if f.haslayer(ARP) and f[ARP].op == 2]
    echo_replies = [f for f in written if f.haslayer(ICMP) and f[ICMP].type == 0]
    assert (len(arp_replies), len(echo_replies)) == (3, 3)


def test_missing_file(tmp_path):
    missing = tmp_path / "nowhere.pcap"
    proc = replay(missing, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{missing}: offset 0:" in proc.stderr


def test_garbage_file(tmp_path):
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"this is not a capture file, only some words " * 4)
    proc = replay(garbage, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{garbage}: offset 0:" in proc.stderr


@pytest.mark.parametrize("cut", [5, 20], ids=["inside-record-header", "inside-frame-data"])
def test_truncated_record(tmp_path, cut):
    infile = tmp_path / "cut.pcap"
    frames = recorded_frames()
    wrpcap(str(infile), frames)
    data = infile.read_bytes()
    second_record = PCAP_HEADER_LEN + RECORD_HEADER_LEN + len(bytes(frames[0]))
    infile.write_bytes(data[:second_record + cut])
    proc = replay(infile, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{infile}: offset {second_record}:" in proc.stderr
    assert "truncated" in proc.stderr


def test_wrong_link_type(tmp_path):
    infile = tmp_path / "sll.pcap"
    wrpcap(str(infile), recorded_frames(), linktype=113)  # LINKTYPE_LINUX_SLL
    proc = replay(infile, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{infile}: offset 20: link type 113" in proc.stderr


@pytest.mark.parametrize("args,words", [
    (["--mac", "02:00:00"], ['--mac: bad mac "02:00:00"']),
    (["--ip", "198.51.100.2"], ['--ip: bad cidr "198.51.100.2"']),
    (["--kind", "tap"], ['--kind: unknown device kind "tap"']),
    (["--neigh", "198.51.100.1"], ['--neigh: "198.51.100.1" is not IP=MAC']),
    (["--ifindex", "-3"], ['--ifindex: bad ifindex "-3"']),
])
def test_bad_options(tmp_path, args, words):
    infile = tmp_path / "in.pcap"
    wrpcap(str(infile), recorded_frames())
    proc = replay(infile, tmp_path / "out.pcap", *args)
    assert proc.returncode == 2
    for word in words:
        assert word in proc.stderr
    assert not (tmp_path / "out.pcap").exists()


def test_ring_device_with_static_neighbour_answers_echo_without_arp(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), [timed(echo_request(), T0)])
    proc = replay(infile, outfile, "--kind", "ring", "--ifindex", "7102",
                  "--neigh", f"{TESTER_IP}={TESTER_MAC}")
    assert proc.returncode == 0, proc.stderr
    answers = rdpcap(str(outfile))
    assert len(answers) == 1
    assert answers[0][Ether].dst == TESTER_MAC and answers[0][ICMP].type == 0


TSHARK_PROBLEMS = ["tshark", "-o", "ip.check_checksum:TRUE",
                   "-Y", "_ws.malformed || _ws.expert.severity >= error", "-r"]


def tshark_problems(pcap):
    proc = subprocess.run([*TSHARK_PROBLEMS, str(pcap)], capture_output=True, text=True,
                          timeout=EXIT_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stdout.splitlines() if line.strip()]


def test_replay_output_dissects_cleanly_in_tshark(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), recorded_frames())
    assert replay(infile, outfile).returncode == 0
    assert len(rdpcap(str(outfile))) >= 2
    assert tshark_problems(outfile) == []

    # The same check does flag broken frames: a cut IPv4 header, a bad checksum.
    broken = tmp_path / "broken.pcap"
    bad_checksum = echo_request()
    bad_checksum[IP].chksum = 0x1234
    wrpcap(str(broken), [Ether(bytes(echo_request())[:30]), bad_checksum])
    assert len(tshark_problems(broken)) == 2
