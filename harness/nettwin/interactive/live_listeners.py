"""Demo servers in the twin for `nettwin live --listen`: programs of the DUT that
answer on its sockets (the Sockets service), so that nc and curl in the live
namespace have someone to talk to.

    udp:PORT[:echo]   every datagram is sent back to its sender
    tcp:PORT[:echo]   every byte a connection brings is sent back on it
    tcp:PORT:http     one short HTTP/1.0 answer per connection (for curl)
    iperf3[:PORT]     an iperf3 server (port 5201 unless given; live_iperf3.py)

In live mode the stack's clock is the real one, so these programs never block in
the stack (a blocking call would run the clock ahead of real time): their sockets
are non-blocking and they look at them in turn, more often while traffic flows.
"""
from __future__ import annotations

import errno
import threading
from dataclasses import dataclass, field

from ..client import StackError
from ..client.sockets import (AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM, Sockets,
                              SocketError)
from .live_iperf3 import Iperf3Server

SOL_SOCKET, SO_REUSEADDR = 1, 2
SHUT_WR = 1
MODES = {"udp": ("echo",), "tcp": ("echo", "http", "iperf3")}
IPERF3_PORT = 5201
HTTP_BODY = b"hello from the nettwin stack\n"
HTTP_ANSWER = (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
               % len(HTTP_BODY)) + HTTP_BODY
# How long the loop sleeps between looks: short while traffic flows, longer when idle.
BUSY_S, IDLE_S = 0.001, 0.02


@dataclass(frozen=True)
class ListenSpec:
    proto: str   # "tcp" or "udp"
    port: int
    mode: str    # "echo", "http" or "iperf3"

    def __str__(self) -> str:
        return f"{self.proto}:{self.port}:{self.mode}"


def parse_listen(text: str) -> ListenSpec:
    """'tcp:8080', 'udp:7:echo', 'tcp:80:http', 'iperf3[:5201]' -> ListenSpec; ValueError saying
    what is wrong."""
    parts = text.split(":")
    if parts[0] == "iperf3" and len(parts) <= 2:
        parts = ["tcp", parts[1] if len(parts) == 2 else str(IPERF3_PORT), "iperf3"]
    if len(parts) not in (2, 3) or parts[0] not in MODES:
        raise ValueError(f"--listen {text!r}: expected tcp:PORT[:echo|http|iperf3], udp:PORT[:echo] "
                         "or iperf3[:PORT]")
    proto, port_text = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else "echo"
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise ValueError(f"--listen {text!r}: the port must be a number from 1 to 65535")
    if mode not in MODES[proto]:
        raise ValueError(f"--listen {text!r}: {proto} serves {' or '.join(MODES[proto])}, not {mode!r}")
    return ListenSpec(proto, int(port_text), mode)


@dataclass
class _Conn:
    fd: int
    mode: str
    pending: bytes = b""     # echo: bytes not yet taken by send; http: the answer left to send
    request: bytes = b""     # http: the request so far
    closing: bool = False    # close once pending is sent


@dataclass
class _Listener:
    spec: ListenSpec
    fd: int
    conns: list = field(default_factory=list)
    iperf3: Iperf3Server | None = None   # mode iperf3: serves the accepted connections


class Listeners:
    """The --listen servers on `ip`, served by a thread until stop()."""

    def __init__(self, stack, ip: str, specs: list[ListenSpec]):
        self.dut = Sockets(stack)
        self.listeners = [self._open(ip, spec) for spec in specs]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="nettwin-live-listeners", daemon=True)
        self.error: str = ""

    def _open(self, ip: str, spec: ListenSpec) -> _Listener:
        kind = SOCK_STREAM if spec.proto == "tcp" else SOCK_DGRAM
        fd = self.dut.socket(AF_INET, kind | SOCK_NONBLOCK)
        self.dut.setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, 1)
        self.dut.bind(fd, (ip, spec.port))
        if spec.proto == "tcp":
            self.dut.listen(fd, 16)
        return _Listener(spec, fd, iperf3=Iperf3Server(self.dut) if spec.mode == "iperf3" else None)

    def start(self) -> None:
        if self.listeners:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(2.0)

    def _serve(self) -> None:
        pause = IDLE_S
        try:
            while not self._stop.wait(pause):
                busy = False
                for lst in self.listeners:
                    busy |= self._udp(lst) if lst.spec.proto == "udp" else self._tcp(lst)
                pause = BUSY_S if busy else min(IDLE_S, pause * 2)
        except (StackError, SocketError) as e:
            if not self._stop.is_set():   # the server went away: say so once, then stop serving
                self.error = str(e)

    def _udp(self, lst: _Listener) -> bool:
        busy = False
        while True:
            r = self.dut.recvfrom(lst.fd, 65535, MSG_DONTWAIT, timeout_ns=0, check=False)
            if r.ret < 0:
                return busy
            busy = True
            self.dut.sendto(lst.fd, r.data, r.addr, MSG_DONTWAIT, check=False)

    def _tcp(self, lst: _Listener) -> bool:
        busy = False
        while True:
            r = self.dut.accept(lst.fd, SOCK_NONBLOCK, timeout_ns=0, check=False)
            if r.ret < 0:
                break
            busy = True
            if lst.iperf3:
                lst.iperf3.accept(r.ret)
            else:
                lst.conns.append(_Conn(r.ret, lst.spec.mode))
        if lst.iperf3:
            return lst.iperf3.poll() or busy
        for conn in list(lst.conns):
            busy |= self._serve_conn(conn)
            if conn.fd < 0:
                lst.conns.remove(conn)
        return busy

    def _serve_conn(self, conn: _Conn) -> bool:
        """One look at a connection: read what came, send what is owed. True if anything moved."""
        moved = False
        if not conn.closing:
            r = self.dut.recv(conn.fd, 65536, MSG_DONTWAIT, timeout_ns=0, check=False)
            if r.ret > 0:
                moved = True
                if conn.mode == "echo":
                    conn.pending += r.data
                else:
                    conn.request += r.data
                    if b"\r\n\r\n" in conn.request or b"\n\n" in conn.request:
                        conn.pending, conn.closing = HTTP_ANSWER, True
            elif r.ret == 0 or r.errno not in (errno.EAGAIN, errno.EINTR):
                conn.closing = True      # the peer finished (or the connection failed)
        if conn.pending:
            r = self.dut.send(conn.fd, conn.pending, MSG_DONTWAIT, check=False)
            if r.ret > 0:
                moved = True
                conn.pending = conn.pending[r.ret:]
            elif r.errno not in (errno.EAGAIN, errno.EINTR):
                conn.pending = b""       # nobody left to take it
        if conn.closing and not conn.pending:
            self.dut.shutdown(conn.fd, SHUT_WR, check=False)
            self.dut.close(conn.fd, check=False)
            conn.fd = -1
            moved = True
        return moved
