#include "trace_service.h"

#include <optional>
#include <string>

#include "packed_blobs.h"
#include "proto_convert.h"
#include "reply_budget.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

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
    const auto id = state.hub.open(*state.stack, filter);
    if (!id) return too_many_subscriptions(state.hub);
    reply->set_id(*id);
    return grpc::Status::OK;
  });
}

grpc::Status TraceService::Read(grpc::ServerContext*, const v1::ReadEventsRequest* request,
                                v1::TraceEvents* reply) {
  // Only what fits in the reply leaves the subscription; the rest waits for the next call.
  ReplyBudget budget(request->max_bytes());
  std::optional<TraceHub::ReadResult> result;
  const grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    result = state.hub.read(request->id(), request->max(), [&budget](size_t bytes) { return budget.fits(bytes); });
    return result ? grpc::Status::OK : unknown_subscription(request->id());
  });
  if (!status.ok()) return status;
  // The records become text here, on the call's thread, not the engine's.
  if (result->records.empty() && budget.refused_bytes() > 0) {
    return invalid("max_bytes " + std::to_string(request->max_bytes()) + " is too small for the next event (" +
                   std::to_string(budget.refused_bytes() + kReplyFieldsBytes) +
                   " bytes with the reply around it); nothing was taken");
  }
  if (request->packed()) {
    std::string& out = *reply->mutable_packed();
    out.reserve(budget.used());
    result->records.for_each([&out](const TraceRecord& record) { append_packed_record(out, record); });
  } else {
    auto* events = reply->mutable_events();
    events->Reserve(static_cast<int>(result->records.size()));
    result->records.for_each([events](const TraceRecord& record) { to_proto(record, *events->Add()); });
  }
  reply->set_lost(result->lost);
  reply->set_remaining(result->remaining);
  return grpc::Status::OK;
}

grpc::Status TraceService::Close(grpc::ServerContext*, const v1::Subscription* request,
                                 v1::Empty*) {
  return run_on_engine(engine_, [&](EngineState& state) {
    return state.hub.close(*state.stack, request->id()) ? grpc::Status::OK
                                                          : unknown_subscription(request->id());
  });
}

grpc::ServerWriteReactor<v1::TraceEvent>* TraceService::Stream(grpc::CallbackServerContext*,
                                                                const v1::TraceFilter* request) {
  return TraceStream::start(engine_, waker_, streams_, stream_queue_, *request);
}

}  // namespace nettwin::server
