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

#include "core/trace_record.h"
#include "stack/stack.h"

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
// The same from a typed record, its text written straight into `out`; at most
// trace_record_bytes(record).
void append_packed_record(std::string& out, const TraceRecord& record);

}  // namespace nettwin::server
