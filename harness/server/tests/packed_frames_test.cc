// The packed frame blobs of Nic.Inject and Nic.ReadWire: what a blob holds,
// and each way a malformed one is refused with the offset of the bad record.
#include "packed_frames.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nettwin::server {
namespace {

std::string record(uint32_t len, const std::string& bytes) {
  std::string out(reinterpret_cast<const char*>(&len), 4);
  return out + bytes;
}

TEST(PackedFrames, CountsAndVisitsRecordsInOrder) {
  const std::string blob = record(3, "abc") + record(1, "d") + record(5, "efghi");
  const PackedCount count = count_packed(blob, 16);
  ASSERT_FALSE(count.error) << *count.error;
  EXPECT_EQ(count.frames, 3u);
  std::vector<std::string> seen;
  for_each_packed(blob, [&](std::span<const uint8_t> frame) {
    seen.emplace_back(frame.begin(), frame.end());
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"abc", "d", "efghi"}));
}

TEST(PackedFrames, VisitingStopsWhenTheCallbackSaysSo) {
  const std::string blob = record(1, "a") + record(1, "b") + record(1, "c");
  EXPECT_EQ(for_each_packed(blob, [](std::span<const uint8_t> f) { return f[0] != 'b'; }), 2u);
}

TEST(PackedFrames, EmptyBlobHoldsNoFrames) {
  const PackedCount count = count_packed("", 16);
  EXPECT_FALSE(count.error);
  EXPECT_EQ(count.frames, 0u);
}

TEST(PackedFrames, LengthRunningPastTheEndNamesItsOffset) {
  const std::string blob = record(2, "ab") + record(9, "xyz");
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("packed record 1 at byte offset 6: length 9 runs past the end"), std::string::npos)
      << *count.error;
}

TEST(PackedFrames, LengthCutShortNamesItsOffset) {
  const std::string blob = record(2, "ab") + std::string("\x05\x00", 2);
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 1 at byte offset 6: its length is cut short"), std::string::npos)
      << *count.error;
}

TEST(PackedFrames, ZeroLengthIsRefused) {
  const std::string blob = record(1, "a") + record(1, "b") + record(0, "");
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 2 at byte offset 10: zero length"), std::string::npos) << *count.error;
}

TEST(PackedFrames, MoreThanTheLimitIsRefused) {
  std::string blob;
  for (int i = 0; i < 4; ++i) blob += record(1, "z");
  EXPECT_FALSE(count_packed(blob, 4).error);
  const PackedCount count = count_packed(blob + record(1, "z"), 4);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 4 at byte offset 20: more than 4 frames"), std::string::npos) << *count.error;
}

TEST(PackedFrames, WireRecordCarriesLengthIfindexTimeAndBytes) {
  std::string out;
  const std::vector<uint8_t> frame{1, 2, 3};
  append_packed_wire(out, 7, 0x0102030405060708ull, frame);
  ASSERT_EQ(out.size(), kPackedWireHeaderBytes + 3);
  uint32_t len;
  int32_t ifindex;
  uint64_t time_ns;
  std::memcpy(&len, out.data(), 4);
  std::memcpy(&ifindex, out.data() + 4, 4);
  std::memcpy(&time_ns, out.data() + 8, 8);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(ifindex, 7);
  EXPECT_EQ(time_ns, 0x0102030405060708ull);
  EXPECT_EQ(out.substr(16), std::string("\x01\x02\x03", 3));
}

}  // namespace
}  // namespace nettwin::server
