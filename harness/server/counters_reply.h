// The counters as Control.ReadCounters answers them, for every reply that carries
// them (ReadCounters; Nic.ReadWire and Control.Configure when asked).
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include <cstddef>

#include "engine_state.h"
#include "nettwin.pb.h"

namespace nettwin::server {

// Engine thread. The stack's counters, then the server's own.
void add_counters(const EngineState& state, google::protobuf::RepeatedPtrField<v1::Counter>& out);

// Engine thread. The encoded size, at most, of the counters field add_counters()
// fills, whatever the values are by then (a reply's budget charges it first).
size_t counters_bytes(const EngineState& state);

}  // namespace nettwin::server
