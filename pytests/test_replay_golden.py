"""The golden output beside a capture: --update-golden stores a run as
CAPTURE.golden.json; later runs compare with it, pass when they give the same
(known differences from the capture included) and fail, naming the flow, when
anything changed."""
from __future__ import annotations

import json
import subprocess

from scapy.layers.inet import ICMP
from scapy.utils import wrpcap

from test_replay_cli import combined, echo_scenario, with_ttl


def replay(nettwin_cmd, env, *args):
    return subprocess.run(nettwin_cmd + ["replay", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def with_reply_ttl(scen, ttl: int) -> list:
    return combined(scen, [with_ttl(p, ttl) if p.haslayer(ICMP) and p[ICMP].type == 0 else p
                           for p in scen.received])


def test_golden_output_accepts_known_differences_and_catches_changes(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    capture = tmp_path / "echo.pcap"
    wrpcap(str(capture), with_reply_ttl(scen, 99))
    golden = tmp_path / "echo.pcap.golden.json"

    done = replay(nettwin_cmd, harness_env, capture)
    assert done.returncode == 1, done.stdout + done.stderr        # a difference, no golden yet
    assert f"no golden output at {golden} (--update-golden stores this run's)" in done.stdout

    done = replay(nettwin_cmd, harness_env, capture, "--update-golden")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"golden output written: {golden}" in done.stdout
    stored = json.loads(golden.read_text())
    echo_flows = [v for k, v in stored["flows"].items() if k.startswith("ICMP ")]
    assert len(echo_flows) == 1 and echo_flows[0]["differing"] == 1, stored

    done = replay(nettwin_cmd, harness_env, capture)
    assert done.returncode == 0, done.stdout + done.stderr        # the accepted difference
    assert f"same as the golden output {golden}" in done.stdout

    # The capture changes (the DUT answered with another TTL): the run is what it
    # was, the comparison with the capture is not.
    wrpcap(str(capture), with_reply_ttl(scen, 64))
    done = replay(nettwin_cmd, harness_env, capture)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "golden mismatch: 1 changes from" in done.stdout, done.stdout
    change = [line for line in done.stdout.splitlines() if "differing 1 -> 0" in line]
    assert len(change) == 1 and change[0].startswith("  ICMP ") and "matched 0 -> 1" in change[0], done.stdout


def test_golden_output_catches_a_change_in_the_stacks_frames(nettwin_cmd, harness_env, tmp_path):
    # Same counts, other frames: the stack's frames are in the golden output as a digest.
    scen = echo_scenario()
    capture = tmp_path / "echo.pcap"
    wrpcap(str(capture), with_reply_ttl(scen, 99))
    golden = tmp_path / "mine.json"
    assert replay(nettwin_cmd, harness_env, capture, "--golden", golden, "--update-golden").returncode == 0
    stored = json.loads(golden.read_text())
    name = next(k for k in stored["flows"] if k.startswith("ICMP "))
    stored["flows"][name]["stack_sha256"] = "0" * 16
    golden.write_text(json.dumps(stored))
    done = replay(nettwin_cmd, harness_env, capture, "--golden", golden)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"stack_sha256 {'0' * 16} ->" in done.stdout


def test_a_broken_golden_output_is_bad_input(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    capture = tmp_path / "echo.pcap"
    wrpcap(str(capture), combined(scen))
    (tmp_path / "echo.pcap.golden.json").write_text("{ not json")
    done = replay(nettwin_cmd, harness_env, capture)
    assert done.returncode == 2
    assert f"{tmp_path / 'echo.pcap.golden.json'}: not a golden output" in done.stderr
