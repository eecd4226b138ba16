// The packed blobs of Nic.Inject, Nic.ReadWire and Trace.Read (proto/nettwin.proto):
// many frames or events in one `bytes` field, so that a batch costs no protobuf
// object per item. All numbers little-endian.
// Inject records: u32 length (>= 1), then the frame.
// Wire records: u32 length, i32 ifindex, u64 time_ns, then the frame.
// Event records: u32 length of the rest, u64 time_ns, u64 skb, u16 name length,
// name, u16 field count, then each field: u16 key length, key, u32 value length, value.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/trace_record.h"
#include "stack/stack.h"
#include "stored_record.h"

namespace nettwin::server {

constexpr size_t kPackedLengthBytes = 4;
constexpr size_t kPackedWireHeaderBytes = 16;

// How many inject records `blob` holds, or what is wrong with it, naming the
// record and its byte offset: a length cut short or running past the end, a
// zero length, more than max_frames records.
struct PackedCount {
  size_t frames = 0;
  std::optional<std::string> error;
};
PackedCount count_packed(std::string_view blob, size_t max_frames);

// Calls fn(frame bytes) for each record of a blob count_packed accepted, in
// order, until fn returns false. Returns the records visited.
template <class Fn>
size_t for_each_packed(std::string_view blob, Fn&& fn) {
  size_t offset = 0, visited = 0;
  while (offset < blob.size()) {
    uint32_t len;
    std::memcpy(&len, blob.data() + offset, sizeof len);  // little-endian hosts only (x86, arm64)
    offset += kPackedLengthBytes;
    ++visited;
    if (!fn(std::span(reinterpret_cast<const uint8_t*>(blob.data() + offset), len))) break;
    offset += len;
  }
  return visited;
}

// Appends one wire record to `out`.
void append_packed_wire(std::string& out, int32_t ifindex, uint64_t time_ns, std::span<const uint8_t> frame);

// Appends one event record to `out`. Its size is at most trace_event_bytes(event)
// (reply_budget.h), so a packed reply keeps within the same budget. The server
// writes records (below); this text form is what the tests hold them to.
void append_packed_event(std::string& out, const TraceEvent& event);

// Event records from typed records appended to `out`, each one's text
// written straight into it (a small record through a buffer on the stack:
// no zero-filled growth of `out`).
class PackedRecordWriter {
 public:
  explicit PackedRecordWriter(std::string& out) : out_(out), shapes_(kShapes) {}
  // Appends the record; returns what it costs a reply's budget,
  // trace_record_bytes(record), from the lengths just written.
  size_t append(const TraceRecord& record);
  // The same from a stored record, read in place.
  size_t append(const StoredRecordView& record);
  // Takes back the record appended last (it did not fit).
  void drop_last() { out_.resize(last_); }

 private:
  // What every record of one point with the same keys writes alike (a point
  // writes the same keys in the same order each time): its name and field
  // count, then each field's key with its length, packed once and copied 16
  // bytes at a time (`bytes` is padded for it).
  struct Shape {
    const char* point = nullptr;  // the record's point_name
    bool checkpoint = false;
    size_t fields = 0;
    const char* keys[TraceRecord::kMaxFields];
    uint16_t key_at[TraceRecord::kMaxFields + 1];  // field i's u16 length and key: bytes [key_at[i], key_at[i+1])
    size_t name_len = 0;
    size_t text_len = 0;  // the keys' lengths together
    std::string bytes;
  };
  // R: a StoredRecordView, or a TraceRecord read the same way.
  template <class R>
  const Shape& shape_of(const R& record);
  template <class R>
  size_t append_parts(const R& record);

  static constexpr size_t kShapes = 64;
  std::string& out_;
  size_t last_ = 0;  // where the last record starts
  std::vector<Shape> shapes_;  // by the point name's address
};

}  // namespace nettwin::server
