// Control: devices, addresses, neighbours, sysctls, the virtual clock, counters, reset.
#pragma once

#include "engine_state.h"
#include "nettwin.grpc.pb.h"

namespace nettwin::server {

class ControlService final : public v1::Control::Service {
 public:
  explicit ControlService(Engine& engine) : engine_(engine) {}

  grpc::Status CreateDevice(grpc::ServerContext*, const v1::DeviceConfig* request,
                            v1::Empty* reply) override;
  grpc::Status ListDevices(grpc::ServerContext*, const v1::Empty* request,
                           v1::Devices* reply) override;
  grpc::Status AddAddress(grpc::ServerContext*, const v1::AddressRequest* request,
                          v1::Empty* reply) override;
  grpc::Status AddNeighbour(grpc::ServerContext*, const v1::NeighbourRequest* request,
                            v1::Empty* reply) override;
  grpc::Status ListNeighbours(grpc::ServerContext*, const v1::Empty* request,
                              v1::Neighbours* reply) override;
  grpc::Status SetCoalesce(grpc::ServerContext*, const v1::CoalesceRequest* request, v1::Empty*) override;
  grpc::Status SetRingSize(grpc::ServerContext*, const v1::RingSizeRequest* request, v1::Empty*) override;
  grpc::Status SetTxQueueLen(grpc::ServerContext*, const v1::TxQueueLenRequest* request, v1::Empty*) override;
  grpc::Status SetSysctl(grpc::ServerContext*, const v1::SysctlRequest* request,
                         v1::Sysctl* reply) override;
  grpc::Status GetSysctl(grpc::ServerContext*, const v1::SysctlRequest* request,
                         v1::Sysctl* reply) override;
  grpc::Status SetSysctls(grpc::ServerContext*, const v1::SysctlBatch* request,
                          v1::SysctlResults* reply) override;
  grpc::Status Advance(grpc::ServerContext*, const v1::ClockRequest* request,
                       v1::Clock* reply) override;
  grpc::Status RunUntil(grpc::ServerContext*, const v1::ClockRequest* request,
                        v1::Clock* reply) override;
  grpc::Status RunUntilIdle(grpc::ServerContext*, const v1::Empty* request,
                            v1::Clock* reply) override;
  grpc::Status Now(grpc::ServerContext*, const v1::Empty* request, v1::Clock* reply) override;
  grpc::Status ReadCounters(grpc::ServerContext*, const v1::Empty* request,
                            v1::Counters* reply) override;
  grpc::Status Reset(grpc::ServerContext*, const v1::ResetRequest* request,
                     v1::Empty* reply) override;
  // Reset and a whole setup in one call: control_setup.cc.
  grpc::Status Configure(grpc::ServerContext*, const v1::StackSetup* request,
                         v1::SysctlResults* reply) override;
  // Routes and rules: control_routes.cc.
  grpc::Status AddRoute(grpc::ServerContext*, const v1::Route* request, v1::Empty* reply) override;
  grpc::Status DelRoute(grpc::ServerContext*, const v1::Route* request, v1::Empty* reply) override;
  grpc::Status ReplaceRoute(grpc::ServerContext*, const v1::RouteChange* request, v1::Empty* reply) override;
  grpc::Status ListRoutes(grpc::ServerContext*, const v1::ListRoutesRequest* request,
                          v1::Routes* reply) override;
  grpc::Status AddRule(grpc::ServerContext*, const v1::Rule* request, v1::Empty* reply) override;
  grpc::Status ListRules(grpc::ServerContext*, const v1::Empty* request, v1::Rules* reply) override;

 private:
  // Configure's steps after the fresh stack, on that stack.
  grpc::Status apply(grpc::ServerContext* context, const v1::StackSetup& setup, v1::SysctlResults* reply);

  Engine& engine_;
};

}  // namespace nettwin::server
