#include "control_service.h"

#include <algorithm>
#include <memory>
#include <string>

#include "counters_reply.h"
#include "proto_convert.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

grpc::Status require_sysctl(const Stack& stack, const std::string& name) {
  if (name.empty()) return invalid("sysctl name is empty");
  if (!stack.get_sysctl(name)) return invalid("unknown sysctl " + quoted(name));
  return grpc::Status::OK;
}

}  // namespace

grpc::Status ControlService::CreateDevice(grpc::ServerContext*, const v1::DeviceConfig* request,
                                          v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  DeviceConfig config;
  if (auto status = to_stack_config(*request, config); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const DeviceInfo& info : state.stack->devices()) {
      if (info.config.name == config.name)
        return invalid("device " + quoted(config.name) + " already exists");
      if (config.ifindex != 0 && info.config.ifindex == config.ifindex)
        return invalid("ifindex " + std::to_string(config.ifindex) + " for device " +
                       quoted(config.name) + " is already used by device " +
                       quoted(info.config.name));
    }
    return from_status(state.stack->create_device(config), "create device " + quoted(config.name));
  });
}

grpc::Status ControlService::ListDevices(grpc::ServerContext*, const v1::Empty*,
                                         v1::Devices* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const DeviceInfo& info : state.stack->devices()) to_proto(info, *reply->add_devices());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::AddAddress(grpc::ServerContext*, const v1::AddressRequest* request,
                                        v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (!parse_cidr(request->cidr()))
    return invalid("bad cidr " + quoted(request->cidr()) + " for device " +
                   quoted(request->dev()) + " (expected an address and prefix length, like " +
                   "\"198.51.100.2/24\")");
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->add_address(request->dev(), request->cidr()),
                       "add address " + request->cidr() + " to " + quoted(request->dev()));
  });
}

grpc::Status ControlService::AddNeighbour(grpc::ServerContext*,
                                          const v1::NeighbourRequest* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (!parse_ipv4(request->ip()))
    return invalid("bad neighbour ip " + quoted(request->ip()) + " (expected a dotted quad)");
  const auto mac = parse_mac(request->mac());
  if (!mac) return invalid("bad neighbour mac " + quoted(request->mac()));
  const auto state_name = parse_neigh_state(request->state());
  if (!state_name)
    return invalid("unknown neighbour state " + quoted(request->state()) +
                   " (states: permanent, reachable, stale, noarp)");
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->add_neighbour(request->dev(), request->ip(),
                                                  format_mac(*mac), *state_name),
                       "add neighbour " + request->ip() + " on " + quoted(request->dev()));
  });
}

grpc::Status ControlService::ListNeighbours(grpc::ServerContext*, const v1::Empty*,
                                            v1::Neighbours* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const Neighbour& n : state.stack->neighbours()) {
      auto* out = reply->add_neighbours();
      out->set_dev(n.dev);
      out->set_ip(n.ip);
      out->set_mac(n.mac);
      out->set_state(n.state);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::SetCoalesce(grpc::ServerContext*, const v1::CoalesceRequest* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->set_coalesce(request->dev(), request->rx_usecs(), request->rx_frames()),
                       "set coalesce on " + quoted(request->dev()));
  });
}

grpc::Status ControlService::SetRingSize(grpc::ServerContext*, const v1::RingSizeRequest* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->set_ring_size(request->dev(), request->rx(), request->tx()),
                       "set ring size on " + quoted(request->dev()));
  });
}

grpc::Status ControlService::SetTxQueueLen(grpc::ServerContext*, const v1::TxQueueLenRequest* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_device(*state.stack, request->dev()); !status.ok()) return status;
    return from_status(state.stack->set_tx_queue_len(request->dev(), request->len()),
                       "set txqueuelen on " + quoted(request->dev()));
  });
}

grpc::Status ControlService::SetSysctl(grpc::ServerContext*, const v1::SysctlRequest* request,
                                       v1::Sysctl* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_sysctl(*state.stack, request->name()); !status.ok()) return status;
    if (request->value().empty())
      return invalid("no value given for sysctl " + quoted(request->name()));
    if (auto status = from_status(state.stack->set_sysctl(request->name(), request->value()),
                                  "set sysctl " + request->name());
        !status.ok())
      return status;
    reply->set_name(request->name());
    reply->set_value(state.stack->get_sysctl(request->name()).value_or(""));
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::SetSysctls(grpc::ServerContext*, const v1::SysctlBatch* request,
                                        v1::SysctlResults* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  constexpr int kMaxBatch = 4096;
  if (request->sysctls_size() > kMaxBatch)
    return invalid("a batch of " + std::to_string(request->sysctls_size()) + " sysctls; at most " +
                   std::to_string(kMaxBatch));
  for (int i = 0; i < request->sysctls_size(); ++i) {
    const auto& one = request->sysctls(i);
    if (one.name().empty()) return invalid("sysctls[" + std::to_string(i) + "]: the name is empty");
    if (one.value().empty()) return invalid("sysctls[" + std::to_string(i) + "] (" + one.name() + "): no value given");
  }
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const auto& one : request->sysctls()) {
      auto* result = reply->add_results();
      result->set_name(one.name());
      const std::optional<std::string> current = state.stack->get_sysctl(one.name());
      if (!current) {
        result->set_unknown(true);
        continue;
      }
      if (*current != one.value()) {
        if (const Status err = state.stack->set_sysctl(one.name(), one.value())) result->set_error(err->message);
      }
      result->set_value(state.stack->get_sysctl(one.name()).value_or(""));
    }
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::GetSysctl(grpc::ServerContext*, const v1::SysctlRequest* request,
                                       v1::Sysctl* reply) {
  if (auto status = check_request(*request); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (auto status = require_sysctl(*state.stack, request->name()); !status.ok()) return status;
    reply->set_name(request->name());
    reply->set_value(*state.stack->get_sysctl(request->name()));
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::Advance(grpc::ServerContext*, const v1::ClockRequest* request,
                                     v1::Clock* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    if (state.live) return live_clock_refusal("Advance");
    const uint64_t now = state.stack->now_ns();
    // (Work done at the limit may leave the clock a few ns past it.)
    if (request->ns() > Stack::kClockLimitNs - std::min(now, Stack::kClockLimitNs))
      return invalid("advancing the clock by " + std::to_string(request->ns()) + " ns from " +
                     std::to_string(now) + " ns overflows it" + clock_limit_note());
    state.stack->advance(request->ns());
    reply->set_now_ns(state.stack->now_ns());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::RunUntil(grpc::ServerContext*, const v1::ClockRequest* request,
                                      v1::Clock* reply) {
  if (auto status = check_run_until(request->ns()); !status.ok()) return status;
  return run_on_engine(engine_, [&](EngineState& state) {
    if (state.live) return live_clock_refusal("RunUntil");
    state.stack->run_until(request->ns());
    reply->set_now_ns(state.stack->now_ns());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::RunUntilIdle(grpc::ServerContext*, const v1::Empty*,
                                          v1::Clock* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    if (state.live) return live_clock_refusal("RunUntilIdle");
    state.stack->run_until_idle();
    reply->set_now_ns(state.stack->now_ns());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::Now(grpc::ServerContext*, const v1::Empty*, v1::Clock* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    reply->set_now_ns(state.stack->now_ns());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::ReadCounters(grpc::ServerContext*, const v1::Empty*,
                                          v1::Counters* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    add_counters(state, *reply->mutable_counters());
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::Reset(grpc::ServerContext*, const v1::ResetRequest* request,
                                   v1::Empty*) {
  return run_on_engine(engine_, [&](EngineState& state) {
    // Seed 0 (proto3's "not set") means the seed the server was started with.
    replace_stack(state, request->seed());  // the old stack is destroyed here, on the engine thread
    return grpc::Status::OK;
  });
}

}  // namespace nettwin::server
