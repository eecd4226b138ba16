// The TX path on the ring NIC: pfifo_fast, the TX ring, completion, and determinism.
#include <gtest/gtest.h>

#include <set>

#include "core/net.h"
#include "drivers/ring_nic.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

void add_tester(test::Dut& d) {
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
}

TEST(TxPath, EmptyPfifoFastIsBypassedAndCompletionConsumesTheSkb) {
  test::Dut d(DeviceKind::Ring);
  add_tester(d);
  d.trace();
  d.inject(test::icmp_echo_request(1, 1, Bytes(16, 1)));
  d.stack.run_until_idle();
  ASSERT_EQ(d.stack.take_wire().size(), 1u);
  auto start = d.named("net:net_dev_start_xmit");
  ASSERT_EQ(start.size(), 1u);
  const uint64_t reply = start[0]->skb;
  EXPECT_TRUE(d.named("qdisc:qdisc_enqueue").empty());  // TCQ_F_CAN_BYPASS on an empty qdisc
  bool consumed = false;
  for (const auto& e : d.events)
    if (e.name == "skb:consume_skb" && e.skb == reply) {
      EXPECT_EQ(d.field(e, "location"), "e1000_unmap_and_free_tx_resource");  // napi_consume_skb
      consumed = true;
    }
  EXPECT_TRUE(consumed) << "the reply was not freed by TX completion";
  auto* nic = static_cast<RingNic*>(d.stack.net().dev_get_by_name("ntdut0"));
  for (const auto& desc : nic->tx_ring()) EXPECT_EQ(desc.skb, nullptr);
  EXPECT_EQ(d.counter("dev.ntdut0.tx_packets"), 1u);
}

TEST(TxPath, FullTxRingStopsTheQueueAndPfifoFastHoldsTheRest) {
  test::Dut d(DeviceKind::Ring, 1, 256, /*tx_ring=*/2);
  add_tester(d);
  d.trace();
  for (uint16_t seq = 1; seq <= 6; ++seq) d.inject(test::icmp_echo_request(9, seq, Bytes(8, uint8_t(seq))));
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 6u);
  for (size_t i = 0; i < wire.size(); ++i) EXPECT_EQ(test::be16(wire[i].data, 40), i + 1) << "order kept";
  auto enq = d.named("qdisc:qdisc_enqueue");
  EXPECT_EQ(enq.size(), 3u);  // replies 4-6: 1-2 filled the ring, 3 was requeued
  for (const auto* e : enq) {
    EXPECT_EQ(d.field(*e, "ifindex"), "7102");
    EXPECT_EQ(d.field(*e, "handle"), "0");
    EXPECT_EQ(d.field(*e, "parent"), "4294967295");
  }
  std::set<uint64_t> dequeued;
  for (const auto* e : d.named("qdisc:qdisc_dequeue"))
    if (e->skb) dequeued.insert(e->skb);
  for (const auto* e : enq) EXPECT_TRUE(dequeued.count(e->skb)) << "enqueued skb never dequeued";
  EXPECT_GE(d.counter("dev.ntdut0.qdisc.requeues"), 1u);
  EXPECT_EQ(d.counter("dev.ntdut0.qdisc.qlen"), 0u);
  size_t completions = 0;
  for (const auto* e : d.named("skb:consume_skb"))
    if (d.field(*e, "location") == "e1000_unmap_and_free_tx_resource") ++completions;
  EXPECT_EQ(completions, 6u);
}

TEST(TxPath, PfifoFastDropsOverTxQueueLen) {
  test::Dut d(DeviceKind::Ring, 1, 256, /*tx_ring=*/1);
  add_tester(d);
  d.stack.net().dev_get_by_name("ntdut0")->tx_queue_len = 2;
  d.trace();
  for (uint16_t seq = 1; seq <= 8; ++seq) d.inject(test::icmp_echo_request(9, seq, {}));
  d.stack.run_until_idle();
  // 1 on the ring, 1 requeued, 2 in the band: the other 4 are QDISC_DROP.
  size_t qdrops = 0;
  for (const auto* e : d.named("skb:kfree_skb"))
    if (d.field(*e, "reason") == "QDISC_DROP") ++qdrops;
  EXPECT_EQ(qdrops, 4u);
  EXPECT_EQ(d.stack.take_wire().size(), 4u);
}

TEST(TxPath, SameSeedSameBytesAndSameTrace) {
  auto run = [](uint64_t seed, std::vector<TraceEvent>* events) {
    test::Dut d(DeviceKind::Ring, seed);
    d.trace(true);
    d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
    for (uint16_t s = 0; s < 5; ++s) d.inject(test::icmp_echo_request(3, s, Bytes(s, 0x5a)));
    d.stack.run_until_idle();
    *events = d.events;
    std::vector<Bytes> out;
    for (auto& f : d.stack.take_wire()) out.push_back(f.data);
    return out;
  };
  std::vector<TraceEvent> a_ev, b_ev, c_ev;
  auto a = run(42, &a_ev), b = run(42, &b_ev), c = run(43, &c_ev);
  ASSERT_EQ(a.size(), 9u);  // ARP reply, 5 echo replies, then 3 unanswered unicast probes (delay → probe)
  EXPECT_EQ(a, b);
  ASSERT_EQ(a_ev.size(), b_ev.size());
  for (size_t i = 0; i < a_ev.size(); ++i) {
    EXPECT_EQ(a_ev[i].name, b_ev[i].name);
    EXPECT_EQ(a_ev[i].skb, b_ev[i].skb);
    EXPECT_EQ(a_ev[i].time_ns, b_ev[i].time_ns);
    EXPECT_EQ(a_ev[i].fields, b_ev[i].fields);
  }
  EXPECT_NE(a, c);  // another seed draws other IP IDs
}

}  // namespace
}  // namespace nettwin
