"""The readable side-by-side diff of a Comparison: Linux on the left, nettwin on
the right, differing rows marked with "!" in the first column."""
from __future__ import annotations

import itertools
import textwrap

from .compare import Comparison, EventRow, FrameDiff, summary

COL = 50


def _wrap(text: str, width: int = COL) -> list[str]:
    """Long values wrap onto continuation lines (split at spaces where possible)."""
    text = str(text)
    return textwrap.wrap(text, width, break_long_words=True, drop_whitespace=True) or [""]


def _row(mark: str, key: str, left: str, right: str, keyw: int = 22) -> str:
    """One side-by-side row; either side wraps onto more lines when long."""
    lefts, rights = _wrap(left), _wrap(right)
    lines = []
    for i, (a, b) in enumerate(itertools.zip_longest(lefts, rights, fillvalue="")):
        k = key if i == 0 else ""
        lines.append(f"{mark} {k:<{keyw}} {a:<{COL}} | {b}".rstrip())
    return "\n".join(lines)


def render_frame(f: FrameDiff) -> list[str]:
    if not f.differs:
        return [f"  frame {f.index}{' (far)' if f.where else ''}: same  {summary(f.linux)}"]
    out = [f"! frame {f.index}{' (far)' if f.where else ''}:", _row(" ", "", "Linux", "nettwin"),
           _row(" ", "", summary(f.linux), summary(f.nettwin))]
    for key, a, b, differs in f.fields:
        out.append(_row("!" if differs else " ", key, a, b))
    return out


def _event_line(ev) -> str:
    if ev is None:
        return "(no event)"
    skb = "-" if ev.get("skb") is None else ev["skb"]
    return f"{ev['t_ns'] / 1e6:10.3f}ms {ev['name']} skb={skb}"


def _event_fields(ev) -> str:
    if ev is None:
        return ""
    return " ".join(f"{k}={v}" for k, v in ev.get("fields", {}).items())


def render_event(i: int, e: EventRow) -> list[str]:
    mark = "!" if e.differs else " "
    out = [_row(mark, f"event {i}", _event_line(e.linux), _event_line(e.nettwin), keyw=10)]
    if e.linux is None or e.nettwin is None:
        out.append(_row(mark, "", _event_fields(e.linux), _event_fields(e.nettwin), keyw=10))
    for k, a, b in e.fields:
        out.append(_row("!", f"  .{k}", a, b, keyw=10))
    if e.timing:
        out.append(f"! {'':10} {e.timing}")
    return out


def render(c: Comparison) -> str:
    out = []
    for note in c.notes:
        out.append(f"! {note}")
    out.append(f"frames on the wire ({sum(f.linux is not None for f in c.frames)} Linux, "
               f"{sum(f.nettwin is not None for f in c.frames)} nettwin):")
    for f in c.frames:
        out.extend(render_frame(f))
    out.append(f"tracepoint events ({sum(e.linux is not None for e in c.events)} Linux, "
               f"{sum(e.nettwin is not None for e in c.events)} nettwin):")
    out.append(_row(" ", "", "Linux", "nettwin", keyw=10))
    for i, e in enumerate(c.events, 1):
        out.extend(render_event(i, e))
    if c.counters:
        out.append("MIB counter deltas that differ (/proc/net/snmp names):")
        out.append(_row(" ", "", "Linux", "nettwin", keyw=10))
        for d in c.counters:
            out.append(f"! {d.name:<28} {d.linux:>8} | {d.nettwin}")
    return "\n".join(out)
