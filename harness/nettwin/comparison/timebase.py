"""Linux's timebase, for comparing timer-driven events: jiffies at HZ=250 and
the timer wheel (kernel/time/timer.c). A timer_list armed for a timeout fires
in the bucket calc_wheel_index puts it in: on the first level whose range holds
the timeout, rounded up to that level's granularity (each level of 64 buckets 8
times coarser than the one below). Linux and nettwin (whose jiffies phase is
seeded) may each land anywhere in that granule, so their times for the same
timer may differ by up to one granule and a tick.

Lives with the comparison (comparison/timebase.py after the reorganisation)."""
from __future__ import annotations

HZ = 250
NSEC_PER_JIFFY = 1_000_000_000 // HZ
LVL_CLK_SHIFT = 3
LVL_BITS = 6
LVL_SIZE = 1 << LVL_BITS
LVL_DEPTH = 9 if HZ > 100 else 8

# Recording noise on top of the wheel: Linux's event is stamped a little after
# its timer fired (softirq latency, the recorder's clock), and the timeout is
# measured from the frame that armed it.
TIMER_BASE_TOLERANCE_NS = 50_000_000


def lvl_start(n: int) -> int:
    """The smallest delta (jiffies) level n (>= 1) holds."""
    return (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT)


def wheel_level(delta_jiffies: int) -> int:
    """The level a timer delta_jiffies ahead goes to (calc_wheel_index)."""
    for lvl in range(LVL_DEPTH - 1):
        if delta_jiffies < lvl_start(lvl + 1):
            return lvl
    return LVL_DEPTH - 1


def wheel_granularity(delta_jiffies: int) -> int:
    """That level's granularity, in jiffies."""
    return 1 << (wheel_level(delta_jiffies) * LVL_CLK_SHIFT)


def ns_to_jiffies_up(ns: int) -> int:
    return -(-ns // NSEC_PER_JIFFY)


def timer_tolerance_ns(timeout_ns: int) -> int:
    """How far apart Linux's and nettwin's firing of a timeout_ns timer may be:
    one granule of its wheel level and one tick (the level-0 round-up and the
    sub-tick phase), plus the recording noise."""
    gran = wheel_granularity(ns_to_jiffies_up(timeout_ns))
    return TIMER_BASE_TOLERANCE_NS + (gran + 1) * NSEC_PER_JIFFY


def describe_timer(timeout_ns: int) -> str:
    """'timer-wheel level 3 (512 jiffies = 2.048 s granules)' for a message."""
    j = ns_to_jiffies_up(timeout_ns)
    gran = wheel_granularity(j)
    return (f"timer-wheel level {wheel_level(j)} "
            f"({gran} jiffies = {gran * NSEC_PER_JIFFY / 1e9:.3f} s granules)")


# Events that name the timer which drove them, with the sysctl (seconds) and
# default of its timeout: the reassembly timer's drop (ip_expire).
KNOWN_TIMERS = {
    ("skb:kfree_skb", "FRAG_REASM_TIMEOUT"): ("net.ipv4.ipfrag_time", 30),
}


def known_timeout_ns(event: dict, sysctls: dict) -> int | None:
    """The timeout of the timer that drove this event, if the event says which
    timer it is (KNOWN_TIMERS), with the recording's sysctl value."""
    key = (event.get("name"), event.get("fields", {}).get("reason"))
    if key not in KNOWN_TIMERS:
        return None
    sysctl, default = KNOWN_TIMERS[key]
    return int(sysctls.get(sysctl, default)) * 1_000_000_000
