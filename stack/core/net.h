// class Net: struct net and everything hanging off it - the engine and clock,
// the tracer, the skb pool, sysctls, MIBs, softnet_data, devices, protocol
// handlers, the FIB, the ARP table and the wire. One Net is one stack.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/engine.h"
#include "core/neighbour.h"
#include "core/netdevice.h"
#include "core/rng.h"
#include "core/secure_seq.h"
#include "core/skb_pool.h"
#include "core/snmp.h"
#include "core/sysctl.h"
#include "core/trace.h"
#include "core/wire_queue.h"
#include "ipv4/fib.h"
#include "socket/sock_net.h"
#include "netfilter/netfilter.h"
#include "ipv4/inet_frag.h"
#include "ipv4/inet_timewait_sock.h"
#include "ipv4/inetpeer.h"
#include "ipv4/tcp_cong.h"

namespace nettwin {

// icmp_global: the netns-wide ICMP token bucket (icmp_global_allow).
struct IcmpGlobal {
  int credit = 0;
  uint64_t stamp_jiffies = 0;
  bool stamped = false;
};

class Net {
 public:
  explicit Net(uint64_t seed);
  ~Net();
  Net(const Net&) = delete;
  Net& operator=(const Net&) = delete;

  Engine engine;
  Tracer tracer;
  SkbPool pool;
  Rng rng;
  NetSecrets secrets;  // secure_seq.c and syncookies.c keys, drawn from rng on first use
  Sysctls sysctl;
  NetMib mib;
  SoftnetData softnet;
  std::vector<std::unique_ptr<NetDevice>> devices;
  uint32_t ifindex = 1;  // net->ifindex: where dev_index_reserve looks for a free index next
  std::vector<PacketType*> ptype_all;   // taps: see every frame
  std::vector<PacketType*> ptype_base;  // protocol handlers by type
  NfHooks nf_hooks;                     // netfilter hook functions per hook point
  Fib fib;                              // tables (local merged into main until a rule exists) and rules
  NeighTable arp_tbl;
  WireQueue wire;
  InetPeerBase inet_peers;  // net->ipv4.peers
  Ipv4Frags ipv4_frags;
  IcmpGlobal icmp_global;
  const TcpCongestionOps* tcp_congestion_control = nullptr;  // net->ipv4.tcp_congestion_control (null: cubic)
  int (*icmp_err_handlers[256])(SkBuff* skb, uint32_t info) = {};  // inet_protos[]->err_handler
  InetTimewaitDeathRow tcp_death_row;  // net->ipv4.tcp_death_row: the TIME_WAIT socks
  SockNet sock;  // sockets: the descriptor table, the UDP and raw tables, the Udp MIB (last: freed first)

  NetDevice* dev_get_by_name(const std::string& name) const;
  NetDevice* dev_get_by_index(int ifindex) const;
  void dev_add_pack(PacketType* pt);
  void dev_remove_pack(PacketType* pt);

 private:
  PacketType ip_packet_type_;
  PacketType arp_packet_type_;
};

inline Net& dev_net(const NetDevice* dev) { return dev->net; }

// IN_DEV_FORWARD (the device's knob, -1 while it follows ip_forward),
// IN_DEV_TX_REDIRECTS (all || dev), IN_DEV_RPFILTER (max), IN_DEV_ACCEPT_LOCAL
// (all || dev): inline, as Linux's macros, since input routing reads them per packet.
inline bool in_dev_forward(const Net& net, const NetDevice* dev) {
  return dev && dev->cnf.forwarding >= 0 ? dev->cnf.forwarding != 0 : net.sysctl.ip_forward != 0;
}
inline bool in_dev_tx_redirects(const Net& net, const NetDevice* dev) {
  return net.sysctl.send_redirects || (dev && dev->cnf.send_redirects);
}
inline int in_dev_rpfilter(const Net& net, const NetDevice* dev) {
  const int64_t all = net.sysctl.rp_filter, own = dev ? dev->cnf.rp_filter : 0;
  return int(all > own ? all : own);
}
inline bool in_dev_accept_local(const Net& net, const NetDevice* dev) {
  return net.sysctl.accept_local || (dev && dev->cnf.accept_local);
}

}  // namespace nettwin
