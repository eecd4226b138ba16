"""More TCP loss recovery scenarios (tcp_loss.py's helpers and timing rules): a
retransmission lost again, RTOs inside fast recovery and backed off, F-RTO finding a
real loss, SACK reneging, PRR over several holes, D-SACKs of a loss probe and of a fast
retransmission, and ECN's ECE meeting a recovery.

Segment k (from 0) of the DUT starts at relative seq 1 + k * MSS (tcp_loss._at); an
`ack(n, [(a, b)])` acks up to segment n (exclusive) and SACKs segments a..b.
"""
from __future__ import annotations

from dataclasses import replace

from .model import Wait
from .sock_steps import sock
from .tcp import FULL, IPPROTO_TCP, SO_SNDBUF, SOL_SOCKET, TCP_NODELAY, _add, _win, info, listener
from .tcp_ecn import ECN_SYN, ECN_SYNACK, ecn
from .tcp_loss import (MSS, RTT_MS, SLOW_RTT_MS, _add_loss, _at, ack, expect_segments, probe_then_rto,
                       sends)
from .tcp_template import Expect, TcpSend


def _seg(k: int, timeout_ms: int = 500) -> Expect:
    """The DUT's segment k (an original or a retransmission)."""
    return Expect("", seq=_at(k), payload_len=MSS, timeout_ms=timeout_ms)


def _ece(a: TcpSend) -> TcpSend:
    """The same ACK with ECE (the tester saw CE on the DUT's data)."""
    return replace(a, flags="AE")


def _ecn_handshake() -> tuple:
    """tcp_loss.handshake with ECN negotiated (the ECN-setup SYN answered with ECE)."""
    return listener() + (
        Wait(10),
        TcpSend(ECN_SYN, 0, options=FULL),
        Expect(ECN_SYNACK, ack=1),
        Wait(RTT_MS),
        TcpSend("A", 1, 1, win=_win(FULL), options=(("nop",), ("nop",), ("ts",))),
        sock("collect", "l"),
        sock("setsockopt", "c", level=IPPROTO_TCP, name=TCP_NODELAY, value=1),
        sock("setsockopt", "c", level=SOL_SOCKET, name=SO_SNDBUF, value=212992))


# ------------------------------------------------------------- a retransmission lost again

_add_loss("tcp_rack_lost_retransmit",
          "12 segments (10 in the initial window); a SACK of the 2nd-4th marks the 1st lost (dupthresh): fast "
          "retransmit; two more SACKs let PRR send the 11th and 12th; the SACK of everything up to the 11th, "
          "sent after the retransmission, shows it lost again (RACK: no reordering window in Recovery): "
          "TCPLostRetransmit, the 1st goes a third time; the ACK of all ends Recovery",
          sends(0, 12) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), ack(_at(0), [(1, 4)]), _seg(10),
             ack(_at(0), [(1, 5)]), _seg(11), Wait(RTT_MS), ack(_at(0), [(1, 11)]), _seg(0), info(),
             Wait(RTT_MS), ack(_at(12)), info()))

# ------------------------------------------------------------- RTOs in recovery, backed off

_add_loss("tcp_sack_recovery_rto",
          "5 segments; a SACK of the 2nd-4th: fast retransmit of the 1st (Recovery); then silence: the RTO "
          "fires in Recovery (Loss, no second ssthresh reduction inside the same window, no F-RTO: this is "
          "not a new recovery and nothing was timed out before), the 1st again; the ACK of the 4 first leaves "
          "the 5th lost: retransmitted in Loss; the ACK of all ends Loss",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), _seg(0, timeout_ms=1500), info(),
             Wait(RTT_MS), ack(_at(4)), _seg(4), info(), Wait(RTT_MS), ack(_at(5)), info()))

_add_loss("tcp_rto_backoff",
          "3 segments, the tester silent: the tail loss probe, then the RTO resends the 1st three times, each "
          "RTO twice the one before (icsk_backoff 1, 2, 3: tcpi_backoff, tcpi_retransmits); the ACK of all "
          "covers the 2nd, which no RTO retransmitted: F-RTO calls the timeouts spurious (TCPSpuriousRTOs, "
          "TCPLossUndo), cwnd and ssthresh are restored, Open, the backoff reset",
          sends(0, 3) + expect_segments(0, 3)
          + (_seg(2), _seg(0, timeout_ms=1000), _seg(0, timeout_ms=1500), _seg(0, timeout_ms=2500), info(),
             Wait(RTT_MS), ack(_at(3)), info()))

_add_loss("tcp_rto_loss_slow_start",
          "10 segments, the tester silent: the probe (the 10th), then the RTO resends the 1st with cwnd 1 "
          "(Loss, every segment marked lost); its ACK finds no new data for F-RTO, so the conventional "
          "recovery goes on: cwnd grows by slow start in Loss, two retransmissions, then four, then the rest, "
          "an ACK each round; the ACK of all ends Loss",
          sends(0, 10) + expect_segments(0, 10) + probe_then_rto(9)
          + (Wait(RTT_MS), ack(_at(1)), _seg(1), _seg(2), Wait(RTT_MS), ack(_at(3)), _seg(3), _seg(4), _seg(5),
             _seg(6), Wait(RTT_MS), ack(_at(7)), _seg(7), _seg(8), _seg(9), info(), Wait(RTT_MS), ack(_at(10)),
             info()))

_add_loss("tcp_frto_real_loss",
          "12 segments (10 in the initial window), the tester silent: the probe sends the 11th, the RTO "
          "resends the 1st (Loss, F-RTO on); its ACK lets the 12th (new data) go (F-RTO step 2b), but what "
          "comes back is a duplicate ACK SACKing only the 12th: the loss was real (step 3a), F-RTO ends and "
          "the lost segments are retransmitted; the ACK of all ends Loss without undo, and as it fills "
          "never-retransmitted holes below the SACKed 12th it counts as reordering (TCPSACKReorder, "
          "tcpi_reordering 9)",
          sends(0, 12) + expect_segments(0, 10) + probe_then_rto(10)
          + (Wait(RTT_MS), ack(_at(1)), _seg(11), Wait(RTT_MS), ack(_at(1), [(11, 11)]), _seg(1), info(),
             Wait(RTT_MS), ack(_at(12)), info()))

# ------------------------------------------------------------- SACK reneging

_add_loss("tcp_sack_reneging",
          "5 segments; the 2nd is SACKed, then an ACK of the 1st arrives without that SACK: the head of the "
          "retransmit queue is SACKed but not acked (FLAG_SACK_RENEGING): tcp_check_sack_reneging rearms the "
          "RTO timer to max(srtt/2, 10 ms) instead of marking losses; it fires: Loss forgets every SACK "
          "(TCPSACKReneging) and resends the 2nd; the ACK of all covers segments the RTO did not resend: F-RTO "
          "undoes the timeout (TCPSpuriousRTOs, TCPLossUndo)",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(0), [(1, 1)]), ack(_at(1)), _seg(1, timeout_ms=400), info(),
             Wait(SLOW_RTT_MS), ack(_at(5)), info()),
          rtt_ms=SLOW_RTT_MS)

# ------------------------------------------------------------- PRR over three holes

_add_loss("tcp_sack_prr_three_holes",
          "the initial window acked (cwnd 20 by slow start), then 20 segments of which the 2nd, 6th and 10th "
          "are lost; the tester SACKs the others one segment an ACK: the third SACK marks the first hole lost "
          "(Recovery, ssthresh 14), each later SACK past a hole marks it lost (RACK), and PRR lets out "
          "retransmissions and new data in proportion to what each ACK delivered (proportional while the pipe "
          "exceeds ssthresh, then conservation). The tester's ACKs all echo the TSval of the last segment it "
          "waited for, sent before any retransmission, so the partial ACK of the flight looks like delayed "
          "originals filled the holes: tcp_try_undo_partial undoes the recovery (TCPPartialUndo, TCPTSReorder, "
          "tcpi_reordering 19, ssthresh back to infinite) and the rest goes out",
          sends(0, 34) + expect_segments(0, 10) + (Wait(SLOW_RTT_MS), ack(_at(10))) + expect_segments(10, 20)
          + (Wait(SLOW_RTT_MS), ack(_at(11)))
          + tuple(ack(_at(11), [(12, k)]) for k in range(12, 15))
          + tuple(ack(_at(11), [(16, k), (12, 14)]) for k in range(16, 19))
          + tuple(ack(_at(11), [(20, k), (16, 18), (12, 14)]) for k in range(20, 30))
          + (info(), Wait(SLOW_RTT_MS), ack(_at(30)), info(), _seg(33, timeout_ms=500), Wait(SLOW_RTT_MS),
             ack(_at(34)), info()),
          rtt_ms=SLOW_RTT_MS)

# ------------------------------------------------------------- D-SACKs: the loss probe, a fast retransmission

_add_loss("tcp_tlp_dsack_probe",
          "3 segments, none acked: the tail loss probe resends the 3rd; a 4th segment follows; one ACK of all "
          "four D-SACKs the probe (the original 3rd arrived too: FLAG_DSACK_TLP): the episode ends with no cwnd "
          "reduction and no TCPLossProbeRecovery, although the ACK goes beyond the probe",
          sends(0, 3) + expect_segments(0, 3) + (_seg(2),) + sends(3, 1) + expect_segments(3, 1)
          + (Wait(RTT_MS), ack(_at(4), [(2, 2)]), info()) + sends(4, 1) + expect_segments(4, 1)
          + (Wait(RTT_MS), ack(_at(5)), info()))

_add_loss("tcp_dsack_undo_partial",
          "10 segments; a SACK of the 2nd-4th: fast retransmit of the 1st (Recovery); a partial ACK of the 4 "
          "first (before high_seq), then a D-SACK of the 1st: the retransmission was spurious (undo_retrans 0), "
          "tcp_try_undo_dsack restores cwnd and ssthresh (TCPDSACKUndo) in the middle of the window; the ACK "
          "of all",
          sends(0, 10) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), ack(_at(4)), ack(_at(4), [(0, 0)]), info(),
             Wait(RTT_MS), ack(_at(10)), info()))

# ------------------------------------------------------------- ECN's ECE and recovery

_add("tcp_ecn_ece_blocks_undo",
     "ECN on; 5 segments, a SACK of the 2nd-4th: fast retransmit of the 1st (Recovery); the ACK of all echoes "
     "the 1st's original TSval (the recovery was spurious) but carries ECE: prior_ssthresh is zeroed first, so "
     "the undo (TCPFullUndo) restores neither cwnd nor ssthresh, and the ECE then enters CWR",
     _ecn_handshake() + sends(0, 5) + expect_segments(0, 5)
     + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), info(), Wait(RTT_MS), _ece(ack(_at(5), echo=_at(0))), info())
     + sends(5, 1) + expect_segments(5, 1) + (Wait(RTT_MS), ack(_at(6)), info()),
     sysctls=ecn(2))

_add("tcp_ecn_ece_once_per_window",
     "ECN on; 12 segments (10 in the initial window), each of the first ten acked with ECE: the first ECE "
     "enters CWR (ssthresh from cubic), the later ones in the same window reduce nothing more; PRR paces "
     "the 11th and 12th, which carry CWR; the ACK past high_seq without ECE ends CWR (cwnd = ssthresh)",
     _ecn_handshake() + sends(0, 12) + expect_segments(0, 10)
     + (Wait(RTT_MS),) + tuple(_ece(ack(_at(k))) for k in range(1, 11)) + (info(),)
     + expect_segments(10, 2) + (Wait(RTT_MS), ack(_at(12)), info()),
     sysctls=ecn(2))

# ------------------------------------------------------------- D-SACK grows RACK's reordering window

_add_loss("tcp_rack_dsack_reo_wnd",
          "three flights of 5 segments (min_rtt 200 ms: a reordering window of 50 ms a step). 1st: the 2nd "
          "SACKed, then all acked: reordering seen. 2nd: the 7th SACKed, the 6th waits out the 50 ms window, "
          "RACK's timer retransmits it (Recovery); the ACK of all D-SACKs that retransmission: with reordering "
          "seen, the D-SACK grows the window a step (rack.dsack_seen, tcp_rack_update_reo_wnd: reo_wnd_steps 2) "
          "and the spurious recovery is undone. 3rd: the 12th SACKed, the 11th filled 75 ms later, within the "
          "100 ms window now: no retransmission",
          sends(0, 5) + expect_segments(0, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(0), [(1, 1)]), ack(_at(5)))
          + sends(5, 5) + expect_segments(5, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(5), [(6, 6)]), _seg(5, timeout_ms=200), info(), Wait(SLOW_RTT_MS),
             ack(_at(10), [(5, 5)]), info())
          + sends(10, 5) + expect_segments(10, 5)
          + (Wait(SLOW_RTT_MS), ack(_at(10), [(11, 11)]), Wait(75), ack(_at(15)), info(), Expect("", timeout_ms=200)),
          rtt_ms=SLOW_RTT_MS)

# ------------------------------------------------------------- a late D-SACK undoes a finished recovery

_add_loss("tcp_dsack_undo_after_recovery",
          "10 segments; a SACK of the 2nd-4th: fast retransmit of the 1st (Recovery); the ACK of all echoes the "
          "retransmission, so Recovery ends reduced (ssthresh 7) with undo_marker still set; then a "
          "duplicate ACK D-SACKs the retransmission: with nothing in flight tcp_ack still runs "
          "tcp_fastretrans_alert for a D-SACKing ACK, and in Open tcp_try_undo_dsack restores cwnd and "
          "ssthresh (TCPDSACKUndo)",
          sends(0, 10) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), Wait(RTT_MS), ack(_at(10)), info(),
             Wait(RTT_MS), ack(_at(10), [(0, 0)]), info()) + sends(10, 1) + expect_segments(10, 1)
          + (Wait(RTT_MS), ack(_at(11)), info()))

# ------------------------------------------------------------- RACK advanced by a cumulative ACK

_add_loss("tcp_rack_cumulative_ack_marks_lost",
          "10 segments; a SACK of the 2nd-4th: fast retransmit of the 1st (Recovery); two RTTs later the ACK "
          "of the 4 first (the hole filled): the cumulatively acked retransmission, delivered "
          "later than min_rtt after it left, advances RACK (tcp_clean_rtx_queue calls tcp_rack_advance for "
          "what it acks too), so the 5th-10th, sent before it and neither SACKed nor acked, are lost at once; "
          "PRR resends three of them; the ACK of all ends Recovery",
          sends(0, 10) + expect_segments(0, 10)
          + (Wait(RTT_MS), ack(_at(0), [(1, 3)]), _seg(0), Wait(2 * RTT_MS), ack(_at(4)), _seg(4),
             info(), Wait(RTT_MS), ack(_at(10)), info()))

# ------------------------------------------------------------- a SACK in Loss restarts the RTO

_add_loss("tcp_rto_sack_rearms_timer",
          "3 segments, the tester silent: the probe, then the RTO resends the 1st (Loss, backoff 1); 200 ms "
          "later a SACK of the 2nd, never retransmitted: F-RTO calls the RTO spurious (TCPSpuriousRTOs, "
          "TCPLossUndo: Open, the losses unmarked, the 1st still marked retransmitted), and as its RTT sample "
          "is older than the head's last transmission tcp_clean_rtx_queue sets the timer again "
          "(FLAG_SET_XMIT_TIMER): the RTO restarts from this ACK, not from the retransmission; it fires (from "
          "Open with SACKs: TCPSackFailures) and the 1st goes again, counted in retrans_out a second time "
          "(tcp_retransmit_skb adds unconditionally); the ACK of all",
          sends(0, 3) + expect_segments(0, 3) + probe_then_rto(2)
          + (Wait(200), ack(_at(0), [(1, 1)]), _seg(0, timeout_ms=1500), info(), Wait(RTT_MS), ack(_at(3)), info()))
