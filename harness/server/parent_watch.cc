#include "parent_watch.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace nettwin::server {

void exit_with_parent(int fd) {
  std::thread([fd] {
    char byte;
    for (;;) {
      pollfd watched{fd, POLLIN, 0};
      if (poll(&watched, 1, -1) < 0 && errno == EINTR) continue;
      const ssize_t n = read(fd, &byte, 1);  // the parent never writes: data is ignored
      if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) break;
    }
    kill(getpid(), SIGTERM);
  }).detach();
}

}  // namespace nettwin::server
