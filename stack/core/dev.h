// net/core/dev.c: the receive path from netif_rx / NAPI to the protocol
// handlers, the transmit path from dev_queue_xmit to the driver, and the
// NET_RX / NET_TX softirqs.
#pragma once

#include "core/netdevice.h"
#include "core/skbuff.h"

namespace nettwin {

class Net;

// Receive.
void napi_schedule(Net& net, NapiStruct* napi);
void napi_complete_done(NapiStruct* napi, int work_done);
int netif_rx(SkBuff* skb);        // netif_rx / __netif_rx: into the per-CPU backlog
int netif_receive_skb(SkBuff* skb);
void net_rx_action(Net& net);
int process_backlog(NapiStruct* napi, int quota);

// Transmit.
int dev_queue_xmit(SkBuff* skb);
// dev_hard_start_xmit for one skb: traces net_dev_start_xmit / net_dev_xmit.
int dev_hard_start_xmit(SkBuff* skb, NetDevice* dev);
void net_tx_action(Net& net);
// TX completion from a driver: the skb goes to the completion queue and is
// consumed by net_tx_action (dev_consume_skb_any from hard-IRQ context).
void dev_consume_skb_any(SkBuff* skb);
void netif_stop_queue(NetDevice* dev);
void netif_wake_queue(NetDevice* dev);

// Link state.
void dev_open(NetDevice* dev);
void dev_close(NetDevice* dev);

}  // namespace nettwin
