// What limits a sender, timed for TCP_INFO (Linux 6.18 tcp_chrono_start/tcp_chrono_stop and their
// callers: tcp_add_write_queue_tail starts busy, tcp_write_xmit rwnd_limited, tcp_cwnd_validate
// sndbuf_limited; tcp_clean_rtx_queue and tcp_check_space stop them), and TCP_NOTSENT_LOWAT's
// writeability (tcp_stream_memory_free, tcp_poll's wake 1, tcp_event_new_data_sent's tcp_check_space).
// Recorded: traces/tcp_chrono_*, traces/tcp_notsent_lowat_pollout.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp.h"
#include "ipv4/tcp_info.h"
#include "ipv4/tcp_output.h"
#include "ipv4/tcp_sock.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kJiffyUs = 4000;  // HZ 250

struct TcpChronoTest : TcpConnTest {
  TcpInfo info() {
    TcpInfo i{};
    tcp_get_info(tp(), &i);
    return i;
  }
  uint32_t jiffies() { return uint32_t(net.engine.jiffies()); }
  unsigned poll() { return unsigned(sys_poll(net, cfd, POLLOUT_, 0)); }
  int setopt(int opt, int val) { return sys_setsockopt(net, cfd, SOL_TCP_, opt, val, 4); }
};

// tcp_chrono_start: a higher chrono replaces the running one; tcp_chrono_stop of the running one
// falls back to busy while data is queued, and to none once both queues are empty.
TEST_F(TcpChronoTest, StartTakesTheHigherChronoAndStopFallsBackToBusy) {
  ASSERT_EQ(tp()->chrono_type, TCP_CHRONO_UNSPEC);
  ASSERT_EQ(write(std::string(100, 'a')), 100);  // the first skb queued starts busy
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_BUSY);
  tcp_chrono_start(tp(), TCP_CHRONO_SNDBUF_LIMITED);
  tcp_chrono_start(tp(), TCP_CHRONO_RWND_LIMITED);  // lower: ignored
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_SNDBUF_LIMITED);
  tcp_chrono_stop(tp(), TCP_CHRONO_RWND_LIMITED);  // not the running one, data unacked: stays
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_SNDBUF_LIMITED);
  tcp_chrono_stop(tp(), TCP_CHRONO_SNDBUF_LIMITED);
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_BUSY);
  wire();
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 100)).empty());  // tcp_clean_rtx_queue empties the rtx queue
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_UNSPEC);
}

// busy_time covers the time data was queued or unacked, in jiffies; idle time adds nothing.
TEST_F(TcpChronoTest, BusyTimeIsTheTimeDataWasUnacked) {
  ASSERT_EQ(write(std::string(1000, 'a')), 1000);
  ASSERT_EQ(wire().size(), 1u);
  const uint32_t start = tp()->chrono_start;
  d.stack.advance(100 * kMs);
  tsval += 100;
  EXPECT_TRUE(send(seg(kAck, {}, 1000)).empty());
  const uint32_t busy_jiffies = jiffies() - start;
  EXPECT_GE(busy_jiffies, 25u);
  d.stack.advance(200 * kMs);
  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_busy_time, busy_jiffies * kJiffyUs);
  EXPECT_EQ(i.tcpi_rwnd_limited, 0u);
  EXPECT_EQ(i.tcpi_sndbuf_limited, 0u);
}

// tcp_write_xmit: data the peer's window holds back runs rwnd_limited until a window update lets it
// leave (tcp_chrono_stop: busy again while it is unacked).
TEST_F(TcpChronoTest, PeerWindowStartsRwndLimitedUntilItOpens) {
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  wire();
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 100, 1)).empty());  // acks it, window 1 << 7 = 128 bytes
  ASSERT_EQ(tp()->snd_wnd, 128u);
  ASSERT_EQ(write(std::string(1000, 'b')), 1000);
  EXPECT_TRUE(wire().empty());  // one 1000-byte segment: beyond the window
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_RWND_LIMITED);
  const uint32_t start = tp()->chrono_start;
  d.stack.advance(100 * kMs);
  tsval += 100;
  auto out = send(seg(kAck, {}, 100, 502));  // a window update: the segment leaves
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(payload(out[0]).size(), 1000u);
  EXPECT_EQ(tp()->chrono_type, TCP_CHRONO_BUSY);
  const TcpInfo i = info();
  EXPECT_EQ(i.tcpi_rwnd_limited, uint64_t(tp()->chrono_start - start) * kJiffyUs);
  EXPECT_GE(i.tcpi_rwnd_limited, 25 * kJiffyUs);
  EXPECT_GE(i.tcpi_busy_time, i.tcpi_rwnd_limited);  // busy is the sum of every chrono
}

// tcp_stream_memory_free with TCP_NOTSENT_LOWAT: poll (wake 1) says writable only while twice the
// unsent bytes stay below the mark; the ACK that lets them leave makes the socket writable again.
TEST_F(TcpChronoTest, NotsentLowatGatesPollout) {
  ASSERT_EQ(setopt(TCP_NOTSENT_LOWAT_, 3000), 0);
  ASSERT_EQ(write(std::string(100, 'a')), 100);
  wire();
  tsval += 1;
  EXPECT_TRUE(send(seg(kAck, {}, 100, 1)).empty());  // window 128 bytes: later data stays unsent
  EXPECT_NE(poll() & POLLOUT_, 0u);
  ASSERT_EQ(write(std::string(1400, 'b'), MSG_DONTWAIT_), 1400);  // 2 * 1400 < 3000
  EXPECT_EQ(tp()->write_seq - tp()->snd_nxt, 1400u);
  EXPECT_NE(poll() & POLLOUT_, 0u);
  ASSERT_EQ(write(std::string(200, 'c'), MSG_DONTWAIT_), 200);  // 2 * 1600 >= 3000
  EXPECT_EQ(poll() & POLLOUT_, 0u);
  EXPECT_TRUE(tcp_stream_memory_free(tp(), 0));  // a write (wake 0) may still queue: 1600 < 3000
  tsval += 1;
  send(seg(kAck, {}, 100, 502));  // the window opens: all leaves
  EXPECT_EQ(tp()->write_seq - tp()->snd_nxt, 0u);
  EXPECT_NE(poll() & POLLOUT_, 0u);
  // Without the option (sysctl tcp_notsent_lowat UINT_MAX) unsent bytes never gate it.
  ASSERT_EQ(setopt(TCP_NOTSENT_LOWAT_, 0), 0);
  EXPECT_TRUE(tcp_stream_memory_free(tp(), 1));
}

// tcp_sendmsg_locked appends page fragments to the write queue's tail up to size_goal, whatever
// buffer it started in: after tcp_push_one's tso_fragment leaves the unsent rest as a new skb, the
// next bytes fill that rest back to size_goal before the send buffer stops a new one
// (traces/tcp_chrono_sndbuf_limited: Linux takes 8688 bytes there, not the first buffer's room).
TEST_F(TcpChronoTest, WriteFillsTheTsoFragmentRestUpToSizeGoal) {
  ASSERT_EQ(sys_setsockopt(net, cfd, SOL_SOCKET_, SO_SNDBUF_, 2048, 4), 0);
  // The recording's path: a peer window of 8 segments (size_goal is half of it, 4 segments) and a
  // 40 ms RTT at a low pacing rate, so tcp_tso_autosize sends 2 segments (min_tso_segs) at a time.
  tp()->max_window = 8 * tp()->mss_cache;
  tp()->rtt_min_us = 40'000;
  tp()->sk_pacing_rate = 0;
  unsigned size_goal = 0;
  const unsigned mss = tcp_send_mss(tp(), &size_goal, 0);
  ASSERT_EQ(size_goal, 4 * mss);
  const std::string data(4 * size_t(size_goal), 'a');
  const int n = write(data, MSG_DONTWAIT_);
  ASSERT_LT(size_t(n), data.size());  // the send buffer stopped it
  // Only a full tail (len == size_goal) makes the loop ask for a new skb, where the send buffer
  // stops it; every skb starts on a segment boundary, so the write took whole segments, and more
  // than the first skb: its unsent rest was filled again (8688 = 6 segments in the recording).
  EXPECT_EQ(unsigned(n) % mss, 0u) << n;
  EXPECT_GT(unsigned(n), size_goal);
  EXPECT_EQ(uint32_t(n), tp()->write_seq - tp()->snd_una);  // nothing acked yet: all of it queued or in flight
}

}  // namespace
}  // namespace nettwin::test
