"""Play a parsed script against a target, after upstream's run.c: event times
(absolute, relative to the previous event as it actually happened, ranges for
outbound packets, `*`), the tolerance (--tolerance_usecs, or --tolerance_percent
of the time since the last event when larger), inbound packets injected at their
time, outbound packets read from what the stack sent and checked, system calls
(a blocking one stays pending while the events after it run), `commands` and
%{ code }% blocks. The first failure ends the run with upstream's message:

    script.pkt:24: error handling packet: live packet field tcp_psh: expected: 1 (0x1) vs actual: 0 (0x0)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from . import packets as P
from . import script as S
from .config import Config
from .packets import Conn, PacketError
from .syscalls import SyscallError, Syscalls

NO_TIME = -1
SNIFF_TIMEOUT_US = 2_000_000    # upstream waits this long past an outbound packet's time
MAX_PENDING_WAIT_US = 1_000_000  # how long a later call waits for a pending blocking call (upstream: 1 s)
REMOTE_PORT_BASE = 40000        # the script side's ports of passive connections
STEP_WAIT_NS = 100_000          # on nettwin, how long a pending call waits per step while the runner sniffs
COARSE_WAIT_NS = 1_000_000
REAL_PENDING_STEP_NS = 1_000_000   # on Linux, how often a pending call is tried again


class ScriptFailure(Exception):
    """The run failed: str() is packetdrill's message; trace holds the skb path
    lines of the failing packet, when the target keeps one."""

    def __init__(self, message: str, trace: Optional[list] = None):
        super().__init__(message)
        self.trace = trace or []


@dataclass
class Result:
    path: str
    ok: bool
    message: str = ""
    trace: list = field(default_factory=list)
    elapsed_script_us: int = 0
    wall_s: float = 0.0


def usecs(ns: int) -> int:
    return ns // 1000


class Runner:
    def __init__(self, scr: S.Script, cfg: Config, target):
        self.s = scr
        self.cfg = cfg
        self.t = target
        self.sys = Syscalls(target, cfg, self)
        self.conns: list[Conn] = []
        self.current: Optional[Conn] = None
        self.pending: Optional[tuple] = None        # (Event, Pending)
        self.last_event: Optional[S.Event] = None
        self.t0 = 0
        self.queue: list = []                       # decoded outbound frames not yet matched
        self.next_remote_port = REMOTE_PORT_BASE

    # -------------------------------------------------------------- bookkeeping the syscalls use

    def set_current(self, conn: Conn):
        if conn not in self.conns:
            self.conns.append(conn)
        self.current = conn

    def now_ns(self) -> int:
        return self.t.now_ns()

    def now_us(self) -> int:
        return usecs(self.t.now_ns() - self.t0)

    def child_for(self, listener: Optional[Conn], peer) -> Conn:
        """The passive connection accept() returned: by its peer address."""
        for c in self.conns:
            if c.listener is not None and not c.accepted and peer and (c.remote_ip, c.remote_port) == tuple(peer):
                return c
        for c in self.conns:
            if c.listener is listener and listener is not None and not c.accepted:
                return c
        c = Conn(-1, listener.proto if listener else "tcp", local_ip=self.cfg.local_ip,
                 local_port=listener.local_port if listener else 0,
                 remote_ip=peer[0] if peer else "", remote_port=peer[1] if peer else 0, listener=listener)
        self.conns.append(c)
        return c

    # -------------------------------------------------------------- time

    def fail(self, ev: S.Event, message: str, trace=None):
        raise ScriptFailure(f"{self.s.path}:{ev.line}: {message}", trace)

    def verify_time(self, ev: S.Event, time_type: str, script_us: int, script_end_us: int, actual_us: int,
                    description: str, last_us: int) -> Optional[str]:
        """upstream's verify_time(): None, or the timing error."""
        if time_type == S.ANY:
            return None
        tol = self.cfg.tolerance_usecs
        if last_us != NO_TIME:
            tol = max(tol, int(self.cfg.tolerance_percent / 100.0 * (script_us - last_us)))
        if time_type in (S.ABSOLUTE_RANGE, S.RELATIVE_RANGE):
            if actual_us < script_us - tol or actual_us > script_end_us + tol:
                if time_type == S.ABSOLUTE_RANGE:
                    return (f"timing error: expected {description} in time range {script_us / 1e6:.6f}~"
                            f"{script_end_us / 1e6:.6f} sec but happened at {actual_us / 1e6:.6f} sec")
                off = ev.offset_us
                return (f"timing error: expected {description} in relative time range +{(script_us - off) / 1e6:.6f}~"
                        f"+{(script_end_us - off) / 1e6:.6f} sec but happened at {(actual_us - off) / 1e6:+.6f} sec")
            return None
        if actual_us < script_us - tol or actual_us > script_us + tol:
            return (f"timing error: expected {description} at {script_us / 1e6:.6f} sec but happened at "
                    f"{actual_us / 1e6:.6f} sec; tolerance {tol / 1e6:.6f} sec")
        return None

    def last_event_us(self) -> int:
        return self.last_event.time_us if self.last_event is not None else NO_TIME

    def adjust(self, ev: S.Event):
        """Relative times become absolute script times (upstream's adjust_relative_event_times)."""
        ev.offset_us = 0
        if ev.time_type not in (S.ANY, S.RELATIVE, S.RELATIVE_RANGE):
            if ev.blocking:
                ev.end_us = ev.action.end_us
            return
        inbound = lambda e: getattr(e.action, "direction", None) == "<"
        if self.last_event is not None and inbound(self.last_event) and inbound(ev):
            off = self.last_event.time_us
        else:
            off = self.now_us()
        ev.offset_us = off
        ev.time_us += off
        if ev.time_type == S.RELATIVE_RANGE:
            ev.time_end_us += off
        if ev.blocking:
            ev.end_us = ev.action.end_us + (off if ev.time_type == S.RELATIVE else 0)

    def advance_to(self, t_us: int):
        """Move the clock to script time t_us, finishing a pending blocking call on the way."""
        target_ns = self.t0 + t_us * 1000
        while self.t.now_ns() < target_ns:
            if self.pending is None:
                self.t.run_until(target_ns)
                break
            if self.t.virtual:
                # the call itself waits, in virtual time, for what unblocks it (or the target time);
                # one that cannot wait (a write) leaves the clock where it was: step it then
                before = self.t.now_ns()
                self.poll_pending(target_ns - before)
                if self.pending is None or self.t.now_ns() > before:
                    continue
                self.t.run_until(min(target_ns, before + REAL_PENDING_STEP_NS))
                continue
            self.t.run_until(min(target_ns, self.t.now_ns() + REAL_PENDING_STEP_NS))
            self.poll_pending()

    def step(self, ns: int = STEP_WAIT_NS):
        """Move the clock a little (nettwin: ns; Linux: up to a millisecond, less if a frame comes)."""
        if self.pending is not None and self.t.virtual:
            before = self.t.now_ns()
            self.poll_pending(ns)
            if self.t.now_ns() > before:
                return
        self.t.step(ns)
        self.poll_pending()

    def poll_pending(self, wait_ns: int = 0):
        """Try the pending blocking call again; on nettwin it may wait wait_ns of virtual time."""
        if self.pending is None:
            return
        ev, pend = self.pending
        r = pend.retry(max(0, wait_ns))
        if r is None:
            return
        self.pending = None
        try:
            pend.finish(r)
        except SyscallError as e:
            self.fail(ev, f"runtime error in {ev.action.name} call: {e}")
        # (a blocking call's time is never a range: the parser refuses one)
        err = self.verify_time(ev, ev.time_type, ev.end_us, 0, self.now_us(), "system call return", ev.time_us)
        if err:
            self.fail(ev, err)

    def await_pending(self, ev: S.Event):
        """A later system call waits (up to 1 s) for a pending blocking call, as upstream's does."""
        if self.pending is None:
            return
        pev = self.pending[0]
        limit = self.now_us() + MAX_PENDING_WAIT_US
        if self.t.virtual:
            self.poll_pending(MAX_PENDING_WAIT_US * 1000)
        while self.pending is not None and self.now_us() < limit:
            self.step()
        if self.pending is not None:
            self.fail(pev, f"runtime error in {pev.action.name} call: the blocking call did not return "
                           f"by {pev.end_us / 1e6:.6f} sec (still blocked at {self.now_us() / 1e6:.6f} sec)")

    # -------------------------------------------------------------- the run

    def run(self) -> Result:
        self.t.setup(self.cfg)
        try:
            for init in filter(None, self.cfg.init_scripts.split(",")):
                self.command(None, init)        # --init_scripts: settings files run before the script
            if self.s.init_command:
                self.command(None, self.s.init_command)
            self.t0 = self.t.now_ns()
            first = self.s.events[0]
            if first.time_type != S.ANY and first.time_us != 0:
                self.fail(first, "first event should be at time 0")
            for ev in self.s.events:
                self.adjust(ev)
                self.event(ev)
                self.last_event = ev
            if self.pending is not None:
                self.await_pending(self.pending[0])
            if self.s.cleanup_command:
                self.command(None, self.s.cleanup_command)
        except ScriptFailure as f:
            return Result(self.s.path, False, str(f), f.trace, self.now_us())
        except Exception as e:     # the target refused something (a gRPC status, a command): this script fails
            where = f"{self.s.path}:{self.last_event.line}" if self.last_event else self.s.path
            return Result(self.s.path, False, f"{where}: runner error after this line: {type(e).__name__}: {e}")
        return Result(self.s.path, True, "", [], self.now_us())

    def event(self, ev: S.Event):
        a = ev.action
        if isinstance(a, (S.TcpPacket, S.UdpPacket, S.IcmpPacket)) and a.direction == ">":
            self.outbound(ev, a)
            return
        self.advance_to(ev.time_us)
        desc = {S.Syscall: "system call start", S.Command: "command", S.Code: "data collection for code"}.get(
            type(a), "inbound packet")
        err = self.verify_time(ev, ev.time_type, ev.time_us, ev.time_end_us, self.now_us(), desc,
                               self.last_event_us())
        if err:
            self.fail(ev, err)
        if isinstance(a, S.Syscall):
            self.syscall(ev, a)
        elif isinstance(a, S.Command):
            self.command(ev, a.line)
        elif isinstance(a, S.Code):
            self.code(ev, a.text)
        else:
            self.inbound(ev, a)

    # -------------------------------------------------------------- system calls, commands, code

    def syscall(self, ev: S.Event, call: S.Syscall):
        self.await_pending(ev)
        try:
            pend = self.sys.start(call, ev.blocking)
        except SyscallError as e:
            self.fail(ev, f"runtime error in {call.name} call: {e}")
        if pend is not None:
            self.pending = (ev, pend)
        elif ev.blocking:
            err = self.verify_time(ev, ev.time_type, ev.end_us, 0, self.now_us(), "system call return",
                                   ev.time_us)
            if err:
                self.fail(ev, err)

    def command(self, ev: Optional[S.Event], line: str):
        """A shell line: the settings it makes (commands.py), applied to the target."""
        from pathlib import Path
        from .commands import CommandError, IpRoute, Sysctl, commands
        where = f"{self.s.path}:{ev.line}" if ev else self.s.path
        cfg = self.cfg
        env = {"local_ip": cfg.local_ip, "remote_ip": cfg.remote_ip, "gateway_ip": cfg.gateway_ip,
               "netmask_ip": cfg.netmask_ip, **cfg.defines}
        try:
            actions = commands(line, Path(self.s.path).parent, env)
        except CommandError as e:
            raise ScriptFailure(f"{where}: {e}") from None
        for a in actions:
            try:
                if isinstance(a, Sysctl):
                    self.t.sysctl(a.name, a.value)
                elif isinstance(a, IpRoute):
                    self.t.ip_route(a)
                else:
                    self.t.tc_qdisc(a)
            except Exception as e:
                what = f"sysctl {a.name}={a.value}" if isinstance(a, Sysctl) else \
                    ("ip route " if isinstance(a, IpRoute) else "tc qdisc ") + " ".join(a.words)
                raise ScriptFailure(f"{where}: {what} failed: {e}") from None

    def code(self, ev: S.Event, text: str):
        """A %{ }% block: Python asserting on tcpi_* of the socket under test, evaluated at its time."""
        from ..client.tcp_info import decode
        from .symbols import SYMBOLS
        if self.current is None or self.current.live_fd < 0:
            self.fail(ev, "error in code: no socket under test to read TCP_INFO from")
        ret, err, raw = self.t.getsockopt(self.current.live_fd, 6, 11, 256)
        if ret < 0:
            self.fail(ev, f"error in code: getsockopt(TCP_INFO) failed with errno {err}")
        env = {f"tcpi_{k}": v for k, v in decode(raw).items()}
        env.update(SYMBOLS)
        # a continuation backslash before the block's end (`...;\` then `}%`) continues into nothing
        text = text.rstrip()
        text = text[:-1] if text.endswith("\\") else text
        try:
            exec(compile(text, f"{self.s.path}:{ev.line}", "exec"), env)
        except AssertionError as e:
            self.fail(ev, f"error in code: assertion failed: {e}" if str(e) else
                      f"error in code: assertion failed: {text.strip()}")
        except Exception as e:
            self.fail(ev, f"error in code: {type(e).__name__}: {e}")

    # -------------------------------------------------------------- packets

    def conn_for_inbound(self, pkt) -> Conn:
        cur = self.current
        if cur is None:
            raise PacketError("no socket for this packet (no socket() call before it)")
        if isinstance(pkt, S.TcpPacket) and cur.listening and "S" in pkt.flags and "." not in pkt.flags:
            child = Conn(-1, "tcp", local_ip=cur.local_ip, local_port=cur.local_port,
                         remote_ip=self.cfg.remote_ip, remote_port=self._remote_port(), listener=cur,
                         remote_isn=pkt.seq & P.U32, remote_isn_known=True)
            self.set_current(child)
            return child
        if not cur.remote_ip:
            cur.remote_ip = self.cfg.remote_ip
        if not cur.remote_port:
            cur.remote_port = self._remote_port() if cur.proto == "tcp" else self.cfg.connect_port
        if not cur.local_port:
            self.sys._learn_local(cur)
        return cur

    def _remote_port(self) -> int:
        self.next_remote_port += 1
        return self.next_remote_port

    def inbound(self, ev: S.Event, pkt):
        try:
            if isinstance(pkt, S.IcmpPacket):
                frame = P.build_icmp(pkt, self.current, self.cfg.local_ip, self.cfg.remote_ip)
            else:
                conn = self.conn_for_inbound(pkt)
                if isinstance(pkt, S.TcpPacket):
                    self.check_gso_size(pkt)
                    frame = P.build_tcp(pkt, conn, self.cfg.tcp_ts_ecr_scaled)
                else:
                    frame = P.build_udp(pkt, conn)
            if len(frame) > self.cfg.mtu:
                # upstream's tun takes any length; a veth (and nettwin's device) drops
                # a frame above the MTU, so the packet would be lost, not received.
                raise PacketError(f"an inbound packet of {len(frame)} bytes is larger than the MTU ({self.cfg.mtu}), "
                                  "which upstream's tun takes whole and neither target can inject")
        except PacketError as e:
            self.fail(ev, f"error handling packet: {e}")
        try:
            self.t.inject(frame)
        except OSError as e:
            self.fail(ev, f"error handling packet: the {len(frame)}-byte packet could not be sent: {e.strerror}")
        self.poll_pending()

    def check_gso_size(self, pkt) -> None:
        """Under --mss upstream writes every inbound TCP packet to its tun as a GSO packet
        of gso_size mss (linux_tun_write), and TCP reads that size, not the packet's, as
        the sender's segment size (tcp_measure_rcv_mss). The targets here take plain
        frames: the same only when a packet carries no data or exactly mss bytes."""
        if self.cfg.mss and pkt.length not in (0, self.cfg.mss):
            raise PacketError(f"--mss={self.cfg.mss}: an inbound segment of {pkt.length} bytes would be a GSO "
                              f"packet of gso_size {self.cfg.mss}, which neither target can inject")

    def owner(self, live: P.Live) -> Optional[Conn]:
        """The script socket an outbound frame belongs to, or None (not the script's)."""
        if live.proto == 1:
            return self.current
        proto = {6: "tcp", 17: "udp"}.get(live.proto)
        for c in reversed(self.conns):
            if c.proto == proto and not c.listening and c.local_port == live.sport and \
                    c.remote_port == live.dport and c.remote_ip == live.dst:
                return c
        for c in reversed(self.conns):
            if c.proto == proto and c.listening and c.local_port == live.sport and \
                    c.remote_port == live.dport and c.remote_ip == live.dst:
                return c   # a listener's reset to a segment that was not a SYN
        for c in reversed(self.conns):
            if c.proto == proto and c.local_port == live.sport and not c.remote_port:
                return c   # a bound socket answering (a RST from a port that does not listen)
        return None

    def sniff(self, ev: S.Event) -> P.Live:
        """The next outbound frame that belongs to a script socket, moving the clock
        (no further than 2 s past the packet's time, as upstream waits)."""
        start_us = ev.time_us
        deadline_us = max(ev.time_us, ev.time_end_us) + SNIFF_TIMEOUT_US if ev.time_type != S.ANY else None
        while True:
            for t_ns, frame in self.t.frames():
                d = P.decode(frame, t_ns)
                if d is not None:
                    self.queue.append(d)
            while self.queue:
                cand = self.queue.pop(0)
                if self.owner(cand) is not None:
                    return cand
            if deadline_us is not None and self.now_us() >= deadline_us:
                self.fail(ev, "error handling packet: timed out waiting for packet")
            if self.now_us() < start_us:
                # straight to the packet's time (a pending call is tried on the way): what the
                # stack sends before it is on the wire with its exact time all the same
                self.advance_to(start_us)
            else:
                # Steps grow with the wait (100 us, then as long as waited so far, at most 1 ms):
                # the frame's wire time is exact whatever the step; the clock passes it by no
                # more than the time already waited, which the tolerance covers.
                waited_ns = (self.now_us() - start_us) * 1000
                self.step(min(max(STEP_WAIT_NS, waited_ns), COARSE_WAIT_NS))

    def aggregate(self, ev: S.Event, pkt: S.TcpPacket, live: P.Live) -> P.Live:
        """Consecutive segments of one flow read as the one the script expects (upstream
        does so unless --strict_segments: a script written for TSO runs on a device
        without it); the headers are the last segment's, seq and CWR the first's."""
        parts = [live]
        while sum(len(p.payload) for p in parts) < pkt.length:
            nxt = self.sniff(ev)
            prev = parts[-1]
            if (nxt.proto, nxt.sport, nxt.dport, nxt.dst) != (prev.proto, prev.sport, prev.dport, prev.dst):
                parts = [nxt]       # another flow's leftovers: start anew, as upstream does
                continue
            if nxt.seq != (prev.seq + len(prev.payload)) & P.U32:
                break
            parts.append(nxt)
        if len(parts) == 1:
            return parts[0]
        import dataclasses
        payload = b"".join(p.payload for p in parts)
        last = parts[-1]
        return dataclasses.replace(last, seq=parts[0].seq, payload=payload,
                                   flags=(last.flags & ~0x80) | (parts[0].flags & 0x80),
                                   total_len=last.total_len + len(payload) - len(last.payload))

    def outbound(self, ev: S.Event, pkt):
        want = self.current
        live = self.sniff(ev)
        if isinstance(pkt, S.TcpPacket) and live.proto == 6 and not self.cfg.strict_segments and \
                len(live.payload) < pkt.length:
            live = self.aggregate(ev, pkt, live)
        conn = self.owner(live)
        # the packet's skb path is read from the target only when the packet fails
        fail = lambda message: self.fail(ev, message, self.trace_lines(live.time_ns))
        if conn is not want and live.proto != 1:
            fail("error handling packet: packet is not for expected socket")
        try:
            if isinstance(pkt, S.TcpPacket):
                if live.proto != 6:
                    P.check_field("ipv4_protocol", 6, live.proto)
                P.verify_tcp(pkt, live, conn, self.cfg.tolerance_usecs, self.cfg.tcp_ts_tick_usecs)
            elif isinstance(pkt, S.UdpPacket):
                P.verify_udp(pkt, live)
            else:
                P.verify_icmp(pkt, live)
        except PacketError as e:
            fail(f"error handling packet: {e}\n{self.dumps(ev, pkt, live, conn)}")
        err = self.verify_time(ev, ev.time_type, ev.time_us, ev.time_end_us, usecs(live.time_ns - self.t0),
                               "outbound packet", self.last_event_us())
        if err:
            fail(f"error handling packet: {err}\n{self.dumps(ev, pkt, live, conn)}")

    def dumps(self, ev, pkt, live, conn) -> str:
        return (f"script packet: {ev.time_us / 1e6:9.6f} {P.script_text(pkt)}\n"
                f"actual packet: {usecs(live.time_ns - self.t0) / 1e6:9.6f} {P.live_text(live, conn)}")

    def trace_lines(self, t_ns: int) -> list:
        trace_at = getattr(self.t, "trace_at", None)
        if trace_at is None:
            return []
        out = []
        for e in trace_at(t_ns):
            where = e.name[len("checkpoint:"):] if e.is_checkpoint else e.name
            fields = " ".join(f"{k}={v}" for k, v in e.fields.items())
            out.append(f"{(e.time_ns - self.t0) / 1e9:10.6f}  {where:<26} skb={e.skb:<4} {fields}".rstrip())
        return out
