"""nettwin's pytest plugin (nettwin.pytest_plugin) in a suite of a user's own, run
by pytest in a subprocess over a small folder: two real recordings that pass and a
copy of one whose echo reply was altered (so the twin differs in IP.ttl). Every
scenario is one test item named by its folder; the altered one fails with the
comparator's verdict line and diff."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from conftest import REPO, scenario_folders
from scenario_copies import echo_scenario, with_echo_reply_ttl

USER_TEST = '''
import pytest

@pytest.mark.nettwin_scenarios("scenarios")
def test_conforms(nettwin_scenario):
    assert nettwin_scenario.name == nettwin_scenario.folder.name
    nettwin_scenario.check()
'''


@pytest.fixture(scope="module")
def suite(tmp_path_factory, build_dir):
    """tmp/scenarios: two real recordings and an altered copy of the first."""
    root = tmp_path_factory.mktemp("plugin_suite")
    folders = root / "scenarios"
    folders.mkdir()
    echo = echo_scenario()
    other = next(f for f in scenario_folders() if f != echo and f.name.startswith("arp_"))
    for f in (echo, other):
        shutil.copytree(f, folders / f.name)
    altered = with_echo_reply_ttl(echo, folders)
    env = dict(os.environ, NETTWIN_BUILD=str(build_dir),
               PYTHONPATH=f"{REPO / 'harness'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}".rstrip(os.pathsep))
    return {"root": root, "env": env, "passing": {echo.name, other.name}, "failing": altered.name}


def pytest_run(suite, *args) -> tuple[subprocess.CompletedProcess, dict]:
    """pytest with the plugin (-p) in the suite's folder; the JUnit testcases by name."""
    junit = suite["root"] / "out.xml"
    done = subprocess.run(["/usr/bin/python3", "-m", "pytest", "-p", "nettwin.pytest_plugin", "-p",
                           "no:cacheprovider", f"--junitxml={junit}", *args], capture_output=True, text=True,
                          cwd=suite["root"], env=suite["env"], timeout=300)
    cases = {}
    if junit.exists():
        cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
        junit.unlink()
    return done, cases


def assert_fails_with_the_diff(case, name):
    failure = case.find("failure")
    assert failure is not None
    text = (failure.get("message") or "") + (failure.text or "")
    assert f"FAIL  {name} (1 of" in text
    # the side-by-side row, Linux (altered) | nettwin; in a test of one's own, under pytest's "E" marks
    ttl_rows = [line for line in text.splitlines() if "IP.ttl" in line]
    assert ttl_rows and all(re.match(r"(E\s+)?!\s+IP\.ttl\s+63\s+\|\s+64$", r) for r in ttl_rows), ttl_rows


def test_the_option_makes_one_item_per_scenario_folder(suite):
    done, cases = pytest_run(suite, "--nettwin-scenarios", "scenarios")
    assert done.returncode == 1, done.stdout + done.stderr
    assert set(cases) == suite["passing"] | {suite["failing"]}
    for name in suite["passing"]:
        assert cases[name].find("failure") is None and cases[name].find("error") is None
    assert_fails_with_the_diff(cases[suite["failing"]], suite["failing"])
    assert "2 passed" in done.stdout and "1 failed" in done.stdout


def test_the_items_take_pytest_selection(suite):
    done, cases = pytest_run(suite, "--nettwin-scenarios", "scenarios", "-k", suite["failing"])
    assert done.returncode == 1 and set(cases) == {suite["failing"]}, done.stdout


def test_the_marker_parametrizes_a_test_of_ones_own(suite):
    (suite["root"] / "test_mine.py").write_text(USER_TEST)
    try:
        done, cases = pytest_run(suite, "test_mine.py")
    finally:
        (suite["root"] / "test_mine.py").unlink()
    assert done.returncode == 1, done.stdout + done.stderr
    assert set(cases) == {f"test_conforms[{n}]" for n in suite["passing"] | {suite["failing"]}}
    assert_fails_with_the_diff(cases[f"test_conforms[{suite['failing']}]"], suite["failing"])


def test_a_folder_without_scenarios_is_a_usage_error(suite):
    (suite["root"] / "empty").mkdir(exist_ok=True)
    done, _ = pytest_run(suite, "--nettwin-scenarios", "empty")
    assert done.returncode == 4
    assert "no scenario folders in empty" in done.stderr
    done, _ = pytest_run(suite, "--nettwin-scenarios", "no/such/dir")
    assert done.returncode == 4 and "no such scenario folder" in done.stderr


def readme_blocks() -> tuple[str, str]:
    """The README's plugin section: its pytest command line and its test file."""
    text = (REPO / "README.md").read_text()
    m = re.search(r"^### Conformance in your own pytest suite\n(.*?)(?=^##)", text, re.S | re.M)
    assert m, "README.md has no '### Conformance in your own pytest suite'"
    (command,) = re.findall(r"```sh\n(.*?)\n```", m.group(1), re.S)
    (test_file,) = re.findall(r"```python\n(.*?)```", m.group(1), re.S)
    return command, test_file


def test_the_readme_examples_run_as_written(suite, tmp_path):
    """The README's command and test file, in a folder whose traces/ holds the two passing recordings."""
    command, test_file = readme_blocks()
    assert command.split()[0] == "pytest"
    for name in suite["passing"]:
        shutil.copytree(suite["root"] / "scenarios" / name, tmp_path / "traces" / name)
    (tmp_path / "test_readme.py").write_text(test_file)
    plugin = ["-p", "nettwin.pytest_plugin", "-p", "no:cacheprovider"]   # not installed here: -p loads it
    for args, items in ((command.split()[1:], suite["passing"]),
                        (["test_readme.py"], {f"test_conforms[{n}]" for n in suite["passing"]})):
        done = subprocess.run(["/usr/bin/pytest", *plugin, "-v", *args], capture_output=True, text=True,
                              cwd=tmp_path, env=suite["env"], timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        passed = set(re.findall(r"::(\S+) PASSED", done.stdout))
        assert passed == items, done.stdout
