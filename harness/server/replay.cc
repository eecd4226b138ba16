#include "replay.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <variant>

#include "pcap_input.h"
#include "stack/stack.h"

namespace nettwin::server {

namespace {

constexpr size_t kEthHeaderLen = 14;
constexpr int kOutputSnaplen = 262144;
constexpr uint64_t kDrainEvery = 4096;  // injected frames between wire drains
constexpr uint64_t kWarningsShown = 10;  // of each kind; the rest only counted
constexpr size_t kWriteBuffer = 1 << 20;

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
  for (const auto& [ip, mac] : options.neighbours)
    if (!report(stack.add_neighbour(options.dev, ip, mac, "permanent"), "add neighbour " + ip))
      return false;
  return true;
}

// "FILE: offset N: record K", offset left out when the stream cannot tell it.
std::string where(const std::string& input, const PcapRecord& record) {
  std::string text = input + ": ";
  if (record.offset) text += "offset " + std::to_string(*record.offset) + ": ";
  return text + "record " + std::to_string(record.number);
}

}  // namespace

int run_replay(const ReplayOptions& options, ReplaySummary& summary) {
  Stack stack(options.seed);
  if (!configure(stack, options)) return 2;

  auto opened = PcapInput::open(options.in);
  if (auto* error = std::get_if<std::string>(&opened)) {
    std::fprintf(stderr, "nettwin-replay: %s\n", error->c_str());
    return 2;
  }
  auto input = std::move(std::get<std::unique_ptr<PcapInput>>(opened));
  // Checked before the output is opened: opening it would empty the input.
  if (input->is_same_file(options.out)) {
    std::fprintf(stderr, "nettwin-replay: --out %s is the input file %s: not overwriting it\n",
                 options.out.c_str(), input->name().c_str());
    return 2;
  }
  summary.input = input->name();

  PcapWriter writer;
  writer.dead =
      pcap_open_dead_with_tstamp_precision(DLT_EN10MB, kOutputSnaplen, PCAP_TSTAMP_PRECISION_NANO);
  // Our own stream with a large buffer, handed to pcap_dump_fopen (which then closes it).
  FILE* out = std::fopen(options.out.c_str(), "wb");
  if (!out) {
    std::fprintf(stderr, "nettwin-replay: %s: cannot write: %s\n", options.out.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::setvbuf(out, nullptr, _IOFBF, kWriteBuffer);
  writer.dumper = writer.dead ? pcap_dump_fopen(writer.dead, out) : nullptr;
  if (!writer.dumper) {
    std::fclose(out);
    std::fprintf(stderr, "nettwin-replay: %s: cannot write: %s\n", options.out.c_str(),
                 writer.dead ? pcap_geterr(writer.dead) : "pcap_open_dead failed");
    return 1;
  }
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
      pcap_pkthdr header{};
      header.ts.tv_sec = time_t(ts / 1'000'000'000u);
      header.ts.tv_usec = suseconds_t(ts % 1'000'000'000u);  // nanoseconds: a nano pcap
      header.caplen = header.len = uint32_t(frame.data.size());
      pcap_dump(reinterpret_cast<u_char*>(writer.dumper), &header, frame.data.data());
      ++summary.written;
    }
  };

  const auto started = std::chrono::steady_clock::now();
  PcapRecord record;
  std::string error;
  for (;;) {
    const auto next = input->next(record, error);
    if (next == PcapInput::Next::End) break;
    if (next == PcapInput::Next::Cut || next == PcapInput::Next::Error) {
      // As tshark: what came before the break is replayed and written, the break reported.
      summary.stopped = error;
      std::fprintf(stderr, "nettwin-replay: %s%s; replayed the %llu records before it\n",
                   error.c_str(),
                   next == PcapInput::Next::Cut ? " (the input was cut short in a record)" : "",
                   static_cast<unsigned long long>(summary.read));
      break;
    }
    ++summary.read;
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
      continue;
    }
    if (record.data.size() < record.wire_len) {
      ++summary.cut;
      continue;
    }
    Mac dst, src;
    std::copy_n(record.data.begin(), 6, dst.begin());
    std::copy_n(record.data.begin() + 6, 6, src.begin());
    if (src == options.mac) {
      ++summary.own;
      continue;
    }
    if (dst != options.mac && !is_multicast_mac(dst)) {
      ++summary.other_host;
      continue;
    }
    if (!have_origin) {
      have_origin = true;
      origin = record.ts_ns;
    }
    // A timestamp earlier than the clock injects at the current time: virtual
    // time never runs back, and the frames after it keep their own times.
    const uint64_t due = base + (record.ts_ns > origin ? record.ts_ns - origin : 0);
    if (due > stack.now_ns()) stack.run_until(due);
    auto result = stack.inject(options.dev, record.data);
    if (const auto* refused = std::get_if<Error>(&result)) {
      if (summary.refused++ < kWarningsShown)
        std::fprintf(stderr, "nettwin-replay: %s: frame not injected: %s\n",
                     where(summary.input, record).c_str(), refused->message.c_str());
      continue;
    }
    ++summary.injected;
    if (!std::get<InjectResult>(result).queued) ++summary.rx_missed;
    if (summary.injected % kDrainEvery == 0) drain();
  }
  stack.run_until_idle();
  drain();
  summary.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  if (pcap_dump_flush(writer.dumper) != 0) {
    std::fprintf(stderr, "nettwin-replay: %s: write failed\n", options.out.c_str());
    return 1;
  }
  if (!summary.stopped.empty()) return 2;
  return summary.injected == 0 || summary.rx_missed > 0 ? 3 : 0;
}

void print_summary(std::FILE* to, const ReplayOptions& options, const ReplaySummary& s) {
  using ull = unsigned long long;
  std::fprintf(to,
               "nettwin-replay: read %llu frames from %s; injected %llu; skipped %llu (DUT's own "
               "%llu, other hosts %llu, too short %llu, cut by snaplen %llu); refused %llu (larger "
               "than the device's max frame); lost %llu (rx_missed: RX ring or backlog full)\n",
               ull(s.read), s.input.c_str(), ull(s.injected), ull(s.skipped()), ull(s.own),
               ull(s.other_host), ull(s.too_short), ull(s.cut), ull(s.refused), ull(s.rx_missed));
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
