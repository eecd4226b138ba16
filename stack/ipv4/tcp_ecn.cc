#include "ipv4/tcp_ecn.h"

#include <algorithm>

#include "core/net.h"
#include "ipv4/tcp_cong.h"
#include "ipv4/tcp_input.h"
#include "ipv4/tcp_skb_cb.h"
#include "ipv4/tcp_sock.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

// TCP_ECN_IN_ECN_OUT_ECN: tcp_ecn 1 requests ECN on active opens.
constexpr int64_t TCP_ECN_IN_ECN_OUT_ECN = 1;
constexpr uint8_t TCPHDR_SYN_ECN = TCPHDR_SYN | TCPHDR_ECE | TCPHDR_CWR;

void tcp_ecn_mode_set(TcpSock* tp, uint8_t mode) {
  tp->ecn_flags = uint8_t((tp->ecn_flags & ~TCP_ECN_MODE_ANY) | mode);
}

// INET_ECN_xmit / INET_ECN_dontxmit: the socket's TOS byte, which every segment
// it sends carries, gets ECT(0) or loses its ECN bits.
void INET_ECN_xmit(Sock* sk) { sk->tos = uint8_t((sk->tos & ~INET_ECN_MASK) | INET_ECN_ECT_0); }
void INET_ECN_dontxmit(Sock* sk) { sk->tos = uint8_t(sk->tos & ~INET_ECN_MASK); }

}  // namespace

bool tcp_ecn_mode_rfc3168(const TcpSock* tp) { return (tp->ecn_flags & TCP_ECN_MODE_ANY) == TCP_ECN_MODE_RFC3168; }
bool tcp_ecn_mode_any(const TcpSock* tp) { return tp->ecn_flags & TCP_ECN_MODE_ANY; }

bool tcp_ecn_create_request(const Net& net, const uint8_t* th, uint8_t ip_dsfield, const DstEntry* dst) {
  const uint8_t flags = th[13];
  if (!(flags & TCPHDR_ECE) || !(flags & TCPHDR_CWR)) return false;
  // RFC 3168 6.1.1: a SYN must not be ECT; one that is came through a broken path.
  const bool ect = (ip_dsfield & INET_ECN_MASK) != INET_ECN_NOT_ECT;
  // th->res1 (the reserved bits next to AE) set makes an ECT SYN acceptable all the same.
  const bool res1 = wire::load_be16(th + 12) & 0x0e00;
  // The route's `features ecn` accepts ECN with tcp_ecn 0; a congestion
  // control that needs ECN (DST_FEATURE_ECN_CA) even from an ECT SYN.
  const uint32_t ecn_ok_dst = dst ? dst_feature(dst, DST_FEATURE_ECN_MASK) : 0;
  return ((!ect || res1) && (net.sysctl.tcp_ecn != 0 || ecn_ok_dst)) || (ecn_ok_dst & DST_FEATURE_ECN_CA);
}

uint8_t tcp_ecn_make_synack(bool ecn_ok, uint8_t th_flags) {
  return ecn_ok ? uint8_t(th_flags | TCPHDR_ECE) : th_flags;
}

void tcp_ecn_openreq_child(TcpSock* tp, bool ecn_ok) { tcp_ecn_mode_set(tp, ecn_ok ? TCP_ECN_MODE_RFC3168 : 0); }

void tcp_ecn_send_syn(Sock* sk, SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  tp->ecn_flags = 0;
  // tcp_ecn 1 asks every peer; the route's `features ecn` asks this one.
  const bool use_ecn = sk->net->sysctl.tcp_ecn == TCP_ECN_IN_ECN_OUT_ECN ||
                       (sk->sk_dst_cache && dst_feature(sk->sk_dst_cache, RTAX_FEATURE_ECN));
  if (!use_ecn) return;
  TCP_SKB_CB(skb)->tcp_flags |= TCPHDR_ECE | TCPHDR_CWR;
  tcp_ecn_mode_set(tp, TCP_ECN_MODE_RFC3168);
}

void tcp_ecn_clear_syn(Sock* sk, SkBuff* skb) {
  if ((TCP_SKB_CB(skb)->tcp_flags & TCPHDR_SYN_ECN) != TCPHDR_SYN_ECN) return;
  // tp->ecn_flags stay: the SYN-ACK decides.
  if (sk->net->sysctl.tcp_ecn_fallback) TCP_SKB_CB(skb)->tcp_flags &= uint8_t(~(TCPHDR_ECE | TCPHDR_CWR));
}

void tcp_ecn_rcv_synack(TcpSock* tp, uint8_t th_flags) {
  // ECE without CWR (AE either way: ACE 0b001 or 0b101) is classic ECN's answer.
  if ((th_flags & (TCPHDR_ECE | TCPHDR_CWR)) != TCPHDR_ECE) tcp_ecn_mode_set(tp, 0);
}

void tcp_ecn_send(Sock* sk, SkBuff* skb, uint8_t* th, unsigned hdr_len) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_ecn_mode_any(tp)) return;
  if (skb->len != hdr_len && !before(TCP_SKB_CB(skb)->seq, tp->snd_nxt)) {
    // Not-retransmitted data segment: set ECT and inject CWR.
    INET_ECN_xmit(sk);
    if (tp->ecn_flags & TCP_ECN_QUEUE_CWR) {
      tp->ecn_flags &= uint8_t(~TCP_ECN_QUEUE_CWR);
      th[13] |= TCPHDR_CWR;
      skb_shinfo(skb)->gso_type |= SKB_GSO_TCP_ECN;
    }
  } else {
    // ACK or retransmitted segment: clear ECT|CE (no congestion control here needs ECN).
    INET_ECN_dontxmit(sk);
  }
  if (tp->ecn_flags & TCP_ECN_DEMAND_CWR) th[13] |= TCPHDR_ECE;
}

void tcp_data_ecn_check(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_ecn_mode_any(tp)) return;
  switch (TCP_SKB_CB(skb)->ip_dsfield & INET_ECN_MASK) {
    case INET_ECN_NOT_ECT:
      // Funny extension: Not-ECT after ECT was seen is probably a retransmit.
      if (tp->ecn_flags & TCP_ECN_SEEN) tcp_enter_quickack_mode(sk, 2);
      break;
    case INET_ECN_CE:
      if (!(tp->ecn_flags & TCP_ECN_DEMAND_CWR)) {
        // Better not delay ACKs: the sender can have a very low cwnd.
        tcp_enter_quickack_mode(sk, 2);
        tp->ecn_flags |= TCP_ECN_DEMAND_CWR;
      }
      tp->ecn_flags |= TCP_ECN_SEEN;
      break;
    default:
      tp->ecn_flags |= TCP_ECN_SEEN;
      break;
  }
}

void tcp_ecn_received_counters(Sock* sk, const SkBuff* skb, uint32_t len) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t ecnfield = TCP_SKB_CB(skb)->ip_dsfield & INET_ECN_MASK;
  if (ecnfield == INET_ECN_NOT_ECT) return;
  if (!tcp_ecn_mode_rfc3168(tp)) tp->ecn_flags |= TCP_ECN_SEEN;
  if (ecnfield == INET_ECN_CE) tp->received_ce += std::max<uint32_t>(1, skb_shinfo(skb)->gso_segs);
  if (len > 0) tp->received_ecn_bytes[ecnfield - 1] += len;
}

void tcp_ecn_accept_cwr(Sock* sk, const SkBuff* skb) {
  TcpSock* tp = tcp_sk(sk);
  if (!tcp_ecn_mode_rfc3168(tp) || !(TCP_SKB_CB(skb)->tcp_flags & TCPHDR_CWR)) return;
  tp->ecn_flags &= uint8_t(~TCP_ECN_DEMAND_CWR);
  // The sender has entered CWR: its cwnd may be one segment, so ACK at once.
  if (TCP_SKB_CB(skb)->seq != TCP_SKB_CB(skb)->end_seq) tp->icsk_ack.pending |= ICSK_ACK_NOW;
}

bool tcp_ecn_rcv_ecn_echo(const TcpSock* tp, uint8_t th_flags) {
  return (th_flags & TCPHDR_ECE) && !(th_flags & TCPHDR_SYN) && tcp_ecn_mode_rfc3168(tp);
}

void tcp_ecn_queue_cwr(TcpSock* tp) {
  if (tcp_ecn_mode_rfc3168(tp)) tp->ecn_flags |= TCP_ECN_QUEUE_CWR;
}

void tcp_ecn_withdraw_cwr(TcpSock* tp) { tp->ecn_flags &= uint8_t(~TCP_ECN_QUEUE_CWR); }

}  // namespace nettwin
