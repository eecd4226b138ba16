"""The comparator on small hand-built Scapy frames and event lists: it finds
differences, and normalizing the random IP id keeps the IP checksum honest."""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Padding

from nettwin.comparison.compare import (RANDOM_MARK, Comparison, compare_events, compare_frame,
                                        compare_frames, checksum_verdict)
from nettwin.comparison.sidebyside import render

DUT_MAC, TESTER_MAC = "02:00:00:00:01:02", "02:00:00:00:01:01"


def reply(**ip) -> Ether:
    """An echo reply from the DUT, dissected from bytes as a capture would be."""
    fields = dict(src="198.51.100.2", dst="198.51.100.1", id=0x1234, ttl=64)
    fields.update(ip)
    pkt = Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(**fields) / ICMP(type="echo-reply", id=7, seq=1) / b"payload"
    return Ether(bytes(pkt))


def with_bad_ip_checksum(pkt: Ether) -> Ether:
    raw = bytearray(bytes(pkt))
    raw[24] ^= 0xFF  # IP header checksum's first byte (14 + 10)
    return Ether(bytes(raw))


def test_identical_frames_have_no_difference():
    d = compare_frame(1, reply(), reply())
    assert not d.differs
    assert d.fields, "every field must have been compared"


def test_ttl_difference_is_found_and_only_it():
    d = compare_frame(1, reply(ttl=64), reply(ttl=63))
    assert d.differs
    assert d.differing_keys() == ["IP.ttl"]


def test_ip_id_is_normalized_and_checksums_checked_for_validity():
    d = compare_frame(1, reply(id=1), reply(id=0xBEEF))
    assert not d.differs
    rows = {k: (a, b) for k, a, b, _ in d.fields}
    assert rows["IP.id"] == (RANDOM_MARK, RANDOM_MARK)
    assert rows["IP.chksum"] == ("valid", "valid")


def test_bad_ip_checksum_is_caught_despite_the_random_id():
    good, bad = reply(id=1), with_bad_ip_checksum(reply(id=2))
    d = compare_frame(1, good, bad)
    assert d.differing_keys() == ["IP.chksum"]
    linux, nettwin = next((a, b) for k, a, b, _ in d.fields if k == "IP.chksum")
    assert linux == "valid" and nettwin.startswith("INVALID")


def test_checksum_verdict_on_its_own():
    assert checksum_verdict(reply(), 1, "chksum") == "valid"
    assert checksum_verdict(with_bad_ip_checksum(reply()), 1, "chksum").startswith("INVALID")


def test_icmp_checksum_is_compared_exactly():
    a = reply()
    b = Ether(bytes(Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src="198.51.100.2", dst="198.51.100.1")
                    / ICMP(type="echo-reply", id=7, seq=1, chksum=0x1111) / b"payload"))
    assert "ICMP.chksum" in compare_frame(1, a, b).differing_keys()


def test_payload_and_padding_differences_are_found():
    arp = Ether(src=DUT_MAC, dst=TESTER_MAC) / ARP(op="is-at", hwsrc=DUT_MAC, psrc="198.51.100.2",
                                                   hwdst=TESTER_MAC, pdst="198.51.100.1")
    padded = Ether(bytes(arp / Padding(b"\x00" * 18)))
    d = compare_frame(1, Ether(bytes(arp)), padded)
    assert d.differing_keys() == ["Padding.load"]
    assert "ARP.op" not in d.differing_keys()
    assert "Raw.load" in compare_frame(1, reply(), Ether(bytes(reply())[:-1] + b"X")).differing_keys()


def test_missing_and_extra_frames_differ():
    diffs = compare_frames([reply(), reply()], [reply()])
    assert [d.differs for d in diffs] == [False, True]
    assert diffs[1].nettwin is None
    diffs = compare_frames([], [reply()])
    assert diffs[0].differs and diffs[0].linux is None


def ev(t, event, skb, **fields):
    return {"t_ns": t, "name": event, "skb": skb, "fields": {k: str(v) for k, v in fields.items()}}


def test_equal_event_streams():
    a = [ev(10, "net:netif_receive_skb", 1, name="ntdut0", len=84),
         ev(20, "skb:kfree_skb", 1, reason="IP_CSUM", location="ip_rcv_core", protocol=2048, rx_sk=0)]
    rows = compare_events(a, [dict(e) for e in a], sent_ns=[0])
    assert not any(r.differs for r in rows) and len(rows) == 2


def test_event_field_difference_names_the_field():
    a = [ev(10, "skb:kfree_skb", 1, reason="IP_CSUM", location="ip_rcv_core")]
    b = [ev(10, "skb:kfree_skb", 1, reason="IP_INHDR", location="ip_rcv_core")]
    c = Comparison([], compare_events(a, b))
    assert not c.ok
    assert c.differing_fields() == ["skb:kfree_skb.reason"]
    text = render(c)
    assert "IP_CSUM" in text and "IP_INHDR" in text and ".reason" in text


def test_missing_extra_and_reordered_events():
    a = [ev(1, "net:netif_receive_skb", 1), ev(2, "skb:kfree_skb", 1)]
    b = [ev(1, "net:netif_receive_skb", 1), ev(2, "skb:consume_skb", 1)]
    rows = compare_events(a, b)
    assert [(r.linux is not None, r.nettwin is not None) for r in rows if r.differs] == \
        [(True, False), (False, True)]
    # skb ordinals matter: the same names on another skb do not match
    rows = compare_events([ev(1, "net:netif_receive_skb", 1)], [ev(1, "net:netif_receive_skb", 2)])
    assert any(r.differs for r in rows)


def _lookup(name="ntdut0", **gw):
    return ev(10, "fib:fib_table_lookup", None, tb_id=254, name=name, **gw)


def test_fib_lookup_gateway_left_unset_by_linux_for_a_connected_route():
    # Explore seed 2026120799 #157: Linux's event kept stale bytes in both.
    stale = _lookup(gw4="100.101.95.99", gw6="6163:6865::")
    none = _lookup(gw4="0.0.0.0", gw6="::")
    assert not compare_events([stale], [none])[0].differs


def test_fib_lookup_gateway_written_by_linux_is_compared():
    via = _lookup(gw4="198.51.100.254", gw6="::")          # AF_INET gateway: gw6 written ::
    none = _lookup(gw4="0.0.0.0", gw6="::")
    assert compare_events([via], [none])[0].fields == [("gw4", "198.51.100.254", "0.0.0.0")]
    # nettwin with a gateway where Linux's bytes are stale: still a difference
    stale = _lookup(gw4="100.101.95.99", gw6="6163:6865::")
    assert compare_events([stale], [via])[0].differs
    # no nexthop at all (name "-"): Linux wrote zeros, so stale-looking bytes differ
    no_nexthop = compare_events([_lookup("-", gw4="1.2.3.4", gw6="1::")], [_lookup("-", gw4="0.0.0.0", gw6="::")])
    assert no_nexthop[0].differs


def test_timer_driven_events_are_timed_frame_triggered_are_not():
    sent = [0]
    frame_triggered = compare_events([ev(300_000, "skb:consume_skb", 1)], [ev(0, "skb:consume_skb", 1)], sent)
    assert not frame_triggered[0].differs
    s30 = 30_000_000_000
    late_linux = compare_events([ev(s30 + 1_300_000_000, "skb:kfree_skb", 1)], [ev(s30, "skb:kfree_skb", 1)], sent)
    assert not late_linux[0].differs, "Linux's long timers fire late; within tolerance"
    way_off = compare_events([ev(s30, "skb:kfree_skb", 1)], [ev(s30 + 5_000_000_000, "skb:kfree_skb", 1)], sent)
    assert way_off[0].differs and "timer-driven" in way_off[0].timing


def test_side_by_side_diff_marks_the_differing_row():
    c = Comparison(compare_frames([reply(ttl=64)], [reply(ttl=63)]), [])
    text = render(c)
    assert "Linux" in text and "nettwin" in text
    ttl_rows = [line for line in text.splitlines() if "IP.ttl" in line]
    assert len(ttl_rows) == 1 and ttl_rows[0].startswith("!")
    assert "64" in ttl_rows[0] and "63" in ttl_rows[0]
    src_rows = [line for line in text.splitlines() if "IP.src" in line]
    assert src_rows and not src_rows[0].startswith("!")


# ICMP timestamp replies: receive/transmit are each side's clock (ms since midnight UT).

def timestamp_reply(at_s: float, rx_ms: int, tx_ms: int, originate: int = 12_345_678, ident: int = 0x4E54) -> Ether:
    """A timestamp reply captured at at_s seconds (the frame's .time) carrying rx/tx."""
    pkt = Ether(bytes(Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src="198.51.100.2", dst="198.51.100.1", id=5)
                      / ICMP(type=14, id=ident, seq=1, ts_ori=originate, ts_rx=rx_ms, ts_tx=tx_ms)))
    pkt.time = at_s
    return pkt


# Linux's reply at 02:28:15.999 UT (8895999 ms past midnight) on some day; the stack's at
# virtual 0.2 s, which is 200 ms past its midnight.
LINUX_AT = 20_787 * 86_400 + 8_895.999  # a midnight in 2026, plus 8895.999 s


def test_timestamp_times_compare_as_times_not_bytes():
    linux = timestamp_reply(LINUX_AT, 8_895_999, 8_895_999)
    nettwin = timestamp_reply(0.2, 200, 200)
    assert bytes(linux)[-8:] != bytes(nettwin)[-8:]
    d = compare_frame(1, linux, nettwin)
    assert not d.differs, d.fields
    rows = {k: (a, b) for k, a, b, _ in d.fields}
    assert rows["ICMP.chksum"] == ("valid", "valid")
    assert rows["ICMP.ts_rx"][1].startswith("200 ms since midnight UT (+0 ms")


def test_timestamp_time_off_its_own_clock_is_a_difference():
    linux = timestamp_reply(LINUX_AT, 8_895_999, 8_895_999)
    nettwin = timestamp_reply(0.2, 0, 200)  # receive time not filled from the clock
    d = compare_frame(1, linux, nettwin)
    assert d.differing_keys() == ["ICMP.ts_rx"]


def test_timestamp_originate_and_id_are_still_compared_as_bytes():
    linux = timestamp_reply(LINUX_AT, 8_895_999, 8_895_999)
    assert compare_frame(1, linux, timestamp_reply(0.2, 200, 200, originate=12_345_679)).differing_keys() == [
        "ICMP.ts_ori"]
    assert compare_frame(1, linux, timestamp_reply(0.2, 200, 200, ident=0x4E55)).differing_keys() == ["ICMP.id"]


def test_timestamp_reply_checksum_still_checked():
    linux = timestamp_reply(LINUX_AT, 8_895_999, 8_895_999)
    raw = bytearray(bytes(timestamp_reply(0.2, 200, 200)))
    raw[36] ^= 0xFF  # the ICMP checksum's first byte (14 + 20 + 2)
    bad = Ether(bytes(raw))
    bad.time = 0.2
    d = compare_frame(1, linux, bad)
    assert d.differing_keys() == ["ICMP.chksum"]


def test_times_across_midnight_are_close():
    linux = timestamp_reply(LINUX_AT, 8_895_999, 8_895_999)
    d = compare_frame(1, linux, timestamp_reply(86_400.003, 86_399_999, 86_399_999))  # 4 ms before its frame
    assert not d.differs, d.fields


def synack(tsval: int, window: int = 65160) -> Ether:
    """A SYN-ACK from the DUT with a timestamp option, dissected from bytes."""
    from scapy.layers.inet import TCP
    pkt = (Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src="198.51.100.2", dst="198.51.100.1", flags="DF", id=0)
           / TCP(sport=8080, dport=40000, flags="SA", seq=0, ack=1, window=window,
                 options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (tsval, 61)), ("NOP", None),
                          ("WScale", 10)]))
    return Ether(bytes(pkt))


def test_a_timer_sent_frames_tsval_may_be_off_within_its_slack_only():
    from nettwin.comparison.compare import timer_ts_slack_ms
    # A SYN-ACK retransmitted 1 s after the last tester frame: level 1 of the wheel.
    slack = timer_ts_slack_ms([1_064_000_000], [64_000_000])
    assert slack == [50 + 9 * 4]
    assert not compare_frame(1, synack(1026), synack(1004), slack[0]).differs
    far = compare_frame(1, synack(1026), synack(1026 - 87), slack[0])
    assert far.differing_keys() == ["TCP.chksum", "TCP.options"]
    # Anything else in the frame is still compared.
    assert compare_frame(1, synack(1026), synack(1004, window=1000), slack[0]).differing_keys() == \
        ["TCP.window"]


def test_a_frame_a_tester_frame_triggered_has_no_tsval_slack():
    from nettwin.comparison.compare import timer_ts_slack_ms
    assert timer_ts_slack_ms([64_500_000], [64_000_000]) == [0]
    d = compare_frames([synack(26)], [synack(25)], timer_ts_slack_ms([64_500_000], [64_000_000]))
    assert d[0].differing_keys() == ["TCP.chksum", "TCP.options"]
