"""Processes the recorder runs inside a namespace: tcpdump captures and the
injecting agent (netns_agent.py). Each is started ready-to-use and stopped cleanly."""
from __future__ import annotations

import json
import re
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from .netns_agent import COLLECT_WAIT_MS

AGENT_SCRIPT = Path(__file__).with_name("netns_agent.py")
# How long the agent may take to answer a command beyond the wait the command asks
# for itself: a socket call that blocks longer waits on something the scenario
# never does (a blocking send to a peer that acknowledges only after it returns).
ANSWER_GRACE_S = 30.0


def answer_wait_s(cmd: dict, grace_s: float = ANSWER_GRACE_S) -> float:
    """How long the agent may take to answer cmd: the wait cmd asks for itself
    (recv's timeout_ms, collect's, by default the agent's COLLECT_WAIT_MS), plus grace_s."""
    own_ms = cmd.get("timeout_ms", cmd.get("args", {}).get(
        "timeout_ms", COLLECT_WAIT_MS if cmd.get("sock_op") == "collect" else 0))
    return grace_s + own_ms / 1000


class ProcessError(RuntimeError):
    """A helper process failed to start, answer or stop cleanly."""


class Tcpdump:
    """tcpdump -Q <direction> -w <path> on one interface inside a namespace.
    start() returns once tcpdump says it is listening; stop() sends SIGINT, which
    makes tcpdump flush the file, and checks the kernel dropped nothing."""

    def __init__(self, netns: str, iface: str, direction: str, path: Path):
        self.argv = ["ip", "netns", "exec", netns, "tcpdump", "-i", iface, "-Q", direction,
                     "-w", str(path), "-n", "-s", "0", "-U", "--immediate-mode", "-Z", "root"]
        self.path = path
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._listening = threading.Event()

    def _drain(self) -> None:
        for line in self.proc.stderr:
            self.lines.append(line.rstrip())
            if "listening on" in line:
                self._listening.set()

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise ProcessError(f"tcpdump did not start: {' / '.join(self.lines) or 'no output'}")

    def stop(self, timeout: float = 10.0) -> int:
        """Stop and return the number of packets captured."""
        if self.proc is None:
            raise ProcessError("tcpdump was not started")
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise ProcessError("tcpdump did not stop on SIGINT") from None
        time.sleep(0.05)   # let the drain thread read the summary lines
        text = "\n".join(self.lines)
        captured = re.search(r"(\d+) packets? captured", text)
        dropped = re.search(r"(\d+) packets? dropped by kernel", text)
        if self.proc.returncode != 0 or not captured:
            raise ProcessError(f"tcpdump failed ({self.proc.returncode}): {text}")
        if dropped and int(dropped[1]):
            raise ProcessError(f"tcpdump: the kernel dropped packets: {text}")
        return int(captured[1])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Agent:
    """netns_agent.py inside a namespace, pinned to one CPU; see that file for the protocol."""

    def __init__(self, netns: str, cpu: int):
        self.argv = ["ip", "netns", "exec", netns, sys.executable, str(AGENT_SCRIPT), str(cpu)]
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.call({"op": "ping"})

    def call(self, cmd: dict, grace_s: float = ANSWER_GRACE_S) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            raise ProcessError(f"agent is not running: {self._stderr()}")
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        # One line answers each command, so nothing is left buffered between calls
        # and select on the pipe sees the answer.
        wait_s = answer_wait_s(cmd, grace_s)
        if not select.select([self.proc.stdout], [], [], wait_s)[0]:
            what = cmd.get("sock_op") or cmd.get("op")
            raise ProcessError(f"agent: {what} on {cmd.get('h', '-')} did not return within {wait_s:g} s: "
                               "a blocking socket call that nothing before it in the scenario can end "
                               "(make it a _bg call, give it a timeout or MSG_DONTWAIT)")
        line = self.proc.stdout.readline()
        if not line:
            raise ProcessError(f"agent gave no answer to {cmd.get('op')}: {self._stderr()}")
        reply = json.loads(line)
        if not reply.get("ok"):
            raise ProcessError(f"agent: {cmd.get('op')} failed: {reply.get('error')}")
        return reply

    def send(self, iface: str, frame: bytes) -> None:
        self.call({"op": "send", "iface": iface, "frame": frame.hex()})

    def _stderr(self) -> str:
        if self.proc is not None and self.proc.poll() is not None:
            return self.proc.stderr.read().strip() or f"exit status {self.proc.returncode}"
        return "(still running)"

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                self.call({"op": "exit"}, grace_s=5)  # stuck in a socket call: killed below
                self.proc.wait(5)
            except (ProcessError, OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait()
        self.proc = None
