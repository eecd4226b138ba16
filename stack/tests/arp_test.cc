// ARP: the reply's bytes, the neighbour entry, and resolution for output.
#include <gtest/gtest.h>

#include "core/jiffies.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

TEST(Arp, RequestForOurAddressIsAnsweredByteForByte) {
  test::Dut d(DeviceKind::Veth);
  d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  ASSERT_EQ(r.size(), 42u);
  const Bytes want = test::hex(
      "020000000101" "020000000102" "0806"   // Ethernet: to the asker, from us
      "0001" "0800" "06" "04" "0002"         // Ethernet/IPv4 ARP reply
      "020000000102" "c6336402"              // sender: us
      "020000000101" "c6336401");            // target: the asker
  EXPECT_EQ(r, want);
  EXPECT_EQ(wire[0].dev, "ntdut0");
  EXPECT_EQ(wire[0].ifindex, 7102);

  auto neigh = d.stack.neighbours();
  ASSERT_EQ(neigh.size(), 1u);
  EXPECT_EQ(neigh[0].ip, "198.51.100.1");
  EXPECT_EQ(neigh[0].mac, "02:00:00:00:01:01");
  EXPECT_EQ(neigh[0].state, "stale");
}

TEST(Arp, RequestForAnotherAddressIsIgnored) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  d.inject(test::arp_request(test::kTesterIp, 0xc6336409));
  d.stack.run_until_idle();
  EXPECT_TRUE(d.stack.take_wire().empty());
  EXPECT_TRUE(d.stack.neighbours().empty());
  auto consumed = d.named("skb:consume_skb");
  ASSERT_EQ(consumed.size(), 1u);
  EXPECT_EQ(d.field(*consumed[0], "location"), "arp_process");
}

// A duplicate address probe (sender 0.0.0.0) is answered unless arp_ignore says no
// (arp_process's RFC 2131 case; explore seed 2026120788 #121: no answer with 8).
TEST(Arp, ProbeForOurAddressIsAnsweredUnlessArpIgnoreSaysNo) {
  for (const auto& [ignore, answered] : {std::pair{"0", true}, std::pair{"8", false}}) {
    test::Dut d(DeviceKind::Veth);
    ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.conf.all.arp_ignore", ignore).has_value());
    d.inject(test::arp_request(0, test::kDutIp));
    d.stack.run_until_idle();
    EXPECT_EQ(d.stack.take_wire().size(), answered ? 1u : 0u) << "arp_ignore " << ignore;
    EXPECT_TRUE(d.stack.neighbours().empty());  // a probe's sender is never learnt
  }
}

// arp_accept 2: a gratuitous ARP creates an entry only for a sender on the
// subnet of an address of the device it came in on (explore seed 2026120799
// #343: Linux made none for 203.0.113.1 arriving on 198.51.100.0/24's device).
TEST(Arp, ArpAccept2CreatesAnEntryOnlyForASenderOnTheDevicesSubnet) {
  for (const auto& [sip, created] : {std::pair{0xcb007101u, false}, std::pair{0xc6336407u, true}}) {
    test::Dut d(DeviceKind::Veth);
    ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.conf.all.arp_accept", "2").has_value());
    d.inject(test::arp_request(sip, sip));  // gratuitous: the sender asks for itself
    d.stack.run_until_idle();
    EXPECT_EQ(d.stack.neighbours().size(), created ? 1u : 0u) << std::hex << sip;
  }
}

TEST(Arp, ArpAccept1CreatesAnEntryForAnyGratuitousSender) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.conf.all.arp_accept", "1").has_value());
  d.inject(test::arp_request(0xcb007101u, 0xcb007101u));
  d.stack.run_until_idle();
  ASSERT_EQ(d.stack.neighbours().size(), 1u);
  EXPECT_EQ(d.stack.neighbours()[0].ip, "203.0.113.1");
}

TEST(Arp, ShortArpIsPktTooSmall) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  auto f = test::arp_request(test::kTesterIp, test::kDutIp);
  f.resize(14 + 27);
  d.inject(f);
  d.stack.run_until_idle();
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "reason"), "PKT_TOO_SMALL");
  EXPECT_EQ(d.field(*drops[0], "location"), "arp_rcv");
}

TEST(Arp, NeighbourEventsMatchLinux) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  d.inject(test::arp_request(test::kTesterIp, test::kDutIp));
  d.stack.run_until_idle();
  auto created = d.named("neigh:neigh_create");
  ASSERT_EQ(created.size(), 1u);
  EXPECT_EQ(d.field(*created[0], "primary_key4"), "198.51.100.1");
  EXPECT_EQ(d.field(*created[0], "created"), "1");
  auto upd = d.named("neigh:neigh_update");
  ASSERT_EQ(upd.size(), 1u);
  EXPECT_EQ(d.field(*upd[0], "nud_state"), "none");
  EXPECT_EQ(d.field(*upd[0], "new_state"), "stale");
  EXPECT_EQ(d.field(*upd[0], "new_lladdr"), "02:00:00:00:01:01");
  EXPECT_EQ(d.field(*upd[0], "lladdr"), "00:00:00:00:00:00");
  EXPECT_EQ(d.field(*upd[0], "refcnt"), "2");
  EXPECT_EQ(d.field(*upd[0], "update_flags"), "1");
  EXPECT_EQ(d.field(*upd[0], "type"), "1");
  EXPECT_EQ(d.field(*upd[0], "primary_key6"), "::ffff:198.51.100.1");
}

TEST(Arp, EchoWithoutANeighbourResolvesFirst) {
  test::Dut d(DeviceKind::Veth);
  d.inject(test::icmp_echo_request(5, 1, Bytes(8, 0x42)));
  d.stack.advance(0);  // now only: the retransmit timer stays pending
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);  // the reply waits; an ARP request goes out
  const Bytes& q = wire[0].data;
  EXPECT_EQ(Bytes(q.begin(), q.begin() + 6), Bytes(6, 0xff));
  EXPECT_EQ(test::be16(q, 12), 0x0806);
  EXPECT_EQ(test::be16(q, 20), 1);  // request
  EXPECT_EQ(test::be32(q, 28), test::kDutIp);
  EXPECT_EQ(test::be32(q, 38), test::kTesterIp);
  EXPECT_EQ(d.stack.neighbours().at(0).state, "incomplete");

  // The tester answers; the queued echo reply leaves at once.
  Bytes reply = test::hex("020000000102" "020000000101" "0806" "0001080006040002"
                          "020000000101" "c6336401" "020000000102" "c6336402");
  d.inject(reply);
  d.stack.advance(0);
  wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(test::be16(wire[0].data, 12), 0x0800);
  EXPECT_EQ(wire[0].data[34], 0);  // echo reply
  EXPECT_EQ(Bytes(wire[0].data.begin(), wire[0].data.begin() + 6), Bytes(test::kTesterMac.begin(), test::kTesterMac.end()));
  EXPECT_EQ(d.stack.neighbours().at(0).state, "reachable");
}

TEST(Arp, UnansweredResolutionFailsAfterThreeProbesAndDropsTheQueue) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  d.inject(test::icmp_echo_request(5, 1, {}));
  d.stack.run_until_idle();  // retrans timers run too: 1 s apart
  auto wire = d.stack.take_wire();
  EXPECT_EQ(wire.size(), 3u);  // mcast_solicit broadcast probes
  EXPECT_EQ(wire.at(0).time_ns, 0u);
  // retrans_time 1 s = 250 jiffies: the timer wheel's level 1, 8-jiffy
  // granules, so each probe comes after 1 s, at most 8 ticks and a phase later.
  for (size_t i = 1; i < wire.size(); ++i) {
    const uint64_t gap = wire[i].time_ns - wire[i - 1].time_ns;
    EXPECT_GT(gap, 1000000000ull);
    EXPECT_LE(gap, 1000000000ull + 9 * NSEC_PER_JIFFY);
  }
  EXPECT_EQ(d.stack.neighbours().at(0).state, "failed");
  auto drops = d.named("skb:kfree_skb");
  ASSERT_EQ(drops.size(), 1u);
  EXPECT_EQ(d.field(*drops[0], "location"), "arp_error_report");
}

}  // namespace
}  // namespace nettwin
