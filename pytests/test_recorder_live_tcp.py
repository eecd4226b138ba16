"""The reactive TCP tester against this machine's real kernel: record a passive open
with data into a temp dir and check that the tester's ACK acknowledged the DUT's
real ISN, echoed its TSval, and that the socket calls and tracepoints show the
connection. Needs root, network namespaces and tracefs."""
import json
import os
import sys
from pathlib import Path

from scapy.layers.inet import TCP
from scapy.layers.l2 import Ether

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.recording import recorder  # noqa: E402
from nettwin.scenarios.tcp_template import TESTER_ISN, TS_BASE  # noqa: E402

NAME = "tcp_data_in_delayed_ack"


def test_record_tcp_passive_open_with_data(tmp_path):
    assert os.geteuid() == 0, "the live recorder test needs root (netns, tracefs)"
    assert recorder.main([NAME, "--out", str(tmp_path)]) == 0
    folder = tmp_path / NAME
    assert {"expect_results.json", "socket_results.json"} <= {p.name for p in folder.iterdir()}

    received = [Ether(f) for _, f in recorder.pcap_frames(folder / "received.pcap")]
    sent = [Ether(f) for _, f in recorder.pcap_frames(folder / "sent.pcap")]
    syn_ack = next(p for p in received if TCP in p and str(p[TCP].flags) == "SA")
    ack = next(p for p in sent if TCP in p and str(p[TCP].flags) == "A")
    assert syn_ack[TCP].ack == TESTER_ISN + 1
    assert ack[TCP].ack == syn_ack[TCP].seq + 1
    dut_tsval = dict(syn_ack[TCP].options)["Timestamp"][0]
    tsval, tsecr = dict(ack[TCP].options)["Timestamp"]
    assert tsecr == dut_tsval and tsval >= TS_BASE
    data_ack = [p for p in received if TCP in p and str(p[TCP].flags) == "A"]
    assert data_ack and data_ack[0][TCP].ack == TESTER_ISN + 1 + 33

    expects = json.loads((folder / "expect_results.json").read_text())["expects"]
    assert [e["timeout"] for e in expects] == [False, False]
    calls = json.loads((folder / "socket_results.json").read_text())["calls"]
    by_op = {c["op"]: c["result"] for c in calls}
    assert by_op["collect"]["ret"] > 2          # the accepted descriptor
    assert by_op["recvfrom"]["ret"] == 33

    events = json.loads((folder / "events.json").read_text())["events"]
    states = [(e["fields"]["oldstate"], e["fields"]["newstate"]) for e in events
              if e["name"] == "sock:inet_sock_set_state"]
    assert ("TCP_SYN_RECV", "TCP_ESTABLISHED") in states
    meta = json.loads((folder / "meta.json").read_text())
    assert "cubic" in meta["tcp"]["congestion_control"]
    assert meta["dut_link"]["offloads"]["tcp-segmentation-offload"] == "off"
