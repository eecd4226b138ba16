"""TCP sender- and receiver-side scenarios: cwnd after idle (tcp_slow_start_after_idle 1 and 0), the
path MTU lowered by an ICMP fragmentation-needed quoting the DUT's segment (tcp_v4_mtu_reduced,
tcp_simple_retransmit, the route's PMTU exception, and an MTU below min_pmtu 552), a slow reader's
receive and out-of-order queues pruned and collapsed (tcp_prune_queue, tcp_collapse), TCP_NOTSENT_LOWAT's
POLLOUT (tcp_stream_memory_free), TCP_INFO's chronos (busy, rwnd_limited: tcp_chrono_*), and
receive-buffer autotuning over a paced bulk transfer (tcp_rcv_space_adjust, tcp_rcvbuf_grow; with a
locked SO_RCVBUF and TCP_WINDOW_CLAMP. With tcp_moderate_rcvbuf 0 two recordings disagreed on
which segments of a burst are acked at once, the read acking the others).

Not here: sndbuf_limited running (a non-blocking write
that runs out of send buffer has already sent its skb by tcp_push_one: tcp_chrono_sndbuf_limited
records it staying 0, and the write taking whole segments as tcp_sendmsg_locked refills the unsent rest
of a tso_fragment to size_goal).

TSQ and autocorking: veth's skb is orphaned by the peer's ip_rcv when this CPU's backlog reaches it, at
once after a socket call's dev_queue_xmit (its bh-enable runs the backlog: autocorking finds nothing
below TCP), but only after the work at hand in a softirq, where tcp_small_queue_check holds segments
back until their tcp_wfree (tcp_pmtu_below_min_pmtu, tcp_tsq_pmtu_retransmit).

The DUT's data: MSS-sized sends with TCP_NODELAY, as in tcp_loss.py (segment k starts at 1 + k * MSS).
TCP_INFO is read 224 bytes long where its chronos matter; sock_steps.diff_calls compares them within
their jiffy rounding and the recording's noise (client/tcp_info.compare_chronos).
"""
from __future__ import annotations

import struct

from .model import Wait
from .sock_steps import sock
from .tcp import FULL, IPPROTO_TCP, POLLOUT, SO_LINGER, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, TCP_INFO, TCP_NODELAY, _add, \
    listener, seg
from .tcp_loss import MSS, RTT_MS, _at, ack, expect_segments, handshake, sends
from .model import TESTER_IP, TESTER_MAC
from .tcp_template import Expect, TcpSend

TCP_NOTSENT_LOWAT = 25
MSG_DONTWAIT = 0x40
TCP_INFO_LONG = 224      # through tcpi_reord_seen: the chronos, delivered, bytes_sent...


TS_OPTS = (("nop",), ("nop",), ("ts",))


SLOW_RTT_MS = 200   # the chrono scenarios' handshake RTT: their 100 ms waits stay below the loss probe (2*srtt)


def small_window_handshake(segments: int) -> tuple:
    """tcp_loss.handshake(SLOW_RTT_MS) whose completing ACK offers a window of `segments` full segments (WS 7)."""
    win = (segments * MSS + 127) >> 7
    return listener() + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA", ack=1), Wait(SLOW_RTT_MS),
                         TcpSend("A", 1, 1, win=win, options=TS_OPTS), sock("collect", "l"),
                         sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),
                         sock("setsockopt", "c", level=SOL_SOCKET, name=SO_SNDBUF, value=212992))


def small_window_ack(k: int, segments: int) -> TcpSend:
    return TcpSend("A", 1, _at(k), win=(segments * MSS + 127) >> 7, options=TS_OPTS)


def info_long(h: str = "c"):
    return sock("getsockopt", h, level=IPPROTO_TCP, name=TCP_INFO, len=TCP_INFO_LONG)


def frag_needed(k: int, mtu: int) -> TcpSend:
    """The tester (a router) says the DUT's segment k did not fit a next hop of this MTU."""
    return TcpSend("", 0, _at(k), icmp_mtu=mtu)


# ------------------------------------------------------------- cwnd after idle (RFC 2861)

def _idle(name: str, value: str, what: str, after: int, idle_ms: int = 1000) -> None:
    idle = "1 s idle (beyond the RTO)" if idle_ms == 1000 else f"{idle_ms} ms idle (below the RTO, ~240 ms)"
    _add(name,
         f"tcp_slow_start_after_idle {value}: 10 segments acked (slow start: cwnd 20), {idle}, "
         f"then 20 sends: {what}",
         handshake() + sends(0, 10) + expect_segments(0, 10) + (Wait(RTT_MS), ack(_at(10)), info_long(), Wait(idle_ms))
         + sends(10, 20) + expect_segments(10, after) + (Expect("", timeout_ms=20), info_long(), Wait(RTT_MS),
                                                         ack(_at(10 + after)))
         + expect_segments(10 + after, 20 - after) + (Wait(RTT_MS), ack(_at(30)), info_long()),
         sysctls=(("net.ipv4.tcp_slow_start_after_idle", value),), settle_ms=100)


_idle("tcp_idle_cwnd_restart", "1",
      "the first write after the idle time restarts the window (tcp_cwnd_restart: cwnd back to the initial 10), "
      "only 10 leave", 10)
_idle("tcp_idle_no_cwnd_restart", "0", "the window is kept, all 20 leave at once", 20)
_idle("tcp_idle_below_rto_no_restart", "1",
      "tcp_slow_start_after_idle_check leaves cwnd alone, all 20 leave at once", 20, idle_ms=100)

# ------------------------------------------------------------- path MTU

def _pmtu(name: str, description: str, mtu: int, mss: int, flight: int, after: int) -> None:
    """`flight` full segments; an ICMP fragmentation-needed with `mtu` quoting the first: the first is
    resent at once as an `mss`-byte segment; the ACK of all, then `after` more segments, acked."""
    _add(name, description,
         handshake() + sends(0, flight) + expect_segments(0, flight)
         + (frag_needed(0, mtu), Expect("", seq=1, payload_len=mss, timeout_ms=500), Wait(100), info_long(),
            ack(_at(flight)), info_long()) + sends(flight, after)
         + (Expect("", timeout_ms=200), Wait(100), ack(_at(flight + after)), info_long()),
         settle_ms=300)


_pmtu("tcp_pmtu_frag_needed",
      "3 full segments; an ICMP fragmentation-needed (MTU 1200) quoting the first: the route gets a PMTU "
      "exception, the MSS drops to 1148 (tcp_v4_mtu_reduced, tcp_sync_mss) and what is in flight is resent in "
      "smaller segments at once (tcp_simple_retransmit); the ACK of all, then new data in 1148-byte segments",
      mtu=1200, mss=1148, flight=3, after=2)

_pmtu("tcp_pmtu_below_min_pmtu",
      "an ICMP fragmentation-needed with MTU 500, below min_pmtu 552: the route's MTU is 552 and locked "
      "(__ip_rt_update_pmtu), the MSS 500, and the DUT's segments leave without DF (ip_dont_fragment); resent "
      "at once, acked, then new data",
      mtu=500, mss=500, flight=2, after=1)

_pmtu("tcp_tsq_pmtu_retransmit",
      "5 full segments; an ICMP fragmentation-needed (MTU 1100) quoting the first: all 10 pieces are resent "
      "from the ICMP's softirq, where veth's skbs wait in the backlog until the peer's ip_rcv orphans them: "
      "tcp_small_queue_check (factor 1 in tcp_xmit_retransmit_queue) holds the rest back until their "
      "tcp_wfree, and the TSQ work sends it after the ICMP's skb is freed",
      mtu=1100, mss=1048, flight=5, after=2)

# ------------------------------------------------------------- autocorking (tcp_push)

def _small_writes(name: str, value: str) -> None:
    what = ("tcp_should_autocork finds nothing of the socket's below TCP (veth's backlog ran at the bh-enable "
            "ending each send's dev_queue_xmit): TCPAutoCorking stays 0" if value == "1" else
            "autocorking off")
    _add(name,
         f"tcp_autocorking {value}: one full segment in flight (unacked), then 8 writes of 100 bytes with "
         f"TCP_NODELAY: {what}; each leaves as its own segment; the ACK of all, TCP_INFO",
         handshake() + sends(0, 1) + expect_segments(0, 1)
         + tuple(sock("send", "c", data=bytes([97 + i]) * 100) for i in range(8))
         + (Wait(RTT_MS), ack(_at(1) + 800), Wait(50), info_long()),
         sysctls=(("net.ipv4.tcp_autocorking", value),), settle_ms=100)


_small_writes("tcp_autocork_small_writes", "1")
_small_writes("tcp_autocork_off_small_writes", "0")

_add("tcp_pmtu_frag_needed_stale",
     "an ICMP fragmentation-needed quoting a sequence number already acked (outside snd_una..snd_nxt): "
     "ignored (OutOfWindowIcmps), the MSS stays",
     handshake() + sends(0, 2) + expect_segments(0, 2)
     + (Wait(RTT_MS), ack(_at(2)), frag_needed(0, 1200), Wait(50), info_long()) + sends(2, 1)
     + expect_segments(2, 1) + (Wait(RTT_MS), ack(_at(3)), info_long()),
     settle_ms=300)

# ------------------------------------------------------------- TCP_INFO chronos

_add("tcp_chrono_rwnd_limited",
     "the tester's window is 2 segments: 6 writes, 2 leave and the rest wait for window (rwnd_limited grows); "
     "each ACK 100 ms later opens room for 2 more; TCP_INFO's busy_time and rwnd_limited between",
     small_window_handshake(2) + sends(0, 6) + expect_segments(0, 2)
     + (Wait(100), info_long(), small_window_ack(2, 2)) + expect_segments(2, 2)
     + (Wait(100), small_window_ack(4, 2)) + expect_segments(4, 2)
     + (Wait(100), small_window_ack(6, 2), info_long()),
     settle_ms=100)

_add("tcp_chrono_busy_then_idle",
     "3 segments acked after 100 ms: busy_time covers the time data was unacked; 200 ms idle adds nothing",
     handshake(SLOW_RTT_MS) + sends(0, 3) + expect_segments(0, 3) + (Wait(100), info_long(), ack(_at(3)), Wait(200),
                                                         info_long()),
     settle_ms=100)

_add("tcp_chrono_sndbuf_limited",
     "a window of 8 segments and SO_SNDBUF 2048: one non-blocking write of 20000 bytes fills one skb to "
     "size_goal, which leaves at once (tcp_push_one), then finds no room for a second (SOCK_NOSPACE) and "
     "returns short; the push at wait_for_space sends nothing, so tcp_cwnd_validate never starts the "
     "sndbuf_limited chrono (0 on Linux); POLLOUT off; the ACK of two segments, then SO_LINGER 0 and close "
     "end it with a RST",
     small_window_handshake(8) + (sock("setsockopt", "c", level=SOL_SOCKET, name=SO_SNDBUF, value=2048),
                               sock("send", "c", data=bytes(range(200)) * 100, flags=MSG_DONTWAIT),
                               Expect("", seq=1, timeout_ms=300), sock("poll", "c", events=POLLOUT), Wait(100),
                               info_long(), small_window_ack(2, 8), sock("poll", "c", events=POLLOUT), Wait(100),
                               info_long(),
                               sock("setsockopt", "c", level=SOL_SOCKET, name=SO_LINGER,
                                    hex=struct.pack("ii", 1, 0).hex()),
                               sock("close", "c"), Expect("RA", timeout_ms=300)),
     settle_ms=100)

# ------------------------------------------------------------- TCP_NOTSENT_LOWAT

_add("tcp_notsent_lowat_pollout",
     "TCP_NOTSENT_LOWAT 3000 and a window of 2 segments (a smaller one would halve the MSS: "
     "tcp_bound_to_half_wnd): 6 non-blocking writes, 2 leave, 3 wait unsent and the 6th is refused "
     "(EAGAIN: tcp_stream_memory_free, 2896 unsent bytes below the mark let the 5th in); POLLOUT off "
     "(tcp_poll's wake: twice the unsent bytes); the ACK of 2 lets 2 more go and, one segment unsent, "
     "POLLOUT is back (tcp_event_new_data_sent's tcp_check_space)",
     small_window_handshake(2)
     + (sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NOTSENT_LOWAT, value=3000),
        sock("poll", "c", events=POLLOUT))
     + tuple(sock("send", "c", data=bytes([65 + k]) * MSS, flags=MSG_DONTWAIT) for k in range(6))
     + expect_segments(0, 2)
     + (sock("poll", "c", events=POLLOUT), Wait(RTT_MS), small_window_ack(2, 2)) + expect_segments(2, 2)
     + (sock("poll", "c", events=POLLOUT), Wait(RTT_MS), small_window_ack(4, 2)) + expect_segments(4, 1)
     + (sock("poll", "c", events=POLLOUT), Wait(RTT_MS), small_window_ack(5, 2), info_long()),
     settle_ms=100)

# ------------------------------------------------------------- receive side

_add("tcp_slow_reader_prune",
     "SO_RCVBUF 8192, nobody reads: 1-byte-payload-heavy segments of 100 bytes fill the receive queue "
     "beyond its memory (truesize), a segment past a hole waits out of order; the next in-order data finds "
     "no room: the queue is collapsed (TCPRcvCollapsed) and then the out-of-order queue pruned "
     "(OfoPruned, tcp_prune_ofo_queue); a read drains all",
     listener(opts=[sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=8192)])
     + (Wait(10), TcpSend("S", 0, options=FULL), Expect("SA"), seg("A", 1, 1), sock("collect", "l"))
     + tuple(seg("PA", 1 + i * 100, 1, bytes([65 + i % 26]) * 100) for i in range(30))
     + (seg("PA", 1 + 32 * 100, 1, b"z" * 100), Expect("A", timeout_ms=300))
     + tuple(seg("PA", 1 + i * 100, 1, bytes([65 + i % 26]) * 100) for i in range(30, 32))
     + (Expect("A", timeout_ms=300), Wait(100), info_long(), sock("recvfrom", "c", len=8000),
        Expect("A", timeout_ms=500), info_long()),
     settle_ms=300)


# ------------------------------------------------------------- receive-buffer autotuning (DRS)

# Every data segment echoes the SYN-ACK's TSval, so the first one gives the receiver its only RTT
# sample (tcp_rcv_rtt_measure_ts: a repeated TSecr is none), about 3 s: the handshake ACK 300 ms
# after the SYN-ACK (an RTO of 900 ms), the first data 2.7 s later. The tester sends bursts 2 s
# apart, one full PSH segment at a time (the first of each burst, idle beyond the RTO, restarts
# quick ACKs); the app reads each one 5 ms after it was sent, the next leaving once that read
# returned (a segment whose softirq a loaded recorder delays would otherwise race the read into the
# socket's backlog) (tcp_cleanup_rbuf acks what the segment did not), so the queue holds one skb at each read
# and tcp_rcv_space_adjust's inq is 0. Its measure falls on the first read of every second burst
# (4 s since the last against the 3 s RTT; the burst between ends about 2.1 s after it, with room
# for a loaded recorder): rcvq_space grows when the bytes read since exceed it. A window's worth
# of data takes longer than the RTT, so tcp_rcv_rtt_measure's window-based samples never lower it.
AUTOTUNE_BURSTS = (8, 8, 16, 16, 22, 22, 28, 28, 34, 34)
AUTOTUNE_PERIOD_MS = 2000
AUTOTUNE_READ_MS = 5
ECHO_SYNACK = (("nop",), ("nop",), ("ts", 0))


def _autotune(name: str, description: str, listen_opts=(), conn_opts=(), sysctls=()) -> None:
    steps = listener(opts=list(listen_opts)) + (
        Wait(10), TcpSend("S", 0, options=FULL), Expect("SA", ack=1), Wait(300),
        TcpSend("A", 1, 1, win=64256 >> 7, options=TS_OPTS), sock("collect", "l")) + tuple(conn_opts) + (Wait(2700),)
    k = 0
    for n in AUTOTUNE_BURSTS:
        for _ in range(n):
            steps += (TcpSend("PA", 1 + k * MSS, 1, win=64256 >> 7, options=ECHO_SYNACK,
                              payload=(bytes([65 + k % 26]) * MSS).hex()),
                      Wait(AUTOTUNE_READ_MS), sock("recvfrom", "c", len=65536))
            k += 1
        steps += (Wait(AUTOTUNE_PERIOD_MS - (AUTOTUNE_READ_MS + 1) * n),)
    steps += (info_long(), sock("getsockopt", "c", level=SOL_SOCKET, name=SO_RCVBUF))
    # The tester as a permanent neighbour: over the transfer's 23 s, a neighbour the DUT only ever
    # confirms once (the handshake's ACK) would be probed after a random reachable_time.
    _add(name, description, steps, sysctls=sysctls, settle_ms=100,
         dut_neighbours=(("ntdut0", TESTER_IP, TESTER_MAC),))


_autotune("tcp_rcv_autotune",
          "receive-buffer autotuning over a paced bulk transfer read as it comes: every second burst "
          "tcp_rcv_space_adjust finds more bytes read in an RTT than rcvq_space holds and tcp_rcvbuf_grow "
          "raises sk_rcvbuf and window_clamp; rcv_ssthresh grows a segment at a time (tcp_grow_window) and "
          "the DUT's ACKs advertise the wider window")

_autotune("tcp_rcv_autotune_rcvbuf_locked",
          "the same transfer into a listener with SO_RCVBUF 65536 (sk_rcvbuf 131072, SOCK_RCVBUF_LOCK, "
          "inherited by the child): no autotuning; the window stays where the fixed buffer puts it",
          listen_opts=(sock("setsockopt", "l", level=SOL_SOCKET, name=SO_RCVBUF, value=65536),))

_autotune("tcp_rcv_autotune_window_clamp",
          "the same transfer with TCP_WINDOW_CLAMP 40000 on the accepted socket: the advertised window "
          "stops at the clamp while tcp_rcvbuf_grow still raises sk_rcvbuf",
          conn_opts=(sock("setsockopt", "c", level=IPPROTO_TCP, name=10, value=40000),))


# ------------------------------------------------------------- neighbour confirmation (sk_dst_confirm)

DST_CONFIRM_ROUND_MS = 300   # below the shortest reachable time of a 1 s base (500 ms)
DST_CONFIRM_ROUNDS = 27      # 8 s: past the SYN-ACK's DELAY (5 s) and several reachable times

_add("tcp_dst_confirm_acked_data",
     "base_reachable_time 1 s; the DUT sends a segment every 300 ms for 8 s and the tester ACKs each: "
     "every ACK that moves snd_una confirms the path (tcp_ack's sk_dst_confirm) and the next segment "
     "confirms the neighbour in ip_finish_output2 (sock_confirm_neigh), so the entry the SYN-ACK put "
     "in DELAY goes back to REACHABLE and stays there: no ARP probe in 8 s",
     handshake() + tuple(
         step for k in range(DST_CONFIRM_ROUNDS)
         for step in sends(k, 1) + expect_segments(k, 1)
         + (Wait(RTT_MS), ack(_at(k + 1)), Wait(DST_CONFIRM_ROUND_MS - RTT_MS)))
     + (info_long(),),
     sysctls=(("net.ipv4.neigh.{dev}.base_reachable_time_ms", "1000"),), settle_ms=100)


# ------------------------------------------------------------- internal pacing (SO_MAX_PACING_RATE)

SO_MAX_PACING_RATE = 47

_add("tcp_max_pacing_rate",
     "SO_MAX_PACING_RATE 200000 bytes/s on the connection (SK_PACING_NEEDED: TCP paces itself, no fq): "
     "tcp_tso_autosize makes 2-segment skbs at that rate; the first 10 segments go at once (sch_fq's "
     "unpaced start, tcp_update_skb_after_send), and after their ACK the next 10 leave one skb every "
     "~14.5 ms (2896 bytes at 200000 bytes/s), each held by tcp_pacing_check until the pacing hrtimer "
     "(tcp_pace_kick); TCP_INFO and the option read back",
     handshake()
     + (sock("setsockopt", "c", level=SOL_SOCKET, name=SO_MAX_PACING_RATE, value=200000),
        sock("getsockopt", "c", level=SOL_SOCKET, name=SO_MAX_PACING_RATE))
     + sends(0, 20) + expect_segments(0, 10) + (Wait(RTT_MS), ack(_at(10)))
     + expect_segments(10, 10) + (Wait(RTT_MS), ack(_at(20)), info_long()),
     settle_ms=100)
