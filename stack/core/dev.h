// net/core/dev.c: the receive path from netif_rx / NAPI to the protocol
// handlers, the transmit path from dev_queue_xmit to the driver, and the
// NET_RX / NET_TX softirqs.
#pragma once

#include "core/netdevice.h"
#include "core/skbuff.h"

namespace nettwin {

class Net;

// The virtual CPU time a NAPI poll spends per packet it handles, charged when
// the poll returns. Virtual time stands still otherwise, so this is what makes
// netdev_budget_usecs bite: a fixed, deterministic 1 us per packet, the order
// of a kernel's per-packet receive cost, so that with the defaults the packet
// budget (300 -> 300 us) binds long before the time budget (8000 us), as on Linux.
inline constexpr uint64_t kNapiPacketCostNs = 1000;

// Receive.
void napi_schedule(Net& net, NapiStruct* napi);
void napi_complete_done(NapiStruct* napi, int work_done);
// napi_gro_receive: a NAPI driver's frames up (batched gro_normal_batch deep).
void napi_gro_receive(NapiStruct* napi, SkBuff* skb);
void gro_normal_list(NapiStruct* napi);
int netif_rx(SkBuff* skb);        // from outside softirq context
// netif_rx_peer: a frame veth_xmit hands to its peer, which lives outside the
// twin, waits in this CPU's backlog like the peer's __netif_rx would put it;
// process_backlog counts it and frees it (the sender's destructor runs then).
int netif_rx_peer(Net& net, SkBuff* skb);
int __netif_rx(SkBuff* skb);      // from a driver's xmit (veth, loopback): into the per-CPU backlog
int netif_receive_skb(SkBuff* skb);
void net_rx_action(Net& net);
int process_backlog(NapiStruct* napi, int quota);

// Transmit.
int dev_queue_xmit(SkBuff* skb);
// validate_xmit_skb: what the device cannot take as it is made fit; a GSO skb
// is segmented in software (netif_needs_gso) and consumed, the segments
// returned as a list linked by next. nullptr: nothing left to send.
SkBuff* validate_xmit_skb(SkBuff* skb, NetDevice* dev);
// validate_xmit_skb_list: the same for each skb of a list.
SkBuff* validate_xmit_skb_list(SkBuff* skb, NetDevice* dev);
// dev_hard_start_xmit: each skb of the list to the driver (xmit_one traces
// net_dev_start_xmit / net_dev_xmit); stops at the first the driver refuses
// or when it stops the queue, and returns what is left (nullptr: all went),
// the driver's last answer in *ret.
SkBuff* dev_hard_start_xmit(SkBuff* first, NetDevice* dev, int* ret);
void net_tx_action(Net& net);
// TX completion from a driver: the skb goes to the completion queue and is
// consumed by net_tx_action (dev_consume_skb_any from hard-IRQ context).
void dev_consume_skb_any(SkBuff* skb);
// napi_consume_skb: a TX completion inside a NAPI poll; location names the driver function.
void napi_consume_skb(SkBuff* skb, int budget, const char* location);
// dev_queue_xmit_nit: clones of what is sent, to the ETH_P_ALL taps.
void dev_queue_xmit_nit(SkBuff* skb, NetDevice* dev);
// dev_change_tx_queue_len → dev_qdisc_change_tx_queue_len.
void dev_change_tx_queue_len(NetDevice* dev, uint32_t len);
void netif_stop_queue(NetDevice* dev);
void netif_wake_queue(NetDevice* dev);

// Link state.
void dev_open(NetDevice* dev);
void dev_close(NetDevice* dev);

// dev_index_reserve: a requested ifindex (> 0) if no device holds it, else 0;
// for 0, the first free index from net.ifindex up to INT_MAX, wrapping to 1
// (xa_alloc_cyclic over xa_limit_31b, index 0 never given), and the search
// starts after it next time. Automatic indexes neither overflow nor collide.
int dev_index_reserve(Net& net, int ifindex);

}  // namespace nettwin
