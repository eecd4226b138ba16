// Reassembly (ip_defrag) and fragmentation (ip_fragment / ip_do_fragment):
// what the conformance recordings cannot show on veth - the slow path, option
// copying, DF, ipfrag_max_dist, ipfrag_high_thresh - and the counters.
#include <gtest/gtest.h>

#include <algorithm>

#include "core/net.h"
#include "ipv4/ip_fragment.h"
#include "ipv4/ipv4.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

using test::put16;
using test::put32;

// An Ethernet frame to the DUT carrying one IPv4 datagram (or fragment).
Bytes ipv4_frame(uint8_t proto, uint16_t id, uint16_t frag_off, const Bytes& payload,
                 uint32_t saddr = test::kTesterIp) {
  Bytes b(test::kDutMac.begin(), test::kDutMac.end());
  b.insert(b.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  put16(b, 0x0800);
  b.push_back(0x45);
  b.push_back(0);
  put16(b, uint16_t(20 + payload.size()));
  put16(b, id);
  put16(b, frag_off);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  put32(b, saddr);
  put32(b, test::kDutIp);
  const uint16_t c = test::inet_csum(&b[14], 20);
  b[24] = uint8_t(c >> 8);
  b[25] = uint8_t(c);
  b.insert(b.end(), payload.begin(), payload.end());
  return b;
}

// An ICMP echo request (header + payload) as the bytes fragments are cut from.
Bytes echo_datagram(size_t payload_len) {
  Bytes m = {8, 0, 0, 0, 0x4e, 0x54, 0, 1};
  for (size_t i = 0; i < payload_len; ++i) m.push_back(uint8_t(0x20 + i % 0x5f));
  const uint16_t c = test::inet_csum(m.data(), m.size());
  m[2] = uint8_t(c >> 8);
  m[3] = uint8_t(c);
  return m;
}

Bytes slice(const Bytes& b, size_t off, size_t len) {
  return Bytes(b.begin() + long(off), b.begin() + long(std::min(b.size(), off + len)));
}

struct FragDut : test::Dut {
  FragDut() : test::Dut(DeviceKind::Veth) {
    EXPECT_FALSE(stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
    trace();
  }
  // Fragment [off, off+len) of datagram m with the given MF.
  void frag(const Bytes& m, uint16_t id, size_t off, size_t len, bool mf, uint8_t proto = 1) {
    inject(ipv4_frame(proto, id, uint16_t((mf ? 0x2000 : 0) | off / 8), slice(m, off, len)));
    settle();
  }
  // 1 ms on: softirqs done, the reassembly timers (30 s) still pending.
  void settle() { stack.run_until(stack.net().engine.now() + 1'000'000); }
  // kfree_skb / consume_skb events as "location:reason".
  std::vector<std::string> frees() const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.name == "skb:kfree_skb")
        out.push_back(field(e, "location") + ":" + field(e, "reason"));
      else if (e.name == "skb:consume_skb")
        out.push_back(field(e, "location") + ":CONSUMED");
    return out;
  }
};

TEST(IpDefrag, OutOfOrderIsReassembledAndAnswered) {
  FragDut d;
  const Bytes m = echo_datagram(88);  // 96 bytes: fragments at 0, 32, 64
  d.frag(m, 7, 64, 32, false);
  d.frag(m, 7, 0, 32, true);
  EXPECT_EQ(ip_frag_queues(d.stack.net()), 1u);
  d.frag(m, 7, 32, 32, true);
  EXPECT_EQ(ip_frag_queues(d.stack.net()), 0u);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  ASSERT_EQ(r.size(), 14 + 20 + m.size());
  EXPECT_EQ(r[34], 0);                                    // echo reply
  EXPECT_EQ(slice(r, 42, m.size() - 8), slice(m, 8, m.size()));
  EXPECT_EQ(test::inet_csum(&r[34], r.size() - 34), 0);
  EXPECT_EQ(d.counter("Ip.ReasmReqds"), 3u);
  EXPECT_EQ(d.counter("Ip.ReasmOKs"), 1u);
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 0u);
  EXPECT_EQ(d.counter("Ip.InDelivers"), 1u);
  // The fragment that completed the queue carries the datagram on; the
  // first one (the head) is consumed by inet_frag_reasm_prepare.
  EXPECT_EQ(d.frees(), (std::vector<std::string>{"inet_frag_reasm_prepare:CONSUMED", "icmp_rcv:CONSUMED"}));
}

// inet_frag_reasm_finish coalesces fragments into the head's tailroom, which
// is that of the peer's packet_snd head as recorded (256 bytes of data from
// the small-head cache less the 98-byte frame): two 64-byte fragments fit, the
// other 16 hang on the frag_list and are freed with the datagram, traced at
// skb_release_data, but for the clone standing in for the fragment that
// completed the queue (recorded: traces/explore_frag_fraglist_release).
TEST(IpDefrag, TheHeadCoalescesWhatItsLinuxTailroomHolds) {
  FragDut d;
  const Bytes m = echo_datagram(1200);  // 1208 bytes: 18 fragments of 64, one of 56
  for (size_t off = 0; off < m.size(); off += 64) d.frag(m, 7, off, 64, off + 64 < m.size());
  ASSERT_EQ(d.stack.take_wire().size(), 1u);  // the echo reply
  const auto frees = d.frees();
  EXPECT_EQ(std::count(frees.begin(), frees.end(), "skb_release_data:NOT_SPECIFIED"), 15);
}

// The fragment that completed the queue counts with its own length, not the
// datagram's it became: three fragments after the head, 64 + 64 + 8 bytes,
// all fit its 158 bytes (recorded: explore seed 2026120714 #179).
TEST(IpDefrag, TheCompletingFragmentCoalescesWithItsOwnLength) {
  FragDut d;
  const Bytes m = echo_datagram(192);  // 200 bytes: 64, 64, 64, 8
  d.frag(m, 7, 192, 8, false);
  d.frag(m, 7, 0, 64, true);
  d.frag(m, 7, 64, 64, true);
  d.frag(m, 7, 128, 64, true);
  ASSERT_EQ(d.stack.take_wire().size(), 1u);
  const auto frees = d.frees();
  EXPECT_EQ(std::count(frees.begin(), frees.end(), "skb_release_data:NOT_SPECIFIED"), 0);
}

TEST(IpDefrag, DuplicateIsDroppedAndTheQueueLives) {
  FragDut d;
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 0, 32, true);
  d.frag(m, 7, 0, 32, true);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"ip_defrag:DUP_FRAG"});
  d.frag(m, 7, 32, 64, false);
  EXPECT_EQ(d.stack.take_wire().size(), 1u);
  EXPECT_EQ(d.counter("Ip.ReasmOKs"), 1u);
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 0u);
}

TEST(IpDefrag, OverlapKillsTheWholeQueue) {
  FragDut d;
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 0, 32, true);
  d.frag(m, 7, 16, 32, true);  // bytes 16..47: overlaps the first
  EXPECT_EQ(d.frees(), (std::vector<std::string>{"ip_defrag:NOT_SPECIFIED", "inet_frag_rbtree_purge:CONSUMED"}));
  EXPECT_EQ(ip_frag_queues(d.stack.net()), 0u);
  EXPECT_EQ(d.counter("IpExt.ReasmOverlaps"), 1u);
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 1u);
  // The rest starts a new queue that never completes.
  d.frag(m, 7, 32, 64, false);
  EXPECT_EQ(ip_frag_queues(d.stack.net()), 1u);
  EXPECT_TRUE(d.stack.take_wire().empty());
}

TEST(IpDefrag, TimeoutWithTheFirstFragmentSendsTimeExceeded) {
  FragDut d;
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 0, 32, true);
  // ip_expire is a timer_list: 30 s = 7500 jiffies lands on the wheel's level
  // 3 (512-jiffy granules), so it fires between 30 s and 30 s + 2.048 s + a tick.
  d.stack.run_until(29'999'000'000ull);
  EXPECT_TRUE(d.stack.take_wire().empty());
  d.stack.run_until(32'100'000'000ull);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  EXPECT_EQ(r[34], 11);  // time exceeded
  EXPECT_EQ(r[35], 1);   // fragment reassembly time exceeded
  EXPECT_EQ(r[15], 0xc0);  // precedence internetwork control
  EXPECT_EQ(r.size(), 14u + 20 + 8 + 20 + 32);  // quotes the first fragment
  EXPECT_EQ(test::be16(r, 42 + 6), 0x2000);     // ... with its MF
  EXPECT_EQ(d.counter("Ip.ReasmTimeout"), 1u);
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutTimeExcds"), 1u);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"ip_expire:FRAG_REASM_TIMEOUT"});
}

TEST(IpDefrag, TimeoutWithoutTheFirstFragmentIsSilent) {
  FragDut d;
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ipfrag_time", "5").has_value());
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 32, 32, true);
  d.frag(m, 7, 64, 32, false);
  d.stack.run_until(4'999'000'000ull);
  EXPECT_EQ(d.counter("Ip.ReasmTimeout"), 0u);
  d.stack.run_until(5'300'000'000ull);  // 1250 jiffies: level 2, 64-jiffy (256 ms) granules
  EXPECT_TRUE(d.stack.take_wire().empty());
  EXPECT_EQ(d.counter("Ip.ReasmTimeout"), 1u);
  EXPECT_EQ(d.frees(), (std::vector<std::string>{"inet_frag_rbtree_purge:FRAG_REASM_TIMEOUT",
                                                 "inet_frag_rbtree_purge:FRAG_REASM_TIMEOUT"}));
}

TEST(IpDefrag, TooFarBehindStartsOver) {
  FragDut d;
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 0, 32, true);
  // 65 fragments of other datagrams from the same source (ipfrag_max_dist 64).
  for (uint16_t id = 100; id < 165; ++id) d.frag(m, id, 32, 32, true);
  d.events.clear();
  d.frag(m, 7, 32, 32, true);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"inet_frag_rbtree_purge:FRAG_TOO_FAR"});
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 1u);
  // The queue started over with the fragment that came: it still completes.
  d.frag(m, 7, 0, 32, true);
  d.frag(m, 7, 64, 32, false);
  EXPECT_EQ(d.stack.take_wire().size(), 1u);
}

TEST(IpDefrag, AboveHighThreshNewFragmentsAreRefused) {
  FragDut d;
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.ipfrag_high_thresh", "1000").has_value());
  const Bytes m = echo_datagram(88);
  d.frag(m, 7, 0, 32, true);  // the first queue fits (the directory was empty)
  d.frag(m, 8, 0, 32, true);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"ip_defrag:NOT_SPECIFIED"});
  EXPECT_EQ(d.counter("Ip.ReasmFails"), 1u);
  EXPECT_EQ(ip_frag_queues(d.stack.net()), 1u);
}

// A linear datagram from the DUT itself, through ip_local_out.
SkBuff* local_datagram(Net& net, size_t payload, uint16_t frag_off, const Bytes& options = {}) {
  Flowi4 fl4;
  fl4.daddr = test::kTesterIp;
  DstEntry* rt = ip_route_output_key(net, fl4);
  EXPECT_NE(rt, nullptr);
  const unsigned hlen = unsigned(20 + options.size());
  SkBuff* skb = net.pool.alloc_skb(16 + hlen + unsigned(payload));
  skb_reserve(skb, 16);
  skb_reset_network_header(skb);
  uint8_t* p = skb_put(skb, hlen + unsigned(payload));
  p[0] = uint8_t(0x40 | hlen / 4);
  p[1] = 0;
  p[4] = 0x12;
  p[5] = 0x34;
  p[6] = uint8_t(frag_off >> 8);
  p[7] = uint8_t(frag_off);
  p[8] = 64;
  p[9] = 253;
  for (int i = 0; i < 4; ++i) p[12 + i] = uint8_t(fl4.saddr >> (24 - 8 * i));
  for (int i = 0; i < 4; ++i) p[16 + i] = uint8_t(fl4.daddr >> (24 - 8 * i));
  std::copy(options.begin(), options.end(), p + 20);
  for (size_t i = 0; i < payload; ++i) p[hlen + i] = uint8_t(i * 7);
  skb->dst = rt;
  skb->dev = rt->dev;
  return skb;
}

TEST(IpFragment, SlowPathCopiesWithOffsetsAndCopiedOptions) {
  FragDut d;
  Net& net = d.stack.net();
  // Router alert (copied) then record route (not copied), padded to 12 bytes.
  const Bytes opts = {0x94, 4, 0, 0, 7, 7, 4, 0, 0, 0, 0, 0};
  ip_local_out(net, local_datagram(net, 3000, 0, opts));
  d.settle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 3u);
  // (1500 - 32) & ~7 = 1464 bytes of payload per fragment.
  const unsigned sizes[] = {1464, 1464, 72};
  unsigned off = 0;
  for (size_t i = 0; i < 3; ++i) {
    const Bytes& f = wire[i].data;
    ASSERT_EQ(f.size(), 14u + 32 + sizes[i]) << i;
    EXPECT_EQ(f[14], 0x48);
    EXPECT_EQ(test::be16(f, 16), 32 + sizes[i]);
    EXPECT_EQ(test::be16(f, 18), 0x1234);  // one IP ID for all
    EXPECT_EQ(test::be16(f, 20), (off / 8) | (i < 2 ? 0x2000 : 0));
    EXPECT_EQ(test::inet_csum(&f[14], 32), 0);
    EXPECT_EQ(Bytes(f.begin() + 34, f.begin() + 38), Bytes(opts.begin(), opts.begin() + 4));  // RA in all
    const Bytes rr = slice(f, 38, 7);
    if (i == 0)
      EXPECT_EQ(rr, slice(opts, 4, 7));
    else
      EXPECT_EQ(rr, Bytes(7, 1));  // NOPs: record route is not copied
    for (unsigned k = 0; k < sizes[i]; ++k) ASSERT_EQ(f[46 + k], uint8_t((off + k) * 7)) << i << " " << k;
    off += sizes[i];
  }
  EXPECT_EQ(d.counter("Ip.FragOKs"), 1u);
  EXPECT_EQ(d.counter("Ip.FragCreates"), 3u);
  EXPECT_EQ(d.counter("Ip.OutTransmits"), 3u);
  EXPECT_EQ(d.counter("Ip.OutRequests"), 1u);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"ip_do_fragment:CONSUMED"});
}

TEST(IpFragment, DontFragmentTooBigFails) {
  FragDut d;
  Net& net = d.stack.net();
  ip_local_out(net, local_datagram(net, 2000, 0x4000));
  d.settle();
  EXPECT_TRUE(d.stack.take_wire().empty());
  EXPECT_EQ(d.counter("Ip.FragFails"), 1u);
  EXPECT_EQ(d.counter("Ip.FragCreates"), 0u);
  EXPECT_EQ(d.frees(), std::vector<std::string>{"ip_fragment:NOT_SPECIFIED"});
}

TEST(IpFragment, LargeEchoReplyLeavesOverItsFragList) {
  FragDut d;
  const Bytes m = echo_datagram(3000);
  d.frag(m, 9, 0, 1480, true);
  d.frag(m, 9, 1480, 1480, true);
  d.frag(m, 9, 2960, 48, false);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 3u);
  Bytes icmp;
  for (size_t i = 0; i < 3; ++i) {
    const Bytes& f = wire[i].data;
    EXPECT_EQ(test::be16(f, 20), ((i * 1480) / 8) | (i < 2 ? 0x2000 : 0)) << i;
    EXPECT_EQ(test::be16(f, 18), test::be16(wire[0].data, 18));
    EXPECT_EQ(test::inet_csum(&f[14], 20), 0);
    icmp.insert(icmp.end(), f.begin() + 34, f.end());
  }
  ASSERT_EQ(icmp.size(), m.size());
  EXPECT_EQ(icmp[0], 0);  // echo reply
  EXPECT_EQ(test::inet_csum(icmp.data(), icmp.size()), 0);
  EXPECT_EQ(slice(icmp, 8, icmp.size()), slice(m, 8, m.size()));
  EXPECT_EQ(d.counter("Ip.FragOKs"), 1u);
  EXPECT_EQ(d.counter("Ip.FragCreates"), 3u);
  // In: the middle fragment does not fit the head's tailroom, so it rides on
  // the frag_list and is freed with the datagram (as frag_echo_large3 records).
  // Out: the fast path sends the pieces themselves; nothing is copied or consumed.
  EXPECT_EQ(d.frees(), (std::vector<std::string>{"inet_frag_reasm_prepare:CONSUMED", "icmp_rcv:CONSUMED",
                                                 "skb_release_data:NOT_SPECIFIED"}));
}

}  // namespace
}  // namespace nettwin

namespace nettwin {
namespace {

// Random fragments (seeded): whatever arrives, nothing crashes, every queue
// leaves by ipfrag_time, and every skb goes back to the pool.
TEST(IpDefrag, RandomFragmentsLeaveNothingBehind) {
  FragDut d;
  Net& net = d.stack.net();
  d.settle();
  const uint64_t heads_before = net.pool.heads_in_use();
  uint64_t state = 12345;
  auto rnd = [&](uint32_t n) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return uint32_t(state >> 33) % n;
  };
  const Bytes m = echo_datagram(200);
  for (int i = 0; i < 3000; ++i) {
    const uint16_t id = uint16_t(rnd(6));
    const size_t off = rnd(4) ? size_t(rnd(26)) * 8 : size_t(rnd(8192)) * 8;
    const size_t len = rnd(120);
    Bytes payload;
    for (size_t k = 0; k < len; ++k) payload.push_back(off + k < m.size() ? m[off + k] : uint8_t(k));
    d.inject(ipv4_frame(rnd(2) ? 1 : 17, id, uint16_t((rnd(3) ? 0x2000 : 0) | (rnd(10) ? 0 : 0x4000) | off / 8),
                        payload));
    if (i % 50 == 0) d.settle();
  }
  d.settle();
  d.stack.run_until(net.engine.now() + 31'000'000'000ull);
  d.stack.take_wire();
  EXPECT_EQ(ip_frag_queues(net), 0u);
  EXPECT_EQ(net.ipv4_frags.mem, 0);
  EXPECT_EQ(net.pool.heads_in_use(), heads_before);
  EXPECT_GT(d.counter("Ip.ReasmReqds"), 0u);
}

}  // namespace
}  // namespace nettwin
