"""The conformance suite: every recorded scenario in traces/ replayed into the stack
must behave as Linux did (frames and tracepoints), and the comparator must fail
when the stack's behaviour is changed through a real knob."""
from __future__ import annotations

import json

import pytest
from scapy.layers.inet import ICMP

from conftest import scenario_folders
from nettwin.comparison import conform
from nettwin.scenarios import folder as scenario_folder

SCENARIOS = scenario_folders()


def test_traces_hold_scenarios():
    assert SCENARIOS, "traces/ holds no recorded scenario folder: nothing would be compared"


@pytest.mark.parametrize("folder", SCENARIOS, ids=[f.name for f in SCENARIOS])
def test_scenario_conforms(stack, folder):
    result = conform.run_scenario(stack, folder)
    assert result.ok, f"{result.line()}\n{result.diff_text()}"


def _echo_scenario():
    """A recorded scenario whose Linux answered an ICMP echo request."""
    for folder in SCENARIOS:
        scen = scenario_folder.load(folder)
        if any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in scen.received):
            return folder
    pytest.fail("no recorded scenario contains an ICMP echo reply (the ARP+ping recording is missing)")


def test_changed_ttl_fails_with_a_diff_naming_the_ttl(stack):
    folder = _echo_scenario()
    baseline = conform.run_scenario(stack, folder)
    assert baseline.ok, baseline.diff_text()
    changed = conform.run_scenario(stack, folder, sysctl_overrides={"net.ipv4.ip_default_ttl": "63"})
    assert not changed.ok
    assert "IP.ttl" in changed.comparison.differing_fields()
    ttl_rows = [line for line in changed.diff_text().splitlines() if "IP.ttl" in line]
    assert ttl_rows and all(r.startswith("!") and "64" in r and "63" in r for r in ttl_rows)
    assert changed.line().startswith("FAIL")


def test_broken_scenario_folder_is_an_error_line_not_a_crash(tmp_path):
    (tmp_path / "meta.json").write_text(json.dumps({"topology": {}}))
    (tmp_path / "sent.pcap").write_bytes(b"")
    result = conform.run_scenario(None, tmp_path)  # fails before it needs a stack
    assert not result.ok
    assert result.line().startswith("ERROR") and "missing" in result.line()


def test_conform_cli_prints_one_line_per_scenario(nettwin_cmd, harness_env):
    import subprocess
    done = subprocess.run(nettwin_cmd + ["conform", "--no-diff"] + [str(f) for f in SCENARIOS],
                          capture_output=True, text=True, env=harness_env, timeout=600)
    lines = done.stdout.splitlines()
    verdicts = [line for line in lines if line.split(" ", 1)[0] in ("PASS", "FAIL", "ERROR")]
    assert len(verdicts) == len(SCENARIOS), done.stdout + done.stderr
    for folder, line in zip(SCENARIOS, verdicts):
        assert scenario_folder.load(folder).name in line
    assert lines[-1] == conform.summary_line(len(SCENARIOS), len(SCENARIOS)), done.stdout
    assert done.returncode == 0, done.stdout + done.stderr
