#include "trace_service.h"

#include <algorithm>
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

// Trace.Close, and Trace.Read asked to close.
grpc::Status close_subscription(Engine& engine, uint64_t id) {
  return run_on_engine(engine, [&](EngineState& state) {
    return state.hub.close(*state.stack, id) ? grpc::Status::OK : unknown_subscription(id);
  });
}

}  // namespace

grpc::Status open_subscription(Engine& engine, const v1::TraceFilter& request, v1::Subscription& reply) {
  if (auto status = check_request(request); !status.ok()) return status;
  TraceFilter filter;
  if (auto status = to_stack_filter(request, filter); !status.ok()) return status;
  return run_on_engine(engine, [&](EngineState& state) {
    const auto id = state.hub.open(*state.stack, filter);
    if (!id) return too_many_subscriptions(state.hub);
    reply.set_id(*id);
    return grpc::Status::OK;
  });
}

grpc::Status TraceService::Open(grpc::ServerContext*, const v1::TraceFilter* request,
                                v1::Subscription* reply) {
  return open_subscription(engine_, *request, *reply);
}

grpc::Status TraceService::Read(grpc::ServerContext*, const v1::ReadEventsRequest* request,
                                v1::TraceEvents* reply) {
  // The engine only finds the subscription; its records are taken and made
  // text here, on the call's thread, while the engine goes on adding more.
  std::optional<TraceHub::Reader> reader;
  const grpc::Status status = run_on_engine(engine_, [&](EngineState& state) {
    reader = state.hub.reader(request->id());
    return reader ? grpc::Status::OK : unknown_subscription(request->id());
  });
  if (!status.ok()) return status;
  // Only what fits in the reply leaves the subscription; the rest waits for the next call.
  ReplyBudget budget(request->max_bytes());
  size_t taken = 0;
  if (request->packed()) {
    std::string& blob = *reply->mutable_packed();
    blob.reserve(std::min(budget.limit(), reader->records->size() * 64));  // a small event's size: few regrowths
    PackedRecordWriter out(blob);
    taken = reader->records->consume(request->max(), [&](const StoredRecordView& record) {
      if (budget.fits(out.append(record))) return true;
      out.drop_last();
      return false;
    });
  } else {
    auto* events = reply->mutable_events();
    taken = reader->records->consume(request->max(), [&](const StoredRecordView& stored) {
      return stored.rebuilt([&](const TraceRecord& record) {
        if (!budget.fits(trace_record_bytes(record))) return false;
        to_proto(record, *events->Add());
        return true;
      });
    });
  }
  if (taken == 0 && budget.refused_bytes() > 0) {
    return invalid("max_bytes " + std::to_string(request->max_bytes()) + " is too small for the next event (" +
                   std::to_string(budget.refused_bytes() + kReplyFieldsBytes) +
                   " bytes with the reply around it); nothing was taken");
  }
  reply->set_lost(reader->lost->load(std::memory_order_relaxed));
  reply->set_remaining(reader->records->size());
  if (!request->close() || reply->remaining() > 0) return grpc::Status::OK;
  // As Trace.Close: events the engine adds from here on are not kept.
  const grpc::Status closed = close_subscription(engine_, request->id());
  if (closed.ok()) reply->set_closed(true);
  return closed;
}

grpc::Status TraceService::Close(grpc::ServerContext*, const v1::Subscription* request,
                                 v1::Empty*) {
  return close_subscription(engine_, request->id());
}

grpc::ServerWriteReactor<v1::TraceEvent>* TraceService::Stream(grpc::CallbackServerContext*,
                                                                const v1::TraceFilter* request) {
  return TraceStream::start(engine_, waker_, streams_, stream_queue_, *request);
}

}  // namespace nettwin::server
