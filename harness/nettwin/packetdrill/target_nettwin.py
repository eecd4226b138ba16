"""The nettwin target: a fresh stack (one veth-like device with the script's local
address, the remote's MAC as a permanent neighbour), its sockets through the
Sockets service, frames injected into the device's RX side and read off its
wire, all in virtual time. The checkpoints and tracepoints of the run are kept,
so that a failing packet's skb path can be shown."""
from __future__ import annotations

from typing import Optional

from ..client import Stack
from .config import Config
from .packets import DUT_MAC, REMOTE_MAC, ether

DEV = "pdut0"
DEV_IFINDEX = 2
STEP_NS = 100_000           # how far the clock moves at a time while the runner waits for something
O_NONBLOCK = 0o4000


class NettwinTarget:
    virtual = True
    name = "nettwin"

    def __init__(self, stack: Stack, seed: int = 1):
        self.stack = stack
        self.seed = seed
        self.sockets = stack.sockets
        self.pb = stack.pb
        self.sub = None
        self.events: list = []
        self._now = None
        # Frames read with the last clock step, and the stack's call count then: while
        # no other call was made, the wire holds nothing newer (frames() need not ask).
        self._read: list = []
        self._read_at = -1
        # A frame injected at this time (> 0) and not run yet: the next call that runs
        # the clock takes it (its run_until_ns), as a RunUntil right after the inject would.
        self._due: Optional[int] = None

    # -------------------------------------------------------------- setup, clock, frames

    def setup(self, cfg: Config) -> None:
        st = self.stack
        setup = st.setup(self.seed)
        setup.create_device("lo", kind="loopback", mac="00:00:00:00:00:00", ifindex=1)
        setup.add_address("lo", "127.0.0.1/8")
        setup.create_device(DEV, kind="veth", mac=DUT_MAC, ifindex=DEV_IFINDEX, mtu=cfg.mtu)
        setup.add_address(DEV, f"{cfg.local_ip}/{cfg.prefixlen()}")
        setup.add_neighbour(DEV, cfg.next_hop(), REMOTE_MAC)
        if not cfg.remote_on_link():
            setup.add_route(f"{cfg.remote_ip}/32", gateway=cfg.gateway_ip, dev=DEV)
        setup.subscribe([], checkpoints=True).apply()
        self.sub = setup.subscription
        self.events = []
        self._read, self._read_at = [], -1
        self._due = None
        self.root_qdisc = ""    # none added: the device's default (noqueue)
        self._now = 0           # Reset puts the clock at 0; setting the stack up does not move it

    def close(self) -> None:
        if self.sub is not None:
            self.sub.close()
            self.sub = None

    # The clock as the last call left it (each clock call answers with the time): one
    # Control.Now round trip less per question; a socket call may move it, so it forgets.
    def now_ns(self) -> int:
        if self._now is None:
            self._now = self.stack.now()
        return self._now

    def run_until(self, t_ns: int) -> int:
        now = self.now_ns()
        if t_ns > now:
            # Past what is due too: one run to t_ns is the run to it and then on.
            self._due = None
            self._now, frames = self.stack.run_until_and_read_wire(t_ns, DEV)
            self._read += frames
            self._read_at = self.stack.calls
        else:
            self._run_due()
        return self._now

    def _run_due(self) -> None:
        """What is due runs now, in a call of its own (no call that runs the clock came)."""
        if self._due is not None:
            t_ns, self._due = self._due, None
            self._now = self.stack.run_until(t_ns)

    def step(self, ns: int = STEP_NS) -> int:
        return self.run_until(self.now_ns() + ns)

    def inject(self, ip_packet: bytes) -> None:
        # What was due runs first, in the same call; this frame runs with the next call
        # that runs the clock (at 0 no request can carry it: a RunUntil here).
        due, self._due = self._due, None
        self.stack.inject(DEV, ether(ip_packet), at_ns=due or 0)
        now = self.now_ns()
        if now > 0:
            self._due = now
        else:
            self._now = self.stack.run_until(now)

    def frames(self) -> list:
        """(time_ns, frame) of what the device sent since the last call."""
        frames, self._read = self._read, []
        if self._due is not None:
            due, self._due = self._due, None
            frames += self.stack.run_until_and_read_wire(due, DEV)[1]
        elif self.stack.calls != self._read_at:
            frames += self.stack.wire_raw(DEV)
        self._read_at = self.stack.calls
        return [(wf.time_ns, bytes(wf.data)) for wf in frames]

    def sysctl(self, name: str, value: Optional[str]) -> str:
        self._run_due()
        self._now = None
        return self.stack.sysctl(name, value)

    def ip_route(self, cmd) -> None:
        """An `ip route` line (commands.IpRoute) on the stack's routes, tun0 being DEV."""
        self._run_due()
        route = dict(cmd.route, dev=DEV)
        if cmd.op == "add":
            self.stack.add_route(**route)
        elif cmd.op == "del":
            keep = ("dst", "gateway", "dev", "table", "metric")
            self.stack.del_route(**{k: v for k, v in route.items() if k in keep})
        else:
            self.stack.replace_route(create=cmd.op == "replace", **route)
        self._now = None

    def tc_qdisc(self, cmd) -> None:
        """A FIFO root qdisc (commands.TcQdisc). The device never stops its queue, so a
        FIFO holds nothing and the stack's noqueue sends what it would; what is kept is
        which qdisc tc added, for the errors tc gives (recorded on this kernel's veth):
        add over one of the same kind, change or del while none was added."""
        if cmd.limit == 0:
            # Linux's FIFO of limit 0 has no bypass and drops every packet (NET_XMIT_DROP
            # to TCP, which then probes every TCP_RESOURCE_PROBE_INTERVAL); nettwin's
            # device has no configurable qdisc, so what such a script tests cannot run.
            raise ValueError(f"a {cmd.kind} of limit 0 drops every packet on Linux; the stack's qdisc "
                             "limits are not configurable (no qdisc RPC)")
        if cmd.op == "add" and self.root_qdisc == cmd.kind:
            raise ValueError("Error: Exclusivity flag on, cannot modify.")
        if cmd.op == "change" and not self.root_qdisc:
            raise ValueError("Error: Qdisc not found. To create specify NLM_F_CREATE flag.")
        if cmd.op == "del" and not self.root_qdisc:
            raise ValueError("Error: Cannot delete qdisc with handle of zero.")
        self.root_qdisc = "" if cmd.op == "del" else cmd.kind

    def trace_at(self, t_ns: int) -> list:
        """The events (checkpoints and tracepoints) that happened at virtual time t_ns."""
        self._run_due()
        if self.sub is not None:
            self.events.extend(self.sub.read())
        return [e for e in self.events if e.time_ns == t_ns]

    # -------------------------------------------------------------- system calls: (ret, errno, extra)

    @property
    def calls(self):
        """The Sockets service; a call may run the clock (a blocking poll): _r() takes the
        time its reply carries. The call runs what is due first, in its own request."""
        if self._due is not None:
            self.sockets.at(self._due)
            self._due = None
        return self.sockets

    def _r(self, r, extra=None):
        self._took_time(r.now_ns)
        return r.ret, r.errno, extra

    def _took_time(self, now_ns: int):
        """The time a socket call's reply carries (0 is a time only while the clock is known at 0)."""
        self._now = now_ns if now_ns or self._now == 0 else None

    def socket(self, domain, type_, proto):
        return self._r(self.calls.socket(domain, type_, proto, check=False))

    def bind(self, fd, ip, port):
        return self._r(self.calls.bind(fd, (ip, port), check=False))

    def connect(self, fd, ip, port):
        return self._r(self.calls.connect(fd, (ip, port), check=False))

    def listen(self, fd, backlog):
        return self._r(self.calls.listen(fd, backlog, check=False))

    def accept(self, fd, flags=0, wait_ns=0):
        r = self.calls.accept(fd, flags, timeout_ns=wait_ns, check=False)
        return self._r(r, r.addr)

    def send(self, fd, data, flags=0, to=None):
        return self._r(self.calls.sendto(fd, data, to, flags, check=False))

    def recv(self, fd, n, flags=0, wait_ns=0):
        r = self.calls.recvfrom(fd, n, flags, timeout_ns=wait_ns, check=False)
        return self._r(r, (r.data, r.addr))

    def close_fd(self, fd):
        return self._r(self.calls.close(fd, check=False))

    def shutdown_fd(self, fd, how):
        return self._r(self.calls.shutdown(fd, how, check=False))

    def setsockopt(self, fd, level, name, value):
        return self._r(self.calls.setsockopt(fd, level, name, value, check=False))

    def getsockopt(self, fd, level, name, optlen=0):
        r = self.calls.getsockopt(fd, level, name, optlen, check=False)
        return self._r(r, bytes(r.optval) if optlen else r.value)

    def ioctl(self, fd, cmd: int):
        r = self.calls.ioctl(fd, cmd, check=False)
        return self._r(r, r.value)

    def fcntl(self, fd, set_flags: Optional[int] = None):
        req = self.pb.FcntlRequest(fd=fd, set=set_flags is not None, flags=set_flags or 0)
        r = self.calls._do("fcntl", self.sockets.stub.Fcntl, req, False)
        self._took_time(r.now_ns)
        return r.ret if set_flags is not None or r.ret < 0 else r.value, r.errno, None

    def poll(self, fd, events, timeout_ns=0):
        r = self.calls.poll(fd, events, timeout_ns, check=False)
        return self._r(r, r.value)

    def epoll_create(self, size):
        return self._r(self.calls.epoll_create(size, check=False))

    def epoll_create1(self, flags):
        return self._r(self.calls.epoll_create1(flags, check=False))

    def epoll_ctl(self, epfd, op, fd, events, data):
        return self._r(self.calls.epoll_ctl(epfd, op, fd, events, data, check=False))

    def epoll_wait(self, epfd, maxevents, timeout_ns=0):
        r = self.calls.epoll_wait(epfd, maxevents, timeout_ns, check=False)
        return self._r(r, r.events)

    def getsockname(self, fd):
        r = self.calls.getsockname(fd, check=False)
        return self._r(r, r.addr)

    def shutdown(self) -> None:
        self.close()
        self.stack.close()

    def getpeername(self, fd):
        r = self.calls.getpeername(fd, check=False)
        return self._r(r, r.addr)
