"""A comparison as plain rows for the reports: text and booleans only (no Scapy
packets), so that it crosses process boundaries (conform -j) and the HTML report
lays it out as tables. The same cells as the text diff (sidebyside.py)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .compare import Comparison, summary
from .sidebyside import _event_fields as event_fields, _event_line as event_line


@dataclass
class Row:
    key: str
    linux: str
    nettwin: str
    differs: bool


@dataclass
class FrameView:
    label: str                    # "frame 2", "frame 3 (far)"
    linux: str                    # the frame's summary line
    nettwin: str
    differs: bool
    rows: list[Row] = field(default_factory=list)      # every field; empty for a frame alike on both sides
    skb_path: list[dict] = field(default_factory=list)  # the twin's skb behind a differing frame


@dataclass
class EventView:
    label: str                    # "event 7"
    linux: str
    nettwin: str
    differs: bool
    rows: list[Row] = field(default_factory=list)      # the fields that differ (or all of a lone event's)
    timing: Optional[str] = None


@dataclass
class DiffView:
    notes: list[str]
    frames: list[FrameView]
    events: list[EventView]
    counters: list[Row]


def diff_view(c: Comparison, skb_paths: Optional[dict] = None) -> DiffView:
    skb_paths = skb_paths or {}
    frames = []
    for f in c.frames:
        label = f"frame {f.index}{' (far)' if f.where else ''}"
        rows = [Row(k, str(a), str(b), d) for k, a, b, d in f.fields] if f.differs else []
        frames.append(FrameView(label, summary(f.linux), summary(f.nettwin), f.differs, rows,
                                skb_paths.get(f.index, [])))
    events = []
    for i, e in enumerate(c.events, 1):
        rows = [Row(k, str(a), str(b), True) for k, a, b in e.fields]
        if e.linux is None or e.nettwin is None:
            rows.insert(0, Row("fields", event_fields(e.linux), event_fields(e.nettwin), True))
        events.append(EventView(f"event {i}", event_line(e.linux), event_line(e.nettwin), e.differs, rows,
                                e.timing))
    counters = [Row(d.name, str(d.linux), str(d.nettwin), True) for d in c.counters]
    return DiffView(list(c.notes), frames, events, counters)
