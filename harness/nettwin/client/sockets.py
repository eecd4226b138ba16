"""The DUT's sockets over gRPC (the Sockets service): BSD calls with Linux's
results. Each call returns what the syscall returns and raises SocketError
(an OSError with Linux's errno) on failure, like Python's own socket module;
the raw posix reply is kept in `last` for scripts that compare errno values.

    fd = dut.socket(AF_INET, SOCK_DGRAM)
    dut.bind(fd, ("198.51.100.2", 5000))
    data, addr = dut.recvfrom(fd, 2048)

AF_PACKET sockets take and return LLAddr (struct sockaddr_ll, host byte order
as Python's own AF_PACKET tuples are); socket()'s protocol is passed as a
program passes it, in network byte order:

    fd = dut.socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL))
    dut.bind(fd, LLAddr(ifindex=7102, protocol=ETH_P_ARP))
    frame, ll = dut.recvfrom(fd, 2048)     # ll.pkttype == PACKET_OUTGOING for sent frames

Options whose value is not an int travel as bytes, as a program passes them:

    dut.setsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, "reno")            # a str is encoded
    dut.setsockopt(fd, SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 5))  # struct linger
    info = dut.getsockopt(fd, IPPROTO_TCP, TCP_INFO, optlen=280)        # bytes (tcp_info.decode)
"""
from __future__ import annotations

import errno as errno_mod
import os
import socket as pysocket
from dataclasses import dataclass, field
from typing import NamedTuple, Optional

AF_INET = pysocket.AF_INET
AF_UNSPEC = pysocket.AF_UNSPEC
SOCK_DGRAM = pysocket.SOCK_DGRAM
SOCK_RAW = pysocket.SOCK_RAW
SOCK_STREAM = pysocket.SOCK_STREAM
SOCK_NONBLOCK = pysocket.SOCK_NONBLOCK
MSG_DONTWAIT = pysocket.MSG_DONTWAIT
MSG_PEEK = pysocket.MSG_PEEK
MSG_TRUNC = pysocket.MSG_TRUNC
MSG_ERRQUEUE = getattr(pysocket, "MSG_ERRQUEUE", 0x2000)
MSG_MORE = getattr(pysocket, "MSG_MORE", 0x8000)
AF_PACKET = 17
ETH_P_ALL, ETH_P_IP, ETH_P_ARP = 0x0003, 0x0800, 0x0806
PACKET_HOST, PACKET_BROADCAST, PACKET_MULTICAST, PACKET_OTHERHOST, PACKET_OUTGOING = 0, 1, 2, 3, 4
ARPHRD_ETHER = 1
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP = 0x1, 0x4, 0x8, 0x10, 0x2000
EPOLLEXCLUSIVE, EPOLLONESHOT, EPOLLET = 1 << 28, 1 << 30, 1 << 31
EPOLL_CLOEXEC = 0o2000000
DEFAULT_TIMEOUT_NS = 1_000_000_000   # a blocking call waits at most 1 s of virtual time


class SocketError(OSError):
    """A socket call that failed in the stack: errno is Linux's."""

    def __init__(self, call: str, err: int):
        super().__init__(err, f"{call}: {errno_mod.errorcode.get(err, str(err))} ({os.strerror(err)})")
        self.call = call


@dataclass
class SockResult:
    """One call's posix reply: return value, errno, and what came back."""
    call: str
    ret: int
    errno: int
    data: bytes = b""
    addr: Optional[tuple] = None
    msg_flags: int = 0
    value: int = 0
    ee: Optional[dict] = None
    now_ns: int = 0
    optval: bytes = b""     # getsockopt with a buffer: the bytes the kernel wrote
    events: list = field(default_factory=list)   # epoll_wait: (events, data) pairs, in the ready list's order

    def as_json(self) -> dict:
        out = {"ret": self.ret, "errno": errno_mod.errorcode.get(self.errno, str(self.errno)) if self.errno else ""}
        if self.data:
            out["data"] = self.data.hex()
        if isinstance(self.addr, LLAddr):
            out["addr"] = {**self.addr._asdict(), "addr": self.addr.addr.hex(":")}
        elif self.addr is not None:
            out["addr"] = list(self.addr)
        if self.msg_flags:
            out["msg_flags"] = self.msg_flags
        if self.ee:
            out["ee"] = self.ee
        return out


def htons(v: int) -> int:
    """socket()'s protocol for AF_PACKET, as a C program passes it."""
    return pysocket.htons(v)


class LLAddr(NamedTuple):
    """struct sockaddr_ll: the address of an AF_PACKET socket. ifindex may be
    given as a device name ("ntdut0"), which the wrapper looks up."""
    ifindex: int = 0
    protocol: int = 0      # the ethertype, host order (ETH_P_ARP)
    pkttype: int = 0
    hatype: int = 0
    addr: bytes = b""      # sll_addr; sll_halen is its length


def _ll_pb(pb, addr, addrlen: int = 0, ifindex_of=None):
    ll = addr if isinstance(addr, LLAddr) else LLAddr(*addr)
    if isinstance(ll.ifindex, str) and ifindex_of is not None:
        ll = ll._replace(ifindex=ifindex_of(ll.ifindex))
    for name in ("ifindex", "protocol", "pkttype", "hatype"):
        if not isinstance(getattr(ll, name), int):
            raise TypeError(f"sockaddr_ll {name} must be an int, not {getattr(ll, name)!r}")
    hw = bytes(ll.addr)
    if len(hw) > 8:
        raise ValueError(f"sockaddr_ll addr has {len(hw)} bytes (at most 8)")
    return pb.SockAddr(family=AF_PACKET, ifindex=ll.ifindex, protocol=ll.protocol, pkttype=ll.pkttype,
                       hatype=ll.hatype, hwaddr=":".join(f"{b:02x}" for b in hw), addrlen=addrlen)


def _reply_addr(a):
    if a.family == AF_PACKET:
        return LLAddr(a.ifindex, a.protocol, a.pkttype, a.hatype, bytes.fromhex(a.hwaddr.replace(":", "")))
    return (a.ip, a.port)


def _addr_pb(pb, addr, family: Optional[int] = None, addrlen: int = 0, ifindex_of=None):
    if isinstance(addr, LLAddr) or family == AF_PACKET:
        return _ll_pb(pb, addr, addrlen, ifindex_of)
    ip, port = addr
    fam = 0 if family in (None, AF_INET) else (-1 if family == AF_UNSPEC else family)
    return pb.SockAddr(ip=ip or "", port=int(port), family=fam, addrlen=addrlen)


class Sockets:
    """The calls, on one Stack's channel."""

    def __init__(self, stack):
        self.stack = stack
        _, grpc_mod = stack.pb, None
        from . import paths
        _, grpc_mod = paths.import_stubs()
        self.pb = stack.pb
        self.stub = grpc_mod.SocketsStub(stack.channel)
        self.last: Optional[SockResult] = None
        self._run_until_ns = 0   # at(): the time the next call's request runs the clock to

    def at(self, t_ns: int) -> None:
        """The next call first runs the clock to t_ns (absolute), in its own request
        (run_until_ns): stack.run_until(t_ns) and the call in one round trip. A request
        cannot carry 0 (it means "leave the clock"): at(0) runs the clock at once."""
        if t_ns <= 0:
            self._run_until_ns = 0
            self.stack.run_until(0)
        else:
            self._run_until_ns = int(t_ns)

    def run_pending(self) -> None:
        """A time given to at() that no call has taken yet: the clock runs there now."""
        if self._run_until_ns:
            t_ns, self._run_until_ns = self._run_until_ns, 0
            self.stack.run_until(t_ns)

    def _ifindex_of(self, name: str) -> int:
        for d in self.stack.devices():
            if d.config.name == name:
                return d.config.ifindex
        raise ValueError(f"sockaddr_ll: no device named {name!r}")

    def _addr(self, addr, family=None, addrlen=0):
        return _addr_pb(self.pb, addr, family, addrlen, self._ifindex_of)

    def _do(self, name: str, method, request, check: bool) -> SockResult:
        if self._run_until_ns:
            request.run_until_ns, self._run_until_ns = self._run_until_ns, 0
        reply = self.stack._call(f"Sockets.{name}", method, request)
        addr = _reply_addr(reply.addr) if reply.HasField("addr") else None
        ee = None
        if reply.HasField("ee"):
            ee = {"errno": errno_mod.errorcode.get(reply.ee.ee_errno, str(reply.ee.ee_errno)),
                  "origin": reply.ee.ee_origin, "type": reply.ee.ee_type, "code": reply.ee.ee_code,
                  "info": reply.ee.ee_info, "offender": reply.ee.offender}
        res = SockResult(name, reply.ret, reply.errno_code, reply.data, addr, reply.msg_flags,
                         reply.value, ee, reply.now_ns, bytes(getattr(reply, "optval", b"")),
                         [(e.events, e.data) for e in reply.events])
        self.last = res
        if check and res.ret < 0:
            raise SocketError(name, res.errno)
        return res

    # Each call: check=True raises SocketError on failure (the default);
    # check=False returns the SockResult whatever happened.
    def socket(self, family=AF_INET, type=SOCK_DGRAM, proto=0, check=True):
        r = self._do("socket", self.stub.Socket,
                     self.pb.SocketRequest(domain=family, type=type, protocol=proto), check)
        return r.ret if check else r

    def bind(self, fd, addr, family=None, addrlen=0, check=True):
        r = self._do("bind", self.stub.Bind,
                     self.pb.SockAddrRequest(fd=fd, addr=self._addr(addr, family, addrlen)), check)
        return r.ret if check else r

    def connect(self, fd, addr, family=None, addrlen=0, check=True):
        r = self._do("connect", self.stub.Connect,
                     self.pb.SockAddrRequest(fd=fd, addr=self._addr(addr, family, addrlen)), check)
        return r.ret if check else r

    def listen(self, fd, backlog=0, check=True):
        r = self._do("listen", self.stub.Listen, self.pb.ListenRequest(fd=fd, backlog=backlog), check)
        return r.ret if check else r

    def accept(self, fd, flags=0, timeout_ns=DEFAULT_TIMEOUT_NS, check=True):
        """accept4: the new descriptor (its peer is the reply's addr with check=False). A blocking
        listener waits up to timeout_ns of virtual time for a connection, as recv does."""
        r = self._do("accept", self.stub.Accept,
                     self.pb.AcceptRequest(fd=fd, flags=flags, timeout_ns=timeout_ns), check)
        return r.ret if check else r

    def sendto(self, fd, data: bytes, addr=None, flags=0, family=None, addrlen=0, check=True):
        req = self.pb.SendRequest(fd=fd, data=bytes(data), flags=flags)
        if addr is not None:
            req.to.CopyFrom(self._addr(addr, family, addrlen))
        r = self._do("sendto", self.stub.SendTo, req, check)
        return r.ret if check else r

    def send(self, fd, data: bytes, flags=0, check=True):
        return self.sendto(fd, data, None, flags, check=check)

    def sendmsg(self, fd, data: bytes, addr=None, flags=0, family=None, addrlen=0, check=True):
        req = self.pb.SendRequest(fd=fd, data=bytes(data), flags=flags)
        if addr is not None:
            req.to.CopyFrom(self._addr(addr, family, addrlen))
        r = self._do("sendmsg", self.stub.SendMsg, req, check)
        return r.ret if check else r

    def recvfrom(self, fd, bufsize=65536, flags=0, timeout_ns=DEFAULT_TIMEOUT_NS, check=True):
        r = self._do("recvfrom", self.stub.RecvFrom,
                     self.pb.RecvRequest(fd=fd, len=bufsize, flags=flags, timeout_ns=timeout_ns), check)
        return (r.data, r.addr) if check else r

    def recv(self, fd, bufsize=65536, flags=0, timeout_ns=DEFAULT_TIMEOUT_NS, check=True):
        r = self.recvfrom(fd, bufsize, flags, timeout_ns, check=False)
        if check and r.ret < 0:
            raise SocketError("recv", r.errno)
        return r.data if check else r

    def recvmsg(self, fd, bufsize=65536, flags=0, timeout_ns=DEFAULT_TIMEOUT_NS, check=True):
        r = self._do("recvmsg", self.stub.RecvMsg,
                     self.pb.RecvRequest(fd=fd, len=bufsize, flags=flags, timeout_ns=timeout_ns), check)
        return r

    def shutdown(self, fd, how, check=True):
        r = self._do("shutdown", self.stub.Shutdown, self.pb.ShutdownRequest(fd=fd, how=how), check)
        return r.ret if check else r

    def close(self, fd, check=True):
        r = self._do("close", self.stub.Close, self.pb.FdRequest(fd=fd), check)
        return r.ret if check else r

    def setsockopt(self, fd, level, name, value, optlen=0, check=True):
        """value: an int, or the option's bytes (a str is encoded, e.g. TCP_CONGESTION "cubic")."""
        req = self.pb.SockOptRequest(fd=fd, level=level, name=name, optlen=optlen)
        if isinstance(value, str):
            value = value.encode()
        if isinstance(value, (bytes, bytearray)):
            req.optval = bytes(value)
        else:
            req.value = int(value)
        r = self._do("setsockopt", self.stub.SetSockOpt, req, check)
        return r.ret if check else r

    def getsockopt(self, fd, level, name, optlen=0, check=True):
        """The value as an int; with optlen (a buffer size), the bytes the kernel wrote."""
        r = self._do("getsockopt", self.stub.GetSockOpt,
                     self.pb.SockOptRequest(fd=fd, level=level, name=name, optlen=optlen), check)
        if not check:
            return r
        return r.optval if optlen else r.value

    def ioctl(self, fd, cmd, check=True):
        """ioctl(fd, cmd, &int): SIOCINQ, SIOCOUTQ, SIOCOUTQNSD, SIOCATMARK; .value is the int."""
        return self._do("ioctl", self.stub.Ioctl, self.pb.IoctlRequest(fd=fd, cmd=cmd), check)

    def getsockname(self, fd, check=True):
        r = self._do("getsockname", self.stub.GetSockName, self.pb.FdRequest(fd=fd), check)
        return r.addr if check else r

    def getpeername(self, fd, check=True):
        r = self._do("getpeername", self.stub.GetPeerName, self.pb.FdRequest(fd=fd), check)
        return r.addr if check else r

    def poll(self, fd, events, timeout_ns=0, check=True):
        r = self._do("poll", self.stub.Poll, self.pb.PollRequest(fd=fd, events=events, timeout_ns=timeout_ns),
                     check)
        return r.value if check else r

    def epoll_create(self, size=1, check=True):
        r = self._do("epoll_create", self.stub.EpollCreate, self.pb.EpollCreateRequest(size=size), check)
        return r.ret if check else r

    def epoll_create1(self, flags=0, check=True):
        r = self._do("epoll_create1", self.stub.EpollCreate,
                     self.pb.EpollCreateRequest(create1=True, flags=flags), check)
        return r.ret if check else r

    def epoll_ctl(self, epfd, op, fd, events=0, data=None, check=True):
        """op: EPOLL_CTL_ADD, _DEL or _MOD; data (the epoll_event's 64-bit word) defaults to fd.
        DEL passes no event."""
        req = self.pb.EpollCtlRequest(epfd=epfd, op=op, fd=fd)
        if op != EPOLL_CTL_DEL:
            req.event.CopyFrom(self.pb.EpollEvent(events=events, data=fd if data is None else data))
        r = self._do("epoll_ctl", self.stub.EpollCtl, req, check)
        return r.ret if check else r

    def epoll_wait(self, epfd, maxevents=16, timeout_ns=0, check=True):
        """[(events, data), ...] in the ready list's order; it waits up to timeout_ns of virtual time."""
        r = self._do("epoll_wait", self.stub.EpollWait,
                     self.pb.EpollWaitRequest(epfd=epfd, maxevents=maxevents, timeout_ns=timeout_ns), check)
        return r.events if check else r

    def setblocking(self, fd, flag: bool):
        flags = self._do("fcntl", self.stub.Fcntl, self.pb.FcntlRequest(fd=fd), True).value
        flags = (flags & ~os.O_NONBLOCK) | (0 if flag else os.O_NONBLOCK)
        self._do("fcntl", self.stub.Fcntl, self.pb.FcntlRequest(fd=fd, set=True, flags=flags), True)
