"""The tester's end of the link to a stack device, as Scapy's sockets see it
while attached (attach.py): the one reader of the stack's wire. A frame the
tester sends is injected into the device's RX ring; each frame the stack puts on
the wire goes to every open Scapy socket on the tester's interface, as a kernel
hands a frame to every packet socket. The tester answers ARP for its own
address, as its kernel would.

Who moves the virtual clock: the thread that attached (the user's). A send runs
the stack for an instant so its answers come out; a wait with a timeout (sniff,
sr) runs it up to the timeout. Scapy's background threads (AsyncSniffer, and
automata such as TCP_client) only wait for frames. Before the user's thread
moves the clock or calls the stack, those threads are let finish reacting to
what they were handed (settle_background), so a session runs the same way
every time, however the threads are scheduled."""
from __future__ import annotations

import contextlib
import os
import platform
import threading
import time
from collections import deque
from pathlib import Path
from typing import Optional

from scapy.layers.l2 import ARP, Ether

from ..client import SETTLE_NS

SEND_SETTLE_NS = 1_000           # a send runs the stack this long: it answers within the instant
ARP_ROUNDS = 8                   # answers to the stack's ARP requests within one clock step, at most
UNREAD_MAX = 100_000             # frames kept for wire() until read (the oldest go first)
UNHEARD_MAX = 1_000              # frames kept for a listening socket opened at the same instant
SETTLE_GUARD_S = 5.0             # how long a background thread may take to react before it is left out
# The system calls a thread sleeps in while it waits for a socket (x86_64, aarch64).
WAIT_SYSCALLS = {"x86_64": {"7", "23", "270", "271"}, "aarch64": {"72", "73"}}.get(platform.machine(), set())

# conf.route's interface for a destination outside the stack's topology.
NO_ROUTE = "nettwin-no-route"

_current: Optional["Tap"] = None


class NotAttached(RuntimeError):
    """A nettwin socket opened while no stack is attached."""


class HostInterfaceError(RuntimeError):
    """While a stack is attached, frames go only to the stack: a host interface
    or a destination outside the stack's topology is refused."""


def current() -> "Tap":
    if _current is None:
        raise NotAttached("no stack is attached: nettwin.scapy.attach(stack) first")
    return _current


def set_current(tap: Optional["Tap"]) -> None:
    global _current
    _current = tap


def _sleeping_in_wait(thread: threading.Thread) -> bool:
    """Whether the thread sleeps in select/poll (so it has taken every frame it waits for)."""
    task = Path(f"/proc/self/task/{thread.native_id}")
    try:
        state = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        call = (task / "syscall").read_text().split()[0]
    except (OSError, IndexError):
        return True   # the thread is gone
    return state == "S" and call in WAIT_SYSCALLS


class Tap:
    def __init__(self, stack, dev: str, iface: str, mac: str, ip: str, answer_arp: bool = True):
        self.stack = stack
        self.dev = dev
        self.iface = iface
        self.mac = mac
        self.ip = ip
        self.answer_arp = answer_arp
        self.driver = threading.current_thread()
        self.unread: deque = deque(maxlen=UNREAD_MAX)
        self.route = None              # attach.py's StackRoute, for the errors' wording
        self._sockets: list = []
        self._lock = threading.RLock()
        self._inside = threading.local()
        self._quiet_steps = 0
        self._frames_read = 0
        self._unheard: deque = deque(maxlen=UNHEARD_MAX)   # frames no socket took
        self.clock_ns = stack.now()    # the virtual time, as of the last call that could move it
        self._unsettled: set = set()   # background threads that never came to wait

    # ------------------------------------------------------------ who may do what

    def drives_here(self) -> bool:
        return threading.current_thread() is self.driver

    def inside(self) -> bool:
        """Whether this thread is inside one of the tap's own calls to the stack."""
        return getattr(self._inside, "depth", 0) > 0

    def _enter(self):
        self._lock.acquire()
        self._inside.depth = getattr(self._inside, "depth", 0) + 1

    def _leave(self):
        self._inside.depth -= 1
        self._lock.release()

    def register(self, sock) -> None:
        """A new socket. A listening one (sniff's) also gets the frames of this very
        instant of virtual time that no socket took: what the stack sent for a
        call the user just made (dut.sendto()) is at the instant the sniff
        starts, not before it."""
        with self._lock:
            self._sockets.append(sock)
            if sock.sees_outgoing:
                for data, time_ns, outgoing in self._unheard:
                    if time_ns >= self.clock_ns:
                        sock.deliver(data, time_ns / 1e9, outgoing)

    def unregister(self, sock) -> None:
        with self._lock:
            if sock in self._sockets:
                self._sockets.remove(sock)

    def settle_background(self) -> None:
        """Wait until each background thread with a socket on the tap has taken and
        answered what it was handed: it sleeps waiting (select/poll), or it has
        come back twice since to poll its sockets and found them empty (Scapy
        2.5's automata poll without sleeping; twice, as the first may have begun
        before what it was handed)."""
        if not self.drives_here() or self.inside():
            return
        start: dict = {}
        deadline = time.monotonic() + SETTLE_GUARD_S
        while True:
            threads: dict = {}
            with self._lock:
                for s in self._sockets:
                    if s.owner is not self.driver and s.owner.is_alive() and s.owner not in self._unsettled:
                        threads.setdefault(s.owner, []).append(s)
            busy = []
            for owner, socks in threads.items():
                if _sleeping_in_wait(owner):
                    continue
                polled = [s for s in socks if s.empty_polls - start.setdefault(s, s.empty_polls) >= 2]
                if not polled or any(s.holds() for s in polled):
                    busy.append(owner)
            if not busy:
                return
            if time.monotonic() > deadline:
                self._unsettled.update(busy)   # it never waits on the tap: stop waiting for it
                return
            time.sleep(0.0005)

    # ------------------------------------------------------------ the stack's clock and wire

    def refresh_clock(self) -> int:
        self.clock_ns = self.stack.now()
        return self.clock_ns

    @contextlib.contextmanager
    def _operation(self):
        """One of the tap's operations on the stack: under its lock; in the
        attaching thread, Scapy's background threads settle before and after."""
        self.settle_background()
        self._enter()
        try:
            yield
        finally:
            self._leave()
        self.settle_background()

    def send(self, frames: list, settle_ns: int = SEND_SETTLE_NS, dev: Optional[str] = None) -> int:
        """Inject frames (bytes) into dev's RX ring (default: the tester's device),
        show them to the listening sockets as the tester's outgoing frames, and run
        the stack settle_ns. Returns the virtual time of the injection (ns)."""
        with self._operation():
            t0 = self.clock_ns
            self.stack.inject(dev or self.dev, frames)
            if (dev or self.dev) == self.dev:
                for data in frames:
                    self._deliver(data, t0, outgoing=True)
            self._run(settle_ns)
        return t0

    def advance(self, ns: int) -> int:
        """Run the stack ns of virtual time and hand out what it sent; returns the time."""
        with self._operation():
            self._run(ns)
        return self.clock_ns

    def step(self, remain_ns: Optional[int]) -> bool:
        """One wait step of a receive: runs the clock up to remain_ns (None: one
        settle step), a short step after the stack last sent and doubling while it
        is quiet. Returns whether the stack sent anything."""
        if remain_ns is None:
            ns = SETTLE_NS
        else:
            ns = max(1, min(remain_ns, 1_000_000 << min(self._quiet_steps, 10)))
        with self._operation():
            before = self._frames_read
            self._run(ns)
            got = self._frames_read != before
        self._quiet_steps = 0 if got else self._quiet_steps + 1
        return got

    def pull(self) -> None:
        """Hand out what is on the wire now, without moving the clock."""
        with self._operation():
            self._pull()

    def wire(self) -> list:
        """Every frame the stack sent that wire() and taken() have not returned (every device)."""
        self.pull()
        with self._lock:
            frames = list(self.unread)
            self.unread.clear()
        return frames

    def frames_read(self) -> int:
        """How many frames the tap has read off the wire so far (a mark for taken())."""
        return self._frames_read

    def taken(self, mark: int) -> list:
        """The frames read since frames_read() was mark, out of those wire() returns."""
        with self._lock:
            count = min(self._frames_read - mark, len(self.unread))
            frames = [self.unread.pop() for _ in range(count)]
        return frames[::-1]

    def _run(self, ns: int) -> int:
        self.clock_ns = self.stack.advance(ns)
        for _ in range(ARP_ROUNDS):
            if not self._pull():
                break
            self.clock_ns = self.stack.advance(0)   # the stack takes the tester's ARP answers at once
        return self.clock_ns

    def _pull(self) -> int:
        """Read the wire; returns how many ARP answers the tester injected."""
        answered = 0
        for pkt in self.stack.wire():
            self._frames_read += 1
            self.unread.append(pkt)
            if pkt.sniffed_on != self.dev:
                continue
            self._deliver(bytes(pkt), pkt.time_ns, outgoing=False)
            if self.answer_arp and ARP in pkt and pkt[ARP].op == 1 and pkt[ARP].pdst == self.ip:
                req = pkt[ARP]
                reply = bytes(Ether(src=self.mac, dst=req.hwsrc)
                              / ARP(op=2, hwsrc=self.mac, psrc=self.ip, hwdst=req.hwsrc, pdst=req.psrc))
                self.stack.inject(self.dev, reply)
                self._deliver(reply, pkt.time_ns, outgoing=True)
                answered += 1
        return answered

    def _deliver(self, data: bytes, time_ns: int, outgoing: bool) -> None:
        heard = False
        for sock in list(self._sockets):
            heard = sock.deliver(data, time_ns / 1e9, outgoing) or heard
        if not heard:
            self._unheard.append((data, time_ns, outgoing))


def wake_pipe() -> tuple[int, int]:
    """A pipe whose read end is readable while a socket holds frames (for select)."""
    r, w = os.pipe()
    os.set_blocking(r, False)
    os.set_blocking(w, False)
    return r, w
