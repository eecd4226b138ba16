"""What a difference between Linux and nettwin is, by cause: a frame field, a frame
one side sent and the other did not, the order of events, a drop reason, an event
field, a timer's timing, a socket call's errno or other result, a MIB counter.

classify(comparison) -> sorted unique Cause(kind, detail); kind is one of KINDS.
The detail is short and free of per-run values (skb ordinals, times), so the same
bug in two scenarios gives the same cause and the causes can be counted."""
from __future__ import annotations

import ast
import re
from collections import Counter
from dataclasses import dataclass

KINDS = ("frame field", "frame missing", "frame extra", "event order", "drop reason", "event missing",
         "event extra", "event field", "timing", "errno", "socket result", "counter", "note", "error")

_SOCK_NOTE = re.compile(r"^socket step (\d+) (\w+)\((\S+)\): linux (\{.*\}) / nettwin (\{.*\})$")


@dataclass(frozen=True, order=True)
class Cause:
    kind: str
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"

    def to_json(self) -> list:
        return [self.kind, self.detail]


def _frame_what(pkt) -> str:
    """A frame's kind without its addresses: 'ARP op 2', 'ICMP 3/3', 'UDP'."""
    from scapy.layers.inet import ICMP, IP, UDP, TCP
    from scapy.layers.l2 import ARP
    if pkt.haslayer(ARP):
        return f"ARP op {pkt[ARP].op}"
    if pkt.haslayer(ICMP):
        return f"ICMP {pkt[ICMP].type}/{pkt[ICMP].code}"
    for layer in (UDP, TCP):
        if pkt.haslayer(layer):
            return layer.__name__
    if pkt.haslayer(IP):
        return f"IP proto {pkt[IP].proto}"
    return pkt.lastlayer().__class__.__name__


def _event_what(ev: dict) -> str:
    f = ev.get("fields", {})
    if ev["name"] == "skb:kfree_skb":
        return f"skb:kfree_skb {f.get('reason', '?')}@{f.get('location', '?')}"
    return ev["name"]


def frame_causes(frames) -> list[Cause]:
    out = []
    for f in frames:
        if not f.differs:
            continue
        if f.nettwin is None:
            out.append(Cause("frame missing", f"{_frame_what(f.linux)} (Linux sent it, nettwin did not)"))
        elif f.linux is None:
            out.append(Cause("frame extra", f"{_frame_what(f.nettwin)} (nettwin sent it, Linux did not)"))
        else:
            for key, a, b, differs in f.fields:
                if differs:
                    out.append(Cause("frame field", f"{_frame_what(f.linux)} {key}"))
    return out


def event_causes(rows) -> list[Cause]:
    out = []
    only_linux = [r.linux for r in rows if r.nettwin is None]
    only_nettwin = [r.nettwin for r in rows if r.linux is None]
    a = Counter(_event_what(e) for e in only_linux)
    b = Counter(_event_what(e) for e in only_nettwin)
    same = a & b                      # present on both sides, at other places: order
    for what in sorted(same):
        out.append(Cause("event order", what))
    for what in sorted(a - same):
        kind = "drop reason" if what.startswith("skb:kfree_skb") else "event missing"
        out.append(Cause(kind, f"{what} only in Linux"))
    for what in sorted(b - same):
        kind = "drop reason" if what.startswith("skb:kfree_skb") else "event extra"
        out.append(Cause(kind, f"{what} only in nettwin"))
    for r in rows:
        if r.linux is None or r.nettwin is None:
            continue
        for key, va, vb in r.fields:
            if r.linux["name"] == "skb:kfree_skb" and key in ("reason", "location"):
                out.append(Cause("drop reason", f"{key} Linux {va} / nettwin {vb}"))
            else:
                out.append(Cause("event field", f"{r.linux['name']}.{key}"))
        if r.timing:
            out.append(Cause("timing", r.linux["name"]))
    return out


def note_causes(notes) -> list[Cause]:
    out = []
    for n in notes:
        m = _SOCK_NOTE.match(n)
        if not m:
            out.append(Cause("note", re.sub(r"\d+", "N", n)[:80]))
            continue
        op = m.group(2)
        try:
            want, have = ast.literal_eval(m.group(4)), ast.literal_eval(m.group(5))
        except (ValueError, SyntaxError):
            out.append(Cause("socket result", f"{op} (unparsed)"))
            continue
        if want.get("errno") != have.get("errno"):
            out.append(Cause("errno", f"{op}: Linux {want.get('errno') or 'ok'} / nettwin {have.get('errno') or 'ok'}"))
            continue
        keys = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k))
        out.append(Cause("socket result", f"{op}: {','.join(keys)}"))
    return out


def counter_causes(counters) -> list[Cause]:
    return [Cause("counter", c.name) for c in counters]


def classify(comparison) -> list[Cause]:
    if comparison is None:
        return [Cause("error", "no comparison")]
    causes = (frame_causes(comparison.frames) + event_causes(comparison.events)
              + note_causes(comparison.notes) + counter_causes(comparison.counters))
    return sorted(set(causes))


def classify_result(result) -> list[Cause]:
    """A ConformResult's causes (a replay the stack refused is an error)."""
    if result.error:
        return [Cause("error", re.sub(r"\d+", "N", result.error)[:100])]
    return classify(result.comparison)
