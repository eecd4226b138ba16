"""Where the DUT's clocks tick over. Linux's TSval is its CLOCK_MONOTONIC in ms
(tcp_clock_ns / 1e6) plus a random per-connection offset: the offset is
normalized away (tcp_relative), but the ms edges fall at some unknown point of
the recording's ms, and two TSvals 2.9 ms apart differ by 2 or 3 depending on
it. Linux aligns its tick (jiffies, HZ 250) to the same clock, so a
timer-driven segment leaves just after an edge that is also a ms edge.

The recording tells both: each DUT frame's TSval against its capture time
gives the ms phase; the frames no tester frame or socket call just caused
(timer-driven) give which ms edge is a tick. The stack's jiffies phase is set
to that (the nettwin.tcp_clock_phase_ns knob), its TCP ms clock follows.
"""
from __future__ import annotations

import json
from collections import Counter

from ..client import wire
from ..client.frame import Frame

MS = 1_000_000
JIFFY = 4 * MS
STEP_NS = 5_000
CAUSE_NS = 1_500_000   # a frame this soon after a tester frame or socket call answers it
SYSCTL = "nettwin.tcp_clock_phase_ns"


def _tcp(frame):
    """(sport, dport, options) of a frame's TCP segment, None if it carries none."""
    try:
        t = wire.tcp(bytes(frame))
    except wire.Unsupported:        # a segment wire.tcp does not read: Scapy's dissection
        from scapy.layers.inet import IP, TCP
        pkt = frame.packet() if isinstance(frame, Frame) else frame
        return (pkt[TCP].sport, pkt[TCP].dport, pkt[TCP].options) if IP in pkt and TCP in pkt else None
    return None if t is None else (t.sport, t.dport, t.options)


def _samples(scen) -> dict:
    """(DUT port, tester port) -> [(capture ns, TSval)] of the DUT's frames."""
    conns: dict = {}
    for p in scen.received_frames:
        t = _tcp(p)
        if t is None:
            continue
        for name, value in t[2]:
            if name == "Timestamp":
                conns.setdefault(t[:2], []).append((scen.rel_ns(p), value[0]))
    return conns


def _explains(phase: int, conns: dict) -> bool:
    for samples in conns.values():
        t0, v0 = samples[0]
        for t, v in samples[1:]:
            if ((t + phase) // MS - (t0 + phase) // MS) & 0xFFFFFFFF != (v - v0) & 0xFFFFFFFF:
                return False
    return True


def ms_phase_ns(scen) -> int | None:
    """The middle of the widest run of phases (ns, 0..1 ms) that explains the
    recording's TSval steps; None when it has none to learn from, or none fits."""
    conns = {k: v for k, v in _samples(scen).items() if len(v) > 1}
    if not conns:
        return None
    ok = [_explains(ph, conns) for ph in range(0, MS, STEP_NS)]
    n = len(ok)
    if all(ok) or not any(ok):
        return None
    best_len, best_mid = 0, None
    for start in range(n):
        if not ok[start] or ok[start - 1]:
            continue  # not the start of a run (the list is circular)
        length = 0
        while length < n and ok[(start + length) % n]:
            length += 1
        if length > best_len:
            best_len, best_mid = length, ((start + length // 2) % n) * STEP_NS
    return best_mid


def _causes(scen) -> list[int]:
    """Times something from outside reached the DUT: tester frames, socket calls."""
    out = [scen.rel_ns(p) for p in scen.sent_frames]
    try:
        calls = json.loads((scen.path / "socket_results.json").read_text())["calls"]
        out += [int(c["t_ns"]) for c in calls if "t_ns" in c]
    except (OSError, ValueError, KeyError):
        pass
    return sorted(out)


def tick_phase_ns(scen, ms_phase: int) -> int:
    """The jiffies phase (ns, 0..4 ms): the tick falls on a ms edge of the TCP
    clock; which one, the timer-driven frames say (the most common), else the first."""
    causes = _causes(scen)
    edges: Counter = Counter()
    for p in scen.received_frames:
        if _tcp(p) is None:
            continue
        t = scen.rel_ns(p)
        if any(0 <= t - c < CAUSE_NS for c in causes):
            continue
        edge = t - (t + ms_phase) % MS  # the ms edge the timer fired at
        edges[edge % JIFFY] += 1
    e = edges.most_common(1)[0][0] if edges else (-ms_phase) % JIFFY
    # jiffies = origin + (now + phase) / JIFFY: an edge where now + phase is a multiple of JIFFY.
    return (-e) % JIFFY


def tcp_clock_phase_ns(scen) -> int | None:
    ms_phase = ms_phase_ns(scen)
    return None if ms_phase is None else tick_phase_ns(scen, ms_phase)
