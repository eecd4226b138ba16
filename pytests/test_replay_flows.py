"""`nettwin replay` compares by flow, not by position: answers pair up in order
within their flow (answers of two flows in another order still match), the DUT's
own requests (its ARP request, its SYN, a flow it opened) are counted apart from
its answers and not expected of the stack, an answer without a partner is missing
or extra, and only the first --max-diffs differences are shown. The DUT comes from
--dut-ip, --dut-mac or the capture's roles."""
from __future__ import annotations

import subprocess

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

from test_replay_cli import DUT_IP, DUT_MAC, TESTER_MAC, combined, echo_scenario, with_ttl

TESTER_IP = "198.51.100.1"


def replay(nettwin_cmd, env, *args):
    return subprocess.run(nettwin_cmd + ["replay", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def retimed(pkt, t):
    out = Ether(bytes(pkt))
    out.time = t
    return out


def with_echo_id(pkt, ident: int):
    """The recorded echo request or reply with another ICMP id (checksum recomputed)."""
    p = Ether(bytes(pkt))
    p[ICMP].id = ident
    del p[ICMP].chksum
    out = Ether(bytes(p))
    out.time = pkt.time
    return out


def echo_pair(scen):
    request = next(p for p in scen.sent if p.haslayer(ICMP) and p[ICMP].type == 8)
    reply = next(p for p in scen.received if p.haslayer(ICMP) and p[ICMP].type == 0)
    return request, reply


def arp_pair(scen):
    return ([p for p in scen.sent if p.haslayer(ARP)][0], [p for p in scen.received if p.haslayer(ARP)][0])


def flow_row(stdout: str, start: str) -> dict:
    """The flows table's row of the flow whose name starts with `start`."""
    for line in stdout.splitlines():
        if line[2:].startswith(start):
            cells = line[2:].split()
            counts = [int(c) for c in cells if c.isdigit()][-6:]
            own = cells[-1].split("/")
            return dict(zip(("capture", "stack", "matched", "differing", "missing", "extra"), counts),
                        own_capture=int(own[0]), own_stack=int(own[1]), marked=line.startswith("!"))
    raise AssertionError(f"no flow {start!r} in:\n{stdout}")


def several_echoes(scen, ids, gap=0.5):
    """ARP, then for each id the recorded echo request and Linux's reply, gap seconds apart."""
    arp_req, arp_rep = arp_pair(scen)
    request, reply = echo_pair(scen)
    t0 = float(arp_req.time)
    frames = [retimed(arp_req, t0), retimed(arp_rep, t0 + float(arp_rep.time - arp_req.time))]
    delay = float(reply.time - request.time)
    for k, ident in enumerate(ids, 1):
        frames.append(with_echo_id(retimed(request, t0 + k * gap), ident))
        frames.append(with_echo_id(retimed(reply, t0 + k * gap + delay), ident))
    return frames


def test_answers_of_two_flows_in_another_order_still_match(nettwin_cmd, harness_env, tmp_path):
    # Two requests at once; the capture's DUT answered the second first, the stack
    # answers in arrival order: by position every frame would differ, by flow none.
    scen = echo_scenario()
    frames = several_echoes(scen, [11])
    request, reply = echo_pair(scen)
    t = float(frames[-1].time) + 1
    frames += [with_echo_id(retimed(request, t), 21), with_echo_id(retimed(request, t + 0.0001), 22),
               with_echo_id(retimed(reply, t + 0.0003), 22), with_echo_id(retimed(reply, t + 0.0004), 21)]
    wrpcap(str(tmp_path / "swapped.pcap"), frames)
    done = replay(nettwin_cmd, harness_env, tmp_path / "swapped.pcap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences" in done.stdout
    for ident in (11, 21, 22):
        row = flow_row(done.stdout, f"ICMP {TESTER_IP} <-> {DUT_IP} id {ident}")
        assert (row["capture"], row["stack"], row["matched"]) == (1, 1, 1), row


def test_summary_by_flow_and_only_the_first_differences(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    ids = list(range(100, 112))
    frames = [with_ttl(p, 99) if p.haslayer(ICMP) and p[ICMP].type == 0 else p
              for p in several_echoes(scen, ids)]
    wrpcap(str(tmp_path / "ttl.pcap"), frames)
    done = replay(nettwin_cmd, harness_env, tmp_path / "ttl.pcap", "--max-diffs", 3)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "the first 3 of 12 differences:" in lines, done.stdout
    assert sum(line.startswith("! difference ") for line in lines) == 3
    assert sum(line.startswith("! IP.ttl") for line in lines) == 3
    assert "12 differences" in lines
    for ident in ids:
        row = flow_row(done.stdout, f"ICMP {TESTER_IP} <-> {DUT_IP} id {ident}")
        assert (row["differing"], row["matched"], row["marked"]) == (1, 0, True), row
    assert not flow_row(done.stdout, f"ARP {TESTER_IP} <-> {DUT_IP}")["marked"]
    # --max-diffs 0: the summary alone.
    done = replay(nettwin_cmd, harness_env, tmp_path / "ttl.pcap", "--max-diffs", 0)
    assert done.returncode == 1 and "! difference" not in done.stdout


def test_missing_and_extra_answers(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    frames = several_echoes(scen, [31, 32])
    request, reply = echo_pair(scen)
    # id 31: the capture's DUT answered twice (one missing from the stack);
    # id 32: its answer is not in the capture (the stack's is extra).
    dup = [p for p in frames if p.haslayer(ICMP) and p[ICMP].type == 0 and p[ICMP].id == 31][0]
    frames.insert(frames.index(dup) + 1, retimed(dup, float(dup.time) + 0.0001))
    frames = [p for p in frames if not (p.haslayer(ICMP) and p[ICMP].type == 0 and p[ICMP].id == 32)]
    wrpcap(str(tmp_path / "gaps.pcap"), frames)
    done = replay(nettwin_cmd, harness_env, tmp_path / "gaps.pcap", "--dut-ip", DUT_IP)
    assert done.returncode == 1, done.stdout + done.stderr
    row31 = flow_row(done.stdout, f"ICMP {TESTER_IP} <-> {DUT_IP} id 31")
    assert (row31["capture"], row31["stack"], row31["matched"], row31["missing"]) == (2, 1, 1, 1), row31
    row32 = flow_row(done.stdout, f"ICMP {TESTER_IP} <-> {DUT_IP} id 32")
    assert (row32["capture"], row32["stack"], row32["extra"]) == (0, 1, 1), row32
    assert "the DUT answered, the stack did not" in done.stdout
    assert "the stack answered, the DUT did not" in done.stdout


def test_the_duts_own_requests_are_told_apart(nettwin_cmd, harness_env, tmp_path):
    # The DUT asks for another host's MAC and opens a TCP connection of its own:
    # requests a replay cannot make it send, counted and not missing.
    scen = echo_scenario()
    frames = several_echoes(scen, [41])
    t = float(frames[-1].time) + 0.5
    own_arp = Ether(src=DUT_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=DUT_MAC, psrc=DUT_IP, pdst="198.51.100.9")
    own_syn = Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src=DUT_IP, dst=TESTER_IP) / TCP(
        sport=40000, dport=5555, flags="S", seq=1000)
    own_retransmission = own_syn.copy()
    frames += [retimed(own_arp, t), retimed(own_syn, t + 0.1), retimed(own_retransmission, t + 1.1)]
    wrpcap(str(tmp_path / "own.pcap"), frames)
    done = replay(nettwin_cmd, harness_env, tmp_path / "own.pcap", "--dut-ip", DUT_IP)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences" in done.stdout
    row = flow_row(done.stdout, f"TCP {TESTER_IP}:5555 <-> {DUT_IP}:40000")
    assert (row["capture"], row["own_capture"], row["missing"], row["stack"]) == (2, 2, 0, 0), row
    row = flow_row(done.stdout, f"ARP {DUT_IP} <-> 198.51.100.9")
    assert (row["capture"], row["own_capture"], row["missing"]) == (1, 1, 0), row


def test_the_dut_from_the_capture_or_named(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    wrpcap(str(tmp_path / "echo.pcap"), combined(scen))
    done = replay(nettwin_cmd, harness_env, tmp_path / "echo.pcap")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"DUT {DUT_IP} ({DUT_MAC}): taken from the capture: it sends the most answers" in done.stdout
    done = replay(nettwin_cmd, harness_env, tmp_path / "echo.pcap", "--dut-mac", DUT_MAC)
    assert done.returncode == 0 and f"DUT {DUT_IP} ({DUT_MAC}): named by --dut-mac" in done.stdout
    # Named the other way round, the tester is the DUT: the frames to it go in, Linux's
    # answers are its own... and the stack is not asked to answer them.
    done = replay(nettwin_cmd, harness_env, tmp_path / "echo.pcap", "--dut-ip", TESTER_IP)
    assert f"DUT {TESTER_IP} ({TESTER_MAC}): named by --dut-ip" in done.stdout, done.stdout + done.stderr
    done = replay(nettwin_cmd, harness_env, tmp_path / "echo.pcap", "--dut-ip", "198.51.100.77")
    assert done.returncode == 2 and "--dut-ip 198.51.100.77: no frame of the capture" in done.stderr
