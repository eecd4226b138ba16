// The four drop scenarios recorded on Linux 6.18 (traces/<name>/): the frame
// the tester sent, and the DUT's tracepoints Linux reported for it.
#include <gtest/gtest.h>

#include "test_helpers.h"

namespace nettwin {
namespace {

struct Recorded {
  const char* scenario;
  const char* frame;
  const char* reason;
};

const char* kPayload = "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f";

class RecordedDrop : public ::testing::TestWithParam<Recorded> {};

TEST_P(RecordedDrop, SameTracepointsAsLinux) {
  test::Dut d(DeviceKind::Veth);
  d.trace();
  d.inject(test::hex(std::string(GetParam().frame) + kPayload));
  d.stack.run_until_idle();
  std::vector<std::string> got;
  for (const auto& e : d.events) {
    if (e.name == "napi:napi_poll") continue;  // the backlog's: not kept by the recorder
    std::string line = e.name;
    for (const char* k : {"name", "len", "protocol", "reason", "location"}) {
      const std::string v = d.field(e, k);
      if (v.rfind("<missing", 0) != 0) line += std::string(" ") + k + "=" + v;
    }
    got.push_back(line);
  }
  const std::vector<std::string> want = {
      "net:netif_rx name=ntdut0 len=60",
      "net:netif_receive_skb name=ntdut0 len=60",
      std::string("skb:kfree_skb protocol=2048 reason=") + GetParam().reason + " location=ip_rcv_core"};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(d.stack.take_wire().empty());
}

INSTANTIATE_TEST_SUITE_P(
    Traces, RecordedDrop,
    ::testing::Values(
        Recorded{"echo_bad_ip_csum",
                 "02000000010202000000010108004500003c10010000400116a9c6336401c63364020800b6a74e540001", "IP_CSUM"},
        Recorded{"ipv4_version5",
                 "02000000010202000000010108005500003c1001000040010656c6336401c63364020800b6a74e540001", "IP_INHDR"},
        Recorded{"other_mac",
                 "02000000019902000000010108004500003c1001000040011656c6336401c63364020800b6a74e540001", "OTHERHOST"},
        Recorded{"truncated_ipv4",
                 "0200000001020200000001010800450000801001000040011612c6336401c63364020800b6a74e540001",
                 "PKT_TOO_SMALL"}),
    [](const ::testing::TestParamInfo<Recorded>& info) { return std::string(info.param.scenario); });

}  // namespace
}  // namespace nettwin
