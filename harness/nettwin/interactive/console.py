"""The shell's console at a terminal: it waits for a line and for signals at once.

The terminal's SIGINT goes to the whole process, and the kernel may hand it to any
thread that does not block it: gRPC starts threads of its own at any time (a timer
thread just being born takes it readily when the machine is loaded). Python runs
the KeyboardInterrupt handler only in the main thread, and the kernel restarts the
main thread's read() of the terminal when another thread took the signal, so
input() would sleep on until the next key. Python's signal wakeup pipe is written
by whichever thread took the signal; waiting on it as well as on the terminal
wakes the main thread, which then runs the handler."""
from __future__ import annotations

import code
import os
import select
import signal
import sys


class TerminalConsole(code.InteractiveConsole):
    """code.InteractiveConsole whose input() is select() on the terminal and on
    the signal wakeup pipe. The terminal is in canonical mode: one read is one line."""

    def __init__(self, local: dict):
        super().__init__(local)
        self._wakeup, writer = os.pipe()
        os.set_blocking(self._wakeup, False)
        os.set_blocking(writer, False)  # the signal handler must never block
        signal.set_wakeup_fd(writer, warn_on_full_buffer=False)

    def raw_input(self, prompt: str = "") -> str:
        sys.stdout.write(prompt)
        sys.stdout.flush()
        stdin = sys.stdin.fileno()
        while True:
            ready, _, _ = select.select([stdin, self._wakeup], [], [])
            if self._wakeup in ready:
                # Reading takes the GIL back, and with it the main thread runs the
                # pending handler before its next bytecode: Ctrl-C raises here.
                os.read(self._wakeup, 512)
            if stdin in ready:
                data = os.read(stdin, 65536)
                if not data:
                    raise EOFError
                return data.decode(sys.stdin.encoding or "utf-8", "replace").rstrip("\n")
