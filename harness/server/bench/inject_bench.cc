// nettwin-inject-bench: batched gRPC injection into a running nettwin-server
// (ci/bench.sh starts it), frames/s of 60-byte UDP frames through Nic.InjectStream,
// each batch run until idle. A figure, never a test assertion.
//   nettwin-inject-bench ADDRESS [--frames N] [--batch B] [--form packed|frames]
//                        [--trace EVENTS] [--trace-form packed|events] [--server-pid PID]
// --form frames sends one Frame message per frame (the form before packed blobs);
// --trace opens one buffered subscription (Trace.Open) to EVENTS ("net:netif_receive_skb",
// "*" for every tracepoint) that a second thread reads in batches while frames go in,
// as packed blobs (Trace.Read packed) or, with --trace-form events, one TraceEvent each;
// --server-pid adds the server's CPU time (from /proc) beside the wall time.
// --echo sends ICMP echo requests instead (the peer a permanent neighbour), each batch
// with Nic.Inject and then its replies read off the wire in packed batches (Nic.ReadWire),
// as a harness steps: injection and the wire read together; replies the wire could not
// hold (dev.ntdut0.wire_dropped) would be counted, not read.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include "nettwin.grpc.pb.h"
#include "stack/bench/bench_frames.h"

namespace v1 = nettwin::v1;

namespace {

struct Options {
  std::string address;
  uint64_t frames = 4'000'000;
  uint32_t batch = 4096;  // the largest RX ring (ethtool -G rx 4096): one batch fills it
  bool packed = true;
  std::string trace;  // empty: tracing off
  bool packed_events = true;
  int server_pid = 0;
  bool echo = false;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "nettwin-inject-bench: %s\nusage: nettwin-inject-bench ADDRESS [--frames N] [--batch B] "
               "[--form packed|frames] [--trace EVENTS] [--trace-form packed|events] [--server-pid PID] [--echo]\n", why);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + arg).c_str());
      return argv[++i];
    };
    if (arg == "--frames") o.frames = std::stoull(value());
    else if (arg == "--batch") o.batch = static_cast<uint32_t>(std::stoul(value()));
    else if (arg == "--form") {
      const std::string form = value();
      if (form != "packed" && form != "frames") usage("--form is packed or frames");
      o.packed = form == "packed";
    } else if (arg == "--trace") o.trace = value();
    else if (arg == "--trace-form") {
      const std::string form = value();
      if (form != "packed" && form != "events") usage("--trace-form is packed or events");
      o.packed_events = form == "packed";
    }
    else if (arg == "--server-pid") o.server_pid = std::stoi(value());
    else if (arg == "--echo") o.echo = true;
    else if (o.address.empty() && arg[0] != '-') o.address = arg;
    else usage(("unknown argument " + arg).c_str());
  }
  if (o.address.empty()) usage("no server address");
  if (o.batch == 0 || o.batch > 4096) usage("--batch is 1 to 4096 (the RX ring's largest size)");
  if (o.echo && !o.trace.empty()) usage("--echo and --trace are figures of their own: one at a time");
  return o;
}

void check(const grpc::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "nettwin-inject-bench: %s: %s\n", what, status.error_message().c_str());
  std::exit(1);
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double process_cpu_s(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(stat.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return double(utime + stime) / double(sysconf(_SC_CLK_TCK));
}

// A fresh stack: ring NIC ntdut0 (RX ring of 4096) at 198.51.100.2, a UDP socket
// bound to port 5000 that nobody reads (once its buffer is full, the rest are
// dropped in __udp_queue_rcv_skb, as on Linux); with echo, the sender
// 198.51.100.1 a permanent neighbour, so that replies leave without ARP.
void set_up(const std::shared_ptr<grpc::Channel>& channel, bool echo) {
  auto control = v1::Control::NewStub(channel);
  auto sockets = v1::Sockets::NewStub(channel);
  v1::Empty empty;
  {
    grpc::ClientContext ctx;
    v1::ResetRequest reset;
    reset.set_seed(1);
    check(control->Reset(&ctx, reset, &empty), "Control.Reset");
  }
  {
    grpc::ClientContext ctx;
    v1::DeviceConfig dev;
    dev.set_name("ntdut0");
    dev.set_kind("ring");
    dev.set_mac("02:00:00:00:01:02");
    dev.set_rx_ring_size(4096);
    check(control->CreateDevice(&ctx, dev, &empty), "Control.CreateDevice");
  }
  {
    grpc::ClientContext ctx;
    v1::AddressRequest addr;
    addr.set_dev("ntdut0");
    addr.set_cidr("198.51.100.2/24");
    check(control->AddAddress(&ctx, addr, &empty), "Control.AddAddress");
  }
  if (echo) {
    grpc::ClientContext ctx;
    v1::NeighbourRequest neigh;
    neigh.set_dev("ntdut0");
    neigh.set_ip("198.51.100.1");
    neigh.set_mac("02:00:00:00:01:01");
    neigh.set_state("permanent");
    check(control->AddNeighbour(&ctx, neigh, &empty), "Control.AddNeighbour");
  }
  v1::SockReply reply;
  {
    grpc::ClientContext ctx;
    v1::SocketRequest sock;
    sock.set_domain(2);  // AF_INET
    sock.set_type(2);    // SOCK_DGRAM
    check(sockets->Socket(&ctx, sock, &reply), "Sockets.Socket");
  }
  grpc::ClientContext ctx;
  v1::SockAddrRequest bind;
  bind.set_fd(static_cast<int32_t>(reply.ret()));
  bind.mutable_addr()->set_ip("198.51.100.2");
  bind.mutable_addr()->set_port(5000);
  check(sockets->Bind(&ctx, bind, &reply), "Sockets.Bind");
  if (reply.ret() != 0) {
    std::fprintf(stderr, "nettwin-inject-bench: bind: errno %d\n", reply.errno_code());
    std::exit(1);
  }
}

// One batch of `count` copies of `frame`, packed or as Frame messages.
v1::InjectRequest make_batch(const std::vector<uint8_t>& frame, uint32_t count, bool packed) {
  v1::InjectRequest batch;
  batch.set_dev("ntdut0");
  batch.set_run_until_idle(true);
  if (!packed) {
    for (uint32_t i = 0; i < count; ++i) batch.add_frames()->set_data(frame.data(), frame.size());
    return batch;
  }
  std::string& blob = *batch.mutable_packed();
  blob.reserve(count * (4 + frame.size()));
  const uint32_t len = static_cast<uint32_t>(frame.size());
  for (uint32_t i = 0; i < count; ++i) {
    blob.append(reinterpret_cast<const char*>(&len), 4);  // little-endian hosts (x86, arm64)
    blob.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  }
  return batch;
}

// The records of a packed blob, each a u32 length then `fixed` bytes before
// that many: Trace.Read's event records (fixed 0: the length is the rest's)
// and Nic.ReadWire's wire records (fixed 12: ifindex and time, then the frame).
uint64_t count_records(const std::string& blob, size_t fixed) {
  uint64_t records = 0;
  for (size_t at = 0; at + 4 + fixed <= blob.size(); ++records) {
    uint32_t len;
    std::memcpy(&len, blob.data() + at, 4);
    at += 4 + fixed + len;
  }
  return records;
}

// Reads a buffered subscription in batches until told to stop and it is empty.
struct TraceReader {
  bool packed = true;
  uint64_t events = 0;
  uint64_t lost = 0;
  void run(v1::Trace::Stub& trace, uint64_t id, const std::atomic<bool>& stop) {
    for (;;) {
      const bool last = stop.load();
      grpc::ClientContext ctx;
      v1::ReadEventsRequest read;
      read.set_id(id);
      read.set_max_bytes(64 << 20);
      read.set_packed(packed);
      v1::TraceEvents got;
      check(trace.Read(&ctx, read, &got), "Trace.Read");
      const uint64_t taken = packed ? count_records(got.packed(), 0) : uint64_t(got.events_size());
      events += taken;
      lost = got.lost();
      if (last && got.remaining() == 0) return;
      if (taken == 0) std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }
};

// Reads ntdut0's wire in packed batches until it is empty; returns the frames read.
uint64_t read_wire(v1::Nic::Stub& nic) {
  uint64_t frames = 0;
  for (;;) {
    grpc::ClientContext ctx;
    v1::ReadWireRequest read;
    read.set_dev("ntdut0");
    read.set_max_bytes(64 << 20);
    read.set_packed(true);
    v1::ReadWireReply got;
    check(nic.ReadWire(&ctx, read, &got), "Nic.ReadWire");
    frames += count_records(got.packed(), 12);
    if (got.remaining() == 0) return frames;
  }
}

// A counter of ReadCounters by name (0 when absent).
uint64_t read_counter(const std::shared_ptr<grpc::Channel>& channel, const std::string& name) {
  auto control = v1::Control::NewStub(channel);
  grpc::ClientContext ctx;
  v1::Empty empty;
  v1::Counters counters;
  check(control->ReadCounters(&ctx, empty, &counters), "Control.ReadCounters");
  for (const auto& c : counters.counters())
    if (c.name() == name) return c.value();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(v1::MAX_MESSAGE_BYTES);
  args.SetMaxSendMessageSize(v1::MAX_MESSAGE_BYTES);
  auto channel = grpc::CreateCustomChannel(o.address, grpc::InsecureChannelCredentials(), args);
  set_up(channel, o.echo);
  auto nic = v1::Nic::NewStub(channel);
  auto trace = v1::Trace::NewStub(channel);

  const v1::InjectRequest batch =
      make_batch(o.echo ? nettwin::bench::echo_request(nettwin::bench::kEchoPayload60)
                        : nettwin::bench::udp_frame(nettwin::bench::kUdpPayload60, true),
                 o.batch, o.packed);
  uint64_t subscription = 0;
  std::atomic<bool> stop{false};
  TraceReader reader;
  reader.packed = o.packed_events;
  std::thread reading;
  if (!o.trace.empty()) {
    grpc::ClientContext ctx;
    v1::TraceFilter filter;
    if (o.trace != "*") filter.add_events(o.trace);
    v1::Subscription sub;
    check(trace->Open(&ctx, filter, &sub), "Trace.Open");
    subscription = sub.id();
    reading = std::thread([&] { reader.run(*trace, subscription, stop); });
  }
  uint64_t replies = 0;

  const uint64_t batches = (o.frames + o.batch - 1) / o.batch;
  const double cpu0 = o.server_pid ? process_cpu_s(o.server_pid) : 0;
  const auto t0 = std::chrono::steady_clock::now();
  v1::InjectReply reply;
  if (o.echo) {
    for (uint64_t i = 0; i < batches; ++i) {
      grpc::ClientContext ctx;
      v1::InjectReply one;
      check(nic->Inject(&ctx, batch, &one), "Nic.Inject");
      reply.set_queued(reply.queued() + one.queued());
      reply.set_rx_missed(reply.rx_missed() + one.rx_missed());
      replies += read_wire(*nic);
    }
  } else {
    grpc::ClientContext ctx;
    auto writer = nic->InjectStream(&ctx, &reply);
    for (uint64_t i = 0; i < batches; ++i) {
      if (!writer->Write(batch)) break;
    }
    writer->WritesDone();
    check(writer->Finish(), "Nic.InjectStream");
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  if (reading.joinable()) {
    reading.join();
    grpc::ClientContext close_ctx;  // a subscription outlives Reset: close it for the next run
    v1::Subscription sub;
    sub.set_id(subscription);
    v1::Empty empty;
    check(trace->Close(&close_ctx, sub, &empty), "Trace.Close");
  }
  const double server_cpu = o.server_pid ? process_cpu_s(o.server_pid) - cpu0 : 0;

  const uint64_t frames = uint64_t(reply.queued()) + reply.rx_missed();
  std::printf("nettwin-inject-bench: %s batches of %u 60 B %s, %s: %llu frames in %.2f s: "
              "%.0f frames/s (%u queued, %u missed)",
              o.packed ? "packed" : "Frame-message", o.batch,
              o.echo ? "ICMP echo requests, the replies read off the wire packed" : "UDP frames",
              o.trace.empty() ? "tracing off"
                              : ("one subscription to " + o.trace + (o.packed_events ? " read packed" : " read as events")).c_str(),
              static_cast<unsigned long long>(frames), seconds, double(frames) / seconds, reply.queued(),
              reply.rx_missed());
  if (o.server_pid) std::printf("; server CPU %.2f s (%.0f ns/frame)", server_cpu, server_cpu * 1e9 / double(frames));
  if (!o.trace.empty())
    std::printf("; %llu events read, %llu lost", static_cast<unsigned long long>(reader.events),
                static_cast<unsigned long long>(reader.lost));
  if (o.echo)
    std::printf("; %llu replies read, %llu not held by the wire", static_cast<unsigned long long>(replies),
                static_cast<unsigned long long>(read_counter(channel, "dev.ntdut0.wire_dropped")));
  std::printf("\n");
  return 0;
}
