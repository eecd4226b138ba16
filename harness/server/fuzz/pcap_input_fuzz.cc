// Fuzz target: the pcap reader (pcap_input.cc) and the replay around it
// (replay.cc). The input is a pcap or pcapng file; it is read record by record,
// every record checked against what next() promises, then replayed into a stack
// with the recordings' DUT (veth ntdut0, 198.51.100.2/24), the output going to
// /dev/null. A bad file must end in Next::Error with a message naming the file
// and an offset, never in a crash.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <variant>

#include "pcap_input.h"
#include "replay.h"

namespace {

using namespace nettwin::server;

// The input as a file libpcap can open: a memfd, reached by its /proc path.
struct MemFile {
  int fd = -1;
  std::string path;
  MemFile(const uint8_t* data, size_t size) {
    fd = memfd_create("fuzz.pcap", 0);
    if (fd < 0) std::abort();
    for (size_t done = 0; done < size;) {
      const ssize_t n = write(fd, data + done, size - done);
      if (n <= 0) std::abort();
      done += size_t(n);
    }
    path = "/proc/self/fd/" + std::to_string(fd);
  }
  ~MemFile() { close(fd); }
};

void check(bool ok, const char* what, const std::string& detail) {
  if (ok) return;
  std::fprintf(stderr, "pcap_input_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// Reads every record; returns the number read.
size_t read_all(const std::string& path) {
  auto opened = PcapInput::open(path);
  if (auto* error = std::get_if<std::string>(&opened)) {
    check(error->rfind(path + ": offset ", 0) == 0, "open error does not name the file and offset", *error);
    return 0;
  }
  PcapInput& input = *std::get<std::unique_ptr<PcapInput>>(opened);
  PcapRecord record;
  std::string error;
  size_t records = 0;
  uint64_t last_offset = 0;
  for (;;) {
    const auto next = input.next(record, error);
    if (next == PcapInput::Next::End) break;
    if (next == PcapInput::Next::Error || next == PcapInput::Next::Cut) {
      check(error.rfind(path + ": offset ", 0) == 0, "read error does not name the file and offset", error);
      break;
    }
    // A memfd is a regular file: every record's offset is known.
    check(record.offset.has_value(), "record offset unknown in a regular file", std::to_string(records));
    check(records == 0 || *record.offset > last_offset, "record offsets do not grow",
          std::to_string(*record.offset));
    last_offset = *record.offset;
    // Touch every byte, so a span past the buffer shows under ASan.
    volatile uint8_t sum = 0;
    for (uint8_t b : record.data) sum = uint8_t(sum + b);
    ++records;
  }
  return records;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  MemFile file(data, size);
  if (read_all(file.path) == 0) return 0;
  ReplayOptions options;
  options.in = file.path;
  options.out = "/dev/null";
  options.dev = "ntdut0";
  options.mac = {0x02, 0, 0, 0, 0x01, 0x02};
  options.cidr = "198.51.100.2/24";
  options.neighbours = {{"198.51.100.1", "02:00:00:00:01:01"}};
  ReplaySummary summary;
  run_replay(options, summary);
  return 0;
}
