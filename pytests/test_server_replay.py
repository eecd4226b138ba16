"""nettwin-replay: a pcap in, the stack's answers out as a pcap; broken input
files are reported with their name and the byte offset, exit status 2."""

import os
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, CookedLinux, Ether
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
def test_truncated_record_keeps_what_was_replayed(tmp_path, cut):
    # As tshark: the records before the cut are replayed and their answers
    # written; the cut is reported with the file and its offset; exit status 2.
    infile, outfile = tmp_path / "cut.pcap", tmp_path / "out.pcap"
    frames = recorded_frames()
    wrpcap(str(infile), frames)
    data = infile.read_bytes()
    second_record = PCAP_HEADER_LEN + RECORD_HEADER_LEN + len(bytes(frames[0]))
    infile.write_bytes(data[:second_record + cut])
    proc = replay(infile, outfile)
    assert proc.returncode == 2
    assert f"{infile}: offset {second_record}: record 2: truncated" in proc.stderr, proc.stderr
    assert "cut short" in proc.stderr and "replayed the 1 records before it" in proc.stderr
    assert "read 1 frames" in proc.stdout and "injected 1;" in proc.stdout, proc.stdout
    assert f"stopped early at {infile}: offset {second_record}" in proc.stdout
    written = rdpcap(str(outfile))
    assert written[0][ARP].op == 2 and not any(f.haslayer(ICMP) for f in written)


def test_cut_inside_the_file_header_names_the_file(tmp_path):
    infile = tmp_path / "header.pcap"
    wrpcap(str(infile), recorded_frames())
    infile.write_bytes(infile.read_bytes()[:10])
    proc = replay(infile, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{infile}: offset 0: truncated" in proc.stderr, proc.stderr
    assert not (tmp_path / "out.pcap").exists()


def test_summary_counts_refused_and_lost_frames(tmp_path):
    # 1500 frames at one instant overflow the veth backlog (netdev_max_backlog
    # 1000): the rest are lost (rx_missed); a 2000-byte frame is refused.
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    oversized = Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / (b"x" * 1966)
    wrpcap(str(infile), [timed(oversized, T0), timed(arp_request(), T0)]
           + [timed(echo_request(), T0 + 0.001)] * 1500)
    proc = replay(infile, outfile)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "read 1502 frames" in proc.stdout and "injected 1501;" in proc.stdout, proc.stdout
    assert "refused 1 (larger than the device's max frame)" in proc.stdout
    assert "frame of 2000 bytes is larger than" in proc.stderr and "record 1" in proc.stderr
    lost = int(proc.stdout.split("lost ", 1)[1].split()[0])
    assert lost > 0
    echo_replies = [f for f in rdpcap(str(outfile)) if f.haslayer(ICMP) and f[ICMP].type == 0]
    assert len(echo_replies) == 1500 - lost


def test_nothing_injected_exits_3_with_the_summary(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    other_host = Ether(dst="02:00:00:00:07:07", src=TESTER_MAC) / IP(src=TESTER_IP, dst=DUT_IP) / ICMP()
    wrpcap(str(infile), [timed(other_host, T0)])
    proc = replay(infile, outfile)
    assert proc.returncode == 3
    assert "read 1 frames" in proc.stdout and "injected 0;" in proc.stdout and "other hosts 1" in proc.stdout
    assert "nothing was injected" in proc.stdout
    assert len(rdpcap(str(outfile))) == 0


@pytest.mark.parametrize("how", ["same-path", "symlink", "hardlink"])
def test_output_equal_to_the_input_is_refused(tmp_path, how):
    infile = tmp_path / "in.pcap"
    wrpcap(str(infile), recorded_frames())
    before = infile.read_bytes()
    out = tmp_path / "out.pcap"
    if how == "same-path":
        out = f"{tmp_path}/./in.pcap"  # another spelling of the same path
    elif how == "symlink":
        out.symlink_to(infile)
    else:
        os.link(infile, out)
    proc = replay(infile, out)
    assert proc.returncode == 2
    assert f"--out {out} is the input file {infile}: not overwriting it" in proc.stderr, proc.stderr
    assert infile.read_bytes() == before


def test_stdin_redirected_from_the_output_is_refused(tmp_path):
    infile = tmp_path / "in.pcap"
    wrpcap(str(infile), recorded_frames())
    before = infile.read_bytes()
    with open(infile, "rb") as stdin:
        proc = replay_stdin("-", infile, stdin=stdin)
    assert proc.returncode == 2 and b"is the input file stdin" in proc.stderr, proc.stderr
    assert infile.read_bytes() == before


def replay_stdin(name, outfile, **kw):
    require_binary(REPLAY_BIN)
    return subprocess.run(
        [str(REPLAY_BIN), "--in", name, "--out", str(outfile), "--dev", DUT_DEV,
         "--mac", DUT_MAC, "--ip", DUT_CIDR], capture_output=True, timeout=EXIT_GUARD_S, **kw)


@pytest.mark.parametrize("name", ["-", "/dev/stdin"])
def test_input_from_a_pipe(tmp_path, name):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), recorded_frames())
    proc = replay_stdin(name, outfile, input=infile.read_bytes())
    assert proc.returncode == 0, proc.stderr
    shown = "stdin" if name == "-" else name
    assert f"read 2 frames from {shown}; injected 2;" in proc.stdout.decode()
    written = rdpcap(str(outfile))
    assert written[0][ARP].op == 2 and written[1][ICMP].type == 0


def test_cut_input_from_a_pipe_names_the_offset(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    frames = recorded_frames()
    wrpcap(str(infile), frames)
    second_record = PCAP_HEADER_LEN + RECORD_HEADER_LEN + len(bytes(frames[0]))
    proc = replay_stdin("-", outfile, input=infile.read_bytes()[:second_record + 20])
    assert proc.returncode == 2
    assert f"stdin: offset {second_record}: record 2: truncated" in proc.stderr.decode()
    assert rdpcap(str(outfile))[0][ARP].op == 2


def test_timestamps_going_backwards_are_warned_and_replayed_at_the_current_time(tmp_path):
    infile, outfile = tmp_path / "in.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), [timed(arp_request(), T0 + 0.002), timed(echo_request(), T0 + 0.001)])
    proc = replay(infile, outfile)
    assert proc.returncode == 0, proc.stderr
    assert (f"warning: {infile}: offset {PCAP_HEADER_LEN + RECORD_HEADER_LEN + len(bytes(arp_request()))}: "
            "record 2: timestamp 0.001000000 s earlier than the record before") in proc.stderr, proc.stderr
    assert "1 timestamps went backwards" in proc.stdout
    written = rdpcap(str(outfile))
    arp, echo = written[0], written[1]
    assert arp[ARP].op == 2 and echo[ICMP].type == 0
    # The late frame is injected at the current virtual time, not before it.
    assert float(echo.time) >= float(arp.time) >= T0 + 0.002


def test_wrong_link_type(tmp_path):
    infile = tmp_path / "wifi.pcap"
    wrpcap(str(infile), recorded_frames(), linktype=105)  # LINKTYPE_IEEE802_11: not replayable
    proc = replay(infile, tmp_path / "out.pcap")
    assert proc.returncode == 2
    assert f"{infile}: offset 20: link type 105" in proc.stderr
    assert "replay takes Ethernet, Linux cooked (SLL, SLL2)" in proc.stderr


def test_cooked_capture_is_made_ethernet_frames_and_answered(tmp_path):
    # The same ARP + ping as Linux cooked (SLL) records: the frames get the made-up
    # MACs (02:00 + IPv4 address), so a device with the DUT's made-up MAC answers.
    infile, outfile = tmp_path / "sll.pcap", tmp_path / "out.pcap"
    wrpcap(str(infile), [timed(CookedLinux(pkttype=0, proto=0x0800) / p[IP], float(p.time))
                         for p in recorded_frames() if p.haslayer(IP)], linktype=113)
    made_up = "02:00:c6:33:64:02"
    proc = subprocess.run([str(REPLAY_BIN), "--in", str(infile), "--out", str(outfile), "--dev", DUT_DEV,
                           "--mac", made_up, "--ip", DUT_CIDR, "--learn-neigh"],
                          capture_output=True, text=True, timeout=EXIT_GUARD_S)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "neighbours learnt from the capture: 1" in proc.stdout
    echo = [f for f in rdpcap(str(outfile)) if f.haslayer(ICMP)]
    assert echo and echo[0][Ether].src == made_up and echo[0][Ether].dst == "02:00:c6:33:64:01"
    assert echo[0][ICMP].type == 0


def test_convert_writes_the_ethernet_frames(tmp_path):
    infile, outfile = tmp_path / "sll.pcap", tmp_path / "ether.pcap"
    frames = [timed(CookedLinux(pkttype=0, proto=0x0800) / p[IP], float(p.time))
              for p in recorded_frames() if p.haslayer(IP)]
    wrpcap(str(infile), frames, linktype=113)
    require_binary(REPLAY_BIN)
    proc = subprocess.run([str(REPLAY_BIN), "--convert", "--in", str(infile), "--out", str(outfile)],
                          capture_output=True, text=True, timeout=EXIT_GUARD_S)
    assert proc.returncode == 0, proc.stderr
    assert f"converted 1 frames from {infile} to {outfile}" in proc.stdout
    out = rdpcap(str(outfile))
    assert out[0][Ether].src == "02:00:c6:33:64:01" and out[0][Ether].dst == "02:00:c6:33:64:02"
    assert bytes(out[0][IP]) == bytes(frames[0][IP]) and float(out[0].time) == float(frames[0].time)


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
