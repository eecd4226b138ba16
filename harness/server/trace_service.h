// Trace: buffered subscriptions (Open/Read/Close) and the live Stream.
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class TraceService final : public v1::Trace::Service {
 public:
  // stream_queue: events a live Stream may hold before it counts losses.
  TraceService(Engine& engine, size_t stream_queue) : engine_(engine), stream_queue_(stream_queue) {}

  grpc::Status Open(grpc::ServerContext*, const v1::TraceFilter* request,
                    v1::Subscription* reply) override;
  grpc::Status Read(grpc::ServerContext*, const v1::ReadEventsRequest* request,
                    v1::TraceEvents* reply) override;
  grpc::Status Close(grpc::ServerContext*, const v1::Subscription* request,
                     v1::Empty* reply) override;
  grpc::Status Stream(grpc::ServerContext* context, const v1::TraceFilter* request,
                      grpc::ServerWriter<v1::TraceEvent>* writer) override;

 private:
  Engine& engine_;
  size_t stream_queue_;
};

}  // namespace nettwin::server
