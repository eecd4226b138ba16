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
  ReplaySummary summary;
  const int status = options.convert ? run_convert(options, summary) : run_replay(options, summary);
  // Every replay that started says what it did, also when it stopped early.
  if (summary.ran) print_summary(stdout, options, summary);
  return status;
}
