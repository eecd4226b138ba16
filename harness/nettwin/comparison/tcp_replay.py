"""Replay of a reactive TCP scenario against the stack (virtual time): the steps of
scenario.json in order. An Expect reads the stack's wire frames, advancing the clock,
until one matches or its timeout passes; a TcpSend is filled from the stack's own
frames (its ISN, TSval, port) and injected at the time the recording sent it, but
never before the DUT frame it reacts to was seen; a Sock step runs at its recorded
time through the Sockets service (background calls: sock_steps.perform).
"""
from __future__ import annotations

import json
from pathlib import Path

from ..client import wire
from ..scenarios import sock_steps
from ..scenarios.tcp_template import TS_BASE, Expect, TcpSend, TcpState

MS = 1_000_000
LATE_STEP_NS = 10 * MS     # clock step once an Expect's recorded time has passed


def is_reactive(folder) -> bool:
    steps = json.loads((Path(folder) / "scenario.json").read_text()).get("steps", [])
    return any(s.get("kind") in ("tcp_send", "expect") for s in steps)


def load_expects(folder) -> list[dict]:
    path = Path(folder) / "expect_results.json"
    return json.loads(path.read_text())["expects"] if path.is_file() else []


def _elapsed_ms(recorded_frame, fallback_ns: int) -> int:
    """The tester's TSval of the recording's frame, as ms since the origin (so the
    replay sends the very same TSval); else the send time."""
    try:
        t = wire.tcp(bytes(recorded_frame)) if recorded_frame is not None else None
    except wire.Unsupported:
        t = None
    if t is not None:
        for name, value in t.options:
            # A timestamp option of a bad length parses to fewer than two values.
            if name == "Timestamp" and isinstance(value, tuple) and len(value) == 2:
                return (value[0] - TS_BASE) & 0xFFFFFFFF
    return fallback_ns // MS


def run(stack, scen, dev: str, calls: list[dict]) -> tuple[list, list, list[dict], list[str], list, int]:
    """Play the steps; returns (the DUT's wire frames read so far, socket results,
    Expect results, notes on templates that could not be filled, the (time, frame)
    pairs injected, the time to run the clock to and read the rest of the wire)."""
    steps = scen_steps(scen)
    sent_ns = scen.sent_ns()
    calls_at = {c["index"]: c for c in calls}
    expects_at = {e["step"]: e for e in load_expects(scen.path)}
    state = TcpState()
    dut_wire: list = []      # the DUT's frames (frame.Frame), in wire order
    handles: dict = {}
    sock_results, expect_results, notes, injected = [], [], [], []
    k = 0
    backlog: list[int] = []  # frames read past an Expect's match, for the next Expects
    now = 0                  # the clock after Control.Configure (a fresh stack)
    sock_clock = 0           # the clock as the last socket call left it
    # Whether the wire was just read and nothing has run since: an Expect then finds
    # nothing new on it without asking. `unread`: frames taken off it with an Inject,
    # not yet looked at by an Expect.
    wire_read = False
    unread: list = []
    # A Wait puts off only the next Expect's start (sends and socket calls go at their
    # recorded times): an Expect after a Wait looks from the Wait's end, as the recorder
    # did, so its timeout window is Linux's.
    expect_from = now
    for i, st in enumerate(steps):
        kind = st.get("kind")
        if kind == "wait":
            expect_from = now + int(st.get("ms", 0)) * MS
            continue
        if kind in ("send", "tcp_send"):
            t = sent_ns[k] if k < len(sent_ns) else now
            recorded = scen.sent_frames[k] if k < len(scen.sent_frames) else None
            k += 1
            now = max(t, now)     # the clock runs there in the Inject call below
            if kind == "send":
                frame = bytes.fromhex(st["frame"])
            else:
                try:
                    frame = state.fill(TcpSend.from_json(st), _elapsed_ms(recorded, t))
                except ValueError as e:
                    # The stack has not sent what the template needs (its SYN): the
                    # recording's own frame goes in, and the replay says so.
                    notes.append(f"tcp_send step {i}: {e}; sent the recorded frame")
                    frame = bytes(recorded)
            # What the DUT had sent by then comes back in the same call, for the next Expect.
            unread += stack.inject_and_frames(dev, frame, at_ns=now)
            injected.append((now, frame))
            wire_read = True
        elif kind == "sock":
            call = calls_at.get(i)
            if call is not None:
                # To the call's time (never back: a blocking call may have run the
                # clock past `now`).
                now = max(call["t_ns"], now, sock_clock)
            last = stack.sockets.last
            sock_results.append(sock_steps.perform(stack.sockets, handles, sock_steps.Sock.from_json(st),
                                                   at_ns=now if call is not None else None))
            if stack.sockets.last is not last:
                sock_clock = stack.sockets.last.now_ns
            wire_read = False
        elif kind == "expect":
            exp = Expect.from_json(st)
            start = max(now, expect_from)
            recorded_t = expects_at.get(i, {}).get("t_ns", start)
            hit = None
            # Frames an earlier Expect read in the same batch as its own come first
            # (three writes' segments leave together; each is one Expect's).
            while backlog and hit is None:
                idx = backlog.pop(0)
                if state.matches(exp, bytes(dut_wire[idx])):
                    hit = {"step": i, "frame": idx, "timeout": False, "t_ns": now}
            frames = unread + ([] if wire_read else stack.frames(dev))
            unread = []
            while True:
                for pkt in frames:
                    dut_wire.append(pkt)
                    state.observe(bytes(pkt))
                    if hit is None and state.matches(exp, bytes(pkt)):
                        hit = {"step": i, "frame": len(dut_wire) - 1, "timeout": False, "t_ns": now}
                    elif hit is not None:
                        backlog.append(len(dut_wire) - 1)
                if hit is not None or now - start >= exp.timeout_ms * MS:
                    break
                # First to the time Linux answered, then in 1 ms steps for 50 ms, then coarser.
                if now < recorded_t:
                    target = recorded_t
                elif now - recorded_t < 50 * MS:
                    target = now + MS
                else:
                    target = now + LATE_STEP_NS
                now, frames = stack.run_until_and_frames(min(target, start + exp.timeout_ms * MS), dev)
            wire_read = True
            expect_results.append(hit or {"step": i, "frame": None, "timeout": True, "t_ns": now})
        else:
            raise ValueError(f"{scen.path}: unknown step kind {kind!r}")
    # The caller runs the clock to the end and reads the rest of the wire there.
    dut_wire.extend(unread)
    return dut_wire, sock_results, expect_results, notes, injected, max(scen.duration_ns, now)


def scen_steps(scen) -> list[dict]:
    return json.loads((Path(scen.path) / "scenario.json").read_text())["steps"]


def diff_expects(linux: list[dict], nettwin: list[dict]) -> list[str]:
    """One line per Expect whose outcome (matched or timed out) differs."""
    out = []
    for a, b in zip(linux, nettwin):
        if a["timeout"] != b["timeout"]:
            out.append(f"expect step {a['step']}: linux {'timed out' if a['timeout'] else 'matched'}, "
                       f"nettwin {'timed out' if b['timeout'] else 'matched'}")
    if len(linux) != len(nettwin):
        out.append(f"{len(linux)} expects recorded, {len(nettwin)} replayed")
    return out
