"""The reactive TCP tester's pieces, without root or a stack: template filling
(relative seq/ack, TSecr echo, TSval from the base, the DUT's learnt port) and the
relative-number normalization the comparator applies to both sides' frames."""
from __future__ import annotations

from scapy.layers.inet import IP, TCP
from scapy.layers.l2 import Ether

from nettwin.comparison.tcp_relative import relative_frames
from nettwin.scenarios.model import DUT_IP, DUT_MAC, TESTER_IP, TESTER_MAC
from nettwin.scenarios.tcp_template import (DUT_PORT, TESTER_ISN, TESTER_PORT, TS_BASE, Expect, TcpSend,
                                            TcpState)


def dut_frame(flags, seq, ack=0, sport=DUT_PORT, tsval=None, tsecr=0, ip_id=7, payload=b""):
    opts = [("MSS", 1460)] if "S" in flags else []
    if tsval is not None:
        opts.append(("Timestamp", (tsval, tsecr)))
    pkt = (Ether(src=DUT_MAC, dst=TESTER_MAC) / IP(src=DUT_IP, dst=TESTER_IP, id=ip_id, flags="DF")
           / TCP(sport=sport, dport=TESTER_PORT, seq=seq, ack=ack, flags=flags, options=opts) / payload)
    return bytes(pkt)


def test_template_is_filled_from_the_dut_syn_ack():
    st = TcpState()
    st.observe(dut_frame("SA", seq=0xFFFFFFF0, ack=TESTER_ISN + 1, tsval=777))
    frame = Ether(st.fill(TcpSend("A", 1, 1, win=502, options=(("nop",), ("nop",), ("ts",))), 42))
    t = frame[TCP]
    assert t.seq == TESTER_ISN + 1
    assert t.ack == (0xFFFFFFF0 + 1) & 0xFFFFFFFF
    assert dict(t.options)["Timestamp"] == (TS_BASE + 42, 777)
    assert t.window == 502 and str(t.flags) == "A"
    assert frame[IP].src == TESTER_IP and frame[IP].dst == DUT_IP


def test_template_learns_the_active_opener_port_and_payload():
    st = TcpState()
    st.observe(dut_frame("S", seq=5, sport=50000, tsval=1))
    frame = Ether(st.fill(TcpSend("PA", 1, 1, payload=b"hi".hex(), dport=None), 0))
    assert frame[TCP].dport == 50000 and bytes(frame[TCP].payload) == b"hi"


def test_relative_ack_before_isn_is_an_error():
    try:
        TcpState().fill(TcpSend("A", 1, 1), 0)
    except ValueError as e:
        assert "ISN" in str(e)
    else:
        raise AssertionError("filled a relative ack with no DUT ISN")


def test_expect_matches_flags_and_relative_numbers():
    st = TcpState()
    syn_ack = dut_frame("SA", seq=100, ack=TESTER_ISN + 1)
    assert st.matches(Expect("SA", ack=1), syn_ack)
    assert not st.matches(Expect("SA", ack=2), syn_ack)
    st.observe(syn_ack)
    data = dut_frame("PA", seq=101, ack=TESTER_ISN + 1, payload=b"x" * 5)
    assert st.matches(Expect("PA", seq=1, payload_len=5), data)
    assert not st.matches(Expect("PA", payload_len=4), data)
    assert not st.matches(Expect("A"), data)


def test_relative_frames_equal_for_different_isn_tsval_ipid_and_port():
    a = [dut_frame("S", 1000, sport=50000, tsval=10, ip_id=1),
         dut_frame("A", 1001, TESTER_ISN + 1, sport=50000, tsval=12, tsecr=TS_BASE + 3, ip_id=2)]
    b = [dut_frame("S", 999999, sport=61000, tsval=55555, ip_id=900),
         dut_frame("A", 1000000, TESTER_ISN + 1, sport=61000, tsval=55557, tsecr=TS_BASE + 3, ip_id=901)]
    ra, rb = relative_frames(a), relative_frames(b)
    assert [bytes(x) for x in ra] == [bytes(x) for x in rb]
    # TSval relative to the first segment without SYN (a SYN-ACK's may be a syncookie's).
    assert ra[1][TCP].seq == 1 and ra[1][TCP].ack == 1 and dict(ra[1][TCP].options)["Timestamp"] == (0, 3)
    assert dict(ra[0][TCP].options)["Timestamp"][0] == (-2) & 0xFFFFFFFF


def test_relative_frames_keep_real_differences_and_bad_checksums():
    a = relative_frames([dut_frame("S", 1000, tsval=10), dut_frame("A", 1002, TESTER_ISN + 1, tsval=12)])
    b = relative_frames([dut_frame("S", 5000, tsval=10), dut_frame("A", 5001, TESTER_ISN + 1, tsval=12)])
    assert a[1][TCP].seq != b[1][TCP].seq
    bad = Ether(dut_frame("RA", 1, TESTER_ISN + 1))
    bad[TCP].chksum ^= 0x1111
    assert relative_frames([bytes(bad)])[0][TCP].chksum == 0


def test_tcp_info_compares_state_but_not_measured_rtt():
    from nettwin.scenarios.sock_steps import diff_calls, sock
    step = sock("getsockopt", "c", level=6, name=11, len=104)
    linux = bytearray(104)
    linux[0] = 1                       # TCP_ESTABLISHED
    linux[68:72] = (1234).to_bytes(4, "little")   # tcpi_rtt
    other_rtt = bytearray(linux)
    other_rtt[68:72] = (999).to_bytes(4, "little")
    other_state = bytearray(linux)
    other_state[0] = 7
    call = [{"index": 5, "step": step, "result": {"ret": 0, "errno": "", "value": bytes(linux).hex()}}]
    assert diff_calls(call, [{"ret": 0, "errno": "", "value": bytes(other_rtt).hex()}]) == []
    assert diff_calls(call, [{"ret": 0, "errno": "", "value": bytes(other_state).hex()}])


def test_frame_outline_ignores_random_numbers_but_not_flags():
    from nettwin.comparison.tcp_relative import frame_outline
    a = [dut_frame("SA", 1000, TESTER_ISN + 1, tsval=10), dut_frame("A", 1001, TESTER_ISN + 1, tsval=15)]
    b = [dut_frame("SA", 77777, TESTER_ISN + 1, tsval=900), dut_frame("A", 77778, TESTER_ISN + 1, tsval=902)]
    c = [dut_frame("SA", 77777, TESTER_ISN + 1, tsval=900), dut_frame("PA", 77778, TESTER_ISN + 1, tsval=902)]
    assert frame_outline(a) == frame_outline(b)
    assert frame_outline(a) != frame_outline(c)


def _timed(frames_and_times):
    """Frames as a capture gives them: Scapy packets with .time (seconds)."""
    out = []
    for raw, t in frames_and_times:
        pkt = Ether(raw)
        pkt.time = t
        out.append(pkt)
    return out


def test_retransmitted_syn_tsval_is_held_to_its_own_frame_time():
    # A SYN retransmitted when each side's timer wheel fired it: Linux 1034 ms
    # after the first, the twin 1016 ms. Each TSval reads its own frame's time.
    from nettwin.comparison.compare import compare_frames
    linux = _timed([(dut_frame("S", 1000, sport=50000, tsval=500), 10.0),
                    (dut_frame("S", 1000, sport=50000, tsval=1534), 11.0343)])
    twin = _timed([(dut_frame("S", 7, sport=50000, tsval=90), 0.5),
                   (dut_frame("S", 7, sport=50000, tsval=1106), 1.5162)])
    diffs = compare_frames(relative_frames(linux), relative_frames(twin))
    assert not any(d.differs for d in diffs), [d.differing_keys() for d in diffs]


def test_tsval_off_its_own_frame_time_is_a_difference():
    # The same retransmission with a TSval 40 ms behind the frame that carried it.
    from nettwin.comparison.compare import compare_frames
    linux = _timed([(dut_frame("S", 1000, sport=50000, tsval=500), 10.0),
                    (dut_frame("S", 1000, sport=50000, tsval=1534), 11.0343)])
    twin = _timed([(dut_frame("S", 7, sport=50000, tsval=90), 0.5),
                   (dut_frame("S", 7, sport=50000, tsval=1066), 1.5162)])
    diffs = compare_frames(relative_frames(linux), relative_frames(twin))
    assert [d.differing_keys() for d in diffs] == [[], ["TCP.options"]]


def test_syncookie_synack_tsval_is_held_to_its_frame_time_within_64_ms():
    # tcp_syncookies 2: the SYN-ACK's TSval carries the options in its low 6 bits
    # (cookie_init_timestamp), 0..63 ms below the clock by that clock's own low
    # bits; the base is the first segment without SYN (explore seed 2026120714 #90).
    from nettwin.comparison.compare import compare_frames
    linux = _timed([(dut_frame("SA", 1000, TESTER_ISN + 1, tsval=1000 - 45), 10.0),
                    (dut_frame("A", 1001, TESTER_ISN + 1, tsval=1040), 10.040)])
    twin = _timed([(dut_frame("SA", 7, TESTER_ISN + 1, tsval=300 - 13), 0.5),
                   (dut_frame("A", 8, TESTER_ISN + 1, tsval=340), 0.540)])
    diffs = compare_frames(relative_frames(linux), relative_frames(twin))
    assert not any(d.differs for d in diffs), [d.differing_keys() for d in diffs]
    # 70 ms below is no cookie: a difference.
    twin[0] = _timed([(dut_frame("SA", 7, TESTER_ISN + 1, tsval=300 - 70), 0.5)])[0]
    diffs = compare_frames(relative_frames(linux), relative_frames(twin))
    assert [d.differing_keys() for d in diffs] == [["TCP.options"], []]


def test_tos_sets_the_ip_ecn_field_and_survives_json():
    from nettwin.scenarios.tcp_template import CE
    st = TcpState()
    st.observe(dut_frame("SA", seq=100, ack=TESTER_ISN + 1))
    step = TcpSend("PAC", 1, 1, payload=b"x".hex(), tos=CE)
    again = TcpSend.from_json(step.to_json())
    assert again == step
    frame = Ether(st.fill(again, 0))
    assert frame[IP].tos & 3 == CE and str(frame[TCP].flags) == "PAC"
    # tos 0 stays out of the JSON, so older scenario.json files read the same.
    assert "tos" not in TcpSend("A", 1, 1).to_json()


def test_sack_blocks_are_relative_to_the_dut_isn():
    import json
    st = TcpState()
    st.observe(dut_frame("SA", seq=0xFFFFFFF0, ack=TESTER_ISN + 1))
    step = TcpSend("A", 1, 6001, options=(("nop",), ("nop",), ("sack", ((1, 1001), (2001, 3001)))))
    again = TcpSend.from_json(json.loads(json.dumps(step.to_json())))
    assert again == step and hash(again) == hash(step)
    sack = dict(Ether(st.fill(again, 0))[TCP].options)["SAck"]
    base = 0xFFFFFFF0
    assert sack == tuple((base + x) & 0xFFFFFFFF for x in (1, 1001, 2001, 3001))


def test_ts_option_with_a_seq_echoes_the_first_transmission_of_that_segment():
    st = TcpState()
    st.observe(dut_frame("SA", seq=100, ack=TESTER_ISN + 1, tsval=10))
    st.observe(dut_frame("PA", seq=101, ack=TESTER_ISN + 1, tsval=20, payload=b"a" * 5))
    st.observe(dut_frame("PA", seq=106, ack=TESTER_ISN + 1, tsval=21, payload=b"b" * 5))
    st.observe(dut_frame("PA", seq=101, ack=TESTER_ISN + 1, tsval=90, payload=b"a" * 5))  # its retransmission
    opts = (("nop",), ("nop",), ("ts", 1))
    frame = Ether(st.fill(TcpSend("A", 1, 11, options=opts), 5))
    assert dict(frame[TCP].options)["Timestamp"] == (TS_BASE + 5, 20)
    plain = Ether(st.fill(TcpSend("A", 1, 11, options=(("nop",), ("nop",), ("ts",))), 5))
    assert dict(plain[TCP].options)["Timestamp"] == (TS_BASE + 5, 90)
    # The same through JSON, as a recording's scenario.json carries it.
    again = TcpSend.from_json(TcpSend("A", 1, 11, options=opts).to_json())
    assert Ether(st.fill(again, 5))[TCP].options == frame[TCP].options


def test_a_later_fragment_is_left_as_it_is():
    # A non-first fragment of the DUT's TCP datagram whose bytes happen to look like a
    # TCP header with a timestamp: they are not read as one, so they neither change nor
    # set the connection's TSval base (the SYN's own TSval stays the base, relative 0).
    lookalike = bytes(TCP(sport=DUT_PORT, dport=TESTER_PORT, flags="A",
                          options=[("NOP", None), ("NOP", None), ("Timestamp", (500, 0))]))
    frag = bytes(Ether(src=DUT_MAC, dst=TESTER_MAC)
                 / IP(src=DUT_IP, dst=TESTER_IP, proto=6, frag=3, id=9) / lookalike)
    out = relative_frames([frag, dut_frame("S", 1000, tsval=10)])
    assert bytes(out[0]) == frag
    assert dict(out[1][TCP].options)["Timestamp"] == (0, 0)
