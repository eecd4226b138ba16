"""The comparator's timer tolerance comes from the timer wheel's level of the
timeout (kernel/time/timer.c: level n holds deltas from 63 << 3(n-1) jiffies,
8^n jiffies wide, at HZ=250)."""
from nettwin.comparison import compare, timebase

S = 1_000_000_000


def test_levels_at_250_hz():
    assert timebase.wheel_level(62) == 0
    assert timebase.wheel_level(63) == 1
    assert timebase.wheel_level(503) == 1
    assert timebase.wheel_level(504) == 2
    assert timebase.wheel_level(4031) == 2
    assert timebase.wheel_level(7500) == 3  # 30 s reassembly timeout
    assert timebase.wheel_granularity(7500) == 512
    assert timebase.wheel_level(32256) == 4


def test_tolerance_of_a_30s_timer_is_its_granule():
    tol = timebase.timer_tolerance_ns(30 * S)
    assert tol == timebase.TIMER_BASE_TOLERANCE_NS + 513 * 4_000_000
    # The recorder measured the reassembly timer at 30.4 s: within it.
    assert 0.4 * S < tol


def test_tolerance_of_a_1s_timer_is_tighter():
    # 250 jiffies: level 1, 8 jiffies (32 ms) wide.
    assert timebase.timer_tolerance_ns(1 * S) == timebase.TIMER_BASE_TOLERANCE_NS + 9 * 4_000_000


def _ev(t_ns, reason="FRAG_REASM_TIMEOUT"):
    return {"name": "skb:kfree_skb", "skb": 1, "t_ns": t_ns, "fields": {"reason": reason}}


def test_timer_event_within_its_level_is_accepted():
    sent = [0]
    row = compare.compare_event_pair(_ev(int(30.4 * S)), _ev(int(31.9 * S)), sent)
    assert row.timing is None


def test_timer_event_outside_its_level_names_the_level():
    sent = [0]
    row = compare.compare_event_pair(_ev(int(30.4 * S)), _ev(int(33.0 * S)), sent)
    assert row.timing is not None
    assert "level 3" in row.timing
    assert "512 jiffies" in row.timing


def test_short_timer_is_held_to_its_finer_level():
    # An event 1 s after the last frame, not naming its timer (a neighbour's
    # failure drop), 150 ms off: beyond 32 ms granules + a tick + 50 ms.
    sent = [0]
    ev = lambda t: _ev(t, "NEIGH_FAILED")  # noqa: E731
    row = compare.compare_event_pair(ev(1 * S), ev(int(1.15 * S)), sent)
    assert row.timing is not None and "level 1" in row.timing
    assert compare.compare_event_pair(ev(1 * S), ev(int(1.06 * S)), sent).timing is None


def test_a_named_timer_is_held_to_its_own_timeouts_level():
    # The reassembly drop names its timer: with ipfrag_time 5 (1250 jiffies,
    # level 2, 64-jiffy granules) a 1 s difference is too much even though the
    # event came 30 s after the last frame.
    sysctls = {"net.ipv4.ipfrag_time": "5"}
    assert timebase.known_timeout_ns(_ev(0), sysctls) == 5 * S
    assert timebase.known_timeout_ns({"name": "skb:kfree_skb", "fields": {"reason": "NO_SOCKET"}}, sysctls) is None
    row = compare.compare_event_pair(_ev(30 * S), _ev(31 * S), [0], sysctls)
    assert row.timing is not None and "level 2" in row.timing
    # By its delay alone (no sysctls given: the default 30 s) it is accepted.
    assert compare.compare_event_pair(_ev(30 * S), _ev(31 * S), [0]).timing is None

