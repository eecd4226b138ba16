// net/ipv4/raw.c: raw sockets (raw_prot). raw_local_deliver hands each raw
// socket of the datagram's protocol a clone before the protocol handler runs.
#pragma once

#include <cstdint>

#include "core/skbuff.h"
#include "socket/sock.h"

namespace nettwin {

extern Proto raw_prot;

int raw_bind(Sock* sk, const SockaddrIn* addr, int addr_len);
// true when some raw socket took a clone.
bool raw_local_deliver(SkBuff* skb, int protocol);

}  // namespace nettwin
