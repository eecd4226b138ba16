"""The DUT's neighbour probes, for the event comparison. The neighbour timer
(net/core/neighbour.c, neigh_timer_handler) turns an entry used while STALE
PROBE delay_first_probe_time later (5 s: timer-wheel level 2, 256 ms granules),
then re-arms itself retrans_time after the jiffy it fired in (next = now +
retrans_time). Linux's and nettwin's first probe may land anywhere in that
granule (each side's jiffies phase), and every later probe keeps the offset:
a probe is timed as its gap from the probe before it. Where that offset puts a
probe on the other side of an unrelated event, the probe's events are taken
where Linux has them. (Not reachable_time's randomness: no REACHABLE here.)"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

from . import timebase

NEIGH_DELAY_FIRST_PROBE_NS = 5 * 1_000_000_000
NEIGH_RETRANS_NS = 1_000_000_000
ETH_P_ARP = "2054"


def arp_frames(events: Sequence[dict]) -> list[tuple]:
    """(skb ordinal, ns) of each ARP frame the DUT sent, in order (only
    net_dev_start_xmit names the protocol)."""
    return [(e.get("skb"), e["t_ns"]) for e in events if e["name"] == "net:net_dev_start_xmit"
            and str(e.get("fields", {}).get("protocol")) == ETH_P_ARP]


def probe_timing(a_ns: int, b_ns: int, prev: tuple, timer_driven: bool) -> Optional[tuple]:
    """(timeout, how far apart) for an ARP frame the DUT sent at a_ns in Linux
    and b_ns in nettwin, if the neighbour timer sent it; prev: (Linux ns,
    nettwin ns) of the ARP frame before it, or (). Up to one retrans_time (and
    its granule) after that one, it is the timer re-armed: the gaps are
    compared. Else, if no frame just caused it, it is the first probe,
    delay_first_probe_time after the entry was used."""
    if prev:
        gap = a_ns - prev[0]
        if NEIGH_RETRANS_NS <= gap <= NEIGH_RETRANS_NS + timebase.timer_tolerance_ns(NEIGH_RETRANS_NS):
            return NEIGH_RETRANS_NS, abs((b_ns - prev[1]) - gap)
    return (NEIGH_DELAY_FIRST_PROBE_NS, abs(b_ns - a_ns)) if timer_driven else None


def at_linux_times(linux: Sequence[dict], nettwin: Sequence[dict],
                   timer_driven: Callable[[int], bool]) -> list[dict]:
    """nettwin's events with each timer-driven ARP frame whose timing agrees
    with Linux's (probe_timing) moved by its offset from Linux's, and the skb
    ordinals renumbered by first appearance as normalize gives them."""
    ours, theirs = arp_frames(linux), arp_frames(nettwin)
    if len(ours) != len(theirs):
        return list(nettwin)
    shift, prev = {}, ()
    for (_, a_ns), (skb, b_ns) in zip(ours, theirs):
        timing = probe_timing(a_ns, b_ns, prev, timer_driven(a_ns))
        if timing and timing[1] <= timebase.timer_tolerance_ns(timing[0]):
            shift[skb] = a_ns - b_ns
        prev = (a_ns, b_ns)
    if not shift:
        return list(nettwin)
    out = list(nettwin)
    for skb, by in shift.items():
        lo, hi = _firing(out, skb)
        run = out[lo:hi]
        del out[lo:hi]
        at = next((i for i, e in enumerate(out) if e["t_ns"] > run[0]["t_ns"] + by), len(out))
        out[at:at] = run
    return _renumbered(out)


def _firing(events: list[dict], skb) -> tuple:
    """[lo, hi) of the events around skb's first that share its time: all a
    timer firing did in nettwin's virtual time (arp_solicit's route lookups,
    which name no skb, come with the probe)."""
    first = next(i for i, e in enumerate(events) if e.get("skb") == skb)
    t = events[first]["t_ns"]
    lo, hi = first, first
    while lo > 0 and events[lo - 1]["t_ns"] == t:
        lo -= 1
    while hi < len(events) and (events[hi]["t_ns"] == t or events[hi].get("skb") == skb):
        hi += 1
    return lo, hi


def _renumbered(events: list[dict]) -> list[dict]:
    ordinals: dict = {}
    out = []
    for e in events:
        if e.get("skb") is not None:
            e = dict(e, skb=ordinals.setdefault(e["skb"], len(ordinals) + 1))
        out.append(e)
    return out
