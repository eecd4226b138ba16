"""`nettwin shell`: an interactive Python session with a connected stack in the
default topology and Scapy's names imported. Works with commands piped on stdin."""
from __future__ import annotations

import argparse
import code
import sys

from ..client import Stack
from ..scenarios.model import DUT_CIDR, DUT_DEV, DUT_MAC
from . import scapy_glue
from .console import TerminalConsole
from .session import Session

BANNER = f"""nettwin shell: a stack with {DUT_DEV} {DUT_MAC} {DUT_CIDR}; Scapy's names are imported.
  inject(Ether(dst="{DUT_MAC}")/IP(dst="198.51.100.2")/ICMP())   inject a frame, run the clock
                10 ms (virtual), get the frames the stack sent
  ping()        ARP then ICMP echo from the tester 198.51.100.1
  path()        the last frame's skb path in pwru's layout, drop reasons inline
                (path(True): with tracepoints; path(skb=True): each skb's state too)
  wire()        frames on the wire not read yet; advance(ns), run_until_idle(), now(),
                counters(), sysctl(name[, value])
  srp1(pkt), srp(pkts)   Scapy's srp1/srp against the stack ({DUT_DEV}; dev="..." for another)
  stack         the client (nettwin.client.Stack): subscribe(), stream(), hook(), ...
  session       the session: .answers, .last_events"""


def namespace(session: Session) -> dict:
    ns = {}
    exec("from scapy.all import *", ns)  # the names a Scapy user expects
    stack = session.stack

    def path(tracepoints: bool = False, skb: bool = False):
        print(session.path(tracepoints, skb))

    ns.update(
        stack=stack, session=session, inject=session.inject, path=path, wire=session.wire,
        ping=session.ping, arp=session.arp, advance=stack.advance, now=stack.now,
        run_until_idle=stack.run_until_idle,
        counters=stack.counters, sysctl=stack.sysctl,
        srp1=lambda pkt, dev=session.dev, **kw: scapy_glue.srp1(stack, pkt, dev, **kw),
        srp=lambda pkt, dev=session.dev, **kw: scapy_glue.srp(stack, pkt, dev, **kw),
    )
    return ns


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="nettwin shell", description=__doc__)
    ap.add_argument("--address", help="attach to a running nettwin-server (unix:/path or host:port)")
    ap.add_argument("--kind", default="ring", choices=["ring", "veth"], help="DUT device kind")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    with Stack(address=args.address) as stack:
        session = Session(stack, kind=args.kind, seed=args.seed)
        # Piped stdin: no prompt noise between the outputs a script reads.
        if not sys.stdin.isatty():
            console = code.InteractiveConsole(namespace(session))
            sys.ps1 = sys.ps2 = ""
        else:
            console = TerminalConsole(namespace(session))
            sys.ps1, sys.ps2 = "nettwin>>> ", "nettwin... "
        console.interact(banner=BANNER, exitmsg="")
        session.close()
    return 0
