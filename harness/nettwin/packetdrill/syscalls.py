"""System call lines run against a target, after upstream's run_system_call.c: the
script's descriptors map to the target's, `...` stands for the buffer or address
a call needs (the script's remote address and --connect_port, or the local
address and --bind_port), and the result and errno are checked with upstream's
messages. A blocking call (`+0...0.2 accept(...)`) is tried without blocking;
while it would block it stays pending, and the runner tries it again as the
clock moves until it returns."""
from __future__ import annotations

import errno as errno_mod
import os
import struct
from dataclasses import dataclass
from typing import Callable, Optional

from . import script as S
from .config import Config
from .packets import Conn
from .symbols import SYMBOLS, errno_value

O_NONBLOCK = 0o4000
MSG_DONTWAIT = 0x40
SOCK_NONBLOCK = 0o4000
POLLOUT = 0x4
SOL_SOCKET, SO_ERROR, SO_LINGER = 1, 4, 13
IPPROTO_TCP, TCP_INFO, TCP_CONGESTION = 6, 11, 13


# The calls whose blocking depends on their socket's O_NONBLOCK.
_WAIT_ON_SOCKET = frozenset({"accept", "accept4", "connect", "read", "readv", "recv", "recvfrom", "recvmsg",
                             "write", "writev", "send", "sendto", "sendmsg"})


class SyscallError(Exception):
    """The call's result is not what the script expects (upstream's message)."""


@dataclass
class Pending:
    """A blocking call still waiting: retry(wait_ns) returns None until it completes. On
    nettwin the retry itself may wait up to wait_ns of virtual time (the Sockets service
    runs the clock until the call can complete), so it returns at the exact time."""
    name: str
    retry: Callable[[int], Optional[tuple]]
    finish: Callable[[tuple], None]


def _strerror(e: int) -> str:
    return os.strerror(e) if e else "Success"


class Syscalls:
    def __init__(self, target, cfg: Config, runner):
        self.t = target
        self.cfg = cfg
        self.runner = runner            # current(), new_conn(), conns
        self.fds: dict[int, Conn] = {}  # script fd -> its flow
        self.epfds: dict[int, int] = {}  # script fd -> live fd of each eventpoll

    # -------------------------------------------------------------- expressions

    def value(self, e: S.Expr) -> int:
        if isinstance(e, S.Int):
            return e.value
        if isinstance(e, S.Word):
            if e.name in SYMBOLS:
                return SYMBOLS[e.name]
            v = errno_value(e.name)
            if v is not None:
                return v
            raise SyscallError(f"bad symbol: {e.name}")
        if isinstance(e, S.Binary) and e.op == "|":
            return self.value(e.lhs) | self.value(e.rhs)
        if isinstance(e, S.List) and len(e.items) == 1:
            return self.value(e.items[0])
        if isinstance(e, S.List):
            raise SyscallError("Expected [<element>] but got multiple elements")
        raise SyscallError(f"expected an integer expression, not {_show(e)}")

    def fd(self, e: S.Expr) -> tuple[int, Optional[Conn]]:
        """(the live descriptor, its flow) of a script descriptor; an unknown one
        passes through as given (so EBADF comes from the target)."""
        n = self.value(e)
        conn = self.fds.get(n)
        return (conn.live_fd, conn) if conn else (self.epfds.get(n, n), None)

    def addr(self, e: S.Expr, default: tuple) -> tuple:
        if isinstance(e, S.Sockaddr):
            if e.family != "AF_INET":
                raise SyscallError(f"address family {e.family} is not supported")
            return (e.addr, e.port)
        if isinstance(e, S.Ellipsis_):
            return default
        raise SyscallError(f"expected a sockaddr or ..., not {_show(e)}")

    # -------------------------------------------------------------- running one line

    def start(self, call: S.Syscall, blocking: bool) -> Optional[Pending]:
        """Run the call; returns a Pending when a blocking call would block."""
        handler = getattr(self, "sys_" + call.name, None)
        if handler is None:
            raise SyscallError(f"system call {call.name}() is not supported")
        if blocking and call.name in _WAIT_ON_SOCKET and call.args:
            # on a non-blocking socket a call marked blocking returns at once (EAGAIN, EINPROGRESS)
            flags, _, _ = self.t.fcntl(self.fd(call.args[0])[0])
            if flags >= 0 and flags & O_NONBLOCK:
                blocking = False
        return handler(call, list(call.args), blocking)

    def check(self, call: S.Syscall, ret: int, err: int, fd_result: bool = False):
        if isinstance(call.result, S.Ellipsis_):
            return
        expected = self.value(call.result)
        if fd_result and expected >= 0:
            if ret < 0:
                raise SyscallError(f"Expected non-negative result but got {ret} with errno {err} ({_strerror(err)})")
        elif ret != expected:
            raise SyscallError(f"Expected result {expected} but got {ret} with errno {err} ({_strerror(err)})")
        if call.errno is not None:
            want = errno_value(call.errno)
            if want is None:
                raise SyscallError(f"bad errno symbol: {call.errno}")
            if want != err:
                raise SyscallError(f"Expected errno {want} ({_strerror(want)}) but got {err} ({_strerror(err)})")

    def _args(self, call: S.Syscall, args: list, n: int):
        if len(args) != n:
            raise SyscallError(f"Expected {n} args but got {len(args)}")

    def _maybe_pending(self, call, blocking, attempt, finish, would_block):
        """Run attempt(0); a blocking call that would block becomes a Pending."""
        r = attempt(0)
        if blocking and would_block(r):
            return Pending(call.name, lambda wait_ns: None if would_block(r2 := attempt(wait_ns)) else r2, finish)
        finish(r)
        return None

    # -------------------------------------------------------------- the calls

    def sys_socket(self, call, args, blocking):
        self._args(call, args, 3)
        # `...` as the family: the script's IP version (AF_INET)
        domain = 2 if isinstance(args[0], S.Ellipsis_) else self.value(args[0])
        type_, proto = self.value(args[1]), self.value(args[2])
        ret, err, _ = self.t.socket(domain, type_, proto)
        self.check(call, ret, err, fd_result=True)
        if ret >= 0 and not isinstance(call.result, S.Ellipsis_):
            conn = Conn(self.value(call.result), "udp" if (type_ & 0xF) == 2 else "tcp", live_fd=ret,
                        local_ip=self.cfg.local_ip)
            self.fds[conn.script_fd] = conn
            self.runner.set_current(conn)

    def sys_bind(self, call, args, blocking):
        self._args(call, args, 3)
        fd, conn = self.fd(args[0])
        ip, port = self.addr(args[1], (self.cfg.local_ip, self.cfg.bind_port))
        ret, err, _ = self.t.bind(fd, ip, port)
        self.check(call, ret, err)
        if ret == 0 and conn:
            conn.local_port = port
            if ip not in ("0.0.0.0", ""):
                conn.local_ip = ip

    def sys_listen(self, call, args, blocking):
        self._args(call, args, 2)
        fd, conn = self.fd(args[0])
        ret, err, _ = self.t.listen(fd, self.value(args[1]))
        self.check(call, ret, err)
        if ret == 0 and conn:
            conn.listening = True
            if not conn.local_port:
                self._learn_local(conn)

    def _learn_local(self, conn: Conn):
        ret, _, addr = self.t.getsockname(conn.live_fd)
        if ret == 0 and addr:
            conn.local_port = addr[1]

    def sys_accept(self, call, args, blocking):
        self._args(call, args, 3)
        return self._accept(call, args, blocking, 0)

    def sys_accept4(self, call, args, blocking):
        self._args(call, args, 4)
        return self._accept(call, args, blocking, self.value(args[3]))

    def _accept(self, call, args, blocking, flags):
        fd, listener = self.fd(args[0])

        def finish(r):
            ret, err, peer = r
            self.check(call, ret, err, fd_result=True)
            if ret >= 0 and not isinstance(call.result, S.Ellipsis_):
                child = self.runner.child_for(listener, peer)
                child.live_fd = ret
                child.script_fd = self.value(call.result)
                child.accepted = True
                self.fds[child.script_fd] = child
                self.runner.set_current(child)

        return self._maybe_pending(call, blocking, lambda wait_ns: self.t.accept(fd, flags, wait_ns), finish,
                                   lambda r: r[0] < 0 and r[1] == errno_mod.EAGAIN)

    def sys_connect(self, call, args, blocking):
        self._args(call, args, 3)
        fd, conn = self.fd(args[0])
        ip, port = self.addr(args[1], (self.cfg.remote_ip, self.cfg.connect_port))
        if conn:
            conn.remote_ip, conn.remote_port = ip, port
            self.runner.set_current(conn)
        flags = None
        if blocking and conn and conn.proto == "tcp":
            # A blocking connect waits for the handshake: the SYN leaves now, the
            # outcome is read (poll POLLOUT, SO_ERROR) as the clock moves.
            flags, _, _ = self.t.fcntl(fd)
            if flags >= 0:
                self.t.fcntl(fd, flags | O_NONBLOCK)
        ret, err, _ = self.t.connect(fd, ip, port)
        if conn and conn.local_port == 0:
            self._learn_local(conn)
        if flags is not None and flags >= 0:
            self.t.fcntl(fd, flags)
            if ret < 0 and err == errno_mod.EINPROGRESS:
                def attempt(wait_ns=0):
                    pr, _, revents = self.t.poll(fd, POLLOUT, wait_ns)
                    if pr <= 0:
                        return None
                    gr, gerr, soerr = self.t.getsockopt(fd, SOL_SOCKET, SO_ERROR)
                    e = int(soerr) if gr == 0 else gerr
                    return (-1 if e else 0, e, None)

                def finish(r):
                    self.check(call, r[0], r[1])

                first = attempt()
                if first is None:
                    return Pending(call.name, attempt, finish)
                finish(first)
                return None
        self.check(call, ret, err)

    def _data_len(self, e: S.Expr) -> int:
        return self.value(e)

    def _send(self, call, blocking, fd, n, flags, to=None):
        """A blocking send copies what fits and waits for room (sk_stream_wait_memory) until all
        is copied: here each part is sent without blocking, and after a part the call waits,
        as the sleeping writer does, for the socket to become writable (POLLOUT: the wakeup
        sk_stream_write_space gives) before it sends the rest. The result is the total."""
        blocking = blocking and not flags & MSG_DONTWAIT
        sent, asleep = 0, False

        def finish(r):
            self.check(call, r[0], r[1])

        def attempt(wait_ns):
            nonlocal sent, asleep
            if asleep:
                ret, _, revents = self.t.poll(fd, POLLOUT, wait_ns)
                if ret <= 0:
                    return (-1, errno_mod.EAGAIN, None)
            r = self.t.send(fd, bytes(n - sent), flags | MSG_DONTWAIT if blocking else flags, to)
            if r[0] < 0:
                if sent and r[1] != errno_mod.EAGAIN:
                    return (sent, 0, None)              # an error after a part: what was copied
                asleep = blocking
                return (-1, errno_mod.EAGAIN, None) if sent else r
            sent += r[0]
            if not blocking or sent == n:
                return (sent, 0, None)
            asleep = True
            return (-1, errno_mod.EAGAIN, None)

        def would_block(r):
            return r[0] < 0 and r[1] == errno_mod.EAGAIN

        def retry(wait_ns):
            r = attempt(wait_ns)
            return None if would_block(r) else r

        r = attempt(0)
        if blocking and would_block(r):
            return Pending(call.name, retry, finish)
        finish(r)
        return None

    def sys_write(self, call, args, blocking):
        self._args(call, args, 3)
        fd, conn = self.fd(args[0])
        return self._send(call, blocking, fd, self.value(args[2]), 0)

    def sys_send(self, call, args, blocking):
        self._args(call, args, 4)
        fd, conn = self.fd(args[0])
        return self._send(call, blocking, fd, self.value(args[2]), self.value(args[3]))

    def sys_sendto(self, call, args, blocking):
        self._args(call, args, 6)
        fd, conn = self.fd(args[0])
        to = self.addr(args[4], (self.cfg.remote_ip, self.cfg.connect_port))
        if conn and not conn.remote_port:
            conn.remote_ip, conn.remote_port = to
        pending = self._send(call, blocking, fd, self.value(args[2]), self.value(args[3]), to)
        if conn and not conn.local_port:
            self._learn_local(conn)
        return pending

    def sys_sendmsg(self, call, args, blocking):
        self._args(call, args, 3)
        fd, conn = self.fd(args[0])
        msg = args[1]
        if not isinstance(msg, S.Msghdr):
            raise SyscallError("sendmsg: expected a msghdr {msg_name(...)=..., msg_iov(N)=[{..., LEN}], "
                               "msg_flags=F}")
        n = sum(i.length for i in msg.iov.items if isinstance(i, S.Iovec))
        return self._send(call, blocking, fd, n, self.value(args[2]))

    def _iov_len(self, e: S.Expr) -> int:
        if not isinstance(e, S.List) or not all(isinstance(i, S.Iovec) for i in e.items):
            raise SyscallError("expected an iovec array [{..., LEN}, ...]")
        return sum(i.length for i in e.items)

    def sys_writev(self, call, args, blocking):
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        return self._send(call, blocking, fd, self._iov_len(args[1]), 0)

    def sys_readv(self, call, args, blocking):
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        return self._recv(call, blocking, fd, self._iov_len(args[1]), 0)

    def _name(self, call, args, which: str):
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        if which == "getsockname":
            ret, err, _ = self.t.getsockname(fd)
        else:
            ret, err, _ = self.t.getpeername(fd)
        self.check(call, ret, err)

    def sys_getsockname(self, call, args, blocking):
        return self._name(call, args, "getsockname")

    def sys_getpeername(self, call, args, blocking):
        return self._name(call, args, "getpeername")

    def _recv(self, call, blocking, fd, n, flags):
        blocking = blocking and not flags & MSG_DONTWAIT
        def finish(r):
            self.check(call, r[0], r[1])

        # a retry that may wait drops MSG_DONTWAIT: the blocking socket then waits wait_ns
        return self._maybe_pending(call, blocking,
                                   lambda wait_ns: self.t.recv(fd, n, flags if wait_ns else
                                                               flags | MSG_DONTWAIT if blocking else flags, wait_ns),
                                   finish,
                                   lambda r: r[0] < 0 and r[1] == errno_mod.EAGAIN)

    def sys_read(self, call, args, blocking):
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        return self._recv(call, blocking, fd, self.value(args[2]), 0)

    def sys_recv(self, call, args, blocking):
        self._args(call, args, 4)
        fd, _ = self.fd(args[0])
        return self._recv(call, blocking, fd, self.value(args[2]), self.value(args[3]))

    def sys_recvfrom(self, call, args, blocking):
        self._args(call, args, 6)
        fd, _ = self.fd(args[0])
        return self._recv(call, blocking, fd, self.value(args[2]), self.value(args[3]))

    def sys_recvmsg(self, call, args, blocking):
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        msg = args[1]
        if not isinstance(msg, S.Msghdr):
            raise SyscallError("recvmsg: expected a msghdr")
        n = sum(i.length for i in msg.iov.items if isinstance(i, S.Iovec))
        return self._recv(call, blocking, fd, n, self.value(args[2]))

    def sys_close(self, call, args, blocking):
        self._args(call, args, 1)
        fd, conn = self.fd(args[0])
        ret, err, _ = self.t.close_fd(fd)
        self.check(call, ret, err)
        if ret == 0 and conn:
            self.fds.pop(conn.script_fd, None)
        elif ret == 0:
            self.epfds.pop(self.value(args[0]), None)

    def sys_shutdown(self, call, args, blocking):
        self._args(call, args, 2)
        fd, _ = self.fd(args[0])
        ret, err, _ = self.t.shutdown_fd(fd, self.value(args[1]))
        self.check(call, ret, err)

    def _optval(self, e: S.Expr):
        if isinstance(e, S.Linger):
            return struct.pack("ii", e.onoff, e.linger)
        if isinstance(e, S.String):
            return e.text.encode()
        v = self.value(e)
        # [0xffffffff] for a u32 option (TCP_NOTSENT_LOWAT): the int's 4 bytes, as C passes them
        return struct.pack("=I", v) if 0x7FFFFFFF < v <= 0xFFFFFFFF else v

    def sys_setsockopt(self, call, args, blocking):
        self._args(call, args, 5)
        fd, _ = self.fd(args[0])
        level, name = self.value(args[1]), self.value(args[2])
        value = self._optval(args[3])
        ret, err, _ = self.t.setsockopt(fd, level, name, value)
        self.check(call, ret, err)

    def sys_getsockopt(self, call, args, blocking):
        self._args(call, args, 5)
        fd, _ = self.fd(args[0])
        level, name = self.value(args[1]), self.value(args[2])
        want = args[3]
        if isinstance(want, S.Linger):
            ret, err, raw = self.t.getsockopt(fd, level, name, 8)
            self.check(call, ret, err)
            if ret == 0:
                got = struct.unpack("ii", raw[:8])
                if got != (want.onoff, want.linger):
                    raise SyscallError(f"Bad getsockopt optval: expected: {{onoff={want.onoff}, "
                                       f"linger={want.linger}}} actual: {{onoff={got[0]}, linger={got[1]}}}")
            return
        if isinstance(want, S.String):
            ret, err, raw = self.t.getsockopt(fd, level, name, max(len(want.text), 16))
            self.check(call, ret, err)
            got = raw.split(b"\0", 1)[0].decode(errors="replace")
            if ret == 0 and got != want.text:
                raise SyscallError(f'Bad getsockopt optval: expected: "{want.text}" actual: "{got}"')
            return
        ret, err, got = self.t.getsockopt(fd, level, name)
        self.check(call, ret, err)
        if ret == 0 and not isinstance(want, S.Ellipsis_):
            expected = self.value(want)
            if int(got) != expected and (int(got) & 0xFFFFFFFF) != expected:
                raise SyscallError(f"Bad getsockopt optval: expected: {expected} actual: {int(got)}")

    def sys_fcntl(self, call, args, blocking):
        if len(args) not in (2, 3):
            raise SyscallError(f"Expected 2 or 3 args but got {len(args)}")
        fd, _ = self.fd(args[0])
        cmd = self.value(args[1])
        if cmd == SYMBOLS["F_GETFL"]:
            ret, err, _ = self.t.fcntl(fd)
        elif cmd == SYMBOLS["F_SETFL"] and len(args) == 3:
            ret, err, _ = self.t.fcntl(fd, self.value(args[2]))
        else:
            raise SyscallError(f"fcntl command {cmd} is not supported")
        self.check(call, ret, err)

    def sys_ioctl(self, call, args, blocking):
        """ioctl(fd, SIOCINQ, [N]) and the other int-valued socket requests: the return
        value, then the int the call filled in (upstream checks it as getsockopt's)."""
        self._args(call, args, 3)
        fd, _ = self.fd(args[0])
        ret, err, got = self.t.ioctl(fd, self.value(args[1]))
        self.check(call, ret, err)
        if ret == 0 and not isinstance(args[2], S.Ellipsis_):
            expected = self.value(args[2])
            if int(got) != expected:
                raise SyscallError(f"Bad ioctl optval: expected: {expected} actual: {int(got)}")

    def sys_poll(self, call, args, blocking):
        self._args(call, args, 3)
        fds = args[0]
        if not isinstance(fds, S.List) or len(fds.items) != 1 or not isinstance(fds.items[0], S.Pollfd):
            raise SyscallError("poll: only one struct pollfd [{fd=N, events=E, revents=R}] is supported")
        pfd = fds.items[0]
        fd, _ = self.fd(pfd.fd)
        events = self.value(pfd.events)
        expected_revents = self.value(pfd.revents)

        def finish(r):
            ret, err, revents = r
            self.check(call, ret, err)
            if ret >= 0 and revents != expected_revents:
                raise SyscallError(f"Expected revents of {_poll_text(expected_revents)} but got "
                                   f"{_poll_text(revents)} for pollfd 0")

        return self._timed_wait(call, blocking, self.value(args[2]),
                                lambda wait_ns: self.t.poll(fd, events, wait_ns), finish)

    def _timed_wait(self, call, blocking, timeout_ms, attempt_ns, finish):
        """poll and epoll_wait: attempt_ns(wait_ns) returns (ret, errno, extra), ret 0 when
        nothing is ready. Unmarked, the call runs once (on nettwin it waits out its timeout in
        virtual time); marked blocking, it stays pending until something is ready or its timeout
        (in ms, -1: none) has passed."""
        if not blocking:
            wait_ns = max(timeout_ms, 0) * 1_000_000 if self.t.virtual else 0
            finish(attempt_ns(wait_ns))
            return None
        start = self.runner.now_ns()

        def attempt(wait_ns=0):
            left = timeout_ms * 1_000_000 - (self.runner.now_ns() - start) if timeout_ms >= 0 else wait_ns
            r = attempt_ns(max(0, min(wait_ns, left)))
            if r[0] == 0 and (timeout_ms < 0 or self.runner.now_ns() - start < timeout_ms * 1_000_000):
                return None
            return r

        first = attempt()
        if first is None:
            return Pending(call.name, attempt, finish)
        finish(first)
        return None

    # -------------------------------------------------------------- epoll (upstream's epoll_* calls)

    def _epfd(self, e: S.Expr) -> int:
        n = self.value(e)
        return self.epfds.get(n, n)

    def _epoll_create(self, call, ret, err):
        self.check(call, ret, err, fd_result=True)
        if ret >= 0 and not isinstance(call.result, S.Ellipsis_):
            self.epfds[self.value(call.result)] = ret

    def sys_epoll_create(self, call, args, blocking):
        self._args(call, args, 1)
        self._epoll_create(call, *self.t.epoll_create(self.value(args[0]))[:2])

    def sys_epoll_create1(self, call, args, blocking):
        self._args(call, args, 1)
        self._epoll_create(call, *self.t.epoll_create1(self.value(args[0]))[:2])

    def _epoll_event(self, e: S.Expr, script_fd: Optional[int]) -> tuple[int, str, int]:
        """(events, the data's kind, the data) of an {events=E, fd=N | u32=N | u64=N | ptr=N}: an fd
        is the live descriptor of the script's (for epoll_ctl it must be the call's own)."""
        if not isinstance(e, S.Struct) or e.kind != "epollev":
            raise SyscallError("expected an epoll_event {events=..., fd=...} (or u32=, u64=, ptr=)")
        fields = dict(e.fields)
        events = self.value(fields.pop("events")) & 0xFFFFFFFF
        kind, v = next(iter(fields.items()))
        value = self.value(v)
        if kind == "fd":
            if script_fd is not None and value != script_fd:
                raise SyscallError("wrong fd specified in epoll_event")
            conn = self.fds.get(value)
            live = conn.live_fd if conn else self.epfds.get(value)
            if live is None:
                raise SyscallError(f"unable to find socket with script fd {value}")
            return events, kind, live
        return events, kind, value & (0xFFFFFFFF if kind == "u32" else 0xFFFFFFFFFFFFFFFF)

    def sys_epoll_ctl(self, call, args, blocking):
        self._args(call, args, 4)
        epfd = self._epfd(args[0])
        script_fd = self.value(args[2])
        fd, _ = self.fd(args[2])
        events, _, data = self._epoll_event(args[3], script_fd)
        ret, err, _ = self.t.epoll_ctl(epfd, self.value(args[1]), fd, events, data)
        self.check(call, ret, err)

    def sys_epoll_wait(self, call, args, blocking):
        """The return value, then (as upstream) the first event's events and data against the
        script's (with nothing returned, the first event reads as zeros)."""
        self._args(call, args, 4)
        epfd = self._epfd(args[0])
        want_events, kind, want_data = self._epoll_event(args[1], None)
        maxevents = self.value(args[2])

        def finish(r):
            ret, err, got = r
            self.check(call, ret, err)
            events, data = got[0] if got else (0, 0)
            if events != want_events:
                raise SyscallError(f"epoll_event->events does not match script: expected: 0x{want_events:x} "
                                   f"actual: 0x{events:x}")
            mask = 0xFFFFFFFF if kind in ("fd", "u32") else 0xFFFFFFFFFFFFFFFF
            if data & mask != want_data:
                raise SyscallError(f"epoll_event->data does not match script: expected: {want_data} "
                                   f"actual: {data & mask}")

        return self._timed_wait(call, blocking, self.value(args[3]),
                                lambda wait_ns: self.t.epoll_wait(epfd, maxevents, wait_ns), finish)

def _poll_text(v: int) -> str:
    names = [n for n in ("POLLIN", "POLLPRI", "POLLOUT", "POLLERR", "POLLHUP", "POLLNVAL", "POLLRDNORM",
                         "POLLRDBAND", "POLLWRNORM", "POLLWRBAND", "POLLRDHUP") if v & SYMBOLS[n]]
    return "|".join(names) if names else "0"


def _show(e) -> str:
    return type(e).__name__.rstrip("_").lower()
