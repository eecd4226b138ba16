// The per-namespace socket state hanging off Net: the descriptor table a
// process's calls name, the UDP hash table (udp_table) and the Udp MIB.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ipv4/inet_ehash.h"

namespace nettwin {

struct Sock;
struct Socket;
struct EventPoll;

// The Udp columns of /proc/net/snmp.
struct UdpMib {
  uint64_t InDatagrams = 0, NoPorts = 0, InErrors = 0, OutDatagrams = 0, RcvbufErrors = 0, SndbufErrors = 0,
           InCsumErrors = 0, IgnoredMulti = 0, MemErrors = 0;
};

// struct sock_reuseport: the sockets of one SO_REUSEPORT group, in joining order.
struct SockReuseport {
  std::vector<Sock*> socks;
};

struct SockNet {
  SockNet();
  ~SockNet();
  SockNet(const SockNet&) = delete;
  SockNet& operator=(const SockNet&) = delete;

  // struct udp_table: the bound sockets in hash slots (struct udp_hslot) by local
  // port, udp_hashfn(net, port, mask); within a slot newest first (hlist_add_head).
  // A slot holds every port that hashes there: its users check inet_num.
  static constexpr unsigned kUdpHashSlots = 256;  // UDP_HTABLE_SIZE_MIN
  std::vector<Sock*> udp_hash[kUdpHashSlots];
  static unsigned udp_hashfn(uint16_t num) { return num & (kUdpHashSlots - 1); }
  std::vector<Sock*>& udp_hslot(uint16_t num) { return udp_hash[udp_hashfn(num)]; }
  std::map<int, SockReuseport> reuseport_groups;
  // inet_hashinfo for TCP: the bind buckets (bhash, owners by local port,
  // newest first) and the listening sockets (lhash2, newest first).
  std::unordered_map<uint16_t, std::vector<Sock*>> tcp_bhash;
  std::vector<Sock*> tcp_listeners;
  InetEhash tcp_ehash;  // established and TIME_WAIT socks (ehash without the request socks)
  std::vector<Sock*> raw_socks;  // raw_v4_hashinfo: every raw socket, newest first
  std::vector<Sock*> packet_socks;  // net->packet.sklist: every AF_PACKET socket
  int next_reuseport_id = 1;
  uint32_t udp_ehash_secret = 0, inet_ehash_secret = 0;
  bool udp_ehash_secret_set = false, inet_ehash_secret_set = false;
  // ip_local_port_range
  int port_range_low = 32768;
  int port_range_high = 60999;
  // __inet_hash_connect's table_perturb, by index (filled on first use).
  std::unordered_map<uint32_t, uint32_t> tcp_table_perturb;
  UdpMib udp_mib;

  // The descriptor table: fd -> socket (the lowest free number is used, as Linux does).
  std::map<int, std::unique_ptr<Socket>> files;
  // The eventpolls (epoll_create), in the same descriptor space as the sockets.
  std::map<int, std::unique_ptr<EventPoll>> epolls;
  // files->next_fd: no descriptor below it is free, so that the lowest free one
  // is found from there rather than from 3 (alloc_fd).
  int next_fd = 3;
  // get_unused_fd_flags: the lowest number neither table uses, from next_fd up.
  int get_unused_fd();
  std::vector<std::unique_ptr<Sock>> socks_alive;  // owned here; a closed socket's Sock is freed
  // Closed sockets whose skbs are still in flight (sk_wmem_alloc > 0): sk_free
  // moves them here and sock_wfree frees them when the last skb dies.
  std::vector<std::unique_ptr<Sock>> socks_dying;
  // tsq_work's list: sockets tcp_wfree queued for tcp_tsq_workfn (list_add order).
  std::vector<Sock*> tsq_list;
  bool tearing_down = false;  // ~SockNet: skb destructors must not free socks under its loops
  void sk_destruct(Sock* sk);

  void append_counters(std::vector<std::pair<std::string, uint64_t>>& out) const;
};

}  // namespace nettwin
