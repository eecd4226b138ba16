"""Conformance: replay one recorded scenario into a fresh stack and compare what the
stack did with what Linux did (frames and tracepoint events). The recordings are
the only expectations; nothing here is typed by hand."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import grpc

from . import scenario_folder
from .client import Stack, StackError
from .compare import Comparison, compare_events, compare_frames
from .normalize import COMPARED_EVENTS, normalize_events


@dataclass
class Replay:
    """What the stack did with a scenario's frames."""
    wire: list                         # Scapy Ether frames the DUT device sent
    raw_events: list[dict]             # the stack's tracepoint events, as read
    events: list[dict]                 # ... normalized like the Linux ones
    lost: int = 0                      # events the subscription dropped
    skipped_sysctls: list[str] = field(default_factory=list)


@dataclass
class ConformResult:
    folder: Path
    name: str
    comparison: Optional[Comparison] = None
    error: Optional[str] = None        # the scenario could not be replayed at all

    @property
    def ok(self) -> bool:
        return self.error is None and self.comparison is not None and self.comparison.ok

    def line(self) -> str:
        if self.error:
            return f"ERROR {self.name}: {self.error}"
        c = self.comparison
        nf = sum(f.linux is not None for f in c.frames)
        ne = sum(e.linux is not None for e in c.events)
        if c.ok:
            return f"PASS  {self.name} ({nf} frames, {ne} events)"
        bad_f = sum(f.differs for f in c.frames)
        bad_e = sum(e.differs for e in c.events)
        return (f"FAIL  {self.name} ({bad_f} of {len(c.frames)} frames differ, "
                f"{bad_e} of {len(c.events)} events differ"
                + (f", {len(c.notes)} notes" if c.notes else "") + ")")

    def diff_text(self) -> str:
        return self.error or self.comparison.diff_text()


def configure(stack: Stack, scen: scenario_folder.ScenarioFolder, seed: int = 1) -> list[str]:
    """A fresh stack shaped like the recording's DUT: a veth device with its name,
    ifindex, MAC and addresses, and its sysctls where the stack has them.
    Returns the sysctls the stack does not have (left out)."""
    stack.reset(seed)
    dut = scen.dut
    stack.create_device(dut["ifname"], kind="veth", mac=dut["mac"], ifindex=int(dut.get("ifindex", 0)))
    for cidr in dut["addresses"]:
        stack.add_address(dut["ifname"], cidr)
    skipped = []
    for name, value in sorted(scen.meta.get("sysctls", {}).items()):
        try:
            current = stack.sysctl(name)
        except StackError as e:
            if e.code != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            skipped.append(name)
            continue
        if current != str(value):
            stack.sysctl(name, str(value))
    return skipped


def replay(stack: Stack, scen: scenario_folder.ScenarioFolder, seed: int = 1,
           sysctl_overrides: Optional[dict] = None) -> Replay:
    """Inject each sent frame at its recorded time relative to the first, then run
    the clock to the recording's duration (not until idle: later timers are not in
    the recording). sysctl_overrides are set after the recording's own sysctls."""
    skipped = configure(stack, scen, seed)
    for name, value in (sysctl_overrides or {}).items():
        stack.sysctl(name, str(value))
    dev = scen.dut["ifname"]
    with stack.subscribe(sorted(COMPARED_EVENTS), checkpoints=False) as sub:
        for pkt in scen.sent:
            stack.run_until(scen.rel_ns(pkt))
            stack.inject(dev, bytes(pkt))
        stack.run_until(scen.duration_ns)
        raw = [ev.as_raw() for ev in sub.read()]
        lost = sub.lost
    wire = stack.wire(dev)
    dut_devices = {dev, str(scen.dut.get("ifindex", ""))} - {""}
    return Replay(wire, raw, normalize_events(raw, dut_devices), lost, skipped)


def compare_replay(scen: scenario_folder.ScenarioFolder, rep: Replay) -> Comparison:
    c = Comparison(compare_frames(scen.received, rep.wire),
                   compare_events(scen.events, rep.events, scen.sent_ns()))
    if rep.lost:
        c.notes.append(f"the trace subscription lost {rep.lost} events")
    return c


def run_scenario(stack: Stack, folder, seed: int = 1,
                 sysctl_overrides: Optional[dict] = None) -> ConformResult:
    folder = Path(folder)
    try:
        scen = scenario_folder.load(folder)
    except scenario_folder.ScenarioError as e:
        return ConformResult(folder, folder.name, error=str(e))
    try:
        rep = replay(stack, scen, seed, sysctl_overrides)
    except StackError as e:
        return ConformResult(folder, scen.name, error=f"the stack refused the replay: {e}")
    return ConformResult(folder, scen.name, comparison=compare_replay(scen, rep))


def run_all(folders: Iterable, stack: Stack, out: Callable[[str], None] = print,
            show_diff: bool = True) -> list[ConformResult]:
    """One line per scenario with its verdict (a failure followed by its diff), then a summary."""
    results = []
    for folder in folders:
        r = run_scenario(stack, folder)
        results.append(r)
        out(r.line())
        if not r.ok and show_diff:
            out(_indent(r.diff_text()))
    passed = sum(r.ok for r in results)
    out(summary_line(len(results), passed))
    return results


def summary_line(total: int, passed: int) -> str:
    return f"{total} scenario{'' if total == 1 else 's'}: {passed} passed, {total - passed} failed"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
