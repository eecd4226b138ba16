// Pluggable congestion control, after include/net/tcp.h and net/ipv4/tcp_cong.c:
// struct tcp_congestion_ops, the registry (tcp_register_congestion_control),
// and the helpers the algorithms share (slow start, additive increase, Reno).
// The algorithms live in their own files (tcp_cong.cc for Reno, tcp_cubic.cc).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nettwin {

class Net;
struct DstEntry;
struct Sock;
struct TcpSock;

// tcp_congestion_ops.flags: an algorithm any user may pick (the others need
// CAP_NET_ADMIN, or to be the namespace default).
inline constexpr uint32_t TCP_CONG_NON_RESTRICTED = 0x1;
inline constexpr size_t TCP_CA_NAME_MAX = 16;

// enum tcp_ca_state (include/uapi/linux/tcp.h): icsk_ca_state.
enum TcpCaState : uint8_t { TCP_CA_Open = 0, TCP_CA_Disorder = 1, TCP_CA_CWR = 2, TCP_CA_Recovery = 3, TCP_CA_Loss = 4 };

// enum tcp_ca_event.
enum TcpCaEvent : uint8_t {
  CA_EVENT_TX_START, CA_EVENT_CWND_RESTART, CA_EVENT_COMPLETE_CWR, CA_EVENT_LOSS, CA_EVENT_ECN_NO_CE, CA_EVENT_ECN_IS_CE,
};

// struct ack_sample: what pkts_acked learns from one ACK.
struct AckSample {
  uint32_t pkts_acked = 0;
  int32_t rtt_us = -1;  // -1: no RTT sample from this ACK
  uint32_t in_flight = 0;
};

// struct tcp_congestion_ops (the members this stack calls).
struct TcpCongestionOps {
  const char* name;
  uint32_t flags;  // TCP_CONG_NON_RESTRICTED...
  void (*init)(Sock* sk);
  void (*release)(Sock* sk);
  uint32_t (*ssthresh)(Sock* sk);                              // required: the new slow-start threshold on loss
  void (*cong_avoid)(Sock* sk, uint32_t ack, uint32_t acked);  // required: grow cwnd on an ACK
  void (*set_state)(Sock* sk, uint8_t new_state);              // icsk_ca_state is about to change
  void (*cwnd_event)(Sock* sk, TcpCaEvent ev);
  void (*in_ack_event)(Sock* sk, uint32_t flags);
  void (*pkts_acked)(Sock* sk, const AckSample& sample);
  uint32_t (*undo_cwnd)(Sock* sk);                             // required: cwnd to restore on an undo
};

// The built-in algorithms: Reno (tcp_cong.cc) and CUBIC (tcp_cubic.cc). Both are
// on the list from the start, Reno first, as after tcp_init and cubictcp_register.
extern const TcpCongestionOps tcp_reno;
extern const TcpCongestionOps cubictcp;

// tcp_register_congestion_control: 0, -EEXIST (name taken) or -EINVAL (a required op missing).
int tcp_register_congestion_control(const TcpCongestionOps* ca);
// tcp_ca_find: the registered algorithm of that name, or null.
const TcpCongestionOps* tcp_ca_find(std::string_view name);
// tcp_ca_get_key_by_name / tcp_ca_find_key: the key a route's congctl metric
// keeps (RTAX_CC_ALGO), TCP_CA_UNSPEC for no such algorithm.
inline constexpr uint32_t TCP_CA_UNSPEC = 0;
uint32_t tcp_ca_get_key_by_name(std::string_view name);
const TcpCongestionOps* tcp_ca_find_key(uint32_t key);
// The names of the registered algorithms (net.ipv4.tcp_available_congestion_control).
std::vector<std::string> tcp_get_available_congestion_control();
// net.ipv4.tcp_allowed_congestion_control: the non-restricted ones and the default.
std::vector<std::string> tcp_get_allowed_congestion_control(const Net& net);
// net.ipv4.tcp_congestion_control: the namespace's default (CUBIC until set).
const TcpCongestionOps* tcp_default_congestion_control(const Net& net);
// Setting it, as in a namespace other than init_net: 0, -ENOENT (no such
// algorithm) or -EPERM (a restricted one).
int tcp_set_default_congestion_control(Net& net, std::string_view name);

// Per socket.
// tcp_assign_congestion_control: a new socket takes the namespace's default
// (net.ipv4.tcp_congestion_control).
void tcp_assign_congestion_control(Sock* sk);
// tcp_init_congestion_control: ca's init, once the connection is established.
void tcp_init_congestion_control(Sock* sk);
// tcp_ca_openreq_child: a passive child's algorithm, the route's if it names one.
void tcp_ca_openreq_child(Sock* sk, const DstEntry* dst);
// tcp_set_congestion_control (setsockopt TCP_CONGESTION): 0, -ENOENT, or
// -EPERM when the route locked the algorithm.
int tcp_set_congestion_control(Sock* sk, std::string_view name);
// tcp_cleanup_congestion_control: ca's release when the socket is destroyed.
void tcp_cleanup_congestion_control(Sock* sk);
// tcp_set_ca_state: calls set_state and emits tcp:tcp_cong_state_set.
void tcp_set_ca_state(Sock* sk, uint8_t ca_state);
// tcp_ca_event: ca's cwnd_event, if it has one.
void tcp_ca_event(Sock* sk, TcpCaEvent event);

// include/net/tcp.h: slow start while cwnd is below ssthresh; cwnd grows only
// while the sender is limited by it (in slow start: while cwnd is below twice
// the most packets that were in flight).
bool tcp_in_slow_start(const TcpSock* tp);
bool tcp_is_cwnd_limited(const TcpSock* tp);
// tcp_current_ssthresh: ssthresh while cwnd is being reduced (CWR, Recovery),
// otherwise at least three quarters of cwnd (what tcp_probe reports).
uint32_t tcp_current_ssthresh(const Sock* sk);

// The shared helpers (net/ipv4/tcp_cong.c).
uint32_t tcp_slow_start(TcpSock* tp, uint32_t acked);  // the acked segments left over once cwnd reached ssthresh
void tcp_cong_avoid_ai(TcpSock* tp, uint32_t w, uint32_t acked);
void tcp_reno_cong_avoid(Sock* sk, uint32_t ack, uint32_t acked);
uint32_t tcp_reno_ssthresh(Sock* sk);
uint32_t tcp_reno_undo_cwnd(Sock* sk);

}  // namespace nettwin
