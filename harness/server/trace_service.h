// Trace: buffered subscriptions (Open/Read/Close) and the live Stream (on
// gRPC's callback API, see trace_stream.h).
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"
#include "trace_stream.h"

namespace nettwin::server {

// Trace.Open's work (also Control.Configure's when its setup subscribes).
grpc::Status open_subscription(Engine& engine, const v1::TraceFilter& request, v1::Subscription& reply);

class TraceService final : public v1::Trace::WithCallbackMethod_Stream<v1::Trace::Service> {
 public:
  // stream_queue: events a live Stream may hold before it counts losses.
  TraceService(Engine& engine, size_t stream_queue) : engine_(engine), stream_queue_(stream_queue) {}

  grpc::Status Open(grpc::ServerContext*, const v1::TraceFilter* request,
                    v1::Subscription* reply) override;
  grpc::Status Read(grpc::ServerContext*, const v1::ReadEventsRequest* request,
                    v1::TraceEvents* reply) override;
  grpc::Status Close(grpc::ServerContext*, const v1::Subscription* request,
                     v1::Empty* reply) override;
  grpc::ServerWriteReactor<v1::TraceEvent>* Stream(grpc::CallbackServerContext*,
                                                   const v1::TraceFilter* request) override;

  // Server shutdown, after the hub closed every live stream: wait until each
  // has ended (with OK) or the timeout passed. True when none is left.
  bool wait_streams_ended(std::chrono::milliseconds timeout) { return streams_.wait_none(timeout); }

 private:
  Engine& engine_;
  size_t stream_queue_;
  StreamWaker waker_;
  StreamCount streams_;
};

}  // namespace nettwin::server
