"""The capture's DUT against the stack, flow by flow (frames.py says what a flow
is). Both streams are read once, merged in time order (the stack's frames carry
the capture's timeline): the capture's frames from the peers to the DUT, the
capture's DUT frames and the stack's frames.

Each DUT frame, on either side, is an answer or one of the DUT's own requests:
its own requests are the requests by nature (ARP and ICMP requests, a SYN),
every frame of a flow the DUT opened (its frame came before any peer's: a
replay cannot make the DUT open a connection, so what it would answer there is
not expected of the stack) and TCP retransmissions (data sent again: its timer's,
not an answer). The DUT's own requests are counted, not compared. The answers of
a flow pair up in order, the capture's DUT's with the stack's, each within
`window_ns` of the other; a pair is matched when the frames are equal but for
what frames.blanked leaves out, differing otherwise; an answer left without a
partner is missing (the capture's) or extra (the stack's). Memory holds the
flows' counters and the answers waiting for a partner, not the capture."""
from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .frames import blanked, flow_name, parse, signature, tcp_numbers
from .pcapstream import Record

CAPTURE, STACK = 0, 1
SWEEP_EVERY = 65536    # frames between sweeps of answers left waiting too long
KINDS = 1 << 16        # frames.signature()s remembered (then forgotten, all at once: memory bound)
BLANK_NONE, BLANK_IP, BLANK_ALL = 0, 1, 2   # a frame kind's blanking: none, the IPv4 ID and checksum, blanked()


@dataclass(slots=True)
class Side:
    """One side's DUT in one flow: the capture's or the stack's."""
    opened: Optional[bool] = None   # did this DUT send the flow's first frame?
    seq_base: Optional[int] = None  # its first TCP seq in the flow (its ISN after a SYN)
    seq_high: int = 0               # the highest end of its TCP sequence space, relative
    pending: Optional[deque] = None  # (ts_ns, record number, blanked, raw); made for the first (memory)


@dataclass(slots=True)
class Flow:
    name: str
    index: int = 0          # the flow's place in the order flows were first seen
    peer: int = 0
    frames: list = field(default_factory=lambda: [0, 0])   # DUT frames: capture, stack
    own: list = field(default_factory=lambda: [0, 0])      # of them, the DUT's own requests
    matched: int = 0
    differing: int = 0
    missing: int = 0
    extra: int = 0
    peer_seen: bool = False
    sides: tuple = field(default_factory=lambda: (Side(), Side()))
    digest: object = None   # of the stack's frames, blanked: a hashlib.sha256 from the first (memory)

    def counts(self) -> dict:
        return {"capture": self.frames[CAPTURE], "stack": self.frames[STACK], "peer": self.peer,
                "own_capture": self.own[CAPTURE], "own_stack": self.own[STACK],
                "matched": self.matched, "differing": self.differing, "missing": self.missing,
                "extra": self.extra, "stack_sha256": (self.digest or hashlib.sha256()).hexdigest()[:16]}


@dataclass(slots=True)
class Difference:
    kind: str                 # "differs", "missing", "extra"
    flow: str
    capture: Optional[tuple]  # (ts_ns, record number, blanked bytes, raw bytes)
    stack: Optional[tuple]


class FlowMatcher:
    def __init__(self, dut_mac: bytes, window_ns: int, max_diffs: int):
        self.dut_mac = dut_mac
        self.window_ns = window_ns
        self.max_diffs = max_diffs
        self.flows: dict[tuple, Flow] = {}
        self.examples: list[Difference] = []
        self.later = 0            # stack frames after the capture ended (+ window): not compared
        self._seen = 0
        self._kinds: dict = {}    # frames.signature -> (flow, request by nature, TCP?): parsed once
        self._waiting: dict = {}  # flows that had an answer waiting at the last sweep or since, by index

    # ------------------------------------------------------------ feeding

    def run(self, capture: Iterable[Record], stack: Iterable[Record], tick=lambda n: None) -> None:
        """Both streams, merged by time; a stack frame at the same instant as a capture
        frame comes after it (an answer follows what it answers). The stack's frames
        later than the capture's last + the window are counted, not compared: the
        tool runs the stack until idle, so timers fire that the capture never saw.
        `tick` is told the frames read, SWEEP_EVERY at a time. (One loop, its steps
        written out: it runs a million times a replay.)"""
        dut_mac, kinds, dut = self.dut_mac, self._kinds, self._dut_frame_fn()
        stack_it = iter(stack)
        pending_stack = next(stack_it, None)
        last = None
        seen, sweep_at = self._seen, self._seen - self._seen % SWEEP_EVERY + SWEEP_EVERY
        for number, ts, data in capture:
            while pending_stack is not None and pending_stack[1] < ts:
                dut(STACK, *pending_stack)
                seen += 1
                if seen == sweep_at:
                    self._sweep(pending_stack[1])
                    tick(SWEEP_EVERY)
                    sweep_at += SWEEP_EVERY
                pending_stack = next(stack_it, None)
            if data[6:12] == dut_mac:
                dut(CAPTURE, number, ts, data)
            elif data[0:6] == dut_mac or data[0] & 1:
                key = signature(data)
                kind = kinds.get(key) if key is not None else None
                flow = (kind or self._new_kind(key, data))[0]
                flow.peer += 1
                flow.peer_seen = True
            seen += 1
            if seen == sweep_at:
                self._sweep(ts)
                tick(SWEEP_EVERY)
                sweep_at += SWEEP_EVERY
            last = ts
        end = None if last is None else last + self.window_ns
        while pending_stack is not None:
            if end is not None and pending_stack[1] > end:
                self.later += 1
            else:
                dut(STACK, *pending_stack)
                seen += 1
                if seen == sweep_at:
                    self._sweep(pending_stack[1])
                    tick(SWEEP_EVERY)
                    sweep_at += SWEEP_EVERY
            pending_stack = next(stack_it, None)
        tick(seen % SWEEP_EVERY + self.later)
        self._seen = seen
        self.finish()

    def _flow(self, key: tuple) -> Flow:
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = Flow(flow_name(key), index=len(self.flows))
        return flow

    def _new_kind(self, key: Optional[bytes], data: bytes) -> tuple:
        """(flow, request by nature, the frame's TCP numbers or None, how to blank it)
        of a frame parsed whole; remembered by its signature (if it has one) with
        whether it is TCP in the place of its numbers (frames of one signature differ in them)."""
        f = parse(data)
        flow = self._flow(f.flow)
        if key is not None:
            blank = BLANK_ALL if f.tcp or data[23] == 1 and data[34] == 14 else (
                BLANK_IP if data[12:14] == b"\x08\x00" else BLANK_NONE)
            if len(self._kinds) >= KINDS:
                self._kinds.clear()
            self._kinds[key] = (flow, f.request, f.tcp is not None, blank)
        return flow, f.request, f.tcp, BLANK_ALL

    def _sweep(self, now_ns: int) -> None:
        """Answers left waiting too long, flow by flow in the flows' order."""
        waiting = self._waiting
        for index in sorted(waiting):
            self._expire(waiting[index], now_ns)
        for index in [i for i, f in waiting.items() if not (f.sides[CAPTURE].pending or f.sides[STACK].pending)]:
            sides = waiting.pop(index).sides
            sides[CAPTURE].pending = sides[STACK].pending = None     # an empty deque is 600 bytes

    # ------------------------------------------------------------ classifying and pairing

    def _dut_frame_fn(self):
        """The function that takes the DUT's frames, its names bound (it runs a
        million times a replay): each frame classified, blanked, paired or counted."""
        kinds, new_kind, waiting, window_ns = self._kinds, self._new_kind, self._waiting, self.window_ns
        examples, max_diffs, example, expire = self.examples, self.max_diffs, self._example, self._expire

        def dut_frame(side: int, number: int, ts: int, data: bytes) -> None:
            key = signature(data)
            kind = kinds.get(key) if key is not None else None
            if kind is not None:
                flow, request, tcp, blank = kind
                tcp = tcp_numbers(data) if tcp else None
            else:
                flow, request, tcp, blank = new_kind(key, data)
            s = flow.sides[side]
            flow.frames[side] += 1
            if s.opened is None:
                s.opened = not flow.peer_seen
            own = request or s.opened
            if tcp is not None:
                seq, length = tcp[0], tcp[1]
                if s.seq_base is None:
                    s.seq_base = seq
                end = (seq - s.seq_base + length) & 0xFFFFFFFF
                if length and end <= s.seq_high:
                    own = True      # sent again: a retransmission
                if end > s.seq_high:
                    s.seq_high = end
                frame = blanked(data, s.seq_base)
            elif blank == BLANK_IP:     # blanked()'s result, written out
                frame = data[:18] + b"\0\0" + data[20:24] + b"\0\0" + data[26:]
            else:
                frame = blanked(data, None) if blank else data
            if side:
                if flow.digest is None:
                    flow.digest = hashlib.sha256()
                flow.digest.update(frame)
            if own:
                flow.own[side] += 1
                return
            mine, theirs = flow.sides[CAPTURE].pending, flow.sides[STACK].pending
            cutoff = ts - window_ns
            if (mine and mine[0][0] < cutoff) or (theirs and theirs[0][0] < cutoff):
                expire(flow, ts)
            if s.pending is None:
                s.pending = deque()
                mine, theirs = flow.sides[CAPTURE].pending, flow.sides[STACK].pending
            s.pending.append((ts, number, frame, data))
            waiting[flow.index] = flow
            while mine and theirs:
                a, b = mine.popleft(), theirs.popleft()
                if a[2] == b[2]:
                    flow.matched += 1
                else:
                    flow.differing += 1
                    if len(examples) < max_diffs:
                        example("differs", flow, a, b)
        return dut_frame

    def _expire(self, flow: Flow, now_ns: int) -> None:
        for side, kind in ((CAPTURE, "missing"), (STACK, "extra")):
            waiting = flow.sides[side].pending
            while waiting and waiting[0][0] < now_ns - self.window_ns:
                self._unpaired(flow, kind, waiting.popleft())

    def _unpaired(self, flow: Flow, kind: str, item: tuple) -> None:
        if kind == "missing":
            flow.missing += 1
            self._example(kind, flow, item, None)
        else:
            flow.extra += 1
            self._example(kind, flow, None, item)

    def _example(self, kind: str, flow: Flow, capture, stack) -> None:
        if len(self.examples) < self.max_diffs:
            self.examples.append(Difference(kind, flow.name, capture, stack))

    def finish(self) -> None:
        self._sweep(1 << 63)

    # ------------------------------------------------------------ results

    def dut_flows(self) -> list[Flow]:
        """The flows with a DUT frame on either side, most frames first."""
        flows = [f for f in self.flows.values() if f.frames[CAPTURE] or f.frames[STACK]]
        return sorted(flows, key=lambda f: (-(f.frames[CAPTURE] + f.frames[STACK]), f.name))

    def totals(self) -> dict:
        flows = [f for f in self.flows.values() if f.frames[CAPTURE] or f.frames[STACK]]
        total = {"capture": sum(f.frames[CAPTURE] for f in flows), "stack": sum(f.frames[STACK] for f in flows),
                 "own_capture": sum(f.own[CAPTURE] for f in flows), "own_stack": sum(f.own[STACK] for f in flows),
                 "matched": sum(f.matched for f in flows), "differing": sum(f.differing for f in flows),
                 "missing": sum(f.missing for f in flows), "extra": sum(f.extra for f in flows)}
        total["flows"] = len(flows)
        total["later"] = self.later
        return total
