"""Scapy, unchanged, against a stack: attach(stack) makes the stack's device the
far end of Scapy's own interface. It points conf.L2socket, conf.L3socket,
conf.L2listen, conf.iface and conf.route at the tester's side of the device's
link (stack_sockets.py, tap.py), so Scapy's sr, sr1, srp, srp1, send, sendp,
sniff, AsyncSniffer, automata (TCP_client) and traceroute work as written, with
the tester's MAC and address filled in; conf.route holds the stack's subnets only.
While attached nothing leaves through the host's interfaces: a socket on one of
them, or a packet to an address outside the stack's topology, is an error
(HostInterfaceError). Time is the stack's: Scapy's send/receive loops and
automata read its virtual clock, so sniff(timeout=5) runs the stack 5 s and
returns at once. detach() puts everything back.

Calls the user's thread makes on the stack directly (stack.advance(),
stack.accept(), ...) first let Scapy's background threads finish reacting, and
the frames they make the stack send go to Scapy's sockets too."""
from __future__ import annotations

import contextlib
import errno
import ipaddress
import time as real_time
from typing import Optional

import scapy.arch
import scapy.automaton
import scapy.sendrecv
from scapy.config import conf
from scapy.data import ARPHDR_ETHER
from scapy.interfaces import InterfaceProvider, NetworkInterface, network_name
from scapy.packet import Packet
from scapy.route import Route
from scapy.utils import atol, itom, mac2str

from ..client import SETTLE_NS
from ..scenarios.model import DUT_DEV, TESTER_IFACE, TESTER_IP, TESTER_MAC
from . import tap as tap_mod
from .stack_sockets import PASSIVE_WAIT_S, StackL3Socket, StackListenSocket, StackSocket
from .tap import NO_ROUTE, HostInterfaceError, NotAttached, Tap

# Calls on the stack after which nothing new can be on the wire.
QUIET_CALLS = {"Control.Now", "Nic.ReadWire", "Trace.Read"}
STOP_STEP_NS = 100_000_000  # an automaton's stop() runs the clock in steps of 100 ms...
STOP_STEP_WAIT_S = 2 * PASSIVE_WAIT_S   # ...each after the automaton had time to look at the clock

_attachment: Optional["Attachment"] = None


def _refuse_sends_on_closed_pipes() -> None:
    """Scapy 2.5's ObjectPipe.send writes b"X" to its descriptor even after close().
    An automaton's socket closes its pipes, and the garbage collector's later
    Automaton.__del__ stop()s it again: that "X" went into whatever file had reused
    the descriptor's number by then (a pcap being written; seen in the test suite).
    A send on a closed pipe raises EBADF instead, which stop() already expects."""
    send = scapy.automaton.ObjectPipe.send
    if getattr(send, "nettwin_guarded", False):
        return

    def guarded_send(self, obj):
        if self.closed:
            raise OSError(errno.EBADF, f"{self.name} is closed")
        return send(self, obj)

    guarded_send.nettwin_guarded = True
    scapy.automaton.ObjectPipe.send = guarded_send


_refuse_sends_on_closed_pipes()


class StackRoute(Route):
    """conf.route while attached: the tester's subnet on its interface, the
    stack's other subnets through the DUT; nothing else (no default route)."""

    def __init__(self, tap: Tap):
        self.tap = tap
        self.last_unrouted: Optional[str] = None
        super().__init__()

    def resync(self):
        self.invalidate_cache()
        self.routes = stack_routes(self.tap)

    def route(self, dst=None, verbose=conf.verb):
        found = super().route(dst, verbose=0)
        if found == (conf.loopback_name, "0.0.0.0", "0.0.0.0"):
            self.last_unrouted = dst
            return NO_ROUTE, "0.0.0.0", "0.0.0.0"
        return found


def stack_routes(tap: Tap) -> list:
    """Scapy's route tuples (net, mask, gateway, iface, source, metric) for the stack's topology."""
    devices = {d.config.name: list(d.addresses) for d in tap.stack.devices()}
    if tap.dev not in devices:
        raise ValueError(f"the stack has no device {tap.dev!r} (it has {', '.join(devices) or 'none'})")
    tester = ipaddress.ip_address(tap.ip)
    link = [ipaddress.ip_interface(a) for a in devices[tap.dev]]
    on_link = [a for a in link if tester in a.network and a.ip != tester]
    if not on_link:
        raise ValueError(f"the tester's address {tap.ip} is in no subnet of {tap.dev} "
                         f"({', '.join(devices[tap.dev]) or 'no address'}): attach(..., ip=...) one that is")
    gateway = str(on_link[0].ip)
    routes = []
    for dev, addresses in devices.items():
        for a in map(ipaddress.ip_interface, addresses):
            if a.version != 4:
                continue
            via = "0.0.0.0" if dev == tap.dev else gateway
            routes.append((atol(str(a.network.network_address)), itom(a.network.prefixlen), via, tap.iface,
                           tap.ip, 1))
    return routes


class StackInterfaceProvider(InterfaceProvider):
    """conf.ifaces' source for the tester's interface: its sockets are the stack's."""
    name = "nettwin"

    def __init__(self, interface: NetworkInterface):
        self.interface = interface

    def load(self):
        return {self.interface.name: self.interface}

    def l2socket(self):
        return StackSocket

    def l2listen(self):
        return StackListenSocket

    def l3socket(self):
        return StackL3Socket

    def _is_valid(self, dev):
        return True


class VirtualTime:
    """Stands in for the time module in Scapy's send/receive loops and automata:
    time() is the stack's clock; sleep() in the attaching thread runs it."""

    def __init__(self, tap: Tap):
        self.tap = tap

    def time(self) -> float:
        return self.tap.clock_ns / 1e9

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            if self.tap.drives_here():
                self.tap.advance(int(seconds * 1e9))
            else:
                real_time.sleep(seconds)

    def __getattr__(self, name):
        return getattr(real_time, name)


class Attachment:
    """One stack attached to Scapy (see the module's doc). Use attach()."""

    def __init__(self, stack, dev: str = DUT_DEV, iface: str = TESTER_IFACE, mac: str = TESTER_MAC,
                 ip: str = TESTER_IP, answer_arp: bool = True):
        self.stack = stack
        self.dev = dev
        self.tap = Tap(stack, dev, iface, mac, ip, answer_arp)
        route = StackRoute(self.tap)        # checks dev and the tester's address first
        self.tap.route = route
        self.interface = NetworkInterface(None, data={
            "name": iface, "description": iface, "network_name": iface,
            "index": 0, "mac": mac, "ips": [ip]})
        self.interface.provider = StackInterfaceProvider(self.interface)
        self._saved = {name: getattr(conf, name) for name in ("L2socket", "L3socket", "L3socket6", "L2listen",
                                                                "iface", "route")}
        self._saved_arch = (scapy.arch.get_if_raw_hwaddr, scapy.arch.get_if_raw_addr)
        self._saved_time = (scapy.sendrecv.time, scapy.automaton.time)
        self._saved_stop = scapy.automaton.Automaton.stop
        self._install(route)

    @property
    def iface(self) -> str:
        return self.tap.iface

    def _install(self, route: StackRoute):
        tap_mod.set_current(self.tap)
        conf.ifaces.providers[StackInterfaceProvider] = self.interface.provider
        conf.ifaces.data[self.iface] = self.interface
        conf.L2socket, conf.L2listen = StackSocket, StackListenSocket
        conf.L3socket = conf.L3socket6 = StackL3Socket
        conf.route = route
        conf.iface = self.interface
        raw_hwaddr, raw_addr = self._saved_arch
        mac, ip = mac2str(self.tap.mac), ipaddress.ip_address(self.tap.ip).packed
        ours = self.iface
        scapy.arch.get_if_raw_hwaddr = lambda iff, *a: (ARPHDR_ETHER, mac) if network_name(iff) == ours \
            else raw_hwaddr(iff, *a)
        scapy.arch.get_if_raw_addr = lambda iff: ip if network_name(iff) == ours else raw_addr(iff)
        scapy.sendrecv.time = scapy.automaton.time = VirtualTime(self.tap)
        scapy.automaton.Automaton.stop = self._stop_in_virtual_time()
        conf.netcache.arp_cache.flush()     # the host's neighbours are not the stack's
        self._wrap_stack_calls()

    def _stop_in_virtual_time(self):
        """Automaton.stop() waits for the automaton's thread to reach a final state,
        which may take a timeout of its own (TCP_client waits 1 s for the peer's FIN
        after its own). Called from the thread that drives the clock, nobody else
        would run it: the wait runs the clock in steps, as sleep() does. A waiting
        automaton looks at the clock every PASSIVE_WAIT_S of real time, so it may
        see its timeout up to a step late."""
        tap, stop = self.tap, self._saved_stop

        def stop_running_the_clock(atmt, wait=True):
            if not wait or not tap.drives_here() or tap.inside():
                return stop(atmt, wait)
            stop(atmt, wait=False)
            while not atmt.started.acquire(timeout=STOP_STEP_WAIT_S):
                tap.advance(STOP_STEP_NS)
            try:
                atmt._flush_inout()
            finally:
                atmt.started.release()

        return stop_running_the_clock

    def _wrap_stack_calls(self):
        """The user's own calls on the stack: let Scapy's background threads settle
        first, and hand the frames the call made the stack send to Scapy's sockets."""
        tap, plain = self.tap, type(self.stack)._call.__get__(self.stack)

        def call(method, fn, request, timeout: float = 60.0):
            if method in QUIET_CALLS or not tap.drives_here() or tap.inside():
                return plain(method, fn, request, timeout)
            tap.settle_background()
            reply = plain(method, fn, request, timeout)
            tap.refresh_clock()
            tap.pull()          # settles the background threads again
            return reply

        self.stack._call = call

    def detach(self):
        """Give Scapy back the host: conf as it was before attach()."""
        global _attachment
        if _attachment is not self:
            return
        self.stack.__dict__.pop("_call", None)
        scapy.sendrecv.time, scapy.automaton.time = self._saved_time
        scapy.automaton.Automaton.stop = self._saved_stop
        scapy.arch.get_if_raw_hwaddr, scapy.arch.get_if_raw_addr = self._saved_arch
        conf.ifaces.providers.pop(StackInterfaceProvider, None)
        conf.ifaces.data.pop(self.iface, None)
        for name, value in self._saved.items():
            setattr(conf, name, value)
        conf.netcache.arp_cache.flush()
        tap_mod.set_current(None)
        _attachment = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.detach()

    # ------------------------------------------------------------ the session's view of the wire

    def inject(self, pkts, dev: Optional[str] = None, settle_ns: int = SETTLE_NS) -> list:
        """Put frames into dev's RX ring (default: the attached device; Scapy's
        listening sockets see them there), run the clock settle_ns, and return
        the frames the stack sent meanwhile (every device)."""
        if isinstance(pkts, (bytes, bytearray, Packet)):
            pkts = [pkts]
        mark = self.tap.frames_read()
        self.tap.send([bytes(p) for p in pkts], settle_ns, dev)
        return self.tap.taken(mark)

    def wire(self) -> list:
        """The frames the stack sent (every device) that neither inject() nor
        wire() returned, as Scapy packets with .time (virtual s) and .sniffed_on
        (the device). Scapy's sockets get their own copies."""
        return self.tap.wire()

    def advance(self, ns: int) -> int:
        """Run the virtual clock ns; Scapy's sockets get what the stack sends."""
        return self.tap.advance(ns)

    def __repr__(self):
        return f"<nettwin attachment: {self.iface} {self.tap.mac} {self.tap.ip} <-> {self.dev}>"


def attach(stack, dev: str = DUT_DEV, iface: str = TESTER_IFACE, mac: str = TESTER_MAC, ip: str = TESTER_IP,
           answer_arp: bool = True) -> Attachment:
    """Attach Scapy to the stack's device dev as the tester (iface, mac, ip; the
    project's default topology unless told). answer_arp: the tester answers the
    stack's ARP requests for ip, as its kernel would. One stack at a time."""
    global _attachment
    if _attachment is not None:
        raise RuntimeError(f"{_attachment!r} is attached already: detach() it first")
    _attachment = Attachment(stack, dev, iface, mac, ip, answer_arp)
    return _attachment


def detach() -> None:
    """Detach the attached stack, if any."""
    if _attachment is not None:
        _attachment.detach()


def attachment() -> Optional[Attachment]:
    return _attachment


@contextlib.contextmanager
def attached(stack, dev: str = DUT_DEV):
    """The attachment of stack's dev for a with block: the current one if it is
    that, else one made for the block."""
    if _attachment is not None and _attachment.stack is stack and _attachment.dev == dev:
        yield _attachment
        return
    with attach(stack, dev) as a:
        yield a


__all__ = ["Attachment", "HostInterfaceError", "NotAttached", "attach", "attached", "attachment", "detach"]
