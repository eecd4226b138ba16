"""The README's Python sessions run as written: each ```python block under the
named headings is a doctest against a real server, so the README cannot drift
from what the stack does (ELLIPSIS stands in for long skb lines)."""
import doctest
import re
from pathlib import Path

import pytest

import nettwin.scapy

README = Path(__file__).resolve().parents[1] / "README.md"
SESSIONS = [
    "Scapy, unchanged, against the stack",
    "A UDP socket in the stack, talked to with Scapy",
    "A TCP connection in the stack, talked to with Scapy",
]


def session_text(heading: str) -> str:
    text = README.read_text()
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", text, re.S | re.M)
    assert m, f"README.md has no section '## {heading}'"
    blocks = re.findall(r"```python\n(.*?)```", m.group(1), re.S)
    assert blocks, f"README.md section '{heading}' has no python block"
    return "\n".join(blocks)


@pytest.mark.parametrize("heading", SESSIONS)
def test_readme_session_runs_as_written(heading):
    text = session_text(heading)
    test = doctest.DocTestParser().get_doctest(text, {}, heading, str(README), 0)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    out = []
    try:
        runner.run(test, out=out.append)
    finally:
        nettwin.scapy.detach()   # a session that failed half way leaves Scapy attached
        dut = test.globs.get("dut")
        if dut is not None:
            dut.close()
    assert runner.failures == 0, "".join(out)


def section_blocks(heading: str, lang: str) -> list[str]:
    """The ```lang blocks under '## heading' ('' for blocks with no language)."""
    m = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## )", README.read_text(), re.S | re.M)
    assert m, f"README.md has no section '## {heading}'"
    blocks, fence, body = [], None, []
    for line in m.group(1).splitlines():
        if fence is None and line.startswith("```"):
            fence, body = line[3:].strip(), []
        elif fence is not None and line == "```":
            if fence == lang:
                blocks.append("\n".join(body) + "\n")
            fence = None
        elif fence is not None:
            body.append(line)
    return blocks


def test_readme_forwarding_script_prints_the_path_it_promises(build_dir, capsys):
    """'Watching one forwarded packet' as a script: the names its comment lists come out
    in that order, then the frame the far side received."""
    (script,) = section_blocks("Watching one forwarded packet", "python")
    exec(compile(script, f"{README}: Watching one forwarded packet", "exec"), {})
    lines = capsys.readouterr().out.splitlines()
    printed = [line.split()[0].removeprefix("checkpoint:") for line in lines[:-1]]
    comment = " ".join(c.split("#", 1)[1] for c in script.splitlines() if "print(ev.name" in c or
                       c.strip().startswith("#"))
    promised = re.findall(r"\b[a-z_]+(?::[a-z_]+)?\b", comment)
    assert len(promised) >= 6, comment
    at = 0
    for name in promised:
        assert name in printed[at:], f"{name} not printed after {printed[at - 1] if at else 'the start'}"
        at = printed.index(name, at) + 1
    assert lines[-1].startswith("Ether / IP / ICMP 198.51.100.1 > 203.0.113.1 echo-request"), lines[-1]


def test_readme_conformance_diff_is_what_conform_prints(nettwin_cmd, harness_env, tmp_path):
    """The diff shown under 'Conformance: ...' (abridged) is a real one: arp_then_echo
    replayed with the DUT's default TTL at 63; every line shown is printed, spaces aside."""
    import json
    import shutil
    import subprocess
    (shown,) = section_blocks("Conformance: recordings of the real kernel", "")
    name = shown.split()[1]
    folder = tmp_path / name
    shutil.copytree(README.parent / "traces" / name, folder)
    meta = json.loads((folder / "meta.json").read_text())
    meta.setdefault("sysctls", {})["net.ipv4.ip_default_ttl"] = "63"
    (folder / "meta.json").write_text(json.dumps(meta))
    done = subprocess.run(nettwin_cmd + ["conform", str(folder)], capture_output=True, text=True,
                          env=harness_env, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr
    printed = {" ".join(line.split()) for line in done.stdout.splitlines()}
    missing = [line for line in shown.splitlines() if " ".join(line.split()) not in printed]
    assert not missing, "README lines conform does not print:\n" + "\n".join(missing)
