// net/ipv4/ip_fragment.c and net/ipv4/inet_fragment.c: reassembly.
// ip_defrag → ip_find (inet_frag_find) → ip_frag_queue → inet_frag_queue_insert
// → ip_frag_reasm once the first and last fragments are in and no byte is
// missing; ip_expire when ipfrag_time passes first.
//
// Linux 6.18's rules kept here: any overlap kills the whole queue (RFC 5722),
// a fragment inside what a run already holds is a duplicate (DUP_FRAG, the
// queue lives on); above ipfrag_high_thresh new fragments are refused (there is
// no evictor since 4.17: queues leave by completing or expiring); a queue that
// saw more than ipfrag_max_dist other fragments from its source since its own
// last one starts over (FRAG_TOO_FAR).
#include <algorithm>
#include <cstring>

#include "core/jiffies.h"
#include "core/net.h"
#include "core/trace_events.h"
#include "ipv4/ip_fragment.h"
#include "ipv4/ipv4.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {

namespace {

enum { IPFRAG_OK = 0, IPFRAG_DUP = 1, IPFRAG_OVERLAP = 2 };

// sizeof(struct ipq) on x86-64: what a queue costs in frag_mem_limit.
constexpr int64_t kIpqSize = 232;

// ip_frag_ecn_table: the ECN codepoints a datagram may be rebuilt from;
// 0xff where the fragments disagree in a way that must drop it.
constexpr uint8_t IPFRAG_ECN_NOT_ECT = 1, IPFRAG_ECN_ECT_1 = 2, IPFRAG_ECN_ECT_0 = 4, IPFRAG_ECN_CE = 8;
uint8_t ip_frag_ecn_table(uint8_t ecn) {
  if (ecn & IPFRAG_ECN_CE) {
    if (ecn & IPFRAG_ECN_NOT_ECT) return 0xff;
    return 3;  // INET_ECN_CE
  }
  if ((ecn & IPFRAG_ECN_NOT_ECT) && (ecn & (IPFRAG_ECN_ECT_0 | IPFRAG_ECN_ECT_1))) return 0xff;
  return 0;
}
uint8_t ip4_frag_ecn(uint8_t tos) { return uint8_t(1u << (tos & 3)); }

// inet_frag_rbtree_purge: every queued fragment freed with reason.
void inet_frag_rbtree_purge(Net& net, Ipq* q, SkbDropReason reason) {
  for (FragRun& run : q->runs)
    for (FragEntry& f : run.frags) {
      net.ipv4_frags.mem -= f.skb->truesize;
      if (reason == SkbDropReason::CONSUMED)
        consume_skb(f.skb, "inet_frag_rbtree_purge");
      else
        kfree_skb(f.skb, reason, "inet_frag_rbtree_purge");
    }
  q->runs.clear();
}

// inet_frag_kill: out of the hash table and without its timer; the queue
// itself goes once its last user puts it (inet_frag_destroy), here at once
// unless the caller still works on it.
void inet_frag_kill(Net& net, Ipq* q) {
  if (q->timer) net.engine.del_timer(q->timer);
  q->timer = 0;
  q->flags |= INET_FRAG_COMPLETE;
}

// inet_frag_destroy: the remaining fragments are freed, with
// FRAG_REASM_TIMEOUT when the queue was dropped (INET_FRAG_DROP), else as
// consumed; then the queue leaves the directory.
void inet_frag_destroy(Net& net, Ipq* q) {
  inet_frag_rbtree_purge(net, q, (q->flags & INET_FRAG_DROP) ? SkbDropReason::FRAG_REASM_TIMEOUT
                                                             : SkbDropReason::CONSUMED);
  net.ipv4_frags.mem -= kIpqSize;
  if (q->peer) inet_putpeer(q->peer);
  net.ipv4_frags.queues.erase(q->key);  // q is gone after this
}

void ip_expire(Net& net, FragV4CompareKey key);

// inet_frag_find: the queue for key, created when missing; null above
// ipfrag_high_thresh.
Ipq* ip_find(Net& net, const FragV4CompareKey& key) {
  Ipv4Frags& f = net.ipv4_frags;
  if (!net.sysctl.ipfrag_high_thresh || f.mem > net.sysctl.ipfrag_high_thresh) return nullptr;
  auto it = f.queues.find(key);
  if (it != f.queues.end()) return it->second.get();
  auto q = std::make_unique<Ipq>();
  q->key = key;
  if (net.sysctl.ipfrag_max_dist) {  // ip4_frag_init: the queue holds the source's peer
    q->peer = inet_getpeer_v4(net, key.saddr);
    inet_peer_hold(q->peer);
    q->rid = q->peer->rid;
  }
  // mod_timer(&q->timer, jiffies + ipfrag_time * HZ)
  q->timer = net.engine.mod_timer(net.engine.jiffies() + uint64_t(net.sysctl.ipfrag_time) * HZ,
                                  [&net, key] { ip_expire(net, key); });
  f.mem += kIpqSize;
  Ipq* raw = q.get();
  f.queues.emplace(key, std::move(q));
  return raw;
}

// ip_expire: the queue timed out. ICMP time exceeded (fragment reassembly)
// goes back only when the first fragment is here, and only from an end host.
void ip_expire(Net& net, FragV4CompareKey key) {
  auto it = net.ipv4_frags.queues.find(key);
  if (it == net.ipv4_frags.queues.end()) return;
  Ipq* q = it->second.get();
  q->timer = 0;
  if (q->flags & INET_FRAG_COMPLETE) return;
  q->flags |= INET_FRAG_DROP;
  inet_frag_kill(net, q);
  net.mib.ip.ReasmFails++;
  net.mib.ip.ReasmTimeout++;
  SkBuff* head = nullptr;
  SkbDropReason reason = SkbDropReason::FRAG_REASM_TIMEOUT;
  if ((q->flags & INET_FRAG_FIRST_IN) && !q->runs.empty()) {
    // inet_frag_pull_head: the offset-0 fragment leaves the queue.
    FragRun& run = q->runs.front();
    head = run.frags.front().skb;
    run.frags.erase(run.frags.begin());
    if (run.frags.empty()) {
      q->runs.erase(q->runs.begin());
    } else {
      run.offset = run.frags.front().offset;
      run.len -= int(head->len);
    }
    net.ipv4_frags.mem -= head->truesize;
    head->dev = net.dev_get_by_index(q->iif);
    if (head->dev) {
      // The skb has no dst: route it again (from its network header).
      skb_push(head, unsigned(head->data - skb_network_header(head)));
      wire::Iphdr iph{skb_network_header(head)};
      SkbDropReason rr;
      if (ip_route_input_noref(head, iph.daddr(), iph.saddr(), iph.tos() & 0xfc, head->dev, &rr) != 0) {
        reason = rr;
      } else if (!(key.user == IP_DEFRAG_AF_PACKET ||
                   (key.user >= IP_DEFRAG_CONNTRACK_IN && key.user < IP_DEFRAG_AF_PACKET)) ||
                 head->dst->rt_type == RTN_LOCAL) {
        icmp_send(head, wire::ICMP_TIME_EXCEEDED, wire::ICMP_EXC_FRAGTIME, 0);
      }
    }
  }
  if (head) {
    checkpoint(net.tracer, "ip_expire", head, "drop");
    kfree_skb(head, reason, "ip_expire");
  }
  inet_frag_destroy(net, q);
}

// ip_frag_too_far: more than ipfrag_max_dist fragments from this source since
// this queue's last one.
bool ip_frag_too_far(Net& net, Ipq* q) {
  const unsigned max = unsigned(net.sysctl.ipfrag_max_dist);
  if (!max || !q->peer) return false;  // no peer: max_dist was 0 when the queue began
  const uint32_t start = q->rid;
  const uint32_t end = ++q->peer->rid;
  q->rid = end;
  const bool rc = !q->runs.empty() && (end - start) > max;
  if (rc) net.mib.ip.ReasmFails++;
  return rc;
}

// ip_frag_reinit: start over, keeping the queue (and its timer, which is re-armed).
void ip_frag_reinit(Net& net, Ipq* q) {
  if (q->timer) net.engine.del_timer(q->timer);
  const FragV4CompareKey key = q->key;
  q->timer = net.engine.mod_timer(net.engine.jiffies() + uint64_t(net.sysctl.ipfrag_time) * HZ,
                                  [&net, key] { ip_expire(net, key); });
  inet_frag_rbtree_purge(net, q, SkbDropReason::FRAG_TOO_FAR);
  q->flags = 0;
  q->len = 0;
  q->meat = 0;
  q->ecn = 0;
  q->iif = 0;
}

// inet_frag_queue_insert: the common case appends after the last fragment
// (to its run when contiguous); otherwise the run the fragment falls in
// decides: inside one run is a duplicate, anything else an overlap.
int inet_frag_queue_insert(Ipq* q, SkBuff* skb, int offset, int end) {
  FragEntry* last = q->fragments_tail();
  if (!last) {
    q->runs.push_back(FragRun{offset, int(skb->len), {{skb, offset}}});
    return IPFRAG_OK;
  }
  const int last_end = last->offset + int(last->skb->len);
  if (last_end < end) {
    if (offset < last_end) return IPFRAG_OVERLAP;
    if (offset == last_end) {
      q->runs.back().frags.push_back({skb, offset});
      q->runs.back().len += int(skb->len);
    } else {
      q->runs.push_back(FragRun{offset, int(skb->len), {{skb, offset}}});
    }
    return IPFRAG_OK;
  }
  auto pos = q->runs.begin();
  for (; pos != q->runs.end(); ++pos) {
    const int run_end = pos->offset + pos->len;
    if (end <= pos->offset) break;
    if (offset >= run_end) continue;
    if (offset >= pos->offset && end <= run_end) return IPFRAG_DUP;
    return IPFRAG_OVERLAP;
  }
  q->runs.insert(pos, FragRun{offset, int(skb->len), {{skb, offset}}});
  return IPFRAG_OK;
}

// ip_frag_reasm: the skb that completed the queue carries the datagram on
// (inet_frag_reasm_prepare morphs it into the head, and the old head is
// consumed); the other fragments' bytes are coalesced into it (freed without
// a tracepoint, as kfree_skb_partial does). The datagram is linear here.
int ip_frag_reasm(Net& net, Ipq* q, SkBuff* skb, NetDevice* dev) {
  inet_frag_kill(net, q);
  const uint8_t ecn = ip_frag_ecn_table(q->ecn);
  if (ecn == 0xff) {
    net.mib.ip.ReasmFails++;
    return -22;  // -EINVAL
  }
  SkBuff* head = q->runs.front().frags.front().skb;
  const unsigned ihl = wire::Iphdr{skb_network_header(head)}.ihl() * 4u;
  const unsigned len = ihl + unsigned(q->len);
  if (len > 65535) {
    net.mib.ip.ReasmFails++;
    return -7;  // -E2BIG
  }
  const int head_tailroom = skb_tailroom(head);  // what Linux could coalesce into
  const unsigned skb_frag_len = skb->len;  // the completing fragment's, before it becomes the datagram
  // The datagram, built behind the head's own bytes in a buffer big enough.
  const unsigned mac_len = head->mac_header != SKB_HEADER_UNSET ? head->network_header - head->mac_header : 0;
  const unsigned headroom = std::max(skb_headroom(head), mac_len);
  SkbDataBuf* buf = net.pool.alloc_data(SKB_DATA_ALIGN(headroom + len));
  uint8_t* nh = buf->bytes + headroom;
  if (mac_len) std::memcpy(nh - mac_len, skb_mac_header(head), mac_len);
  std::memcpy(nh, skb_network_header(head), ihl);
  for (const FragRun& run : q->runs)
    for (const FragEntry& f : run.frags) std::memcpy(nh + ihl + f.offset, f.skb->data, f.skb->len);

  // skb_morph(skb, head): skb takes the head's header fields and the new data.
  if (skb != head) {
    skb->pkt_type = head->pkt_type;
    skb->protocol = head->protocol;
    skb->mark = head->mark;
    skb->priority = head->priority;
    std::memcpy(skb->cb, head->cb, sizeof skb->cb);
  }
  if (--skb->buf->shinfo.dataref == 0) net.pool.free_data(skb->buf);
  skb->buf = buf;
  skb->head = buf->bytes;
  skb->data = nh;
  skb->end = buf->size;
  skb->tail = headroom + len;
  skb->len = len;
  skb->data_len = 0;
  skb->cloned = false;
  skb->mac_header = mac_len ? uint16_t(headroom - mac_len) : SKB_HEADER_UNSET;
  skb->network_header = uint16_t(headroom);
  skb->transport_header = uint16_t(headroom + ihl);
  skb->truesize = buf->size + SKB_HEAD_OVERHEAD + SKB_SHINFO_OVERHEAD;
  skb->ip_summed = CHECKSUM_NONE;

  // inet_frag_reasm_finish with try_coalesce: a fragment whose bytes fit in the
  // head's tailroom is copied there and freed without a tracepoint
  // (kfree_skb_partial); the first that does not, and every one after it,
  // goes on the head's frag_list and is freed with it (skb_release_data). The
  // bytes are all in the linear datagram already: the frag_list skbs only live
  // on. The skb that completed the queue is represented by a clone there,
  // which Linux never shows.
  int room = head_tailroom;
  bool listed = false;
  SkBuff** nextp = &buf->shinfo.frag_list;
  for (FragRun& run : q->runs)
    for (FragEntry& f : run.frags) {
      net.ipv4_frags.mem -= f.skb->truesize;
      if (f.skb == head) continue;
      const int len = int(f.skb == skb ? skb_frag_len : f.skb->len);
      const bool coalesced = !listed && len <= room;
      if (coalesced)
        room -= len;
      else
        listed = true;
      if (f.skb == skb) continue;
      if (coalesced) {
        __kfree_skb(f.skb);
      } else {
        f.skb->dev = nullptr;
        f.skb->dst = nullptr;
        *nextp = f.skb;
        nextp = &f.skb->next;
      }
    }
  q->runs.clear();
  if (head != skb) consume_skb(head, "inet_frag_reasm_prepare");

  skb->dev = dev;
  skb->tstamp = q->stamp;
  wire::Iphdr iph{nh};
  iph.set_tot_len(uint16_t(len));
  iph.set_tos(uint8_t(iph.tos() | ecn));
  // DF only when the largest fragment carried it (IPSKB_FRAG_PMTU).
  iph.set_frag_off(q->max_df_size == q->max_size ? wire::IP_DF : 0);
  iph.set_check(0);
  iph.set_check(wire::ip_fast_csum(nh, iph.ihl()));
  net.mib.ip.ReasmOKs++;
  return 0;
}

// ip_frag_queue: 0 when skb now holds the whole datagram, -EINPROGRESS when
// it waits in the queue, another -errno when it was freed.
int ip_frag_queue(Net& net, Ipq* q, SkBuff* skb) {
  SkbDropReason reason = SkbDropReason::NOT_SPECIFIED;
  int err = -2;  // -ENOENT
  int offset, end, flags;
  unsigned ihl;
  uint8_t ecn;
  NetDevice* dev;
  int ins;
  if (q->flags & INET_FRAG_COMPLETE) {
    reason = SkbDropReason::DUP_FRAG;  // reassembly is done: a duplicate
    goto err;
  }
  if (ip_frag_too_far(net, q)) ip_frag_reinit(net, q);
  {
    wire::Iphdr iph{skb_network_header(skb)};
    ecn = ip4_frag_ecn(iph.tos());
    offset = iph.frag_off();
    flags = offset & ~wire::IP_OFFSET;
    offset = (offset & wire::IP_OFFSET) << 3;
    ihl = iph.ihl() * 4u;
  }
  end = offset + int(skb->len) - skb_network_offset(skb) - int(ihl);
  err = -22;  // -EINVAL
  if ((flags & wire::IP_MF) == 0) {
    // The last fragment: nothing may lie beyond it, nor may it move the end.
    if (end < q->len || ((q->flags & INET_FRAG_LAST_IN) && end != q->len)) goto discard_qp;
    q->flags |= INET_FRAG_LAST_IN;
    q->len = end;
  } else {
    if (end & 7) {
      end &= ~7;
      if (skb->ip_summed != CHECKSUM_UNNECESSARY) skb->ip_summed = CHECKSUM_NONE;
    }
    if (end > q->len) {
      if (q->flags & INET_FRAG_LAST_IN) goto discard_qp;
      q->len = end;
    }
  }
  if (end == offset) goto discard_qp;
  skb_pull(skb, unsigned(skb_network_offset(skb)) + ihl);
  skb_trim(skb, unsigned(end - offset));

  dev = skb->dev;
  ins = inet_frag_queue_insert(q, skb, offset, end);
  if (ins == IPFRAG_DUP) {
    reason = SkbDropReason::DUP_FRAG;
    err = -22;
    goto err;
  }
  if (ins == IPFRAG_OVERLAP) {
    err = -22;
    net.mib.ip.ReasmOverlaps++;
    goto discard_qp;
  }
  if (dev) q->iif = dev->ifindex;
  q->stamp = skb->tstamp;
  q->meat += int(skb->len);
  q->ecn |= ecn;
  net.ipv4_frags.mem += skb->truesize;
  if (offset == 0) q->flags |= INET_FRAG_FIRST_IN;
  {
    const uint32_t fragsize = skb->len + ihl;
    q->max_size = std::max(q->max_size, fragsize);
    if ((wire::Iphdr{skb_network_header(skb)}.frag_off() & wire::IP_DF) && fragsize > q->max_df_size)
      q->max_df_size = fragsize;
  }
  if (q->flags == (INET_FRAG_FIRST_IN | INET_FRAG_LAST_IN) && q->meat == q->len) {
    DstEntry* dst = skb->dst;
    err = ip_frag_reasm(net, q, skb, dev);
    skb->dst = dst;
    return err;  // on failure skb stays queued and leaves with the killed queue
  }
  skb->dst = nullptr;  // skb_dst_drop
  return -115;         // -EINPROGRESS

discard_qp:
  inet_frag_kill(net, q);
  net.mib.ip.ReasmFails++;
err:
  // ip_frag_queue is inlined into ip_defrag: Linux reports that location.
  checkpoint(net.tracer, "ip_frag_queue", skb, "drop");
  kfree_skb(skb, reason, "ip_defrag");
  return err;
}

}  // namespace

int ip_defrag(Net& net, SkBuff* skb, uint32_t user) {
  checkpoint(net.tracer, "ip_defrag", skb);
  net.mib.ip.ReasmReqds++;
  wire::Iphdr iph{skb_network_header(skb)};
  FragV4CompareKey key;
  key.saddr = iph.saddr();
  key.daddr = iph.daddr();
  key.user = user;
  key.vif = 0;  // l3mdev_master_ifindex_rcu: no VRF devices here
  key.id = iph.id();
  key.protocol = iph.protocol();
  Ipq* q = ip_find(net, key);
  if (!q) {
    net.mib.ip.ReasmFails++;
    checkpoint(net.tracer, "ip_defrag", skb, "drop");
    kfree_skb(skb, SkbDropReason::NOT_SPECIFIED, "ip_defrag");
    return -12;  // -ENOMEM
  }
  const int ret = ip_frag_queue(net, q, skb);
  // ipq_put: a queue that was killed is destroyed once nobody works on it.
  if (q->flags & INET_FRAG_COMPLETE) inet_frag_destroy(net, q);
  return ret;
}

size_t ip_frag_queues(const Net& net) { return net.ipv4_frags.queues.size(); }

}  // namespace nettwin
