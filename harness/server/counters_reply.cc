#include "counters_reply.h"

#include <string>

namespace nettwin::server {

void add_counters(const EngineState& state, google::protobuf::RepeatedPtrField<v1::Counter>& out) {
  const auto add = [&out](const std::string& name, uint64_t value) {
    auto* counter = out.Add();
    counter->set_name(name);
    counter->set_value(value);
  };
  for (const auto& [name, value] : state.stack->counters()) add(name, value);
  // The server's own: trace events lost by every subscription, buffered or
  // live, and those held for them now (bounded by --trace-budget); in live
  // mode, the TAP's frames.
  add("trace.lost", state.hub.lost_total());
  add("trace.held", state.hub.budget().held());
  if (state.live) {
    for (const auto& [name, value] : state.live->counters()) add(name, value);
  }
}

size_t counters_bytes(const EngineState& state) {
  google::protobuf::RepeatedPtrField<v1::Counter> now;
  add_counters(state, now);
  size_t bytes = 0;
  // Per counter: its field's tag and length (3), the name's tag, length (3) and
  // bytes, the value's tag and a varint of at most 10 bytes (11).
  for (const v1::Counter& counter : now) bytes += 3 + 3 + counter.name().size() + 11;
  return bytes;
}

}  // namespace nettwin::server
