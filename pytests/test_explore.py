"""nettwin explore: the generator (reproducible, valid, only allowed addresses, only
sysctls both sides have), the classification of differences, delta-debugging on a
synthetic oracle, the run loop's resume and report, and a small run on Linux."""
from __future__ import annotations

import ipaddress
import json
import os
import sys
from pathlib import Path

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import ARP, Ether

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))
from nettwin.comparison.compare import Comparison, compare_counters, compare_events, compare_frames  # noqa: E402
from nettwin.explore import generate as gen  # noqa: E402
from nettwin.explore.classify import Cause, classify  # noqa: E402
from nettwin.explore.run import Outcome, explore, summarize, summary_text  # noqa: E402
from nettwin.explore.shrink import ddmin, shrink  # noqa: E402
from nettwin.scenarios.model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC, Scenario, Send, Wait  # noqa: E402
from nettwin.scenarios.sock_steps import Sock, diff_calls, sock  # noqa: E402
from nettwin.scenarios.tcp_template import Expect, TcpSend, TcpState  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = ipaddress.ip_network("192.0.2.0/24")
ALLOWED = [ipaddress.ip_network(n) for n in ("198.51.100.0/24", "203.0.113.0/24", "127.0.0.0/8",
                                              "0.0.0.0/32", "255.255.255.255/32")]


@pytest.fixture(scope="module")
def scenarios():
    return gen.generate(11, 150)


def test_the_same_seed_gives_the_same_scenarios(scenarios):
    again = gen.generate(11, 150)
    assert [s.to_json() for s in again] == [s.to_json() for s in scenarios]
    other = gen.generate(12, 150)
    assert [s.to_json() for s in other] != [s.to_json() for s in scenarios]
    # Scenario i stands alone: rebuilt without the ones before it (resume, shrink).
    assert gen.generate_one(11, 77).to_json() == scenarios[77].to_json()


def test_every_area_is_drawn_and_only_narrows(scenarios):
    assert {gen.area_of(s) for s in scenarios} == set(gen.AREAS)
    frag = gen.generate(11, 20, only="frag")
    assert {gen.area_of(s) for s in frag} == {"frag"}
    assert all(s.name.endswith("_frag") for s in frag)
    tcp = gen.generate(11, 20, only="tcp")
    assert {gen.area_of(s) for s in tcp} == {"tcp"}
    with pytest.raises(ValueError):
        gen.generate_one(11, 0, only="sctp")


def _addresses(pkt) -> list[str]:
    out = []
    layer = pkt
    while layer:
        for f in ("src", "dst", "psrc", "pdst"):
            if layer.__class__.__name__ in ("IP", "IPerror", "ARP") and f in layer.fields:
                out.append(layer.getfieldval(f))
        layer = layer.payload
    return out


def test_every_frame_parses_and_names_only_allowed_addresses(scenarios):
    seen_layers = set()
    for s in scenarios:
        assert isinstance(s.steps[0], Send), f"{s.name}: a scenario opens with a frame (time origin)"
        json.dumps(s.to_json())      # the recorder writes it as scenario.json
        for step in s.steps:
            if isinstance(step, Sock):
                ip = dict(step.args).get("ip")
                if ip:
                    assert not ipaddress.ip_address(ip) in FORBIDDEN
                    assert any(ipaddress.ip_address(ip) in n for n in ALLOWED), (s.name, ip)
                continue
            if isinstance(step, Expect):
                continue
            if isinstance(step, TcpSend):
                step = Send(TcpState(dut_isn=7, dut_port=50000).fill(step, 100), "tcp")
            if not isinstance(step, Send):
                assert isinstance(step, Wait) and step.ms > 0
                continue
            assert 14 <= len(step.frame) <= 1514, (s.name, step.summary)   # the tester cannot send more
            pkt = Ether(step.frame)
            assert pkt.src in (TESTER_MAC, "02:00:00:00:01:99"), (s.name, step.summary)
            assert pkt.type in (0x0800, 0x0806), (s.name, step.summary)
            seen_layers.update(l.__name__ for l in (ARP, IP, ICMP, UDP) if pkt.haslayer(l))
            for a in _addresses(pkt):
                if isinstance(a, bytes) and len(a) != 4:
                    continue          # an ARP plen other than 4: not an IPv4 address
                try:
                    addr = ipaddress.ip_address(a)
                except ValueError:
                    continue          # a field cut short or with another length
                assert addr not in FORBIDDEN, (s.name, step.summary, a)
                assert any(addr in n for n in ALLOWED), (s.name, step.summary, a)
    assert {"ARP", "IP", "ICMP", "UDP"} <= seen_layers


def test_generated_sysctls_exist_in_the_stack_and_in_linux(scenarios):
    # The stack's sysctl table, and the few it handles by name (stack.cc).
    table = (REPO / "stack" / "core" / "sysctl.cc").read_text() + (REPO / "stack" / "stack.cc").read_text()
    for name in gen.ALL_SYSCTLS:
        assert f'"{name}"' in table, f"{name}: the stack has no such sysctl"
        assert Path("/proc/sys", *name.split(".")).exists(), f"{name}: this kernel has no such sysctl"
    used = {n for s in scenarios for n, _ in s.sysctls}
    assert used <= set(gen.ALL_SYSCTLS) and len(used) > 10


def test_udp_scenarios_pin_the_ephemeral_port(scenarios):
    udp = [s for s in scenarios if gen.area_of(s) == "udp"]
    assert udp and all(gen.ONE_EPHEMERAL_PORT in s.sysctls for s in udp)
    assert any(isinstance(st, Sock) and st.op == "bind" and dict(st.args)["ip"] == "" for s in udp for st in s.steps)


# ---------------------------------------------------------------- TCP grammar

@pytest.fixture(scope="module")
def tcp_scenarios():
    return gen.generate(13, 400, only="tcp")


def _tcp_sends(s):
    return [st for st in s.steps if isinstance(st, TcpSend)]


def test_tcp_scenarios_cover_the_grammar(tcp_scenarios):
    """Listeners, connects and closed ports; flags, options and values at their edges."""
    ops = {st.op for s in tcp_scenarios for st in s.steps if isinstance(st, Sock)}
    assert {"listen", "accept_bg", "connect_bg", "collect", "send", "recvfrom", "shutdown", "close",
            "setsockopt", "getsockopt", "poll"} <= ops
    flags = {st.flags for s in tcp_scenarios for st in _tcp_sends(s)}
    assert {"S", "SA", "A", "PA", "R", "RA", "FA", "SF", "UA", ""} <= flags
    options = [o for s in tcp_scenarios for st in _tcp_sends(s) for o in st.options]
    assert {("mss", 0), ("mss", 1), ("mss", 65535), ("ws", 0), ("ws", 14), ("ws", 15)} <= set(options)
    assert {o[0] for o in options} >= {"mss", "ws", "ts", "sackok", "sack", "kind", "raw", "eol", "nop"}
    assert any(st.bad_csum for s in tcp_scenarios for st in _tcp_sends(s))
    assert any(n == "net.ipv4.tcp_sack" for s in tcp_scenarios for n, _ in s.sysctls)
    assert all(gen.ONE_EPHEMERAL_PORT in s.sysctls for s in tcp_scenarios)


def test_tcp_scenarios_leave_out_ecn_and_wait_briefly(tcp_scenarios):
    """No ECN bits (other work changes ECN); an Expect waits at most half a second,
    and every scenario opens with the tester's ARP frame (the time origin)."""
    for s in tcp_scenarios:
        assert isinstance(s.steps[0], Send)
        for st in s.steps:
            if isinstance(st, TcpSend):
                assert not set(st.flags) & set("EC"), (s.name, st)
            if isinstance(st, Expect):
                assert st.timeout_ms <= 500, (s.name, st)


def test_tcp_edge_options_fill_as_written():
    st = TcpState(dut_isn=1000, dut_port=8080)
    frame = Ether(st.fill(TcpSend("A", 1, 1, options=(("kind", 254, "0102"), ("sack", ((5, 9),)), ("raw", "0201"))), 0))
    tcp = frame["TCP"]
    raw = bytes(tcp)[20:tcp.dataofs * 4]
    assert raw == bytes.fromhex("fe040102" "050a" "000003ed" "000003f1" "0201")   # 16 bytes: no padding
    good = Ether(TcpState(dut_isn=1000, dut_port=8080).fill(TcpSend("A", 1, 1), 0))
    bad = Ether(TcpState(dut_isn=1000, dut_port=8080).fill(TcpSend("A", 1, 1, bad_csum=True), 0))
    assert bytes(good)[:50] == bytes(bad)[:50] and good["TCP"].chksum != bad["TCP"].chksum
    assert TcpSend.from_json(TcpSend("A", bad_csum=True).to_json()).bad_csum
    assert "bad_csum" not in TcpSend("A").to_json()       # recorded scenarios keep their form


def test_shrink_drops_tcp_options_and_payload():
    """The synthetic 'stack' differs when a segment carries option kind 254;
    the other options, the payload and the other segment go."""
    seg = TcpSend("PA", 1, 1, options=(("nop",), ("kind", 254, "00"), ("ts",)), payload="41" * 40)
    s = Scenario("tcp_synthetic", "", (_send(b"A"), Wait(5), TcpSend("S"), seg))
    target = Cause("frame field", "x")

    def oracle(sc):
        return [target] if any(o[0] == "kind" for st in sc.steps if isinstance(st, TcpSend)
                               for o in st.options) else []
    small, _ = shrink(s, oracle)
    tcp = [st for st in small.steps if isinstance(st, TcpSend)]
    assert len(tcp) == 1 and tcp[0].options == (("kind", 254, "00"),) and tcp[0].payload == ""


# ---------------------------------------------------------------- classification

def _echo_reply(ttl=64):
    return Ether(bytes(Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src=DUT_IP, dst=TESTER_IP, ttl=ttl)
                       / ICMP(type=0) / (b"x" * 8)))


def _ev(name, skb, t=1000, **fields):
    return {"name": name, "skb": skb, "t_ns": t, "fields": fields}


def test_classify_frames():
    frames = compare_frames([_echo_reply(64), _echo_reply()], [_echo_reply(63)])
    causes = classify(Comparison(frames, []))
    assert Cause("frame field", "ICMP 0/0 IP.ttl") in causes
    assert Cause("frame missing", "ICMP 0/0 (Linux sent it, nettwin did not)") in causes
    extra = classify(Comparison(compare_frames([], [_echo_reply()]), []))
    assert extra == [Cause("frame extra", "ICMP 0/0 (nettwin sent it, Linux did not)")]
    assert classify(Comparison(compare_frames([_echo_reply()], [_echo_reply()]), [])) == []


def test_classify_events_order_drop_reason_and_fields():
    linux = [_ev("net:netif_receive_skb", 1), _ev("skb:consume_skb", 1),
             _ev("skb:kfree_skb", 2, reason="IP_CSUM", location="ip_rcv_core")]
    order = compare_events(linux, [linux[1], linux[0], linux[2]])
    assert Cause("event order", "net:netif_receive_skb") in classify(Comparison([], order)) or \
        Cause("event order", "skb:consume_skb") in classify(Comparison([], order))
    reason = compare_events(linux, linux[:2] + [_ev("skb:kfree_skb", 2, reason="NOT_SPECIFIED",
                                                     location="ip_rcv_core")])
    assert classify(Comparison([], reason)) == [Cause("drop reason", "reason Linux IP_CSUM / nettwin NOT_SPECIFIED")]
    missing = compare_events(linux, linux[:2])
    assert classify(Comparison([], missing)) == [
        Cause("drop reason", "skb:kfree_skb IP_CSUM@ip_rcv_core only in Linux")]
    extra = compare_events(linux[:1], linux[:1] + [_ev("fib:fib_table_lookup", 1)])
    assert classify(Comparison([], extra)) == [Cause("event extra", "fib:fib_table_lookup only in nettwin")]
    field = compare_events(linux[:1], [_ev("net:netif_receive_skb", 1, len=60)])
    assert classify(Comparison([], field)) == [Cause("event field", "net:netif_receive_skb.len")]


def test_classify_socket_calls_and_counters():
    step = sock("recvfrom", "a", len=2048)
    calls = [{"index": 3, "step": step, "result": {"ret": -1, "errno": "EAGAIN"}},
             {"index": 4, "step": step, "result": {"ret": 4, "errno": "", "data": "41414141"}}]
    notes = diff_calls(calls, [{"ret": 32, "errno": ""}, {"ret": 4, "errno": "", "data": "42424242"}])
    counters = compare_counters({"Udp.InDatagrams": 2, "Ip.InReceives": 3},
                                {"Udp.InDatagrams": 0, "Ip.InReceives": 0},
                                {"Udp.InDatagrams": 1, "Ip.InReceives": 3})
    causes = classify(Comparison([], [], notes, counters))
    assert causes == [Cause("counter", "Udp.InDatagrams"), Cause("errno", "recvfrom: Linux EAGAIN / nettwin ok"),
                      Cause("socket result", "recvfrom: data")]


# ---------------------------------------------------------------- shrinking

def test_ddmin_finds_the_one_minimal_subset():
    calls = []

    def keeps(xs):
        calls.append(list(xs))
        return 3 in xs and 7 in xs
    assert ddmin(list(range(10)), keeps) == [3, 7]
    assert all(isinstance(c, list) for c in calls)


def _send(tag: bytes, n: int = 40) -> Send:
    return Send(bytes(Ether(src=TESTER_MAC, dst=DUT_MAC, type=0x88b5)) + tag + bytes(n), tag.decode())


def test_shrink_on_a_synthetic_oracle_keeps_the_cause_and_drops_the_rest():
    """The 'stack' differs when frame B comes after frame A with sysctl X set; C, D,
    the waits and sysctl Y are noise; only B's first byte matters."""
    a, b = _send(b"A"), _send(b"B")
    s = Scenario("synthetic", "", (a, Wait(10), _send(b"C"), b, Wait(20), _send(b"D")),
                 sysctls=(("x", "1"), ("y", "2")))
    target = Cause("frame field", "synthetic")
    calls = []

    def oracle(sc):
        calls.append(sc)
        frames = [st.frame for st in sc.steps if isinstance(st, Send)]
        i = next((k for k, f in enumerate(frames) if f[14:15] == b"A"), None)
        later = i is not None and any(f[14:15] == b"B" for f in frames[i + 1:])
        return [target] if later and ("x", "1") in sc.sysctls else [Cause("frame field", "other")]

    small, tests = shrink(s, oracle)
    assert [st.frame[14:15] for st in small.steps] == [b"A", b"B"]
    assert small.sysctls == (("x", "1"),)
    assert all(len(st.frame) == 15 for st in small.steps)   # bytes trimmed to the one that matters
    assert tests == len(calls) - 1 and tests < 80
    # Every candidate handed to the oracle opened with a frame (the recorder's rule).
    assert all(isinstance(c.steps[0], Send) for c in calls)
    with pytest.raises(ValueError):
        shrink(s, lambda sc: [])


# ---------------------------------------------------------------- the run loop

class FakeRunner:
    def __init__(self):
        self.ran = []

    def run(self, s, out):
        self.ran.append(s.name)
        if gen.area_of(s) == "icmp":
            return Outcome(s.name, "icmp", "differs", [Cause("counter", "Icmp.InMsgs")], "diff")
        return Outcome(s.name, gen.area_of(s), "same")


def test_explore_reports_rates_and_resumes(tmp_path):
    scen = gen.generate(5, 12)
    r = FakeRunner()
    out = explore(scen, tmp_path, r, progress=lambda m: None, seed=5)
    assert r.ran == [s.name for s in scen]
    n_icmp = sum(gen.area_of(s) == "icmp" for s in scen)
    assert n_icmp > 0
    summary = summarize(out)
    assert summary["areas"]["icmp"]["differs"] == n_icmp
    assert summary["causes"]["counter: Icmp.InMsgs"]["count"] == n_icmp
    text = (tmp_path / "summary.txt").read_text()
    assert "icmp" in text and "100%" in text and "counter: Icmp.InMsgs" in text
    assert json.loads((tmp_path / "findings.json").read_text())["seed"] == 5
    # Resume: nothing runs again; more scenarios run only the new ones.
    r2 = FakeRunner()
    again = explore(gen.generate(5, 14), tmp_path, r2, resume=True, progress=lambda m: None, seed=5)
    assert r2.ran == [s.name for s in gen.generate(5, 14)[12:]]
    assert [o.verdict for o in again[:12]] == [o.verdict for o in out]
    assert summary_text(again).startswith("nettwin explore: 14 scenarios")


# ---------------------------------------------------------------- on Linux

def test_a_small_run_on_linux_and_nettwin(tmp_path, build_dir):
    """Two generated ARP scenarios recorded on this machine's kernel and replayed;
    each gets a verdict, its recording is an ordinary scenario folder."""
    assert os.geteuid() == 0, "recording on Linux needs root (netns, tracefs)"
    from nettwin.client import Stack
    from nettwin.explore.run import LinuxAndTwin
    from nettwin.scenarios.folder import load
    scen = gen.generate(2026, 2, only="arp")
    with Stack() as stack:
        outcomes = explore(scen, tmp_path, LinuxAndTwin(stack), progress=lambda m: None, seed=2026)
    assert [o.name for o in outcomes] == [s.name for s in scen]
    for o, s in zip(outcomes, scen):
        assert o.verdict in ("same", "differs"), o.detail
        assert (o.verdict == "differs") == bool(o.causes)
        folder = load(tmp_path / "recordings" / s.name)
        assert [bytes(p) for p in folder.sent] == [st.frame for st in s.frames()]


def test_foreign_tcp_events_are_spotted():
    from nettwin.explore.run import foreign_tcp_events
    ours = [_ev("net:netif_rx", 1), _ev("sock:inet_sock_set_state", None, protocol="17")]
    assert foreign_tcp_events(ours) == 0
    assert foreign_tcp_events(ours + [_ev("sock:inet_sock_set_state", None, protocol="6"),
                                      _ev("tcp:tcp_destroy_sock", None)]) == 2


def test_waits_after_the_last_frame_become_settle_time():
    """The recording ends settle_ms after the last step (recorder: duration), so a
    timer a trailing Wait waits for must land inside settle_ms; a Wait before a
    later socket call or TCP segment stays where it is."""
    a = _send(b"A")
    steps, settle = gen.fold_waits((a, Wait(5), _send(b"B"), Wait(1100), sock("close", "a"), Wait(200)), 300)
    assert settle == 500
    assert [type(s).__name__ for s in steps] == ["Send", "Wait", "Send", "Wait", "Sock"]
    steps, settle = gen.fold_waits((a, Wait(5), TcpSend("S"), Expect("SA"), Wait(50), Wait(20)), 300)
    assert settle == 370 and [type(s).__name__ for s in steps] == ["Send", "Wait", "TcpSend", "Expect"]
    for s in gen.generate(11, 60):
        assert not isinstance(s.steps[-1], Wait)


def test_the_report_keeps_only_the_differing_rows():
    from nettwin.explore.run import differing_lines
    diff = "frames on the wire (1 Linux, 1 nettwin):\n  frame 1: same  X\ntracepoint events (2 Linux, 1 nettwin):\n" \
           "  event 1  a | a\n  event 2  b | b\n! event 3  c | (no event)\n!    reason=X |"
    assert differing_lines(diff).splitlines() == [
        "frames on the wire (1 Linux, 1 nettwin):", "tracepoint events (2 Linux, 1 nettwin):",
        "  event 2  b | b", "! event 3  c | (no event)", "!    reason=X |"]


def test_a_tcp_read_with_msg_trunc_copies_nothing_so_its_bytes_are_not_compared():
    # Explore seed 2026120799 #393: Linux returned 1 and left the agent's buffer
    # as it was (0x60); nettwin copies nothing either. UDP's MSG_TRUNC data is copied.
    def calls(kind, data):
        return [{"index": 0, "step": sock("socket", "c", type=kind), "result": {"ret": 3, "errno": ""}},
                {"index": 1, "step": sock("recvfrom", "c", flags=0x20, len=1),
                 "result": {"ret": 1, "errno": "", "data": data}}]
    replay = [{"ret": 3, "errno": ""}, {"ret": 1, "errno": "", "data": ""}]
    assert diff_calls(calls(1, "60"), replay) == []
    assert diff_calls(calls(2, "60"), replay) != []                  # UDP: compared
    assert diff_calls(calls(1, "60"), replay[:1] + [{"ret": 2, "errno": "", "data": ""}]) != []  # ret still is
