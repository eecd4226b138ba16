"""The scenarios the recorder plays against the real Linux kernel.

A scenario is a name, a one-line description and steps, run in order:
  Send(frame)   the tester puts this Scapy frame on the wire toward the DUT
  Wait(ms)      nothing happens for ms milliseconds
After the last step the recorder waits `settle_ms` (the same for every scenario unless
one says otherwise) and that instant is the recording's end (meta.json duration_ns).
Steps are plain data (to_json), so later kinds (e.g. socket actions performed in the
DUT namespace between frames) are new step classes with their own `kind`.

Every scenario is self-contained: every frame the DUT sees is in sent.pcap.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

TESTER_MAC = "02:00:00:00:01:01"
DUT_MAC = "02:00:00:00:01:02"
OTHER_MAC = "02:00:00:00:01:99"
TESTER_IP = "198.51.100.1"
DUT_IP = "198.51.100.2"
TESTER_IFACE = "nttst0"
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

    def frames(self) -> list[Send]:
        return [s for s in self.steps if isinstance(s, Send)]

    def to_json(self) -> dict:
        return {"name": self.name, "description": self.description,
                "settle_ms": self.settle_ms, "sysctls": dict(self.sysctls),
                "steps": [s.to_json() for s in self.steps]}


def send(pkt) -> Send:
    """A Send step from a Scapy packet (its bytes are frozen here)."""
    return Send(bytes(pkt), pkt.summary())


# ------------------------------------------------------------------ frames

def arp_who_has(target: str = DUT_IP) -> Ether:
    return (Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff")
            / ARP(op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=target))


def echo_request(dst_mac: str = DUT_MAC, **ip_fields) -> Ether:
    ip = IP(src=TESTER_IP, dst=DUT_IP, id=ECHO_IP_ID, ttl=64, **ip_fields)
    return (Ether(src=TESTER_MAC, dst=dst_mac) / ip
            / ICMP(type=8, code=0, id=ECHO_ID, seq=ECHO_SEQ) / ECHO_PAYLOAD)


def with_bad_ip_checksum(frame: Ether) -> Ether:
    """The frame with its IPv4 header checksum wrong (and only that wrong)."""
    good = Ether(bytes(frame))[IP].chksum
    out = Ether(bytes(frame))
    out[IP].chksum = good ^ 0x00FF
    return out


def truncated(frame: Ether, claimed_total_length: int) -> Ether:
    """The frame with an IPv4 total length larger than the bytes present (and a
    header checksum that is right for that length, so only the length is wrong)."""
    out = Ether(bytes(frame))
    out[IP].len = claimed_total_length
    out[IP].chksum = None
    out[ICMP].chksum = None
    return Ether(bytes(out))


# --------------------------------------------------------------- scenarios

SCENARIOS: dict[str, Scenario] = {}


def _add(s: Scenario) -> None:
    if s.name in SCENARIOS:
        raise ValueError(f"duplicate scenario {s.name}")
    SCENARIOS[s.name] = s


_add(Scenario(
    "arp_then_echo",
    "ARP who-has 198.51.100.2 from the tester, then 100 ms later an ICMP echo request to it",
    (send(arp_who_has()), Wait(100), send(echo_request()))))

_add(Scenario(
    "echo_bad_ip_csum",
    "an ICMP echo request whose IPv4 header checksum is wrong: dropped at IP_CSUM",
    (send(with_bad_ip_checksum(echo_request())),)))

_add(Scenario(
    "other_mac",
    "an ICMP echo request sent to MAC 02:00:00:00:01:99, not the DUT's: dropped as OTHERHOST",
    (send(echo_request(dst_mac=OTHER_MAC)),)))

_add(Scenario(
    "truncated_ipv4",
    "an ICMP echo request whose IPv4 total length (128) is larger than the 60 bytes present",
    (send(truncated(echo_request(), 128)),)))

_add(Scenario(
    "ipv4_version5",
    "an ICMP echo request whose IP header says version 5 (checksum right)",
    (send(echo_request(version=5)),)))


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise KeyError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
