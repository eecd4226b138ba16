"""The recorder never waits forever on its namespace agent: a socket call that
blocks on Linux with nothing in the scenario able to end it (a blocking send
whose peer acknowledges only after the call returns) fails the recording with
an error naming the call, and the agent is stopped. No namespace: a stand-in
agent answers the ping and then never answers again."""
import sys

import pytest

from nettwin.recording.ns_processes import Agent, ProcessError

SILENT_AFTER_PING = ("import sys, time\n"
                     "sys.stdin.readline()\n"
                     "print('{\"ok\": true}', flush=True)\n"
                     "time.sleep(120)\n")


def test_a_call_that_never_returns_is_an_error_naming_it():
    agent = Agent("unused", 0)
    agent.argv = [sys.executable, "-c", SILENT_AFTER_PING]
    agent.start()
    try:
        with pytest.raises(ProcessError, match=r"send on c did not return within 0.2 s.*_bg call"):
            agent.call({"op": "sock", "sock_op": "send", "h": "c", "args": {"data": "00"}}, grace_s=0.2)
    finally:
        agent.proc.kill()
        agent.proc.wait()


def test_a_call_waits_for_its_own_timeout_on_top():
    # The expect step's recv asks to wait timeout_ms itself: the bound is that plus the grace.
    agent = Agent("unused", 0)
    agent.argv = [sys.executable, "-c", SILENT_AFTER_PING]
    agent.start()
    try:
        with pytest.raises(ProcessError, match=r"recv on - did not return within 1.7 s"):
            agent.call({"op": "recv", "timeout_ms": 1500}, grace_s=0.2)
    finally:
        agent.proc.kill()
        agent.proc.wait()
