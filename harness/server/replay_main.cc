// nettwin-replay: replays a pcap into a one-device stack and writes the stack's
// output as a pcap. See replay_options.cc for the command line.
#include <cstdio>
#include <variant>

#include "replay.h"
#include "replay_options.h"

int main(int argc, char** argv) {
  using namespace nettwin::server;
  auto parsed = parse_replay_options(argc, argv);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    if (error->empty()) {  // --help
      std::fputs(kReplayUsage, stdout);
      return 0;
    }
    std::fprintf(stderr, "nettwin-replay: %s\n%s", error->c_str(), kReplayUsage);
    return 2;
  }
  const ReplayOptions& options = std::get<ReplayOptions>(parsed);
  ReplaySummary s;
  const int status = run_replay(options, s);
  if (status != 0) return status;
  const double rate = s.seconds > 0 ? double(s.read) / s.seconds : 0;
  std::printf(
      "nettwin-replay: read %llu frames from %s; injected %llu (rx_missed %llu); skipped %llu "
      "(DUT's own %llu, other hosts %llu, too short %llu, cut by snaplen %llu); refused %llu\n"
      "nettwin-replay: wrote %llu frames to %s; %.6f s, %.0f frames/s\n",
      (unsigned long long)s.read, options.in.c_str(), (unsigned long long)s.injected,
      (unsigned long long)s.rx_missed,
      (unsigned long long)(s.own + s.other_host + s.too_short + s.cut), (unsigned long long)s.own,
      (unsigned long long)s.other_host, (unsigned long long)s.too_short,
      (unsigned long long)s.cut, (unsigned long long)s.refused, (unsigned long long)s.written,
      options.out.c_str(), s.seconds, rate);
  return 0;
}
