// net/ipv4/tcp_recovery.c, the part that applies without SACK: NewReno's
// loss marking. RACK (the SACK side of this file) is not modelled yet.
#include "ipv4/tcp_recovery.h"

#include "ipv4/tcp_skb_cb.h"

namespace nettwin {

void tcp_newreno_mark_lost(Sock* sk, bool snd_una_advanced) {
  TcpSock* tp = tcp_sk(sk);
  const uint8_t state = tp->icsk_ca_state;
  if ((state < TCP_CA_Recovery && tp->sacked_out >= tp->reordering) ||
      (state == TCP_CA_Recovery && snd_una_advanced)) {
    SkBuff* skb = tp->tcp_rtx_queue.front();
    if (!skb || (TCP_SKB_CB(skb)->sacked & TCPCB_LOST)) return;
    // A multi-segment skb would be cut to one MSS first (tcp_fragment); the
    // retransmit queue holds one-segment skbs here.
    tcp_mark_skb_lost(sk, skb);
  }
}

}  // namespace nettwin
