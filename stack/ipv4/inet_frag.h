// struct inet_frag_queue / struct ipq and the per-net fragment directory
// (include/net/inet_frag.h, net/ipv4/ip_fragment.c): the queues of IPv4
// datagrams being reassembled, keyed as frag_v4_compare_key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <vector>

#include "core/engine.h"
#include "core/skbuff.h"
#include "wire/bytes.h"

namespace nettwin {

// ip_defrag users (include/net/ip.h): who asked for the reassembly.
enum IpDefragUser : uint32_t {
  IP_DEFRAG_LOCAL_DELIVER = 0,
  IP_DEFRAG_CALL_RA_CHAIN = 1,
  IP_DEFRAG_CONNTRACK_IN = 2,
  IP_DEFRAG_AF_PACKET = 100,
};

struct FragV4CompareKey {
  wire::Ipv4Addr saddr = 0;
  wire::Ipv4Addr daddr = 0;
  uint32_t user = 0;
  int vif = 0;
  uint16_t id = 0;
  uint8_t protocol = 0;
  bool operator==(const FragV4CompareKey&) const = default;
};

struct FragV4KeyHash {
  size_t operator()(const FragV4CompareKey& k) const {
    uint64_t h = (uint64_t(k.saddr) << 32) ^ k.daddr;
    h ^= (uint64_t(k.id) << 16 | k.protocol) * 0x9e3779b97f4a7c15ull;
    h ^= (uint64_t(k.user) << 40) ^ uint64_t(uint32_t(k.vif));
    return size_t(h ^ (h >> 29));
  }
};

enum : unsigned {
  INET_FRAG_FIRST_IN = 1,
  INET_FRAG_LAST_IN = 2,
  INET_FRAG_COMPLETE = 4,
  INET_FRAG_DROP = 16,
};

// One fragment in a queue: FRAG_CB(skb)->ip_defrag_offset.
struct FragEntry {
  SkBuff* skb;
  int offset;
};

// A run of fragments that follow each other without a gap (Linux keeps each
// run as one rbtree node; duplicates are judged against whole runs).
struct FragRun {
  int offset = 0;
  int len = 0;  // FRAG_CB(head)->frag_run_len
  std::vector<FragEntry> frags;
};

struct InetPeer;

struct Ipq {
  FragV4CompareKey key;
  unsigned flags = 0;
  int len = 0;   // total length of the original datagram, once known
  int meat = 0;  // bytes received so far
  uint32_t max_size = 0;
  uint32_t max_df_size = 0;
  uint8_t ecn = 0;
  int iif = 0;
  uint32_t rid = 0;
  InetPeer* peer = nullptr;  // held while the queue lives (ipfrag_max_dist)
  uint64_t stamp = 0;
  Engine::TimerId timer = 0;
  std::vector<FragRun> runs;  // ordered by offset, never overlapping
  FragEntry* fragments_tail() { return runs.empty() ? nullptr : &runs.back().frags.back(); }
};

// struct fqdir: one per net for IPv4.
struct Ipv4Frags {
  std::unordered_map<FragV4CompareKey, std::unique_ptr<Ipq>, FragV4KeyHash> queues;
  int64_t mem = 0;  // frag_mem_limit: truesize of queued skbs plus the queues
};

}  // namespace nettwin
