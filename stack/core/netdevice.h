// struct net_device, struct napi_struct, struct packet_type, struct
// softnet_data (include/linux/netdevice.h): the types net/core/dev.c works on.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ipv4/devinet.h"
#include "core/dst.h"
#include "core/neighbour.h"
#include "core/skb_queue.h"
#include "core/skbuff.h"
#include "core/wire_queue.h"
#include "stack.h"
#include "wire/bytes.h"

namespace nettwin {

class Net;
struct Qdisc;

enum : unsigned {
  IFF_UP = 0x1,
  IFF_BROADCAST = 0x2,
  IFF_LOOPBACK = 0x8,
  IFF_NOARP = 0x80,
  IFF_MULTICAST = 0x1000,
};

enum NetdevTx : int { NETDEV_TX_OK = 0x00, NETDEV_TX_BUSY = 0x10 };
enum : int { NET_RX_SUCCESS = 0, NET_RX_DROP = 1 };
enum : int { NET_XMIT_SUCCESS = 0x00, NET_XMIT_DROP = 0x01, NET_XMIT_CN = 0x02 };
// The driver took the skb (sent, or dropped it with an error): rc < NET_XMIT_MASK.
// NETDEV_TX_BUSY (0x10) means it is still the caller's.
inline bool dev_xmit_complete(int rc) { return rc < 0x0f; }

// struct rtnl_link_stats64 plus the core stats (dev_core_stats_*).
struct NetDeviceStats {
  uint64_t rx_packets = 0, tx_packets = 0, rx_bytes = 0, tx_bytes = 0;
  uint64_t rx_errors = 0, tx_errors = 0, rx_dropped = 0, tx_dropped = 0;
  uint64_t multicast = 0, collisions = 0, rx_missed_errors = 0, tx_carrier_errors = 0;
  uint64_t rx_nohandler = 0, rx_otherhost_dropped = 0;
};

// struct in_ifaddr.
struct InIfaddr {
  wire::Ipv4Addr ifa_local = 0;
  wire::Ipv4Addr ifa_mask = 0;
  wire::Ipv4Addr ifa_broadcast = 0;  // 0: none (what `ip addr add A/N` gives)
  uint8_t ifa_prefixlen = 0;
};

// netdev_features_t bits this stack knows (include/linux/netdev_features.h).
// The GSO bits are the SKB_GSO_* types shifted by NETIF_F_GSO_SHIFT.
inline constexpr uint64_t NETIF_F_SG = 1ull << 0;
inline constexpr uint64_t NETIF_F_HW_CSUM = 1ull << 3;
inline constexpr unsigned NETIF_F_GSO_SHIFT = 16;
inline constexpr uint64_t NETIF_F_TSO = uint64_t(1) << NETIF_F_GSO_SHIFT;  // SKB_GSO_TCPV4

struct NetDevice {
  NetDevice(Net& net, const DeviceConfig& config);
  virtual ~NetDevice();
  NetDevice(const NetDevice&) = delete;
  NetDevice& operator=(const NetDevice&) = delete;

  // ndo_start_xmit: the driver takes the skb (NETDEV_TX_OK) or refuses it (BUSY).
  virtual NetdevTx ndo_start_xmit(SkBuff* skb) = 0;
  // A frame arrives from outside the stack: for a ring NIC, the DMA into the
  // next RX descriptor; for a veth, the peer's veth_xmit. false: dropped
  // (ring full, counted as rx_missed; or backlog full).
  virtual bool receive_from_wire(std::span<const uint8_t> frame) = 0;
  virtual void ndo_open() {}
  virtual void ndo_stop() {}

  unsigned max_frame() const { return mtu + hard_header_len + 4; /* VLAN_HLEN */ }
  bool is_up() const { return flags & IFF_UP; }

  Net& net;
  DeviceConfig config;
  std::string name;
  int ifindex = 0;
  wire::MacAddr dev_addr{};
  wire::MacAddr broadcast{0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  unsigned mtu = 1500;
  unsigned hard_header_len = 14;
  unsigned addr_len = 6;
  unsigned tx_queue_len = 1000;
  unsigned flags = IFF_UP | IFF_BROADCAST | IFF_MULTICAST;
  uint16_t type = 1;  // ARPHRD_ETHER
  // dev->features: scatter-gather, no checksum or segmentation offload (the
  // recordings' veth has tx checksumming, TSO and GSO off), so a TCP GSO skb
  // is segmented in software at validate_xmit_skb.
  uint64_t features = NETIF_F_SG;
  unsigned gso_max_size = 65536;  // GSO_LEGACY_MAX_SIZE
  unsigned gso_max_segs = 65535;  // GSO_MAX_SEGS
  bool rxcsum = false;  // NETIF_F_RXCSUM: received frames arrive CHECKSUM_UNNECESSARY
  std::unique_ptr<Qdisc> qdisc;
  bool xoff = false;  // __QUEUE_STATE_DRV_XOFF: the driver stopped the TX queue
  NetDeviceStats stats;
  uint64_t wire_rx_while_down = 0;  // frames injected while down (ours: see InjectResult)
  NeighParms neigh_parms;  // in_dev->arp_parms
  std::vector<InIfaddr> ifa_list;
  // Input routes that have no FIB entry to cache them on (limited broadcast,
  // no route): Linux caches these per CPU; here one per device.
  DstEntry rt_brd_input;
  DstEntry rt_unreach_input;
  DstEntry rt_brd_output;  // limited broadcasts out of this device
  DstEntry rt_igmp_output;  // IGMP flows given this device: routed without the FIB
  DstEntry rt_local_output;  // a loopback device's: a flow with no destination (to ourselves)
  Ipv4Devconf cnf;         // in_device's conf.<dev>.* (ipv4/devinet.h)
  WireBacklog wire_backlog;  // this device's frames held on the wire for the harness
};

// struct napi_struct.
struct NapiStruct {
  int (*poll)(NapiStruct* napi, int budget) = nullptr;
  int weight = 64;
  bool scheduled = false;     // NAPI_STATE_SCHED
  NetDevice* dev = nullptr;   // nullptr: the per-CPU backlog, "(no_device)" in napi_poll
  NapiStruct* poll_next = nullptr;
  void* owner = nullptr;      // the driver's private data (container_of)
  SkbQueue rx_list;           // GRO_NORMAL skbs not yet handed up (napi->rx_list)
  int rx_count = 0;
};

struct NapiList {
  NapiStruct* head = nullptr;
  NapiStruct* tail = nullptr;
  bool empty() const { return head == nullptr; }
  void push_back(NapiStruct* n) {
    n->poll_next = nullptr;
    if (tail) tail->poll_next = n; else head = n;
    tail = n;
  }
  NapiStruct* pop_front() {
    NapiStruct* n = head;
    if (!n) return nullptr;
    head = n->poll_next;
    if (!head) tail = nullptr;
    n->poll_next = nullptr;
    return n;
  }
  void splice_tail_init(NapiList& from) {
    if (from.empty()) return;
    if (tail) tail->poll_next = from.head; else head = from.head;
    tail = from.tail;
    from = NapiList{};
  }
};

// struct packet_type: a protocol handler (ptype_base) or a tap (ptype_all).
struct PacketType {
  uint16_t type = 0;          // ETH_P_* in host order; 0 with ptype_all taps
  NetDevice* dev = nullptr;   // nullptr: every device
  int (*func)(SkBuff* skb, NetDevice* dev, PacketType* pt, NetDevice* orig_dev) = nullptr;
  void* priv = nullptr;
};

// struct softnet_data: the (single) CPU's receive and transmit state.
struct SoftnetData {
  NapiList poll_list;
  SkbQueue input_pkt_queue;
  SkbQueue process_queue;
  NapiStruct backlog;
  SkbQueue completion_queue;
  Qdisc* output_queue = nullptr;
  Qdisc* output_queue_tail = nullptr;
  // /proc/net/softnet_stat's columns (received_rps and flow_limit_count stay 0: one CPU, no RPS).
  uint64_t processed = 0;
  uint64_t dropped = 0;
  uint64_t time_squeeze = 0;
  uint64_t received_rps = 0;
  uint64_t flow_limit_count = 0;
};

}  // namespace nettwin
