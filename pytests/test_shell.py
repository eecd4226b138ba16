"""`nettwin shell` driven with commands piped on stdin: ping the stack, print the
skb path, and see the echo reply as a Scapy packet."""
from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import time
from pathlib import Path

SCRIPT = """\
arp_answers = inject(Ether(src="02:00:00:00:01:01", dst="ff:ff:ff:ff:ff:ff")/ARP(hwsrc="02:00:00:00:01:01", psrc="198.51.100.1", pdst="198.51.100.2"))
print("ARP-ANSWER", arp_answers[0].summary())
answers = inject(Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")/IP(src="198.51.100.1", dst="198.51.100.2")/ICMP(id=0x1234, seq=9)/b"from-the-shell")
print("BEGIN-PATH")
path()
print("END-PATH")
reply = answers[0]
print("REPLY", reply[IP].src, reply[IP].dst, reply[ICMP].type, hex(reply[ICMP].id), reply[ICMP].seq, bytes(reply[Raw].load))
"""


def run_shell(nettwin_cmd, env, script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(nettwin_cmd + ["shell", *args], input=script, capture_output=True,
                          text=True, env=env, timeout=120)


def test_shell_pings_and_prints_the_skb_path(nettwin_cmd, harness_env):
    done = run_shell(nettwin_cmd, harness_env, SCRIPT)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Traceback" not in out + done.stderr, out + done.stderr
    assert "ARP-ANSWER Ether / ARP is at 02:00:00:00:01:02 says 198.51.100.2" in out, out
    header, *path = out.split("BEGIN-PATH\n", 1)[1].split("END-PATH", 1)[0].splitlines()
    assert header.split() == ["TIME(ms)", "SKB", "FUNCTION", "LEN", "TUPLE"], header
    functions = [line.split()[2] for line in path]
    # The echo request's way in, in Linux's order, then the reply's way out.
    # (a ring NIC: e1000's way up is napi_gro_receive, not netif_receive_skb)
    wanted = ["e1000_clean_rx_irq", "napi_gro_receive", "__netif_receive_skb_core", "ip_rcv",
              "ip_rcv_finish", "ip_local_deliver", "icmp_rcv", "dev_queue_xmit", "e1000_xmit_frame"]
    positions = [functions.index(f) for f in wanted if f in functions]
    assert len(positions) == len(wanted), f"path misses some of {wanted}:\n" + "\n".join(path)
    assert positions == sorted(positions), "\n".join(path)
    # One line per transition within 100 columns, pwru's layout: the echo request's
    # tuple on its skb's lines, the reply's on the reply's.
    assert all(len(line) <= 100 for line in path), "\n".join(path)
    assert "198.51.100.1->198.51.100.2(icmp 8/0)" in path[functions.index("icmp_rcv")]
    assert "198.51.100.2->198.51.100.1(icmp 0/0)" in path[functions.index("e1000_xmit_frame")]
    assert "REPLY 198.51.100.2 198.51.100.1 0 0x1234 9 b'from-the-shell'" in out, out


def test_shell_reports_errors_and_keeps_going(nettwin_cmd, harness_env):
    script = 'inject(Ether()/IP(), dev="nosuchdev")\nprint("STILL-HERE", len(stack.devices()))\n'
    done = run_shell(nettwin_cmd, harness_env, script, "--kind", "veth")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "StackError" in done.stderr and "nosuchdev" in done.stderr, done.stderr
    assert "STILL-HERE 1" in done.stdout, done.stdout


# ------------------------------------------------ Ctrl-C at a terminal

GUARD_S = 60  # a hang guard only


class Terminal:
    """The shell on a pseudo-terminal of its own (pty.fork: a new session whose
    controlling terminal is the pty), so a Ctrl-C written to it is a real SIGINT
    for the terminal's foreground process group."""

    def __init__(self, argv, env, sigint=signal.SIG_DFL):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            # What the shell inherits: a job in a non-interactive shell's background
            # list (how CI jobs often run) starts with SIGINT ignored.
            signal.signal(signal.SIGINT, sigint)
            os.execve(argv[0], argv, env)
        self.seen = b""
        self.transcript = b""  # everything, for failure messages

    def send(self, data: bytes):
        os.write(self.fd, data)

    def expect(self, marker: bytes) -> bytes:
        """Read until marker appears after what was matched before; return the text up to it."""
        deadline = time.monotonic() + GUARD_S
        while marker not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} from the shell; it printed:\n{self.transcript.decode(errors='replace')}"
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.fd, 4096)
                except OSError:
                    chunk = b""
                assert chunk, f"the shell ended before {marker!r}:\n{self.seen.decode(errors='replace')}"
                self.seen += chunk
                self.transcript += chunk
        before, self.seen = self.seen.split(marker, 1)
        return before

    def at_prompt(self):
        """Wait for the prompt, then until the shell sleeps reading the terminal: a
        Ctrl-C sent between the prompt and that read is noticed only at the next
        key (CPython's input(), in any Python REPL)."""
        self.expect(PROMPT)
        deadline = time.monotonic() + GUARD_S
        while not self._reading():
            assert time.monotonic() < deadline, "the shell does not wait for input"
            time.sleep(0.01)

    def _reading(self) -> bool:
        state = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        call = Path(f"/proc/{self.pid}/syscall").read_text().split()[0]
        return state == "S" and call in INPUT_SYSCALLS

    def kill(self):
        """Whatever happened: the shell is gone (SIGKILL) and reaped."""
        if self.pid:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass

    def wait(self) -> int:
        """Read what the shell prints until it ends (EIO on Linux), then reap it."""
        deadline = time.monotonic() + GUARD_S
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.1)
            try:
                if ready and not os.read(self.fd, 4096):
                    break
            except OSError:
                break
        else:
            raise AssertionError("the shell did not exit")
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


PROMPT = b"nettwin>>> "
INPUT_SYSCALLS = {"0", "7", "23", "270", "271"}  # x86_64 read, poll, select, pselect6, ppoll
ECHO = ('Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")'
        '/IP(src="198.51.100.1", dst="198.51.100.2")/ICMP()')


def test_ctrl_c_interrupts_a_shell_started_with_sigint_ignored(nettwin_cmd, harness_env):
    """An ignored SIGINT is inherited through exec, and Python then leaves it ignored:
    the shell takes it back at a terminal, so Ctrl-C still interrupts."""
    term = Terminal(nettwin_cmd + ["shell", "--kind", "veth", "--plain"], harness_env, sigint=signal.SIG_IGN)
    try:
        term.at_prompt()
        term.send(b"\x03")
        term.expect(b"KeyboardInterrupt")
        term.expect(PROMPT)
        term.send(b"\x04")
        assert term.wait() == 0
    finally:
        term.kill()


def test_ctrl_c_interrupts_the_call_and_the_stack_lives_on(nettwin_cmd, harness_env):
    term = Terminal(nettwin_cmd + ["shell", "--kind", "veth", "--plain"], harness_env)
    try:
        term.at_prompt()
        # At the prompt: the line is dropped, the shell and the server stay.
        term.send(b"\x03")
        term.expect(b"KeyboardInterrupt")
        term.expect(PROMPT)
        # During a call: a hook that holds the frame keeps inject() waiting in gRPC.
        term.send(b"import threading; gate = threading.Event()\n")
        term.expect(PROMPT)
        term.send(b'h = stack.hook("PRE_ROUTING", lambda p: (print("IN" "-HOOK", flush=True), '
                  b'gate.wait(), None)[2], timeout_ms=60000)\n')
        term.expect(PROMPT)
        term.send(f"inject({ECHO})\n".encode())
        term.expect(b"IN-HOOK")
        term.send(b"\x03")
        term.expect(b"KeyboardInterrupt")
        term.expect(PROMPT)
        term.send(b'gate.set(); h.close(); print("ALIVE" , len(stack.devices()), stack.server.proc.poll())\n')
        term.expect(b"ALIVE 1 None")
        term.expect(PROMPT)
        term.send(b'print("ANSWER", [p[ICMP].type for p in ping() if ICMP in p])\n')
        term.expect(b"ANSWER [0")
        term.expect(PROMPT)
        term.send(b"\x04")  # end of input: the shell closes its stack and exits
        assert term.wait() == 0
    finally:
        term.kill()


def _tgkill(tgid: int, tid: int, sig: int):
    """SIGINT to one thread of the shell (tgkill, x86_64 syscall 234)."""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.syscall(234, tgid, tid, sig) != 0:
        raise OSError(ctypes.get_errno(), f"tgkill({tgid}, {tid}, {sig})")


def test_ctrl_c_taken_by_a_grpc_thread_still_interrupts_the_prompt(nettwin_cmd, harness_env):
    """The terminal's SIGINT may be taken by any thread; under load a gRPC thread
    being born takes it while the main thread sleeps reading the terminal. Sent here
    to a gRPC thread on purpose: the prompt must still raise KeyboardInterrupt."""
    term = Terminal(nettwin_cmd + ["shell", "--kind", "veth", "--plain"], harness_env)
    try:
        term.at_prompt()
        grpc_threads = [int(t) for t in os.listdir(f"/proc/{term.pid}/task")
                        if Path(f"/proc/{term.pid}/task/{t}/comm").read_text().strip() != "python3"]
        assert grpc_threads, "the shell has no gRPC thread"
        _tgkill(term.pid, grpc_threads[0], signal.SIGINT)
        term.expect(b"KeyboardInterrupt")
        term.expect(PROMPT)
        term.send(b'print("AFTER", len(stack.devices()))\n')
        term.expect(b"AFTER 1")
        term.expect(PROMPT)
        term.send(b"\x04")
        assert term.wait() == 0
    finally:
        term.kill()


def test_path_shows_a_drop_reason_inline(nettwin_cmd, harness_env):
    script = ('inject(Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")/IP(src="198.51.100.1", '
              'dst="198.51.100.2")/UDP(sport=5000, dport=9))\nprint("BEGIN-PATH")\npath()\nprint("END-PATH")\n')
    done = run_shell(nettwin_cmd, harness_env, script)
    assert done.returncode == 0, done.stdout + done.stderr
    path = done.stdout.split("BEGIN-PATH\n", 1)[1].split("END-PATH", 1)[0].splitlines()
    drops = [line for line in path if "drop: " in line]
    assert len(drops) == 1 and drops[0].endswith("drop: NO_SOCKET"), "\n".join(path)
    assert any("198.51.100.1:5000->198.51.100.2:9(udp)" in line for line in path), "\n".join(path)
    assert all(len(line) <= 100 for line in path), "\n".join(path)


def test_path_keeps_a_long_tuple_and_a_long_reason_within_100_columns(nettwin_cmd, harness_env):
    """A TCP segment to a closed port from high ports: the tuple and the reason
    do not both fit; the reason stays on the drop line, the tuple on the others."""
    script = ('inject(Ether(dst="02:00:00:00:01:02")/IP(dst="198.51.100.2")/TCP(sport=65000, dport=65001, '
              'flags="A"))\nprint("BEGIN-PATH")\npath(True)\nprint("END-PATH")\n')
    done = run_shell(nettwin_cmd, harness_env, script)
    assert done.returncode == 0, done.stdout + done.stderr
    path = done.stdout.split("BEGIN-PATH\n", 1)[1].split("END-PATH", 1)[0].splitlines()
    assert all(len(line) <= 100 for line in path), "\n".join(line for line in path if len(line) > 100)
    drops = [line for line in path if "drop: " in line]
    assert drops and drops[0].split()[-1] == "drop: NO_SOCKET".split()[-1], "\n".join(path)
    assert any("198.51.100.1:65000->198.51.100.2:65001(tcp)" in line for line in path), "\n".join(path)


def test_scapy_functions_reach_the_stack_from_the_shell(nettwin_cmd, harness_env):
    script = ('r = sr1(IP(dst="198.51.100.2")/ICMP(seq=5), timeout=1, verbose=0)\n'
              'print("SR1", r.src, r.dst, r[ICMP].type, r[ICMP].seq)\n'
              'print("SNIFF", len(sniff(timeout=30)), now() >= 30 * 10**9)\n'
              'help()\n')
    done = run_shell(nettwin_cmd, harness_env, script)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stdout + done.stderr
    assert "SR1 198.51.100.2 198.51.100.1 0 5" in done.stdout
    assert "SNIFF" in done.stdout and done.stdout.split("SNIFF", 1)[1].split()[1] == "True"
    helptext = done.stdout.split("nettwin:\n", 1)[1]
    assert all(len(line) <= 100 for line in helptext.splitlines())
    for verb in ("inject", "ping", "path", "wire", "advance", "attachment"):
        assert f"\n  {verb} " in "\n" + helptext, verb
    for command in ("sr1", "srp1", "sniff", "sendp", "traceroute", "AsyncSniffer", "TCP_client"):
        assert f" {command} " in helptext.replace("\n", " "), command


def test_ipython_at_a_terminal_completes_runs_and_keeps_history(nettwin_cmd, harness_env, tmp_path):
    env = dict(harness_env, XDG_STATE_HOME=str(tmp_path / "state"), HOME=str(tmp_path), TERM="xterm")
    term = Terminal(nettwin_cmd + ["shell", "--kind", "veth"], env)
    try:
        term.expect(b"nettwin [")             # IPython's prompt, in colours
        term.expect(b"]: ")
        term.send(b"attachm\t")               # IPython completes the shell's names
        term.expect(b"attachment")
        term.send(b"\x15")                     # clear the line
        term.send(b'print("SR1", sr1(IP(dst="198.51.100.2")/ICMP(), timeout=1, verbose=0)[ICMP].type)\r')
        term.expect(b"SR1 0")
        term.expect(b"nettwin [")
        term.send(b"\x04")
        assert term.wait() == 0
    finally:
        term.kill()
    import sqlite3
    history = tmp_path / "state" / "nettwin" / "shell_history.sqlite"
    with sqlite3.connect(history) as db:
        sources = [row[0] for row in db.execute("SELECT source_raw FROM history")]
    assert any("sr1(IP(dst=" in s for s in sources), sources
