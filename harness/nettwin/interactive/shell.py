"""`nettwin shell`: an interactive Python session with a connected stack in the
default topology, Scapy's names imported and Scapy attached to the stack as the
tester (attach.py). IPython at a terminal (completion, history), else Python's
own console; works with commands piped on stdin."""
from __future__ import annotations

import argparse
import builtins
import code
import os
import signal
import sys
import textwrap
from pathlib import Path

from ..client import Stack
from ..scenarios.model import DUT_CIDR, DUT_DEV, DUT_MAC, TESTER_IFACE, TESTER_IP, TESTER_MAC
from .console import TerminalConsole
from .session import Session

WIDTH = 100

BANNER = f"""nettwin shell: a stack with {DUT_DEV} {DUT_MAC} {DUT_CIDR}; you are the tester
{TESTER_IFACE} {TESTER_MAC} {TESTER_IP}. Scapy's own functions reach the stack (nothing leaves the host):
  sr1(IP(dst="198.51.100.2")/ICMP())      srp1(Ether()/ARP(pdst="198.51.100.2"))
  sniff(count=2, timeout=1)               TCP_client.tcplink(Raw, "198.51.100.2", PORT)
  Time is the stack's, virtual: sniff(timeout=5) runs it 5 s and returns at once.
  ping()        ARP then ICMP echo from the tester 198.51.100.1, answers as Scapy packets
  path()        the last inject()'s skb path in pwru's layout, drop reasons inline
  help()        every nettwin verb and Scapy's commands; help(x): help on x"""


def _first_line(obj) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.split("\n\n")[0].replace("\n", " ") if doc else ""


class ShellHelp:
    """help(): nettwin's verbs and Scapy's commands; help(x): Python's help on x."""

    def __init__(self, verbs: dict):
        self.verbs = verbs

    def __call__(self, *args, **kw):
        if args or kw:
            return builtins.help(*args, **kw)
        print(self.text())

    def __repr__(self):
        return "Type help() for nettwin's verbs and Scapy's commands, or help(x) for help on x."

    def text(self) -> str:
        from scapy.config import conf
        lines = ["nettwin:"]
        for name, obj in self.verbs.items():
            lines += textwrap.wrap(_first_line(obj), WIDTH, initial_indent=f"  {name:<15} ",
                                   subsequent_indent=" " * 18, max_lines=2, placeholder=" ...")
        lines += ["", "Scapy's commands, its own, against the stack while attached (help(sr1), lsc()):"]
        names = sorted({f.__name__ for f in conf.commands} | {"AsyncSniffer", "TCP_client"},
                       key=str.lower)
        lines += textwrap.wrap(" ".join(names), WIDTH, initial_indent="  ", subsequent_indent="  ")
        lines += ["", "Layers: ls() lists them, ls(TCP) one's fields; explore() browses them."]
        return "\n".join(lines)


def namespace(session: Session) -> dict:
    ns = {}
    exec("from scapy.all import *", ns)  # the names a Scapy user expects
    stack = session.stack

    def path(tracepoints: bool = False, skb: bool = False):
        """The last inject()'s skb path in pwru's layout within 100 columns, drop
        reasons inline (tracepoints=True: with Linux's tracepoints; skb=True: each skb's state)."""
        print(session.path(tracepoints, skb))

    verbs = {
        "inject": session.inject, "ping": session.ping, "arp": session.arp, "path": path,
        "wire": session.wire, "advance": session.advance, "run_until_idle": stack.run_until_idle,
        "now": stack.now, "counters": stack.counters, "sysctl": stack.sysctl, "stack": stack,
        "session": session, "attachment": session.attachment,
    }
    ns.update(verbs)
    ns["help"] = ShellHelp(verbs)
    return ns


def history_file() -> Path:
    """Where IPython keeps the shell's history (XDG's state folder)."""
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state")
    folder = base / "nettwin"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "shell_history.sqlite"


def run_ipython(ns: dict) -> bool:
    """IPython with the namespace, its completion and a history of its own;
    False if IPython is not installed."""
    try:
        from IPython import start_ipython
        from IPython.terminal.prompts import Prompts, Token
        from traitlets.config import Config
    except ImportError:
        return False

    class NettwinPrompts(Prompts):
        def in_prompt_tokens(self):
            return [(Token.Prompt, "nettwin ["), (Token.PromptNum, str(self.shell.execution_count)),
                    (Token.Prompt, "]: ")]

    config = Config()
    config.TerminalInteractiveShell.banner1 = BANNER + "\n"
    config.TerminalInteractiveShell.prompts_class = NettwinPrompts
    config.TerminalInteractiveShell.confirm_exit = False
    config.HistoryManager.hist_file = str(history_file())
    start_ipython(argv=[], user_ns=ns, config=config)
    return True


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nettwin shell", description=__doc__)
    ap.add_argument("--address", help="attach to a running nettwin-server (unix:/path or host:port)")
    ap.add_argument("--kind", default="ring", choices=["ring", "veth"], help="DUT device kind")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--plain", action="store_true", help="Python's own console even where IPython is installed")
    args = ap.parse_args(argv)
    with Stack(address=args.address) as stack:
        session = Session(stack, kind=args.kind, seed=args.seed)
        try:
            ns = namespace(session)
            # Piped stdin: no prompt noise between the outputs a script reads.
            if not sys.stdin.isatty():
                sys.ps1 = sys.ps2 = ""
                code.InteractiveConsole(ns).interact(banner=BANNER, exitmsg="")
                return 0
            # At a terminal Ctrl-C interrupts, even when whatever started the shell
            # ignored SIGINT (a non-interactive shell's background list does, and
            # Python then leaves it ignored).
            signal.signal(signal.SIGINT, signal.default_int_handler)
            if args.plain or not run_ipython(ns):
                sys.ps1, sys.ps2 = "nettwin>>> ", "nettwin... "
                TerminalConsole(ns).interact(banner=BANNER, exitmsg="")
        finally:
            session.close()
    return 0
