// ip_rcv_core's checks: each drop with Linux's reason and location, and the MIB.
#include <gtest/gtest.h>

#include "test_helpers.h"

namespace nettwin {
namespace {

using test::Bytes;

struct Drop {
  std::string reason, location;
};

Drop drop_of(test::Dut& d, const Bytes& frame) {
  d.trace();
  d.inject(frame);
  d.stack.run_until_idle();
  auto drops = d.named("skb:kfree_skb");
  EXPECT_EQ(drops.size(), 1u);
  EXPECT_TRUE(d.stack.take_wire().empty());
  if (drops.empty()) return {};
  return {d.field(*drops[0], "reason"), d.field(*drops[0], "location")};
}

void fix_ip_csum(Bytes& f) {
  f[24] = f[25] = 0;
  uint16_t c = test::inet_csum(&f[14], (f[14] & 0xf) * 4u);
  f[24] = uint8_t(c >> 8);
  f[25] = uint8_t(c);
}

TEST(IpRcv, BadChecksumIsIpCsum) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, Bytes(32, 0xab));
  f[24] ^= 0xff;
  auto drop = drop_of(d, f);
  EXPECT_EQ(drop.reason, "IP_CSUM");
  EXPECT_EQ(drop.location, "ip_rcv_core");
  EXPECT_EQ(d.counter("IpExt.InCsumErrors"), 1u);
  EXPECT_EQ(d.counter("Ip.InHdrErrors"), 1u);
  EXPECT_EQ(d.counter("Ip.InReceives"), 1u);
}

TEST(IpRcv, VersionFiveIsIpInhdr) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, {});
  f[14] = 0x55;
  fix_ip_csum(f);
  auto drop = drop_of(d, f);
  EXPECT_EQ(drop.reason, "IP_INHDR");
  EXPECT_EQ(drop.location, "ip_rcv_core");
  EXPECT_EQ(d.counter("Ip.InHdrErrors"), 1u);
  EXPECT_EQ(d.counter("IpExt.InCsumErrors"), 0u);
}

TEST(IpRcv, HeaderLengthBelowFiveIsIpInhdr) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, {});
  f[14] = 0x44;
  EXPECT_EQ(drop_of(d, f).reason, "IP_INHDR");
}

TEST(IpRcv, ShorterThanAnIpHeaderIsIpInhdr) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, {});
  f.resize(14 + 19);
  EXPECT_EQ(drop_of(d, f).reason, "IP_INHDR");
}

TEST(IpRcv, TruncatedDatagramIsPktTooSmall) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, Bytes(32, 1));
  f.resize(f.size() - 10);  // tot_len now promises more than arrived
  auto drop = drop_of(d, f);
  EXPECT_EQ(drop.reason, "PKT_TOO_SMALL");
  EXPECT_EQ(drop.location, "ip_rcv_core");
  EXPECT_EQ(d.counter("IpExt.InTruncatedPkts"), 1u);
}

TEST(IpRcv, TotalLengthBelowHeaderIsIpInhdr) {
  test::Dut d(DeviceKind::Veth);
  auto f = test::icmp_echo_request(1, 1, {});
  f[16] = 0;
  f[17] = 19;
  fix_ip_csum(f);
  EXPECT_EQ(drop_of(d, f).reason, "IP_INHDR");
}

TEST(IpRcv, FrameForAnotherMacIsOtherhostBeforeAnyIpCounter) {
  test::Dut d(DeviceKind::Veth);
  auto drop = drop_of(d, test::icmp_echo_request(1, 1, {}, 0, 64, {0x02, 0, 0, 0, 0x01, 0x03}));
  EXPECT_EQ(drop.reason, "OTHERHOST");
  EXPECT_EQ(drop.location, "ip_rcv_core");
  EXPECT_EQ(d.counter("Ip.InReceives"), 0u);
  EXPECT_EQ(d.counter("dev.ntdut0.rx_otherhost_dropped"), 1u);
}

TEST(IpRcv, PaddingIsTrimmedAndTheEchoStillAnswered) {
  test::Dut d(DeviceKind::Veth);
  ASSERT_FALSE(d.stack.add_neighbour("ntdut0", "198.51.100.1", "02:00:00:00:01:01", "permanent").has_value());
  auto f = test::icmp_echo_request(7, 9, {});  // 42 bytes
  f.resize(60, 0);                              // padded to the Ethernet minimum
  d.inject(f);
  d.stack.run_until_idle();
  auto wire = d.stack.take_wire();
  ASSERT_EQ(wire.size(), 1u);
  EXPECT_EQ(wire[0].data.size(), 42u);  // the padding was not echoed
}

TEST(IpRcv, UnicastNotForUsIsDroppedByIpError) {
  test::Dut d(DeviceKind::Veth);
  auto drop = drop_of(d, test::icmp_echo_request(1, 1, {}, 0, 64, test::kDutMac, test::kTesterIp, 0xc6336409));
  EXPECT_EQ(drop.reason, "IP_INADDRERRORS");
  EXPECT_EQ(drop.location, "ip_error");
  EXPECT_EQ(d.counter("Ip.InAddrErrors"), 1u);
}

TEST(IpRcv, EchoFromOurOwnAddressIsALocalSource) {
  test::Dut d(DeviceKind::Veth);
  auto drop = drop_of(d, test::icmp_echo_request(1, 1, {}, 0, 64, test::kDutMac, test::kDutIp, test::kDutIp));
  EXPECT_EQ(drop.reason, "IP_LOCAL_SOURCE");
}

}  // namespace
}  // namespace nettwin
