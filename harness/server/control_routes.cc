// Control's routing RPCs: AddRoute / DelRoute / ReplaceRoute / ListRoutes / AddRule / ListRules.
#include <string>

#include "control_service.h"
#include "request_check.h"

namespace nettwin::server {

namespace {

Route to_stack_route(const v1::Route& r) {
  Route out;
  out.dst = r.dst();
  out.gateway = r.gateway();
  out.dev = r.dev();
  out.type = r.type().empty() ? "unicast" : r.type();
  out.table = r.table() ? r.table() : 254;
  out.metric = r.metric();
  out.tos = uint8_t(r.tos());
  out.scope = r.scope();
  out.prefsrc = r.prefsrc();
  out.mtu = r.mtu();
  out.mtu_lock = r.mtu_lock();
  out.window = r.window();
  out.advmss = r.advmss();
  out.initcwnd = r.initcwnd();
  out.initrwnd = r.initrwnd();
  if (r.has_rto_min_ms()) out.rto_min_ms = r.rto_min_ms();
  out.quickack = r.quickack();
  out.congctl = r.congctl();
  out.congctl_lock = r.congctl_lock();
  out.ecn = r.ecn();
  return out;
}

std::string describe(const v1::Route& r) {
  return "route " + r.dst() + (r.gateway().empty() ? "" : " via " + r.gateway()) +
         (r.dev().empty() ? "" : " dev " + r.dev());
}

}  // namespace

grpc::Status ControlService::AddRoute(grpc::ServerContext*, const v1::Route* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (request->tos() > 255) return invalid("route tos " + std::to_string(request->tos()) + " is not in [0, 255]");
  const Route route = to_stack_route(*request);
  return run_on_engine(engine_, [&](EngineState& state) {
    return from_status(state.stack->add_route(route), "add " + describe(*request));
  });
}

grpc::Status ControlService::ReplaceRoute(grpc::ServerContext*, const v1::RouteChange* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  const v1::Route& r = request->route();
  if (r.tos() > 255) return invalid("route tos " + std::to_string(r.tos()) + " is not in [0, 255]");
  const Route route = to_stack_route(r);
  return run_on_engine(engine_, [&](EngineState& state) {
    return from_status(state.stack->replace_route(route, request->create()),
                       (request->create() ? "replace " : "change ") + describe(r));
  });
}

grpc::Status ControlService::DelRoute(grpc::ServerContext*, const v1::Route* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (request->tos() > 255) return invalid("route tos " + std::to_string(request->tos()) + " is not in [0, 255]");
  const Route route = to_stack_route(*request);
  return run_on_engine(engine_, [&](EngineState& state) {
    return from_status(state.stack->del_route(route), "delete " + describe(*request));
  });
}

grpc::Status ControlService::ListRoutes(grpc::ServerContext*, const v1::ListRoutesRequest* request,
                                        v1::Routes* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const Route& r : state.stack->routes(request->table())) {
      v1::Route* out = reply->add_routes();
      out->set_dst(r.dst);
      out->set_gateway(r.gateway);
      out->set_dev(r.dev);
      out->set_type(r.type);
      out->set_table(r.table);
      out->set_metric(r.metric);
      out->set_tos(r.tos);
      out->set_scope(r.scope);
      out->set_prefsrc(r.prefsrc);
      out->set_protocol(r.protocol);
      out->set_mtu(r.mtu);
      out->set_mtu_lock(r.mtu_lock);
      out->set_window(r.window);
      out->set_advmss(r.advmss);
      out->set_initcwnd(r.initcwnd);
      out->set_initrwnd(r.initrwnd);
      if (r.rto_min_ms) out->set_rto_min_ms(*r.rto_min_ms);
      out->set_quickack(r.quickack);
      out->set_congctl(r.congctl);
      out->set_congctl_lock(r.congctl_lock);
      out->set_ecn(r.ecn);
    }
    return grpc::Status::OK;
  });
}

grpc::Status ControlService::AddRule(grpc::ServerContext*, const v1::Rule* request, v1::Empty*) {
  if (auto status = check_request(*request); !status.ok()) return status;
  if (request->tos() > 255) return invalid("rule tos " + std::to_string(request->tos()) + " is not in [0, 255]");
  Rule rule;
  rule.pref = request->pref();
  rule.from = request->from();
  rule.to = request->to();
  rule.tos = uint8_t(request->tos());
  rule.iif = request->iif();
  rule.table = request->table() ? request->table() : 254;
  return run_on_engine(engine_, [&](EngineState& state) {
    return from_status(state.stack->add_rule(rule), "add rule pref " + std::to_string(rule.pref));
  });
}

grpc::Status ControlService::ListRules(grpc::ServerContext*, const v1::Empty*, v1::Rules* reply) {
  return run_on_engine(engine_, [&](EngineState& state) {
    for (const Rule& r : state.stack->rules()) {
      v1::Rule* out = reply->add_rules();
      out->set_pref(r.pref);
      out->set_from(r.from);
      out->set_to(r.to);
      out->set_tos(r.tos);
      out->set_iif(r.iif);
      out->set_table(r.table);
    }
    return grpc::Status::OK;
  });
}

}  // namespace nettwin::server
