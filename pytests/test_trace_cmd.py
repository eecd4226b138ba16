"""`nettwin trace`, pwru for the twin: libpcap's own filter compiler selects skbs by
their bytes, and each selected skb is followed function by function until freed;
from a pcap replayed into a fresh stack, and live from a running server."""
from __future__ import annotations

import json
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import PcapWriter

from nettwin.interactive.pwru import FilterError, PcapFilter
from server_fixtures import Client, create_dut, inject, pb, server_process  # noqa: F401

TESTER, DUT = "02:00:00:00:01:01", "02:00:00:00:01:02"


def _ip(**kw):
    return Ether(src=TESTER, dst=DUT) / IP(src="198.51.100.1", dst="198.51.100.2", **kw)


FRAMES = [
    Ether(src=TESTER, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=TESTER, psrc="198.51.100.1", pdst="198.51.100.2"),
    _ip() / ICMP(id=7) / (b"x" * 20),
    _ip() / UDP(sport=5000, dport=9) / (b"y" * 10),
    _ip() / TCP(sport=40000, dport=81, flags="S"),
    _ip() / TCP(sport=40001, dport=81, flags="S", chksum=0xdead),
]


@pytest.fixture
def capture(tmp_path):
    path = tmp_path / "in.pcap"
    w = PcapWriter(str(path), linktype=1, sync=True)
    for i, p in enumerate(FRAMES):
        p.time = 1.0 + i * 0.01
        w.write(p)
    w.close()
    return path


def _trace(nettwin_cmd, harness_env, *args):
    return subprocess.run(nettwin_cmd + ["trace", *args], capture_output=True, text=True, env=harness_env,
                          timeout=120)


def test_libpcap_compiles_the_expression_for_frames_and_for_raw_ip():
    f = PcapFilter("icmp")
    echo = bytes(FRAMES[1])
    assert f.matches(echo, "l2") and f.matches(echo[14:], "l3")
    assert not f.matches(bytes(FRAMES[2]), "l2")
    ether_only = PcapFilter(f"ether src {TESTER}")
    assert ether_only.matches(echo, "l2") and not ether_only.matches(echo[14:], "l3")
    with pytest.raises(FilterError, match="syntax error"):
        PcapFilter("tcp port")


def test_a_filter_selects_skbs_and_follows_each_through_the_stack(nettwin_cmd, harness_env, capture):
    done = _trace(nettwin_cmd, harness_env, "--pcap", str(capture), "icmp")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["TIME", "SKB", "IFACE", "PROTO", "LEN", "TUPLE", "FUNC"]
    funcs = [line.split()[-1] for line in lines[1:]]
    # The echo request in, its reply out, and the port unreachable the UDP datagram drew.
    for f in ("ip_rcv", "icmp_rcv", "icmp_echo", "icmp_push_reply", "net_dev_xmit", "consume_skb"):
        assert f in funcs, funcs
    assert all("(icmp " in line for line in lines[1:]), lines
    assert not any("(udp)" in line or "(tcp)" in line for line in lines)


def test_drop_reason_keeps_only_the_skbs_dropped_so_and_json_carries_the_columns(nettwin_cmd, harness_env, capture):
    done = _trace(nettwin_cmd, harness_env, "--pcap", str(capture), "--drop-reason", "TCP_CSUM",
                  "--output-json", "--output-skb", "tcp")
    assert done.returncode == 0, done.stderr
    recs = [json.loads(line) for line in done.stdout.splitlines()]
    assert recs and {r["skb"] for r in recs} == {recs[0]["skb"]}      # one skb: the bad checksum's
    assert all(r["tuple"] == "198.51.100.1:40001->198.51.100.2:81(tcp)" for r in recs)
    assert recs[-1]["func"] == "kfree_skb" and recs[-1]["drop_reason"] == "TCP_CSUM"
    assert "tcp_bad_csum" in [r["func"] for r in recs]
    assert any("data_len" in r.get("skb_fields", {}) for r in recs)


def test_bad_expressions_and_captures_are_clear_errors(nettwin_cmd, harness_env, capture, tmp_path):
    bad = _trace(nettwin_cmd, harness_env, "--pcap", str(capture), "tcp", "port")
    assert bad.returncode == 2 and "pcap filter 'tcp port'" in bad.stderr
    missing = _trace(nettwin_cmd, harness_env, "--pcap", str(tmp_path / "none.pcap"))
    assert missing.returncode == 2 and "none.pcap" in missing.stderr


def test_live_from_a_running_server(nettwin_cmd, harness_env, server_process):  # noqa: F811
    client = Client(server_process.address)
    create_dut(client.control)
    proc = subprocess.Popen(nettwin_cmd + ["trace", "--address", server_process.address, "--duration", "30",
                                           "udp", "port", "9"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=harness_env)
    try:
        header = proc.stdout.readline()            # printed once the stream is live
        assert header.split()[:3] == ["TIME", "SKB", "IFACE"], header + proc.stderr.read()
        inject(client, FRAMES[1], FRAMES[2])
        client.control.RunUntilIdle(pb.Empty())   # the virtual clock runs when asked
        seen = []
        while not any("kfree_skb" in line for line in seen):
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            seen.append(line)
        assert all("(udp)" in line for line in seen), seen
        assert "NO_SOCKET" in seen[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        client.close()
