"""Compare what the stack did with what Linux did: frames field by field over the
Scapy dissection (every layer, every field), and normalized tracepoint events by
name, skb ordinal and fields, in order. Random-by-design fields are normalized on
both sides, and clock readings are held to each side's own clock; a checksum that
covers a normalized field is checked for validity on each side instead of for
equality, so it still catches a wrong checksum."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

from ..client.frame import Frame
from . import flat, neigh_probes, timebase
from .checksums import checksum_pair, layers
from .normalize import canonical_location

if TYPE_CHECKING:
    from scapy.packet import Packet

# (layer class name, field): random by design in Linux (ip_idents hash for frames
# without DF), so never compared for equality.
RANDOM_FIELDS = {("IP", "id")}
RANDOM_MARK = "(random by design)"
# (layer class name, field): the sender's clock as milliseconds since midnight UT
# (an ICMP timestamp reply's receive and transmit times, inet_current_timestamp).
# Linux's is the recording machine's wall clock, the stack's its virtual clock
# (virtual 0 is midnight), so neither is compared with the other's bytes: each
# must read, within TIME_TOLERANCE_MS, the capture time of its own frame (pkt.time
# on the same clock: pcap's CLOCK_REALTIME, the stack's virtual seconds).
TIME_FIELDS = {("ICMP", "ts_rx"), ("ICMP", "ts_tx")}
TIME_TOLERANCE_MS = 20
MS_PER_DAY = 86_400_000
# Checksums covering a random or time field: compared as "valid"/"invalid" on each side.
CHECKSUMS_OF_NORMALIZED = {"IP": "chksum", "ICMP": "chksum"}
# A TCP TSval made relative to its connection's first (tcp_relative.py, which
# marks each such frame with ts_frame_ms): the sender's ms clock when the frame
# left. A timer-driven frame (a retransmission) leaves when each side's timer
# wheel fires it, a granule apart at most (timebase.py, compared on the events),
# so the TSval is held to its own frame's time, within TS_TOLERANCE_MS (the ms
# clock's truncation and the capture's delay), not to the other side's value.
TS_TOLERANCE_MS = 3
SYNCOOKIE_TS_RANGE_MS = 63  # cookie_init_timestamp: the TSval's low 6 bits are the options

# Events whose Linux time is this long after the last sent frame are timer driven:
# their timing is compared, within the granularity of the timer-wheel level such a
# timeout lands on (timebase.py: Linux's timers fire up to a granule late, 2 s for
# a 30 s one). Frame-triggered events are not timed: Linux's real-time processing
# delays mean nothing for a virtual clock.
TIMER_DRIVEN_AFTER_NS = 100_000_000


# ---------------------------------------------------------------- frames

def checksum_verdict(pkt: Packet, index: int, fname: str) -> str:
    """Is the checksum field of the index-th layer right for the bytes it covers?
    Read off the bytes where checksums.py can; other layers rebuilt by Scapy."""
    pair = checksum_pair(pkt, index) if fname == "chksum" else None
    if pair is not None:
        had, should = pair
        return "valid" if had == should else f"INVALID (0x{had:04x}, should be 0x{should:04x})"
    try:
        copy = pkt.__class__(bytes(pkt))
        layer = layers(copy)[index]
        had = layer.getfieldval(fname)
        layer.fields.pop(fname, None)
        layer.setfieldval(fname, None)
        should = layers(pkt.__class__(bytes(copy)))[index].getfieldval(fname)
    except Exception as e:  # a mangled frame Scapy cannot rebuild
        return f"unverifiable ({type(e).__name__})"
    if had == should:
        return "valid"
    return f"INVALID (0x{had:04x}, should be 0x{should:04x})"


def present_fields(layer: Packet) -> list:
    """The layer's fields that exist on the wire (a ConditionalField whose
    condition is false, such as ICMP's ts_ori in an echo reply, does not)."""
    from scapy.fields import ConditionalField
    return [f for f in layer.fields_desc
            if not (isinstance(f, ConditionalField) and not f._evalcond(layer))]


def time_of_day_verdict(pkt: Packet, ms: int) -> tuple[str, str]:
    """(shown, compared) for a time field holding ms: how far it is from the
    frame's own capture time, as milliseconds since midnight UT."""
    frame_ms = int(round(float(pkt.time) * 1000)) % MS_PER_DAY
    off = (ms - frame_ms + MS_PER_DAY // 2) % MS_PER_DAY - MS_PER_DAY // 2
    shown = f"{ms} ms since midnight UT ({off:+d} ms from its frame)"
    if abs(off) <= TIME_TOLERANCE_MS:
        return shown, f"the frame's time (within {TIME_TOLERANCE_MS} ms)"
    return shown, f"{off:+d} ms off the frame's time"


def tcp_options_verdict(pkt: Packet, options: list) -> tuple[str, object]:
    """(shown, compared) for TCP options whose TSval is relative (pkt.ts_frame_ms
    set): the TSval compares as its frame's time when it reads it."""
    frame_ms = getattr(pkt, "ts_frame_ms", None)
    if frame_ms is None:
        return str(options), options
    shown, compared = [], []
    for name, value in options:
        if name == "Timestamp":
            tsval = value[0] - (1 << 32) if value[0] >= 1 << 31 else value[0]  # a SYN-ACK's can precede the base
            off = tsval - frame_ms
            # A SYN-ACK's TSval may be a syncookie's: up to 63 ms below the clock.
            low = -(SYNCOOKIE_TS_RANGE_MS + TS_TOLERANCE_MS) if getattr(pkt, "ts_synack", False) else -TS_TOLERANCE_MS
            if low <= off <= TS_TOLERANCE_MS:
                shown.append((name, (value[0], value[1])))
                compared.append((name, ("its frame's time", value[1])))
                continue
            # A stale TSval (an ICMP's tcp_simple_retransmit keeps the last clock refresh):
            # compared to the whole ms, finer than the frames' capture times agree (Linux's
            # softirq takes ~0.1 ms that the twin's virtual clock does not).
            shown.append((name, (value[0], value[1]), f"{off:+.1f} ms off its frame's time"))
            compared.append((name, (f"{round(off):+d} ms off its frame's time", value[1])))
            continue
        shown.append((name, value))
        compared.append((name, value))
    return str(shown), compared


def flatten(pkt) -> list[tuple[str, str, object]]:
    """(key, shown value, compared value) for every field of every layer (of Scapy's
    dissection: a Frame is dissected), with random and time fields and their checksums
    normalized. Keys are "IP.ttl"; a layer class seen twice gets "#2"."""
    if isinstance(pkt, Frame):
        pkt = pkt.packet()
    rows, seen = [], {}
    for i, layer in enumerate(layers(pkt)):
        cls = layer.__class__.__name__
        seen[cls] = seen.get(cls, 0) + 1
        prefix = cls if seen[cls] == 1 else f"{cls}#{seen[cls]}"
        fields = present_fields(layer)
        normalized_here = any((cls, f.name) in RANDOM_FIELDS | TIME_FIELDS for f in fields)
        for fld in fields:
            key = f"{prefix}.{fld.name}"
            val = layer.getfieldval(fld.name)
            if (cls, fld.name) in RANDOM_FIELDS:
                rows.append((key, RANDOM_MARK, RANDOM_MARK))
                continue
            if (cls, fld.name) in TIME_FIELDS:
                rows.append((key, *time_of_day_verdict(pkt, int(val))))
                continue
            if cls == "TCP" and fld.name == "options" and getattr(pkt, "ts_frame_ms", None) is not None:
                rows.append((key, *tcp_options_verdict(pkt, val)))
                continue
            if cls == "TCP" and fld.name == "chksum" and getattr(pkt, "ts_frame_ms", None) is not None:
                verdict = checksum_verdict(pkt, i, fld.name)   # it covers the TSval
                rows.append((key, verdict, verdict))
                continue
            if CHECKSUMS_OF_NORMALIZED.get(cls) == fld.name and normalized_here:
                verdict = checksum_verdict(pkt, i, fld.name)
                rows.append((key, f"{verdict}", verdict))
                continue
            try:
                shown = str(fld.i2repr(layer, val))
            except Exception:
                shown = repr(val)
            rows.append((key, shown if shown else "(none)", val))
    return rows


def summary(pkt: Optional[Packet]) -> str:
    if pkt is None:
        return "(no frame)"
    return f"{pkt.summary()} [{len(bytes(pkt))} bytes]"


class FrameDiff:
    """One wire position: Linux's frame and the twin's (Frames or Scapy packets), and
    fields, (key, linux shown, nettwin shown, differs) for every field of both. Frames
    alike in every compared value (flat.py, off their bytes) get their fields from
    Scapy only when asked (a report showing them), not to say that they are alike."""

    def __init__(self, index: int, linux, nettwin, fields: Optional[list] = None, where: str = "",
                 ts_slack_ms: int = 0):
        self.index = index              # 1-based position on the wire
        self.linux = linux
        self.nettwin = nettwin
        self._fields = fields
        self.where = where              # which wire: "" the tester's, "far" the far host's
        self.ts_slack_ms = ts_slack_ms
        self._alike = False             # every compared value equal (fields not made yet)

    @property
    def fields(self) -> list:
        if self._fields is None:
            self._fields = (_field_rows(flatten(self.linux), flatten(self.nettwin), self.ts_slack_ms)
                            if self.linux is not None and self.nettwin is not None else [])
        return self._fields

    @fields.setter
    def fields(self, rows: list):
        self._fields = rows

    @property
    def differs(self) -> bool:
        if self.linux is None or self.nettwin is None:
            return True
        return not self._alike and any(r[3] for r in self.fields)

    def differing_keys(self) -> list[str]:
        return [] if self._alike else [r[0] for r in self.fields if r[3]]

    def __repr__(self) -> str:
        return f"FrameDiff({self.index}{' far' if self.where else ''}, differs={self.differs})"


def _tsval_within(a, b, slack_ms: int) -> bool:
    """Two TCP option lists alike but for TSvals at most slack_ms apart."""
    if not isinstance(a, list) or not isinstance(b, list) or len(a) != len(b):
        return False
    for (na, va), (nb, vb) in zip(a, b):
        if na != nb:
            return False
        if na == "Timestamp":
            # A TSval held to its own frame's time (tcp_options_verdict) is text, not a number.
            if not isinstance(va[0], int) or not isinstance(vb[0], int):
                if va != vb:
                    return False
                continue
            if va[1] != vb[1] or min((va[0] - vb[0]) & 0xFFFFFFFF, (vb[0] - va[0]) & 0xFFFFFFFF) > slack_ms:
                return False
        elif va != vb:
            return False
    return True


def _field_rows(a: list, b: list, ts_slack_ms: int) -> list:
    """(key, linux shown, nettwin shown, differs) from two flattens' (key, shown, compared) rows."""
    amap = {k: (s, v) for k, s, v in a}
    bmap = {k: (s, v) for k, s, v in b}
    keys = [k for k, _, _ in a] + [k for k, _, _ in b if k not in amap]
    ts_excused = (ts_slack_ms > 0 and "TCP.options" in amap and "TCP.options" in bmap
                  and amap["TCP.options"][1] != bmap["TCP.options"][1]
                  and _tsval_within(amap["TCP.options"][1], bmap["TCP.options"][1], ts_slack_ms))
    rows = []
    for k in keys:
        sa, va = amap.get(k, ("(absent)", None))
        sb, vb = bmap.get(k, ("(absent)", None))
        differs = (k not in amap) or (k not in bmap) or va != vb
        if differs and ts_excused and k == "TCP.options":
            differs = False
        elif differs and ts_excused and k == "TCP.chksum":
            differs = bool(va) != bool(vb)  # relative frames: 0 only where the original was wrong
        rows.append((k, sa, sb, differs))
    return rows


def compare_frame(index: int, linux, nettwin, ts_slack_ms: int = 0) -> FrameDiff:
    """ts_slack_ms: a timer sent this frame, so its TSval (the send time) may be that far
    off Linux's, as its timing may; then its TCP checksum is held to validity only.
    Frames flat.py reads are compared off their bytes; Scapy makes the rows of those
    that differ (for the diff) and of any frame flat.py does not read."""
    diff = FrameDiff(index, linux, nettwin, ts_slack_ms=ts_slack_ms)
    if linux is None or nettwin is None:
        diff.fields = []
        return diff
    a = flat.values(linux, tcp_options_verdict) if isinstance(linux, Frame) else None
    b = flat.values(nettwin, tcp_options_verdict) if a is not None and isinstance(nettwin, Frame) else None
    if a is not None and b is not None:
        rows = _field_rows([(k, None, v) for k, v in a], [(k, None, v) for k, v in b], ts_slack_ms)
        if not any(r[3] for r in rows):
            diff._alike = True
            return diff
    diff.fields = _field_rows(flatten(linux), flatten(nettwin), ts_slack_ms)
    return diff


def to_ether(frame):
    """A frame to compare: a Frame or Scapy packet as it is, bytes as a Frame."""
    return Frame(frame) if isinstance(frame, (bytes, bytearray, memoryview)) else frame


def compare_frames(linux: Sequence, nettwin: Sequence, ts_slack_ms: Sequence[int] = ()) -> list[FrameDiff]:
    """Frame i of one side against frame i of the other, in wire order (ts_slack_ms:
    per Linux frame, how far its TSval may be off, timer_ts_slack_ms)."""
    out = []
    for i in range(max(len(linux), len(nettwin))):
        a = to_ether(linux[i]) if i < len(linux) else None
        b = to_ether(nettwin[i]) if i < len(nettwin) else None
        out.append(compare_frame(i + 1, a, b, ts_slack_ms[i] if i < len(ts_slack_ms) else 0))
    return out


def timer_ts_slack_ms(frame_ns: Sequence[int], sent_ns: Sequence[int]) -> list[int]:
    """For each DUT frame (its time since replay start): 0 when a tester frame
    triggered it, else the timer tolerance of its delay (a retransmission's TSval
    reads the time its timer fired, anywhere in the wheel's granule)."""
    out = []
    for t in frame_ns:
        delay = _timer_delay(t, sent_ns)
        out.append(0 if delay is None else -(-timebase.timer_tolerance_ns(delay) // 1_000_000))
    return out


# ---------------------------------------------------------------- events

@dataclass
class EventRow:
    linux: Optional[dict]
    nettwin: Optional[dict]
    fields: list = field(default_factory=list)   # (key, linux, nettwin) that differ
    timing: Optional[str] = None                  # why the timing is off, if it is

    @property
    def differs(self) -> bool:
        return self.linux is None or self.nettwin is None or bool(self.fields) or bool(self.timing)


def _key(ev: dict):
    return (ev["name"], ev.get("skb"))


def _timer_delay(t_ns: int, sent_ns: Sequence[int]) -> Optional[int]:
    """How long after the last sent frame an event came, if long enough to be a timer's."""
    before = [s for s in sent_ns if s <= t_ns]
    delay = t_ns - (before[-1] if before else 0)
    return delay if delay >= TIMER_DRIVEN_AFTER_NS else None


def fib_gateway_unset(name: str, linux: dict, nettwin: dict) -> bool:
    """fib:fib_table_lookup's TP_fast_assign writes gw4 and gw6 for no nexthop
    (both zero) or one with a gateway (AF_INET: gw6 ::, AF_INET6: gw4 0), never
    for a nexthop without one (a connected route): there both keep the ring
    buffer's stale bytes. Both non-zero in Linux's event is that case; it is
    nettwin's when its nexthop has no gateway either."""
    return (name == "fib:fib_table_lookup" and nettwin.get("name") != "-"
            and linux.get("gw4") != "0.0.0.0" and linux.get("gw6") != "::"
            and nettwin.get("gw4") == "0.0.0.0" and nettwin.get("gw6") == "::")


def compare_event_pair(a: dict, b: dict, sent_ns: Sequence[int],
                       sysctls: Optional[dict] = None, prev_probe: Optional[tuple] = None) -> EventRow:
    """prev_probe: for an event of the DUT's ARP probe, (Linux ns, nettwin ns) of
    the ARP frame the DUT sent before it, or () when it sent none."""
    row = EventRow(a, b)
    fa, fb = a.get("fields", {}), b.get("fields", {})
    unset = ("gw4", "gw6") if fib_gateway_unset(a["name"], fa, fb) else ()
    for k in [k for k in fa if k not in unset] + [k for k in fb if k not in fa]:
        va, vb = fa.get(k, "(absent)"), fb.get(k, "(absent)")
        if k == "location" and va != vb:
            # A recording keeps the canonical form of its day: today's rule
            # (a compiler clone's suffix dropped) applies to both sides.
            va, vb = canonical_location(va), canonical_location(vb)
        if va != vb:
            row.fields.append((k, va, vb))
    # The timer that drove the event where it says which one it is (its
    # timeout sets the wheel level); otherwise the delay since the last frame.
    delay = timebase.known_timeout_ns(a, sysctls or {}) or _timer_delay(a["t_ns"], sent_ns)
    off, apart = abs(b["t_ns"] - a["t_ns"]), "apart"
    if prev_probe is not None:
        timing = neigh_probes.probe_timing(a["t_ns"], b["t_ns"], prev_probe, delay is not None)
        delay, off = timing or (None, off)
        apart = ("apart" if delay == neigh_probes.NEIGH_DELAY_FIRST_PROBE_NS
                 else "apart after the probe before it")
    if delay is not None:
        tol = timebase.timer_tolerance_ns(delay)
        if off > tol:
            row.timing = (f"timer-driven event at {a['t_ns'] / 1e9:.3f} s in Linux, "
                          f"{b['t_ns'] / 1e9:.3f} s in nettwin: {off / 1e9:.3f} s {apart}, more than the "
                          f"{tol / 1e9:.3f} s allowed for a {delay / 1e9:.3f} s timeout on "
                          f"{timebase.describe_timer(delay)}")
    return row


def compare_events(linux: Sequence[dict], nettwin: Sequence[dict],
                   sent_ns: Sequence[int] = (), sysctls: Optional[dict] = None) -> list[EventRow]:
    """Align the two streams by (name, skb ordinal), then compare fields and timing."""
    rows = []
    nettwin = neigh_probes.at_linux_times(linux, nettwin,
                                          lambda t: _timer_delay(t, sent_ns) is not None)
    arp = {skb for skb, _ in neigh_probes.arp_frames(linux)}
    last_arp: tuple = ()      # (Linux ns, nettwin ns) of the DUT's last ARP frame
    probe_anchor: dict = {}   # ARP skb -> the ARP frame before it, for each of its events
    sm = difflib.SequenceMatcher(a=[_key(e) for e in linux], b=[_key(e) for e in nettwin],
                                 autojunk=False)
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            for a, b in zip(linux[i1:i2], nettwin[j1:j2]):
                anchor = None
                if a.get("skb") in arp:
                    if a["skb"] not in probe_anchor:
                        probe_anchor[a["skb"]] = last_arp
                        last_arp = (a["t_ns"], b["t_ns"])
                    anchor = probe_anchor[a["skb"]]
                rows.append(compare_event_pair(a, b, sent_ns, sysctls, anchor))
            continue
        rows.extend(EventRow(e, None) for e in linux[i1:i2])
        rows.extend(EventRow(None, e) for e in nettwin[j1:j2])
    return rows


# ---------------------------------------------------------------- counters

# The MIB groups compared with the DUT's /proc/net/snmp (and netstat IpExt,
# TcpExt) deltas. IcmpMsg rows exist only once non-zero, on either side: a
# missing row is a zero there. A recording made before TcpExt was read has
# none of its rows, and none is compared.
SNMP_GROUPS = ("Ip", "IpExt", "Icmp", "IcmpMsg", "Udp", "UdpLite", "Tcp", "TcpExt")


@dataclass
class CounterDiff:
    name: str
    linux: int
    nettwin: int


def compare_counters(linux_delta: dict, before: dict, after: dict) -> list[CounterDiff]:
    """The counters whose change over the scenario differs between the DUT
    (linux_delta, meta.json's snmp_delta) and the stack (after - before), for
    every MIB counter the stack has."""
    def group(name: str) -> str:
        return name.split(".", 1)[0]
    stack_has = {n for n in after if group(n) in SNMP_GROUPS}
    names = {n for n in linux_delta if n in stack_has or group(n) == "IcmpMsg"}
    names |= {n for n in stack_has if group(n) == "IcmpMsg"}
    out = []
    for n in sorted(names):
        a = int(linux_delta.get(n, 0))
        b = int(after.get(n, 0)) - int(before.get(n, 0))
        if a != b:
            out.append(CounterDiff(n, a, b))
    return out


# ---------------------------------------------------------------- both

@dataclass
class Comparison:
    frames: list[FrameDiff]
    events: list[EventRow]
    notes: list[str] = field(default_factory=list)   # problems outside the two lists
    counters: list[CounterDiff] = field(default_factory=list)   # MIB deltas that differ

    @property
    def ok(self) -> bool:
        return not self.notes and not self.counters and not any(f.differs for f in self.frames) and \
            not any(e.differs for e in self.events)

    def differing_fields(self) -> list[str]:
        """Every frame field and event field that differs ("IP.ttl", "kfree_skb.reason")."""
        out = []
        for f in self.frames:
            out.extend(f.differing_keys())
        for e in self.events:
            if e.linux and e.nettwin:
                out.extend(f"{e.linux['name']}.{k}" for k, _, _ in e.fields)
        return out
