#include "tun_alloc.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace nettwin::server {

namespace {

std::string errno_text(const std::string& doing) { return doing + ": " + std::strerror(errno); }

// A descriptor closed on every way out.
struct Fd {
  int fd = -1;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

// /dev/net/tun opened inside netns (the tun file takes the opener's namespace).
std::variant<int, std::string> open_tun_in(const std::string& netns) {
  if (netns.empty()) {
    const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno_text("open /dev/net/tun");
    return fd;
  }
  if (netns.find('/') != std::string::npos || netns == "." || netns == "..")
    return "bad namespace name \"" + netns + "\" (a name from `ip netns list`)";
  const std::string path = "/run/netns/" + netns;
  Fd target{open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (target.fd < 0) return errno_text("open " + path);
  Fd home{open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)};
  if (home.fd < 0) return errno_text("open /proc/thread-self/ns/net");
  if (setns(target.fd, CLONE_NEWNET) != 0) return errno_text("setns " + path);
  const int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  const int open_errno = errno;
  if (setns(home.fd, CLONE_NEWNET) != 0) {
    // Staying in the other namespace would put the server's own sockets there.
    if (fd >= 0) close(fd);
    return errno_text("setns back to the server's own namespace");
  }
  if (fd < 0) {
    errno = open_errno;
    return errno_text("open /dev/net/tun in " + path);
  }
  return fd;
}

}  // namespace

std::variant<int, std::string> tun_alloc(const std::string& netns, const std::string& ifname) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ || ifname.find_first_of("/ \t\n:%") != std::string::npos)
    return "bad interface name \"" + ifname + "\" (1 to " + std::to_string(IFNAMSIZ - 1) +
           " characters, no '/', ':', '%' or spaces)";
  auto opened = open_tun_in(netns);
  if (auto* error = std::get_if<std::string>(&opened)) return *error;
  Fd tun{std::get<int>(opened)};
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  if (ioctl(tun.fd, TUNSETIFF, &ifr) != 0) return errno_text("TUNSETIFF " + ifname);
  return tun.release();
}

}  // namespace nettwin::server
