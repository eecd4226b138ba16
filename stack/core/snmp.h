// The SNMP MIB counters, named as /proc/net/snmp and /proc/net/netstat name
// them ("Ip.InReceives", "IpExt.InCsumErrors", "Icmp.OutEchoReps").
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace nettwin {

struct IpMib {
  uint64_t InReceives = 0, InHdrErrors = 0, InAddrErrors = 0, ForwDatagrams = 0, InUnknownProtos = 0,
           InDiscards = 0, InDelivers = 0, OutRequests = 0, OutDiscards = 0, OutNoRoutes = 0, ReasmTimeout = 0,
           ReasmReqds = 0, ReasmOKs = 0, ReasmFails = 0, FragOKs = 0, FragFails = 0, FragCreates = 0,
           OutTransmits = 0;
  // IpExt
  uint64_t InNoRoutes = 0, ReasmOverlaps = 0, InTruncatedPkts = 0, InCsumErrors = 0, InOctets = 0, OutOctets = 0, InBcastPkts = 0,
           InNoECTPkts = 0, InECT1Pkts = 0, InECT0Pkts = 0, InCEPkts = 0;
};

struct IcmpMib {
  uint64_t InMsgs = 0, InErrors = 0, InCsumErrors = 0, OutMsgs = 0, OutErrors = 0, OutRateLimitGlobal = 0,
           OutRateLimitHost = 0;
  uint64_t InType[256] = {};   // IcmpMsg.InTypeN, and the Icmp.In<Name> columns
  uint64_t OutType[256] = {};  // IcmpMsg.OutTypeN, and the Icmp.Out<Name> columns
};

// The Tcp line of /proc/net/snmp (TCP_MIB_*), the counted columns.
struct TcpMib {
  uint64_t ActiveOpens = 0, PassiveOpens = 0, AttemptFails = 0, EstabResets = 0, InSegs = 0, OutSegs = 0,
           RetransSegs = 0, InErrs = 0, OutRsts = 0, InCsumErrors = 0;
  uint64_t CurrEstab = 0;  // a gauge: connections in ESTABLISHED or CLOSE_WAIT
};

// The TcpExt columns of /proc/net/netstat that the stack counts.
struct TcpExtMib {
  uint64_t ListenOverflows = 0, ListenDrops = 0, TCPSynRetrans = 0, TCPACKSkippedSynRecv = 0;
  // SYN cookies, SYN queue overflow, request sock timeouts, TIME_WAIT.
  uint64_t SyncookiesSent = 0, SyncookiesRecv = 0, SyncookiesFailed = 0, EmbryonicRsts = 0, TCPReqQFullDoCookies = 0,
           TCPReqQFullDrop = 0, TCPDeferAcceptDrop = 0, TW = 0, TWRecycled = 0, TWKilled = 0, PAWSTimewait = 0,
           TCPACKSkippedTimeWait = 0, TCPACKSkippedFinWait2 = 0, TCPTimeWaitOverflow = 0;
  uint64_t TCPKeepAlive = 0;  // keepalive probes sent (tcpopts)
  uint64_t TCPWinProbe = 0;   // window probes sent by the probe timer (tcp_send_probe0)
  // The established data path and close (tcpdata).
  uint64_t DelayedACKs = 0, TCPTimeouts = 0, TCPLossFailures = 0, TCPAbortOnTimeout = 0, TCPAbortOnData = 0,
           TCPAbortOnClose = 0, TCPAbortOnLinger = 0, TCPHPHits = 0, TCPPureAcks = 0, TCPHPAcks = 0,
           TCPOFOQueue = 0, TCPRcvQDrop = 0, TCPZeroWindowDrop = 0, TCPWantZeroWindowAdv = 0,
           TCPToZeroWindowAdv = 0, TCPFromZeroWindowAdv = 0, TCPChallengeACK = 0, TCPSYNChallenge = 0,
           PAWSEstabRejected = 0, TCPDSACKOldSent = 0, DelayedACKLost = 0, TCPOrigDataSent = 0,
           TCPRcvCoalesce = 0, TCPAutoCorking = 0;
  // Receive memory (tcp_prune_queue, tcp_prune_ofo_queue).
  uint64_t PruneCalled = 0, RcvPruned = 0, OfoPruned = 0, TCPOFODrop = 0, TCPRcvCollapsed = 0;
  // The active open's.
  uint64_t TCPTimeoutRehash = 0, PAWSActiveRejected = 0, OutOfWindowIcmps = 0;
  // Loss recovery (tcp_fastretrans_alert, tcp_xmit_retransmit_queue, the RTO's failures).
  uint64_t TCPRenoRecovery = 0, TCPSackRecovery = 0, TCPRenoReorder = 0, TCPFastRetrans = 0,
           TCPSlowStartRetrans = 0, TCPLostRetransmit = 0, TCPFullUndo = 0, TCPPartialUndo = 0, TCPLossUndo = 0,
           TCPRenoRecoveryFail = 0, TCPSackRecoveryFail = 0, TCPRenoFailures = 0, TCPSackFailures = 0;
  // D-SACK sent and received (tcp_dsack_set, tcp_check_dsack, tcp_try_undo_dsack), SACK blocks
  // discarded, and segments delivered while the peer echoed ECE.
  uint64_t TCPDSACKOfoSent = 0, TCPDSACKRecv = 0, TCPDSACKOfoRecv = 0, TCPDSACKRecvSegs = 0, TCPDSACKIgnoredOld = 0,
           TCPDSACKIgnoredNoUndo = 0, TCPDSACKIgnoredDubious = 0, TCPDSACKUndo = 0, TCPSACKDiscard = 0,
           TCPDeliveredCE = 0;
  // Loss probes, reordering and spurious-RTO detection (TLP, RACK, F-RTO).
  uint64_t TCPLossProbes = 0, TCPLossProbeRecovery = 0, TCPSACKReorder = 0, TCPTSReorder = 0,
           TCPSACKReneging = 0, TCPSpuriousRTOs = 0;
  // CUBIC's HyStart leaving slow start: how often, and the cwnds summed (hystart_update).
  uint64_t TCPHystartTrainDetect = 0, TCPHystartTrainCwnd = 0, TCPHystartDelayDetect = 0, TCPHystartDelayCwnd = 0;
};

struct NetMib {
  IpMib ip;
  IcmpMib icmp;
  TcpMib tcp;
  TcpExtMib tcpext;
  void append(std::vector<std::pair<std::string, uint64_t>>& out) const;
};

}  // namespace nettwin
