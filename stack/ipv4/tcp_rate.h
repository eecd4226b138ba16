// net/ipv4/tcp_rate.c: delivery rate samples. Each sent skb remembers how much
// had been delivered when it left; an ACK of it gives a sample, and whether the
// sender was application-limited then (TCP_INFO's delivery_rate_app_limited).
#pragma once

#include <cstdint>

namespace nettwin {

struct Sock;
struct SkBuff;

// struct rate_sample: what one ACK measured.
struct RateSample {
  uint64_t prior_mstamp = 0;   // delivered_mstamp of the sample's skb (us)
  uint32_t prior_delivered = 0;
  int32_t delivered = 0;       // packets delivered over interval_us
  long interval_us = 0;
  uint32_t last_end_seq = 0;
  bool is_app_limited = false;
  bool is_retrans = false;
  long rtt_us = -1;            // the last (S)ACKed segment's RTT (tcp_ack_update_rtt), -1: none
};

// tcp_rate_skb_sent: skb (the queued original) has just been (re)transmitted.
void tcp_rate_skb_sent(Sock* sk, SkBuff* skb);
// tcp_rate_skb_delivered: skb is acked; the most recently sent acked skb sets the sample.
void tcp_rate_skb_delivered(Sock* sk, SkBuff* skb, RateSample* rs);
// tcp_rate_gen: the ACK's sample; records the last non-app-limited (or the
// highest app-limited) rate.
void tcp_rate_gen(Sock* sk, uint32_t delivered, RateSample* rs);
// tcp_rate_check_app_limited: is the application not keeping the pipe full?
void tcp_rate_check_app_limited(Sock* sk);

}  // namespace nettwin
