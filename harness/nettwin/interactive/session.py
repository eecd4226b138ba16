"""An interactive session's state: a connected stack in the default topology with
Scapy attached to it as the tester (attach.py), inject() that drives the clock and
keeps the last frame's skb path, path(), wire()."""
from __future__ import annotations

from typing import Optional

from scapy.plist import PacketList

from ..client import SETTLE_NS, Stack
# The DUT's first interface and the tester in the project's default topology (DESIGN.md).
from ..scenarios.model import DUT_CIDR, DUT_DEV, DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC
from .attach import attach
from .skbpath import format_path


class Frames(PacketList):
    """A PacketList that shows its frames, one summary line each, when printed in the shell."""

    def __repr__(self):
        if not self.res:
            return f"<{self.listname}: none>"
        lines = [f"<{self.listname}: {len(self.res)} frame{'s' if len(self.res) != 1 else ''}>"]
        for i, p in enumerate(self.res):
            dev = getattr(p, "sniffed_on", None) or "?"
            lines.append(f"  [{i}] {float(p.time) * 1e3:12.6f} ms  {dev}  {p.summary()}")
        return "\n".join(lines)


class Session:
    def __init__(self, stack: Stack, kind: str = "ring", dev: str = DUT_DEV, seed: int = 1):
        self.stack = stack
        self.dev = dev
        stack.reset(seed)
        stack.create_device(dev, kind=kind, mac=DUT_MAC)
        stack.add_address(dev, DUT_CIDR)
        # Every tracepoint and checkpoint, so path() can show the whole journey.
        self.sub = stack.subscribe([], checkpoints=True, skb_data=True)
        self.last_events = []
        self.settle_ns = SETTLE_NS
        self.answers = Frames([], "answers")
        # Scapy's own functions now reach the stack, as the tester; wire() reads through it.
        self.attachment = attach(stack, dev)

    def inject(self, pkt, dev: Optional[str] = None, settle_ns: Optional[int] = None) -> Frames:
        """Inject a frame (or list) into dev's RX ring, run the virtual clock for
        settle_ns (default self.settle_ns), and return the frames the stack sent.
        Not "until idle": that would also run the neighbour timers seconds ahead."""
        self.sub.read()                      # forget what came before this frame
        frames = self.attachment.inject(pkt, dev, self.settle_ns if settle_ns is None else settle_ns)
        self.last_events = self.sub.read()
        self.answers = Frames(frames, "answers")
        return self.answers

    def path(self, tracepoints: bool = False, skb_fields: bool = False) -> str:
        """The last injected frame's journey: every checkpoint (and tracepoint, if
        asked; drops always), with each skb's state under it if asked."""
        return format_path(self.last_events, checkpoints_only=not tracepoints, skb_fields=skb_fields)

    def wire(self) -> Frames:
        """Frames on the wire not read yet (e.g. after advance() or run_until_idle())."""
        return Frames(self.attachment.wire(), "wire")

    def advance(self, ns: int) -> int:
        """Run the virtual clock ns; returns the time (ns). Scapy's sockets get what the stack sends."""
        return self.attachment.advance(ns)

    def arp(self) -> Frames:
        """An ARP who-has for the DUT's address from the tester; returns the answers."""
        from scapy.layers.l2 import ARP, Ether
        return self.inject(Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff")
                           / ARP(op="who-has", hwsrc=TESTER_MAC, psrc=TESTER_IP, pdst=DUT_IP))

    def ping(self, seq: int = 1, payload: bytes = b"nettwin-ping") -> Frames:
        """An ARP exchange (so the DUT knows the tester's MAC, as in the recordings),
        then an ICMP echo request; returns the answers to both. path() shows the echo."""
        from scapy.layers.inet import ICMP, IP
        from scapy.layers.l2 import Ether
        arp_answers = self.arp()
        echo_answers = self.inject(Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src=TESTER_IP, dst=DUT_IP)
                                   / ICMP(id=0x4e54, seq=seq) / payload)
        self.answers = Frames(list(arp_answers) + list(echo_answers), "answers")
        return self.answers

    def close(self):
        self.attachment.detach()
        self.sub.close()
