// ICMP beyond echo: the per-destination and global rate limits, the
// err_handler seam toward L4, and the errors ICMP never sends.
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/ipv4.h"
#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

using test::put16;
using test::put32;

Bytes ip_header(uint8_t proto, size_t payload, uint32_t saddr, uint32_t daddr, uint8_t tos = 0) {
  Bytes b = {0x45, tos};
  put16(b, uint16_t(20 + payload));
  put16(b, 0x0101);
  put16(b, 0);
  b.push_back(64);
  b.push_back(proto);
  put16(b, 0);
  put32(b, saddr);
  put32(b, daddr);
  const uint16_t c = test::inet_csum(b.data(), 20);
  b[10] = uint8_t(c >> 8);
  b[11] = uint8_t(c);
  return b;
}

Bytes frame(const Bytes& ip) {
  Bytes b(test::kDutMac.begin(), test::kDutMac.end());
  b.insert(b.end(), test::kTesterMac.begin(), test::kTesterMac.end());
  put16(b, 0x0800);
  b.insert(b.end(), ip.begin(), ip.end());
  return b;
}

// A datagram of an unknown protocol (253) to the DUT from saddr.
Bytes unknown_proto(uint32_t saddr, uint8_t tos = 0) {
  Bytes ip = ip_header(253, 8, saddr, test::kDutIp, tos);
  ip.insert(ip.end(), 8, 0xab);
  return frame(ip);
}

struct IcmpDut : test::Dut {
  IcmpDut() : test::Dut(DeviceKind::Veth) {
    EXPECT_FALSE(stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  }
  void settle() { stack.run_until(stack.net().engine.now() + 1'000'000); }
};

TEST(IcmpSend, ProtocolUnreachableQuotesTheDatagramWithInternetControlPrecedence) {
  IcmpDut d;
  d.inject(unknown_proto(test::kTesterIp, 0xbe));
  d.settle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  const Bytes& r = wire[0].data;
  EXPECT_EQ(r[15], 0xde);  // errors: RT_TOS (0xbe & 0x1e) with precedence 6 (0xc0)
  EXPECT_EQ(test::be16(r, 20), 0);        // the ICMP socket never sets DF
  EXPECT_EQ(r[34], 3);
  EXPECT_EQ(r[35], 2);
  EXPECT_EQ(r.size(), 14u + 20 + 8 + 28);  // the whole 28-byte datagram quoted
  EXPECT_EQ(test::inet_csum(&r[34], r.size() - 34), 0);
  EXPECT_EQ(d.counter("Ip.InUnknownProtos"), 1u);
  EXPECT_EQ(d.counter("IcmpMsg.OutType3"), 1u);
}

TEST(IcmpSend, PerDestinationBucketAllowsSixThenOnePerSecond) {
  IcmpDut d;
  for (int i = 0; i < 10; ++i) d.inject(unknown_proto(test::kTesterIp));
  d.settle();
  EXPECT_EQ(d.stack.take_wire().size(), 6u);  // XRLIM_BURST_FACTOR timeouts
  EXPECT_EQ(d.counter("Icmp.OutRateLimitHost"), 4u);
  d.stack.run_until(d.stack.net().engine.now() + 999'000'000);
  d.inject(unknown_proto(test::kTesterIp));
  d.settle();
  EXPECT_EQ(d.stack.take_wire().size(), 1u);  // one icmp_ratelimit (1 s) later: one token
  d.inject(unknown_proto(test::kTesterIp));
  d.settle();
  EXPECT_TRUE(d.stack.take_wire().empty());
  EXPECT_EQ(d.counter("Icmp.OutRateLimitHost"), 5u);
}

TEST(IcmpSend, RatemaskDecidesWhatIsLimited) {
  IcmpDut d;
  ASSERT_FALSE(d.stack.set_sysctl("net.ipv4.icmp_ratemask", "0").has_value());
  for (int i = 0; i < 10; ++i) d.inject(unknown_proto(test::kTesterIp));
  d.settle();
  EXPECT_EQ(d.stack.take_wire().size(), 10u);
  EXPECT_EQ(d.counter("Icmp.OutRateLimitHost"), 0u);
}

TEST(IcmpSend, GlobalBucketLimitsAcrossDestinations) {
  IcmpDut d;
  // 120 senders on the link, each with its own per-destination bucket.
  for (uint32_t i = 0; i < 120; ++i) d.inject(unknown_proto(0xc6336400 + 10 + i));
  d.settle();
  const uint64_t sent = d.counter("Icmp.OutDestUnreachs");
  const uint64_t limited = d.counter("Icmp.OutRateLimitGlobal");
  EXPECT_EQ(sent + limited, 120u);
  EXPECT_GE(sent, 25u);  // icmp_msgs_burst (50) credits, each message taking at most 2
  EXPECT_GT(limited, 0u);
  EXPECT_EQ(d.counter("Icmp.OutRateLimitHost"), 0u);
  // A second later the bucket is full again.
  d.stack.run_until(d.stack.net().engine.now() + 1'000'000'000);
  d.inject(unknown_proto(0xc63364f0));
  d.settle();
  EXPECT_EQ(d.counter("Icmp.OutDestUnreachs"), sent + 1);
}

// An ICMP error from the tester quoting a UDP datagram the DUT sent to port 53.
Bytes icmp_error_frame(uint8_t type, uint8_t code, uint32_t rest) {
  Bytes icmp = {type, code, 0, 0};
  put32(icmp, rest);
  Bytes quoted = ip_header(17, 8, test::kDutIp, test::kTesterIp);
  icmp.insert(icmp.end(), quoted.begin(), quoted.end());
  icmp.insert(icmp.end(), {0x30, 0x39, 0x00, 0x35, 0, 8, 0, 0});
  const uint16_t c = test::inet_csum(icmp.data(), icmp.size());
  icmp[2] = uint8_t(c >> 8);
  icmp[3] = uint8_t(c);
  Bytes ip = ip_header(1, icmp.size(), test::kTesterIp, test::kDutIp);
  ip.insert(ip.end(), icmp.begin(), icmp.end());
  return frame(ip);
}

TEST(IcmpSend, NeverAboutAnIcmpErrorNorABroadcast) {
  IcmpDut d;
  // An ICMP destination unreachable of an unknown code, to a port nobody has:
  // nothing answers an error. Then an unknown protocol sent to the broadcast.
  d.inject(icmp_error_frame(3, 3, 0));
  Bytes bc = ip_header(253, 8, test::kTesterIp, 0xc63364ff);
  bc.insert(bc.end(), 8, 0);
  d.inject(frame(bc));
  d.settle();
  EXPECT_TRUE(d.stack.take_wire().empty());
  EXPECT_EQ(d.counter("Icmp.InDestUnreachs"), 1u);
  EXPECT_EQ(d.counter("Icmp.OutMsgs"), 0u);
}

struct SeenError {
  int calls = 0;
  uint32_t info = 0;
  uint8_t quoted_proto = 0;
  uint16_t quoted_dport = 0;
};
SeenError g_seen;

int record_err(SkBuff* skb, uint32_t info) {
  ++g_seen.calls;
  g_seen.info = info;
  g_seen.quoted_proto = skb->data[9];
  g_seen.quoted_dport = uint16_t(skb->data[22] << 8 | skb->data[23]);
  return 0;
}


TEST(IcmpRcv, ErrorsReachTheQuotedProtocolsErrHandler) {
  IcmpDut d;
  g_seen = {};
  icmp_register_err_handler(d.stack.net(), 17, record_err);
  d.inject(icmp_error_frame(3, 3, 0));  // port unreachable
  d.settle();
  EXPECT_EQ(g_seen.calls, 1);
  EXPECT_EQ(g_seen.info, 0u);
  EXPECT_EQ(g_seen.quoted_proto, 17);
  EXPECT_EQ(g_seen.quoted_dport, 53);
  d.inject(icmp_error_frame(3, 4, 1280));  // fragmentation needed: info is the MTU
  d.settle();
  EXPECT_EQ(g_seen.calls, 2);
  EXPECT_EQ(g_seen.info, 1280u);
  d.inject(icmp_error_frame(12, 0, 0x14000000));  // parameter problem: info is the pointer
  d.settle();
  EXPECT_EQ(g_seen.calls, 3);
  EXPECT_EQ(g_seen.info, 0x14u);
  d.inject(icmp_error_frame(11, 1, 0));  // fragment reassembly time exceeded: not passed on
  d.settle();
  EXPECT_EQ(g_seen.calls, 3);
  EXPECT_EQ(d.counter("Icmp.InDestUnreachs"), 2u);
  EXPECT_EQ(d.counter("Icmp.InParmProbs"), 1u);
  EXPECT_EQ(d.counter("Icmp.InTimeExcds"), 1u);
  EXPECT_EQ(d.counter("Icmp.InErrors"), 0u);
  // Without a handler the error is simply consumed.
  icmp_register_err_handler(d.stack.net(), 17, nullptr);
  d.inject(icmp_error_frame(3, 3, 0));
  d.settle();
  EXPECT_EQ(g_seen.calls, 3);
}

}  // namespace
}  // namespace nettwin
