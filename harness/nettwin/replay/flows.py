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

from .frames import flow_name, parse, blanked
from .pcapstream import Record

CAPTURE, STACK = 0, 1
SWEEP_EVERY = 65536    # frames between sweeps of answers left waiting too long


@dataclass
class Side:
    """One side's DUT in one flow: the capture's or the stack's."""
    opened: Optional[bool] = None   # did this DUT send the flow's first frame?
    seq_base: Optional[int] = None  # its first TCP seq in the flow (its ISN after a SYN)
    seq_high: int = 0               # the highest end of its TCP sequence space, relative
    pending: deque = field(default_factory=deque)  # (ts_ns, record number, blanked, raw)


@dataclass
class Flow:
    name: str
    peer: int = 0
    frames: list = field(default_factory=lambda: [0, 0])   # DUT frames: capture, stack
    own: list = field(default_factory=lambda: [0, 0])      # of them, the DUT's own requests
    matched: int = 0
    differing: int = 0
    missing: int = 0
    extra: int = 0
    peer_seen: bool = False
    sides: tuple = field(default_factory=lambda: (Side(), Side()))
    digest: object = field(default_factory=hashlib.sha256)  # of the stack's frames, blanked

    def counts(self) -> dict:
        return {"capture": self.frames[CAPTURE], "stack": self.frames[STACK], "peer": self.peer,
                "own_capture": self.own[CAPTURE], "own_stack": self.own[STACK],
                "matched": self.matched, "differing": self.differing, "missing": self.missing,
                "extra": self.extra, "stack_sha256": self.digest.hexdigest()[:16]}


@dataclass
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

    # ------------------------------------------------------------ feeding

    def run(self, capture: Iterable[Record], stack: Iterable[Record], tick=lambda: None) -> None:
        """Both streams, merged by time; a stack frame at the same instant as a capture
        frame comes after it (an answer follows what it answers). The stack's frames
        later than the capture's last + the window are counted, not compared: the
        tool runs the stack until idle, so timers fire that the capture never saw."""
        stack_it = iter(stack)
        pending_stack = next(stack_it, None)
        last = None
        for rec in capture:
            while pending_stack is not None and pending_stack.ts_ns < rec.ts_ns:
                self.stack_frame(pending_stack, None)
                tick()
                pending_stack = next(stack_it, None)
            self.capture_frame(rec)
            last = rec.ts_ns
            tick()
        end = None if last is None else last + self.window_ns
        while pending_stack is not None:
            self.stack_frame(pending_stack, end)
            tick()
            pending_stack = next(stack_it, None)
        self.finish()

    def _flow(self, key: tuple) -> Flow:
        flow = self.flows.get(key)
        if flow is None:
            flow = self.flows[key] = Flow(flow_name(key))
        return flow

    def capture_frame(self, rec: Record) -> None:
        data = rec.data
        if data[6:12] == self.dut_mac:
            self._dut_frame(CAPTURE, rec)
        elif data[0:6] == self.dut_mac or data[0] & 1:
            flow = self._flow(parse(data).flow)
            flow.peer += 1
            flow.peer_seen = True
        self._tick(rec.ts_ns)

    def stack_frame(self, rec: Record, end_ns: Optional[int]) -> None:
        if end_ns is not None and rec.ts_ns > end_ns:
            self.later += 1
            return
        self._dut_frame(STACK, rec)
        self._tick(rec.ts_ns)

    def _tick(self, now_ns: int) -> None:
        self._seen += 1
        if self._seen % SWEEP_EVERY == 0:
            for flow in self.flows.values():
                self._expire(flow, now_ns)

    # ------------------------------------------------------------ classifying and pairing

    def _dut_frame(self, side: int, rec: Record) -> None:
        f = parse(rec.data)
        flow = self._flow(f.flow)
        s = flow.sides[side]
        flow.frames[side] += 1
        if s.opened is None:
            s.opened = not flow.peer_seen
        own = f.request or s.opened
        if f.tcp:
            seq, length, _, _ = f.tcp
            if s.seq_base is None:
                s.seq_base = seq
            end = (seq - s.seq_base + length) & 0xFFFFFFFF
            if length and end <= s.seq_high:
                own = True      # sent again: a retransmission
            s.seq_high = max(s.seq_high, end)
        frame = blanked(rec.data, s.seq_base if f.tcp else None)
        if side == STACK:
            flow.digest.update(frame)
        if own:
            flow.own[side] += 1
            return
        self._expire(flow, rec.ts_ns)
        s.pending.append((rec.ts_ns, rec.number, frame, rec.data))
        mine, theirs = flow.sides[CAPTURE].pending, flow.sides[STACK].pending
        while mine and theirs:
            a, b = mine.popleft(), theirs.popleft()
            if a[2] == b[2]:
                flow.matched += 1
            else:
                flow.differing += 1
                self._example("differs", flow, a, b)

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
        for flow in self.flows.values():
            self._expire(flow, 1 << 63)

    # ------------------------------------------------------------ results

    def dut_flows(self) -> list[Flow]:
        """The flows with a DUT frame on either side, most frames first."""
        flows = [f for f in self.flows.values() if f.frames[CAPTURE] or f.frames[STACK]]
        return sorted(flows, key=lambda f: (-(f.frames[CAPTURE] + f.frames[STACK]), f.name))

    def totals(self) -> dict:
        flows = [f.counts() for f in self.dut_flows()]
        total = {k: sum(f[k] for f in flows)
                 for k in ("capture", "stack", "own_capture", "own_stack", "matched", "differing",
                           "missing", "extra")}
        total["flows"] = len(flows)
        total["later"] = self.later
        return total
