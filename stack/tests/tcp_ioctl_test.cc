// tcp_ioctl (net/ipv4/tcp.c) through ioctl(2) on a socket: SIOCINQ is tcp_inq
// (unread bytes; a FIN that came in is not one), SIOCOUTQ the bytes written
// and not acked, SIOCOUTQNSD those not sent; a listener answers EINVAL and a
// request TCP does not know is ENOTTY (sock_do_ioctl). The values are those
// upstream packetdrill's ioctl-siocinq-fin and this corpus's pending
// ioctl_inq_outq.pkt read from Linux 6.18.
#include <gtest/gtest.h>

#include <string>

#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "tcp_conn_fixture.h"

namespace nettwin::test {
namespace {

using TcpIoctlTest = TcpConnTest;

int read_n(TcpConnTest& t, size_t n) {
  RecvMsg m;
  return t.read(m, n);
}

int ioctl_int(Net& net, int fd, unsigned cmd, int* err = nullptr) {
  int v = -1;
  const int r = sys_ioctl(net, fd, cmd, &v);
  if (err) *err = r;
  return r < 0 ? r : v;
}

TEST_F(TcpIoctlTest, TcpIoctlSiocinqCountsUnreadBytesButNotTheFin) {
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 0);
  send(seg(kAck | kPsh, Bytes(1000, 'a')));
  snd += 1000;
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 1000);
  EXPECT_EQ(read_n(*this, 400), 400);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 600);
  EXPECT_EQ(read_n(*this, 600), 600);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 0);
  // Data with a FIN: rcv_nxt is one past the data, SOCK_DONE takes the FIN off.
  send(seg(kAck | kPsh | kFin, Bytes(700, 'b')));
  EXPECT_EQ(tp()->rcv_nxt - tp()->copied_seq, 701u);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 700);
  EXPECT_EQ(read_n(*this, 700), 700);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCINQ_), 0);
}

TEST_F(TcpIoctlTest, TcpIoctlSiocoutqAndSiocoutqnsd) {
  // A closed window: of 3000 bytes written none is sent.
  send(seg(kAck, {}, 0, 0));
  ASSERT_EQ(write(std::string(3000, 'w')), 3000);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCOUTQ_), 3000);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCOUTQNSD_), 3000);
  // The window opens: all is sent, nothing acked.
  EXPECT_FALSE(send(seg(kAck, {}, 0)).empty());
  EXPECT_EQ(ioctl_int(net, cfd, SIOCOUTQ_), 3000);
  EXPECT_EQ(ioctl_int(net, cfd, SIOCOUTQNSD_), 0);
  send(seg(kAck, {}, 1448));
  EXPECT_EQ(ioctl_int(net, cfd, SIOCOUTQ_), 3000 - 1448);
}

TEST_F(TcpIoctlTest, TcpIoctlListenerIsEinvalUnknownRequestEnotty) {
  int err = 0;
  ioctl_int(net, lfd, SIOCINQ_, &err);
  EXPECT_EQ(err, -E_INVAL);
  ioctl_int(net, lfd, SIOCOUTQ_, &err);
  EXPECT_EQ(err, -E_INVAL);
  EXPECT_EQ(ioctl_int(net, lfd, SIOCATMARK_), 0);
  ioctl_int(net, cfd, 0x1234, &err);
  EXPECT_EQ(err, -E_NOTTY);
  ioctl_int(net, 999, SIOCINQ_, &err);
  EXPECT_EQ(err, -E_BADF);
}

}  // namespace
}  // namespace nettwin::test
