// Header views and checksums.
#include <gtest/gtest.h>

#include "test_helpers.h"
#include "wire/checksum.h"
#include "wire/headers.h"

namespace nettwin {
namespace {

TEST(Checksum, Rfc1071Example) {
  const uint8_t d[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(wire::csum_fold(wire::csum_partial(d, sizeof d)), uint16_t(~0xddf2 & 0xffff));
}

TEST(Checksum, AgreesWithASimpleReferenceOnOddLengths) {
  std::vector<uint8_t> d;
  for (int i = 0; i < 1501; ++i) d.push_back(uint8_t(i * 7 + 3));
  for (size_t n : {0ul, 1ul, 2ul, 3ul, 5ul, 20ul, 1499ul, 1500ul, 1501ul})
    EXPECT_EQ(wire::csum_fold(wire::csum_partial(d.data(), n)), test::inet_csum(d.data(), n)) << n;
}

// The wide-add sum must agree with 16-bit adds at every length and alignment
// (the tail of 1..7 bytes, an odd start address), with carries (all 0xff
// bytes), when pieces are chained through sum, and with the pseudo header.
TEST(Checksum, WideAddsAgreeAtEveryLengthAlignmentAndChain) {
  std::vector<uint8_t> d(1600);
  for (size_t i = 0; i < d.size(); ++i) d[i] = uint8_t(i * 131 + 17);
  for (size_t off : {0ul, 1ul, 3ul, 6ul})
    for (size_t n = 0; n <= 80; ++n)
      EXPECT_EQ(wire::csum_fold(wire::csum_partial(d.data() + off, n)), test::inet_csum(d.data() + off, n))
          << off << " " << n;
  std::vector<uint8_t> ff(1473, 0xff);
  for (size_t n : {8ul, 31ul, 32ul, 33ul, 1472ul, 1473ul})
    EXPECT_EQ(wire::csum_fold(wire::csum_partial(ff.data(), n)), test::inet_csum(ff.data(), n)) << n;
  for (size_t cut : {0ul, 2ul, 8ul, 14ul, 40ul, 1000ul}) {
    const uint64_t s = wire::csum_partial(d.data() + cut, 1501 - cut, wire::csum_partial(d.data(), cut));
    EXPECT_EQ(wire::csum_fold(s), test::inet_csum(d.data(), 1501)) << cut;
  }
  // Pseudo header 198.51.100.1 > 198.51.100.2, UDP, 26 bytes, then the datagram.
  std::vector<uint8_t> ph = {198, 51, 100, 1, 198, 51, 100, 2, 0, 17, 0, 26};
  ph.insert(ph.end(), d.begin(), d.begin() + 26);
  const uint64_t s = wire::csum_partial(d.data(), 26, wire::csum_tcpudp_nofold(0xc6336401, 0xc6336402, 26, 17));
  EXPECT_EQ(wire::csum_fold(s), test::inet_csum(ph.data(), ph.size()));
  // ip_fast_csum gives the value a header carries, for every option length.
  for (unsigned ihl = 5; ihl <= 15; ++ihl)
    EXPECT_EQ(wire::ip_fast_csum(d.data() + ihl, ihl), test::inet_csum(d.data() + ihl, ihl * 4)) << ihl;
  const std::vector<uint8_t> zero(60, 0);
  EXPECT_EQ(wire::ip_fast_csum(zero.data(), 5), 0xffff);
  EXPECT_EQ(wire::csum_fold(0), 0xffff);  // an all-zero sum stays distinct from 0xffff
  EXPECT_EQ(wire::csum_fold(0xffff), 0);
  EXPECT_EQ(wire::csum_fold(0xffffffffffffffffull), 0);
}

TEST(Checksum, ValidIpHeaderFoldsToZero) {
  auto f = test::icmp_echo_request(1, 1, {});
  EXPECT_EQ(wire::ip_fast_csum(&f[14], 5), 0);
  f[14 + 8] ^= 1;  // flip a TTL bit
  EXPECT_NE(wire::ip_fast_csum(&f[14], 5), 0);
}

TEST(HeaderViews, ParseRefusesShortBytes) {
  std::vector<uint8_t> b(13);
  EXPECT_FALSE(wire::EthHdr::parse(b).has_value());
  b.resize(14);
  EXPECT_TRUE(wire::EthHdr::parse(b).has_value());
  b.resize(19);
  EXPECT_FALSE(wire::Iphdr::parse(b).has_value());
  b.resize(27);
  EXPECT_FALSE(wire::ArpHdr::parse(b).has_value());
  b.resize(7);
  EXPECT_FALSE(wire::Icmphdr::parse(b).has_value());
}

TEST(HeaderViews, ReadAndWriteBigEndianFields) {
  auto f = test::icmp_echo_request(0x1234, 0x5678, {1, 2, 3}, 0x10, 61);
  auto ip = *wire::Iphdr::parse({f.data() + 14, f.size() - 14});
  EXPECT_EQ(ip.version(), 4);
  EXPECT_EQ(ip.ihl(), 5);
  EXPECT_EQ(ip.tos(), 0x10);
  EXPECT_EQ(ip.tot_len(), 31);
  EXPECT_EQ(ip.ttl(), 61);
  EXPECT_EQ(ip.saddr(), test::kTesterIp);
  auto ic = *wire::Icmphdr::parse({f.data() + 34, f.size() - 34});
  EXPECT_EQ(ic.echo_id(), 0x1234);
  EXPECT_EQ(ic.echo_sequence(), 0x5678);
  ip.set_daddr(0x01020304);
  EXPECT_EQ(test::be32(f, 30), 0x01020304u);
}

TEST(TextForms, StrictParsersAndCanonicalFormat) {
  wire::Ipv4Addr a;
  EXPECT_TRUE(wire::parse_ipv4("198.51.100.2", &a));
  EXPECT_EQ(a, test::kDutIp);
  EXPECT_EQ(wire::format_ipv4(a), "198.51.100.2");
  for (const char* bad : {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4", "1.2.3.4 ", "a.b.c.d"})
    EXPECT_FALSE(wire::parse_ipv4(bad, &a)) << bad;
  wire::MacAddr m;
  EXPECT_TRUE(wire::parse_mac("02:00:00:00:01:0A", &m));
  EXPECT_EQ(wire::format_mac(m), "02:00:00:00:01:0a");
  for (const char* bad : {"", "02:00:00:00:01", "02-00-00-00-01-01", "02:00:00:00:01:0g"})
    EXPECT_FALSE(wire::parse_mac(bad, &m)) << bad;
}

}  // namespace
}  // namespace nettwin
