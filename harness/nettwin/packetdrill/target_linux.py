"""The Linux target: the real kernel of this machine, in real time, in two fresh
network namespaces joined by veth (the recorder's topology, recording/netns.py):
the DUT namespace holds the script's sockets, the tester namespace's veth end is
where the script's inbound packets are written (AF_PACKET) and the DUT's frames
read, its own kernel muted by nftables. Root only; the namespaces are deleted at
the end of each script."""
from __future__ import annotations

import ctypes
import errno as errno_mod
import fcntl as fcntl_mod
import os
import select
import socket
import struct
import time
from typing import Optional

from ..recording.netns import NetnsError, Topology, exclusive_use, run
from .config import Config
from .packets import DUT_MAC, REMOTE_MAC, ether

CLONE_NEWNET = 0x40000000
SO_TIMESTAMPNS = 35
PACKET_OUTGOING = 4
STEP_S = 0.001
SPIN_NS = 2_000_000
DEFAULT_CONGESTION_CONTROL = "cubic"
DEVICE = "ntdut0"                   # the DUT's veth end, tun0 in upstream's shell lines


class _EpollEvent(ctypes.Structure):
    """struct epoll_event: packed on x86-64 (12 bytes)."""
    _pack_ = 1
    _fields_ = [("events", ctypes.c_uint32), ("data", ctypes.c_uint64)]


_libc = ctypes.CDLL(None, use_errno=True)


def _libc_call(fn, *args) -> tuple:
    """(ret, errno, None) of a libc call."""
    ret = fn(*args)
    return (ret, ctypes.get_errno() if ret < 0 else 0, None)


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


class _InNetns:
    """This thread inside a named network namespace for the with block: sockets made
    there stay there."""

    def __init__(self, name: str):
        self.name = name

    def __enter__(self):
        self.home = os.open("/proc/self/ns/net", os.O_RDONLY)
        fd = os.open(f"/run/netns/{self.name}", os.O_RDONLY)
        try:
            _setns(fd)
        finally:
            os.close(fd)

    def __exit__(self, *exc):
        try:
            _setns(self.home)
        finally:
            os.close(self.home)


class LinuxTarget:
    virtual = False
    name = "linux"

    def __init__(self):
        if os.geteuid() != 0:
            raise PermissionError("--linux needs root (it creates network namespaces)")
        # Real time on a shared machine: ahead of the compilers, so that packets go out on time.
        try:
            os.nice(-10)
        except OSError:
            pass
        self.topo: Optional[Topology] = None
        self.lock = None                 # the machine's namespace lock, held from the first setup to shutdown
        self.socks: dict[int, socket.socket] = {}
        self.epolls: set[int] = set()    # the script's eventpolls (plain descriptors)
        self.cap: Optional[socket.socket] = None
        self.runs = 0
        self.rt_offset = 0
        self.congestion_control = ""     # set per socket when the namespace may not set the default
        self.last_congestion_control = ""   # what the last script's TCP sockets ran

    # -------------------------------------------------------------- setup, clock, frames

    def setup(self, cfg: Config) -> None:
        self.close()
        if self.lock is None:
            self.lock = exclusive_use()
            self.lock.__enter__()
        self.runs += 1
        # The host's default (bbr here) is not Linux's built-in one, which nettwin runs:
        # every TCP socket gets cubic unless the script says otherwise.
        self.congestion_control = DEFAULT_CONGESTION_CONTROL
        neighbours = [{"dev": "ntdut0", "ip": cfg.next_hop(), "mac": REMOTE_MAC}]
        routes = [] if cfg.remote_on_link() else [{"dst": f"{cfg.remote_ip}/32", "via": cfg.gateway_ip,
                                                   "dev": "ntdut0"}]
        self.topo = Topology(f"pd{os.getpid()}x{self.runs}", dut_neighbours=neighbours, dut_routes=routes,
                             dut_mtus={"ntdut0": cfg.mtu} if cfg.mtu != 1500 else None)
        try:
            self.topo.setup()
            cidr = f"{cfg.local_ip}/{cfg.prefixlen()}"
            if cidr not in self.topo.dut.addresses:
                run(["ip", "-n", self.topo.dut.netns, "addr", "add", cidr, "dev", "ntdut0"])
            with _InNetns(self.topo.tester.netns):
                cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            cap.bind(("nttst0", 0))
            cap.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            cap.setblocking(False)
            self.cap = cap
        except Exception:
            self.close()
            raise
        self.rt_offset = time.time_ns() - time.monotonic_ns()

    def close(self) -> None:
        if self.topo is not None:
            try:
                self.last_congestion_control = self.congestion_control or \
                    run(["sysctl", "-n", "net.ipv4.tcp_congestion_control"], self.topo.dut.netns).strip()
            except NetnsError:
                pass
        for s in self.socks.values():
            s.close()
        self.socks.clear()
        for fd in self.epolls:
            os.close(fd)
        self.epolls.clear()
        if self.cap is not None:
            self.cap.close()
            self.cap = None
        if self.topo is not None:
            topo, self.topo = self.topo, None
            topo.teardown()

    def shutdown(self) -> None:
        self.close()
        if self.lock is not None:
            lock, self.lock = self.lock, None
            lock.__exit__(None, None, None)

    def now_ns(self) -> int:
        return time.monotonic_ns()

    def run_until(self, t_ns: int) -> int:
        """Sleep until just before t_ns, then spin (the scheduler wakes sleepers late), as upstream does."""
        delay = (t_ns - time.monotonic_ns() - SPIN_NS) / 1e9
        if delay > 0:
            time.sleep(delay)
        while (now := time.monotonic_ns()) < t_ns:
            pass
        return now

    def step(self, ns: int = 0) -> int:
        """Wait up to a millisecond, less if a frame comes (select wakes at once)."""
        select.select([self.cap], [], [], STEP_S)
        return time.monotonic_ns()

    def inject(self, ip_packet: bytes) -> None:
        self.cap.send(ether(ip_packet, DUT_MAC, REMOTE_MAC))

    def frames(self) -> list:
        out = []
        while True:
            try:
                data, anc, _, addr = self.cap.recvmsg(65536, socket.CMSG_SPACE(16))
            except BlockingIOError:
                return out
            if addr[2] == PACKET_OUTGOING:
                continue
            t = time.monotonic_ns()
            for level, kind, raw in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= 16:
                    sec, nsec = struct.unpack("qq", raw[:16])
                    t = sec * 1_000_000_000 + nsec - self.rt_offset
            out.append((t, data))

    def sysctl(self, name: str, value: Optional[str]) -> str:
        if value is None:
            return run(["sysctl", "-n", name], self.topo.dut.netns).strip()
        try:
            run(["sysctl", "-qw", f"{name}={value}"], self.topo.dut.netns)
        except NetnsError:
            if name != "net.ipv4.tcp_congestion_control":
                raise
            # A namespace may not pick a module outside the host's allowed list (EPERM);
            # root may on each socket, so every TCP socket the script makes gets it.
            self.congestion_control = value
        return value

    def ip_route(self, cmd) -> None:
        """An `ip route` line (commands.IpRoute), run in the DUT's namespace on its device."""
        run(["ip", "route"] + [DEVICE if w == "tun0" else w for w in cmd.words], self.topo.dut.netns)

    def tc_qdisc(self, cmd) -> None:
        run(["tc", "qdisc"] + [DEVICE if w == "tun0" else w for w in cmd.words], self.topo.dut.netns)

    # -------------------------------------------------------------- system calls: (ret, errno, extra)

    def _call(self, fn, *a):
        try:
            return fn(*a)
        except OSError as e:
            return -1, e.errno or 0, None

    def _sock(self, fd) -> socket.socket:
        s = self.socks.get(fd)
        if s is None:
            raise OSError(errno_mod.EBADF, "bad file descriptor")
        return s

    def socket(self, domain, type_, proto):
        def f():
            with _InNetns(self.topo.dut.netns):
                s = socket.socket(domain, type_, proto)
            if self.congestion_control and (type_ & 0xF) == socket.SOCK_STREAM:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, self.congestion_control.encode())
            self.socks[s.fileno()] = s
            return s.fileno(), 0, None
        return self._call(f)

    def bind(self, fd, ip, port):
        return self._call(lambda: (self._sock(fd).bind((ip, port)), (0, 0, None))[1])

    def connect(self, fd, ip, port):
        def f():
            e = self._sock(fd).connect_ex((ip, port))
            return (0, 0, None) if e == 0 else (-1, e, None)
        return self._call(f)

    def listen(self, fd, backlog):
        return self._call(lambda: (self._sock(fd).listen(backlog), (0, 0, None))[1])

    def accept(self, fd, flags=0, wait_ns=0):     # real time: never waits here (the runner does)
        def f():
            s = self._sock(fd)
            p = select.poll()
            p.register(fd, select.POLLIN)
            if not p.poll(0):
                return -1, errno_mod.EAGAIN, None
            c, peer = s.accept()
            if flags & 0o4000:
                c.setblocking(False)
            self.socks[c.fileno()] = c
            return c.fileno(), 0, peer
        return self._call(f)

    def send(self, fd, data, flags=0, to=None):
        def f():
            s = self._sock(fd)
            n = s.sendto(data, flags, to) if to is not None else s.send(data, flags)
            return n, 0, None
        return self._call(f)

    def recv(self, fd, n, flags=0, wait_ns=0):
        def f():
            data, addr = self._sock(fd).recvfrom(n, flags | socket.MSG_DONTWAIT)
            return len(data), 0, (data, addr)
        return self._call(f)

    def close_fd(self, fd):
        if fd in self.epolls:
            self.epolls.discard(fd)
            return self._call(lambda: (os.close(fd), (0, 0, None))[1])

        def f():
            self._sock(fd).close()
            del self.socks[fd]
            return 0, 0, None
        return self._call(f)

    def shutdown_fd(self, fd, how):
        return self._call(lambda: (self._sock(fd).shutdown(how), (0, 0, None))[1])

    def setsockopt(self, fd, level, name, value):
        return self._call(lambda: (self._sock(fd).setsockopt(level, name, value), (0, 0, None))[1])

    def getsockopt(self, fd, level, name, optlen=0):
        def f():
            s = self._sock(fd)
            v = s.getsockopt(level, name, optlen) if optlen else s.getsockopt(level, name)
            return 0, 0, v
        return self._call(f)

    def ioctl(self, fd, cmd: int):
        def f():
            self._sock(fd)
            raw = fcntl_mod.ioctl(fd, cmd, struct.pack("i", 0))
            return 0, 0, struct.unpack("i", raw)[0]
        return self._call(f)

    def fcntl(self, fd, set_flags: Optional[int] = None):
        def f():
            self._sock(fd)
            if set_flags is None:
                return fcntl_mod.fcntl(fd, fcntl_mod.F_GETFL), 0, None
            fcntl_mod.fcntl(fd, fcntl_mod.F_SETFL, set_flags)
            return 0, 0, None
        return self._call(f)

    def poll(self, fd, events, timeout_ns=0):
        def f():
            self._sock(fd)
            p = select.poll()
            p.register(fd, events)
            got = p.poll(timeout_ns // 1_000_000)
            revents = got[0][1] if got else 0
            return (1 if revents else 0), 0, revents
        return self._call(f)

    def _epoll_made(self, r: tuple) -> tuple:
        if r[0] >= 0:
            self.epolls.add(r[0])
        return r

    def epoll_create(self, size):
        return self._epoll_made(_libc_call(_libc.epoll_create, size))

    def epoll_create1(self, flags):
        return self._epoll_made(_libc_call(_libc.epoll_create1, flags))

    def epoll_ctl(self, epfd, op, fd, events, data):
        ev = _EpollEvent(events, data)
        return _libc_call(_libc.epoll_ctl, epfd, op, fd, ctypes.byref(ev))

    def epoll_wait(self, epfd, maxevents, timeout_ns=0):     # real time: never waits here (the runner does)
        n = maxevents if maxevents <= 0 else min(maxevents, 1024)   # <= 0: the kernel's EINVAL
        buf = (_EpollEvent * max(1, n))()
        ret, err, _ = _libc_call(_libc.epoll_wait, epfd, buf, n, 0)
        return ret, err, [(buf[i].events, buf[i].data) for i in range(max(ret, 0))]

    def getsockname(self, fd):
        def f():
            return 0, 0, self._sock(fd).getsockname()
        return self._call(f)

    def getpeername(self, fd):
        def f():
            return 0, 0, self._sock(fd).getpeername()
        return self._call(f)
