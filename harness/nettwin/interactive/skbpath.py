"""An skb path as the shell's path() prints it, in pwru's layout and within 100
columns: time, skb, function, length, the skb's tuple (from its bytes, as pwru
reads them), and a checkpoint's verdict or a drop's reason inline. Where the
tuple and the reason do not both fit, the reason stays: the skb's tuple stands
on its other lines."""
from __future__ import annotations

import textwrap
from typing import Iterable

from ..client import TraceEvent
from .pwru import describe

WIDTH = 100
HEADER = f"{'TIME(ms)':>12} {'SKB':>4} {'FUNCTION':<26} {'LEN':>5} TUPLE"


def skb_tuples(events: Iterable[TraceEvent]) -> dict[int, str]:
    """Each skb's tuple, from the first event that carries its bytes."""
    tuples: dict[int, str] = {}
    for ev in events:
        frame = ev.fields.get("frame")
        if frame and ev.skb not in tuples:
            tuples[ev.skb] = describe(bytes.fromhex(frame), ev.fields.get("frame_layer", "l2"))[1]
    return tuples


def format_event(ev: TraceEvent, tuples: dict[int, str]) -> str:
    """One transition. Checkpoints by their function, tracepoints by group:event,
    so the two streams cannot be confused."""
    where = ev.name[len("checkpoint:"):] if ev.is_checkpoint else ev.name
    line = f"{ev.time_ns / 1e6:12.6f} {ev.skb:>4} {where:<26} {ev.fields.get('len', '-'):>5}"
    if ev.name == "skb:kfree_skb":
        note = f"drop: {ev.fields.get('reason', '?')}"
    elif ev.fields.get("verdict"):
        note = f"[{ev.fields['verdict']}]"
    else:
        note = ""
    tup = tuples.get(ev.skb, "")
    both = f"{line} {tup}  {note}" if tup else f"{line} {note}"
    candidates = [both, f"{line} {note}", f"{line} {tup}", line] if note else [f"{line} {tup}", line]
    return next((c.rstrip() for c in candidates if len(c.rstrip()) <= WIDTH), candidates[-1].rstrip())


SKB_FIELDS = ("len", "data_len", "head", "data", "tail", "end", "users", "dataref", "cloned", "protocol",
              "pkt_type", "dev")


def format_path(events: Iterable[TraceEvent], checkpoints_only: bool = True, skb_fields: bool = False) -> str:
    """The path, one line per transition; skb_fields: each checkpoint's skb state
    on a line under it (pwru's --output-skb)."""
    events = list(events)
    tuples = skb_tuples(events)
    shown = [e for e in events if e.is_checkpoint or (not checkpoints_only or e.name == "skb:kfree_skb")]
    if not shown:
        return "(no transitions recorded)"
    lines = [HEADER]
    for ev in shown:
        lines.append(format_event(ev, tuples))
        if skb_fields and ev.is_checkpoint:
            state = " ".join(f"{k}={ev.fields[k]}" for k in SKB_FIELDS if k in ev.fields)
            lines += textwrap.wrap(state, WIDTH, initial_indent=" " * 20, subsequent_indent=" " * 20)
    return "\n".join(lines)
