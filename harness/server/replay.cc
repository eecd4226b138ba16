#include "replay.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_set>
#include <utility>
#include <variant>

#include "pcap_input.h"
#include "replay_listeners.h"
#include "replay_tcp_shift.h"
#include "stack/stack.h"

namespace nettwin::server {

namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr int kOutputSnaplen = 262144;
constexpr uint64_t kDrainEvery = 4096;  // injected frames between wire drains
constexpr uint64_t kWarningsShown = 10;  // of each kind; the rest only counted
constexpr size_t kWriteBuffer = 1 << 20;
constexpr uint64_t kProgressEvery = 1 << 16;  // records between progress lines
constexpr uint16_t kEthIpv4 = 0x0800;
constexpr uint16_t kEthArp = 0x0806;
constexpr size_t kArpEnd = 42;   // Ethernet header and an Ethernet/IPv4 ARP body
constexpr size_t kIpv4End = 34;  // Ethernet header and an IPv4 header without options

struct PcapWriter {
  pcap_t* dead = nullptr;
  pcap_dumper_t* dumper = nullptr;
  ~PcapWriter() {
    if (dumper) pcap_dump_close(dumper);
    if (dead) pcap_close(dead);
  }
};

bool configure(Stack& stack, const ReplayOptions& options) {
  DeviceConfig config;
  config.name = options.dev;
  config.kind = options.kind;
  config.mac = options.mac;
  config.ifindex = options.ifindex;
  auto report = [&](const Status& status, const std::string& doing) {
    if (!status) return true;
    std::fprintf(stderr, "nettwin-replay: %s: %s\n", doing.c_str(), status->message.c_str());
    return false;
  };
  if (!report(stack.create_device(config), "create device " + options.dev)) return false;
  if (!report(stack.add_address(options.dev, options.cidr), "add address " + options.cidr))
    return false;
  if (options.onlink_default) {
    Route everywhere;
    everywhere.dst = "0.0.0.0/0";
    everywhere.dev = options.dev;
    if (!report(stack.add_route(everywhere), "add route 0.0.0.0/0 dev " + options.dev)) return false;
  }
  for (const auto& [ip, mac] : options.neighbours)
    if (!report(stack.add_neighbour(options.dev, ip, mac, "permanent"), "add neighbour " + ip))
      return false;
  return true;
}

// Opens OUT.pcap (nanosecond, Ethernet) through our own stream with a large
// buffer, handed to pcap_dump_fopen (which then closes it). "" or why not.
std::string open_writer(PcapWriter& writer, const std::string& path) {
  writer.dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kOutputSnaplen, PCAP_TSTAMP_PRECISION_NANO);
  FILE* out = std::fopen(path.c_str(), "wb");
  if (!out) return path + ": cannot write: " + std::strerror(errno);
  std::setvbuf(out, nullptr, _IOFBF, kWriteBuffer);
  writer.dumper = writer.dead ? pcap_dump_fopen(writer.dead, out) : nullptr;
  if (writer.dumper) return "";
  std::fclose(out);
  return path + ": cannot write: " + (writer.dead ? pcap_geterr(writer.dead) : "pcap_open_dead failed");
}

// Opens the input and then the output: 0, or the exit status (2 a bad input or
// --out naming it, checked before the output is opened, which would empty it; 1
// an output that cannot be written).
int open_files(const ReplayOptions& options, ReplaySummary& summary, std::unique_ptr<PcapInput>& input,
               PcapWriter& writer) {
  auto opened = PcapInput::open(options.in);
  if (auto* error = std::get_if<std::string>(&opened)) {
    std::fprintf(stderr, "nettwin-replay: %s\n", error->c_str());
    return 2;
  }
  input = std::move(std::get<std::unique_ptr<PcapInput>>(opened));
  if (input->is_same_file(options.out)) {
    std::fprintf(stderr, "nettwin-replay: --out %s is the input file %s: not overwriting it\n",
                 options.out.c_str(), input->name().c_str());
    return 2;
  }
  summary.input = input->name();
  if (const std::string problem = open_writer(writer, options.out); !problem.empty()) {
    std::fprintf(stderr, "nettwin-replay: %s\n", problem.c_str());
    return 1;
  }
  return 0;
}

void write_frame(PcapWriter& writer, uint64_t ts_ns, std::span<const uint8_t> frame, uint32_t wire_len) {
  pcap_pkthdr header{};
  header.ts.tv_sec = time_t(ts_ns / 1'000'000'000u);
  header.ts.tv_usec = suseconds_t(ts_ns % 1'000'000'000u);  // nanoseconds: a nano pcap
  header.caplen = uint32_t(frame.size());
  header.len = wire_len;
  pcap_dump(reinterpret_cast<u_char*>(writer.dumper), &header, frame.data());
}

// final: the input is read to its end (a bar shows 100% however short the file).
void progress(const ReplayOptions& options, const PcapInput& input, uint64_t read, bool final = false) {
  if (options.progress && (final || read % kProgressEvery == 0))
    std::fprintf(stderr, "nettwin-replay: progress %llu %llu\n",
                 static_cast<unsigned long long>(input.file_position()),
                 static_cast<unsigned long long>(input.file_size()));
}

uint32_t be32_at(std::span<const uint8_t> frame, size_t at) {
  return uint32_t(frame[at]) << 24 | uint32_t(frame[at + 1]) << 16 | uint32_t(frame[at + 2]) << 8 |
         frame[at + 3];
}

std::string dotted(uint32_t addr) {
  return std::to_string(addr >> 24) + "." + std::to_string(addr >> 16 & 0xff) + "." +
         std::to_string(addr >> 8 & 0xff) + "." + std::to_string(addr & 0xff);
}

// --learn-neigh: the DUT of a capture knew its peers' MACs when it began unless
// it asked (ARP): a peer first met in an IPv4 frame, to or from the DUT, with no
// ARP about its address before, becomes a permanent neighbour with the MAC that
// frame gives it. Returns how many were learnt.
class NeighbourLearner {
 public:
  uint64_t learnt = 0;
  uint64_t refused = 0;
  void see(Stack& stack, const ReplayOptions& options, std::span<const uint8_t> frame, bool from_dut) {
    const uint16_t type = uint16_t(frame[12] << 8 | frame[13]);
    if (type == kEthArp && frame.size() >= kArpEnd) {
      asked_.insert(be32_at(frame, 28));
      asked_.insert(be32_at(frame, 38));
      return;
    }
    if (type != kEthIpv4 || frame.size() < kIpv4End) return;
    const uint32_t peer = be32_at(frame, from_dut ? 30 : 26);
    const size_t mac_at = from_dut ? 0 : 6;
    Mac mac;
    std::copy_n(frame.begin() + mac_at, 6, mac.begin());
    if (peer == 0 || is_multicast_mac(mac) || !asked_.insert(peer).second) return;
    if (stack.add_neighbour(options.dev, dotted(peer), format_mac(mac), "permanent"))
      ++refused;  // not on the device's link: --ip's prefix does not cover it
    else
      ++learnt;
  }

 private:
  std::unordered_set<uint32_t> asked_;  // addresses ARP asked about, or already learnt
};

// "FILE: offset N: record K", offset left out when the stream cannot tell it.
std::string where(const std::string& input, const PcapRecord& record) {
  std::string text = input + ": ";
  if (record.offset) text += "offset " + std::to_string(*record.offset) + ": ";
  return text + "record " + std::to_string(record.number);
}

// Hands each record of the input to `each`, counting them in summary.read, with
// progress lines. As tshark: a break in the input stops the loop, and what came
// before it counts; the break is reported and kept in summary.stopped.
template <typename Each>
void for_each_record(PcapInput& input, const ReplayOptions& options, ReplaySummary& summary,
                     const char* done, Each&& each) {
  PcapRecord record;
  std::string error;
  for (;;) {
    const auto next = input.next(record, error);
    if (next == PcapInput::Next::End) break;
    if (next != PcapInput::Next::Record) {
      summary.stopped = error;
      std::fprintf(stderr, "nettwin-replay: %s%s; %s the %llu records before it\n", error.c_str(),
                   next == PcapInput::Next::Cut ? " (the input was cut short in a record)" : "", done,
                   static_cast<unsigned long long>(summary.read));
      break;
    }
    ++summary.read;
    progress(options, input, summary.read);
    each(std::as_const(record));
  }
  progress(options, input, summary.read, true);
}

}  // namespace

int run_replay(const ReplayOptions& options, ReplaySummary& summary) {
  Stack stack(options.seed);
  if (!configure(stack, options)) return 2;

  std::unique_ptr<PcapInput> input;
  PcapWriter writer;
  if (const int status = open_files(options, summary, input, writer)) return status;
  ReplayListeners listeners;
  if (const std::string problem =
          listeners.listen(stack, parse_cidr(options.cidr)->addr, options.listen_ports);
      !problem.empty()) {
    std::fprintf(stderr, "nettwin-replay: %s\n", problem.c_str());
    return 2;
  }
  NeighbourLearner neighbours;
  // With listeners, the peers' TCP numbers are fitted to the stack's (replay_tcp_shift.h),
  // which needs the stack's SYN-ACK read before the peer's next frame goes in.
  TcpShift tcp_shift;
  std::vector<uint8_t> shifted;
  summary.ran = true;

  // Virtual time `base` stands for the capture time `origin`: the first injected
  // frame's timestamp. Output frames keep the input's timeline.
  const uint64_t base = stack.now_ns();
  bool have_origin = false;
  uint64_t origin = 0;
  uint64_t previous_ts = 0;

  auto drain = [&] {
    for (const WireFrame& frame : stack.take_wire()) {
      const int64_t offset = int64_t(frame.time_ns) - int64_t(base);
      const uint64_t ts = uint64_t(std::max<int64_t>(0, int64_t(origin) + offset));
      write_frame(writer, ts, frame.data, uint32_t(frame.data.size()));
      ++summary.written;
      if (!listeners.empty()) tcp_shift.see_dut_frame(frame.data, true);
    }
  };

  const auto started = std::chrono::steady_clock::now();
  for_each_record(*input, options, summary, "replayed", [&](const PcapRecord& record) {
    if (summary.read > 1 && record.ts_ns < previous_ts &&
        summary.backwards++ < kWarningsShown)
      std::fprintf(stderr,
                   "nettwin-replay: warning: %s: timestamp %.9f s earlier than the record "
                   "before: replayed at the current virtual time\n",
                   where(summary.input, record).c_str(), double(previous_ts - record.ts_ns) / 1e9);
    previous_ts = record.ts_ns;
    if (!have_origin && summary.read == 1) origin = record.ts_ns;  // until a frame is injected
    if (record.data.size() < kEthHeaderLen) {
      ++summary.too_short;
      return;
    }
    if (record.data.size() < record.wire_len) {
      ++summary.cut;
      return;
    }
    Mac dst, src;
    std::copy_n(record.data.begin(), 6, dst.begin());
    std::copy_n(record.data.begin() + 6, 6, src.begin());
    const bool from_dut = src == options.mac;
    const bool to_dut = !from_dut && (dst == options.mac || is_multicast_mac(dst));
    if (options.learn_neighbours && (from_dut || to_dut))
      neighbours.see(stack, options, record.data, from_dut);
    if (from_dut) {
      ++summary.own;
      if (!listeners.empty()) {
        tcp_shift.see_dut_frame(record.data, false);
        // The DUT's program closed a connection here: so does the stack's, at this time.
        if (have_origin && record.ts_ns > origin && base + (record.ts_ns - origin) > stack.now_ns())
          stack.run_until(base + (record.ts_ns - origin));
        listeners.see_dut_frame(stack, record.data);
      }
      return;
    }
    if (!to_dut) {
      ++summary.other_host;
      return;
    }
    if (!have_origin) {
      have_origin = true;
      origin = record.ts_ns;
    }
    // A timestamp earlier than the clock injects at the current time: virtual
    // time never runs back, and the frames after it keep their own times.
    const uint64_t due = base + (record.ts_ns > origin ? record.ts_ns - origin : 0);
    if (due > stack.now_ns()) stack.run_until(due);
    std::span<const uint8_t> frame = record.data;
    if (!listeners.empty()) {
      listeners.serve(stack);
      drain();  // the stack's SYN-ACKs, whose ISNs the peer's next frames are fitted to
      if (tcp_shift.fit_peer_frame(frame, shifted)) ++summary.tcp_fitted;
    }
    auto result = stack.inject(options.dev, frame);
    if (const auto* refused = std::get_if<Error>(&result)) {
      if (summary.refused++ < kWarningsShown)
        std::fprintf(stderr, "nettwin-replay: %s: frame not injected: %s\n",
                     where(summary.input, record).c_str(), refused->message.c_str());
      return;
    }
    ++summary.injected;
    if (!std::get<InjectResult>(result).queued) ++summary.rx_missed;
    if (!listeners.empty()) {  // the programs wake as the frame arrives, as Linux's would
      stack.run_until(stack.now_ns());
      listeners.serve(stack);
    }
    if (summary.injected % kDrainEvery == 0) drain();
  });
  stack.run_until_idle();
  // The programs read what came last and close what the peers closed; then their FINs go.
  for (int round = 0; round < 3 && !listeners.empty(); ++round) {
    listeners.close_finished(stack);
    stack.run_until_idle();
  }
  drain();
  summary.neighbours_learnt = neighbours.learnt;
  summary.neighbours_refused = neighbours.refused;
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (pcap_dump_flush(writer.dumper) != 0) {
    std::fprintf(stderr, "nettwin-replay: %s: write failed\n", options.out.c_str());
    return 1;
  }
  if (!summary.stopped.empty()) return 2;
  return summary.injected == 0 || summary.rx_missed > 0 ? 3 : 0;
}

int run_convert(const ReplayOptions& options, ReplaySummary& summary) {
  std::unique_ptr<PcapInput> input;
  PcapWriter writer;
  if (const int status = open_files(options, summary, input, writer)) return status;
  summary.ran = true;
  const auto started = std::chrono::steady_clock::now();
  for_each_record(*input, options, summary, "converted", [&](const PcapRecord& record) {
    write_frame(writer, record.ts_ns, record.data, record.wire_len);
    ++summary.written;
  });
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (pcap_dump_flush(writer.dumper) != 0) {
    std::fprintf(stderr, "nettwin-replay: %s: write failed\n", options.out.c_str());
    return 1;
  }
  return summary.stopped.empty() ? 0 : 2;
}

void print_summary(std::FILE* to, const ReplayOptions& options, const ReplaySummary& s) {
  using ull = unsigned long long;
  if (options.convert) {
    std::fprintf(to, "nettwin-replay: converted %llu frames from %s to %s; %.6f s\n", ull(s.read),
                 s.input.c_str(), options.out.c_str(), s.seconds);
    if (!s.stopped.empty()) std::fprintf(to, "nettwin-replay: stopped early at %s\n", s.stopped.c_str());
    return;
  }
  std::fprintf(to,
               "nettwin-replay: read %llu frames from %s; injected %llu; skipped %llu (DUT's own "
               "%llu, other hosts %llu, too short %llu, cut by snaplen %llu); refused %llu (larger "
               "than the device's max frame); lost %llu (rx_missed: RX ring or backlog full)\n",
               ull(s.read), s.input.c_str(), ull(s.injected), ull(s.skipped()), ull(s.own),
               ull(s.other_host), ull(s.too_short), ull(s.cut), ull(s.refused), ull(s.rx_missed));
  if (s.neighbours_learnt || s.neighbours_refused)
    std::fprintf(to, "nettwin-replay: neighbours learnt from the capture: %llu (%llu off the device's link)\n",
                 ull(s.neighbours_learnt), ull(s.neighbours_refused));
  if (s.tcp_fitted)
    std::fprintf(to, "nettwin-replay: TCP frames fitted to the stack's ISN and clock: %llu\n",
                 ull(s.tcp_fitted));
  if (s.backwards)
    std::fprintf(to, "nettwin-replay: warning: %llu timestamps went backwards\n", ull(s.backwards));
  if (!s.stopped.empty())
    std::fprintf(to, "nettwin-replay: stopped early at %s\n", s.stopped.c_str());
  if (s.injected == 0) std::fprintf(to, "nettwin-replay: nothing was injected\n");
  const double rate = s.seconds > 0 ? double(s.read) / s.seconds : 0;
  std::fprintf(to, "nettwin-replay: wrote %llu frames to %s; %.6f s, %.0f frames/s\n",
               ull(s.written), options.out.c_str(), s.seconds, rate);
}

}  // namespace nettwin::server
