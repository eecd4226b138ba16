"""The DUT's neighbour probes in the event comparison (comparison/neigh_probes.py):
the first after delay_first_probe_time (5 s, timer-wheel level 2), each later one
retrans_time after the one before, so a later probe is timed by its gap."""
from nettwin.comparison import compare

MS = 1_000_000


def _arp(t_ns, skb):
    """The DUT's ARP frame: net_dev_start_xmit names its protocol."""
    return {"name": "net:net_dev_start_xmit", "skb": skb, "t_ns": t_ns,
            "fields": {"name": "ntdut0", "protocol": "2054"}}


def _rx(t_ns, skb):
    return {"name": "net:netif_rx", "skb": skb, "t_ns": t_ns, "fields": {"name": "ntdut0"}}


# Explore seed 2026120714 #207: the 5 s DELAY timer fired 82 ms apart; each probe
# then re-arms 1 s after it fired, so the chains stay 82 ms apart, gaps equal.
LINUX_PROBES = [6331_778_000, 7355_787_000, 8379_789_000]
TWIN_PROBES = [6250_195_000, 7274_195_000, 8298_195_000]


def test_probes_after_the_first_keep_its_place_in_the_level_2_granule():
    rows = compare.compare_events([_arp(t, i + 1) for i, t in enumerate(LINUX_PROBES)],
                                  [_arp(t, i + 1) for i, t in enumerate(TWIN_PROBES)],
                                  [5903 * MS, 7111 * MS])
    assert [r.differs for r in rows] == [False, False, False]


def test_a_probe_whose_gap_differs_is_still_a_difference():
    rows = compare.compare_events([_arp(6331 * MS, 1), _arp(7355 * MS, 2)],
                                  [_arp(6250 * MS, 1), _arp(7400 * MS, 2)],   # 1150 ms gap, not 1024
                                  [5903 * MS])
    assert rows[0].timing is None
    assert rows[1].timing is not None and "after the probe before it" in rows[1].timing


def test_the_first_probe_has_the_delay_timers_level():
    # No ARP frame 1 s before it: the 5 s delay_first_probe_time timer, level 2.
    assert compare.compare_events([_arp(6331 * MS, 1)], [_arp(6100 * MS, 1)], [5903 * MS])[0].timing is None
    late = compare.compare_events([_arp(6331 * MS, 1)], [_arp(5990 * MS, 1)], [5903 * MS])[0]
    assert late.timing is not None and "level 2" in late.timing


def test_a_probe_on_the_other_side_of_a_tester_frame_is_taken_where_linux_sent_it():
    # #207's third probe: after the tester's frame at 8313 ms on Linux, before it on nettwin.
    a, b = LINUX_PROBES, TWIN_PROBES
    sent = [5903 * MS, 7111 * MS, 8313 * MS]
    linux = [_arp(a[0], 1), _arp(a[1], 2), _rx(8313 * MS, 3), _arp(a[2], 4)]
    twin = [_arp(b[0], 1), _arp(b[1], 2), _arp(b[2], 3), _rx(8313 * MS, 4)]
    assert not any(r.differs for r in compare.compare_events(linux, twin, sent))


def test_a_probe_far_off_is_not_moved():
    sent = [5903 * MS, 7111 * MS, 8313 * MS]
    linux = [_arp(6331 * MS, 1), _arp(7355 * MS, 2), _rx(8313 * MS, 3), _arp(8379 * MS, 4)]
    twin = [_arp(6250 * MS, 1), _arp(7274 * MS, 2), _arp(8100 * MS, 3), _rx(8313 * MS, 4)]
    assert any(r.differs for r in compare.compare_events(linux, twin, sent))


def test_other_frames_timing_is_unchanged():
    ip = {"name": "net:net_dev_start_xmit", "skb": 1, "fields": {"protocol": "2048"}}
    rows = compare.compare_events([dict(ip, t_ns=1400 * MS)], [dict(ip, t_ns=1250 * MS)], [1000 * MS])
    assert rows[0].timing is not None


def _lookup(t_ns):
    return {"name": "fib:fib_table_lookup", "skb": None, "t_ns": t_ns, "fields": {"tb_id": "255"}}


def test_the_route_lookups_of_the_probes_firing_move_with_it():
    # arp_solicit looks up the queued skb's source (no skb named) before the
    # probe leaves: in nettwin both come at the firing's one virtual time.
    a, b = LINUX_PROBES, TWIN_PROBES
    sent = [5903 * MS, 7111 * MS, 8313 * MS]
    linux = [_arp(a[0], 1), _arp(a[1], 2), _rx(8313 * MS, 3), _lookup(a[2] - 5000), _arp(a[2], 4)]
    twin = [_arp(b[0], 1), _arp(b[1], 2), _lookup(b[2]), _arp(b[2], 3), _rx(8313 * MS, 4)]
    assert not any(r.differs for r in compare.compare_events(linux, twin, sent))
