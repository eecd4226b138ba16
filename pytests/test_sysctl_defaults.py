"""The stack's sysctls against the real kernel's: each one the stack has starts at
the value a fresh network namespace of Linux 6.18 shows (data/, a copy of the
reference capture in ../shared/reference), and takes or refuses the edge values this machine's kernel
takes or refuses (asked live, in a namespace of the test's own)."""
import os
import re
import subprocess
import uuid
from pathlib import Path

import pytest

from nettwin.client import StackError

REFERENCE = Path(__file__).resolve().parent / "data" / "linux-6.18-sysctl-fresh-netns.txt"
# This machine's kernel defaults to bbr, which the stack does not build in; the
# recorder sets cubic in every recording, and so does the stack by default.
CONGESTION_CONTROL = {"net.ipv4.tcp_congestion_control", "net.ipv4.tcp_allowed_congestion_control",
                      "net.ipv4.tcp_available_congestion_control"}


def reference() -> dict:
    if not REFERENCE.exists():
        pytest.fail(f"{REFERENCE}: the reference capture of Linux's sysctls is missing")
    values = {}
    for line in REFERENCE.read_text().splitlines():
        m = re.match(r"^(net\.\S+) = (.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def known(stack, name: str):
    try:
        return stack.sysctl(name)
    except StackError:
        return None


def test_each_sysctl_of_the_stack_starts_at_linux_value(stack):
    ours = {name: known(stack, name) for name in reference()}
    ours = {name: value for name, value in ours.items() if value is not None}
    assert len(ours) >= 70, sorted(ours)    # guards the comparison below against an empty walk
    differ = {name: (linux, ours[name]) for name, linux in reference().items()
              if name in ours and name not in CONGESTION_CONTROL and linux.split() != ours[name].split()}
    assert differ == {}, differ


RETRIES = ["net.ipv4.tcp_retries1", "net.ipv4.tcp_retries2", "net.ipv4.tcp_orphan_retries",
           "net.ipv4.tcp_syn_retries", "net.ipv4.tcp_keepalive_probes"]
EDGES = ["-1", "0", "1", "127", "128", "255", "256", "65536"]


@pytest.fixture(scope="module")
def linux_takes():
    """{(name, value): whether this machine's kernel takes it}, in a namespace of our own."""
    if os.geteuid() != 0:
        pytest.fail("asking the kernel needs root (a network namespace of the test's own)")
    ns = f"ntsysctl{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        takes = {}
        for name in RETRIES:
            for value in EDGES:
                done = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-q", "-w", f"{name}={value}"],
                                      capture_output=True, text=True)
                takes[name, value] = done.returncode == 0
        return takes
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)


@pytest.mark.parametrize("name", RETRIES)
def test_retry_sysctls_take_and_refuse_the_values_linux_does(stack, linux_takes, name):
    for value in EDGES:
        try:
            got = stack.sysctl(name, value)
            took = True
            assert got == value
        except StackError:
            took = False
        assert took == linux_takes[name, value], (name, value, "linux takes" if linux_takes[name, value] else "linux refuses")
