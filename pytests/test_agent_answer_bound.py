"""The recorder never waits forever on its namespace agent: a socket call that
blocks on Linux with nothing in the scenario able to end it (a blocking send
whose peer acknowledges only after the call returns) fails the recording with
an error naming the call, and the agent is stopped. No namespace: a stand-in
agent answers the ping and then never answers again."""
import sys
from contextlib import contextmanager

import pytest

from nettwin.recording.netns_agent import COLLECT_WAIT_MS
from nettwin.recording.ns_processes import Agent, ProcessError, answer_wait_s

SILENT_AFTER_PING = ("import sys, time\n"
                     "sys.stdin.readline()\n"
                     "print('{\"ok\": true}', flush=True)\n"
                     "time.sleep(120)\n")


@contextmanager
def silent_agent():
    agent = Agent("unused", 0)
    agent.argv = [sys.executable, "-c", SILENT_AFTER_PING]
    agent.start()
    try:
        yield agent
    finally:
        agent.proc.kill()
        agent.proc.wait()


def test_a_call_that_never_returns_is_an_error_naming_it():
    with silent_agent() as agent:
        with pytest.raises(ProcessError, match=r"send on c did not return within 0.2 s.*_bg call"):
            agent.call({"op": "sock", "sock_op": "send", "h": "c", "args": {"data": "00"}}, grace_s=0.2)


def test_a_call_waits_for_its_own_timeout_on_top():
    # The expect step's recv asks to wait timeout_ms itself: the bound is that plus the grace.
    with silent_agent() as agent:
        with pytest.raises(ProcessError, match=r"recv on - did not return within 1.7 s"):
            agent.call({"op": "recv", "timeout_ms": 1500}, grace_s=0.2)


def test_each_command_is_given_its_own_wait_and_the_grace():
    assert answer_wait_s({"op": "sock", "sock_op": "send", "h": "c"}, 30) == 30
    assert answer_wait_s({"op": "recv", "timeout_ms": 1500}, 30) == 31.5
    assert answer_wait_s({"op": "sock", "sock_op": "collect", "h": "l", "args": {"timeout_ms": 50}}, 30) == 30.05
    # collect without a timeout waits the agent's own default.
    assert answer_wait_s({"op": "sock", "sock_op": "collect", "h": "l"}, 30) == 30 + COLLECT_WAIT_MS / 1000
