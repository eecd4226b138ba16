"""The tracefs text parser on real lines captured on this machine (pytests/data/),
and the parser + normalizer together on whole real traces full of other activity."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.recording import tracefs  # noqa: E402
from nettwin.comparison.normalize import COMPARED_EVENTS, normalize_events  # noqa: E402

DATA = Path(__file__).resolve().parent / "data"
DUT = {"ntdut0", "7102"}
FIXTURES = ["tracefs_arp_then_echo.txt", "tracefs_ipv4_version5_noise.txt",
            "tracefs_qdisc_icmp_send.txt"]


def text(name):
    return (DATA / name).read_text()


def line_with(fixture, *needles):
    for line in text(fixture).splitlines():
        if all(n in line for n in needles):
            return line
    raise AssertionError(f"no line with {needles} in {fixture}")


@pytest.mark.parametrize("fixture", FIXTURES)
def test_every_line_of_a_real_trace_parses(fixture):
    body = [l for l in text(fixture).splitlines() if l.strip() and not l.startswith("#")]
    events = tracefs.parse_text(text(fixture))
    assert len(events) == len(body)
    assert all(e["name"] in COMPARED_EVENTS or e["name"].startswith("kmem:") for e in events)
    times = [e["time_ns"] for e in events]
    assert times == sorted(times)


def test_netif_rx_line():
    ev = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "netif_rx:", "ntdut0", "len=28"))
    assert ev["name"] == "net:netif_rx"
    assert ev["fields"]["name"] == "ntdut0" and ev["fields"]["len"] == "28"
    assert ev["skb"] == int(ev["fields"]["skbaddr"], 16) and ev["skb"] > 0
    assert ev["time_ns"] % 1000 == 0 and ev["time_ns"] > 0


def test_net_dev_start_xmit_hex_fields_become_decimal():
    ev = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "net_dev_start_xmit:", "ntdut0",
                                      "protocol=0x0806"))
    f = ev["fields"]
    assert f["protocol"] == "2054" and f["vlan_proto"] == "0" and f["gso_type"] == "0"
    assert f["network_offset"] == "14" and f["len"] == "42" and f["name"] == "ntdut0"


def test_kfree_skb_line():
    ev = tracefs.parse_line(line_with("tracefs_ipv4_version5_noise.txt", "kfree_skb:", "ip_rcv_core"))
    f = ev["fields"]
    assert ev["name"] == "skb:kfree_skb"
    assert f["reason"] == "IP_INHDR" and f["protocol"] == "2048"
    assert f["location"].startswith("ip_rcv_core+0x")
    assert int(f["rx_sk"], 16) == 0


def test_consume_skb_line():
    ev = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "consume_skb:", "icmp_rcv"))
    assert ev["name"] == "skb:consume_skb" and ev["fields"]["location"].startswith("icmp_rcv+")


def test_neigh_update_line():
    ev = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "neigh_update:"))
    f = ev["fields"]
    assert ev["skb"] is None
    assert f["dev"] == "ntdut0" and f["lladdr"] == "00:00:00:00:00:00" and f["lladdr_len"] == "6"
    assert f["new_lladdr"] == "02:00:00:00:01:01" and f["new_state"] == "stale"
    assert f["nud_state"] == "0" and f["type"] == "1" and f["update_flags"] == "1"
    assert f["primary_key4"] == "198.51.100.1" and f["primary_key6"] == "::ffff:198.51.100.1"


def test_neigh_create_and_fib_lines():
    create = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "neigh_create:"))
    assert create["fields"]["primary_key4"] == "198.51.100.1" and create["fields"]["created"] == "1"
    fib = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "fib_table_lookup:", "iif 1 "))
    f = fib["fields"]
    assert (f["tb_id"], f["oif"], f["iif"], f["proto"]) == ("254", "0", "1", "1")
    assert (f["src"], f["dst"], f["gw4"], f["gw6"], f["name"]) == (
        "198.51.100.2", "198.51.100.1", "0.0.0.0", "::", "ntdut0")


def test_qdisc_lines():
    enq = tracefs.parse_line(line_with("tracefs_qdisc_icmp_send.txt", "qdisc_enqueue:"))
    assert enq["fields"]["ifindex"] == "7102"
    assert enq["fields"]["handle"] == str(0x80030000) and enq["fields"]["parent"] == str(0xFFFFFFFF)
    empty = tracefs.parse_line(line_with("tracefs_qdisc_icmp_send.txt", "qdisc_dequeue:", "packets=0"))
    assert empty["skb"] == 0 and empty["fields"]["txq_state"] == "0"


def test_icmp_send_line():
    ev = tracefs.parse_line(line_with("tracefs_qdisc_icmp_send.txt", "icmp_send:"))
    f = ev["fields"]
    assert (f["type"], f["code"], f["ulen"]) == ("3", "3", "16")
    assert (f["saddr"], f["sport"], f["daddr"], f["dport"]) == ("198.51.100.1", "40000", "198.51.100.2", "9")
    assert ev["skb"] and ev["skb"] == int(f["skbaddr"], 16)


def test_napi_poll_and_kmem_lines():
    napi = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "napi_poll:"))
    assert napi["fields"]["dev_name"] == "(no_device)" and napi["fields"]["budget"] == "64"
    free = tracefs.parse_line(line_with("tracefs_arp_then_echo.txt", "kmem_cache_free:"))
    assert free["name"] == "kmem:kmem_cache_free" and free["skb"] == int(free["fields"]["ptr"], 16)


def test_comments_blank_and_bad_lines():
    assert tracefs.parse_line("# tracer: nop") is None
    assert tracefs.parse_line("   ") is None
    with pytest.raises(tracefs.TraceParseError):
        tracefs.parse_line("this is not a trace line")
    with pytest.raises(tracefs.TraceParseError, match="unknown event"):
        tracefs.parse_line("  python3-1  [000] ..s1.  1.000001: sched_switch: prev=a next=b")
    good = line_with("tracefs_arp_then_echo.txt", "netif_receive_skb:")
    with pytest.raises(tracefs.TraceParseError, match="net:netif_receive_skb"):
        tracefs.parse_line(good.replace("len=", "length="))


def test_lost_entries_header():
    assert tracefs.lost_entries(text("tracefs_arp_then_echo.txt")) == 0
    assert tracefs.lost_entries("# entries-in-buffer/entries-written: 90/130   #P:2\n") == 40
    with pytest.raises(tracefs.TraceParseError):
        tracefs.lost_entries("no header here")


# ----------------------------------------- parser + normalizer on real traces

def test_real_arp_then_echo_trace_keeps_only_the_duts_events():
    raw = tracefs.parse_text(text("tracefs_arp_then_echo.txt"))
    out = normalize_events(raw, DUT)
    # Nothing of the tester (its NETFILTER_DROP of the replies, its packet-tap clones).
    assert not any(e["fields"].get("name") == "nttst0" for e in out)
    assert not any(e["fields"].get("reason") == "NETFILTER_DROP" for e in out)
    assert not any(e["fields"].get("location") in ("tpacket_rcv", "nft_do_chain") for e in out)
    assert not any(e["name"] == "napi:napi_poll" for e in out)
    # The ARP request and the echo request end in the DUT; both replies leave it.
    assert ("skb:consume_skb", "arp_process") in [(e["name"], e["fields"].get("location")) for e in out]
    assert ("skb:consume_skb", "icmp_rcv") in [(e["name"], e["fields"].get("location")) for e in out]
    xmits = [e for e in out if e["name"] == "net:net_dev_xmit"]
    assert [(x["fields"]["name"], x["fields"]["len"]) for x in xmits] == [("ntdut0", "42"), ("ntdut0", "74")]
    assert sorted({e["skb"] for e in out if e["skb"] is not None}) == [1, 2, 3, 4]


def test_real_trace_with_address_reuse_by_other_activity():
    """In this trace the DUT's dropped skb's address is reused by an unrelated unix-socket
    skb right after: that one must not be attributed to the DUT."""
    raw = tracefs.parse_text(text("tracefs_ipv4_version5_noise.txt"))
    dut_skb = next(e["skb"] for e in raw if e["name"] == "net:netif_rx"
                   and e["fields"]["name"] == "ntdut0")
    reused = [e for e in raw if e["skb"] == dut_skb and e["name"] == "skb:consume_skb"]
    assert reused, "fixture no longer shows the address reuse this test is about"
    out = normalize_events(raw, DUT)
    assert [(e["name"], e["skb"]) for e in out] == [
        ("net:netif_rx", 1), ("net:netif_receive_skb", 1), ("skb:kfree_skb", 1)]
    assert out[-1]["fields"] == {"rx_sk": "0", "protocol": "2048", "location": "ip_rcv_core",
                                 "reason": "IP_INHDR"}


def test_skb_slab_names_resolve_merged_caches(tmp_path):
    slab = tmp_path / "slab"
    slab.mkdir()
    (slab / "skbuff_head_cache").mkdir()
    (slab / ":0000512").mkdir()
    for alias in ("skbuff_fclone_cache", "pool_workqueue", "sgpool-16"):
        (slab / alias).symlink_to(":0000512")
    info = tmp_path / "slabinfo"
    info.write_text("slabinfo - version: 2.1\n# name ...\n"
                    "skbuff_head_cache 384 384 256 16 1 : tunables 0 0 0\n"
                    "pool_workqueue 192 192 512 16 2 : tunables 0 0 0\n")
    assert tracefs.skb_slab_names(slab, info) == ["skbuff_head_cache", "pool_workqueue"]
    (slab / "pool_workqueue").unlink()
    (slab / "pool_workqueue").symlink_to("skbuff_head_cache")
    with pytest.raises(tracefs.TracefsError):
        tracefs.skb_slab_names(slab, info)
