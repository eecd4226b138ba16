#include "trace_service.h"

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "proto_convert.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

constexpr size_t kStreamWriteBatch = 256;
// How often a waiting Stream handler looks whether its client went away.
constexpr std::chrono::milliseconds kStreamPoll{100};

grpc::Status unknown_subscription(uint64_t id) {
  return invalid("unknown subscription id " + std::to_string(id));
}

}  // namespace

grpc::Status TraceService::Open(grpc::ServerContext*, const v1::TraceFilter* request,
                                v1::Subscription* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  TraceFilter filter;
  if (auto status = to_stack_filter(*request, filter); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    reply->set_id(state.hub.open(*state.stack, filter));
    return grpc::Status::OK;
  });
}

grpc::Status TraceService::Read(grpc::ServerContext*, const v1::ReadEventsRequest* request,
                                v1::TraceEvents* reply) {
  std::optional<TraceHub::ReadResult> result;
  const grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    result = state.hub.read(request->id(), request->max());
    return result ? grpc::Status::OK : unknown_subscription(request->id());
  });
  if (!status.ok()) return status;
  auto* events = reply->mutable_events();
  events->Reserve(static_cast<int>(result->events.size()));
  for (const TraceEvent& event : result->events) to_proto(event, *events->Add());
  reply->set_lost(result->lost);
  return grpc::Status::OK;
}

grpc::Status TraceService::Close(grpc::ServerContext*, const v1::Subscription* request,
                                 v1::Empty*) {
  return run_on_engine(engine_, [&](EngineState& state) {
    return state.hub.close(*state.stack, request->id()) ? grpc::Status::OK
                                                          : unknown_subscription(request->id());
  });
}

grpc::Status TraceService::Stream(grpc::ServerContext* context, const v1::TraceFilter* request,
                                  grpc::ServerWriter<v1::TraceEvent>* writer) {
  if (auto status = check_request(*request); !status.ok()) return status;
  TraceFilter filter;
  if (auto status = to_stack_filter(*request, filter); !status.ok()) return status;
  auto queue = std::make_shared<LiveQueue>(stream_queue_);
  uint64_t id = 0;
  const grpc::Status opened = run_on_engine(engine_, [&](EngineState& state) {
    id = state.hub.open_live(*state.stack, filter, queue);
    return grpc::Status::OK;
  });
  if (!opened.ok()) return opened;

  v1::TraceEvent out;
  bool client_gone = false;
  for (;;) {
    LiveQueue::Batch batch = queue->pop(kStreamWriteBatch, kStreamPoll);
    for (const TraceEvent& event : batch.events) {
      out.Clear();
      to_proto(event, out);
      if (!writer->Write(out)) {
        client_gone = true;
        break;
      }
    }
    if (client_gone) break;
    if (batch.lost > 0) {
      // Losses are never silent: the count follows the events queued before them.
      out.Clear();
      out.set_time_ns(batch.lost_time_ns);
      out.set_name("trace:lost");
      auto* field = out.add_fields();
      field->set_key("count");
      field->set_value(std::to_string(batch.lost));
      if (!writer->Write(out)) break;
    }
    if (batch.closed || context->IsCancelled()) break;
  }

  // The engine may already be gone when the server is stopping; then so is the subscription.
  try {
    engine_.call([&](EngineState& state) { state.hub.close_live(*state.stack, id); });
  } catch (const std::exception&) {
  }
  return grpc::Status::OK;
}

}  // namespace nettwin::server
