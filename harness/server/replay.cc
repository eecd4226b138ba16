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
constexpr uint64_t kRefusalsShown = 10;
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

  // Virtual time `base` stands for the capture time `origin`: the first injected
  // frame's timestamp. Output frames keep the input's timeline.
  const uint64_t base = stack.now_ns();
  bool have_origin = false;
  uint64_t origin = 0;

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
    if (next == PcapInput::Next::Error) {
      std::fprintf(stderr, "nettwin-replay: %s\n", error.c_str());
      return 2;
    }
    ++summary.read;
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
    // Out-of-order timestamps inject at the current time: the clock never runs back.
    const uint64_t due = base + (record.ts_ns > origin ? record.ts_ns - origin : 0);
    if (due > stack.now_ns()) stack.run_until(due);
    auto result = stack.inject(options.dev, record.data);
    if (const auto* refused = std::get_if<Error>(&result)) {
      if (summary.refused++ < kRefusalsShown)
        std::fprintf(stderr, "nettwin-replay: %s: offset %llu: frame not injected: %s\n",
                     options.in.c_str(), static_cast<unsigned long long>(record.offset),
                     refused->message.c_str());
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
  return 0;
}

}  // namespace nettwin::server
