// What the engine thread owns: the stack and the trace subscriptions around it,
// plus the helpers every service uses to run a request there and answer it.
#pragma once

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <exception>
#include <memory>
#include <string>
#include <string_view>

#include "engine_thread.h"
#include "live_tap.h"
#include "stack/stack.h"
#include "text_parse.h"
#include "trace_hub.h"

namespace nettwin::server {

struct EngineState {
  EngineState(uint64_t seed, size_t trace_buffer, size_t max_subscriptions, size_t trace_budget)
      : default_seed(seed), stack(std::make_unique<Stack>(seed)), hub(trace_buffer, max_subscriptions, trace_budget) {}

  uint64_t default_seed;  // --seed; also what Reset uses when asked for seed 0
  std::unique_ptr<Stack> stack;
  TraceHub hub;
  std::unique_ptr<LiveTap> live;  // live mode (--live-tap): the stack's clock is the real one
};

using Engine = EngineThread<EngineState>;

// A fresh stack in place of the current one (Control.Reset; seed 0: the server's
// --seed): the trace subscriptions move over to it. Returns the one it replaced,
// which must be destroyed on the engine thread too.
inline std::unique_ptr<Stack> replace_stack(EngineState& state, uint64_t seed) {
  auto fresh = std::make_unique<Stack>(seed == 0 ? state.default_seed : seed);
  state.hub.move_subscriptions(*state.stack, *fresh);
  std::swap(state.stack, fresh);
  return fresh;
}

inline grpc::Status invalid(std::string message) {
  return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message));
}

// A stack Error is the caller's mistake: INVALID_ARGUMENT, with what was being done.
inline grpc::Status from_error(const Error& error, std::string_view doing) {
  return invalid(std::string(doing) + ": " + error.message);
}

inline grpc::Status from_status(const Status& status, std::string_view doing) {
  return status ? from_error(*status, doing) : grpc::Status::OK;
}

// Run one request's work on the engine thread and wait for it. A server that is
// stopping answers UNAVAILABLE; an exception out of the stack answers INTERNAL
// instead of taking the process down.
template <class F>
grpc::Status run_on_engine(Engine& engine, F work) {
  try {
    return engine.call(std::move(work));
  } catch (const EngineStopped& e) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, e.what());
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, std::string("stack failure: ") + e.what());
  }
}

// The clock calls in live mode, where the real clock drives the stack.
inline grpc::Status live_clock_refusal(std::string_view call) {
  return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                      std::string(call) + ": the server is in live mode, where the stack's clock is the "
                      "real one; it cannot be driven");
}

inline std::string clock_limit_note() {
  return " (the virtual clock ends at " + std::to_string(Stack::kClockLimitNs) + " ns, Linux's KTIME_MAX)";
}

// RunUntil's time (Control.RunUntil, a request's run_until_ns): past the clock's end is refused.
inline grpc::Status check_run_until(uint64_t ns) {
  if (ns <= Stack::kClockLimitNs) return grpc::Status::OK;
  return invalid("running the clock until " + std::to_string(ns) + " ns overflows it" + clock_limit_note());
}

// Engine thread. A request's run_until_ns (Nic.Inject, Nic.ReadWire, each Sockets
// call): the clock runs to that absolute time as Control.RunUntil does (0 leaves
// it; a time already passed runs what is due and leaves the clock), before the
// request's own work in the same engine step. Refused in live mode. The handler
// has checked the time with check_run_until.
inline grpc::Status run_clock_to(EngineState& state, uint64_t ns, std::string_view call) {
  if (ns == 0) return grpc::Status::OK;
  if (state.live) return live_clock_refusal(std::string(call) + " with run_until_ns");
  state.stack->run_until(ns);
  return grpc::Status::OK;
}

// Trace.Open or Trace.Stream when every subscription the server allows is taken.
inline grpc::Status too_many_subscriptions(const TraceHub& hub) {
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "too many trace subscriptions: " + std::to_string(hub.subscriptions()) +
                          " are open, the server's limit (--max-subscriptions " +
                          std::to_string(hub.max_subscriptions()) + "); close one first");
}

// OK when the stack has a device of that name; otherwise INVALID_ARGUMENT
// naming it and the devices that do exist.
inline grpc::Status require_device(const Stack& stack, const std::string& name) {
  if (name.empty()) return invalid("device name is empty");
  std::string known;
  for (const DeviceInfo& info : stack.devices()) {
    if (info.config.name == name) return grpc::Status::OK;
    known += known.empty() ? "" : ", ";
    known += info.config.name;
  }
  return invalid("unknown device " + quoted(name) +
                 (known.empty() ? " (no devices exist)" : " (devices: " + known + ")"));
}

}  // namespace nettwin::server
