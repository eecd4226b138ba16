// net/ethernet/eth.c: eth_type_trans on receive, eth_header (dev_hard_header) on send.
#pragma once

#include <cstdint>

#include "wire/bytes.h"

namespace nettwin {

struct SkBuff;
struct NetDevice;

// Sets skb->dev, mac header and pkt_type (HOST / BROADCAST / MULTICAST /
// OTHERHOST), pulls the Ethernet header and returns the protocol (host order).
// The caller guarantees skb->len >= ETH_HLEN.
uint16_t eth_type_trans(SkBuff* skb, NetDevice* dev);
// Push an Ethernet header: daddr, saddr (nullptr: the device's address), type.
void eth_header(SkBuff* skb, const NetDevice* dev, uint16_t type, const wire::MacAddr& daddr,
                const wire::MacAddr* saddr);

}  // namespace nettwin
