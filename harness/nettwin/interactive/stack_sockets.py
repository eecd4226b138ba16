"""Scapy's sockets on the tester's interface of an attached stack (attach.py puts
them in conf.L2socket, conf.L3socket and conf.L2listen): Scapy's own sr, srp,
send, sendp, sniff and automata run over them unchanged.

Each socket holds the frames the tap (tap.py) hands it, behind a pipe that is
readable while it holds any, so Scapy's select() and its automata's work on it.
Waiting, in the thread that attached, runs the virtual clock: with a timeout,
up to it (Scapy's loops read the stack's clock while attached); without one,
until a step of the clock brings nothing, and then recv() raises EOFError, which
ends Scapy's receive loop at once. In other threads a socket waits for frames."""
from __future__ import annotations

import os
import select
import threading
from collections import deque
from typing import Optional

from scapy.data import ETH_P_ALL, MTU
from scapy.interfaces import network_name
from scapy.layers.l2 import Ether
from scapy.packet import Packet
from scapy.supersocket import SuperSocket

from .pwru import PcapFilter
from .tap import NO_ROUTE, HostInterfaceError, current, wake_pipe

PASSIVE_WAIT_S = 0.05   # a waiting background thread looks again this often (stop(), timeouts)


def refuse(iface) -> HostInterfaceError:
    """The error for a socket on anything but the tester's interface."""
    tap = current()
    name = network_name(iface)
    if name == NO_ROUTE:
        return HostInterfaceError(f"no route to {tap.route.last_unrouted or 'that address'} in the stack's topology "
                                  f"(conf.route:\n{tap.route}\n); while nettwin is attached nothing leaves "
                                  f"through the host's interfaces")
    return HostInterfaceError(f"{name!r} is not the stack's tester interface {tap.iface!r}: while nettwin is "
                              f"attached nothing leaves through the host's interfaces (detach() first)")


class StackSocket(SuperSocket):
    """A packet socket on the tester's interface (conf.L2socket): frames out are
    injected into the DUT device's RX ring; frames in are those the stack sent."""
    desc = "the tester's end of a nettwin stack device's link"
    nonblocking_socket = True
    sees_outgoing = False          # like Linux's L2Socket: its own frames are not read back

    def __init__(self, iface=None, type: int = ETH_P_ALL, promisc=None, filter: Optional[str] = None,
                 nofilter: int = 0, monitor=None, **kw):
        self.tap = current()
        if iface is not None and network_name(iface) != self.tap.iface:
            raise refuse(iface)
        self.iface = self.tap.iface
        self.type = type
        self.filter = PcapFilter(filter) if filter and not nofilter else None
        self.owner = threading.current_thread()
        self.ins = self.outs = None
        self._held: deque = deque()
        self._ended = False
        self.empty_polls = 0           # select() calls on it (fileno()) that found it empty
        self._r, self._w = wake_pipe()
        self.tap.register(self)

    # ------------------------------------------------------------ frames in

    def deliver(self, data: bytes, time_s: float, outgoing: bool) -> bool:
        """The tap hands over a frame (under its lock); returns whether it took it."""
        if outgoing and not self.sees_outgoing:
            return False
        if self.type != ETH_P_ALL and int.from_bytes(data[12:14], "big") != self.type:
            return False
        if self.filter is not None and not self.filter.matches(data, "l2"):
            return False
        self._held.append((data, time_s))
        try:
            os.write(self._w, b"!")
        except BlockingIOError:
            pass   # readable already
        return True

    def ready(self) -> bool:
        return bool(self._held) or self._ended

    def holds(self) -> bool:
        return bool(self._held)

    def recv_raw(self, x: int = MTU):
        if not self._held:
            if self._ended:
                raise EOFError("the stack sent nothing more")
            return None, None, None
        data, time_s = self._held.popleft()
        try:
            os.read(self._r, 1)
        except BlockingIOError:
            pass
        return Ether, data, time_s

    def fileno(self) -> int:
        if not self._held:
            self.empty_polls += 1
        return self._r

    @staticmethod
    def select(sockets, remain=None):
        ours = [s for s in sockets if isinstance(s, StackSocket)]
        ready = [s for s in sockets if not isinstance(s, StackSocket) or s.ready()]
        if ready or not ours:
            return ready
        tap = ours[0].tap
        if not tap.drives_here():
            select.select(ours, [], [], PASSIVE_WAIT_S)
            tap.pull()
        elif remain is None:
            if not tap.step(None):
                for s in ours:
                    s._ended = s._ended or not s._held
        elif remain > 0:
            tap.step(int(remain * 1e9))
        return [s for s in ours if s.ready()]

    # ------------------------------------------------------------ frames out

    def send(self, x) -> int:
        data = bytes(x)
        self._ended = False
        t0 = self.tap.send([data])
        try:
            x.sent_time = t0 / 1e9
        except AttributeError:
            pass
        return len(data)

    def close(self):
        if self.closed:
            return
        self.closed = True
        if not hasattr(self, "_r"):
            return   # refused in __init__
        self.tap.unregister(self)
        os.close(self._r)
        os.close(self._w)
        if self.filter is not None:
            self.filter.close()


class StackListenSocket(StackSocket):
    """conf.L2listen: sniff's socket; it sees the tester's own frames too, as
    tcpdump on the tester's interface would."""
    desc = "listen on the tester's end of a nettwin stack device's link"
    sees_outgoing = True


class StackL3Socket(StackSocket):
    """conf.L3socket: IP packets routed by conf.route (the stack's topology), their
    Ethernet header filled in by Scapy (ARP through the stack); recv returns the
    layer above Ethernet, as Scapy's L3PacketSocket does."""
    desc = "layer 3 on the tester's end of a nettwin stack device's link"

    def send(self, x) -> int:
        if not isinstance(x, Packet):
            raise TypeError(f"send() takes a Scapy packet, not {type(x).__name__}")
        iface = x.route()[0]
        if iface is not None and network_name(iface) != self.tap.iface:
            raise refuse(iface)
        frame = Ether(src=self.tap.mac) / x
        sent = super().send(frame)
        x.sent_time = frame.sent_time
        return sent

    def recv(self, x: int = MTU, **kw):
        pkt = super().recv(x, **kw)
        if pkt is None:
            return None
        inner = pkt.payload
        inner.time = pkt.time
        return inner
