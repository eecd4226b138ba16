// struct tcp_skb_cb (include/net/tcp.h): what TCP keeps in skb->cb while an
// skb is in its hands, on the write and retransmit queues and on receive.
// TCP_SKB_CB(skb) is the cast. On receive, tcp_v4_fill_cb moves IP's control
// block (IPCB) into header.h4 first, and tcp_v4_restore_cb puts it back, so
// that a reset answering the segment can still echo its IP options.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/skbuff.h"
#include "ipv4/ip_cb.h"

namespace nettwin {

// The TCP header flag bits (TCPHDR_*).
enum : uint8_t { TCPHDR_FIN = 0x01, TCPHDR_SYN = 0x02, TCPHDR_RST = 0x04, TCPHDR_PSH = 0x08, TCPHDR_ACK = 0x10,
                 TCPHDR_URG = 0x20, TCPHDR_ECE = 0x40, TCPHDR_CWR = 0x80 };
// tcp_skb_cb->sacked: the state of a sent skb.
enum : uint8_t { TCPCB_SACKED_ACKED = 0x01, TCPCB_SACKED_RETRANS = 0x02, TCPCB_LOST = 0x04, TCPCB_EVER_RETRANS = 0x80,
                 TCPCB_RETRANS = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS };

struct TcpSkbCb {
  uint32_t seq = 0;       // starting sequence number
  uint32_t end_seq = 0;   // seq + FIN + SYN + datalen
  uint16_t tcp_gso_segs = 0;  // tcp_skb_pcount
  uint16_t tcp_gso_size = 0;  // the MSS it was cut to (0: one segment)
  uint8_t tcp_flags = 0;  // TCPHDR_*
  uint8_t sacked = 0;     // TCPCB_*
  uint8_t ip_dsfield = 0; // the IPv4 TOS byte of a received segment
  uint8_t eor = 0;        // MSG_EOR: nothing may be appended
  uint32_t ack_seq = 0;   // the sequence number acked by a received segment
  union {
    // Send side: the rate sample's state when the skb was (last) sent.
    struct {
      uint32_t delivered;
      uint32_t is_app_limited;
      uint64_t first_tx_mstamp;
      uint64_t delivered_mstamp;
    } tx;
    // Receive side: IP's control block, moved here by tcp_v4_fill_cb.
    struct {
      uint8_t h4[sizeof(InetSkbParm)];
    } header;
  };
};
static_assert(sizeof(TcpSkbCb) <= sizeof(SkBuff::cb));

inline TcpSkbCb* TCP_SKB_CB(SkBuff* skb) { return reinterpret_cast<TcpSkbCb*>(skb->cb); }
inline const TcpSkbCb* TCP_SKB_CB(const SkBuff* skb) { return reinterpret_cast<const TcpSkbCb*>(skb->cb); }

// tcp_skb_pcount: segments this skb stands for (no TSO here: 1 unless set).
inline unsigned tcp_skb_pcount(const SkBuff* skb) { return TCP_SKB_CB(skb)->tcp_gso_segs; }
inline void tcp_skb_pcount_set(SkBuff* skb, unsigned segs) { TCP_SKB_CB(skb)->tcp_gso_segs = uint16_t(segs); }

// before()/after(): sequence space comparisons, wrapping at 2^32.
inline bool before(uint32_t seq1, uint32_t seq2) { return int32_t(seq1 - seq2) < 0; }
inline bool after(uint32_t seq2, uint32_t seq1) { return before(seq1, seq2); }
inline bool between(uint32_t seq1, uint32_t seq2, uint32_t seq3) { return seq3 - seq2 >= seq1 - seq2; }

// tcp_v4_fill_cb / tcp_v4_restore_cb.
inline void tcp_v4_restore_cb(SkBuff* skb) {
  InetSkbParm h4;
  std::memcpy(&h4, TCP_SKB_CB(skb)->header.h4, sizeof h4);
  std::memcpy(IPCB(skb), &h4, sizeof h4);
}

}  // namespace nettwin
