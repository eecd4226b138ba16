// The server's link to the process that started it (nettwin.client.Stack): that
// process holds the write end of a pipe whose read end the server gets as a file
// descriptor. When the starter dies, however it dies (SIGKILL included), the
// kernel closes its end and the read end reports end of file: the server then
// stops as on SIGTERM. A pipe, not prctl(PR_SET_PDEATHSIG), because PDEATHSIG
// follows the thread that forked the server, not the process.
#pragma once

namespace nettwin::server {

// Watches `fd` on a thread of its own and sends this process SIGTERM at end of
// file. Call it after SIGTERM is blocked in every thread (the server's sigwait).
void exit_with_parent(int fd);

}  // namespace nettwin::server
