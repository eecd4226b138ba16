// The NUD state machine with Linux's timers, asserted from frames and the
// trace: resolution with queued skbs, unres_qlen_bytes and NEIGH_QUEUEFULL,
// failure after mcast_solicit probes (NEIGH_FAILED), REACHABLE -> STALE ->
// DELAY -> PROBE with unicast probes, and the random reachable time.
#include <gtest/gtest.h>

#include "core/net.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;
constexpr uint64_t kMs = 1000000ull;
constexpr uint64_t kSec = 1000000000ull;

// The tester's ARP reply to the DUT (unicast, as Linux answers a request).
Bytes arp_reply_from_tester() {
  Bytes b(test::kDutMac.begin(), test::kDutMac.end());
  b.insert(b.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  const Bytes rest = test::hex("0806" "0001" "0800" "06" "04" "0002"
                               "020000000101" "c6336401" "020000000102" "c6336402");
  b.insert(b.end(), rest.begin(), rest.end());
  return b;
}

bool is_arp_request(const WireFrame& f) { return test::be16(f.data, 12) == 0x0806 && test::be16(f.data, 20) == 1; }
bool is_broadcast(const WireFrame& f) { return f.data[0] == 0xff && f.data[5] == 0xff; }

std::string state_of(const Stack& s, const std::string& ip) {
  for (const auto& n : s.neighbours())
    if (n.ip == ip) return n.state;
  return "(none)";
}

TEST(Neigh, UnansweredResolutionProbesMcastSolicitTimesThenFails) {
  test::Dut d(DeviceKind::Ring);
  d.trace();
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 1)));  // no ARP first: the reply must wait
  d.stack.advance(0);
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "incomplete");
  d.stack.run_until(3 * kSec + 500 * kMs);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 3u);  // mcast_solicit 3, retrans_time 1 s apart
  for (size_t i = 0; i < wire.size(); ++i) {
    EXPECT_TRUE(is_arp_request(wire[i]));
    EXPECT_TRUE(is_broadcast(wire[i]));
    EXPECT_EQ(wire[i].time_ns / kSec, i);
  }
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "failed");
  bool failed_drop = false;
  for (const auto* e : d.named("skb:kfree_skb"))
    if (d.field(*e, "reason") == "NEIGH_FAILED") {
      EXPECT_EQ(d.field(*e, "location"), "arp_error_report");
      EXPECT_GE(e->time_ns, 3 * kSec);
      failed_drop = true;
    }
  EXPECT_TRUE(failed_drop) << "the queued echo reply is dropped when resolution fails";
}

TEST(Neigh, QueueIsUnresQlenBytesDeepAndDropsTheOldest) {
  test::Dut d(DeviceKind::Ring);
  EXPECT_EQ(d.stack.get_sysctl("net.ipv4.neigh.default.unres_qlen"), "101");
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.neigh.default.unres_qlen", "2").has_value());
  EXPECT_EQ(d.stack.get_sysctl("net.ipv4.neigh.default.unres_qlen_bytes"), std::to_string(2 * 2090));
  d.trace();
  for (uint16_t seq = 1; seq <= 6; ++seq) d.inject(test::icmp_echo_request(1, seq, Bytes(8, 1)));
  d.stack.advance(0);
  size_t queuefull = 0;
  for (const auto* e : d.named("skb:kfree_skb"))
    if (d.field(*e, "reason") == "NEIGH_QUEUEFULL") {
      EXPECT_EQ(d.field(*e, "location"), "__neigh_event_send");
      ++queuefull;
    }
  ASSERT_GT(queuefull, 0u);
  ASSERT_LT(queuefull, 6u);
  d.stack.take_wire();
  d.inject(arp_reply_from_tester());
  d.stack.advance(0);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 6 - queuefull);
  for (size_t i = 0; i < wire.size(); ++i)  // the newest survived, in order
    EXPECT_EQ(test::be16(wire[i].data, 40), uint16_t(queuefull + 1 + i));
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "reachable");
}

TEST(Neigh, ReachableGoesStaleThenDelayThenProbesUnicastThenFails) {
  test::Dut d(DeviceKind::Ring);
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 1)));
  d.stack.advance(0);
  d.inject(arp_reply_from_tester());
  d.stack.advance(0);
  ASSERT_EQ(state_of(d.stack, "198.51.100.1"), "reachable");
  d.stack.take_wire();
  // reachable_time is below 3/2 * base_reachable_time (45 s): stale by then.
  d.stack.advance(46 * kSec);
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "stale");
  EXPECT_TRUE(d.stack.take_wire().empty());
  // Using a stale entry sends at once and starts DELAY (delay_first_probe_time 5 s).
  const uint64_t t_use = d.stack.now_ns();
  d.inject(test::icmp_echo_request(1, 2, Bytes(8, 1)));
  d.stack.advance(0);
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "delay");
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(test::be16(wire[0].data, 12), 0x0800);
  d.stack.run_until(t_use + 5 * kSec + 100 * kMs);
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "probe");
  d.stack.run_until(t_use + 9 * kSec);
  wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 3u);  // ucast_solicit probes to the MAC we had
  for (const auto& f : wire) {
    EXPECT_TRUE(is_arp_request(f));
    EXPECT_EQ(Bytes(f.data.begin(), f.data.begin() + 6), Bytes(test::kTesterMac.begin(), test::kTesterMac.end()));
  }
  EXPECT_EQ(state_of(d.stack, "198.51.100.1"), "failed");
}

size_t count(const test::Dut& d, const std::string& name) { return d.named(name).size(); }

TEST(Neigh, ConnectedEntriesSendThroughTheHhCacheWhichFollowsAddressChanges) {
  test::Dut d(DeviceKind::Ring);
  d.trace(true);
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 1)));
  d.stack.advance(0);
  d.inject(arp_reply_from_tester());  // reachable; the queued reply builds the cache
  d.stack.advance(0);
  EXPECT_EQ(count(d, "checkpoint:neigh_hh_output"), 0u);
  d.inject(test::icmp_echo_request(1, 2, Bytes(8, 1)));
  d.stack.advance(0);
  EXPECT_EQ(count(d, "checkpoint:neigh_hh_output"), 1u) << "a connected entry with a built cache";
  // Another MAC for the tester: the entry goes stale (resolve path), the
  // cache is rewritten, and once reachable again the cache sends to the new MAC.
  const Bytes new_mac = {0x02, 0, 0, 0, 0x01, 0x03};
  Bytes garp = arp_reply_from_tester();
  std::copy(new_mac.begin(), new_mac.end(), garp.begin() + 6);
  std::copy(new_mac.begin(), new_mac.end(), garp.begin() + 22);
  d.stack.advance(2 * kSec);  // past locktime, so the reply may override
  d.inject(garp);
  d.stack.advance(0);
  d.stack.take_wire();
  d.inject(test::icmp_echo_request(1, 3, Bytes(8, 1)));
  d.stack.advance(0);
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(Bytes(wire[0].data.begin(), wire[0].data.begin() + 6), new_mac);
  EXPECT_EQ(count(d, "checkpoint:neigh_hh_output"), 2u);
}

// Who answers a request for the address of the DUT's second device, arriving on the first.
size_t answers(const std::string& arp_ignore, uint32_t sip, uint32_t tip) {
  test::Dut d(DeviceKind::Veth);
  DeviceConfig c;
  c.name = "ntdut1";
  c.kind = DeviceKind::Veth;
  c.mac = {0x02, 0, 0, 0, 0x02, 0x02};
  EXPECT_FALSE(d.stack.create_device(c).has_value());
  EXPECT_FALSE(d.stack.add_address("ntdut1", "203.0.113.2/24").has_value());
  EXPECT_FALSE(d.stack.set_sysctl("net.ipv4.conf.all.arp_ignore", arp_ignore).has_value());
  d.inject(test::arp_request(sip, tip));
  d.stack.run_until_idle();
  return d.stack.take_wire("ntdut0").size();
}

TEST(Neigh, ArpIgnoreChoosesWhichRequestsForUsAreAnswered) {
  constexpr uint32_t kOtherDevIp = 0xcb007102;  // 203.0.113.2, on ntdut1
  constexpr uint32_t kOffSubnet = 0xcb007101;   // 203.0.113.1
  EXPECT_EQ(answers("0", test::kTesterIp, kOtherDevIp), 1u);  // any local address
  EXPECT_EQ(answers("1", test::kTesterIp, kOtherDevIp), 0u);  // not on the incoming device
  EXPECT_EQ(answers("1", test::kTesterIp, test::kDutIp), 1u);
  EXPECT_EQ(answers("2", kOffSubnet, test::kDutIp), 0u);      // sender off the address's subnet
  EXPECT_EQ(answers("2", test::kTesterIp, test::kDutIp), 1u);
  EXPECT_EQ(answers("3", test::kTesterIp, kOtherDevIp), 1u);  // scope global: answered
  EXPECT_EQ(answers("8", test::kTesterIp, test::kDutIp), 0u);  // never
}

TEST(Neigh, ParmsArePerDeviceAndFollowTheDefaultUntilSet) {
  test::Dut d(DeviceKind::Ring);
  Stack& s = d.stack;
  EXPECT_EQ(s.get_sysctl("net.ipv4.neigh.ntdut0.mcast_solicit"), "3");
  EXPECT_EQ(s.get_sysctl("net.ipv4.neigh.ntdut0.unres_qlen"), "101");
  ASSERT_FALSE(s.set_sysctl("net.ipv4.neigh.default.retrans_time_ms", "500").has_value());
  EXPECT_EQ(s.get_sysctl("net.ipv4.neigh.ntdut0.retrans_time_ms"), "500");  // not set here: follows
  ASSERT_FALSE(s.set_sysctl("net.ipv4.neigh.ntdut0.retrans_time_ms", "200").has_value());
  ASSERT_FALSE(s.set_sysctl("net.ipv4.neigh.default.retrans_time_ms", "700").has_value());
  EXPECT_EQ(s.get_sysctl("net.ipv4.neigh.ntdut0.retrans_time_ms"), "200");  // set here: its own
  ASSERT_FALSE(s.set_sysctl("net.ipv4.neigh.ntdut0.mcast_solicit", "1").has_value());
  EXPECT_TRUE(s.set_sysctl("net.ipv4.neigh.eth9.mcast_solicit", "1").has_value());
  EXPECT_TRUE(s.set_sysctl("net.ipv4.neigh.ntdut0.mcast_solicit", "-1").has_value());
  EXPECT_TRUE(s.set_sysctl("net.ipv4.neigh.ntdut0.no_such_knob", "1").has_value());
  // One probe, 200 ms apart: the device's own values drive its neighbours.
  d.inject(test::icmp_echo_request(1, 1, Bytes(8, 1)));
  d.stack.run_until(150 * kMs);
  EXPECT_EQ(state_of(s, "198.51.100.1"), "incomplete");
  d.stack.run_until(250 * kMs);
  EXPECT_EQ(state_of(s, "198.51.100.1"), "failed");
  EXPECT_EQ(d.stack.take_wire().size(), 1u);
}

TEST(Neigh, ReachableTimeIsRandomisedFromTheSeed) {
  auto reach = [](uint64_t seed) {
    Stack s(seed);
    return s.net().arp_tbl.parms.reachable_time_ns;
  };
  for (uint64_t seed : {1, 2, 3, 4}) {
    EXPECT_GE(reach(seed), 15 * kSec);
    EXPECT_LT(reach(seed), 45 * kSec);
    EXPECT_EQ(reach(seed), reach(seed));
  }
  EXPECT_NE(reach(1), reach(2));
  Stack s(1);
  ASSERT_FALSE(s.set_sysctl("net.ipv4.neigh.default.base_reachable_time_ms", "1000").has_value());
  EXPECT_GE(s.net().arp_tbl.parms.reachable_time_ns, 500 * kMs);
  EXPECT_LT(s.net().arp_tbl.parms.reachable_time_ns, 1500 * kMs);
}

}  // namespace
}  // namespace nettwin
