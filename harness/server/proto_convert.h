// Conversions between the wire contract (proto/nettwin.proto) and the stack's
// C++ types, with validation of what a client sent.
#pragma once

#include <grpcpp/grpcpp.h>

#include "nettwin.pb.h"
#include "core/trace_record.h"
#include "stack/stack.h"

namespace nettwin::server {

// Checks every event pattern ("*", "group:*", "group:event") and that it names
// tracepoints the stack emits; otherwise INVALID_ARGUMENT with near names.
grpc::Status to_stack_filter(const v1::TraceFilter& in, TraceFilter& out);
void to_proto(const TraceRecord& in, v1::TraceEvent& out);  // its text made here
void to_proto(const DeviceInfo& in, v1::DeviceInfo& out);

// Validates names, kind, MAC, MTU and ring sizes; defaults zero fields.
grpc::Status to_stack_config(const v1::DeviceConfig& in, DeviceConfig& out);

}  // namespace nettwin::server
