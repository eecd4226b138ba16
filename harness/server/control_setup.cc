// Control.Configure: Reset and a scenario's whole setup in one call. Each step is
// the RPC a client would otherwise make on its own (same checks, same errors), so a
// setup behaves exactly like the calls it stands for, with one round trip; a setup
// that fails puts the stack it replaced back. Asked for, the counters and a trace
// subscription come last.
#include <memory>
#include <string>
#include <utility>

#include "control_service.h"
#include "request_check.h"
#include "trace_service.h"

namespace nettwin::server {

namespace {

constexpr int kMaxEntries = 4096;

grpc::Status at(const char* field, int index, const grpc::Status& status) {
  if (status.ok()) return status;
  return grpc::Status(status.error_code(),
                      std::string(field) + "[" + std::to_string(index) + "]: " + status.error_message());
}

grpc::Status too_many(const char* field, int size) {
  if (size <= kMaxEntries) return grpc::Status::OK;
  return invalid(std::string(field) + ": " + std::to_string(size) + " entries; at most " +
                 std::to_string(kMaxEntries));
}

}  // namespace

grpc::Status ControlService::Configure(grpc::ServerContext* context, const v1::StackSetup* request,
                                       v1::SysctlResults* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  for (const auto& [field, size] :
       {std::pair{"devices", request->devices_size()}, {"addresses", request->addresses_size()},
        {"neighbours", request->neighbours_size()}, {"routes", request->routes_size()},
        {"sysctls", request->sysctls_size()}})
    if (auto status = too_many(field, size); !status.ok()) return status;

  // The stack as it was: put back if a step fails, so that a refused setup changes nothing.
  std::unique_ptr<Stack> before;
  if (auto status = run_on_engine(engine_, [&](EngineState& state) {
        before = replace_stack(state, request->seed());
        return grpc::Status::OK;
      });
      !status.ok())
    return status;
  const grpc::Status status = apply(context, *request, reply);
  run_on_engine(engine_, [&](EngineState& state) {
    if (!status.ok()) {
      state.hub.move_subscriptions(*state.stack, *before);
      std::swap(state.stack, before);
    }
    before.reset();  // destroyed on the engine thread, as Reset's
    return grpc::Status::OK;
  });
  return status;
}

grpc::Status ControlService::apply(grpc::ServerContext* context, const v1::StackSetup& setup,
                                   v1::SysctlResults* reply) {
  v1::Empty empty;
  for (int i = 0; i < setup.devices_size(); ++i)
    if (auto status = at("devices", i, CreateDevice(context, &setup.devices(i), &empty)); !status.ok())
      return status;
  for (int i = 0; i < setup.addresses_size(); ++i)
    if (auto status = at("addresses", i, AddAddress(context, &setup.addresses(i), &empty)); !status.ok())
      return status;
  for (int i = 0; i < setup.neighbours_size(); ++i)
    if (auto status = at("neighbours", i, AddNeighbour(context, &setup.neighbours(i), &empty));
        !status.ok())
      return status;
  for (int i = 0; i < setup.routes_size(); ++i)
    if (auto status = at("routes", i, AddRoute(context, &setup.routes(i), &empty)); !status.ok())
      return status;
  v1::SysctlBatch batch;
  *batch.mutable_sysctls() = setup.sysctls();
  if (auto status = SetSysctls(context, &batch, reply); !status.ok()) return status;
  if (setup.counters()) {
    v1::Counters counters;
    if (auto status = ReadCounters(context, nullptr, &counters); !status.ok()) return status;
    reply->mutable_counters()->Swap(counters.mutable_counters());
  }
  if (!setup.has_subscribe()) return grpc::Status::OK;
  v1::Subscription subscription;
  if (auto status = open_subscription(engine_, setup.subscribe(), subscription); !status.ok())
    return grpc::Status(status.error_code(), "subscribe: " + status.error_message());
  reply->set_subscription(subscription.id());
  return grpc::Status::OK;
}

}  // namespace nettwin::server
