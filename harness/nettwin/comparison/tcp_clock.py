"""Where the DUT's TCP timestamp clock ticks over. Linux's TSval is its
CLOCK_MONOTONIC in ms (tcp_clock_ns / 1e6) plus a random per-connection offset:
the offset is normalized away (tcp_relative), but the ms edges fall at some
unknown point of the recording's ms, and two TSvals 2.9 ms apart differ by 2
or 3 depending on it. The recording tells: each DUT frame's TSval against its
capture time. The phase that explains every connection's TSval steps is what
the stack's clock is set to (the nettwin.tcp_clock_phase_ns knob).
"""
from __future__ import annotations

from scapy.layers.inet import IP, TCP

MS = 1_000_000
STEP_NS = 5_000
SYSCTL = "nettwin.tcp_clock_phase_ns"


def _samples(scen) -> dict:
    """(DUT port, tester port) -> [(capture ns, TSval)] of the DUT's frames."""
    conns: dict = {}
    for p in scen.received:
        if IP not in p or TCP not in p:
            continue
        for name, value in p[TCP].options:
            if name == "Timestamp":
                conns.setdefault((p[TCP].sport, p[TCP].dport), []).append((scen.rel_ns(p), value[0]))
    return conns


def _explains(phase: int, conns: dict) -> bool:
    for samples in conns.values():
        t0, v0 = samples[0]
        for t, v in samples[1:]:
            if ((t + phase) // MS - (t0 + phase) // MS) & 0xFFFFFFFF != (v - v0) & 0xFFFFFFFF:
                return False
    return True


def tcp_clock_phase_ns(scen) -> int | None:
    """The middle of the widest run of phases (ns, 0..1 ms) that explains the
    recording's TSval steps; None when it has none to learn from, or none fits."""
    conns = {k: v for k, v in _samples(scen).items() if len(v) > 1}
    if not conns:
        return None
    ok = [_explains(ph, conns) for ph in range(0, MS, STEP_NS)]
    n = len(ok)
    if all(ok):
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
