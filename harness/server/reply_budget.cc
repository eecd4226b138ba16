#include "reply_budget.h"

#include <algorithm>
#include <cstring>

#include "core/trace_text.h"

namespace nettwin::server {

namespace {
// A length-delimited field (string, bytes, message): a one-byte tag and a
// length varint of at most 5 bytes (lengths below 4 GiB).
constexpr size_t kLengthDelimited = 1 + 5;
// A varint field: a one-byte tag and at most 10 bytes (a negative int32 takes 10).
constexpr size_t kVarint = 1 + 10;
}  // namespace

size_t wire_frame_bytes(const std::string& dev, size_t data_len) {
  // The frame in the reply's repeated field: dev, ifindex, time_ns, data.
  return kLengthDelimited + (kLengthDelimited + dev.size()) + kVarint + kVarint +
         (kLengthDelimited + data_len);
}

size_t trace_event_bytes(size_t name_len, size_t fields, size_t keys_and_values_len) {
  // The event in the reply's repeated field: time_ns, name, skb, then each
  // field a message of a key and a value.
  return kLengthDelimited + kVarint + (kLengthDelimited + name_len) + kVarint +
         fields * (kLengthDelimited + kLengthDelimited + kLengthDelimited) + keys_and_values_len;
}

size_t trace_event_bytes(const TraceEvent& event) {
  size_t text = 0;
  for (const auto& [key, value] : event.fields) text += key.size() + value.size();
  return trace_event_bytes(event.name.size(), event.fields.size(), text);
}

size_t trace_record_bytes(const TraceRecord& record) {
  size_t text = 0;
  for (const TraceField& field : record) text += std::strlen(field.name) + trace_field_text_size(field);
  return trace_event_bytes(trace_record_name_size(record), record.size(), text);
}

ReplyBudget::ReplyBudget(uint64_t max_bytes) {
  const uint64_t reply = max_bytes == 0 ? kDefaultReplyBytes : std::min<uint64_t>(max_bytes, kMaxMessageBytes);
  limit_ = reply > kReplyFieldsBytes ? size_t(reply) - kReplyFieldsBytes : 0;
}

bool ReplyBudget::fits(size_t item_bytes) {
  if (item_bytes > limit_ - used_) {
    if (refused_ == 0) refused_ = item_bytes;
    return false;
  }
  used_ += item_bytes;
  return true;
}

}  // namespace nettwin::server
