// Bounded memory under floods: the neighbour table's collector (gc_thresh1/2/3,
// neigh_forced_gc, neigh_periodic_work, FAILED entries removed) against ARP
// requests from 100k senders, and the inet_peer store (inet_peer_threshold,
// inet_peer_gc) against ICMP errors to 100k destinations. The expected numbers
// follow from Linux's rules: a full table refuses an entry (table_fulls) after
// a forced collection that found nothing older than 5 s; a forced collection
// brings the table back to gc_thresh2.
#include <gtest/gtest.h>

#include "core/net.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;
constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kSec = 1000000000ull;
constexpr uint32_t kBenchNet = 0xc6120000;  // 198.18.0.0/15 (RFC 2544), room for 100k on-link hosts
constexpr uint32_t kFirstSender = kBenchNet + 2;
constexpr unsigned kFlood = 100000;
constexpr unsigned kBatch = 4096;  // the RX ring's size

// A UDP datagram (no checksum) from src on the benchmark net to a closed port of the DUT.
Bytes udp_to_closed_port(uint32_t src) {
  Bytes f;
  f.insert(f.end(), test::kDutMac.begin(), test::kDutMac.end());
  f.insert(f.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  test::put16(f, 0x0800);
  const size_t ip = f.size();
  test::put16(f, 0x4500);
  test::put16(f, 20 + 8 + 4);
  test::put32(f, 0);
  test::put16(f, 0x4011);  // ttl 64, UDP
  test::put16(f, 0);
  test::put32(f, src);
  test::put32(f, test::kDutIp);
  const uint16_t sum = test::inet_csum(f.data() + ip, 20);
  f[ip + 10] = uint8_t(sum >> 8);
  f[ip + 11] = uint8_t(sum);
  test::put16(f, 40000);
  test::put16(f, 9);  // discard: nobody listens
  test::put16(f, 8 + 4);
  test::put16(f, 0);
  test::put32(f, 0x6e657474);
  return f;
}

struct FloodDut : test::Dut {
  FloodDut() : test::Dut(DeviceKind::Ring, 1, kBatch, kBatch) {
    EXPECT_FALSE(stack.add_address(dev, "198.18.0.1/15").has_value());
  }
  // Frames for senders [first, first + n), a ring's worth at a time, each
  // batch handled 1 ms of virtual time after it arrives.
  template <class MakeFrame>
  void flood(uint32_t first, unsigned n, MakeFrame make) {
    for (unsigned done = 0; done < n;) {
      const unsigned batch = std::min(kBatch, n - done);
      for (unsigned i = 0; i < batch; ++i) EXPECT_TRUE(inject(make(first + done + i)).queued);
      stack.advance(1 * kMs);
      stack.take_wire();
      done += batch;
    }
  }
  void arp_flood(uint32_t first, unsigned n) {
    flood(first, n, [](uint32_t sip) { return test::arp_request(sip, test::kDutIp); });
  }
  size_t in_state(const std::string& state) const {
    size_t k = 0;
    for (const auto& n : stack.neighbours()) k += n.state == state;
    return k;
  }
};

TEST(NeighGc, ArpFloodFromManySendersStopsAtGcThresh3AndCountsTableFulls) {
  FloodDut d;
  TraceFilter f;
  f.events = {"neigh:neigh_create", "neigh:neigh_cleanup_and_release"};
  uint64_t refused = 0, created = 0, released = 0;
  d.stack.subscribe(f, [&](const TraceEvent& ev) {
    if (ev.name == "neigh:neigh_cleanup_and_release") released++;
    else (d.field(ev, "created") == "1" ? created : refused)++;
  });
  d.arp_flood(kFirstSender, kFlood);
  // Each request for our address from an unknown sender makes a STALE entry
  // (neigh_event_ns) until the table holds gc_thresh3; none is older than 5 s,
  // so every later one is refused after a forced collection that finds nothing.
  EXPECT_EQ(d.counter("arp_cache.entries"), 1024u);
  EXPECT_EQ(d.in_state("stale"), 1024u);
  EXPECT_EQ(d.counter("arp_cache.allocs"), 1024u);
  EXPECT_EQ(d.counter("arp_cache.table_fulls"), kFlood - 1024);
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), kFlood - 1024);
  EXPECT_EQ(d.counter("arp_cache.destroys"), 0u);
  EXPECT_EQ(created, 1024u);
  EXPECT_EQ(refused, kFlood - 1024) << "neigh:neigh_create fires with created=0 for each refusal";

  // 6 s on, every entry is older than 5 s: new senders get in, a forced
  // collection taking the table back to gc_thresh2 each time it is full.
  d.stack.advance(6 * kSec);
  d.arp_flood(kFirstSender + kFlood, 1000);
  EXPECT_EQ(d.counter("arp_cache.table_fulls"), kFlood - 1024) << "nothing refused";
  EXPECT_EQ(d.counter("arp_cache.allocs"), 1024u + 1000u);
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), kFlood - 1024 + 2);
  EXPECT_EQ(d.counter("arp_cache.destroys"), 1024u) << "513 then the other 511 old entries";
  EXPECT_EQ(d.counter("arp_cache.entries"), 1000u);
  EXPECT_EQ(released, 1024u) << "neigh:neigh_cleanup_and_release for each entry collected";
}

TEST(NeighGc, AboveGcThresh2AForcedCollectionRunsWhenNoneRanFor5s) {
  FloodDut d;
  d.arp_flood(kFirstSender, 600);
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), 0u) << "the table was flushed (made) less than 5 s ago";
  d.stack.advance(6 * kSec);
  d.arp_flood(kFirstSender + 600, 1);
  // The new entry's allocation finds 600 >= gc_thresh2 and no flush for 5 s:
  // entries older than 5 s go until gc_entries (601 with it) is back at 512.
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), 1u);
  EXPECT_EQ(d.counter("arp_cache.destroys"), 89u);
  EXPECT_EQ(d.counter("arp_cache.entries"), 512u);
  d.arp_flood(kFirstSender + 601, 1);
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), 1u) << "flushed just now: no second run";
}

TEST(NeighGc, PeriodicWorkRemovesEntriesUnusedForGcStaleTime) {
  FloodDut d;
  d.arp_flood(kFirstSender, 300);  // above gc_thresh1 (128): the periodic collector works
  ASSERT_EQ(d.counter("arp_cache.entries"), 300u);
  d.stack.advance(50 * kSec);  // used less than gc_stale_time (60 s) ago: kept
  EXPECT_EQ(d.counter("arp_cache.entries"), 300u);
  EXPECT_GE(d.counter("arp_cache.periodic_gc_runs"), 1u);
  d.stack.advance(30 * kSec);  // a run every base_reachable_time/2 = 15 s
  EXPECT_EQ(d.counter("arp_cache.entries"), 0u);
  EXPECT_EQ(d.counter("arp_cache.destroys"), 300u);
  EXPECT_EQ(d.counter("arp_cache.forced_gc_runs"), 0u);
}

TEST(NeighGc, FewEntriesStayBelowGcThresh1) {
  FloodDut d;
  d.arp_flood(kFirstSender, 100);
  d.stack.advance(200 * kSec);
  // Linux's periodic work leaves a table under gc_thresh1 alone, runs counted all the same.
  EXPECT_EQ(d.counter("arp_cache.entries"), 100u);
  const uint64_t runs = d.counter("arp_cache.periodic_gc_runs");
  EXPECT_GE(runs, 200u / 15 - 3);
  EXPECT_LE(runs, 200u / 15 + 1);
}

TEST(NeighGc, PermanentEntriesAreExemptFromTheCollector) {
  FloodDut d;
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.neigh.default.gc_thresh3", "4").has_value());
  EXPECT_EQ(d.stack.get_sysctl("net.ipv4.neigh.default.gc_thresh3"), "4");
  for (int i = 0; i < 6; ++i)
    ASSERT_FALSE(d.stack.add_neighbour(d.dev, "198.18.1." + std::to_string(i + 1), "02:00:00:00:09:09", "permanent")
                     .has_value());
  d.arp_flood(kFirstSender, 10);
  EXPECT_EQ(d.in_state("permanent"), 6u);
  EXPECT_EQ(d.in_state("stale"), 4u) << "permanent entries do not count toward gc_thresh3";
  EXPECT_EQ(d.counter("arp_cache.table_fulls"), 6u);
  auto err = d.stack.add_neighbour(d.dev, "198.18.2.1", "02:00:00:00:09:09", "reachable");
  ASSERT_TRUE(err.has_value());
  EXPECT_NE(err->message.find("ENOBUFS"), std::string::npos) << err->message;
  EXPECT_TRUE(d.stack.set_sysctl("net.ipv4.neigh.default.gc_thresh3", "x").has_value());
}

TEST(NeighGc, IcmpErrorFloodBoundsPeersAndNeighboursAndFailedEntriesGo) {
  FloodDut d;
  // The netns-wide ICMP bucket would otherwise stop the errors (and the
  // per-destination lookups) after its burst.
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.icmp_msgs_per_sec", "2147483647").has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.icmp_msgs_burst", "2147483647").has_value());
  TraceFilter f;
  f.events = {"skb:kfree_skb"};
  uint64_t createfail = 0;
  d.stack.subscribe(f, [&](const TraceEvent& ev) {
    if (d.field(ev, "reason") == "NEIGH_CREATEFAIL") {
      EXPECT_EQ(d.field(ev, "location"), "ip_finish_output2");
      createfail++;
    }
  });
  d.flood(kFirstSender, kFlood, udp_to_closed_port);

  // One port unreachable per sender, each to a new destination: one inet_peer
  // each, collected once the store holds inet_peer_threshold.
  const uint64_t threshold = 65536 + 128;
  EXPECT_EQ(d.counter("Icmp.OutDestUnreachs"), kFlood);
  EXPECT_LE(d.counter("inet_peer.total"), threshold);
  EXPECT_GE(d.counter("inet_peer.total"), threshold - PEER_MAX_GC);
  EXPECT_EQ(d.counter("inet_peer.total") + d.counter("inet_peer.gc_frees"), kFlood);
  // Each needs a neighbour; resolution is pending for the first gc_thresh3
  // (their timers hold them), the rest are refused and dropped.
  EXPECT_EQ(d.in_state("incomplete"), 1024u);
  EXPECT_EQ(d.counter("arp_cache.table_fulls"), kFlood - 1024);
  EXPECT_EQ(createfail, kFlood - 1024);

  // Resolution fails after 3 probes: FAILED entries, reclaimed by the next
  // forced collection whatever their age.
  d.stack.advance(4 * kSec);
  EXPECT_EQ(d.counter("arp_cache.res_failed"), 1024u);
  EXPECT_EQ(d.in_state("failed"), 1024u);
  d.flood(kFirstSender + kFlood, 1024, udp_to_closed_port);
  EXPECT_EQ(d.in_state("failed"), 0u);
  EXPECT_EQ(d.counter("arp_cache.destroys"), 1024u);
  EXPECT_EQ(d.counter("arp_cache.table_fulls"), kFlood - 1024) << "nothing refused";

  // Unanswered again, and the periodic collector (the table is above
  // gc_thresh1) removes the FAILED entries on its own.
  d.stack.advance(60 * kSec);
  EXPECT_EQ(d.counter("arp_cache.entries"), 0u);
  EXPECT_EQ(d.counter("arp_cache.destroys"), d.counter("arp_cache.allocs"));
}

TEST(InetPeer, UnderThresholdPeersAgeOutAfterTheirTtl) {
  FloodDut d;
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.inet_peer_threshold", "100").has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.icmp_msgs_per_sec", "2147483647").has_value());
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.icmp_msgs_burst", "2147483647").has_value());
  d.flood(kFirstSender, 50, udp_to_closed_port);
  EXPECT_EQ(d.counter("inet_peer.total"), 50u);
  // ttl = maxttl - (maxttl - minttl) * total / threshold, in whole seconds
  // then jiffies: 356 s when the 51st peer arrives, 351 s with the 52nd.
  d.stack.advance(350 * kSec);
  d.flood(kFirstSender + 50, 1, udp_to_closed_port);
  EXPECT_EQ(d.counter("inet_peer.gc_frees"), 0u) << "younger than the ttl: kept";
  d.stack.advance(2 * kSec);
  d.flood(kFirstSender + 51, 1, udp_to_closed_port);
  EXPECT_EQ(d.counter("inet_peer.gc_frees"), 32u) << "PEER_MAX_GC examined, all older than 351 s";
  EXPECT_EQ(d.counter("inet_peer.total"), 52u - 32u);
}

}  // namespace
}  // namespace nettwin
