// net/ipv4/inet_timewait_sock.c, include/net/inet_timewait_sock.h and
// include/linux/tcp.h's tcp_timewait_sock: what is left of a TCP connection
// once it is closed on our side and waits out TIME_WAIT (or FIN_WAIT2 of an
// orphan). The tw sock replaces the full socket in ehash and holds its port in
// the bind bucket; its timer kills it.
#pragma once

#include <cstdint>
#include <memory>
#include <unordered_map>

#include "core/drop_reason.h"
#include "core/engine.h"
#include "ipv4/tcp_sock.h"   // tcp_ktime_get_seconds
#include "ipv4/tcp_timer.h"  // TCP_TIMEWAIT_LEN
#include "socket/sock.h"

namespace nettwin {

class Net;
struct SkBuff;


// struct inet_timewait_sock with struct tcp_timewait_sock folded in. Its Sock
// part carries the identity (addresses, ports, bound device, reuse flags) and
// sk_state TCP_TIME_WAIT, as tw_state does; tw_substate says TIME_WAIT or FIN_WAIT2.
struct InetTimewaitSock : Sock {
  int tw_substate = TCP_TIME_WAIT;
  uint8_t tw_rcv_wscale = 0;
  uint32_t tw_timeout = 0;  // jiffies the timer was last set for (from then)
  uint32_t tw_entry_stamp = 0;  // ms (tcp_clock_ms) of the entry into TIME_WAIT
  Engine::TimerId tw_timer = 0;
  // struct tcp_timewait_sock
  uint32_t tw_rcv_nxt = 0;
  uint32_t tw_snd_nxt = 0;
  uint32_t tw_rcv_wnd = 0;
  uint32_t tw_ts_offset = 0;
  uint32_t tw_ts_recent = 0;
  int64_t tw_ts_recent_stamp = 0;  // seconds (ktime_get_seconds) when ts_recent was taken; 0: none
  uint32_t tw_last_oow_ack_time = 0;
};

inline InetTimewaitSock* inet_twsk(Sock* sk) { return static_cast<InetTimewaitSock*>(sk); }

// struct inet_timewait_death_row (net->ipv4.tcp_death_row): the netns's tw
// socks (owned here while they live) and their count against tcp_max_tw_buckets.
struct InetTimewaitDeathRow {
  InetTimewaitDeathRow();
  ~InetTimewaitDeathRow();
  InetTimewaitDeathRow(const InetTimewaitDeathRow&) = delete;
  InetTimewaitDeathRow& operator=(const InetTimewaitDeathRow&) = delete;

  int tw_refcount = 1;  // one for the netns, one per scheduled tw (refcount_read - 1 is the count)
  std::unordered_map<const Sock*, std::unique_ptr<InetTimewaitSock>> socks;
  // tcp_tw_isn (a per-CPU variable in Linux, one CPU here): the ISN a TIME_WAIT
  // sock hands the listener for the SYN that reopens its connection.
  uint32_t tcp_tw_isn = 0;
};

// inet_twsk_alloc: a tw sock with sk's identity and tw_substate = state, or
// null when tcp_max_tw_buckets are in use.
InetTimewaitSock* inet_twsk_alloc(const Sock* sk, InetTimewaitDeathRow& dr, int state);
// inet_twsk_hashdance_schedule: tw joins sk's bind bucket, takes sk's place in
// ehash, and its timer is set timeo jiffies out (inet_twsk_schedule).
void inet_twsk_hashdance_schedule(InetTimewaitSock* tw, Sock* sk, int timeo);
// __inet_twsk_schedule: the timer, set timeo jiffies from now on the timer
// wheel. A first schedule counts TW (TWKilled when timeo <= 4 s); a
// reschedule (rearm) only moves a pending timer.
void __inet_twsk_schedule(InetTimewaitSock* tw, int timeo, bool rearm);
inline void inet_twsk_schedule(InetTimewaitSock* tw, int timeo) { __inet_twsk_schedule(tw, timeo, false); }
inline void inet_twsk_reschedule(InetTimewaitSock* tw, int timeo) { __inet_twsk_schedule(tw, timeo, true); }
// inet_twsk_deschedule_put: the timer stopped and the tw sock killed at once
// (out of ehash and its bind bucket, freed).
void inet_twsk_deschedule_put(InetTimewaitSock* tw);

// enum tcp_tw_status: what tcp_v4_rcv does with a segment a tw sock took.
enum class TcpTwStatus { TCP_TW_SUCCESS, TCP_TW_RST, TCP_TW_ACK, TCP_TW_SYN, TCP_TW_ACK_OOW };
// tcp_timewait_state_process (tcp_minisocks.c): the segment (skb->data at its
// TCP header) checked against the tw sock. TCP_TW_SYN: a new connection,
// whose ISN is *tw_isn; a PAWS reject sets *drop_reason.
TcpTwStatus tcp_timewait_state_process(InetTimewaitSock* tw, SkBuff* skb, uint32_t* tw_isn,
                                       SkbDropReason* drop_reason);

}  // namespace nettwin
