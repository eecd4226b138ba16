// struct sk_buff and its operations, with Linux's semantics (include/linux/skbuff.h,
// net/core/skbuff.c): head <= data <= tail <= end, len/data_len, a shared-info
// block with dataref at the end of the data buffer, clone versus copy.
//
// skbs and data buffers come from an SkbPool (core/skb_pool.h): the hot path
// never touches the heap once the pool is warm.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "core/drop_reason.h"

namespace nettwin {

struct NetDevice;
struct DstEntry;
struct Sock;
class SkbPool;

// skb->pkt_type (include/uapi/linux/if_packet.h).
enum PktType : uint8_t {
  PACKET_HOST = 0,
  PACKET_BROADCAST = 1,
  PACKET_MULTICAST = 2,
  PACKET_OTHERHOST = 3,
  PACKET_OUTGOING = 4,
  PACKET_LOOPBACK = 5,
};

// skb->ip_summed.
enum : uint8_t { CHECKSUM_NONE = 0, CHECKSUM_UNNECESSARY = 1, CHECKSUM_COMPLETE = 2, CHECKSUM_PARTIAL = 3 };

// struct skb_shared_info: lives with the data, shared by every clone.
struct SkbSharedInfo {
  uint8_t nr_frags = 0;
  uint8_t tx_flags = 0;
  uint16_t gso_size = 0;
  uint16_t gso_segs = 0;
  uint32_t gso_type = 0;
  int dataref = 1;  // how many skb headers point at this data
  // The skbs chained behind this one (ip_append_data's pieces of a datagram
  // larger than the MTU); their bytes count in the owner's len and data_len.
  struct SkBuff* frag_list = nullptr;
};

// skb_shinfo(skb)->gso_type bits (include/linux/skbuff.h): what kind of
// segmentation a GSO skb asks for.
enum : uint32_t { SKB_GSO_TCPV4 = 1 << 0, SKB_GSO_DODGY = 1 << 1, SKB_GSO_TCP_ECN = 1 << 2,
                  SKB_GSO_TCP_FIXEDID = 1 << 3 };

// The data buffer (Linux: the kmalloc'd head with skb_shared_info at its end).
struct SkbDataBuf {
  SkbSharedInfo shinfo;
  uint32_t size = 0;        // usable bytes: skb->end
  uint8_t size_class = 0;
  SkbDataBuf* next_free = nullptr;
  uint8_t* bytes = nullptr;  // owned by the pool
};

// What Linux does with BUG() in skb_over_panic / skb_under_panic: here a
// thrown error that names the operation and the skb's geometry, so that a
// bug is a clear failure and never a write past the buffer.
struct SkbPanic : std::logic_error {
  using std::logic_error::logic_error;
};

inline constexpr uint16_t SKB_HEADER_UNSET = 0xffff;  // (typeof(skb->mac_header))~0U

// The fields a fresh skb has zeroed come first, up to tail: alloc_head
// clears them with one memset, as __alloc_skb does up to offsetof(struct
// sk_buff, tail), and sets the rest one by one.
struct SkBuff {
  SkBuff* next = nullptr;  // sk_buff_head / completion queue links
  SkBuff* prev = nullptr;
  uint64_t tstamp = 0;
  NetDevice* dev = nullptr;
  DstEntry* dst = nullptr;  // _skb_refdst, held without a reference (skb_dst_set_noref)
  alignas(8) uint8_t cb[48] = {};
  uint32_t len = 0;
  uint32_t data_len = 0;  // bytes in frags: always 0 here, the data is linear
  uint16_t mac_len = 0;
  uint16_t queue_mapping = 0;
  bool cloned = false;
  PktType pkt_type = PACKET_HOST;
  bool peer_rx = false;  // a veth frame in the backlog on its peer's behalf (netif_rx_peer)
  uint8_t ip_summed = CHECKSUM_NONE;
  uint32_t priority = 0;
  uint32_t mark = 0;
  int skb_iif = 0;
  uint16_t protocol = 0;  // skb->protocol in host order (0x0800 for IPv4)
  // skb_set_dst_pending_confirm: ip_finish_output2 confirms the neighbour (sock_confirm_neigh).
  bool dst_pending_confirm = false;
  // The owning socket and what gives its memory back when the skb dies
  // (skb_set_owner_w / sock_wfree); clones and copies carry neither.
  Sock* sk = nullptr;
  void (*destructor)(SkBuff* skb) = nullptr;
  uint16_t transport_header = SKB_HEADER_UNSET;  // offsets from head
  uint16_t network_header = SKB_HEADER_UNSET;
  uint16_t mac_header = SKB_HEADER_UNSET;
  // From here on set one by one on allocation (alloc_head, then alloc_skb).
  uint32_t tail = 0;  // offset from head (NET_SKBUFF_DATA_USES_OFFSET)
  uint32_t end = 0;   // offset from head
  uint8_t* head = nullptr;
  uint8_t* data = nullptr;
  uint32_t truesize = 0;
  int users = 1;
  uint64_t id = 0;  // unique for the stack's lifetime (the tracer's "skbaddr")
  SkbDataBuf* buf = nullptr;
  SkbPool* pool = nullptr;
};

[[noreturn]] void skb_over_panic(const SkBuff* skb, unsigned int sz, const char* op);
[[noreturn]] void skb_under_panic(const SkBuff* skb, unsigned int sz, const char* op);

inline SkbSharedInfo* skb_shinfo(const SkBuff* skb) { return &skb->buf->shinfo; }
inline uint8_t* skb_tail_pointer(const SkBuff* skb) { return skb->head + skb->tail; }
inline uint8_t* skb_end_pointer(const SkBuff* skb) { return skb->head + skb->end; }
inline unsigned int skb_headroom(const SkBuff* skb) { return unsigned(skb->data - skb->head); }
inline int skb_tailroom(const SkBuff* skb) { return int(skb->end) - int(skb->tail); }
inline unsigned int skb_headlen(const SkBuff* skb) { return skb->len - skb->data_len; }
// A GSO skb stands for several segments of gso_size bytes (skb_is_gso).
inline bool skb_is_gso(const SkBuff* skb) { return skb_shinfo(skb)->gso_size != 0; }
inline bool skb_cloned(const SkBuff* skb) { return skb->cloned && skb_shinfo(skb)->dataref != 1; }
inline bool skb_shared(const SkBuff* skb) { return skb->users != 1; }
inline SkBuff* skb_get(SkBuff* skb) {
  ++skb->users;
  return skb;
}

// Reserve headroom in an empty skb: moves data and tail together.
inline void skb_reserve(SkBuff* skb, int len) {
  if (len < 0 || skb->tail + unsigned(len) > skb->end) skb_over_panic(skb, unsigned(len), "skb_reserve");
  skb->data += len;
  skb->tail += unsigned(len);
}

// Extend the data at the tail; returns the first new byte.
inline uint8_t* skb_put(SkBuff* skb, unsigned int len) {
  uint8_t* tmp = skb_tail_pointer(skb);
  if (uint64_t(skb->tail) + len > skb->end) skb_over_panic(skb, len, "skb_put");
  skb->tail += len;
  skb->len += len;
  return tmp;
}

// Extend the data at the head; returns the new data pointer.
inline uint8_t* skb_push(SkBuff* skb, unsigned int len) {
  if (len > skb_headroom(skb)) skb_under_panic(skb, len, "skb_push");
  skb->data -= len;
  skb->len += len;
  return skb->data;
}

// Remove data from the head; nullptr (and nothing changed) when len > skb->len.
inline uint8_t* skb_pull(SkBuff* skb, unsigned int len) {
  if (len > skb->len) return nullptr;
  skb->len -= len;
  skb->data += len;
  return skb->data;
}

// Cut the data to len bytes; longer lengths change nothing.
inline void skb_trim(SkBuff* skb, unsigned int len) {
  if (skb->len > len) {
    skb->len = len;
    skb->tail = unsigned(skb->data - skb->head) + len;
  }
}

// The data is linear, so "can len bytes be pulled into the head" is len <= skb->len.
inline bool pskb_may_pull(const SkBuff* skb, unsigned int len) { return len <= skb->len; }

inline void skb_reset_mac_header(SkBuff* skb) { skb->mac_header = uint16_t(skb->data - skb->head); }
inline void skb_reset_network_header(SkBuff* skb) { skb->network_header = uint16_t(skb->data - skb->head); }
inline void skb_set_network_header(SkBuff* skb, int offset) {
  skb->network_header = uint16_t(skb->data - skb->head + offset);
}
inline void skb_reset_transport_header(SkBuff* skb) { skb->transport_header = uint16_t(skb->data - skb->head); }
inline void skb_set_transport_header(SkBuff* skb, int offset) {
  skb->transport_header = uint16_t(skb->data - skb->head + offset);
}
inline bool skb_mac_header_was_set(const SkBuff* skb) { return skb->mac_header != SKB_HEADER_UNSET; }
inline bool skb_transport_header_was_set(const SkBuff* skb) { return skb->transport_header != SKB_HEADER_UNSET; }
inline uint8_t* skb_mac_header(const SkBuff* skb) { return skb->head + skb->mac_header; }
inline uint8_t* skb_network_header(const SkBuff* skb) { return skb->head + skb->network_header; }
inline uint8_t* skb_transport_header(const SkBuff* skb) { return skb->head + skb->transport_header; }
inline int skb_network_offset(const SkBuff* skb) { return int(skb_network_header(skb) - skb->data); }
inline int skb_transport_offset(const SkBuff* skb) { return int(skb_transport_header(skb) - skb->data); }

// skb_orphan: run the destructor now (the owner's memory is given back) and
// forget the owner, as a device does when the skb leaves the host's accounting.
inline void skb_orphan(SkBuff* skb) {
  if (skb->destructor) {
    skb->destructor(skb);
    skb->destructor = nullptr;
    skb->sk = nullptr;
  }
}

// A new header sharing the data: dataref goes up, both become "cloned", the
// clone's data pointer moves independently. The clone starts with users 1.
SkBuff* skb_clone(SkBuff* skb);
// A new header and a new data buffer holding a copy of head..end.
SkBuff* skb_copy(const SkBuff* skb);

// Drop a reference: when it was the last one, trace skb:kfree_skb with reason and
// location (the Linux function that freed it), release the data (if dataref
// falls to 0) and return the header to the pool.
void kfree_skb(SkBuff* skb, SkbDropReason reason, const char* location);
// sk_skb_reason_drop: the same, naming the receiving socket (the trace's rx_sk).
void kfree_skb_rx_sk(SkBuff* skb, SkbDropReason reason, const char* location, bool rx_sk);
// The same for an skb that was used as intended: traces skb:consume_skb.
void consume_skb(SkBuff* skb, const char* location);
// skb_share_check: a handler that will change the skb's header takes a clone
// of its own when others still hold the skb (a packet socket's reference).
inline SkBuff* skb_share_check(SkBuff* skb, const char* location) {
  if (!skb_shared(skb)) return skb;
  SkBuff* nskb = skb_clone(skb);
  consume_skb(skb, location);
  return nskb;
}
// Free without a tracepoint (Linux's __kfree_skb): for an skb whose life goes on
// somewhere the DUT's trace does not follow (a veth peer).
void __kfree_skb(SkBuff* skb);

// A new, larger data buffer for skb (nhead more bytes of headroom, ntail more
// of tailroom), the data copied; the header offsets keep pointing at the same
// bytes. The skb's identity stays. Linear skbs only.
void pskb_expand_head(SkBuff* skb, unsigned nhead, unsigned ntail);
// Room for len more bytes at the tail, where Linux would add page fragments
// (tcp_sendmsg's copy, skb_shift): the linear buffer grows, and the skb keeps
// the truesize its owner was charged with.
void skb_grow_tailroom(SkBuff* skb, unsigned len);
inline bool skb_has_frag_list(const SkBuff* skb) { return skb_shinfo(skb)->frag_list != nullptr; }

// skb_segment: a GSO skb, its data at the payload and its headers (from the
// MAC header on) in front of it, cut into gso_size pieces. Each segment is a
// new pool skb holding a copy of the headers and its share of the payload,
// which counts as data_len (the page fragments Linux would share); the list is
// linked by next, its data at the MAC header. The caller fixes the headers.
SkBuff* skb_segment(SkBuff* head_skb);

// The skb's geometry as text, for panics and test failure messages.
std::string skb_describe(const SkBuff* skb);

}  // namespace nettwin
