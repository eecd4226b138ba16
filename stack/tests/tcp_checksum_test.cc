// The TCP checksum a segment leaves with when tx checksumming is off: Linux
// sets CHECKSUM_PARTIAL (__tcp_v4_send_check) and skb_checksum_help completes
// it, writing a folded 0 as CSUM_MANGLED_0 (0xffff), one frame in 65,536 on a
// real wire (seen by explore seed 2026120701 #39: Linux's SYN carried 0xffff).
#include <gtest/gtest.h>

#include "tcp_conn_fixture.h"
#include "wire/checksum.h"

namespace nettwin::test {
namespace {

uint16_t ones_add(uint16_t a, uint16_t b) {
  const uint32_t s = uint32_t(a) + b;
  return uint16_t((s & 0xffff) + (s >> 16));
}

// What a 16-bit word changing from `was` to `now` adds to a one's-complement sum.
uint16_t word_delta(uint16_t was, uint16_t now) { return ones_add(now, uint16_t(~was)); }

// Two 2-byte writes back to back leave as two segments that differ only in
// their sequence number and payload: the second's payload is chosen so that
// its checksum folds to 0, which goes out as 0xffff and still verifies.
TEST_F(TcpConnTest, SkbChecksumHelpWritesAFoldedZeroAsCsumMangled0) {
  ASSERT_EQ(sys_setsockopt(net, cfd, SOL_TCP_, TCP_NODELAY_, 1, 4), 0);
  ASSERT_EQ(write(std::string(2, '\0')), 2);
  auto first = wire();
  ASSERT_EQ(first.size(), 1u);
  const SentTcp a(first[0]);
  ASSERT_TRUE(a.csum_ok());
  // The first segment's sum with its checksum field left out is ~check; the second
  // adds its sequence number's change and its payload word w. For a folded 0
  // the whole sum must be 0xffff, so w is that sum's complement.
  const uint16_t check = be16(first[0], SentTcp::T + 16);
  const uint32_t seq2 = a.seq() + 2;
  uint16_t sum = uint16_t(~check);
  sum = ones_add(sum, word_delta(uint16_t(a.seq() >> 16), uint16_t(seq2 >> 16)));
  sum = ones_add(sum, word_delta(uint16_t(a.seq()), uint16_t(seq2)));
  const uint16_t w = uint16_t(~sum);
  ASSERT_EQ(write(std::string{char(w >> 8), char(w & 0xff)}), 2);
  auto second = wire();
  ASSERT_EQ(second.size(), 1u);
  const SentTcp b(second[0]);
  // The premise: nothing else in the header moved (same ACK, window, options).
  ASSERT_EQ(b.seq(), seq2);
  ASSERT_EQ(b.ack(), a.ack());
  ASSERT_EQ(b.window(), a.window());
  ASSERT_EQ(b.options(), a.options());
  EXPECT_EQ(be16(second[0], SentTcp::T + 16), wire::CSUM_MANGLED_0);
  EXPECT_TRUE(b.csum_ok());
}

}  // namespace
}  // namespace nettwin::test
