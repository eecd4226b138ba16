#include "core/snmp.h"

namespace nettwin {

void NetMib::append(std::vector<std::pair<std::string, uint64_t>>& out) const {
  const IpMib& m = ip;
  const std::pair<const char*, uint64_t> ip_rows[] = {
      {"Ip.InReceives", m.InReceives},       {"Ip.InHdrErrors", m.InHdrErrors},
      {"Ip.InAddrErrors", m.InAddrErrors},   {"Ip.ForwDatagrams", m.ForwDatagrams},
      {"Ip.InUnknownProtos", m.InUnknownProtos}, {"Ip.InDiscards", m.InDiscards},
      {"Ip.InDelivers", m.InDelivers},       {"Ip.OutRequests", m.OutRequests},
      {"Ip.OutDiscards", m.OutDiscards},     {"Ip.OutNoRoutes", m.OutNoRoutes},
      {"Ip.ReasmTimeout", m.ReasmTimeout},   {"Ip.ReasmReqds", m.ReasmReqds},
      {"Ip.ReasmOKs", m.ReasmOKs},           {"Ip.ReasmFails", m.ReasmFails},
      {"Ip.FragOKs", m.FragOKs},             {"Ip.FragFails", m.FragFails},
      {"Ip.FragCreates", m.FragCreates},     {"Ip.OutTransmits", m.OutTransmits},
      {"IpExt.ReasmOverlaps", m.ReasmOverlaps}, {"IpExt.InTruncatedPkts", m.InTruncatedPkts},
      {"IpExt.InNoRoutes", m.InNoRoutes},
      {"IpExt.InCsumErrors", m.InCsumErrors}, {"IpExt.InOctets", m.InOctets},
      {"IpExt.OutOctets", m.OutOctets},      {"IpExt.InBcastPkts", m.InBcastPkts},
      {"IpExt.InNoECTPkts", m.InNoECTPkts},  {"IpExt.InECT1Pkts", m.InECT1Pkts},
      {"IpExt.InECT0Pkts", m.InECT0Pkts},    {"IpExt.InCEPkts", m.InCEPkts},
  };
  for (const auto& [name, v] : ip_rows) out.emplace_back(name, v);
  // The Icmp line's named columns (/proc/net/snmp order), then IcmpMsg per type.
  static const std::pair<const char*, int> kTypes[] = {
      {"DestUnreachs", 3}, {"TimeExcds", 11},  {"ParmProbs", 12},  {"SrcQuenchs", 4},
      {"Redirects", 5},    {"Echos", 8},       {"EchoReps", 0},    {"Timestamps", 13},
      {"TimestampReps", 14}, {"AddrMasks", 17}, {"AddrMaskReps", 18}};
  const std::pair<const char*, uint64_t> tcp_rows[] = {
      {"Tcp.ActiveOpens", tcp.ActiveOpens}, {"Tcp.PassiveOpens", tcp.PassiveOpens},
      {"Tcp.AttemptFails", tcp.AttemptFails}, {"Tcp.EstabResets", tcp.EstabResets},
      {"Tcp.InSegs", tcp.InSegs},           {"Tcp.OutSegs", tcp.OutSegs},
      {"Tcp.RetransSegs", tcp.RetransSegs}, {"Tcp.InErrs", tcp.InErrs},
      {"Tcp.OutRsts", tcp.OutRsts},         {"Tcp.InCsumErrors", tcp.InCsumErrors},
      {"Tcp.CurrEstab", tcp.CurrEstab},
      {"TcpExt.ListenOverflows", tcpext.ListenOverflows}, {"TcpExt.ListenDrops", tcpext.ListenDrops},
      {"TcpExt.TCPSynRetrans", tcpext.TCPSynRetrans}, {"TcpExt.TCPACKSkippedSynRecv", tcpext.TCPACKSkippedSynRecv},
      {"TcpExt.SyncookiesSent", tcpext.SyncookiesSent}, {"TcpExt.SyncookiesRecv", tcpext.SyncookiesRecv},
      {"TcpExt.SyncookiesFailed", tcpext.SyncookiesFailed}, {"TcpExt.EmbryonicRsts", tcpext.EmbryonicRsts},
      {"TcpExt.TCPReqQFullDoCookies", tcpext.TCPReqQFullDoCookies}, {"TcpExt.TCPReqQFullDrop", tcpext.TCPReqQFullDrop},
      {"TcpExt.TCPDeferAcceptDrop", tcpext.TCPDeferAcceptDrop},
      {"TcpExt.TW", tcpext.TW}, {"TcpExt.TWRecycled", tcpext.TWRecycled},
      {"TcpExt.TWKilled", tcpext.TWKilled}, {"TcpExt.PAWSTimewait", tcpext.PAWSTimewait},
      {"TcpExt.TCPACKSkippedTimeWait", tcpext.TCPACKSkippedTimeWait},
      {"TcpExt.TCPACKSkippedFinWait2", tcpext.TCPACKSkippedFinWait2},
      {"TcpExt.TCPTimeWaitOverflow", tcpext.TCPTimeWaitOverflow},
      {"TcpExt.DelayedACKs", tcpext.DelayedACKs}, {"TcpExt.TCPTimeouts", tcpext.TCPTimeouts},
      {"TcpExt.TCPLossFailures", tcpext.TCPLossFailures}, {"TcpExt.TCPAbortOnTimeout", tcpext.TCPAbortOnTimeout},
      {"TcpExt.TCPAbortOnData", tcpext.TCPAbortOnData}, {"TcpExt.TCPAbortOnClose", tcpext.TCPAbortOnClose},
      {"TcpExt.TCPAbortOnLinger", tcpext.TCPAbortOnLinger}, {"TcpExt.TCPHPHits", tcpext.TCPHPHits},
      {"TcpExt.TCPPureAcks", tcpext.TCPPureAcks}, {"TcpExt.TCPHPAcks", tcpext.TCPHPAcks},
      {"TcpExt.TCPOFOQueue", tcpext.TCPOFOQueue}, {"TcpExt.TCPRcvQDrop", tcpext.TCPRcvQDrop},
      {"TcpExt.TCPZeroWindowDrop", tcpext.TCPZeroWindowDrop},
      {"TcpExt.TCPWantZeroWindowAdv", tcpext.TCPWantZeroWindowAdv},
      {"TcpExt.TCPToZeroWindowAdv", tcpext.TCPToZeroWindowAdv},
      {"TcpExt.TCPFromZeroWindowAdv", tcpext.TCPFromZeroWindowAdv},
      {"TcpExt.TCPChallengeACK", tcpext.TCPChallengeACK}, {"TcpExt.TCPSYNChallenge", tcpext.TCPSYNChallenge},
      {"TcpExt.PAWSEstab", tcpext.PAWSEstabRejected}, {"TcpExt.TCPDSACKOldSent", tcpext.TCPDSACKOldSent},
      {"TcpExt.DelayedACKLost", tcpext.DelayedACKLost}, {"TcpExt.TCPOrigDataSent", tcpext.TCPOrigDataSent},
      {"TcpExt.TCPRcvCoalesce", tcpext.TCPRcvCoalesce},
      {"TcpExt.TCPAutoCorking", tcpext.TCPAutoCorking},
      {"TcpExt.TcpTimeoutRehash", tcpext.TCPTimeoutRehash}, {"TcpExt.PAWSActive", tcpext.PAWSActiveRejected},
      {"TcpExt.OutOfWindowIcmps", tcpext.OutOfWindowIcmps},
      {"TcpExt.PruneCalled", tcpext.PruneCalled}, {"TcpExt.RcvPruned", tcpext.RcvPruned},
      {"TcpExt.OfoPruned", tcpext.OfoPruned}, {"TcpExt.TCPOFODrop", tcpext.TCPOFODrop},
      {"TcpExt.TCPRcvCollapsed", tcpext.TCPRcvCollapsed},
  };
  for (const auto& [name, v] : tcp_rows) out.emplace_back(name, v);
  out.emplace_back("TcpExt.TCPKeepAlive", tcpext.TCPKeepAlive);
  out.emplace_back("TcpExt.TCPWinProbe", tcpext.TCPWinProbe);
  const std::pair<const char*, uint64_t> recovery_rows[] = {
      {"TcpExt.TCPRenoRecovery", tcpext.TCPRenoRecovery}, {"TcpExt.TCPSackRecovery", tcpext.TCPSackRecovery},
      {"TcpExt.TCPRenoReorder", tcpext.TCPRenoReorder}, {"TcpExt.TCPFastRetrans", tcpext.TCPFastRetrans},
      {"TcpExt.TCPSlowStartRetrans", tcpext.TCPSlowStartRetrans},
      {"TcpExt.TCPLostRetransmit", tcpext.TCPLostRetransmit}, {"TcpExt.TCPFullUndo", tcpext.TCPFullUndo},
      {"TcpExt.TCPPartialUndo", tcpext.TCPPartialUndo}, {"TcpExt.TCPLossUndo", tcpext.TCPLossUndo},
      {"TcpExt.TCPRenoRecoveryFail", tcpext.TCPRenoRecoveryFail},
      {"TcpExt.TCPSackRecoveryFail", tcpext.TCPSackRecoveryFail},
      {"TcpExt.TCPRenoFailures", tcpext.TCPRenoFailures}, {"TcpExt.TCPSackFailures", tcpext.TCPSackFailures},
  };
  for (const auto& [name, v] : recovery_rows) out.emplace_back(name, v);
  const std::pair<const char*, uint64_t> dsack_ecn_rows[] = {
      {"TcpExt.TCPDSACKOfoSent", tcpext.TCPDSACKOfoSent}, {"TcpExt.TCPDSACKRecv", tcpext.TCPDSACKRecv},
      {"TcpExt.TCPDSACKOfoRecv", tcpext.TCPDSACKOfoRecv}, {"TcpExt.TCPDSACKRecvSegs", tcpext.TCPDSACKRecvSegs},
      {"TcpExt.TCPDSACKIgnoredOld", tcpext.TCPDSACKIgnoredOld},
      {"TcpExt.TCPDSACKIgnoredNoUndo", tcpext.TCPDSACKIgnoredNoUndo},
      {"TcpExt.TCPDSACKIgnoredDubious", tcpext.TCPDSACKIgnoredDubious},
      {"TcpExt.TCPDSACKUndo", tcpext.TCPDSACKUndo}, {"TcpExt.TCPSACKDiscard", tcpext.TCPSACKDiscard},
      {"TcpExt.TCPDeliveredCE", tcpext.TCPDeliveredCE},
  };
  for (const auto& [name, v] : dsack_ecn_rows) out.emplace_back(name, v);
  const std::pair<const char*, uint64_t> loss_detection_rows[] = {
      {"TcpExt.TCPLossProbes", tcpext.TCPLossProbes}, {"TcpExt.TCPLossProbeRecovery", tcpext.TCPLossProbeRecovery},
      {"TcpExt.TCPSACKReorder", tcpext.TCPSACKReorder}, {"TcpExt.TCPTSReorder", tcpext.TCPTSReorder},
      {"TcpExt.TCPSACKReneging", tcpext.TCPSACKReneging}, {"TcpExt.TCPSpuriousRTOs", tcpext.TCPSpuriousRTOs},
      {"TcpExt.TCPHystartTrainDetect", tcpext.TCPHystartTrainDetect},
      {"TcpExt.TCPHystartTrainCwnd", tcpext.TCPHystartTrainCwnd},
      {"TcpExt.TCPHystartDelayDetect", tcpext.TCPHystartDelayDetect},
      {"TcpExt.TCPHystartDelayCwnd", tcpext.TCPHystartDelayCwnd},
  };
  for (const auto& [name, v] : loss_detection_rows) out.emplace_back(name, v);
  out.emplace_back("Icmp.InMsgs", icmp.InMsgs);
  out.emplace_back("Icmp.InErrors", icmp.InErrors);
  out.emplace_back("Icmp.InCsumErrors", icmp.InCsumErrors);
  for (const auto& [name, t] : kTypes) out.emplace_back(std::string("Icmp.In") + name, icmp.InType[t]);
  out.emplace_back("Icmp.OutMsgs", icmp.OutMsgs);
  out.emplace_back("Icmp.OutErrors", icmp.OutErrors);
  out.emplace_back("Icmp.OutRateLimitGlobal", icmp.OutRateLimitGlobal);
  out.emplace_back("Icmp.OutRateLimitHost", icmp.OutRateLimitHost);
  for (const auto& [name, t] : kTypes) out.emplace_back(std::string("Icmp.Out") + name, icmp.OutType[t]);
  for (int t = 0; t < 256; ++t)
    if (icmp.InType[t]) out.emplace_back("IcmpMsg.InType" + std::to_string(t), icmp.InType[t]);
  for (int t = 0; t < 256; ++t)
    if (icmp.OutType[t]) out.emplace_back("IcmpMsg.OutType" + std::to_string(t), icmp.OutType[t]);
}

}  // namespace nettwin
