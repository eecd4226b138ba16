"""A small helper the recorder runs inside a network namespace
(`ip netns exec NS /usr/bin/python3 netns_agent.py CPU`), pinned to one CPU so the
kernel's softirq work for what it sends happens there, in its own context.

It reads one JSON command per line on stdin and answers one JSON line on stdout:
  {"op": "ping"}                                        -> {"ok": true}
  {"op": "send", "iface": "nttst0", "frame": "<hex>"}   -> {"ok": true, "sent": n}
  {"op": "exit"}                                        -> {"ok": true}, then exits
Errors are answered as {"ok": false, "error": "..."}; the agent keeps going.
Frames are written with an AF_PACKET socket of protocol 0, which receives nothing,
so the agent adds no packet-tap clones to the trace. It is run by path, as a
script, and imports nothing from the nettwin package.
"""
import json
import os
import socket
import sys


class Agent:
    def __init__(self):
        self.sockets = {}

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
        raise ValueError(f"unknown op {op!r}")

    def close(self):
        for s in self.sockets.values():
            s.close()


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
