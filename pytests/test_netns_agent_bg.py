"""The recorder's agent times a background socket call (connect_bg, accept_bg,
recv_bg) when its thread makes the call, not when it was asked to: replay makes
the call at that time, and a connect's SYN leaves then. No traffic: a UDP
socket on the loopback waits for a datagram that never comes."""
import socket
import time

from nettwin.recording import netns_agent


def test_background_call_is_timed_by_its_own_thread():
    agent = netns_agent.Agent()
    assert agent.handle({"op": "sock", "sock_op": "socket", "h": "u", "args": {"family": 2, "type": 2}})["ok"]
    assert agent.handle({"op": "sock", "sock_op": "bind", "h": "u", "args": {"ip": "127.0.0.1", "port": 0}})["ok"]
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    reply = agent.handle({"op": "sock", "sock_op": "recv_bg", "h": "u", "args": {"len": 100}})
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    assert reply["ok"] and reply["result"] == {"ret": 0, "errno": ""}
    assert before <= reply["mono_ns"] <= after
    pending = agent.handle({"op": "sock", "sock_op": "collect", "h": "u", "args": {"timeout_ms": 50}})
    assert pending["result"]["errno"] == "pending"
    try:    # wakes the blocked recvfrom (0 bytes); unconnected UDP also says ENOTCONN
        agent.handles["u"].shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    done = agent.handle({"op": "sock", "sock_op": "collect", "h": "u", "args": {"timeout_ms": 5000}})
    assert done["result"]["ret"] == 0, done
