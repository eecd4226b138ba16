"""A small helper the recorder runs inside a network namespace
(`ip netns exec NS /usr/bin/python3 netns_agent.py CPU`), pinned to one CPU so the
kernel's softirq work for what it sends happens there, in its own context.

It reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "ping"}                                        -> {"ok": true}
  {"op": "send", "iface": "nttst0", "frame": "<hex>"}   -> {"ok": true, "sent": n}
  {"op": "sock", "sock_op": "bind", "h": "a", "args": {...}}
                                                        -> {"ok": true, "result": {"ret": 0, "errno": ""}}
  {"op": "exit"}                                        -> {"ok": true}, then exits
Errors are answered as {"ok": false, "error": "..."}; the agent keeps going.
Frames are written with an AF_PACKET socket of protocol 0, which receives nothing,
so the agent adds no packet-tap clones to the trace. It is run by path, as a
script, and imports nothing from the nettwin package.
"""
import errno
import json
import os
import select
import socket
import struct
import sys
import threading
import time

SOL_PACKET, PACKET_IGNORE_OUTGOING = 263, 23  # linux/socket.h, linux/if_packet.h
COLLECT_WAIT_MS = 60000  # how long "collect" waits for a background call unless told


class Agent:
    def __init__(self):
        self.sockets = {}
        self.handles = {}  # the DUT program's sockets by scenario handle
        self.rx = None     # the reactive tester's capture socket (op "arm")
        self.bg = {}       # handle -> [thread, result] of a background socket call

    def _socket(self, iface):
        if iface not in self.sockets:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            s.bind((iface, 0))
            self.sockets[iface] = s
        return self.sockets[iface]

    def handle(self, cmd):
        op = cmd.get("op")
        if op == "ping":
            return {"ok": True}
        if op == "send":
            frame = bytes.fromhex(cmd["frame"])
            if not frame:
                raise ValueError("empty frame")
            sent = self._socket(cmd["iface"]).send(frame)
            if sent != len(frame):
                raise OSError(f"sent {sent} of {len(frame)} bytes")
            return {"ok": True, "sent": sent}
        if op == "sock":
            if cmd["sock_op"] in ("accept_bg", "connect_bg", "recv_bg"):
                result, call_ns = self.start_bg(cmd)
                return {"ok": True, "result": result, "mono_ns": call_ns}
            if cmd["sock_op"] == "collect":
                return {"ok": True, "result": self.collect(cmd)}
            # The call's own start, not the recorder's (a pipe and a dispatch away, up
            # to half a millisecond before it): replay makes the call at this time.
            call_ns = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            return {"ok": True, "result": self.sock_call(cmd), "mono_ns": call_ns}
        if op == "arm":
            # Every frame arriving on iface from now on, for the reactive tester (Expect).
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
            # Not our own frames: a tap of them holds a clone of each sent skb until
            # read, so the DUT would find its receive queue's tail cloned and not
            # coalesce into it (skb_try_coalesce) until the next Expect read here.
            s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
            s.bind((cmd["iface"], 0))
            self.rx = s
            return {"ok": True}
        if op == "recv":
            return {"ok": True, "frames": self.recv(cmd.get("timeout_ms", 0))}
        raise ValueError(f"unknown op {op!r}")

    def recv(self, timeout_ms):
        """The frames the peer sent since the last call (not our own outgoing ones),
        waiting up to timeout_ms for the first; each [CLOCK_MONOTONIC ns, hex]."""
        out = []
        deadline = time.monotonic() + timeout_ms / 1000
        while True:
            wait = 0 if out else max(0.0, deadline - time.monotonic())
            r, _, _ = select.select([self.rx], [], [], wait)
            if not r:
                return out
            data, addr = self.rx.recvfrom(65536)
            if addr[2] == socket.PACKET_OUTGOING:
                continue
            out.append([time.clock_gettime_ns(time.CLOCK_MONOTONIC), data.hex()])

    def start_bg(self, cmd):
        """A blocking call on its own thread; "collect" on the handle returns its result.
        Also the time the thread made the call: a thread starts a millisecond or more
        after it is asked to, and a connect's SYN leaves then (replay connects at it)."""
        h = cmd["h"]
        op = {"accept_bg": "accept", "connect_bg": "connect", "recv_bg": "recvfrom"}[cmd["sock_op"]]
        args = dict(cmd.get("args", {}))
        slot = [None, None]
        started = threading.Event()
        call_ns = [0]

        def run():
            call_ns[0] = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
            started.set()
            slot[1] = self.sock_call({"sock_op": op, "h": h, "args": args}, blocking=True)
        slot[0] = threading.Thread(target=run, daemon=True)
        self.bg[h] = slot
        slot[0].start()
        started.wait()
        return {"ret": 0, "errno": ""}, call_ns[0]

    def collect(self, cmd):
        slot = self.bg.get(cmd["h"])
        if slot is None:
            return {"ret": -1, "errno": "ENOENT"}
        slot[0].join(cmd.get("args", {}).get("timeout_ms", COLLECT_WAIT_MS) / 1000)
        if slot[0].is_alive():
            return {"ret": -1, "errno": "pending"}
        del self.bg[cmd["h"]]
        return slot[1]

    @staticmethod
    def _addr(addr):
        """[ip, port], or for AF_PACKET (ifname, proto, pkttype, hatype, addr) the
        recorded [ifindex, protocol, pkttype, hatype, addr as hex]."""
        if not addr:
            return None
        if isinstance(addr[-1], bytes) and isinstance(addr[0], str):
            return [socket.if_nametoindex(addr[0]) if addr[0] else 0, *addr[1:4], addr[4].hex()]
        return list(addr)

    def sock_call(self, cmd, blocking=False):
        """One socket call of the DUT's program (scenarios/sock_steps.py): the posix result."""
        op, h, a = cmd["sock_op"], cmd["h"], cmd.get("args", {})
        s = self.handles.get(h)
        out = {}
        try:
            if op == "socket":
                s = socket.socket(a.get("family", 2), a.get("type", 2), a.get("proto", 0))
                self.handles[h] = s
                ret = s.fileno()
                if a.get("type", 2) == socket.SOCK_STREAM:
                    # The host's default is bbr and a namespace cannot change it: cubic per socket.
                    s.setsockopt(socket.IPPROTO_TCP, 13, b"cubic")
            elif op == "bind":
                s.bind((a.get("ip", ""), a.get("port", 0)))
                ret = 0
            elif op == "bind_ll":
                ifindex = a.get("ifindex", 0)
                s.bind((socket.if_indextoname(ifindex) if ifindex else "", a.get("protocol", 0)))
                ret = 0
            elif op == "connect":
                if a.get("family") == socket.AF_UNSPEC:
                    # connect(AF_UNSPEC) dissolves the association (Python has no spelling for it).
                    import ctypes
                    libc = ctypes.CDLL(None, use_errno=True)
                    sa = (ctypes.c_ushort * 8)(socket.AF_UNSPEC)
                    r = libc.connect(s.fileno(), ctypes.byref(sa), 16)
                    if r < 0:
                        raise OSError(ctypes.get_errno(), os.strerror(ctypes.get_errno()))
                else:
                    s.connect((a.get("ip", ""), a.get("port", 0)))
                ret = 0
            elif op == "connect_nb":
                s.setblocking(False)
                err = s.connect_ex((a.get("ip", ""), a.get("port", 0)))
                s.setblocking(True)
                if err:
                    raise OSError(err, os.strerror(err))
                ret = 0
            elif op == "sendto":
                ret = s.sendto(bytes.fromhex(a.get("data", "")), a.get("flags", 0),
                               (a.get("ip", ""), a.get("port", 0)))
            elif op == "sendto_ll":
                ifindex = a.get("ifindex", 0)
                to = (socket.if_indextoname(ifindex) if ifindex else "", a.get("protocol", 0), 0, 0,
                      bytes.fromhex(a.get("addr", "")))
                ret = s.sendto(bytes.fromhex(a.get("data", "")), a.get("flags", 0), to)
            elif op == "send":
                ret = s.send(bytes.fromhex(a.get("data", "")), a.get("flags", 0))
            elif op in ("recvfrom", "recvmsg_errqueue"):
                flags = a.get("flags", 0) | (0 if blocking else socket.MSG_DONTWAIT)
                if op == "recvmsg_errqueue":
                    flags |= 0x2000  # MSG_ERRQUEUE
                data, anc, msg_flags, addr = s.recvmsg(a.get("len", 65536), 1024, flags)
                ret = len(data)
                out["data"] = data.hex()
                out["addr"] = self._addr(addr)
                out["msg_flags"] = msg_flags & ~0x8  # MSG_CTRUNC is about our cmsg buffer
                if op == "recvmsg_errqueue":
                    out["ee"] = None
                    for level, ctype, cdata in anc:
                        if level == socket.IPPROTO_IP and ctype == 11:  # IP_RECVERR
                            ee_errno, origin, etype, code, _pad, info, _data = struct.unpack_from("=IBBBBII", cdata)
                            offender = socket.inet_ntoa(cdata[16 + 4:16 + 8]) if len(cdata) >= 24 else ""
                            out["ee"] = {"errno": errno.errorcode.get(ee_errno, str(ee_errno)), "origin": origin,
                                         "type": etype, "code": code, "info": info, "offender": offender}
            elif op == "setsockopt":
                if "hex" in a:
                    s.setsockopt(a["level"], a["name"], bytes.fromhex(a["hex"]))
                elif "text" in a:
                    s.setsockopt(a["level"], a["name"], a["text"].encode())
                else:
                    s.setsockopt(a["level"], a["name"], a["value"])
                ret = 0
            elif op == "getsockopt":
                if "len" in a:
                    out["value"] = s.getsockopt(a["level"], a["name"], a["len"]).hex()
                else:
                    out["value"] = s.getsockopt(a["level"], a["name"])
                ret = 0
            elif op == "getsockname":
                out["addr"] = self._addr(s.getsockname())
                ret = 0
            elif op == "getpeername":
                out["addr"] = list(s.getpeername())
                ret = 0
            elif op == "shutdown":
                s.shutdown(a.get("how", 2))
                ret = 0
            elif op == "poll":
                p = select.poll()
                p.register(s, a.get("events", 1))
                ready = p.poll(0)
                out["value"] = ready[0][1] if ready else 0
                ret = len(ready)
            elif op == "listen":
                s.listen(a.get("backlog", 1))
                ret = 0
            elif op == "accept":
                conn, _ = s.accept()
                ret = conn.fileno()
                self.handles[a.get("into", h + "'")] = conn
            elif op == "close":
                s.close()
                del self.handles[h]
                ret = 0
            else:
                raise ValueError(f"unknown socket op {op!r}")
            return dict({"ret": ret, "errno": ""}, **out)
        except OSError as e:
            if e.errno is None:
                raise
            return {"ret": -1, "errno": errno.errorcode.get(e.errno, str(e.errno))}

    def close(self):
        for s in self.sockets.values():
            s.close()
        for s in self.handles.values():
            if s.fileno() >= 0 and s.type == socket.SOCK_STREAM:
                # Reset rather than leave an orphan in FIN_WAIT: its later death (when
                # the namespace is cleaned up) would trace into the next recording.
                try:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                except OSError:
                    pass
            s.close()
        if self.rx is not None:
            self.rx.close()


def main(argv):
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: netns_agent.py CPU", file=sys.stderr)
        return 2
    os.sched_setaffinity(0, {int(argv[0])})
    agent = Agent()
    try:
        for line in sys.stdin:
            try:
                cmd = json.loads(line)
                if cmd.get("op") == "exit":
                    reply = {"ok": True}
                else:
                    reply = agent.handle(cmd)
            except Exception as e:  # every failure is answered, the agent stays up
                reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
                cmd = {}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
            if cmd.get("op") == "exit":
                break
    finally:
        agent.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
