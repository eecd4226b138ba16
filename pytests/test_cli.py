"""The command line's own conventions: --version, help, and an unknown command."""
from __future__ import annotations

import re
import subprocess


def _run(nettwin_cmd, harness_env, *args):
    return subprocess.run(nettwin_cmd + list(args), capture_output=True, text=True, env=harness_env, timeout=60)


def test_version_prints_one_line_and_succeeds(nettwin_cmd, harness_env):
    for flag in ("--version", "-V"):
        done = _run(nettwin_cmd, harness_env, flag)
        assert done.returncode == 0
        assert re.fullmatch(r"nettwin \d+\.\d+\.\d+\n", done.stdout), done.stdout


def test_help_lists_the_commands_and_an_unknown_one_is_refused(nettwin_cmd, harness_env):
    done = _run(nettwin_cmd, harness_env, "--help")
    assert done.returncode == 0
    for command in ("conform", "replay", "record", "shell", "ss", "packetdrill"):
        assert re.search(rf"^\s+{command}\b", done.stdout, re.M), command
    bad = _run(nettwin_cmd, harness_env, "conformm")
    assert bad.returncode == 2
    assert "unknown command 'conformm'" in bad.stderr
