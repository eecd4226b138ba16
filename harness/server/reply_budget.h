// Replies that take frames or events out of the stack (Nic.ReadWire,
// Trace.Read) are bounded: they fill up to a byte budget and leave the rest in
// the server for the next call. The sizes here are upper bounds on each item's
// protobuf encoding, so a reply never exceeds its budget.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/trace_record.h"
#include "stack/stack.h"

namespace nettwin::server {

// gRPC's message size bound on both sides (proto: MAX_MESSAGE_BYTES).
constexpr size_t kMaxMessageBytes = size_t(256) << 20;
// A reply's bound when the request sets none: gRPC's default receive bound, so
// that a client left at gRPC's defaults can receive every reply.
constexpr size_t kDefaultReplyBytes = size_t(4) << 20;
// What a reply holds besides its items (the lost and remaining counts), at most.
constexpr size_t kReplyFieldsBytes = 64;

// Encoded size, at most, of a WireFrame in a ReadWireReply.
size_t wire_frame_bytes(const std::string& dev, size_t data_len);
// Encoded size, at most, of a TraceEvent in a TraceEvents reply.
size_t trace_event_bytes(const TraceEvent& event);
// The same for a typed record, by its text's length (it is not formatted).
size_t trace_record_bytes(const TraceRecord& record);
// The same from the length of an event's name, its number of fields and the
// length of all their keys and values together.
size_t trace_event_bytes(size_t name_len, size_t fields, size_t keys_and_values_len);

// Items are offered in order; fits() charges one that fits and refuses the
// first that does not (it stays for the next call).
class ReplyBudget {
 public:
  // max_bytes 0: kDefaultReplyBytes; never more than kMaxMessageBytes.
  explicit ReplyBudget(uint64_t max_bytes);
  bool fits(size_t item_bytes);
  size_t limit() const { return limit_; }
  size_t used() const { return used_; }  // what the items that fit were charged
  size_t refused_bytes() const { return refused_; }  // the refused item's size; 0: none refused

 private:
  size_t limit_ = 0;
  size_t used_ = 0;
  size_t refused_ = 0;
};

}  // namespace nettwin::server
