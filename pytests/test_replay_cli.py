"""`nettwin replay` over a scenario's combined pcap (what the tester sent and what
Linux answered, in time order): no differences; with the expected response
altered, the difference is reported, field by field. Also `nettwin conform`'s
failing path: exit 1 with the side-by-side diff."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import rdpcap, wrpcap

from conftest import scenario_folders
from nettwin.scenarios import folder as scenario_folder

SCENARIOS = scenario_folders()


def echo_scenario():
    """The ARP + ping recording: the tester asks for the DUT's MAC, then pings it."""
    for folder in SCENARIOS:
        if folder.name == "arp_then_echo":
            return scenario_folder.load(folder)
    pytest.fail("the ARP+ping recording (traces/arp_then_echo) is missing")


def combined(scen, received=None) -> list:
    frames = [(p.time, 0, i, p) for i, p in enumerate(scen.sent)]
    frames += [(p.time, 1, i, p) for i, p in enumerate(received if received is not None else scen.received)]
    return [p for *_, p in sorted(frames, key=lambda x: x[:3])]


def with_ttl(pkt, ttl: int) -> Ether:
    p = Ether(bytes(pkt))
    p[IP].ttl = ttl
    del p[IP].chksum
    out = Ether(bytes(p))
    out.time = pkt.time
    return out


def replay_cmd(nettwin_cmd, scen, pcap, out):
    dut = scen.dut
    cmd = nettwin_cmd + ["replay", str(pcap), "--out", str(out), "--dev", dut["ifname"],
                         "--mac", dut["mac"], "--ip", dut["addresses"][0]]
    if dut.get("ifindex"):
        cmd += ["--ifindex", str(dut["ifindex"])]
    return cmd


def replay_echo_recording(nettwin_cmd, harness_env, tmp_path):
    """`nettwin replay` of the echo recording into out.pcap; it must succeed."""
    scen = echo_scenario()
    wrpcap(str(tmp_path / "combined.pcap"), combined(scen))
    done = subprocess.run(replay_cmd(nettwin_cmd, scen, tmp_path / "combined.pcap", tmp_path / "out.pcap"),
                          capture_output=True, text=True, env=harness_env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done, scen


def test_replay_of_a_recording_reports_no_difference(nettwin_cmd, harness_env, tmp_path):
    done, scen = replay_echo_recording(nettwin_cmd, harness_env, tmp_path)
    assert "no differences" in done.stdout
    n = len(scen.received)
    assert f"the capture's DUT sent {n} frames (0 its own requests), the stack {n} (0); matched {n}," \
        in done.stdout, done.stdout
    out = list(rdpcap(str(tmp_path / "out.pcap")))
    assert any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in out)


def test_replay_reports_an_altered_expected_response(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    altered = [with_ttl(p, 99) if p.haslayer(ICMP) and p[ICMP].type == 0 else p for p in scen.received]
    wrpcap(str(tmp_path / "altered.pcap"), combined(scen, altered))
    done = subprocess.run(replay_cmd(nettwin_cmd, scen, tmp_path / "altered.pcap", tmp_path / "out.pcap"),
                          capture_output=True, text=True, env=harness_env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "no differences" not in done.stdout
    ttl_rows = [line for line in done.stdout.splitlines() if "IP.ttl" in line]
    assert ttl_rows and ttl_rows[0].startswith("!") and "99" in ttl_rows[0] and "64" in ttl_rows[0], done.stdout


def test_replay_rejects_a_missing_or_bad_pcap(nettwin_cmd, harness_env, tmp_path):
    done = subprocess.run(nettwin_cmd + ["replay", str(tmp_path / "none.pcap")],
                          capture_output=True, text=True, env=harness_env, timeout=60)
    assert done.returncode == 2 and "no such file" in done.stderr
    (tmp_path / "junk.pcap").write_bytes(b"not a pcap at all")
    done = subprocess.run(nettwin_cmd + ["replay", str(tmp_path / "junk.pcap")],
                          capture_output=True, text=True, env=harness_env, timeout=60)
    assert done.returncode == 2 and "junk.pcap" in done.stderr, done.stderr


def test_conform_cli_fails_with_a_readable_diff(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    copy = tmp_path / scen.path.name
    shutil.copytree(scen.path, copy)
    altered = [with_ttl(p, 99) if p.haslayer(ICMP) and p[ICMP].type == 0 else p for p in scen.received]
    wrpcap(str(copy / "received.pcap"), altered)
    done = subprocess.run(nettwin_cmd + ["conform", str(copy)], capture_output=True, text=True,
                          env=harness_env, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(f"FAIL  {scen.name}")
    assert any(line.strip().startswith("! IP.ttl") and "99" in line for line in lines), done.stdout
    assert lines[-1] == "1 scenario: 0 passed, 1 failed"


# ------------------------------------------------ what the replay did, and its exit status

TESTER_MAC, DUT_MAC, DUT_IP = "02:00:00:00:01:01", "02:00:00:00:01:02", "198.51.100.2"
T0 = 1_700_000_000.0


def at(pkt, t):
    pkt.time = t
    return pkt


def nettwin_replay(nettwin_cmd, env, *args, **kw):
    return subprocess.run(nettwin_cmd + ["replay", *map(str, args)], capture_output=True,
                          env=env, timeout=120, **kw)


def text(done) -> str:
    return (done.stdout + done.stderr).decode()


def test_replay_always_prints_what_it_injected(nettwin_cmd, harness_env, tmp_path):
    done, scen = replay_echo_recording(nettwin_cmd, harness_env, tmp_path)
    summary = [line for line in done.stdout.splitlines() if line.startswith("nettwin-replay: read ")]
    assert len(summary) == 1, done.stdout
    assert f"injected {len(scen.sent)};" in summary[0] and "lost 0 " in summary[0], summary[0]
    assert f"skipped {len(scen.received)} (DUT's own {len(scen.received)}," in summary[0], summary[0]


def test_replay_reads_stdin(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    wrpcap(str(tmp_path / "combined.pcap"), combined(scen))
    cmd = replay_cmd(nettwin_cmd, scen, "-", tmp_path / "out.pcap")
    with open(tmp_path / "combined.pcap", "rb") as stdin:
        done = subprocess.run(cmd, stdin=stdin, capture_output=True, env=harness_env, timeout=120)
    assert done.returncode == 0, text(done)
    assert "no differences" in done.stdout.decode()
    # and a pipe
    done = subprocess.run(cmd, input=(tmp_path / "combined.pcap").read_bytes(), capture_output=True,
                          env=harness_env, timeout=120)
    assert done.returncode == 0, text(done)
    assert "no differences" in done.stdout.decode()


def test_replay_of_a_cut_input_compares_up_to_the_cut(nettwin_cmd, harness_env, tmp_path):
    # The recording and then one more tester frame, cut in the middle: what came
    # before it is replayed and compared (no differences), the cut reported, exit 2.
    scen = echo_scenario()
    frames = combined(scen)
    last = at(Ether(src=scen.sent[0][Ether].src, dst="02:00:00:00:07:07") / IP(dst=DUT_IP) / ICMP(),
              float(frames[-1].time) + 0.001)
    wrpcap(str(tmp_path / "cut.pcap"), frames + [last])
    data = (tmp_path / "cut.pcap").read_bytes()
    start_of_last = len(data) - 16 - len(bytes(last))
    (tmp_path / "cut.pcap").write_bytes(data[:start_of_last + 20])
    done = subprocess.run(replay_cmd(nettwin_cmd, scen, tmp_path / "cut.pcap", tmp_path / "out.pcap"),
                          capture_output=True, text=True, env=harness_env, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "no differences" in done.stdout, done.stdout
    assert f"{tmp_path / 'cut.pcap'}: offset {start_of_last}: record {len(frames) + 1}: truncated" \
        in done.stderr, done.stderr
    assert f"compared the {len(frames)} frames before the break" in done.stderr
    assert (tmp_path / "out.pcap").stat().st_size > 24


def test_replay_with_lost_frames_fails(nettwin_cmd, harness_env, tmp_path):
    # More ARP requests at one instant than the veth backlog holds: frames are lost.
    arp = Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=TESTER_MAC, psrc="198.51.100.1",
                                                               pdst=DUT_IP)
    wrpcap(str(tmp_path / "flood.pcap"), [at(arp, T0)] * 1500)
    done = nettwin_replay(nettwin_cmd, harness_env, tmp_path / "flood.pcap")
    assert done.returncode == 1, text(done)
    assert "frames lost (rx_missed): the stack did not see the whole input" in done.stderr.decode()


def test_replay_that_compares_nothing_fails(nettwin_cmd, harness_env, tmp_path):
    other_host = Ether(src=TESTER_MAC, dst="02:00:00:00:07:07") / IP(dst=DUT_IP) / ICMP()
    wrpcap(str(tmp_path / "nothing.pcap"), [at(other_host, T0)])
    done = nettwin_replay(nettwin_cmd, harness_env, tmp_path / "nothing.pcap", "--dut-ip", DUT_IP,
                          "--dut-mac", DUT_MAC)
    assert done.returncode == 1, text(done)
    assert "nothing compared" in done.stderr.decode()
    assert "injected 0;" in done.stdout.decode()


@pytest.mark.parametrize("how", ["symlink", "hardlink", "stdin"])
def test_replay_refuses_an_output_that_is_its_input(nettwin_cmd, harness_env, tmp_path, how):
    scen = echo_scenario()
    pcap = tmp_path / "combined.pcap"
    wrpcap(str(pcap), combined(scen))
    before = pcap.read_bytes()
    out = tmp_path / "out.pcap"
    if how == "symlink":
        out.symlink_to(pcap)
        done = nettwin_replay(nettwin_cmd, harness_env, pcap, "--out", out)
    elif how == "hardlink":
        os.link(pcap, out)
        done = nettwin_replay(nettwin_cmd, harness_env, pcap, "--out", out)
    else:
        with open(pcap, "rb") as stdin:
            done = nettwin_replay(nettwin_cmd, harness_env, "-", "--out", pcap, stdin=stdin)
    assert done.returncode == 2, text(done)
    assert "is the input file" in done.stderr.decode() and "not overwriting it" in done.stderr.decode()
    assert pcap.read_bytes() == before
