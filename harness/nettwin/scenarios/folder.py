"""Read one recorded scenario folder (traces/<name>/, format in traces/README.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..client import pcapfile
from ..client.frame import Frame

FILES = ("scenario.json", "sent.pcap", "received.pcap", "events.json", "meta.json")


class ScenarioError(ValueError):
    """A folder that is not a complete, readable scenario."""


@dataclass
class ScenarioFolder:
    path: Path
    name: str
    description: str
    meta: dict
    sent_frames: list       # frame.Frame each: bytes and capture time (ns), as the pcap has them
    received_frames: list
    events: list[dict]      # normalized Linux events
    # The forwarding topology's far host (traces/README.md): frames it received
    # from the DUT's ntdut1, and frames it sent toward it. Empty otherwise.
    far_received_frames: list = field(default_factory=list)
    far_sent_frames: list = field(default_factory=list)
    _packets: dict = field(default_factory=dict, repr=False, compare=False)

    # The same frames as Scapy packets (.time the capture time, a Decimal of seconds),
    # dissected on first use: the conformance path reads the Frames' bytes instead.
    @property
    def sent(self) -> list:
        return self._scapy("sent")

    @property
    def received(self) -> list:
        return self._scapy("received")

    @property
    def far_received(self) -> list:
        return self._scapy("far_received")

    @property
    def far_sent(self) -> list:
        return self._scapy("far_sent")

    def _scapy(self, which: str) -> list:
        if which not in self._packets:
            self._packets[which] = [f.packet() for f in getattr(self, f"{which}_frames")]
        return self._packets[which]

    @property
    def dut_interfaces(self) -> list[dict]:
        """Every DUT interface (topology.dut_interfaces; older recordings: topology.dut)."""
        return self.meta["topology"].get("dut_interfaces") or [self.dut]

    @property
    def far_dut_ifname(self) -> str:
        """The DUT interface facing the far host ("" without one)."""
        names = [i["ifname"] for i in self.dut_interfaces if i["ifname"] != self.dut["ifname"]]
        return names[0] if "far" in self.meta["topology"] and names else ""

    @property
    def dut(self) -> dict:
        return self.meta["topology"]["dut"]

    @property
    def duration_ns(self) -> int:
        return int(self.meta["duration_ns"])

    @property
    def origin(self):
        """Replay time 0: the first frame of sent.pcap (seconds)."""
        return self.sent_frames[0].time if self.sent_frames else 0

    def rel_ns(self, pkt) -> int:
        """A frame's capture time since the origin, in ns (a Frame or a Scapy packet of this folder)."""
        origin = self.sent_frames[0].time_ns if self.sent_frames else 0
        if getattr(pkt, "time_ns", None) is not None:
            return pkt.time_ns - origin
        return int(round((pkt.time - self.origin) * 1_000_000_000))

    def sent_ns(self) -> list[int]:
        return [self.rel_ns(p) for p in self.sent_frames]


def is_scenario(path: Path) -> bool:
    return path.is_dir() and (path / "meta.json").is_file() and (path / "sent.pcap").is_file()


def discover(paths) -> list[Path]:
    """Scenario folders named directly, or found one level below a traces directory."""
    found = []
    for p in map(Path, paths):
        if is_scenario(p):
            found.append(p)
        elif p.is_dir():
            found.extend(sorted(c for c in p.iterdir() if is_scenario(c)))
        else:
            raise ScenarioError(f"{p}: no such scenario folder or traces directory")
    return found


def _json(path: Path):
    try:
        return json.loads(path.read_bytes().decode())
    except (OSError, ValueError) as e:  # ValueError: JSONDecodeError and UnicodeDecodeError, with the offset
        raise ScenarioError(f"{path}: {e}") from None


def _pcap(path: Path) -> list[Frame]:
    try:
        return [Frame(data, ts_ns) for ts_ns, data in pcapfile.read_frames(path)]
    except pcapfile.PcapError as e:
        raise ScenarioError(f"unreadable pcap: {e}") from None


def load(path) -> ScenarioFolder:
    path = Path(path)
    missing = [f for f in FILES if not (path / f).is_file()]
    if missing:
        raise ScenarioError(f"{path}: not a complete scenario folder (missing {', '.join(missing)})")
    meta = _json(path / "meta.json")
    try:
        dut = meta["topology"]["dut"]
        for key in ("ifname", "mac", "addresses"):
            dut[key]
        int(meta["duration_ns"])
    except (KeyError, TypeError, ValueError) as e:
        raise ScenarioError(f"{path}/meta.json: missing or bad {e}") from None
    scenario = _json(path / "scenario.json")
    if not isinstance(scenario, dict):
        raise ScenarioError(f"{path}/scenario.json: expected an object")
    events = _json(path / "events.json")
    if not isinstance(events, dict) or not isinstance(events.get("events"), list):
        raise ScenarioError(f"{path}/events.json: expected {{\"events\": [...]}}")
    sent, received = _pcap(path / "sent.pcap"), _pcap(path / "received.pcap")
    if not sent:
        raise ScenarioError(f"{path}/sent.pcap: no frames")
    far = {}
    for name in ("far_received", "far_sent"):
        if (path / f"{name}.pcap").is_file():
            far[f"{name}_frames"] = _pcap(path / f"{name}.pcap")
    if far and "far" not in meta["topology"]:
        raise ScenarioError(f"{path}/meta.json: far-host pcaps without topology.far")
    return ScenarioFolder(path, scenario.get("name", path.name), scenario.get("description", ""),
                          meta, sent, received, events["events"], **far)
