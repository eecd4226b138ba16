"""The recorder against this machine's real kernel: record arp_then_echo into a temp
dir and check the folder is complete and holds the DUT's echo reply. Needs root,
network namespaces and tracefs (CI runs as root on this machine type)."""
import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.recording import recorder  # noqa: E402
from nettwin.scenarios import catalog  # noqa: E402


def test_record_arp_then_echo(tmp_path):
    assert os.geteuid() == 0, "the live recorder test needs root (netns, tracefs)"
    # Other recorders may run on this machine at the same time: look only for what
    # this process made (the recorder names its namespaces and instance after its pid).
    mine = f"-{os.getpid()}-"

    assert recorder.main(["arp_then_echo", "--out", str(tmp_path)]) == 0

    folder = tmp_path / "arp_then_echo"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["scenario.json", "sent.pcap", "received.pcap", "events.json", "meta.json"])
    # Nothing left behind.
    netns_left = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert [line for line in netns_left.splitlines() if mine in line] == []
    assert [name for name in os.listdir("/sys/kernel/tracing/instances") if mine in name] == []

    s = catalog.get("arp_then_echo")
    sent = recorder.pcap_frames(folder / "sent.pcap")
    assert [f for _, f in sent] == [f.frame for f in s.frames()]
    received = recorder.pcap_frames(folder / "received.pcap")
    replies = [f for _, f in received if f[12:14] == b"\x08\x00" and f[34] == 0]   # ICMP echo reply
    assert len(replies) == 1
    echo = s.frames()[1].frame
    assert replies[0][:6] == bytes.fromhex("020000000101")
    assert replies[0][38:] == echo[38:]          # same id, seq and payload

    meta = json.loads((folder / "meta.json").read_text())
    assert meta["topology"]["dut"]["ifindex"] == 7102
    assert meta["duration_ns"] == sent[-1][0] - sent[0][0] + s.settle_ms * 1_000_000
    assert meta["sysctls"]["net.ipv4.ip_forward"] == "0"

    events = json.loads((folder / "events.json").read_text())["events"]
    assert events and all(0 <= e["t_ns"] <= meta["duration_ns"] for e in events)
    assert [e["t_ns"] for e in events] == sorted(e["t_ns"] for e in events)
    request = next(e["skb"] for e in events if e["name"] == "net:netif_rx" and e["fields"]["len"] == "60")
    freed = [e for e in events if e["skb"] == request and e["name"] == "skb:consume_skb"]
    assert [e["fields"]["location"] for e in freed] == ["icmp_rcv"]
    reply_tx = [e for e in events if e["name"] == "net:net_dev_xmit" and e["fields"]["len"] == "74"]
    assert len(reply_tx) == 1
    assert reply_tx[0]["skb"] != request and reply_tx[0]["fields"] == {"name": "ntdut0", "len": "74", "rc": "0"}
    # The reply left after the request arrived, and the first event follows the first frame.
    rx_t = next(e["t_ns"] for e in events if e["skb"] == request)
    assert reply_tx[0]["t_ns"] > rx_t > 0
