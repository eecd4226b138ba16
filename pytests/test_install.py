"""The harness installs as a Python package (pyproject.toml) with Debian's pip and
setuptools, offline, and is then found with no PYTHONPATH: `nettwin` on PATH,
`import nettwin`, the build's gRPC stubs, the pytest plugin by its entry point.
Each install goes into the user site of a temporary HOME (pip --user), which
Python reads on its own, and every command runs with a clean environment."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO
from nettwin import __version__
from scenario_copies import echo_scenario

PIP = ["/usr/bin/python3", "-m", "pip", "install", "--user", "--break-system-packages", "--no-build-isolation",
       "--no-deps", "--no-index", "--no-warn-script-location", "--quiet"]


def readme_install_command() -> list[str]:
    """The install line of the README's set-up, as written there."""
    m = re.search(r"^(/usr/bin/python3 -m pip install [^\n]*-e \.)$", (REPO / "README.md").read_text(), re.M)
    assert m, "README.md has no `/usr/bin/python3 -m pip install ... -e .` line"
    return m.group(1).split()


def clean_env(home: Path, build_dir: Path) -> dict:
    """HOME and PATH only (and where the build is, when it is not the checkout's build/)."""
    env = {"HOME": str(home), "PATH": f"{home}/.local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
    if build_dir.resolve() != (REPO / "build").resolve():
        env["NETTWIN_BUILD"] = str(build_dir)
    return env


def run(cmd, env, cwd, timeout=300) -> str:
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)
    assert done.returncode == 0, f"{cmd}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def editable(tmp_path_factory, build_dir):
    """The README's install (editable: the package stays in harness/, next to build/)."""
    home = tmp_path_factory.mktemp("home")
    cmd = readme_install_command()
    assert cmd[:4] == ["/usr/bin/python3", "-m", "pip", "install"]
    env = clean_env(home, build_dir)
    run(cmd[:4] + ["--user", "--no-index", "--quiet"] + cmd[4:], env, REPO)
    return home, env


def test_the_editable_install_puts_nettwin_on_path_and_importable(editable, tmp_path):
    home, env = editable
    assert shutil.which("nettwin", path=env["PATH"]) == str(home / ".local" / "bin" / "nettwin")
    assert run(["nettwin", "--version"], env, tmp_path).strip() == f"nettwin {__version__}"
    where = run(["/usr/bin/python3", "-c", "import nettwin; print(nettwin.__file__)"], env, tmp_path).strip()
    assert Path(where) == REPO / "harness" / "nettwin" / "__init__.py"


def test_the_installed_harness_finds_the_stubs_and_the_server(editable, tmp_path, build_dir):
    home, env = editable
    stubs = run(["/usr/bin/python3", "-c", "from nettwin.client import paths; pb2, _ = paths.import_stubs(); "
                 "print(pb2.__file__)"], env, tmp_path).strip()
    assert Path(stubs) == build_dir / "python" / "nettwin_pb2.py"
    scenario = echo_scenario()
    out = run(["nettwin", "conform", "--no-diff", str(scenario)], env, tmp_path)
    assert out.splitlines()[0].startswith(f"PASS  {scenario.name}"), out


def test_the_pytest_plugin_loads_by_its_entry_point(editable, tmp_path):
    home, env = editable
    helps = run(["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "--help"], env, tmp_path)
    assert "--nettwin-scenarios=DIR" in helps
    out = run(["/usr/bin/python3", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--nettwin-scenarios",
               str(echo_scenario())], env, tmp_path)
    assert "1 passed" in out, out


def test_a_plain_install_copies_every_module(tmp_path_factory, build_dir):
    """Without -e the package is copied into site-packages: every subpackage must be in it."""
    src, home, cwd = (tmp_path_factory.mktemp(n) for n in ("src", "home", "cwd"))
    shutil.copy(REPO / "pyproject.toml", src)
    shutil.copy(REPO / "README.md", src)
    shutil.copytree(REPO / "harness" / "nettwin", src / "harness" / "nettwin",
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = clean_env(home, build_dir)
    run(PIP + ["."], env, src)
    site = home / ".local" / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    modules = sorted(p.relative_to(REPO / "harness").with_suffix("").as_posix().replace("/", ".")
                     for p in (REPO / "harness" / "nettwin").rglob("*.py") if p.name != "__main__.py")
    installed = sorted(p.relative_to(site).with_suffix("").as_posix().replace("/", ".")
                       for p in (site / "nettwin").rglob("*.py") if p.name != "__main__.py")
    assert installed == modules
    shutil.rmtree(src)      # nothing may still come from the source tree
    assert run(["nettwin", "--version"], env, cwd).strip() == f"nettwin {__version__}"
    where = run(["/usr/bin/python3", "-c", "import nettwin.comparison.report, nettwin.pytest_plugin, nettwin; "
                 "print(nettwin.__file__)"], env, cwd).strip()
    assert Path(where) == site / "nettwin" / "__init__.py"
    assert os.access(home / ".local" / "bin" / "nettwin", os.X_OK)
