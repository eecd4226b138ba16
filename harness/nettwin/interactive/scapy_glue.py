"""Scapy's own send/receive machinery against the stack: a SuperSocket whose send
injects into a device's RX ring and whose recv reads that device's wire, driving
the virtual clock when nothing is waiting. When a step of the clock brings
nothing onto the wire, recv raises EOFError, which ends Scapy's sniff loop (and so sr/sr1)
at once instead of waiting out a wall-clock timeout. srp, srp1 and sniff are Scapy's
own, run over such a socket."""
from __future__ import annotations

from typing import Optional

from scapy.packet import Packet
from scapy.sendrecv import sniff as scapy_sniff
from scapy.supersocket import SuperSocket

from ..client import SETTLE_NS


class StackSocket(SuperSocket):
    desc = "nettwin stack device (inject into its RX ring, read its TX wire)"
    nonblocking_socket = True

    def __init__(self, stack, dev: str, step_ns: Optional[int] = SETTLE_NS):
        """dev: device to inject into and read from ("" reads every device's wire;
        then send() needs a device and refuses). step_ns: how far an empty read
        advances the clock before giving up (None: run until the stack is idle)."""
        self.stack = stack
        self.dev = dev
        self.iface = dev
        self.step_ns = step_ns
        self.ins = None
        self.outs = None
        self.promisc = True
        self._pending: list[Packet] = []

    def send(self, x) -> int:
        if not self.dev:
            raise ValueError("this StackSocket reads every device; open one on a device to send")
        data = bytes(x)
        self.stack.inject(self.dev, data)
        try:
            x.sent_time = self.stack.now() / 1e9
        except AttributeError:
            pass
        return len(data)

    def _fill(self):
        if self.step_ns:
            self.stack.advance(self.step_ns)
        else:
            self.stack.run_until_idle()
        self._pending.extend(self.stack.wire(self.dev or None))

    def recv(self, x: int = 65535) -> Packet:
        if not self._pending:
            self._fill()
        if not self._pending:
            raise EOFError("the stack sent nothing more")
        return self._pending.pop(0)

    def recv_raw(self, x: int = 65535):
        pkt = self.recv(x)
        return type(pkt), bytes(pkt), pkt.time

    @staticmethod
    def select(sockets, remain=None):
        # Never blocks: a read either finds a frame or drives the clock.
        return sockets

    def close(self):
        self.closed = True


def srp(stack, pkts, dev: str, **kw):
    """Scapy's srp against the stack: (answered, unanswered)."""
    with StackSocket(stack, dev) as s:
        return s.sr(pkts, verbose=kw.pop("verbose", 0), **kw)


def srp1(stack, pkts, dev: str, **kw) -> Optional[Packet]:
    """Scapy's srp1 against the stack: the first answer, or None."""
    with StackSocket(stack, dev) as s:
        return s.sr1(pkts, verbose=kw.pop("verbose", 0), **kw)


def sniff(stack, dev: Optional[str] = None, **kw):
    """Scapy's sniff over the wire, running the clock until the stack is idle."""
    with StackSocket(stack, dev or "") as s:
        return scapy_sniff(opened_socket=s, **kw)
