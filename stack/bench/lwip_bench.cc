// nettwin-lwip-bench: lwIP 2.1.3 (Debian's liblwip, benchmark only) carrying
// the same frames as nettwin-frames, for ci/bench.sh to set side by side:
//   udp60|udp1514  a frame handed to the netif's input (ethernet_input) in a
//                  fresh pbuf, the datagram's payload copied out in the
//                  udp_pcb's recv callback (as recvmsg would);
//   echo60         an echo request in, the reply caught in linkoutput;
//   tcp [MiB]      bulk TCP between two lwIP stacks back to back (MTU 1500),
//                  each frame copied into a pbuf of the other (one copy, as a
//                  NIC's DMA), the receiver copying the data out.
// With --count the frames run once, untimed, inside counted_frames, for
// callgrind's --toggle-collect='*counted_frames*'.
//
// How lwIP is driven: Debian builds it for the Hurd's unix port, NO_SYS=0
// with core locking, MEMP_MEM_MALLOC (every pbuf and pcb from malloc) and
// TCP_WND 0xFFFF. We never call tcpip_init: no tcpip thread exists, so the
// port's sys_check_core_locking has no thread to check against and the core
// functions (lwip_init, ethernet_input, udp_*, tcp_*) are called directly on
// this one thread, the way a NO_SYS=1 main loop would, with tcp_tmr called
// only when the transfer stalls (delayed ACKs). lwIP keeps its state in
// globals, one stack per copy of the library: for two stacks the library is
// loaded twice with dlopen (the second time from a copy of the file, a
// different inode, so the loader maps it anew), RTLD_LOCAL so each copy's
// calls bind to itself, and every function is called through that copy's
// pointers. Nothing links against liblwip.
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

extern "C" {
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"  // tcp_tmr
#include "lwip/tcp.h"
#include "lwip/udp.h"
#include "netif/ethernet.h"
}

#include "bench_frames.h"

#ifndef NETTWIN_LIBLWIP
#define NETTWIN_LIBLWIP "liblwip.so.0"
#endif

namespace nettwin::bench {
namespace {

#define LWIP_FNS(X)                                                                                        \
  X(lwip_init) X(netif_add) X(netif_set_up) X(netif_set_link_up) X(netif_set_default) X(ethernet_input)  \
  X(etharp_output) X(pbuf_alloc) X(pbuf_take) X(pbuf_copy_partial) X(pbuf_free) X(udp_new) X(udp_bind)   \
  X(udp_recv) X(tcp_new) X(tcp_bind) X(tcp_listen_with_backlog) X(tcp_accept) X(tcp_arg) X(tcp_recv)      \
  X(tcp_connect) X(tcp_write) X(tcp_output) X(tcp_recved) X(tcp_tmr)

// One copy of the library: its own globals, its functions.
struct Lwip {
  void* handle = nullptr;
#define LWIP_FN_MEMBER(f) decltype(&::f) f = nullptr;
  LWIP_FNS(LWIP_FN_MEMBER)
#undef LWIP_FN_MEMBER
  std::string load(const std::string& path) {
    handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return dlerror();
#define LWIP_FN_LOAD(f)                                              \
  f = reinterpret_cast<decltype(f)>(dlsym(handle, #f));              \
  if (!f) return "no symbol " #f;
    LWIP_FNS(LWIP_FN_LOAD)
#undef LWIP_FN_LOAD
    lwip_init();
    return "";
  }
};

// A second copy of the library file, so that dlopen maps a second instance.
std::string load_copy(Lwip& l) {
  namespace fs = std::filesystem;
  char dir[] = "/tmp/nettwin-lwip-XXXXXX";
  if (!mkdtemp(dir)) return "mkdtemp failed";
  const fs::path copy = fs::path(dir) / "liblwip-copy.so";
  void* probe = dlopen(NETTWIN_LIBLWIP, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  Dl_info info{};
  std::error_code ec;
  if (!probe || !dladdr(dlsym(probe, "lwip_init"), &info)) return "liblwip not loaded";
  fs::copy_file(info.dli_fname, copy, ec);
  dlclose(probe);
  if (ec) return "copy failed: " + ec.message();
  std::string err = l.load(copy.string());
  fs::remove_all(dir, ec);  // the mapping stays
  return err;
}

struct Frame {
  struct Port* to;
  pbuf* p;
};

// One Ethernet port of one stack; what it sends lands in `wire` (for its peer
// when it has one).
struct Port {
  Lwip* L = nullptr;
  netif nif{};
  uint8_t mac[6] = {0x02, 0, 0, 0, 1, 2};
  Port* peer = nullptr;
  std::deque<Frame>* wire = nullptr;
  uint64_t sent = 0, data_segments = 0;
};

err_t port_linkoutput(netif* n, pbuf* p) {
  auto* port = static_cast<Port*>(n->state);
  if (!port->peer) {  // an echo reply (not, say, an ARP request): counted, dropped
    const auto* b = static_cast<const uint8_t*>(p->payload);
    port->sent += p->len > 34 && b[12] == 0x08 && b[13] == 0x00 && b[23] == 1 && b[34] == 0;
    return ERR_OK;
  }
  ++port->sent;
  if (p->tot_len > 14 + 20 + 20 + 12 + 32) ++port->data_segments;
  Lwip& to = *port->peer->L;
  pbuf* q = to.pbuf_alloc(PBUF_RAW, p->tot_len, PBUF_RAM);  // one piece: see port_receive
  if (!q) return ERR_MEM;
  port->L->pbuf_copy_partial(p, q->payload, p->tot_len, 0);
  port->wire->push_back({port->peer, q});
  return ERR_OK;
}

err_t port_init(netif* n) {
  auto* port = static_cast<Port*>(n->state);
  n->name[0] = 'e';
  n->name[1] = 't';
  n->mtu = 1500;
  n->hwaddr_len = 6;
  std::memcpy(n->hwaddr, port->mac, 6);
  n->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
  n->output = port->L->etharp_output;
  n->linkoutput = port_linkoutput;
  return ERR_OK;
}

bool port_add(Port& port, uint8_t last) {
  ip4_addr_t ip, mask, gw;
  IP4_ADDR(&ip, 198, 51, 100, last);
  IP4_ADDR(&mask, 255, 255, 255, 0);
  IP4_ADDR(&gw, 0, 0, 0, 0);
  port.mac[5] = last;
  if (!port.L->netif_add(&port.nif, &ip, &mask, &gw, &port, port_init, port.L->ethernet_input)) return false;
  port.L->netif_set_default(&port.nif);
  port.L->netif_set_up(&port.nif);
  port.L->netif_set_link_up(&port.nif);
  return true;
}

// A frame "DMA'd" into a fresh pbuf and handed to the netif's input. PBUF_RAM,
// not PBUF_POOL: Debian's build writes past the end of its pool pbufs for a
// 1514-byte frame (pbuf_take overruns a 616-byte block, valgrind shows it).
void port_receive(Port& port, const std::vector<uint8_t>& frame) {
  pbuf* p = port.L->pbuf_alloc(PBUF_RAW, uint16_t(frame.size()), PBUF_RAM);
  port.L->pbuf_take(p, frame.data(), uint16_t(frame.size()));
  if (port.nif.input(p, &port.nif) != ERR_OK) port.L->pbuf_free(p);
}

// An ARP request from 198.51.100.1: lwIP learns its MAC (to reply to it).
std::vector<uint8_t> arp_request() {
  return {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 1, 1, 0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1,
          0x02, 0, 0, 0, 1, 1, 198, 51, 100, 1, 0, 0, 0, 0, 0, 0, 198, 51, 100, 2,
          0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
}

struct FrameRig {
  Lwip L;
  Port port;
  std::deque<Frame> wire;
  std::vector<uint8_t> frame, sink = std::vector<uint8_t>(2048);
  uint64_t done = 0;
  bool echo = false;
  std::string open(const std::string& mode) {
    if (std::string err = L.load(NETTWIN_LIBLWIP); !err.empty()) return err;
    port.L = &L;
    port.wire = &wire;
    if (!port_add(port, 2)) return "netif_add failed";
    echo = mode == "echo60";
    if (echo) {
      port_receive(port, arp_request());
      frame = echo_request(kEchoPayload60);
    } else {
      udp_pcb* pcb = L.udp_new();
      ip_addr_t any = IPADDR4_INIT(IPADDR_ANY);  // not IP_ADDR_ANY: a global of the library's
      if (!pcb || L.udp_bind(pcb, &any, 5000) != ERR_OK) return "udp_bind failed";
      L.udp_recv(pcb, udp_received, this);
      frame = udp_frame(mode == "udp60" ? kUdpPayload60 : kUdpPayload1514, true);
    }
    port.sent = 0;
    return "";
  }
  static void udp_received(void* arg, udp_pcb*, pbuf* p, const ip_addr_t*, u16_t) {
    auto* r = static_cast<FrameRig*>(arg);
    r->L.pbuf_copy_partial(p, r->sink.data(), std::min<u16_t>(p->tot_len, 2048), 0);
    r->L.pbuf_free(p);
    ++r->done;
  }
  void step() {
    port_receive(port, frame);
    if (echo) done = port.sent;
  }
};

int frames(const std::string& mode, long n, bool count) {
  FrameRig r;
  if (std::string err = r.open(mode); !err.empty()) {
    std::fprintf(stderr, "nettwin-lwip-bench: %s\n", err.c_str());
    return 1;
  }
  timed_frames(r, 1000);
  r.done = r.port.sent = 0;
  const auto [best, runs] = per_frame_ns(r, n, count);
  if (r.done != uint64_t(runs)) {
    std::fprintf(stderr, "nettwin-lwip-bench %s: %llu of %ld frames came through\n", mode.c_str(),
                 static_cast<unsigned long long>(r.done), runs);
    return 1;
  }
  std::printf("stack=lwip mode=%s frames=%ld cpu_ns_per_frame=%.1f\n", mode.c_str(), n, best);
  return 0;
}

// Bulk TCP, A (198.51.100.1) to B (198.51.100.2), each its own copy of lwIP.
struct TcpRig {
  Lwip la, lb;
  Port a, b;
  std::deque<Frame> wire;
  tcp_pcb *client = nullptr, *server = nullptr;
  bool connected = false;
  std::vector<uint8_t> src = std::vector<uint8_t>(64 * 1024, 0x5a), sink = std::vector<uint8_t>(64 * 1024);
  uint64_t sent = 0, received = 0, stalls = 0;
  bool corrupt = false;  // a byte read that was never written

  std::string open() {
    if (std::string err = la.load(NETTWIN_LIBLWIP); !err.empty()) return err;
    if (std::string err = load_copy(lb); !err.empty()) return err;
    if (la.lwip_init == lb.lwip_init) return "the second lwIP is the first one";
    a.L = &la, b.L = &lb;
    a.peer = &b, b.peer = &a;
    a.wire = b.wire = &wire;
    if (!port_add(a, 1) || !port_add(b, 2)) return "netif_add failed";
    tcp_pcb* l = lb.tcp_new();
    ip_addr_t any = IPADDR4_INIT(IPADDR_ANY);
    if (!l || lb.tcp_bind(l, &any, 5001) != ERR_OK) return "tcp_bind failed";
    l = lb.tcp_listen_with_backlog(l, 1);
    lb.tcp_arg(l, this);
    lb.tcp_accept(l, accepted);
    client = la.tcp_new();
    la.tcp_arg(client, this);
    ip_addr_t dst = IPADDR4_INIT_BYTES(198, 51, 100, 2);
    if (la.tcp_connect(client, &dst, 5001, on_connected) != ERR_OK) return "tcp_connect failed";
    for (int i = 0; i < 100 && !(connected && server); ++i) carry();
    if (!connected || !server) return "no connection";
    a.data_segments = 0;
    return "";
  }
  static err_t on_connected(void* arg, tcp_pcb*, err_t) {
    static_cast<TcpRig*>(arg)->connected = true;
    return ERR_OK;
  }
  static err_t accepted(void* arg, tcp_pcb* pcb, err_t) {
    auto* r = static_cast<TcpRig*>(arg);
    r->server = pcb;
    r->lb.tcp_arg(pcb, r);
    r->lb.tcp_recv(pcb, on_recv);
    return ERR_OK;
  }
  static err_t on_recv(void* arg, tcp_pcb* pcb, pbuf* p, err_t) {
    auto* r = static_cast<TcpRig*>(arg);
    if (!p) return ERR_OK;
    const u16_t len = p->tot_len;
    r->lb.pbuf_copy_partial(p, r->sink.data(), len, 0);  // read(): the data leaves the stack
    if (r->sink[0] != 0x5a || r->sink[len - 1] != 0x5a) r->corrupt = true;
    r->received += len;
    r->lb.tcp_recved(pcb, len);
    r->lb.pbuf_free(p);
    return ERR_OK;
  }
  // Every frame on the wire to its port's input, until none is left.
  bool carry() {
    bool moved = false;
    while (!wire.empty()) {
      Frame f = wire.front();
      wire.pop_front();
      if (f.to->nif.input(f.p, &f.to->nif) != ERR_OK) f.to->L->pbuf_free(f.p);
      moved = true;
    }
    return moved;
  }
  // `bytes` more written by A and read by B. False if it stalled for good.
  bool transfer(uint64_t bytes) {
    const uint64_t goal = received + bytes, end = sent + bytes;
    int idle = 0;
    while (received < goal) {
      bool wrote = false;
      while (sent < end) {
        const uint32_t off = uint32_t(sent % src.size());
        const uint32_t len = uint32_t(std::min<uint64_t>({tcp_sndbuf(client), end - sent, src.size() - off}));
        if (!len || la.tcp_write(client, src.data() + off, uint16_t(std::min<uint32_t>(len, 0xffff)),
                                 TCP_WRITE_FLAG_COPY) != ERR_OK)
          break;
        sent += std::min<uint32_t>(len, 0xffff);
        wrote = true;
      }
      la.tcp_output(client);
      if (carry() || wrote) {
        idle = 0;
        continue;
      }
      // Nothing moves: a delayed ACK is due (lwIP's fast timer sends it).
      ++stalls;
      la.tcp_tmr();
      lb.tcp_tmr();
      carry();
      if (++idle > 1000) return false;
    }
    return true;
  }
};

__attribute__((noipa)) bool counted_transfer(TcpRig& r, uint64_t bytes) { return r.transfer(bytes); }

int tcp(long mib, bool count) {
  TcpRig r;
  if (std::string err = r.open(); !err.empty()) {
    std::fprintf(stderr, "nettwin-lwip-bench tcp: %s\n", err.c_str());
    return 1;
  }
  const uint64_t bytes = uint64_t(mib) << 20;
  if (!r.transfer(1 << 20)) return std::fprintf(stderr, "nettwin-lwip-bench tcp: stalled\n"), 1;  // warm
  r.a.data_segments = r.stalls = 0;
  const double t0 = thread_cpu_ns();
  const bool ok = count ? counted_transfer(r, bytes) : r.transfer(bytes);
  const double s = (thread_cpu_ns() - t0) / 1e9;
  if (!ok || r.corrupt) return std::fprintf(stderr, "nettwin-lwip-bench tcp: %s\n", ok ? "data corrupted" : "stalled"), 1;
  std::printf("stack=lwip mode=tcp bytes=%llu segments=%llu stalls=%llu cpu_seconds=%.3f cpu_gbit_per_s=%.2f\n",
              static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(r.a.data_segments),
              static_cast<unsigned long long>(r.stalls), s, double(bytes) * 8 / 1e9 / s);
  return 0;
}

}  // namespace
}  // namespace nettwin::bench

int main(int argc, char** argv) {
  std::string mode;
  long n = 0;
  bool count = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--count")) count = true;
    else if (mode.empty()) mode = argv[i];
    else n = std::strtol(argv[i], nullptr, 10);
  }
  if (mode == "tcp") return nettwin::bench::tcp(n > 0 ? n : 256, count);
  if (mode == "udp60" || mode == "udp1514" || mode == "echo60")
    return nettwin::bench::frames(mode, n > 0 ? n : 200000, count);
  std::fprintf(stderr, "usage: nettwin-lwip-bench udp60|udp1514|echo60 [N] [--count] | tcp [MiB] [--count]\n");
  return 2;
}
