"""The model of the scenarios the recorder plays against the real Linux kernel: the
steps, Scenario, the topology's addresses, the frames every family uses and the
registry the families (ipv4.py, udp.py, packet.py) add to; catalog.py has them all.

A scenario is a name, a one-line description and steps, run in order:
  Send(frame)   the tester puts this Scapy frame on the wire toward the DUT
  Wait(ms)      nothing happens for ms milliseconds
  Sock(op, h)   the DUT's program makes a socket call (sock_steps.py; the UDP and packet scenarios)
After the last step the recorder waits `settle_ms` (the same for every scenario unless
one says otherwise) and that instant is the recording's end (meta.json duration_ns).
Steps are plain data (to_json), so later kinds (e.g. socket actions performed in the
DUT namespace between frames) are new step classes with their own `kind`.

Every scenario is self-contained: every frame the DUT sees is in sent.pcap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union

if TYPE_CHECKING:
    from scapy.layers.l2 import Ether

TESTER_MAC = "02:00:00:00:01:01"
DUT_MAC = "02:00:00:00:01:02"
OTHER_MAC = "02:00:00:00:01:99"
TESTER_IP = "198.51.100.1"
DUT_IP = "198.51.100.2"
DUT_DEV = "ntdut0"                       # the DUT's first interface (DESIGN.md)
DUT_CIDR = f"{DUT_IP}/24"
TESTER_IFACE = "nttst0"
FAR_IP = "203.0.113.1"
FAR_IFACE = "ntfar0"                    # a Send on it comes from the far host (forwarding topology)
FAR_MAC = "02:00:00:00:02:01"
DUT1_IP = "203.0.113.2"
GATEWAY_IP = "198.51.100.3"            # a next hop on the tester's link (redirects)
GATEWAY_MAC = "02:00:00:00:01:03"
BEHIND_GATEWAY_IP = "203.0.113.100"    # routed by the DUT via GATEWAY_IP
SETTLE_MS = 1000

# Fixed so that every recording of a scenario sends the very same bytes.
ECHO_ID = 0x4E54
ECHO_SEQ = 1
ECHO_IP_ID = 0x1001
ECHO_PAYLOAD = bytes(range(0x20, 0x40))   # 32 printable bytes


@dataclass(frozen=True)
class Send:
    """The tester sends one frame on its interface."""
    frame: bytes
    summary: str
    iface: str = TESTER_IFACE
    kind: str = "send"

    def to_json(self) -> dict:
        return {"kind": self.kind, "iface": self.iface, "frame": self.frame.hex(),
                "summary": self.summary}


@dataclass(frozen=True)
class Wait:
    """Nothing happens for ms milliseconds."""
    ms: int
    kind: str = "wait"

    def to_json(self) -> dict:
        return {"kind": self.kind, "ms": self.ms}


Step = Union[Send, Wait]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    steps: tuple[Step, ...]
    settle_ms: int = SETTLE_MS
    tags: tuple[str, ...] = field(default=())
    # Sysctls set in the DUT namespace before its link comes up ("{dev}" is the DUT's
    # interface name). meta.json records every sysctl that matters as read back, and
    # the replay sets the same values in the stack.
    sysctls: tuple[tuple[str, str], ...] = field(default=())
    # "two_host" (tester, DUT) or "forwarding" (also DUT ntdut1 and the far host:
    # traces/README.md). The DUT's setup data, applied by the recorder and, from
    # meta.json, by the replay: routes (dst, via or "", dev), permanent neighbours
    # (dev, ip, mac) and interface MTUs (ifname, mtu).
    topology: str = "two_host"
    dut_routes: tuple[tuple[str, str, str], ...] = field(default=())
    dut_neighbours: tuple[tuple[str, str, str], ...] = field(default=())
    dut_mtus: tuple[tuple[str, int], ...] = field(default=())

    def routes_data(self) -> list[dict]:
        return [{"dst": d, "via": v, "dev": dev} for d, v, dev in self.dut_routes]

    def neighbours_data(self) -> list[dict]:
        return [{"dev": dev, "ip": ip, "mac": mac} for dev, ip, mac in self.dut_neighbours]

    def frames(self) -> list[Send]:
        return [s for s in self.steps if isinstance(s, Send)]

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description,
                "settle_ms": self.settle_ms, "sysctls": dict(self.sysctls),
                "topology": self.topology, "dut_routes": self.routes_data(),
                "dut_neighbours": self.neighbours_data(), "dut_mtus": dict(self.dut_mtus),
                "steps": [s.to_json() for s in self.steps]}


def send(pkt) -> Send:
    """A Send step from a Scapy packet (its bytes are frozen here)."""
    return Send(bytes(pkt), pkt.summary())


# ------------------------------------------------------------------ frames

# Scapy is imported where a frame is made (the families), not with the model: the
# TCP template and a conformance run need its constants only.

def arp_who_has(target: str = DUT_IP) -> Ether:
    from scapy.layers.l2 import ARP, Ether
    return (Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=target))


def echo_request(dst_mac: str = DUT_MAC, **ip_fields) -> Ether:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether
    ip = IP(src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID, ttl=64, **ip_fields)
    return (Ether(src=TESTER_MAC, dst=dst_mac) / ip
            / ICMP(type=8, code=0, id=ECHO_ID, seq=ECHO_SEQ) / ECHO_PAYLOAD)


# ------------------------------------------------------------- the registry
# Every family module adds its scenarios when imported; catalog.py imports them all.

SCENARIOS: dict[str, Scenario] = {}


def _add(s: Scenario) -> None:
    if s.name in SCENARIOS:
        raise ValueError(f"duplicate scenario {s.name}")
    SCENARIOS[s.name] = s
