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
