// Nic: frames into a device's RX ring, frames off the TX wire (in bounded
// replies), link state, the bound on frames held on the wire.
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class NicService final : public v1::Nic::Service {
 public:
  explicit NicService(Engine& engine) : engine_(engine) {}

  grpc::Status Inject(grpc::ServerContext*, const v1::InjectRequest* request,
                      v1::InjectReply* reply) override;
  grpc::Status InjectStream(grpc::ServerContext*, grpc::ServerReader<v1::InjectRequest>* reader,
                            v1::InjectReply* reply) override;
  grpc::Status ReadWire(grpc::ServerContext*, const v1::ReadWireRequest* request,
                        v1::ReadWireReply* reply) override;
  grpc::Status SetLink(grpc::ServerContext*, const v1::LinkRequest* request,
                       v1::Empty* reply) override;
  grpc::Status SetWireLimit(grpc::ServerContext*, const v1::WireLimit* request,
                            v1::WireLimit* reply) override;

 private:
  Engine& engine_;
};

}  // namespace nettwin::server
