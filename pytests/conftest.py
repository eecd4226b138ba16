"""Shared fixtures: the build directory (NETTWIN_BUILD, default <repo>/build), the
harness package on sys.path, and a started nettwin-server (one per session;
every test that uses it starts from Control.Reset)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "harness"
if str(HARNESS) not in sys.path:
    sys.path.insert(0, str(HARNESS))

from nettwin.client import paths  # noqa: E402


def _missing_build_message(err: Exception) -> str:
    return f"the nettwin build is missing or incomplete: {err}"


@pytest.fixture(scope="session")
def build_dir() -> Path:
    """The build directory, checked to hold the server, the replay tool and the stubs."""
    try:
        paths.binary("nettwin-server")
        paths.binary("nettwin-replay")
        paths.import_stubs()
    except paths.BuildMissing as e:
        pytest.fail(_missing_build_message(e), pytrace=False)
    return paths.build_dir()


@pytest.fixture(scope="session")
def harness_env(build_dir) -> dict:
    """Environment for running harness/bin/nettwin in a subprocess against this build."""
    env = dict(os.environ)
    env["NETTWIN_BUILD"] = str(build_dir)
    return env


@pytest.fixture(scope="session")
def server_stack(build_dir):
    """One nettwin-server for the session; stopped at the end whatever happened."""
    from nettwin.client import Stack
    with Stack() as stack:
        yield stack


@pytest.fixture
def stack(server_stack):
    """The session's stack, reset to a fresh one (no devices, clock at 0)."""
    server_stack.reset(1)
    return server_stack


@pytest.fixture
def nettwin_cmd() -> list[str]:
    return [str(REPO / "harness" / "bin" / "nettwin")]


def scenario_folders() -> list[Path]:
    """Every scenario folder in <repo>/traces, found at collection time."""
    from nettwin.scenarios.folder import discover
    return discover([paths.TRACES]) if paths.TRACES.is_dir() else []
