"""TCP loss recovery scenarios: the DUT sends, the tester loses (never ACKs) some
segments, SACKs around the holes, reorders, or answers late, and the DUT's tail
loss probe, RACK (its reordering window and timer), fast recovery, RTO, F-RTO and
undo act as Linux 6.18 does them (tcp_early_retrans 3, tcp_recovery 1, tcp_frto 2).

Timing: the tester answers the handshake and every flight after RTT_MS, so the
DUT's srtt and min_rtt are ~RTT_MS in every recording; the reordering window
(min_rtt/4), the probe timeout (2*srtt + 2 ms) and the RTO (srtt + 200 ms) are then
far enough apart from the tester's own steps that two recordings agree. The RACK
scenarios answer after SLOW_RTT_MS: their window (min_rtt/4) must outlast the
tester's two back-to-back frames even on a loaded machine.

The DUT's data goes in MSS-sized sends with TCP_NODELAY (one skb a segment, as
on the wire); seq numbers are relative to the DUT's ISN, so segment k (from 0)
starts at 1 + k * MSS.
"""
from __future__ import annotations

from .model import Wait
from .sock_steps import sock
from .tcp import FULL, IPPROTO_TCP, SO_SNDBUF, SOL_SOCKET, TCP_NODELAY, _add, _win, info, listener
from .tcp_template import Expect, TcpSend

MSS = 1448          # the tester's MSS 1460 less the timestamp option
RTT_MS = 40         # the tester's answer delay
SLOW_RTT_MS = 200   # the same for the RACK scenarios: a 50 ms reordering window


def _at(k: int) -> int:
    """The relative seq of the DUT's segment k."""
    return 1 + k * MSS


def handshake(rtt_ms: int = RTT_MS) -> tuple:
    """Listener, the tester's handshake answered after rtt_ms, accept collected, NODELAY,
    and a send buffer (net.core.wmem_max) that holds every write of these scenarios."""
    return listener() + (
        Wait(10),
        TcpSend("S", 0, options=FULL),
        Expect("SA", ack=1),
        Wait(rtt_ms),
        TcpSend("A", 1, 1, win=_win(FULL), options=(("nop",), ("nop",), ("ts",))),
        sock("collect", "l"),
        sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),
        sock("setsockopt", "c", level=SOL_SOCKET, name=SO_SNDBUF, value=212992))


def ack(ack_seq: int, sacks=(), echo: int | None = None) -> TcpSend:
    """The tester's ACK (timestamps, then SACK blocks [(first, last segment)]);
    echo: the TSval to echo is that of the DUT's first segment at this relative seq."""
    ts = ("ts",) if echo is None else ("ts", echo)
    opts = (("nop",), ("nop",), ts)
    if sacks:
        opts += (("nop",), ("nop",), ("sack", tuple((_at(a), _at(b + 1)) for a, b in sacks)))
    return TcpSend("A", 1, ack_seq, win=_win(FULL), options=opts)


def sends(first: int, n: int) -> tuple:
    """n MSS-sized sends (segments first..first+n-1), each with its own byte."""
    return tuple(sock("send", "c", data=bytes([65 + (k % 26)]) * MSS) for k in range(first, first + n))


def expect_segments(first: int, n: int, timeout_ms: int = 1000) -> tuple:
    return tuple(Expect("", seq=_at(k), payload_len=MSS, timeout_ms=timeout_ms) for k in range(first, first + n))


def probe_then_rto(probe: int) -> tuple:
    """The tester silent: the tail loss probe (segment `probe`), then the RTO's retransmission of
    the first segment; TCP_INFO after it."""
    return (expect_segments(probe, 1, timeout_ms=500) + expect_segments(0, 1) + (info(),))


def _add_loss(name: str, description: str, steps, rtt_ms: int = RTT_MS, **kw) -> None:
    _add(name, description, handshake(rtt_ms) + tuple(steps), **kw)


# ------------------------------------------------------------- tail loss probe

_add_loss("tcp_tlp_last_segment",
          "3 segments, none acked: after 2*srtt + 2 ms the tail loss probe sends the last segment again "
          "(TCPLossProbes); the ACK of all of them (no D-SACK) keeps the probe's episode open, and the ACK "
          "of one more segment beyond it counts the probe as a repaired loss: CWR at once, cwnd = ssthresh "
          "(TCPLossProbeRecovery)",
          sends(0, 3) + expect_segments(0, 3)
          + (Expect("", seq=_at(2), payload_len=MSS, timeout_ms=500), Wait(RTT_MS), ack(_at(3)), info())
          + sends(3, 1) + expect_segments(3, 1) + (Wait(RTT_MS), ack(_at(4)), info()))

_add_loss("tcp_tlp_new_data",
          "12 segments with a window of 10 (the initial cwnd): none acked, the tail loss probe sends new "
          "data (the 11th segment); its ACK ends the episode without a cwnd reduction, and the last segment "
          "follows",
          sends(0, 12) + expect_segments(0, 10)
          + (Expect("", seq=_at(10), payload_len=MSS, timeout_ms=500), Wait(RTT_MS), ack(_at(11)), info(),
             Expect("", seq=_at(11), payload_len=MSS, timeout_ms=500), Wait(RTT_MS), ack(_at(12)), info()))

_add_loss("tcp_tlp_then_recovery",
          "5 segments; the first 3 acked, the 4th and 5th lost: the probe resends the 5th; its SACK shows "
          "the 4th lost (RACK, sent before it), fast recovery retransmits it; the ACK of all ends Recovery. "
          "The SACK comes 2 RTTs after the probe: a retransmission SACKed sooner than min_rtt would not "
          "advance RACK",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(RTT_MS), ack(_at(3)),
             Expect("", seq=_at(4), payload_len=MSS, timeout_ms=1000), Wait(2 * RTT_MS), ack(_at(3), [(4, 4)]),
             Expect("", seq=_at(3), payload_len=MSS, timeout_ms=500), info(), Wait(RTT_MS), ack(_at(5)), info()))

# ------------------------------------------------------------- RACK: reordering window and timer

_add_loss("tcp_rack_reorder_within_window",
          "5 segments; the 2nd is SACKed first, the hole (1st) within RACK's reordering window (min_rtt/4), "
          "then the ACK of all fills it: no retransmission; reordering detected (TCPSACKReorder, "
          "reord_seen, tcpi_reordering 5)",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(0), [(1, 1)]), ack(_at(5)), info(), Expect("", timeout_ms=300), info()),
          rtt_ms=SLOW_RTT_MS)

_add_loss("tcp_rack_reorder_timer",
          "5 segments; the 2nd is SACKed, the hole (1st) is not filled: RACK's reordering timer fires after "
          "min_rtt/4 (+2 ms), the hole is lost, Recovery retransmits it; the ACK of all ends Recovery",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(0), [(1, 1)]),
             Expect("", seq=_at(0), payload_len=MSS, timeout_ms=200), info(), Wait(SLOW_RTT_MS), ack(_at(5)),
             info()),
          rtt_ms=SLOW_RTT_MS)

# ------------------------------------------------------------- SACK recovery

_add_loss("tcp_sack_single_loss_slow_start",
          "10 segments (initial window, slow start); the 4th lost: the ACK of 3, then a SACK of the next three "
          "(dupthresh reached: no reordering window) marks it lost, fast recovery retransmits it, the ACK of "
          "all ends Recovery",
          sends(0, 10) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(3)), ack(_at(3), [(4, 6)]),
             Expect("", seq=_at(3), payload_len=MSS, timeout_ms=500), info(),
             Wait(RTT_MS), ack(_at(10)), info()))

_add_loss("tcp_sack_multiple_losses",
          "10 segments; the 3rd and 6th lost: the ACK of 2 at once (ten sends take long enough that a "
          "later answer may meet the loss probe), then one SACK of the rest (two blocks) marks both lost, "
          "both retransmitted in Recovery (PRR); a partial ACK up to the second hole, then the ACK of all",
          sends(0, 10) + expect_segments(0, 10)
          + (ack(_at(2)), ack(_at(2), [(3, 4), (6, 9)]),
             Expect("", seq=_at(2), payload_len=MSS, timeout_ms=500),
             Expect("", seq=_at(5), payload_len=MSS, timeout_ms=500), info(),
             Wait(RTT_MS), ack(_at(5), [(6, 9)]), info(), ack(_at(10)), info()))

_add_loss("tcp_sack_loss_congestion_avoidance",
          "a first loss (fast recovery) leaves cwnd at ssthresh (cubic: 7); 7 more segments go in "
          "congestion avoidance and the 2nd of them is lost: a SACK of three, fast retransmit, the ACK of all",
          sends(0, 10) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]),
             Expect("", seq=_at(0), payload_len=MSS, timeout_ms=500),
             Wait(RTT_MS), ack(_at(10)), info())
          + sends(10, 7) + expect_segments(10, 7)
          + (Wait(RTT_MS), ack(_at(11)), ack(_at(11), [(12, 14)]),
             Expect("", seq=_at(11), payload_len=MSS, timeout_ms=500), info(),
             Wait(RTT_MS), ack(_at(17)), info()))

# ------------------------------------------------------------- spurious retransmissions undone

_add_loss("tcp_rto_spurious_frto",
          "12 segments (10 in the initial window), the tester silent: the probe sends the 11th, then the "
          "RTO resends the 1st (Loss, F-RTO on); its ACK lets the 12th (new data) go instead of "
          "retransmissions, and the ACK of the never-retransmitted 2nd proves the RTO spurious: undone "
          "(TCPSpuriousRTOs, TCPLossUndo), Open",
          sends(0, 12) + expect_segments(0, 10) + probe_then_rto(10)
          + (Wait(RTT_MS), ack(_at(1)), Expect("", seq=_at(11), payload_len=MSS, timeout_ms=500),
             ack(_at(2)), info(), Wait(RTT_MS), ack(_at(12)), info()))

_add_loss("tcp_rto_undo_timestamps",
          "3 segments, the tester silent: the probe, then the RTO resends the 1st; the ACK of all echoes "
          "the 1st segment's original TSval (older than the retransmission): the RTO was spurious, undone "
          "by timestamps (TCPLossUndo), Open",
          sends(0, 3) + expect_segments(0, 3) + probe_then_rto(2)
          + (Wait(RTT_MS), ack(_at(3), echo=_at(0)), info()))

_add_loss("tcp_fast_retransmit_undo_timestamps",
          "5 segments; the 2nd to 4th SACKed: the 1st is lost and retransmitted (Recovery); the ACK of all "
          "echoes its original TSval: the fast retransmit was spurious, undone (TCPFullUndo), Open",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), Expect("", seq=_at(0), payload_len=MSS, timeout_ms=500),
             info(), Wait(RTT_MS), ack(_at(5), echo=_at(0)), info()))

# ------------------------------------------------------------- HyStart (cubic's slow start exit)

_add_loss("tcp_hystart_delay",
          "80 queued segments: the initial window of 10 acked after 40 ms (cwnd 20, delay_min ~40 ms), then "
          "the next 20 acked one by one after 60 ms: over 8 samples the round's minimum RTT passes "
          "delay_min + max(delay_min/8, 4 ms), and at the 9th ACK HyStart ends slow start with ssthresh = "
          "cwnd (TCPHystartDelayDetect, TCPHystartDelayCwnd 28); cwnd grows by congestion avoidance after",
          sends(0, 80) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(10))) + expect_segments(10, 20)
          + (Wait(60),) + tuple(ack(_at(k)) for k in range(11, 31)) + (info(),),
          settle_ms=40)   # ends before the loss probe (2*srtt) of what is still in flight
