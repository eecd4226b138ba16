// nettwin-server: one nettwin::Stack behind the gRPC services of proto/nettwin.proto.
//
//   nettwin-server [--listen unix:/path/sock | 127.0.0.1:PORT | [::1]:PORT]
//                  [--allow-remote] [--seed N] [--trace-buffer N] [--stream-queue N]
//                  [--max-subscriptions N] [--trace-budget N]
//                  [--parent-fd FD] [--remove-socket-dir]
//                  [--live-tap IFNAME [--live-netns NS] [--live-dev DEV]]
//
// Prints "nettwin-server listening on <addr>" once ready; exits 0 on SIGTERM/SIGINT.
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "control_service.h"
#include "hooks_service.h"
#include "engine_state.h"
#include "listen_address.h"
#include "live_tap.h"
#include "nic_service.h"
#include "reply_budget.h"
#include "parent_watch.h"
#include "request_check.h"
#include "sockets_service.h"
#include "text_parse.h"
#include "trace_service.h"
#include "tun_alloc.h"

namespace {

using namespace nettwin::server;

struct Options {
  std::string listen;
  bool allow_remote = false;
  uint64_t seed = 1;
  uint64_t trace_buffer = 1 << 20;  // events per buffered subscription
  uint64_t stream_queue = 1 << 16;  // events queued per live Stream
  uint64_t max_subscriptions = 4096;  // buffered and live together
  uint64_t trace_budget = 1 << 21;    // events held for all subscriptions together
  int parent_fd = -1;               // exit when this pipe reaches end of file
  bool remove_socket_dir = false;   // rmdir the unix socket's folder on exit
  std::string live_tap;             // live mode: the TAP interface to create
  std::string live_netns;           // ... in this namespace ("": the server's own)
  std::string live_dev;             // ... bridged to this stack device (default ntdut0)
};

static_assert(kMaxMessageBytes == nettwin::v1::MAX_MESSAGE_BYTES, "one message bound for server and clients");
// Calls still running after this are cancelled. An idle client channel also
// holds Shutdown this long: grpc-python reads the server's GOAWAY only while it
// has a call in progress.
constexpr auto kShutdownGrace = std::chrono::seconds(1);
// How long the live streams get to end with OK before the server shuts down.
constexpr auto kStreamsEndGrace = std::chrono::seconds(5);

const char kUsage[] =
    "usage: nettwin-server [--listen ADDR] [--allow-remote] [--seed N]\n"
    "                      [--trace-buffer N] [--stream-queue N] [--max-subscriptions N]\n"
    "                      [--trace-budget N] [--parent-fd FD] [--remove-socket-dir]\n"
    "                      [--live-tap IFNAME [--live-netns NS] [--live-dev DEV]]\n"
    "  --listen ADDR      unix:/path/sock (default unix:$XDG_RUNTIME_DIR/nettwin-<pid>.sock),\n"
    "                     127.0.0.1:PORT or [::1]:PORT (PORT 0: any free port)\n"
    "  --allow-remote     allow a non-loopback TCP address\n"
    "  --seed N           the stack's random seed (default 1)\n"
    "  --trace-buffer N   events each Trace.Open subscription buffers (default 1048576)\n"
    "  --stream-queue N   events each Trace.Stream queues (default 65536)\n"
    "  --max-subscriptions N\n"
    "                     trace subscriptions open at once, Open and Stream together\n"
    "                     (default 4096)\n"
    "  --trace-budget N   trace events held for all subscriptions together; past it\n"
    "                     events are lost and counted (default 2097152)\n"
    "  --parent-fd FD     stop (as on SIGTERM) when FD, a pipe whose write end the\n"
    "                     starting process holds, reaches end of file: it died\n"
    "  --remove-socket-dir  on exit, also remove the unix socket's folder if empty\n"
    "  --live-tap IFNAME  live mode: create TAP interface IFNAME and bridge it to a\n"
    "                     stack device; the stack's clock is then the real one\n"
    "  --live-netns NS    create the TAP in network namespace NS (`ip netns` names)\n"
    "  --live-dev DEV     the stack device the TAP is bridged to (default ntdut0; the\n"
    "                     frames Linux sends go to it once it is created)\n";

// Returns an error message, or "" when the options are good.
std::string parse_options(int argc, char** argv, Options& options) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto number = [&](uint64_t& out, bool positive) -> std::string {
      const char* text = value();
      if (!text) return arg + " needs a value";
      const auto n = parse_u64(text);
      if (!n || (positive && *n == 0)) return arg + ": bad number " + quoted(text);
      out = *n;
      return "";
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      std::exit(0);
    } else if (arg == "--listen") {
      const char* text = value();
      if (!text) return "--listen needs a value";
      options.listen = text;
    } else if (arg == "--allow-remote") {
      options.allow_remote = true;
    } else if (arg == "--seed") {
      if (auto e = number(options.seed, false); !e.empty()) return e;
    } else if (arg == "--trace-buffer") {
      if (auto e = number(options.trace_buffer, true); !e.empty()) return e;
    } else if (arg == "--stream-queue") {
      if (auto e = number(options.stream_queue, true); !e.empty()) return e;
    } else if (arg == "--max-subscriptions") {
      if (auto e = number(options.max_subscriptions, true); !e.empty()) return e;
    } else if (arg == "--trace-budget") {
      if (auto e = number(options.trace_budget, true); !e.empty()) return e;
    } else if (arg == "--parent-fd") {
      uint64_t fd = 0;
      if (auto e = number(fd, false); !e.empty()) return e;
      if (fd > 65535 || fcntl(int(fd), F_GETFD) < 0)
        return "--parent-fd: " + std::to_string(fd) + " is not an open file descriptor";
      options.parent_fd = int(fd);
    } else if (arg == "--remove-socket-dir") {
      options.remove_socket_dir = true;
    } else if (arg == "--live-tap" || arg == "--live-netns" || arg == "--live-dev") {
      const char* text = value();
      if (!text || !*text) return arg + " needs a value";
      (arg == "--live-tap" ? options.live_tap : arg == "--live-netns" ? options.live_netns : options.live_dev) = text;
    } else {
      return "unknown option " + quoted(arg);
    }
  }
  if (options.listen.empty()) options.listen = default_listen_address();
  if (options.live_tap.empty() && !(options.live_netns.empty() && options.live_dev.empty()))
    return "--live-netns and --live-dev go with --live-tap";
  if (options.live_dev.empty()) options.live_dev = "ntdut0";
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  if (auto error = parse_options(argc, argv, options); !error.empty()) {
    std::fprintf(stderr, "nettwin-server: %s\n%s", error.c_str(), kUsage);
    return 2;
  }
  auto parsed = parse_listen_address(options.listen, options.allow_remote);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    std::fprintf(stderr, "nettwin-server: %s\n", error->c_str());
    return 2;
  }
  const ListenAddress address = std::get<ListenAddress>(parsed);
  if (!address.unix_path.empty()) {
    if (auto error = prepare_unix_path(address.unix_path); !error.empty()) {
      std::fprintf(stderr, "nettwin-server: %s\n", error.c_str());
      return 1;
    }
  }

  // Block the stop signals before any thread starts, so that every thread
  // inherits the mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (options.parent_fd >= 0) exit_with_parent(options.parent_fd);

  // Live mode: the TAP exists before the server says it listens.
  std::unique_ptr<LiveTap> live;
  Engine::Idle live_pump;
  if (!options.live_tap.empty()) {
    auto tap = tun_alloc(options.live_netns, options.live_tap);
    if (auto* error = std::get_if<std::string>(&tap)) {
      std::fprintf(stderr, "nettwin-server: --live-tap: %s\n", error->c_str());
      return 1;
    }
    live = std::make_unique<LiveTap>(std::get<int>(tap), options.live_dev);
    live_pump = [](EngineState& state, int wake_fd) { state.live->pump(*state.stack, wake_fd); };
  }

  std::unique_ptr<Engine> engine;
  try {
    engine = std::make_unique<Engine>([&] {
      auto state = std::make_unique<EngineState>(options.seed, options.trace_buffer,
                                                 options.max_subscriptions, options.trace_budget);
      state->live = std::move(live);
      return state;
    }, live_pump);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nettwin-server: cannot create the stack: %s\n", e.what());
    return 1;
  }

  NicService nic(*engine);
  TraceService trace(*engine, options.stream_queue);
  ControlService control(*engine);
  HooksService hooks(*engine);
  SocketsService sockets(*engine);

  int bound_port = 0;
  // The standard services tools look for: grpc.health.v1.Health (grpc_health_probe,
  // orchestrators) and server reflection (grpcurl lists and calls without .proto files).
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(address.uri, grpc::InsecureServerCredentials(),
                           address.tcp ? &bound_port : nullptr);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(request_parse_interceptor());
  builder.experimental().SetInterceptorCreators(std::move(interceptors));
  builder.RegisterService(&nic);
  builder.RegisterService(&trace);
  builder.RegisterService(&control);
  builder.RegisterService(&hooks);
  builder.RegisterService(&sockets);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || (address.tcp && bound_port == 0)) {
    std::fprintf(stderr, "nettwin-server: cannot listen on %s\n", address.uri.c_str());
    return 1;
  }

  const std::string shown =
      address.tcp ? address.tcp_host + ":" + std::to_string(bound_port) : address.uri;
  std::printf("nettwin-server listening on %s\n", shown.c_str());
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);

  // Live streams end first, each with status OK (at Shutdown's deadline they
  // would be cancelled instead), then the server stops taking calls, then the
  // engine drains and stops. A stream whose client reads nothing may not end
  // in time; Shutdown cancels it.
  try {
    engine->call([](EngineState& state) { state.hub.close_all_live(); });
  } catch (const std::exception&) {
  }
  trace.wait_streams_ended(kStreamsEndGrace);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  engine->stop();
  engine.reset();
  if (!address.unix_path.empty()) {
    unlink(address.unix_path.c_str());
    if (options.remove_socket_dir)
      rmdir(address.unix_path.substr(0, address.unix_path.rfind('/')).c_str());
  }
  std::fprintf(stderr, "nettwin-server: stopped by %s\n", strsignal(signal_number));
  return 0;
}
