"""An iperf3 server in the twin for `nettwin live --listen iperf3[:PORT]`, so that
Linux's iperf3 client in the live namespace can measure the twin's TCP.

It speaks iperf3's control protocol (as in esnet/iperf's iperf_api.c and
iperf_server_api.c) on the twin's non-blocking TCP sockets, one test at a time:
every connection opens with the client's 37-byte cookie (36 characters and a NUL);
the first is the control connection, the following ones with the same cookie are
the test's data streams. On the control connection the server moves the test on
with one-byte states, and both sides exchange parameters and results as JSON
prefixed by its length (4 bytes, big-endian). TCP only, one direction at a time:
the client sending, or with -R the twin sending on every data stream as fast as
its sockets take it until the client's TEST_END; --bidir and UDP are refused with
iperf3's "not implemented" error.
"""
from __future__ import annotations

import errno
import json
import struct
import time
from dataclasses import dataclass, field

from ..client.sockets import MSG_DONTWAIT

COOKIE_SIZE = 37
# The one-byte states of iperf.h the server sends or reads.
TEST_START, TEST_RUNNING, TEST_END = 1, 2, 4
PARAM_EXCHANGE, CREATE_STREAMS, CLIENT_TERMINATE = 9, 10, 12
EXCHANGE_RESULTS, DISPLAY_RESULTS, IPERF_DONE = 13, 14, 16
ACCESS_DENIED, SERVER_ERROR = -1, -2
IEUNIMP = 13                      # iperf_api.h: "an option ... is not implemented yet"
RECV_CHUNK = 65536
DEFAULT_BLKSIZE = 128 * 1024      # iperf3's TCP block (--len), what -R sends at a time
MULTISEND = 10                    # blocks a stream takes per look at most (iperf_send's multisend):
                                  # a fast reader must not keep the control connection unread


def _state(value: int) -> bytes:
    return struct.pack("b", value)


def _count(params: dict, key: str, default: int) -> int:
    """A positive whole number from the client's parameters, else the default."""
    value = params.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else default


def _json_message(obj) -> bytes:
    body = json.dumps(obj).encode()
    return struct.pack("!I", len(body)) + body


@dataclass
class _Peer:
    """One TCP connection of the twin: what it brought not yet used, what is owed to it."""
    fd: int
    inbox: bytes = b""
    outbox: bytes = b""
    counted: int = 0              # data streams: bytes received (or, with -R, sent) during the test
    ended: bool = False           # the client closed it (or it failed)


@dataclass
class _Test:
    control: _Peer
    cookie: bytes
    phase: str = "params"         # params, streams, running, results, display
    params: dict = field(default_factory=dict)
    streams: list = field(default_factory=list)
    started: float = 0.0
    elapsed: float = 0.0
    done: bool = False
    refused: bool = False         # the control connection was handed to the refused list
    block: bytes = b""            # -R: what each send offers (empty: the client sends)


class Iperf3Server:
    """Serves the connections a listener accepts; poll() takes one look at all of them."""

    def __init__(self, dut):
        self.dut = dut
        self.newcomers: list[_Peer] = []      # accepted, cookie not complete yet
        self.test: _Test | None = None
        self.refused: list[_Peer] = []        # told ACCESS_DENIED / SERVER_ERROR, closing

    def accept(self, fd: int) -> None:
        self.newcomers.append(_Peer(fd))

    def poll(self) -> bool:
        moved = False
        for peer in list(self.newcomers):
            moved |= self._read(peer, limit=COOKIE_SIZE)
            if len(peer.inbox) == COOKIE_SIZE:
                self.newcomers.remove(peer)
                self._arrived(peer, peer.inbox)
                peer.inbox = b""
            elif peer.ended:
                self.newcomers.remove(peer)
                self._close(peer)
        for peer in list(self.refused):
            moved |= self._flush(peer)
            if not peer.outbox or peer.ended:
                self.refused.remove(peer)
                self._close(peer)
        if self.test:
            moved |= self._step(self.test)
            if self.test.done:
                for peer in self.test.streams + ([] if self.test.refused else [self.test.control]):
                    self._close(peer)
                self.test = None
        return moved

    def _arrived(self, peer: _Peer, cookie: bytes) -> None:
        test = self.test
        if test is None:
            self.test = _Test(peer, cookie)
            peer.outbox += _state(PARAM_EXCHANGE)
        elif test.phase == "streams" and cookie == test.cookie:
            test.streams.append(peer)
        else:                      # iperf3 runs one test at a time
            self._refuse(peer, _state(ACCESS_DENIED))

    def _refuse(self, peer: _Peer, message: bytes) -> None:
        peer.outbox += message
        self.refused.append(peer)

    def _step(self, test: _Test) -> bool:
        """Moves the test on as far as what has arrived allows."""
        ctl = test.control
        moved = self._read(ctl)
        for stream in test.streams:
            moved |= self._read(stream, keep=False, count=test.phase == "running" and not test.block)
        if test.phase == "params" and (params := self._take_json(ctl)) is not None:
            test.params = params
            if ctl.ended:          # not iperf3's parameters
                test.done = True
                return True
            if any(params.get(key) for key in ("udp", "sctp", "bidirectional")):
                self._refuse(ctl, _state(SERVER_ERROR) + struct.pack("!ii", IEUNIMP, 0))
                test.refused = test.done = True
                return True
            if params.get("reverse"):
                test.block = bytes(_count(params, "len", DEFAULT_BLKSIZE))
            test.phase = "streams"
            ctl.outbox += _state(CREATE_STREAMS)
        if test.phase == "streams" and len(test.streams) >= _count(test.params, "parallel", 1):
            test.phase, test.started = "running", time.monotonic()
            ctl.outbox += _state(TEST_START) + _state(TEST_RUNNING)
        if test.phase == "running":
            for stream in test.streams if test.block else ():
                moved |= self._send_block(stream, test.block)
            if ctl.inbox[:1] == _state(TEST_END):
                ctl.inbox = ctl.inbox[1:]
                test.elapsed = time.monotonic() - test.started
                # As iperf3's server: the data streams close at TEST_END (a -R client
                # may be blocked reading a whole block from one of them).
                for stream in test.streams:
                    self._close(stream)
                test.phase = "results"
                ctl.outbox += _state(EXCHANGE_RESULTS)
        if test.phase == "results" and self._take_json(ctl) is not None:
            ctl.outbox += _json_message(self._results(test)) + _state(DISPLAY_RESULTS)
            test.phase = "display"
        if test.phase == "display" and ctl.inbox[:1] == _state(IPERF_DONE):
            test.done = True
        if ctl.inbox[:1] == _state(CLIENT_TERMINATE) or ctl.ended:
            test.done = True
        moved |= self._flush(ctl)
        return moved

    def _results(self, test: _Test) -> dict:
        # iperf_add_stream numbers streams 1, 3, 4, ...
        ids = [1] + list(range(3, len(test.streams) + 2))
        return {"cpu_util_total": 0.0, "cpu_util_user": 0.0, "cpu_util_system": 0.0,
                "sender_has_retransmits": -1,   # not counted by this server
                "streams": [{"id": ident, "bytes": s.counted, "retransmits": -1,
                             "jitter": 0, "errors": 0, "omitted_errors": 0, "packets": 0,
                             "omitted_packets": 0, "start_time": 0, "end_time": test.elapsed}
                            for ident, s in zip(ids, test.streams)]}

    def _take_json(self, peer: _Peer) -> dict | None:
        """A whole length-prefixed JSON object from peer's inbox, or None while incomplete. What
        is not one (or too long for the inbox) marks the peer ended and gives {}."""
        if len(peer.inbox) < 4:
            return None
        (size,) = struct.unpack("!I", peer.inbox[:4])
        if size > RECV_CHUNK - 4:
            peer.ended = True
            return {}
        if len(peer.inbox) < 4 + size:
            return None
        body, peer.inbox = peer.inbox[4:4 + size], peer.inbox[4 + size:]
        try:
            obj = json.loads(body)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            peer.ended = True
            return {}
        return obj

    def _read(self, peer: _Peer, keep: bool = True, count: bool = False, limit: int = RECV_CHUNK) -> bool:
        """Takes what the connection holds (up to limit bytes): kept in the inbox, or, from a
        data stream, only counted while the test runs."""
        moved = False
        while not peer.ended and (not keep or len(peer.inbox) < limit):
            want = limit - len(peer.inbox) if keep else RECV_CHUNK
            r = self.dut.recv(peer.fd, want, MSG_DONTWAIT, timeout_ns=0, check=False)
            if r.ret > 0:
                moved = True
                if keep:
                    peer.inbox += r.data
                elif count:
                    peer.counted += r.ret
            elif r.ret == 0 or r.errno not in (errno.EAGAIN, errno.EINTR):
                peer.ended = True
            else:
                break
        return moved

    def _send_block(self, peer: _Peer, block: bytes) -> bool:
        """-R: offers the stream a block until its send buffer is full, MULTISEND times at
        most; counts what it took."""
        moved = False
        for _ in range(MULTISEND):
            if peer.ended:
                break
            r = self.dut.send(peer.fd, block, MSG_DONTWAIT, check=False)
            if r.ret > 0:
                peer.counted += r.ret
                moved = True
                if r.ret < len(block):
                    break
            else:
                if r.errno not in (errno.EAGAIN, errno.EINTR):
                    peer.ended = True
                break
        return moved

    def _flush(self, peer: _Peer) -> bool:
        if not peer.outbox or peer.ended:
            return False
        r = self.dut.send(peer.fd, peer.outbox, MSG_DONTWAIT, check=False)
        if r.ret > 0:
            peer.outbox = peer.outbox[r.ret:]
            return True
        if r.errno not in (errno.EAGAIN, errno.EINTR):
            peer.ended = True
        return False

    def _close(self, peer: _Peer) -> None:
        if peer.fd >= 0:
            self.dut.close(peer.fd, check=False)
            peer.fd = -1
        peer.ended = True
