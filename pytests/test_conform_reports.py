"""`nettwin conform --junit --html`: the verdicts as JUnit XML that CI systems read and
as one self-contained HTML page, for a passing scenario and one whose replay differs
from its recording (a copy whose DUT TTL was changed through its sysctls)."""
from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from html.parser import HTMLParser

from conftest import scenario_folders
from nettwin.scenarios import folder as scenario_folder
from scenario_copies import echo_scenario, with_dut_ttl


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.external = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        if tag in ("script", "link", "img") or (a.get("src") or "").startswith("http"):
            self.external.append((tag, a))

    def handle_data(self, data):
        self.text.append(data)


def test_junit_and_html_name_the_failing_scenario_and_its_diff(nettwin_cmd, harness_env, tmp_path):
    good = echo_scenario()
    bad = with_dut_ttl(good, tmp_path / "mine")
    junit, page = tmp_path / "out.xml", tmp_path / "out.html"
    done = subprocess.run(nettwin_cmd + ["conform", "--no-diff", "--junit", str(junit), "--html", str(page),
                                         str(good), str(bad)],
                          capture_output=True, text=True, env=harness_env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr

    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("2", "1", "0")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {good.name, bad.name}
    assert cases[good.name].find("failure") is None
    assert cases[good.name].get("classname") == good.parent.name
    failure = cases[bad.name].find("failure")
    assert failure is not None and failure.get("message").startswith("FAIL")
    assert cases[bad.name].get("classname") == "mine"
    ttl_rows = [line for line in failure.text.splitlines() if "IP.ttl" in line]
    assert ttl_rows and all(r.startswith("!") and "64" in r and "63" in r for r in ttl_rows)
    assert cases[bad.name].find("system-out").text == scenario_folder.load(good).description

    html = page.read_text()
    parsed = _Collect()
    parsed.feed(html)
    text = "".join(parsed.text)
    assert parsed.external == []               # self-contained: nothing fetched from elsewhere
    assert "2 scenarios: 1 passed, 1 failed" in text
    assert f"FAIL {bad.name}" in text and "IP.ttl" in text
    assert html.count("<section") == 1         # a passing scenario gets a row, not a diff section
    assert f"PASS</td><td>{good.name}</td>" in html


def test_an_unwritable_report_path_is_a_clear_error(nettwin_cmd, harness_env, tmp_path):
    good = echo_scenario()
    done = subprocess.run(nettwin_cmd + ["conform", "--no-diff", "--junit", str(tmp_path / "no" / "such" / "x.xml"),
                                         str(good)],
                          capture_output=True, text=True, env=harness_env, timeout=300)
    assert done.returncode == 2
    assert "cannot write the report" in done.stderr and "x.xml" in done.stderr


def test_a_reader_that_leaves_early_ends_the_run_quietly(nettwin_cmd, harness_env):
    """`nettwin conform | head -1`: the closed pipe stops the run without a traceback."""
    folders = [str(f) for f in scenario_folders()]  # seconds of output: the pipe closes long before the end
    proc = subprocess.Popen(nettwin_cmd + ["conform", "--no-diff"] + folders, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=harness_env)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert first.startswith(b"PASS") or first.startswith(b"FAIL")
    assert b"Traceback" not in err, err.decode()
    assert proc.returncode == 141


def test_parallel_run_prints_the_serial_verdicts_in_order_and_writes_the_reports(nettwin_cmd, harness_env, tmp_path):
    good = echo_scenario()
    bad = with_dut_ttl(good, tmp_path / "mine")
    folders = [str(f) for f in scenario_folders()[:6]] + [str(bad)]
    serial = subprocess.run(nettwin_cmd + ["conform", "--no-diff"] + folders, capture_output=True, text=True,
                            env=harness_env, timeout=300)
    junit, page = tmp_path / "par.xml", tmp_path / "par.html"
    parallel = subprocess.run(nettwin_cmd + ["conform", "--no-diff", "-j", "2", "--junit", str(junit),
                                             "--html", str(page)] + folders,
                              capture_output=True, text=True, env=harness_env, timeout=300)
    assert parallel.returncode == serial.returncode == 1
    assert parallel.stdout == serial.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert (suite.get("tests"), suite.get("failures")) == ("7", "1")
    assert "IP.ttl" in suite.find(f"testcase[@name='{bad.name}']/failure").text
    # The workers' verdicts carry the diff as rows and the skb path of the differing frame.
    html = page.read_text()
    assert ('<tr class="field differs"><td class="mark">!</td><td class="key">IP.ttl</td>'
            '<td class="linux">64</td><td class="nettwin">63</td></tr>') in html
    assert html.count('<table class="skb-path"') == 1 and "<td>dev_hard_start_xmit</td>" in html
    refused = subprocess.run(nettwin_cmd + ["conform", "-j", "0"] + folders, capture_output=True, text=True,
                             env=harness_env, timeout=60)
    assert refused.returncode == 2 and "--jobs" in refused.stderr
