"""Conformance: replay one recorded scenario into a fresh stack and compare what the
stack did with what Linux did (frames and tracepoint events). The recordings are
the only expectations; nothing here is typed by hand."""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

import grpc

from ..client import Stack, StackError
from ..client.setup import Setup
from ..scenarios import folder as scenario_folder
from ..scenarios import sock_steps
from .compare import Comparison, compare_counters, compare_events, compare_frames, timer_ts_slack_ms
from .diff_view import DiffView, diff_view
from .normalize import ADDRESS_EVENTS, COMPARED_EVENTS, normalize_events
from .sidebyside import render
from .skb_paths import differing_frame_paths
from . import tcp_clock, tcp_relative, tcp_replay


@dataclass
class Replay:
    """What the stack did with a scenario's frames."""
    wire: list                         # the frames the DUT device sent (frame.Frame)
    raw_events: list[dict]             # the stack's tracepoint events (and checkpoints if asked), as read
    events: list[dict]                 # ... normalized like the Linux ones
    lost: int = 0                      # events the subscription dropped
    skipped_sysctls: list[str] = field(default_factory=list)
    counters_before: dict = field(default_factory=dict)   # the stack's counters at time 0
    counters_after: dict = field(default_factory=dict)    # ... and at the recording's end
    far_wire: list = field(default_factory=list)          # frames the DUT sent toward the far host
    socket_calls: list = field(default_factory=list)      # the recorded socket calls (sock_steps.load_calls)
    socket_results: list = field(default_factory=list)    # ... and what the stack answered to each
    expect_results: Optional[list] = None                 # a reactive TCP scenario's Expects, else None
    tcp_notes: list = field(default_factory=list)         # templates the replay could not fill
    injected: list = field(default_factory=list)          # (time, frame bytes) put into the first interface


@dataclass
class ConformResult:
    folder: Path
    name: str                          # the scenario's folder name
    comparison: Optional[Comparison] = None
    error: Optional[str] = None        # the scenario could not be replayed at all
    description: str = ""
    seconds: float = 0.0               # wall time of the replay and comparison (for reports)
    recorded_s: float = 0.0            # how long the recording ran on Linux (meta.json duration_ns)
    skb_paths: dict = field(default_factory=dict)   # differing frame's index -> its skb's events

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
        return self.error or render(self.comparison)

    def view(self) -> Optional[DiffView]:
        """The diff as plain rows (None when the scenario could not be replayed)."""
        return None if self.comparison is None else diff_view(self.comparison, self.skb_paths)


# Values a namespace inherits from the recording host that the twin cannot take:
# the host's default congestion control (bbr) is not built into the twin, so
# setting it fails (ENOENT) and is left out (the recorder sets TCP_CONGESTION
# per socket instead, so that default never runs in a recording).
HOST_ONLY_SYSCTLS = frozenset({"net.ipv4.tcp_congestion_control"})

# Compared tracepoints the server's Trace service does not know yet: not subscribed,
# so a recording with them fails to compare, as it should. Each leaves this list
# when the stack emits it (every address event does now).
NOT_YET_IN_STACK = ADDRESS_EVENTS - {"tcp:tcp_send_reset", "sock:inet_sock_set_state", "tcp:tcp_receive_reset",
                                     "tcp:tcp_retransmit_skb", "tcp:tcp_retransmit_synack", "tcp:tcp_destroy_sock",
                                     "tcp:tcp_cong_state_set", "tcp:tcp_rcv_space_adjust"}


def subscribed_events(meta: dict) -> list[str]:
    """The compared tracepoints to take from the stack: those the recording had
    enabled (meta trace.events_enabled), so that an event added to the recorder
    later does not count against the recordings made without it."""
    wanted = COMPARED_EVENTS - NOT_YET_IN_STACK
    enabled = meta.get("trace", {}).get("events_enabled")
    if enabled is not None:
        wanted &= frozenset(enabled)
    return sorted(wanted)


def configure(stack: Stack, scen: scenario_folder.ScenarioFolder, seed: int = 1,
              setup: Optional[Setup] = None) -> list[str]:
    """A fresh stack shaped like the recording's DUT: a veth device with its name,
    ifindex, MAC and addresses, and its sysctls where the stack has them.
    Returns the sysctls the stack does not have (left out). setup: a stack.setup(seed)
    asked for more in the same call (its counters, a subscription), filled and applied here."""
    setup = setup or stack.setup(seed)
    # The namespace's lo (ifindex 1, 127.0.0.1/8), up as the recorder left it:
    # what routes to our own addresses leave through.
    if scen.meta.get("dut_link", {}).get("loopback") == "up":
        setup.create_device("lo", kind="loopback", mac="00:00:00:00:00:00", ifindex=1)
        setup.add_address("lo", "127.0.0.1/8")
    for iface in scen.dut_interfaces:
        setup.create_device(iface["ifname"], kind="veth", mac=iface["mac"],
                            ifindex=int(iface.get("ifindex", 0)), mtu=int(iface.get("mtu", 0)))
        for cidr in iface["addresses"]:
            setup.add_address(iface["ifname"], cidr)
    # The scenario's DUT setup data (routes, permanent neighbours), as the recorder applied it.
    dut_setup = scen.meta.get("dut_setup", {})
    for r in dut_setup.get("routes", []):
        setup.add_route(r["dst"], gateway=r.get("via", ""), dev=r.get("dev", ""))
    for n in dut_setup.get("neighbours", []):
        setup.add_neighbour(n["dev"], n["ip"], n["mac"], n.get("state", "permanent"))
    # The recording's sysctls; those the stack does not have are left out, and so
    # are host-only ones it refuses (HOST_ONLY_SYSCTLS). The DUT's TCP timestamp
    # clock ticks over where the recording's TSvals say.
    wanted = dict(sorted(scen.meta.get("sysctls", {}).items()))
    phase = tcp_clock.tcp_clock_phase_ns(scen)
    if phase is not None:
        wanted[tcp_clock.SYSCTL] = str(phase)
    skipped = []
    for name, (_, unknown, error) in setup.set_sysctls(wanted).apply().items():
        if unknown:
            skipped.append(name)
        elif error:
            if name not in HOST_ONLY_SYSCTLS:
                raise StackError("Control.Configure", grpc.StatusCode.INVALID_ARGUMENT,
                                 f"sysctl {name}={wanted[name]!r}: {error}")
            skipped.append(name)
    return skipped


def replay(stack: Stack, scen: scenario_folder.ScenarioFolder, seed: int = 1,
           sysctl_overrides: Optional[dict] = None, skb_paths: bool = False) -> Replay:
    """Inject each sent frame at its recorded time relative to the first, then run
    the clock to the recording's duration (not until idle: later timers are not in
    the recording). sysctl_overrides are set after the recording's own sysctls.
    skb_paths: raw_events also holds every checkpoint, with the skb's bytes."""
    events = subscribed_events(scen.meta)
    # The starting counters and the subscription come with the setup, unless sysctls
    # are set after it.
    setup = stack.setup(seed)
    if not sysctl_overrides:
        setup.with_counters().subscribe(events, checkpoints=skb_paths, skb_data=skb_paths)
    skipped = configure(stack, scen, seed, setup)
    for name, value in (sysctl_overrides or {}).items():
        stack.sysctl(name, str(value))
    counters_before = stack.counters() if sysctl_overrides else setup.counters
    dev = scen.dut["ifname"]
    with setup.subscription or stack.subscribe(events, checkpoints=skb_paths, skb_data=skb_paths) as sub:
        # Tester frames into the first interface, far-host frames into the one
        # facing it, merged by their capture times.
        far_dev = scen.far_dut_ifname
        # The DUT program's socket calls go in at their recorded times too (those
        # made before the first frame have negative times: they come first, at 0).
        calls = sock_steps.load_calls(scen.path)
        arrivals = sorted([(scen.rel_ns(p), 0, i, dev, p) for i, p in enumerate(scen.sent_frames)]
                          + [(scen.rel_ns(p), 1, i, far_dev, p) for i, p in enumerate(scen.far_sent_frames)]
                          + [(c["t_ns"], 2, i, None, c) for i, c in enumerate(calls)],
                          key=lambda a: a[:3])
        handles: dict = {}
        sock_results = []
        wire, expects, tcp_notes, end_ns = [], None, [], scen.duration_ns
        if tcp_replay.is_reactive(scen.path):
            # A reactive TCP peer: frames filled from the stack's own (tcp_replay.py); it
            # reads the wire as it goes, and says when its last step ended.
            wire, sock_results, expects, tcp_notes, injected, end_ns = tcp_replay.run(stack, scen, dev, calls)
            arrivals = []
        else:
            injected = [(t_ns, bytes(pkt)) for t_ns, _, _, into, pkt in arrivals if into == dev]
        for t_ns, _, _, into, pkt in arrivals:
            if into is None:
                sock_results.append(sock_steps.perform(stack.sockets, handles, pkt["step"], at_ns=max(0, t_ns)))
            else:
                stack.inject(into, bytes(pkt), at_ns=max(0, t_ns))
        # The clock to the recording's end, what every device sent, and the counters
        # then, in one call; then the events, closing the subscription.
        counters_after: dict = {}
        rest = stack.run_until_and_frames(end_ns, counters=counters_after)[1]
        wire += [f for f in rest if f.sniffed_on == dev]
        far_wire = [f for f in rest if far_dev and f.sniffed_on == far_dev]
        raw = [ev.as_raw() for ev in sub.read(close=True)]
        lost = sub.lost
    dut_devices = {v for i in scen.dut_interfaces for v in (i["ifname"], str(i.get("ifindex", "")))} - {""}
    return Replay(wire, raw, normalize_events(raw, dut_devices), lost, skipped, counters_before, counters_after,
                  far_wire, calls, sock_results, expects, tcp_notes, injected)


def compare_replay(scen: scenario_folder.ScenarioFolder, rep: Replay) -> Comparison:
    # Wire frames by device: the tester's side, then the far host's (its
    # frames numbered on from the tester's, so each row stays unique).
    if rep.expect_results is not None:
        # ISN, TSval/TSecr, IP ID and the ephemeral port made relative on both sides.
        frames = compare_frames(tcp_relative.relative_frames(scen.received_frames),
                                tcp_relative.relative_frames(rep.wire),
                                timer_ts_slack_ms([scen.rel_ns(p) for p in scen.received_frames], scen.sent_ns()))
    else:
        frames = compare_frames(scen.received_frames, rep.wire)
    if scen.far_dut_ifname:
        far = compare_frames(scen.far_received_frames, rep.far_wire)
        for f in far:
            f.index += len(frames)
            f.where = "far"
        frames += far
    c = Comparison(frames,
                   compare_events(scen.events, rep.events, scen.sent_ns(), scen.meta.get("sysctls", {})))
    if rep.lost:
        c.notes.append(f"the trace subscription lost {rep.lost} events")
    # The socket calls' results (return value, errno, data, addresses) must match too.
    c.notes.extend(sock_steps.diff_calls(rep.socket_calls, rep.socket_results))
    if rep.expect_results is not None:
        c.notes.extend(tcp_replay.diff_expects(tcp_replay.load_expects(scen.path), rep.expect_results))
        c.notes.extend(rep.tcp_notes)
    # The DUT's /proc/net/snmp deltas are the referee for the stack's MIBs
    # (recordings made before the recorder read them have none).
    if "snmp_delta" in scen.meta:
        c.counters = compare_counters(scen.meta["snmp_delta"], rep.counters_before, rep.counters_after)
    return c


def run_scenario(stack: Stack, folder, seed: int = 1, sysctl_overrides: Optional[dict] = None,
                 trace_differing: bool = False) -> ConformResult:
    """trace_differing: when frames differ, replay once more with checkpoints for
    the skb path of each of the twin's differing frames (skb_paths.py)."""
    folder = Path(folder)
    t0 = time.monotonic()
    try:
        scen = scenario_folder.load(folder)
    except scenario_folder.ScenarioError as e:
        return ConformResult(folder, folder.name, error=str(e), seconds=time.monotonic() - t0)
    try:
        rep = replay(stack, scen, seed, sysctl_overrides)
    except StackError as e:
        return ConformResult(folder, folder.name, error=f"the stack refused the replay: {e}",
                             description=scen.description, seconds=time.monotonic() - t0)
    comparison = compare_replay(scen, rep)
    paths = {}
    if trace_differing and any(f.differs for f in comparison.frames):
        try:
            traced = replay(stack, scen, seed, sysctl_overrides, skb_paths=True)
        except StackError as e:
            comparison.notes.append(f"no skb paths: the stack refused the traced replay: {e}")
        else:
            paths = differing_frame_paths(scen, comparison, traced)
    return ConformResult(folder, folder.name, comparison=comparison, description=scen.description,
                         seconds=time.monotonic() - t0, skb_paths=paths, recorded_s=scen.duration_ns / 1e9)


def run_all(folders: Iterable, stack: Stack, out: Callable[[str], None] = print,
            show_diff: bool = True, trace_differing: bool = False) -> list[ConformResult]:
    """One line per scenario with its verdict (a failure followed by its diff), then a summary."""
    results = []
    t0 = time.monotonic()
    for folder in folders:
        r = run_scenario(stack, folder, trace_differing=trace_differing)
        results.append(r)
        out(r.line())
        if not r.ok and show_diff:
            out(_indent(r.diff_text()))
    print(time_line(results, time.monotonic() - t0), file=sys.stderr, flush=True)
    passed = sum(r.ok for r in results)
    out(summary_line(len(results), passed))
    return results


def time_line(results, wall_s: float) -> str:
    """The recordings' time on Linux against the run's wall time: a figure, so on stderr
    (stdout, the verdicts, is the same from run to run)."""
    recorded = sum(r.recorded_s for r in results)
    return (f"time: {recorded:.3f} s of recorded time in {wall_s:.3f} s of wall time "
            f"({recorded / wall_s if wall_s > 0 else 0:.1f}x real time)")


def summary_line(total: int, passed: int) -> str:
    return f"{total} scenario{'' if total == 1 else 's'}: {passed} passed, {total - passed} failed"


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
