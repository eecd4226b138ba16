"""The normalizer's rules (traces/README.md) on hand-made raw streams: ownership,
skb ordinals across address reuse, field canonicalization, noise left out."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.comparison.normalize import (COMPARED_EVENTS, NormalizeError, canonical_field,  # noqa: E402
                               normalize_events)

DUT = {"ntdut0", "7102"}


def ev(event, skb=None, t=0, /, **fields):
    return {"time_ns": t, "name": event, "skb": skb, "fields": {k: str(v) for k, v in fields.items()}}


def names(events):
    return [(e["name"], e["skb"]) for e in events]


# ------------------------------------------------------------- ownership

def test_skb_crossing_from_tester_to_dut_is_kept_from_the_dut_device_on():
    raw = [
        ev("net:net_dev_queue", 0xA, name="nttst0", len=42),
        ev("net:net_dev_start_xmit", 0xA, name="nttst0", len=42),
        ev("net:netif_rx", 0xA, name="ntdut0", len=28),
        ev("net:net_dev_xmit", 0xA, name="nttst0", len=42, rc=0),   # tester's, after the handover
        ev("net:netif_receive_skb", 0xA, name="ntdut0", len=28),
        ev("skb:consume_skb", 0xA, location="arp_process+0x328/0x9d0"),
    ]
    out = normalize_events(raw, DUT)
    assert names(out) == [("net:netif_rx", 1), ("net:netif_receive_skb", 1), ("skb:consume_skb", 1)]


def test_skb_leaving_the_dut_is_not_followed_into_the_tester():
    raw = [
        ev("net:net_dev_queue", 0xB, name="ntdut0", len=42),
        ev("net:netif_rx", 0xB, name="nttst0", len=28),
        ev("net:net_dev_xmit", 0xB, name="ntdut0", len=42, rc=0),
        ev("net:netif_receive_skb", 0xB, name="nttst0", len=28),
        ev("skb:kfree_skb", 0xB, rx_sk="0", protocol=2054, location="nft_do_chain+0x5ad/0x610",
           reason="NETFILTER_DROP"),
    ]
    out = normalize_events(raw, DUT)
    assert names(out) == [("net:net_dev_queue", 1), ("net:net_dev_xmit", 1)]


def test_deviceless_events_on_skbs_the_dut_does_not_own_are_left_out():
    raw = [
        ev("skb:consume_skb", 0xC, location="unix_stream_read_generic+0xb70/0xc90"),
        ev("net:netif_rx", 0xD, name="eth0", len=60),
        ev("skb:kfree_skb", 0xD, rx_sk="0", protocol=2048, location="ip_rcv_core", reason="IP_CSUM"),
        ev("icmp:icmp_send", 0xD, type=3, code=3, saddr="10.0.0.1", daddr="10.0.0.2", sport=1,
           dport=2, ulen=8),
    ]
    assert normalize_events(raw, DUT) == []


def test_events_without_skb_are_kept_only_when_they_name_a_dut_device():
    raw = [
        ev("napi:napi_poll", dev_name="(no_device)", work=1, budget=64),
        ev("napi:napi_poll", dev_name="eth0", work=1, budget=64),
        ev("neigh:neigh_create", family=2, dev="eth0", entries=3, created=1, gc_exempt=0,
           primary_key4="10.0.0.1", primary_key6="::"),
        ev("fib:fib_table_lookup", tb_id=254, err=0, oif=0, iif=7101, proto=0, tos=0, scope=0,
           flags=0, src="198.51.100.2", dst="198.51.100.1", gw4="0.0.0.0", gw6="::", sport=0,
           dport=0, name="nttst0"),
        ev("fib:fib_table_lookup", tb_id=254, err=0, oif=0, iif=7102, proto=0, tos=0, scope=0,
           flags=0, src="198.51.100.1", dst="198.51.100.2", gw4="0.0.0.0", gw6="::", sport=0,
           dport=0, name="ntdut0"),
        ev("fib:fib_table_lookup", tb_id=255, err=-11, oif=0, iif=7102, proto=0, tos=0, scope=0,
           flags=0, src="198.51.100.1", dst="203.0.113.9", gw4="0.0.0.0", gw6="::", sport=0,
           dport=0, name="-"),
        ev("qdisc:qdisc_dequeue", 0, ifindex=7102, handle=0x80030000, parent=0xFFFFFFFF,
           txq_state=0, packets=0),
        ev("qdisc:qdisc_enqueue", 0xE, ifindex=3, handle=0x10000, parent=0xFFFFFFFF),
    ]
    out = normalize_events(raw, DUT)
    assert [(e["name"], e["fields"].get("iif", e["fields"].get("ifindex"))) for e in out] == [
        ("fib:fib_table_lookup", "7102"), ("fib:fib_table_lookup", "7102"),
        ("qdisc:qdisc_dequeue", "7102")]
    assert all(e["skb"] is None for e in out)


def test_skb_zero_and_skb_on_skbless_tracepoints_mean_no_skb():
    raw = [
        ev("neigh:neigh_update", 0x77, family=2, dev="ntdut0", lladdr="000000000000", lladdr_len=6,
           flags=0, nud_state=0, type=1, dead=0, refcnt=2, primary_key4="198.51.100.1",
           primary_key6="::ffff:198.51.100.1", new_lladdr="020000000101", new_state="stale",
           update_flags=1),
        ev("qdisc:qdisc_dequeue", 0, ifindex=7102, handle=1, parent=2, txq_state=0, packets=0),
        ev("net:netif_rx", 0x77, name="ntdut0", len=28),
    ]
    out = normalize_events(raw, DUT)
    assert [e["skb"] for e in out] == [None, None, 1]


# -------------------------------------------------------------- ordinals

def test_ordinals_by_first_appearance_and_a_freed_address_is_a_new_skb():
    raw = [
        ev("net:netif_rx", 0x100, name="ntdut0", len=28),
        ev("net:net_dev_queue", 0x200, name="ntdut0", len=42),
        ev("skb:consume_skb", 0x100, location="arp_process"),
        ev("net:netif_rx", 0x100, name="ntdut0", len=60),         # same address, new skb
        ev("net:net_dev_xmit", 0x200, name="ntdut0", len=42, rc=0),
        ev("skb:kfree_skb", 0x100, rx_sk="0", protocol=2048, location="ip_rcv_core",
           reason="IP_CSUM"),
    ]
    out = normalize_events(raw, DUT)
    assert [e["skb"] for e in out] == [1, 2, 1, 3, 2, 3]


def test_a_slab_free_without_tracepoint_ends_the_identity_too():
    raw = [
        ev("net:netif_rx", 0x300, name="ntdut0", len=60),
        ev("kmem:kmem_cache_free", 0x300, call_site="skb_attempt_defer_free", ptr="300",
           name="skbuff_head_cache"),
        ev("skb:consume_skb", 0x300, location="unix_stream_read_generic"),   # someone else's skb now
        ev("kmem:kmem_cache_alloc", 0x300, call_site="__alloc_skb", ptr="300", name="skbuff_head_cache"),
        ev("net:netif_rx", 0x300, name="ntdut0", len=60),
    ]
    out = normalize_events(raw, DUT)
    assert names(out) == [("net:netif_rx", 1), ("net:netif_rx", 2)]
    assert all(not e["name"].startswith("kmem:") for e in out)


def test_an_skb_leaving_and_coming_back_unfreed_keeps_its_ordinal():
    raw = [
        ev("net:netif_rx", 0x400, name="ntdut0", len=60),
        ev("net:net_dev_queue", 0x500, name="ntdut0", len=60),
        ev("net:net_dev_xmit", 0x400, name="ntfar0", len=74, rc=0),
        ev("net:netif_receive_skb", 0x400, name="ntdut0", len=60),
    ]
    out = normalize_events(raw, DUT)
    assert [e["skb"] for e in out] == [1, 2, 1]


# ------------------------------------------------------------------ fields

def test_fields_kept_per_event_and_canonical_values():
    raw = [
        ev("net:net_dev_start_xmit", 0x1, name="ntdut0", skbaddr="ffff888109ecec00", queue_mapping=0,
           vlan_tagged=0, vlan_proto="0x0000", vlan_tci="0x0000", protocol="0x0806", ip_summed=0,
           len=42, data_len=0, network_offset=14, transport_offset_valid=0, transport_offset=0,
           tx_flags=0, gso_size=0, gso_segs=0, gso_type="0x0"),
        ev("skb:kfree_skb", 0x1, skbaddr="ffff888109ecec00", rx_sk="ffff8881044e0000",
           protocol="2054", location="ip_rcv_core+0x22c/0x350", reason="ip_csum"),
        ev("neigh:neigh_update", None, family=2, dev="ntdut0", lladdr="020000000101", lladdr_len=6,
           flags=0x80, nud_state="0x4", type=1, dead=0, refcnt=3, primary_key4="198.51.100.1",
           primary_key6="::ffff:c633:6401", confirmed=4294991640, updated=4295006640,
           used=4295006640, new_lladdr="02-00-00-00-01-09", new_state="reachable", update_flags=1,
           pid=0),
        ev("neigh:neigh_create", None, family=2, dev="ntdut0", entries=57, created=1, gc_exempt=0,
           primary_key4="198.51.100.1", primary_key6="0:0::0"),
    ]
    out = normalize_events(raw, DUT)
    xmit, kfree, update, create = (e["fields"] for e in out)
    assert xmit["protocol"] == "2054" and xmit["vlan_proto"] == "0" and xmit["gso_type"] == "0"
    assert "skbaddr" not in xmit and xmit["name"] == "ntdut0"
    assert kfree == {"rx_sk": "1", "protocol": "2054", "location": "ip_rcv_core", "reason": "IP_CSUM"}
    assert update["lladdr"] == "02:00:00:00:01:01" and update["new_lladdr"] == "02:00:00:00:01:09"
    assert update["nud_state"] == "stale" and update["new_state"] == "reachable"
    assert update["flags"] == "128"
    assert update["primary_key6"] == "::ffff:198.51.100.1"
    assert not {"confirmed", "updated", "used", "pid"} & set(update)
    assert "entries" not in create and create["primary_key6"] == "::"


def test_canonical_values_are_a_fixed_point():
    """The stack sends canonical values already: normalizing them changes nothing."""
    raw = [
        ev("net:netif_rx", 9, 15, name="ntdut0", len=28),
        ev("neigh:neigh_update", None, 16, family=2, dev="ntdut0", lladdr="00:00:00:00:00:00",
           lladdr_len=6, flags=0, nud_state="none", type=1, dead=0, refcnt=2,
           primary_key4="198.51.100.1", primary_key6="::ffff:198.51.100.1",
           new_lladdr="02:00:00:00:01:01", new_state="stale", update_flags=1),
        ev("skb:kfree_skb", 9, 17, rx_sk="0", protocol=2048, location="ip_rcv_core",
           reason="OTHERHOST"),
    ]
    once = normalize_events(raw, DUT)
    again = normalize_events([{"time_ns": e["t_ns"], "name": e["name"], "skb": e["skb"],
                               "fields": e["fields"]} for e in once], DUT)
    assert once == again
    assert [e["t_ns"] for e in once] == [15, 16, 17]
    assert once[1]["fields"]["nud_state"] == "none"


@pytest.mark.parametrize("field,value,expected", [
    ("protocol", "0x0800", "2048"), ("len", 84, "84"), ("err", "-11", "-11"),
    ("location", "icmp_rcv+0x259/0x3c0", "icmp_rcv"), ("location", "icmp_rcv", "icmp_rcv"),
    ("location", "validate_xmit_skb.isra.0", "validate_xmit_skb"),
    ("location", "validate_xmit_skb.isra.0+0x1c/0x3f0", "validate_xmit_skb"),
    ("location", "tcp_v4_rcv.constprop.0.cold", "tcp_v4_rcv"),
    ("nud_state", "0x2", "reachable"), ("nud_state", "0x0", "none"), ("new_state", "0x21", "33"),
    ("rx_sk", "0000000000000000", "0"), ("rx_sk", "(null)", "0"),
    ("lladdr", "02:00:00:00:01:AB", "02:00:00:00:01:ab"), ("lladdr", "", ""),
    ("gw6", "::", "::"), ("gw6", "2001:db8:0:0::1", "2001:db8::1"),
    ("saddr", "198.51.100.001", None),
])
def test_canonical_field(field, value, expected):
    if expected is None:
        with pytest.raises(NormalizeError):
            canonical_field(field, value)
    else:
        assert canonical_field(field, value) == expected


# ---------------------------------------------------------- bad input / scope

def test_unknown_events_are_not_compared():
    raw = [ev("checkpoint:ip_rcv", 1, dev="ntdut0"), ev("tcp:tcp_probe", 1, saddr="x"),
           ev("net:netif_rx", 1, name="ntdut0", len=60)]
    assert names(normalize_events(raw, DUT)) == [("net:netif_rx", 1)]
    assert "checkpoint:ip_rcv" not in COMPARED_EVENTS
    assert {"net:netif_rx", "skb:kfree_skb", "skb:consume_skb", "fib:fib_table_lookup",
            "neigh:neigh_update", "icmp:icmp_send", "qdisc:qdisc_enqueue"} <= COMPARED_EVENTS
    assert not any(n.startswith("kmem:") for n in COMPARED_EVENTS)


@pytest.mark.parametrize("bad", [
    {"name": "net:netif_rx", "skb": 1, "fields": {}},
    {"time_ns": 0, "skb": 1, "fields": {}},
    {"time_ns": 0, "name": "net:netif_rx", "skb": 1, "fields": "name=ntdut0"},
    "net:netif_rx",
])
def test_malformed_raw_events_are_refused_clearly(bad):
    with pytest.raises(NormalizeError):
        normalize_events([bad], DUT)


def test_a_bad_value_names_the_event_and_field():
    with pytest.raises(NormalizeError, match="net:netif_rx field len"):
        normalize_events([ev("net:netif_rx", 1, name="ntdut0", len="eighty")], DUT)


def test_no_dut_devices_is_an_error():
    with pytest.raises(NormalizeError):
        normalize_events([], set())
