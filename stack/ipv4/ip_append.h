// The datagram builders of net/ipv4/ip_output.c: ip_append_data appends user
// data to a socket's pending datagram (sk_write_queue) in MTU-sized skbs,
// ip_make_skb does the same for one uncorked datagram, and
// __ip_make_skb / ip_push_pending_frames turn the pieces into one IP datagram
// (the first skb with the rest on its frag_list) and send it.
#pragma once

#include <cstdint>
#include <span>

#include "core/skb_queue.h"
#include "ipv4/fib.h"
#include "socket/sock.h"

namespace nettwin {

// struct inet_cork: what the datagram being built is sent with.
struct InetCork {
  DstEntry* dst = nullptr;
  Flowi4 fl4;
  int ttl = 0;     // 0: the socket's / the route's
  int tos = -1;    // -1: the socket's
  unsigned fragsize = 0;  // the route's MTU
  unsigned length = 0;    // bytes appended so far (transport header included)
  bool dont_fragment = false;
};

// ip_setup_cork's fragsize: the route's MTU (dst_mtu) for a socket that uses
// it (ip_sk_use_pmtu), else the device's.
unsigned ip_cork_fragsize(const Sock* sk, const DstEntry* rt);
// ip_append_data: 0 or -errno (-EMSGSIZE past the limit, -ENOBUFS, ...).
// transhdrlen: room left for the transport header in the first piece.
int ip_append_data(Sock* sk, InetCork& cork, SkbQueue& queue, std::span<const uint8_t> data,
                   unsigned transhdrlen, int flags);
// __ip_make_skb: one datagram from the queue (the pieces after the first on
// its frag_list), IP header written; null when the queue is empty.
SkBuff* __ip_make_skb(Sock* sk, InetCork& cork, SkbQueue& queue);
// ip_send_skb: ip_local_out; a positive NET_XMIT code becomes its errno.
int ip_send_skb(Net& net, SkBuff* skb);
// ip_flush_pending_frames: the pending pieces are freed.
void ip_flush_pending_frames(SkbQueue& queue);

}  // namespace nettwin
