"""Print an skb's path through the stack, one line per transition (pwru style)."""
from __future__ import annotations

from typing import Iterable

from ..client import TraceEvent


def format_event(ev: TraceEvent) -> str:
    """'  0.000000 ms  ip_rcv  skb=1 len=84 ...' (virtual time) for a checkpoint;
    tracepoints keep their group:event name so the two streams cannot be confused."""
    where = ev.name[len("checkpoint:"):] if ev.is_checkpoint else ev.name
    fields = " ".join(f"{k}={v}" for k, v in ev.fields.items())
    return f"{ev.time_ns / 1e6:12.6f} ms  {where:<24} skb={ev.skb:<4} {fields}".rstrip()


def format_path(events: Iterable[TraceEvent], checkpoints_only: bool = True) -> str:
    events = [e for e in events if e.is_checkpoint or not checkpoints_only]
    if not events:
        return "(no transitions recorded)"
    return "\n".join(format_event(e) for e in events)
