"""Scapy's srp, srp1 and sniff against one device of a stack, for a script that
does not attach for longer: each attaches for the call (attach.py) and runs
Scapy's own function on the tester's interface. StackSocket is the socket they
run over (stack_sockets.py)."""
from __future__ import annotations

from typing import Optional

from scapy.packet import Packet
from scapy.sendrecv import sniff as scapy_sniff
from scapy.sendrecv import srp as scapy_srp
from scapy.sendrecv import srp1 as scapy_srp1

from .attach import attached
from .stack_sockets import StackSocket

__all__ = ["StackSocket", "sniff", "srp", "srp1"]


def srp(stack, pkts, dev: str, **kw):
    """Scapy's srp against the stack's device dev: (answered, unanswered)."""
    with attached(stack, dev) as a:
        return scapy_srp(pkts, iface=a.iface, verbose=kw.pop("verbose", 0), **kw)


def srp1(stack, pkts, dev: str, **kw) -> Optional[Packet]:
    """Scapy's srp1 against the stack's device dev: the first answer, or None."""
    with attached(stack, dev) as a:
        return scapy_srp1(pkts, iface=a.iface, verbose=kw.pop("verbose", 0), **kw)


def sniff(stack, dev: str, **kw):
    """Scapy's sniff on the stack's device dev (the tester's side of its link)."""
    with attached(stack, dev) as a:
        return scapy_sniff(iface=a.iface, **kw)


