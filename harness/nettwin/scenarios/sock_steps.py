"""Socket actions in scenarios: what the DUT's program does between the tester's
frames (open a socket, bind, send, receive, close), and what each call returned.

A Sock step names its socket by a handle ("a", "b"), so results compare across
processes whose descriptor numbers differ. The recorder performs each step on
the real kernel through netns_agent.py in the DUT namespace (pinned to the
injector's CPU, one call at a time); replay performs it through the Sockets
service at the same virtual time. Results are compared as posix replies: return
value (a socket's descriptor number is not compared), errno name, data, address,
msg_flags and, for MSG_ERRQUEUE, the extended error.
"""
from __future__ import annotations

import errno as errno_mod
from dataclasses import dataclass

# The operations and the arguments each takes (all optional ones have defaults).
OPS = {
    "socket": ("family", "type", "proto"),
    "bind": ("ip", "port"),
    "bind_ll": ("ifindex", "protocol"),   # AF_PACKET: a struct sockaddr_ll
    "connect": ("ip", "port", "family"),
    "sendto": ("data", "ip", "port", "flags"),
    "send": ("data", "flags"),
    "sendto_ll": ("data", "ifindex", "protocol", "addr", "flags"),  # AF_PACKET; addr: sll_addr as hex
    "recvfrom": ("len", "flags"),
    "recvmsg_errqueue": ("len",),
    "setsockopt": ("level", "name", "value", "hex", "text"),  # int value, or bytes as hex, or text
    "getsockopt": ("level", "name", "len"),     # len: read as bytes (hex), e.g. TCP_INFO
    # Blocking TCP calls run in the background; a later "collect" on the same handle
    # records their result. accept_bg's new socket gets the handle `into`.
    "accept_bg": ("into",),
    "connect_bg": ("ip", "port"),
    "connect_nb": ("ip", "port"),               # non-blocking: EINPROGRESS
    "recv_bg": ("len", "flags"),
    "collect": ("timeout_ms",),
    "getsockname": (),
    "getpeername": (),
    "shutdown": ("how",),
    "listen": ("backlog",),
    "accept": ("into",),
    "poll": ("events",),
    "close": (),
}


@dataclass(frozen=True)
class Sock:
    """The DUT's program makes one socket call on handle h."""
    op: str
    h: str
    args: tuple = ()        # (name, value) pairs, values JSON-able; data as hex text
    kind: str = "sock"

    def to_json(self) -> dict:
        return {"kind": self.kind, "op": self.op, "h": self.h, "args": dict(self.args)}

    @staticmethod
    def from_json(d: dict) -> "Sock":
        return Sock(d["op"], d["h"], tuple(sorted(d.get("args", {}).items())))


def sock(op: str, h: str, **args) -> Sock:
    if op not in OPS:
        raise ValueError(f"unknown socket op {op!r}; known: {', '.join(OPS)}")
    unknown = set(args) - set(OPS[op])
    if unknown:
        raise ValueError(f"socket op {op!r} takes {OPS[op]}, not {sorted(unknown)}")
    if "data" in args and isinstance(args["data"], (bytes, bytearray)):
        args["data"] = bytes(args["data"]).hex()
    return Sock(op, h, tuple(sorted(args.items())))


def errno_name(err: int) -> str:
    return errno_mod.errorcode.get(err, str(err)) if err else ""


def comparable(op: str, result: dict) -> dict:
    """The parts of a result that must be equal between Linux and the stack."""
    out = dict(result)
    out.pop("t_ns", None)
    if op in ("socket", "accept", "collect") and isinstance(out.get("ret"), int) and out["ret"] > 2:
        out["ret"] = "fd"
    return out


# ------------------------------------------------------------------ the stack side

def perform(sockets, handles: dict, step: Sock, at_ns: int | None = None) -> dict:
    """Run one step through nettwin.client.sockets.Sockets; the result as the agent records it.
    at_ns: the clock runs to that time first, in the step's first request (Sockets.at),
    or in a call of its own when the step makes none."""
    if at_ns is None:
        return _perform(sockets, handles, step)
    sockets.at(at_ns)
    try:
        return _perform(sockets, handles, step)
    finally:
        sockets.run_pending()


def _perform(sockets, handles: dict, step: Sock) -> dict:
    a = dict(step.args)
    op = step.op
    fd = handles.get(step.h, -1)
    if op == "socket":
        r = sockets.socket(a.get("family", 2), a.get("type", 2), a.get("proto", 0), check=False)
        if r.ret >= 0:
            handles[step.h] = r.ret
    elif op == "bind":
        r = sockets.bind(fd, (a.get("ip", ""), a.get("port", 0)), check=False)
    elif op == "bind_ll":
        from ..client.sockets import LLAddr
        r = sockets.bind(fd, LLAddr(a.get("ifindex", 0), a.get("protocol", 0)), check=False)
    elif op == "connect":
        r = sockets.connect(fd, (a.get("ip", ""), a.get("port", 0)), family=a.get("family"), check=False)
    elif op == "sendto":
        r = sockets.sendto(fd, bytes.fromhex(a.get("data", "")), (a.get("ip", ""), a.get("port", 0)),
                           a.get("flags", 0), check=False)
    elif op == "sendto_ll":
        from ..client.sockets import LLAddr
        to = LLAddr(a.get("ifindex", 0), a.get("protocol", 0), addr=bytes.fromhex(a.get("addr", "")))
        r = sockets.sendto(fd, bytes.fromhex(a.get("data", "")), to, a.get("flags", 0), check=False)
    elif op == "send":
        r = sockets.sendto(fd, bytes.fromhex(a.get("data", "")), None, a.get("flags", 0), check=False)
    elif op == "recvfrom":
        # As the recorder's agent reads: never blocking (MSG_DONTWAIT).
        r = sockets.recvfrom(fd, a.get("len", 65536), a.get("flags", 0) | 0x40, timeout_ns=0, check=False)
    elif op == "recvmsg_errqueue":
        r = sockets.recvmsg(fd, a.get("len", 65536), 0x2000 | 0x40, timeout_ns=0, check=False)
    elif op == "setsockopt":
        value = bytes.fromhex(a["hex"]) if "hex" in a else a["text"] if "text" in a else a["value"]
        r = sockets.setsockopt(fd, a["level"], a["name"], value, check=False)
    elif op == "getsockopt":
        r = sockets.getsockopt(fd, a["level"], a["name"], a.get("len", 0), check=False)
        if a.get("len"):
            return result_dict(op, r.ret, r.errno, value=bytes(r.optval))
    elif op in ("accept_bg", "connect_bg", "recv_bg"):
        # The stack runs in virtual time and cannot block a call across clock steps:
        # the call is made when it is collected (the clock has reached that time).
        pending = handles.setdefault("__bg__", {})
        pending[step.h] = step
        if op == "connect_bg":   # the SYN leaves now: a non-blocking connect, judged at collect
            _nonblocking(sockets, fd)
            sockets.connect(fd, (a.get("ip", ""), a.get("port", 0)), check=False)
        return {"ret": 0, "errno": ""}
    elif op == "collect":
        bg = handles.get("__bg__", {}).pop(step.h, None)
        if bg is None:
            return {"ret": -1, "errno": "ENOENT"}
        b = dict(bg.args)
        if bg.op == "accept_bg":
            r = sockets.accept(fd, timeout_ns=0, check=False)
            if r.ret >= 0:
                handles[b.get("into", step.h + "'")] = r.ret
            return result_dict("accept", r.ret, r.errno)
        if bg.op == "recv_bg":
            r = sockets.recvfrom(fd, b.get("len", 65536), b.get("flags", 0) | 0x40, timeout_ns=0, check=False)
            return result_dict("recvfrom", r.ret, r.errno, r.data, r.addr, r.msg_flags)
        # connect_bg: the connection's outcome, as a blocking connect returns it once
        # the handshake is over: poll for POLLOUT lets the clock run (up to the
        # collect's timeout_ms, as the recorder's collect waits for the call), since
        # the stack's timer wheel may end a handshake a granule after Linux's did.
        # Then connect() once more finishes what the blocking call does after its wait
        # (__inet_stream_connect): 0 when connected; else the error (sock_error), and a
        # socket the handshake left closed is disconnected (tcp_disconnect traces it).
        sockets.poll(fd, 4, timeout_ns=a.get("timeout_ms", 60000) * 1_000_000, check=False)
        r = sockets.connect(fd, (b.get("ip", ""), b.get("port", 0)), check=False)
        if r.errno != errno_mod.EALREADY:
            return result_dict("collect", r.ret, r.errno)
        r = sockets.getsockopt(fd, 1, 4, check=False)   # still in progress: SO_ERROR, as before
        err = int(r.value) if r.ret >= 0 else r.errno
        return {"ret": -1 if err else 0, "errno": errno_name(err)}
    elif op == "connect_nb":
        _nonblocking(sockets, fd)
        r = sockets.connect(fd, (a.get("ip", ""), a.get("port", 0)), check=False)
    elif op == "getsockname":
        r = sockets.getsockname(fd, check=False)
    elif op == "getpeername":
        r = sockets.getpeername(fd, check=False)
    elif op == "shutdown":
        r = sockets.shutdown(fd, a.get("how", 2), check=False)
    elif op == "poll":
        r = sockets.poll(fd, a.get("events", 1), 0, check=False)
    elif op == "listen":
        r = sockets.listen(fd, a.get("backlog", 1), check=False)
    elif op == "accept":
        r = sockets.accept(fd, timeout_ns=0, check=False)  # a recorded step: the queue as it is now
        if r.ret >= 0:
            handles[a.get("into", step.h + "'")] = r.ret
    elif op == "close":
        r = sockets.close(fd, check=False)
    else:
        raise ValueError(f"unknown socket op {op!r}")
    return result_dict(op, r.ret, r.errno, r.data, r.addr, r.msg_flags, r.value, r.ee)


def _nonblocking(sockets, fd) -> None:
    """O_NONBLOCK on fd; a bad descriptor is left for the call itself to report."""
    from ..client.sockets import SocketError
    try:
        sockets.setblocking(fd, False)
    except SocketError:
        pass


def addr_list(addr) -> list | None:
    """An address in the recorded form: [ip, port], or for AF_PACKET
    [ifindex, protocol, pkttype, hatype, addr as hex]."""
    if not addr:
        return None
    if isinstance(addr[-1], (bytes, bytearray)):
        return list(addr[:-1]) + [bytes(addr[-1]).hex()]
    return list(addr)


def result_dict(op, ret, err, data=b"", addr=None, msg_flags=0, value=0, ee=None) -> dict:
    """One call's result in the recorded form (socket_results.json)."""
    out = {"ret": int(ret), "errno": errno_name(err)}
    if op in ("recvfrom", "recvmsg_errqueue") and ret >= 0:
        out["data"] = bytes(data).hex()
        out["addr"] = addr_list(addr)
        out["msg_flags"] = int(msg_flags)
    if op in ("getsockname", "getpeername") and ret >= 0:
        out["addr"] = addr_list(addr)
    if op in ("getsockopt", "poll") and ret >= 0:
        out["value"] = bytes(value).hex() if isinstance(value, (bytes, bytearray)) else int(value)
    if op == "recvmsg_errqueue" and ret >= 0:
        out["ee"] = ee
    return out


# ------------------------------------------------------------------ replay

def load_calls(folder) -> list[dict]:
    """The recorded socket calls of a scenario folder, each with its step
    ("step": Sock, "t_ns", "result"); [] when the scenario has none."""
    import json
    from pathlib import Path
    folder = Path(folder)
    path = folder / "socket_results.json"
    if not path.is_file():
        return []
    steps = json.loads((folder / "scenario.json").read_text())["steps"]
    calls = []
    for c in json.loads(path.read_text())["calls"]:
        step = steps[c["step"]]
        if step.get("kind") != "sock":
            raise ValueError(f"{path}: call {c} names step {c['step']}, which is not a socket step")
        calls.append({"index": c["step"], "step": Sock.from_json(step), "t_ns": int(c["t_ns"]),
                      "result": c["result"]})
    return calls


# struct tcp_info bytes compared: state .. flags, snd_mss .. fackets, pmtu, rcv_ssthresh,
# snd_ssthresh .. reordering, total_retrans, and in a longer read delivered, delivered_ce
# and dsack_dups. Left out: rto and ato (from the measured RTT), the last_* times, rtt,
# rttvar, rcv_rtt and rcv_space (measured, vary per run), rates and byte counts. The chronos
# (busy_time, rwnd_limited, sndbuf_limited: real time) are compared apart, within their jiffy
# rounding and the recording's noise (client/tcp_info.compare_chronos).
TCP_INFO_COMPARED = ((0, 8), (16, 44), (60, 68), (76, 92), (100, 104), (192, 200), (216, 220))


def _is_tcp_info(step: "Sock") -> bool:
    a = dict(step.args)
    return step.op == "getsockopt" and a.get("level") == 6 and a.get("name") == 11


def _chrono_diffs(step: "Sock", linux: dict, twin: dict) -> list[str]:
    """The chronos of a TCP_INFO read long enough to hold them, compared with their tolerance."""
    from ..client import tcp_info
    if not _is_tcp_info(step) or not all(isinstance(r.get("value"), str) for r in (linux, twin)):
        return []
    return tcp_info.compare_chronos(tcp_info.decode(bytes.fromhex(linux["value"])),
                                    tcp_info.decode(bytes.fromhex(twin["value"])))


def _masked(step: "Sock", result: dict) -> dict:
    if _is_tcp_info(step) and isinstance(result.get("value"), str):
        raw = bytes.fromhex(result["value"])
        result = dict(result, value="|".join(raw[s:e].hex() for s, e in TCP_INFO_COMPARED if e <= len(raw)))
    return result


MSG_TRUNC = 0x20
SOCK_STREAM = 1


def _stream_handles(calls: list[dict]) -> set:
    """The handles of TCP sockets: made with SOCK_STREAM, or accepted."""
    out = set()
    for c in calls:
        step, a = c["step"], dict(c["step"].args)
        if step.op == "socket" and a.get("type", 0) & 0xF == SOCK_STREAM:
            out.add(step.h)
        elif step.op in ("accept", "accept_bg") and "into" in a:
            out.add(a["into"])
    return out


def _data_unset(step: "Sock", result: dict) -> dict:
    """A TCP read with MSG_TRUNC discards what it reads (tcp_recvmsg_locked copies
    nothing): the buffer's bytes are the caller's own, uninitialised in the agent."""
    if step.op == "recvfrom" and dict(step.args).get("flags", 0) & MSG_TRUNC and "data" in result:
        return dict(result, data="(not copied)")
    return result


def diff_calls(calls: list[dict], results: list[dict]) -> list[str]:
    """One line per socket call whose result differs between Linux and the stack."""
    out = []
    stream = _stream_handles(calls)
    for call, got in zip(calls, results):
        want = comparable(call["step"].op, _masked(call["step"], call["result"]))
        have = comparable(call["step"].op, _masked(call["step"], got))
        if call["step"].h in stream:
            want, have = _data_unset(call["step"], want), _data_unset(call["step"], have)
        if want != have:
            out.append(f"socket step {call['index']} {call['step'].op}({call['step'].h}): "
                       f"linux {want} / nettwin {have}")
        for d in _chrono_diffs(call["step"], call["result"], got):
            out.append(f"socket step {call['index']} {call['step'].op}({call['step'].h}): {d}")
    if len(results) != len(calls):
        out.append(f"{len(calls)} socket calls recorded, {len(results)} replayed")
    return out
