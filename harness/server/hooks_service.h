// Hooks: a bidirectional stream per armed netfilter hook. The stack's thread
// hands each packet at the hook point to the stream and waits (bounded) for
// the client's verdict.
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class HooksService final : public v1::Hooks::Service {
 public:
  explicit HooksService(Engine& engine) : engine_(engine) {}

  grpc::Status Attach(grpc::ServerContext* context,
                      grpc::ServerReaderWriter<v1::HookServerMessage, v1::HookClientMessage>* stream) override;

 private:
  Engine& engine_;
};

}  // namespace nettwin::server
