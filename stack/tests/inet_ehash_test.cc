// The established hash (ipv4/inet_ehash.h): lookups by 4-tuple, the order
// socks are listed in, and 10,000 connections between two stacks, each segment
// reaching its own socket.
#include "ipv4/inet_ehash.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <vector>

#include "bench/tcp_conns.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"

namespace nettwin::test {
namespace {

std::unique_ptr<TcpSock> sock(uint16_t lport, uint16_t fport, wire::Ipv4Addr faddr = 0xc6336401) {
  auto sk = std::make_unique<TcpSock>();
  sk->inet_rcv_saddr = 0xc6336402;
  sk->inet_num = lport;
  sk->inet_daddr = faddr;
  sk->inet_dport = fport;
  return sk;
}

std::vector<Sock*> listed(const InetEhash& e) { return {e.begin(), e.end()}; }

TEST(InetEhashTest, ChainHoldsOnlyItsOwnFourTuple) {
  InetEhash e;
  auto a = sock(80, 1000), b = sock(80, 1001), c = sock(80, 1000, 0xc6336403);
  e.add_head(a.get());
  e.add_head(b.get());
  e.add_head(c.get());
  EXPECT_EQ(e.chain(0xc6336402, 80, 0xc6336401, 1000), std::vector<Sock*>{a.get()});
  EXPECT_EQ(e.chain(0xc6336402, 80, 0xc6336401, 1001), std::vector<Sock*>{b.get()});
  EXPECT_EQ(e.chain(0xc6336402, 80, 0xc6336403, 1000), std::vector<Sock*>{c.get()});
  EXPECT_TRUE(e.chain(0xc6336402, 81, 0xc6336401, 1000).empty());
}

TEST(InetEhashTest, HeadAndTailKeepTheirOrderInChainsAndListing) {
  InetEhash e;
  auto a = sock(80, 1000), b = sock(80, 1000), c = sock(80, 2000);
  e.add_tail(a.get());
  e.add_head(b.get());  // a TIME_WAIT sock of the same 4-tuple goes first
  e.add_tail(c.get());
  EXPECT_EQ(e.chain(0xc6336402, 80, 0xc6336401, 1000), (std::vector<Sock*>{b.get(), a.get()}));
  EXPECT_EQ(listed(e), (std::vector<Sock*>{b.get(), a.get(), c.get()}));
  EXPECT_EQ(e.front(), b.get());
}

TEST(InetEhashTest, RemoveUsesTheTupleItWasHashedUnder) {
  InetEhash e;
  auto a = sock(80, 1000), b = sock(80, 1001);
  e.add_head(a.get());
  e.add_head(b.get());
  a->inet_dport = 0;  // as a disconnect may clear it before the unhash
  e.remove(a.get());
  e.remove(a.get());  // not there: nothing happens
  EXPECT_TRUE(e.chain(0xc6336402, 80, 0xc6336401, 1000).empty());
  EXPECT_EQ(listed(e), std::vector<Sock*>{b.get()});
  e.remove(b.get());
  EXPECT_TRUE(e.empty());
}

TEST(InetEhashTest, AddingTwiceMovesRatherThanDuplicates) {
  InetEhash e;
  auto a = sock(80, 1000), b = sock(80, 1001);
  e.add_tail(a.get());
  e.add_tail(b.get());
  e.add_tail(a.get());
  EXPECT_EQ(listed(e), (std::vector<Sock*>{b.get(), a.get()}));
  EXPECT_EQ(e.chain(0xc6336402, 80, 0xc6336401, 1000).size(), 1u);
}

// 10,000 connections from one address to one port (10,000 of the 28,232
// ephemeral ports): every one established, each accepted socket receiving
// exactly what its own peer wrote.
TEST(InetEhashTest, TenThousandConnectionsEachGetTheirOwnBytes) {
  bench::TcpConns p;
  ASSERT_EQ(p.listen(), "");
  ASSERT_TRUE(p.open(10000));
  ASSERT_EQ(p.afds.size(), 10000u);
  EXPECT_EQ(p.server.net().sock.tcp_ehash.size(), 10000u);
  EXPECT_EQ(p.client.net().sock.tcp_ehash.size(), 10000u);
  for (int fd : p.cfds) {
    SockaddrIn local{};
    ASSERT_EQ(sys_getsockname(p.client.net(), fd, &local), 0);
    const uint8_t port[2] = {uint8_t(local.port >> 8), uint8_t(local.port)};
    SendMsg m;
    m.data = std::span<const uint8_t>(port, 2);
    m.flags = MSG_DONTWAIT_;
    ASSERT_EQ(sys_sendmsg(p.client.net(), fd, m), 2);
    if (fd % 512 == 0) p.settle();
  }
  p.settle();
  std::map<uint16_t, int> seen;
  for (int fd : p.afds) {
    SockaddrIn peer{};
    ASSERT_EQ(sys_getpeername(p.server.net(), fd, &peer), 0);
    RecvMsg r;
    r.len = 16;
    ASSERT_EQ(sys_recvmsg(p.server.net(), fd, r, MSG_DONTWAIT_, 0), 2) << "fd " << fd;
    EXPECT_EQ(uint16_t(r.data[0] << 8 | r.data[1]), peer.port);
    seen[peer.port]++;
  }
  EXPECT_EQ(seen.size(), 10000u);
}

}  // namespace
}  // namespace nettwin::test
