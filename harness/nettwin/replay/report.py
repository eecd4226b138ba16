"""The text a replay prints: the flows table, the totals, and the first
differences field by field (the conformance comparator's side-by-side view,
over the frames with what frames.blanked leaves out blanked)."""
from __future__ import annotations

from .flows import Difference, FlowMatcher

SHOWN_FLOWS = 20
COLUMNS = ("capture", "stack", "matched", "differing", "missing", "extra")


def flows_table(matcher: FlowMatcher) -> list[str]:
    flows = matcher.dut_flows()
    width = max([len(f.name) for f in flows[:SHOWN_FLOWS]] + [4])
    lines = [f"  {'flow':<{width}} " + " ".join(f"{c:>9}" for c in COLUMNS) + "  own requests (capture/stack)"]
    for f in flows[:SHOWN_FLOWS]:
        c = f.counts()
        mark = "!" if c["differing"] or c["missing"] or c["extra"] else " "
        lines.append(f"{mark} {f.name:<{width}} " + " ".join(f"{c[k]:>9}" for k in COLUMNS)
                     + f"  {c['own_capture']}/{c['own_stack']}")
    if len(flows) > SHOWN_FLOWS:
        lines.append(f"  (and {len(flows) - SHOWN_FLOWS} more flows)")
    return lines


def _shown(item):
    """A blanked frame as Scapy shows it: checksums recomputed (they were blanked
    on both sides), the capture time left out (both sides' clocks differ)."""
    from scapy.layers.inet import IP, TCP   # here: importing Scapy takes 0.5 s, only a difference needs it
    from scapy.layers.l2 import Ether
    pkt = Ether(item[2])
    for layer in (IP, TCP):
        if layer in pkt:
            del pkt[layer].chksum
    pkt = Ether(bytes(pkt))
    pkt.time = 0
    return pkt


def render_difference(i: int, d: Difference) -> list[str]:
    from ..comparison.compare import compare_frame
    from ..comparison.sidebyside import render_frame
    what = {"differs": "the DUT's answer and the stack's differ",
            "missing": "the DUT answered, the stack did not",
            "extra": "the stack answered, the DUT did not"}[d.kind]
    where = []
    if d.capture:
        where.append(f"capture frame {d.capture[1]} at {d.capture[0] / 1e9:.6f}")
    if d.stack:
        where.append(f"stack frame {d.stack[1]} at {d.stack[0] / 1e9:.6f}")
    head = f"! difference {i}: {d.flow}: {what} ({'; '.join(where)})"
    diff = compare_frame(i, _shown(d.capture) if d.capture else None, _shown(d.stack) if d.stack else None)
    return [head] + render_frame(diff)[1:]


def render(matcher: FlowMatcher, dut_line: str) -> tuple[str, int]:
    """The report, and how many differences it found."""
    t = matcher.totals()
    bad = t["differing"] + t["missing"] + t["extra"]
    lines = [dut_line,
             f"flows with DUT frames: {t['flows']} (answers paired in order within each flow; "
             "the DUT's own requests counted, not compared)"]
    lines += flows_table(matcher)
    lines.append(f"total: the capture's DUT sent {t['capture']} frames ({t['own_capture']} its own requests), "
                 f"the stack {t['stack']} ({t['own_stack']}); matched {t['matched']}, differing "
                 f"{t['differing']}, missing {t['missing']}, extra {t['extra']}")
    if t["later"]:
        lines.append(f"not compared: {t['later']} frames the stack sent after the input ended (+ settle)")
    if matcher.examples:
        lines.append(f"the first {len(matcher.examples)} of {bad} differences:")
        for i, d in enumerate(matcher.examples, 1):
            lines += render_difference(i, d)
    lines.append("no differences" if not bad else f"{bad} differences")
    return "\n".join(lines), bad
