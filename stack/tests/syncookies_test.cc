// syncookies.c: a cookie carries the mss index and the minute it was made,
// under two keyed hashes; the TSval's low bits carry wscale/sack/ecn.
#include <gtest/gtest.h>

#include <cstdint>

#include "core/net.h"
#include "ipv4/syncookies.h"

namespace nettwin {
namespace {

constexpr uint32_t kPeer = 0xcb007102;   // 203.0.113.2, the client
constexpr uint32_t kLocal = 0xc6336401;  // 198.51.100.1, the listener
constexpr uint16_t kSport = 40000, kDport = 80;
constexpr uint32_t kIsn = 0x12345678;  // the client's SYN seq

uint32_t make(Net& net, uint16_t* mss) {
  return __cookie_v4_init_sequence(net, kPeer, kLocal, kSport, kDport, kIsn, mss);
}
int check(Net& net, uint32_t cookie) {
  return __cookie_v4_check(net, kPeer, kLocal, kSport, kDport, kIsn + 1, cookie);
}

TEST(SyncookiesTest, CookieTimeIsJiffiesInMinutes) {
  Net net{1};
  EXPECT_EQ(tcp_cookie_time(net), uint32_t(net.engine.jiffies() / (60 * HZ)));
}

TEST(SyncookiesTest, MssRoundsDownToMsstabAndChecksBack) {
  Net net{1};
  const struct { uint16_t in, out; } cases[] = {{1500, 1460}, {1460, 1460}, {1452, 1440}, {1440, 1440},
                                                {1399, 1300}, {1300, 1300}, {1299, 536}, {100, 536}};
  for (auto c : cases) {
    uint16_t mss = c.in;
    uint32_t cookie = make(net, &mss);
    EXPECT_EQ(mss, c.out) << c.in;
    EXPECT_EQ(check(net, cookie), c.out) << c.in;
  }
}

TEST(SyncookiesTest, ValidForUnderTwoMinutesOfVirtualTime) {
  Net net{2};
  uint16_t mss = 1460;
  uint32_t cookie = make(net, &mss);
  net.engine.advance(60ull * 1000000000);  // exactly one count later
  EXPECT_EQ(check(net, cookie), 1460);
  net.engine.advance(60ull * 1000000000);  // two counts: diff == MAX_SYNCOOKIE_AGE
  EXPECT_EQ(check(net, cookie), 0);
}

TEST(SyncookiesTest, TamperedCookieOrTupleIsRejected) {
  Net net{3};
  uint16_t mss = 1460;
  uint32_t cookie = make(net, &mss);
  ASSERT_EQ(check(net, cookie), 1460);
  EXPECT_EQ(check(net, cookie + (1u << 12)), 0);  // hash bits
  EXPECT_EQ(check(net, cookie ^ (1u << 30)), 0);  // count bits
  EXPECT_EQ(__cookie_v4_check(net, kPeer + 1, kLocal, kSport, kDport, kIsn + 1, cookie), 0);
  EXPECT_EQ(__cookie_v4_check(net, kPeer, kLocal, kSport + 1, kDport, kIsn + 1, cookie), 0);
  // The client's seq is added in, not hashed: one off shifts the mss index by
  // one (1460 reads as 1440); four off leaves the table.
  EXPECT_EQ(__cookie_v4_check(net, kPeer, kLocal, kSport, kDport, kIsn + 2, cookie), 1440);
  EXPECT_EQ(__cookie_v4_check(net, kPeer, kLocal, kSport, kDport, kIsn + 5, cookie), 0);
  Net other{4};  // other secrets
  EXPECT_EQ(check(other, cookie), 0);
}

TEST(SyncookiesTest, SameSeedSameCookie) {
  Net a{5}, b{5};
  uint16_t m1 = 1440, m2 = 1440;
  EXPECT_EQ(make(a, &m1), make(b, &m2));
}

TEST(SyncookiesTest, TimestampCarriesWscaleSackEcn) {
  const uint64_t now_ns = 123456789012ull;
  const uint64_t ts_now = now_ns / 1000000;
  for (int w = -1; w <= 14; ++w) {
    for (bool sack : {false, true}) {
      for (bool ecn : {false, true}) {
        uint64_t ts_ns = cookie_init_timestamp(w >= 0, uint8_t(w < 0 ? 0 : w), sack, ecn, now_ns);
        uint64_t tsval = ts_ns / 1000000;
        EXPECT_EQ(ts_ns % 1000000, 0u);
        EXPECT_LE(tsval, ts_now);
        EXPECT_LT(ts_now - tsval, 64u);
        TcpOptionsReceived opt;
        opt.saw_tstamp = true;
        opt.rcv_tsecr = uint32_t(tsval);
        ASSERT_TRUE(cookie_timestamp_decode(1, 1, 1, &opt));
        EXPECT_EQ(opt.wscale_ok, w >= 0);
        if (w >= 0) {
          EXPECT_EQ(opt.snd_wscale, w);
        }
        EXPECT_EQ(opt.sack_ok, sack ? TCP_SACK_SEEN : 0);
        EXPECT_EQ(cookie_ecn_ok(opt, 1, false), ecn);
        EXPECT_EQ(cookie_ecn_ok(opt, 0, true), ecn);
        EXPECT_FALSE(cookie_ecn_ok(opt, 0, false));  // neither the sysctl nor the route allows ECN
      }
    }
  }
}

TEST(SyncookiesTest, DecodeRefusesOptionsTheSysctlsTurnedOff) {
  uint32_t tsecr = uint32_t(cookie_init_timestamp(true, 7, true, false, 999000000000ull) / 1000000);
  TcpOptionsReceived opt;
  opt.saw_tstamp = true;
  opt.rcv_tsecr = tsecr;
  EXPECT_FALSE(cookie_timestamp_decode(0, 1, 1, &opt));
  EXPECT_FALSE(cookie_timestamp_decode(1, 0, 1, &opt));
  EXPECT_FALSE(cookie_timestamp_decode(1, 1, 0, &opt));
  TcpOptionsReceived none;
  none.sack_ok = TCP_SACK_SEEN;
  none.wscale_ok = true;
  EXPECT_TRUE(cookie_timestamp_decode(0, 0, 0, &none));  // no TSecr: options cleared
  EXPECT_EQ(none.sack_ok, 0);
  EXPECT_FALSE(none.wscale_ok);
}

}  // namespace
}  // namespace nettwin
