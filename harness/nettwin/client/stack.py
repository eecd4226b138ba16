"""A Python client for nettwin-server: starts the real server binary on a private
Unix socket (or attaches to a running one) and speaks the gRPC contract in
proto/nettwin.proto, taking and returning Scapy packets."""
from __future__ import annotations

import collections
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Iterator, Optional

import grpc

if TYPE_CHECKING:
    from scapy.layers.l2 import Ether

from .frame import Frame
from . import paths
from .packed import pack_frames, unpack_events, unpack_wire
from .sockets import Sockets
from .setup import Setup

START_TIMEOUT_S = 30.0   # how long the server may take to print its "listening on" line
STOP_TIMEOUT_S = 5.0     # how long it gets to exit after SIGTERM before SIGKILL
# How long (virtual) to run the clock to see a frame's answers: the stack answers at
# once in virtual time, while its timers (neighbour probes: 5 s and more) are far out.
SETTLE_NS = 10_000_000


def channel_options(pb) -> list:
    """gRPC's message size bounds, the same as the server's (proto: MAX_MESSAGE_BYTES)."""
    return [("grpc.max_receive_message_length", pb.MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", pb.MAX_MESSAGE_BYTES)]


class StackError(RuntimeError):
    """A request the server refused (gRPC status); carries the server's message."""

    def __init__(self, method: str, code: grpc.StatusCode, message: str):
        super().__init__(f"{method}: {code.name}: {message}")
        self.method = method
        self.code = code
        self.message = message


class ServerStartError(RuntimeError):
    """nettwin-server did not come up; the message holds what it printed."""


@dataclass
class TraceEvent:
    """One tracepoint ("net:netif_receive_skb") or checkpoint ("checkpoint:ip_rcv")."""
    time_ns: int
    name: str
    skb: int
    fields: dict = field(default_factory=dict)

    @property
    def is_checkpoint(self) -> bool:
        return self.name.startswith("checkpoint:")

    def as_raw(self) -> dict:
        """The shape normalize.normalize_events takes (skb None: the event carries none)."""
        return {"time_ns": self.time_ns, "name": self.name, "skb": self.skb or None,
                "fields": dict(self.fields)}


def _event_from_pb(ev) -> TraceEvent:
    return TraceEvent(ev.time_ns, ev.name, ev.skb, {f.key: f.value for f in ev.fields})


def _is_packet(x) -> bool:
    """A Scapy packet (Scapy is imported only where one is made: a conformance run needs none)."""
    scapy_packet = sys.modules.get("scapy.packet")
    return scapy_packet is not None and isinstance(x, scapy_packet.Packet)


def _to_bytes(pkt) -> bytes:
    if isinstance(pkt, (bytes, bytearray, memoryview, Frame)) or _is_packet(pkt):
        return bytes(pkt)
    raise TypeError(f"expected a Scapy packet or bytes, got {type(pkt).__name__}")


def _frames(wire_frames) -> list[Frame]:
    """Proto WireFrames as Frames (.time in virtual seconds, .sniffed_on the device)."""
    return [Frame(wf.data, wf.time_ns, wf.time_ns / 1e9, wf.dev) for wf in wire_frames]


class ServerProcess:
    """The nettwin-server child: started on a Unix socket in a private temp dir,
    ready once it prints "listening on"; its output is drained in a thread so it
    never blocks on a full pipe, and the tail is kept for error messages.

    It runs in a session of its own, so a Ctrl-C at the terminal reaches only the
    client. It holds the read end of a pipe whose write end only this process
    holds (--parent-fd): when this process dies, even by SIGKILL, the server
    sees end of file, stops, and removes its socket and the temp dir."""

    def __init__(self, binary: Optional[Path] = None, extra_args: Iterable[str] = ()):
        self.binary = Path(binary) if binary else paths.binary("nettwin-server")
        self.tmpdir = tempfile.mkdtemp(prefix="nettwin-")
        self.socket_path = str(Path(self.tmpdir) / "nettwin.sock")
        self.output = collections.deque(maxlen=200)
        self._ready = threading.Event()
        self.address: Optional[str] = None
        # Both ends are close-on-exec; pass_fds hands the server the read end only.
        watch_fd, self._alive_fd = os.pipe()
        cmd = [str(self.binary), "--listen", f"unix:{self.socket_path}",
               "--parent-fd", str(watch_fd), "--remove-socket-dir", *extra_args]
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, text=True, bufsize=1,
                                         pass_fds=(watch_fd,), start_new_session=True)
        except OSError as e:
            os.close(self._alive_fd)
            shutil.rmtree(self.tmpdir, ignore_errors=True)
            raise ServerStartError(f"cannot run {cmd[0]}: {e}") from e
        finally:
            os.close(watch_fd)
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self._reader.join(1.0)
                why = (f"exited with status {self.proc.returncode}" if self.proc.poll() is not None
                       else f"printed no 'listening on' line within {START_TIMEOUT_S:.0f} s")
                self.stop()
                raise ServerStartError(f"{' '.join(cmd)} {why}; its output:\n" + self.tail())
        self.address = self.address or f"unix:{self.socket_path}"

    def _drain(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.output.append(line)
            if not self._ready.is_set() and "listening on" in line:
                said = line.split("listening on", 1)[1].strip().split()
                # The server names its address; we asked for our socket, so prefer what it says.
                if said and (said[0].startswith("unix:") or ":" in said[0]):
                    self.address = said[0]
                self._ready.set()

    def tail(self) -> str:
        return "\n".join(self.output) or "(nothing)"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._alive_fd >= 0:
            os.close(self._alive_fd)
            self._alive_fd = -1
        if self.proc.stdout:
            self._reader.join(1.0)
            self.proc.stdout.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


class Subscription:
    """A buffered trace subscription: read() after driving the clock."""

    def __init__(self, stack: "Stack", sub_id: int):
        self.stack = stack
        self.id = sub_id
        self.lost = 0
        self.closed = False

    def read(self, max: int = 0, max_bytes: int = 0, packed: bool = False,
             close: bool = False) -> list[TraceEvent]:
        """The buffered events, oldest first: up to max (0: every one). Each reply
        holds at most max_bytes (0: 4 MiB); this reads until done. packed: the
        server sends each batch as one blob (no protobuf message per event).
        close: the reply that takes the last event also closes the subscription."""
        pb = self.stack.pb
        events: list[TraceEvent] = []
        while True:
            want = max - len(events) if max else 0
            reply = self.stack._call("Trace.Read", self.stack._trace.Read,
                                     pb.ReadEventsRequest(id=self.id, max=want, max_bytes=max_bytes,
                                                          packed=packed, close=close))
            self.lost = reply.lost
            self.closed = self.closed or reply.closed
            batch = ([TraceEvent(*ev) for ev in unpack_events(reply.packed)] if packed
                     else [_event_from_pb(ev) for ev in reply.events])
            events.extend(batch)
            if not reply.remaining or not batch or (max and len(events) >= max):
                return events

    def close(self):
        if not self.closed:
            self.closed = True
            self.stack._call("Trace.Close", self.stack._trace.Close, self.stack.pb.Subscription(id=self.id))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class TraceStream:
    """The live stream (Trace.Stream). A thread reads it into a queue, so a caller can
    iterate (blocking) or get(timeout) without hanging. Lost events arrive as
    "trace:lost" events and are summed in .lost."""

    _END = object()

    def __init__(self, call):
        self._call = call
        self._queue: "queue.Queue" = queue.Queue()
        self.lost = 0
        self.error: Optional[StackError] = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        try:
            for ev in self._call:
                self._queue.put(_event_from_pb(ev))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.error = StackError("Trace.Stream", e.code(), e.details() or "")
        finally:
            self._queue.put(self._END)

    def get(self, timeout: Optional[float] = None) -> Optional[TraceEvent]:
        """The next event, or None if none came within timeout or the stream ended."""
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return None
        if item is self._END:
            self._queue.put(self._END)   # stay ended for the next caller
            if self.error:
                raise self.error
            return None
        if item.name == "trace:lost":
            self.lost += int(item.fields.get("count", "0"))
        return item

    def __iter__(self) -> Iterator[TraceEvent]:
        while (ev := self.get()) is not None:
            yield ev

    def close(self):
        self._call.cancel()
        self._reader.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@dataclass
class HookedPacket:
    """A packet at a netfilter hook point (Hooks.Attach): data from its IP header on."""
    seq: int
    hook: str
    skb: int
    time_ns: int
    in_dev: str
    out_dev: str
    data: bytes

    @property
    def ip(self):
        from scapy.layers.inet import IP
        return IP(self.data)


VERDICT_KINDS = ("accept", "drop", "stolen", "queue", "repeat")


class Hook:
    """One armed netfilter hook: callback(HookedPacket) runs on a background thread
    for each packet at the hook point and returns its verdict: None or "accept",
    "drop", ("drop", "REASON"), "stolen", "queue", "repeat", or new bytes / a Scapy
    IP packet (accepted, modified). The stack waits up to timeout_ms per packet and
    then applies the default. close() (or leaving the with block) disarms it."""

    _END = object()

    def __init__(self, stack: "Stack", hook: str, callback, priority: int = 0,
                 timeout_ms: int = 0, default: str = "accept"):
        self.pb = stack.pb
        self.callback = callback
        self.errors: list[BaseException] = []
        self.packets = 0
        self._requests: "queue.Queue" = queue.Queue()
        arm = self.pb.Arm(hook=hook, priority=priority, timeout_ms=timeout_ms,
                          default_verdict=self._verdict_pb(0, default))
        self._requests.put(self.pb.HookClientMessage(arm=arm))
        self._call = stack._hooks.Attach(iter(self._requests.get, self._END))
        try:
            first = next(self._call)
        except grpc.RpcError as e:
            raise StackError("Hooks.Attach", e.code(), e.details() or "") from None
        self.id = first.armed.id
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _verdict_pb(self, seq: int, v):
        if v is None:
            v = "accept"
        reason, data = "", b""
        if isinstance(v, tuple):
            v, reason = v
        if _is_packet(v):
            v = bytes(v)
        if isinstance(v, (bytes, bytearray)):
            v, data = "accept", bytes(v)
        if v not in VERDICT_KINDS:
            raise ValueError(f"unknown verdict {v!r}; one of {', '.join(VERDICT_KINDS)}")
        return self.pb.Verdict(seq=seq, kind=VERDICT_KINDS.index(v), drop_reason=reason, data=data)

    def _serve(self):
        try:
            for msg in self._call:
                if not msg.HasField("packet"):
                    continue
                p = msg.packet
                pkt = HookedPacket(p.seq, p.hook, p.skb, p.time_ns, getattr(p, "in"), p.out, p.data)
                self.packets += 1
                try:
                    verdict = self._verdict_pb(p.seq, self.callback(pkt))
                except Exception as e:  # a broken callback: remembered, the packet accepted
                    self.errors.append(e)
                    verdict = self.pb.Verdict(seq=p.seq)
                self._requests.put(self.pb.HookClientMessage(verdict=verdict))
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.CANCELLED:
                self.errors.append(StackError("Hooks.Attach", e.code(), e.details() or ""))

    def close(self):
        self._requests.put(self._END)
        self._thread.join(5.0)
        if self._thread.is_alive():
            self._call.cancel()
            self._thread.join(5.0)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _release(streams: list, channel, server: Optional[ServerProcess]):
    """What a Stack holds, let go in order: live streams, the channel (before the
    interpreter shuts down, or grpc's threads may hang it), then the server."""
    for s in streams:
        s.close()
    streams.clear()
    channel.close()
    if server is not None:
        server.stop()


class Stack:
    """A connected nettwin stack. Stack() starts a private server; Stack(address=...)
    attaches to a running one ("unix:/path" or "127.0.0.1:port"). Use it as a
    context manager, or call close(): the server it started is always stopped, also
    when the Stack is only dropped or left open at interpreter exit (a finalizer),
    and when this process is killed (the server watches a pipe to it)."""

    def __init__(self, address: Optional[str] = None, server_binary: Optional[Path] = None,
                 server_args: Iterable[str] = (), connect_timeout: float = 10.0):
        self.pb, grpc_mod = paths.import_stubs()
        self.calls = 0          # calls made on the server (_call)
        self.server: Optional[ServerProcess] = None
        if address is None:
            self.server = ServerProcess(server_binary, server_args)
            address = self.server.address
        self.address = address
        self.channel = grpc.insecure_channel(address, options=channel_options(self.pb))
        self._streams: list[TraceStream] = []
        # Not a method: the finalizer must not keep the Stack alive.
        self._finalizer = weakref.finalize(self, _release, self._streams, self.channel, self.server)
        try:
            grpc.channel_ready_future(self.channel).result(timeout=connect_timeout)
        except grpc.FutureTimeoutError:
            self.close()
            raise ServerStartError(f"cannot connect to nettwin-server at {address} "
                                   f"within {connect_timeout:.0f} s") from None
        self._nic = grpc_mod.NicStub(self.channel)
        self._trace = grpc_mod.TraceStub(self.channel)
        self._control = grpc_mod.ControlStub(self.channel)
        self._hooks = grpc_mod.HooksStub(self.channel)

    # ------------------------------------------------------------ lifecycle

    def close(self):
        self._finalizer()  # once: later calls do nothing
        self.channel = None
        self.server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method: str, fn, request, timeout: float = 60.0):
        self.calls += 1     # a mark: nothing the stack did can be unseen while it stays the same
        try:
            return fn(request, timeout=timeout)
        except grpc.RpcError as e:
            raise StackError(method, e.code(), e.details() or "") from None

    # ------------------------------------------------------------ control

    def reset(self, seed: int = 1):
        """A fresh stack: no devices, clock at 0."""
        self._call("Control.Reset", self._control.Reset, self.pb.ResetRequest(seed=seed))

    def setup(self, seed: int = 1) -> Setup:
        """A fresh stack and its whole setup in one call: stack.setup(seed).create_device(...)
        .add_address(...)... .apply() (setup.py)."""
        return Setup(self, seed)

    def create_device(self, name: str, kind: str = "ring", mac: str = "", ifindex: int = 0,
                      mtu: int = 0, rx_ring_size: int = 0, tx_ring_size: int = 0):
        cfg = self.pb.DeviceConfig(name=name, kind=kind, mac=mac, ifindex=ifindex, mtu=mtu,
                                   rx_ring_size=rx_ring_size, tx_ring_size=tx_ring_size)
        self._call("Control.CreateDevice", self._control.CreateDevice, cfg)

    def devices(self) -> list:
        return list(self._call("Control.ListDevices", self._control.ListDevices, self.pb.Empty()).devices)

    def set_link(self, dev: str, up: bool):
        self._call("Nic.SetLink", self._nic.SetLink, self.pb.LinkRequest(dev=dev, up=up))

    def add_address(self, dev: str, cidr: str):
        self._call("Control.AddAddress", self._control.AddAddress, self.pb.AddressRequest(dev=dev, cidr=cidr))

    def add_neighbour(self, dev: str, ip: str, mac: str, state: str = "permanent"):
        self._call("Control.AddNeighbour", self._control.AddNeighbour,
                   self.pb.NeighbourRequest(dev=dev, ip=ip, mac=mac, state=state))

    def add_route(self, dst: str, gateway: str = "", dev: str = "", type: str = "",
                  table: int = 0, metric: int = 0, tos: int = 0, scope: str = "", prefsrc: str = "",
                  **metrics):
        """ip route add: dst "203.0.113.0/24", "203.0.113.7" or "default"; metrics as the
        Route message names them (initcwnd=20, rto_min_ms=100, mtu=1400, mtu_lock=True, ...)."""
        self._call("Control.AddRoute", self._control.AddRoute,
                   self.pb.Route(dst=dst, gateway=gateway, dev=dev, type=type, table=table,
                                 metric=metric, tos=tos, scope=scope, prefsrc=prefsrc, **metrics))

    def replace_route(self, dst: str, gateway: str = "", dev: str = "", create: bool = True,
                      table: int = 0, metric: int = 0, tos: int = 0, **metrics):
        """ip route replace (create=True) or ip route change (create=False)."""
        route = self.pb.Route(dst=dst, gateway=gateway, dev=dev, table=table, metric=metric, tos=tos,
                              **metrics)
        self._call("Control.ReplaceRoute", self._control.ReplaceRoute,
                   self.pb.RouteChange(route=route, create=create))

    def del_route(self, dst: str, gateway: str = "", dev: str = "", table: int = 0, metric: int = 0):
        self._call("Control.DelRoute", self._control.DelRoute,
                   self.pb.Route(dst=dst, gateway=gateway, dev=dev, table=table, metric=metric))

    def routes(self, table: int = 0) -> list:
        return list(self._call("Control.ListRoutes", self._control.ListRoutes,
                               self.pb.ListRoutesRequest(table=table)).routes)

    def add_rule(self, pref: int, table: int, src: str = "", dst: str = "", tos: int = 0, iif: str = ""):
        """ip rule add pref PREF [from SRC] [to DST] [tos TOS] [iif DEV] table TABLE."""
        rule = self.pb.Rule(pref=pref, to=dst, tos=tos, iif=iif, table=table)
        setattr(rule, "from", src)
        self._call("Control.AddRule", self._control.AddRule, rule)

    def rules(self) -> list:
        return list(self._call("Control.ListRules", self._control.ListRules, self.pb.Empty()).rules)

    def hook(self, hook: str, callback, priority: int = 0, timeout_ms: int = 0,
             default: str = "accept") -> Hook:
        """Arm a netfilter hook (PRE_ROUTING, LOCAL_IN, FORWARD, LOCAL_OUT, POST_ROUTING);
        use as a context manager, or close() it to disarm."""
        return Hook(self, hook, callback, priority, timeout_ms, default)

    def ss(self, netids=()) -> list:
        """Every socket of the stack as ss lists it (nettwin.client.ss.list_sockets): netid, state,
        queues, addresses, timer, cc and the decoded tcp_info; netids limits to tcp/udp/raw/packet."""
        from .ss import list_sockets
        return list_sockets(self, netids)

    def neighbours(self) -> list:
        return list(self._call("Control.ListNeighbours", self._control.ListNeighbours,
                               self.pb.Empty()).neighbours)

    def set_coalesce(self, dev: str, rx_usecs: int, rx_frames: int = 0):
        """ethtool -C dev rx-usecs U rx-frames F (ring NICs only)."""
        self._call("Control.SetCoalesce", self._control.SetCoalesce,
                   self.pb.CoalesceRequest(dev=dev, rx_usecs=int(rx_usecs), rx_frames=int(rx_frames)))

    def set_tx_queue_len(self, dev: str, length: int):
        """ip link set dev D txqueuelen N."""
        self._call("Control.SetTxQueueLen", self._control.SetTxQueueLen,
                   self.pb.TxQueueLenRequest(dev=dev, len=int(length)))

    def set_ring_size(self, dev: str, rx: int, tx: int):
        """ethtool -G dev rx N tx M (ring NICs only)."""
        self._call("Control.SetRingSize", self._control.SetRingSize,
                   self.pb.RingSizeRequest(dev=dev, rx=int(rx), tx=int(tx)))

    def sysctl(self, name: str, value: Optional[str] = None) -> str:
        """Get a sysctl, or set it when value is given; returns the (new) value."""
        if value is None:
            return self._call("Control.GetSysctl", self._control.GetSysctl,
                              self.pb.SysctlRequest(name=name)).value
        return self._call("Control.SetSysctl", self._control.SetSysctl,
                          self.pb.SysctlRequest(name=name, value=str(value))).value

    def set_sysctls(self, values: dict) -> dict:
        """Set several sysctls in one call (each only if it does not hold the value
        already). Returns {name: (value now, unknown, error)}: unknown when the stack
        has no such sysctl, error the reason a value was refused ("" if it was taken)."""
        batch = self.pb.SysctlBatch(sysctls=[self.pb.SysctlRequest(name=n, value=str(v)) for n, v in values.items()])
        reply = self._call("Control.SetSysctls", self._control.SetSysctls, batch)
        return {r.name: (r.value, r.unknown, r.error) for r in reply.results}

    def counters(self) -> dict[str, int]:
        reply = self._call("Control.ReadCounters", self._control.ReadCounters, self.pb.Empty())
        return {c.name: c.value for c in reply.counters}

    # ------------------------------------------------------------ clock (virtual ns)

    def now(self) -> int:
        return self._call("Control.Now", self._control.Now, self.pb.Empty()).now_ns

    def advance(self, ns: int) -> int:
        return self._call("Control.Advance", self._control.Advance, self.pb.ClockRequest(ns=int(ns))).now_ns

    def run_until(self, t_ns: int) -> int:
        return self._call("Control.RunUntil", self._control.RunUntil,
                          self.pb.ClockRequest(ns=int(t_ns))).now_ns

    def run_until_idle(self) -> int:
        return self._call("Control.RunUntilIdle", self._control.RunUntilIdle, self.pb.Empty()).now_ns

    # ------------------------------------------------------------ frames

    def inject(self, dev: str, pkts, run_until_idle: bool = False, at_ns: int = 0) -> tuple[int, int]:
        """Put one frame or a list of frames (Scapy packets or bytes) into dev's RX ring.
        Returns (queued, rx_missed). Nothing runs until the clock is driven, unless
        run_until_idle asks the server to run the stack until idle in the same call.
        at_ns: first run the clock to that time (run_until(at_ns) in the same call; 0 leaves it)."""
        request = self._inject_request(dev, pkts, at_ns)
        if run_until_idle:
            request.run_until_idle = True
        reply = self._call("Nic.Inject", self._nic.Inject, request)
        return reply.queued, reply.rx_missed

    def inject_and_frames(self, dev: str, pkts, at_ns: int = 0) -> list[Frame]:
        """inject(dev, pkts, at_ns=at_ns), then frames(dev), in one call while the frames
        fit one reply: what the device had sent when the frames went in (they have not
        run yet)."""
        request = self._inject_request(dev, pkts, at_ns)
        request.read_wire = True
        wire = self._call("Nic.Inject", self._nic.Inject, request).wire
        frames = list(wire.frames)
        if wire.remaining:
            frames += self.wire_raw(dev)
        return _frames(frames)

    def _inject_request(self, dev: str, pkts, at_ns: int):
        if isinstance(pkts, (Frame, bytes, bytearray, memoryview)) or _is_packet(pkts):
            pkts = [pkts]
        frames = [self.pb.Frame(data=_to_bytes(p)) for p in pkts]
        return self.pb.InjectRequest(dev=dev, frames=frames, run_until_ns=int(at_ns))

    def inject_packed(self, dev: str, pkts, run_until_idle: bool = False) -> tuple[int, int]:
        """inject() for many frames: they travel as one packed blob (no protobuf message
        per frame), at most MAX_PACKED_FRAMES of them. Returns (queued, rx_missed)."""
        request = self.pb.InjectRequest(dev=dev, packed=pack_frames(_to_bytes(p) for p in pkts),
                                        run_until_idle=run_until_idle)
        reply = self._call("Nic.Inject", self._nic.Inject, request)
        return reply.queued, reply.rx_missed

    def wire_packed(self, dev: Optional[str] = None, max: int = 0, max_bytes: int = 0) -> list:
        """wire_raw() read as packed blobs: PackedWireFrame(ifindex, time_ns, data) each."""
        frames: list = []
        while True:
            want = max - len(frames) if max else 0
            reply = self._call("Nic.ReadWire", self._nic.ReadWire,
                               self.pb.ReadWireRequest(dev=dev or "", max=want, max_bytes=max_bytes,
                                                       packed=True))
            batch = unpack_wire(reply.packed)
            frames.extend(batch)
            if not reply.remaining or not batch or (max and len(frames) >= max):
                return frames

    def wire_raw(self, dev: Optional[str] = None, max: int = 0, max_bytes: int = 0) -> list:
        """The frames that left the TX rings since the last read, as proto WireFrames:
        up to max (0: every one). Each reply holds at most max_bytes (0: 4 MiB);
        this reads until done."""
        return self.run_until_and_read_wire(0, dev, max, max_bytes)[1]

    def run_until_and_read_wire(self, t_ns: int, dev: Optional[str] = None, max: int = 0,
                                max_bytes: int = 0, counters: Optional[dict] = None) -> tuple[int, list]:
        """run_until(t_ns) (0: leave the clock), then wire_raw(), in one call while the
        frames fit one reply. Returns (the clock, the frames). counters: a dict that
        receives the counters (as counters()) taken with the last frames, in the same call."""
        frames: list = []
        run_until_ns = int(t_ns)
        while True:
            want = max - len(frames) if max else 0
            reply = self._call("Nic.ReadWire", self._nic.ReadWire,
                               self.pb.ReadWireRequest(dev=dev or "", max=want, max_bytes=max_bytes,
                                                       run_until_ns=run_until_ns, counters=counters is not None))
            run_until_ns = 0
            frames.extend(reply.frames)
            if not reply.remaining or not reply.frames or (max and len(frames) >= max):
                if counters is not None:
                    counters.update((c.name, c.value) for c in reply.counters)
                return reply.now_ns, frames

    def set_wire_limit(self, dev: str, frames: int = 0, bytes: int = 0) -> tuple[int, int]:
        """Bound dev's frames held on the wire until read (0 keeps a bound); frames
        beyond it count in dev.<name>.wire_dropped. Returns (frames, bytes) in force."""
        reply = self._call("Nic.SetWireLimit", self._nic.SetWireLimit,
                           self.pb.WireLimit(dev=dev, frames=int(frames), bytes=int(bytes)))
        return reply.frames, reply.bytes

    def wire(self, dev: Optional[str] = None, max: int = 0) -> list[Ether]:
        """The frames that left the TX rings since the last read, as Scapy Ether packets
        with .time in virtual seconds and .sniffed_on the device name."""
        return self.run_until_and_wire(0, dev, max)[1]

    def run_until_and_wire(self, t_ns: int, dev: Optional[str] = None, max: int = 0) -> tuple[int, list[Ether]]:
        """run_until(t_ns) (0: leave the clock), then wire(), in one call while the frames
        fit one reply. Returns (the clock, the frames)."""
        now, frames = self.run_until_and_frames(t_ns, dev, max)
        return now, [f.packet() for f in frames]

    def frames(self, dev: Optional[str] = None, max: int = 0) -> list[Frame]:
        """wire() as Frames (client/frame.py): bytes and time, dissected only when asked."""
        return self.run_until_and_frames(0, dev, max)[1]

    def run_until_and_frames(self, t_ns: int, dev: Optional[str] = None, max: int = 0,
                             counters: Optional[dict] = None) -> tuple[int, list[Frame]]:
        """run_until_and_wire() as Frames (.time in virtual seconds, .sniffed_on the device);
        counters as run_until_and_read_wire's."""
        now, frames = self.run_until_and_read_wire(t_ns, dev, max, counters=counters)
        return now, _frames(frames)

    # ------------------------------------------------------------ tracing

    def _filter(self, events: Iterable[str], checkpoints: bool, skb_data: bool = False):
        return self.pb.TraceFilter(events=list(events), checkpoints=checkpoints, skb_data=skb_data)

    def subscribe(self, events: Iterable[str] = (), checkpoints: bool = False, skb_data: bool = False) -> Subscription:
        """Open a buffered subscription (tracepoint names or patterns; empty: all).
        skb_data: checkpoints carry the skb's bytes ("frame", hex; "frame_layer")."""
        reply = self._call("Trace.Open", self._trace.Open, self._filter(events, checkpoints, skb_data))
        return self._subscription(reply.id)

    def _subscription(self, sub_id: int) -> Subscription:
        """The client side of a subscription the server opened (Trace.Open, or Configure's)."""
        return Subscription(self, sub_id)

    def stream(self, events: Iterable[str] = (), checkpoints: bool = False, skb_data: bool = False) -> TraceStream:
        """The live stream: an iterator over events as they happen (close() to stop),
        live when this returns."""
        call = self._trace.Stream(self._filter(events, checkpoints, skb_data))
        # The server sends its initial metadata once the subscription is in
        # place: from the return on, no event is missed.
        call.initial_metadata()
        s = TraceStream(call)
        self._streams.append(s)
        return s

    # ------------------------------------------------------------ the DUT's sockets

    def socket(self, family: int, type: int = 0, proto: int = 0, **kw):
        """socket(AF_INET, SOCK_DGRAM): a BSD socket in the DUT (a descriptor for
        bind, sendto, recvfrom... below; see nettwin.client.sockets). A Scapy socket
        on a device is a StackSocket: Scapy's conf.L2socket after nettwin.scapy.attach(stack, dev)."""
        if not isinstance(family, int):
            raise TypeError(f"socket() takes an address family (AF_INET, AF_PACKET), not {family!r}; "
                            "a Scapy socket on a device is a StackSocket: Scapy's conf.L2socket after "
                            "nettwin.scapy.attach(stack, dev)")
        return self.sockets.socket(family, type or 2, proto, **kw)

    @property
    def sockets(self) -> Sockets:
        """The Sockets service (nettwin.client.sockets.Sockets)."""
        if getattr(self, "_sockets", None) is None:
            self._sockets = Sockets(self)
        return self._sockets

    def bind(self, fd, addr, **kw):
        return self.sockets.bind(fd, addr, **kw)

    def connect(self, fd, addr, **kw):
        return self.sockets.connect(fd, addr, **kw)

    def listen(self, fd, backlog=0, **kw):
        return self.sockets.listen(fd, backlog, **kw)

    def accept(self, fd, flags=0, **kw):
        return self.sockets.accept(fd, flags, **kw)

    def shutdown(self, fd, how, **kw):
        return self.sockets.shutdown(fd, how, **kw)

    def poll(self, fd, events, **kw):
        return self.sockets.poll(fd, events, **kw)

    def sendto(self, fd, data, addr=None, flags=0, **kw):
        return self.sockets.sendto(fd, data, addr, flags, **kw)

    def send(self, fd, data, flags=0, **kw):
        return self.sockets.send(fd, data, flags, **kw)

    def recvfrom(self, fd, bufsize=65536, flags=0, **kw):
        return self.sockets.recvfrom(fd, bufsize, flags, **kw)

    def recv(self, fd, bufsize=65536, flags=0, **kw):
        return self.sockets.recv(fd, bufsize, flags, **kw)

    def setsockopt(self, fd, level, name, value, **kw):
        return self.sockets.setsockopt(fd, level, name, value, **kw)

    def getsockopt(self, fd, level, name, **kw):
        return self.sockets.getsockopt(fd, level, name, **kw)

    def close_socket(self, fd, **kw):
        return self.sockets.close(fd, **kw)
