// The TCP sysctls upstream packetdrill's preamble sets, read where Linux reads
// them: tcp_rmem/tcp_wmem as proc_dointvec_minmax reads an int[3] (base 0, as
// proc_get_long), their middle values in tcp_init_sock, tcp_reordering as the
// new connection's reordering degree, tcp_early_retrans in tcp_schedule_loss_probe.
#include <gtest/gtest.h>

#include "core/net.h"
#include "ipv4/tcp_sock.h"
#include "socket/syscalls.h"
#include "socket/uapi.h"
#include "test_helpers.h"

namespace nettwin::test {
namespace {

constexpr int AF_INET = 2, SOCK_STREAM = 1;

std::string error_of(const Status& s) { return s ? s->message : ""; }

TEST(TcpSysctl, ProcDointvecMinmaxReadsTheVectors) {
  Stack s;
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_rmem"), "4096\t131072\t33554432");
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_wmem"), "4096\t16384\t4194304");
  EXPECT_EQ(error_of(s.set_sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640")), "");
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_rmem"), "4096\t540000\t15728640");
  // Fewer values set the first ones; tabs and newlines separate as blanks do.
  EXPECT_EQ(error_of(s.set_sysctl("net.ipv4.tcp_wmem", "8192\t0x8000\n")), "");
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_wmem"), "8192\t32768\t4194304");
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_wmem", "1 2 3 4")).find("more than 3"), std::string::npos);
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_wmem", "0 2 3")).find("outside"), std::string::npos);  // SYSCTL_ONE
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_wmem", "4096 x")).find("not a list"), std::string::npos);
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_wmem"), "8192\t32768\t4194304");  // a refused write changes nothing
}

TEST(TcpSysctl, ProcGetLongTakesBaseZero) {
  Stack s;
  EXPECT_EQ(error_of(s.set_sysctl("net.ipv4.tcp_fastopen", "0x70403")), "");
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_fastopen"), "459779");
  EXPECT_EQ(error_of(s.set_sysctl("net.ipv4.tcp_reordering", "010")), "");  // octal, as simple_strtoul
  EXPECT_EQ(s.get_sysctl("net.ipv4.tcp_reordering"), "8");
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_reordering", "0x")).find("not an integer"), std::string::npos);
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_early_retrans", "5")).find("outside"), std::string::npos);
  EXPECT_EQ(error_of(s.set_sysctl("net.ipv4.tcp_fastopen_key", "a1a1a1a1-b2b2b2b2-c3c3c3c3-d4d4d4d4")), "");
  EXPECT_NE(error_of(s.set_sysctl("net.ipv4.tcp_fastopen_key", "a1a1-b2b2")).find("not a key"), std::string::npos);
}

TEST(TcpSysctl, TcpInitSockStartsFromTheMiddleValues) {
  Dut d{DeviceKind::Veth};
  Net& net = d.stack.net();
  ASSERT_EQ(error_of(d.stack.set_sysctl("net.ipv4.tcp_rmem", "4096 200000 67108864")), "");
  ASSERT_EQ(error_of(d.stack.set_sysctl("net.ipv4.tcp_wmem", "4096 30000 4194304")), "");
  ASSERT_EQ(error_of(d.stack.set_sysctl("net.ipv4.tcp_reordering", "7")), "");
  const int fd = sys_socket(net, AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  int v = 0;
  EXPECT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_SNDBUF_, &v), 0);
  EXPECT_EQ(v, 30000);
  EXPECT_EQ(sys_getsockopt(net, fd, SOL_SOCKET_, SO_RCVBUF_, &v), 0);
  EXPECT_EQ(v, 200000);
  EXPECT_EQ(tcp_sk(net.sock.files.at(fd)->sk)->reordering, 7u);
}

}  // namespace
}  // namespace nettwin::test
