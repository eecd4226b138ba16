// The sockets of a namespace as `ss -tuwn0 -io` lists them (the inet_diag and
// packet_diag dumps, net/ipv4/inet_diag.c): state, queues, addresses, the
// pending timer, and for TCP the congestion control and TCP_INFO.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace nettwin {

class Net;
struct Sock;

// idiag_timer: which timer ss -o shows (its tmr_name order).
enum : uint8_t { SS_TIMER_OFF = 0, SS_TIMER_ON = 1, SS_TIMER_KEEPALIVE = 2, SS_TIMER_TIMEWAIT = 3,
                 SS_TIMER_PERSIST = 4 };

struct SockDiag {
  int fd = -1;             // the descriptor naming it (-1: none, e.g. a child not yet accepted)
  std::string netid;       // ss's Netid: tcp, udp, raw, p_raw, p_dgr
  int sk_state = 0;        // TCP_* (UDP and raw use ESTABLISHED and CLOSE too)
  uint32_t recv_q = 0;     // idiag_rqueue
  uint32_t send_q = 0;     // idiag_wqueue
  std::string local;       // "198.51.100.2:5000", as ss -n prints it
  std::string peer;        // "198.51.100.1:40000", "0.0.0.0:*" when unconnected
  uint8_t timer = SS_TIMER_OFF;
  uint32_t timer_expires_ms = 0;
  uint32_t retrans = 0;    // idiag_retrans: retransmits or probes out, per the timer
  std::string cc;          // TCP: the congestion control's name
  std::vector<uint8_t> tcp_info;  // TCP: struct tcp_info as getsockopt(TCP_INFO) returns it
};

// Every socket of the namespace, in descriptor order, then those without a descriptor.
std::vector<SockDiag> sock_diag_dump(Net& net);
SockDiag sock_diag_fill(Net& net, Sock* sk, int fd);

// ss's state column (sstate_name): ESTAB, UNCONN, LISTEN...
const char* ss_state_name(int sk_state);
// ss -o's timer:(on,200ms,0); empty with no timer pending, as ss prints nothing then.
std::string ss_timer(const SockDiag& d);

}  // namespace nettwin
