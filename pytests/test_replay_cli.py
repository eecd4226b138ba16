"""`nettwin replay` over a scenario's combined pcap (what the tester sent and what
Linux answered, in time order): no differences; with the expected response
altered, the difference is reported, field by field. Also `nettwin conform`'s
failing path: exit 1 with the side-by-side diff."""
from __future__ import annotations

import shutil
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import Ether
from scapy.utils import rdpcap, wrpcap

from conftest import scenario_folders
from nettwin import scenario_folder
from nettwin.replay import split_at_end

SCENARIOS = scenario_folders()


def echo_scenario():
    for folder in SCENARIOS:
        scen = scenario_folder.load(folder)
        if any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in scen.received):
            return scen
    pytest.fail("no recorded scenario contains an ICMP echo reply (the ARP+ping recording is missing)")


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


def test_replay_of_a_recording_reports_no_difference(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    wrpcap(str(tmp_path / "combined.pcap"), combined(scen))
    done = subprocess.run(replay_cmd(nettwin_cmd, scen, tmp_path / "combined.pcap", tmp_path / "out.pcap"),
                          capture_output=True, text=True, env=harness_env, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences" in done.stdout
    out = list(rdpcap(str(tmp_path / "out.pcap")))
    in_window, _ = split_at_end(out, combined(scen), settle_s=1.0)
    assert len(in_window) == len(scen.received)
    assert any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in in_window)


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
