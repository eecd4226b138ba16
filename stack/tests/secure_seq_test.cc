// secure_seq.c: ISNs are a seeded keyed hash of the 4-tuple plus a 64 ns clock.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/net.h"
#include "core/secure_seq.h"

namespace nettwin {
namespace {

constexpr uint32_t kA = 0xc6336401;  // 198.51.100.1
constexpr uint32_t kB = 0xcb007102;  // 203.0.113.2

TEST(SecureSeqTest, SameSeedSameIsnOtherSeedOther) {
  Net a{7}, b{7}, c{8};
  EXPECT_EQ(secure_tcp_seq(a, kA, kB, 40000, 80), secure_tcp_seq(b, kA, kB, 40000, 80));
  EXPECT_NE(secure_tcp_seq(a, kA, kB, 40000, 80), secure_tcp_seq(c, kA, kB, 40000, 80));
}

TEST(SecureSeqTest, EachTupleFieldChangesTheIsn) {
  Net net{1};
  uint32_t base = secure_tcp_seq(net, kA, kB, 40000, 80);
  EXPECT_NE(base, secure_tcp_seq(net, kA + 1, kB, 40000, 80));
  EXPECT_NE(base, secure_tcp_seq(net, kA, kB + 1, 40000, 80));
  EXPECT_NE(base, secure_tcp_seq(net, kA, kB, 40001, 80));
  EXPECT_NE(base, secure_tcp_seq(net, kA, kB, 40000, 81));
  EXPECT_NE(base, secure_tcp_seq(net, kB, kA, 80, 40000));  // the reverse direction
}

TEST(SecureSeqTest, IsnAdvancesOnePer64Ns) {
  Net net{1};
  uint64_t t0 = net.engine.now();
  uint32_t isn0 = secure_tcp_seq(net, kA, kB, 40000, 80);
  net.engine.advance(64 * 1000 + (64 - t0 % 64));  // 1001 ticks of 64 ns, t0 rounded up
  uint32_t ticks = uint32_t((net.engine.now() >> 6) - (t0 >> 6));
  EXPECT_EQ(ticks, 1001u);
  EXPECT_EQ(secure_tcp_seq(net, kA, kB, 40000, 80) - isn0, ticks);
}

TEST(SecureSeqTest, HashesTheTupleAsNetworkOrderBytes) {
  // On x86 Linux hashes saddr, daddr as they lie on the wire, then the u32
  // sport << 16 | dport stored little-endian: dport's wire bytes come first.
  Net net{3};
  ASSERT_EQ(net.engine.now() >> 6, 0u);  // seq_scale adds nothing yet
  const uint8_t bytes[12] = {198, 51, 100, 1, 203, 0, 113, 2, 0x00, 0x50, 0x9c, 0x40};
  uint32_t isn = secure_tcp_seq(net, kA, kB, 40000, 80);
  EXPECT_EQ(isn, uint32_t(siphash(bytes, sizeof bytes, &net.secrets.net_secret(net.rng))));
}

TEST(SecureSeqTest, PortEphemeralIsTheSeqHashWithSportZero) {
  // secure_seq.c: secure_tcp_seq(a, b, 0, d) == secure_ipv4_port_ephemeral(a, b, d) before scaling.
  Net net{5};
  ASSERT_EQ(net.engine.now() >> 6, 0u);
  EXPECT_EQ(uint32_t(secure_ipv4_port_ephemeral(net, kA, kB, 80)), secure_tcp_seq(net, kA, kB, 0, 80));
  EXPECT_NE(secure_ipv4_port_ephemeral(net, kA, kB, 80), secure_ipv4_port_ephemeral(net, kA, kB, 81));
}

TEST(SecureSeqTest, TsOffOnlyWhenTimestampsIsOne) {
  Net a{9}, b{9};
  EXPECT_EQ(secure_tcp_ts_off(a, 0, kA, kB), 0u);
  EXPECT_EQ(secure_tcp_ts_off(a, 2, kA, kB), 0u);  // 2: timestamps without random offsets
  uint32_t off = secure_tcp_ts_off(a, 1, kA, kB);
  EXPECT_NE(off, 0u);
  EXPECT_EQ(off, secure_tcp_ts_off(b, 1, kA, kB));
  EXPECT_NE(off, secure_tcp_ts_off(a, 1, kA, kB + 1));
  // ts_secret is not net_secret: the ISN hash of the same pair differs.
  EXPECT_NE(off, uint32_t(siphash_2u32(be32_bits(kA), be32_bits(kB), &a.secrets.net_secret(a.rng))));
}

}  // namespace
}  // namespace nettwin
