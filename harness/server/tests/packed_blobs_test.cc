// The packed blobs of Nic.Inject, Nic.ReadWire and Trace.Read: what a blob holds,
// and each way a malformed inject blob is refused with the offset of the bad record.
#include "packed_blobs.h"
#include "reply_budget.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace nettwin::server {
namespace {

std::string record(uint32_t len, const std::string& bytes) {
  std::string out(reinterpret_cast<const char*>(&len), 4);
  return out + bytes;
}

TEST(PackedBlobs, CountsAndVisitsRecordsInOrder) {
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

TEST(PackedBlobs, VisitingStopsWhenTheCallbackSaysSo) {
  const std::string blob = record(1, "a") + record(1, "b") + record(1, "c");
  EXPECT_EQ(for_each_packed(blob, [](std::span<const uint8_t> f) { return f[0] != 'b'; }), 2u);
}

TEST(PackedBlobs, EmptyBlobHoldsNoFrames) {
  const PackedCount count = count_packed("", 16);
  EXPECT_FALSE(count.error);
  EXPECT_EQ(count.frames, 0u);
}

TEST(PackedBlobs, LengthRunningPastTheEndNamesItsOffset) {
  const std::string blob = record(2, "ab") + record(9, "xyz");
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("packed record 1 at byte offset 6: length 9 runs past the end"), std::string::npos)
      << *count.error;
}

TEST(PackedBlobs, LengthCutShortNamesItsOffset) {
  const std::string blob = record(2, "ab") + std::string("\x05\x00", 2);
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 1 at byte offset 6: its length is cut short"), std::string::npos)
      << *count.error;
}

TEST(PackedBlobs, ZeroLengthIsRefused) {
  const std::string blob = record(1, "a") + record(1, "b") + record(0, "");
  const PackedCount count = count_packed(blob, 16);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 2 at byte offset 10: zero length"), std::string::npos) << *count.error;
}

TEST(PackedBlobs, MoreThanTheLimitIsRefused) {
  std::string blob;
  for (int i = 0; i < 4; ++i) blob += record(1, "z");
  EXPECT_FALSE(count_packed(blob, 4).error);
  const PackedCount count = count_packed(blob + record(1, "z"), 4);
  ASSERT_TRUE(count.error);
  EXPECT_NE(count.error->find("record 4 at byte offset 20: more than 4 frames"), std::string::npos) << *count.error;
}

TEST(PackedBlobs, WireRecordCarriesLengthIfindexTimeAndBytes) {
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

template <class T>
T take(const std::string& blob, size_t& at) {
  T value;
  std::memcpy(&value, blob.data() + at, sizeof value);
  at += sizeof value;
  return value;
}

std::string take_text(const std::string& blob, size_t& at, size_t len) {
  std::string text = blob.substr(at, len);
  at += len;
  return text;
}

TEST(PackedBlobs, EventRecordCarriesTimeSkbNameAndFieldsInOrder) {
  TraceEvent event;
  event.time_ns = 123456789;
  event.skb = 42;
  event.name = "skb:kfree_skb";
  event.fields = {{"skbaddr", "0x2a"}, {"reason", "NO_SOCKET"}, {"empty", ""}};
  std::string out = "x";  // records append after what is there
  append_packed_event(out, event);
  append_packed_event(out, event);
  size_t at = 1;
  const uint32_t len = take<uint32_t>(out, at);
  EXPECT_EQ(out.size(), 1 + 2 * (4 + len));
  EXPECT_LE(4 + len, trace_event_bytes(event));  // within the reply budget's bound
  EXPECT_EQ(take<uint64_t>(out, at), 123456789u);
  EXPECT_EQ(take<uint64_t>(out, at), 42u);
  EXPECT_EQ(take_text(out, at, take<uint16_t>(out, at)), "skb:kfree_skb");
  ASSERT_EQ(take<uint16_t>(out, at), 3u);
  for (const auto& [key, value] : event.fields) {
    EXPECT_EQ(take_text(out, at, take<uint16_t>(out, at)), key);
    EXPECT_EQ(take_text(out, at, take<uint32_t>(out, at)), value);
  }
  EXPECT_EQ(at, 1 + 4 + len);
}

}  // namespace
}  // namespace nettwin::server
