"""`nettwin live`: the twin behind a TAP in a namespace the command creates, on the
real clock. Linux's own ping, nc and curl in that namespace talk to it; the trace
RPC shows each frame's skb path as in a virtual session; the namespace is gone
afterwards, also when the command is stopped by SIGINT or SIGTERM."""
from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
from itertools import count

import grpc
import pytest

from nettwin.client import Stack, StackError

TWIN = "198.51.100.2"
BANNER_TIMEOUT_S = 60
_IDS = count()


def _namespaces() -> set[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return {line.split()[0] for line in out.splitlines() if line.strip()}


@pytest.fixture
def live_id():
    """A namespace id of this test's own; the namespace must be gone when it ends."""
    assert os.geteuid() == 0, "live mode needs root (a network namespace and a TAP)"
    ident = f"pt{os.getpid()}-{next(_IDS)}"
    yield ident
    leftover = f"nt-live-{ident}" in _namespaces()
    if leftover:   # clean up for the next run, then fail: the command should have
        subprocess.run(["ip", "netns", "del", f"nt-live-{ident}"], check=False)
    assert not leftover, f"nt-live-{ident} was left behind"


class Live:
    """A `nettwin live` process and the banner it printed (address, namespace)."""

    def __init__(self, nettwin_cmd, env, args, banner_on_stderr=False):
        self.proc = subprocess.Popen(nettwin_cmd + ["live", *args], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env)
        self.lines: queue.Queue = queue.Queue()
        self.out: list[str] = []
        stream = self.proc.stderr if banner_on_stderr else self.proc.stdout
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()
        self.address = self.netns = None
        while self.address is None or not self._seen("stop:"):
            try:
                line = self.lines.get(timeout=BANNER_TIMEOUT_S)
            except queue.Empty:
                self.proc.kill()
                pytest.fail(f"nettwin live printed no banner; stderr:\n{self.proc.stderr.read()}")
            if line is None:
                pytest.fail(f"nettwin live ended ({self.proc.wait()}) before its banner:\n" + "".join(self.out))
            if line.strip().startswith("server:"):
                self.address = line.split()[-1]
            if " in namespace " in line:
                self.netns = line.split(" in namespace ")[1].split(",")[0]

    def _read(self, stream):
        for line in stream:
            self.out.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def _seen(self, word: str) -> bool:
        return any(word in line for line in self.out)

    def run_in(self, *argv, timeout=30) -> subprocess.CompletedProcess:
        return subprocess.run(["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True,
                              timeout=timeout)

    def stop(self, signum=signal.SIGINT) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=30)


def test_ping_reaches_the_twin_and_the_trace_rpc_shows_each_skbs_path(nettwin_cmd, harness_env, live_id):
    live = Live(nettwin_cmd, harness_env, ["--id", live_id])
    try:
        assert live.netns == f"nt-live-{live_id}" and live.netns in _namespaces()
        with Stack(address=live.address) as stack:
            with stack.stream(checkpoints=True) as events:
                ping = live.run_in("ping", "-c", "3", "-i", "0.2", "-W", "5", TWIN)
                assert ping.returncode == 0, ping.stdout + ping.stderr
                assert "3 packets transmitted, 3 received" in ping.stdout
                paths: dict[int, list[str]] = {}
                while (ev := events.get(timeout=2.0)) is not None:
                    if ev.is_checkpoint:
                        paths.setdefault(ev.skb, []).append(ev.name.split(":", 1)[1])
            # Each echo request went up the stack from the ring NIC to icmp_echo,
            # and each reply down to the driver and out to the TAP.
            requests = [p for p in paths.values() if "icmp_echo" in p]
            assert len(requests) == 3, paths
            for p in requests:
                assert all(f in p for f in ("e1000_clean_rx_irq", "__netif_receive_skb_core", "ip_rcv", "icmp_rcv")), p
                assert p.index("e1000_clean_rx_irq") < p.index("__netif_receive_skb_core") < p.index("ip_rcv") \
                    < p.index("icmp_rcv") < p.index("icmp_echo"), p
            replies = [p for p in paths.values() if "icmp_push_reply" in p]
            assert len(replies) == 3, paths
            for p in replies:
                assert p.index("icmp_push_reply") < p.index("ip_output") < p.index("dev_queue_xmit") \
                    < p.index("e1000_xmit_frame"), p
            counters = stack.counters()
            assert counters["live.tap_rx"] >= 4     # an ARP request and three echo requests
            assert counters["live.tap_tx"] >= 4     # the ARP reply and three echo replies
            assert counters["live.inject_errors"] == 0
            # The clock is the real one: a client cannot drive it.
            with pytest.raises(StackError) as refused:
                stack.advance(1_000_000)
            assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
            assert "live mode" in str(refused.value)
            # Nor through a socket call's run_until_ns, which then makes no call.
            stack.sockets.at(1_000_000)
            with pytest.raises(StackError) as refused:
                stack.sockets.socket()
            assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
            assert "Socket with run_until_ns" in str(refused.value)
    finally:
        status = live.stop(signal.SIGINT)
    assert status == 0, "".join(live.out)
    assert f"nt-live-{live_id}" not in _namespaces()


def test_nc_exchanges_udp_datagrams_with_an_echo_listener_in_the_twin(nettwin_cmd, harness_env, live_id):
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--listen", "udp:7", "--",
                       "sh", "-c", f"printf 'hello over udp\\n' | nc -u -w 2 {TWIN} 7"],
        capture_output=True, text=True, env=harness_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello over udp\n", proc.stderr
    assert f"nt-live-{live_id}" not in _namespaces()


def test_nc_exchanges_tcp_data_with_an_echo_listener_in_the_twin(nettwin_cmd, harness_env, live_id):
    text = "".join(f"line {i} through the twin's TCP\n" for i in range(200))   # several segments
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--listen", "tcp:8080", "--", "nc", "-N", "-w", "10", TWIN, "8080"],
        input=text, capture_output=True, text=True, env=harness_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text
    assert f"nt-live-{live_id}" not in _namespaces()


def test_curl_gets_an_answer_from_an_http_listener_in_the_twin(nettwin_cmd, harness_env, live_id):
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--listen", "tcp:80:http", "--",
                       "curl", "-sS", "--max-time", "10", f"http://{TWIN}/"],
        capture_output=True, text=True, env=harness_env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "hello from the nettwin stack\n"


def _iperf3_against_the_twin(nettwin_cmd, harness_env, live_id, *options) -> dict:
    """Runs Linux's iperf3 client against the twin's --listen iperf3 server; its -J report."""
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--listen", "iperf3", "--",
                       "iperf3", "-c", TWIN, "-t", "1", "-J", *options],
        capture_output=True, text=True, env=harness_env, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"nt-live-{live_id}" not in _namespaces()
    return json.loads(proc.stdout)


def test_iperf3_measures_the_twins_tcp_receiving(nettwin_cmd, harness_env, live_id):
    report = _iperf3_against_the_twin(nettwin_cmd, harness_env, live_id)
    assert "error" not in report, report["error"]
    assert report["start"]["test_start"]["protocol"] == "TCP"
    assert report["start"]["test_start"]["reverse"] == 0
    end = report["end"]
    # The server's count (the twin's recv) came back in the results exchange.
    assert end["sum_received"]["bytes"] > 0
    assert end["sum_sent"]["bytes"] >= end["sum_received"]["bytes"]
    assert [s["receiver"]["bytes"] for s in end["streams"]] == [end["sum_received"]["bytes"]]


def test_iperf3_reverse_measures_the_twins_tcp_sending(nettwin_cmd, harness_env, live_id):
    report = _iperf3_against_the_twin(nettwin_cmd, harness_env, live_id, "-R", "-P", "2")
    assert "error" not in report, report["error"]
    assert report["start"]["test_start"]["reverse"] == 1
    end = report["end"]
    # Linux's client received what the twin sent on both streams; the twin's count of what
    # its sockets took came back in the results exchange, and cannot be less.
    assert len(end["streams"]) == 2
    assert all(s["receiver"]["bytes"] > 0 for s in end["streams"]), end["streams"]
    assert end["sum_sent"]["bytes"] >= end["sum_received"]["bytes"] > 0


@pytest.mark.parametrize("option", ["-u", "--bidir"])
def test_iperf3_udp_and_bidir_are_refused_as_not_implemented(nettwin_cmd, harness_env, live_id, option):
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--listen", "iperf3:5202", "--",
                       "iperf3", "-c", TWIN, "-p", "5202", "-t", "1", option, "-J"],
        capture_output=True, text=True, env=harness_env, timeout=120)
    # iperf3 3.12 with -J reports the server's error in the JSON (and exits 0 all the same).
    assert "not implemented" in json.loads(proc.stdout)["error"], proc.stdout + proc.stderr
    assert f"nt-live-{live_id}" not in _namespaces()


def test_a_command_that_fails_gives_its_status(nettwin_cmd, harness_env, live_id):
    # Nobody has 198.51.100.77: the twin does not answer ARP for it, ping gets no reply.
    proc = subprocess.run(
        nettwin_cmd + ["live", "--id", live_id, "--", "ping", "-c", "1", "-W", "1", "198.51.100.77"],
        capture_output=True, text=True, env=harness_env, timeout=120)
    assert proc.returncode == 1, proc.stdout + proc.stderr   # ping: no reply from an address nobody has
    assert f"nt-live-{live_id}" not in _namespaces()


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_while_a_command_runs_still_deletes_the_namespace(nettwin_cmd, harness_env, live_id,
                                                                   signum, status):
    live = Live(nettwin_cmd, harness_env, ["--id", live_id, "--", "sleep", "120"], banner_on_stderr=True)
    assert live.netns in _namespaces()
    assert live.stop(signum) == status
    assert live.netns not in _namespaces()


@pytest.mark.parametrize("args,message", [
    (["--twin", "10.1.2.3/24", "--peer", "10.1.2.1/24"], "198.51.100.0/24 or 203.0.113.0/24 only"),
    (["--twin", "198.51.100.2/24", "--peer", "203.0.113.1/24"], "must be on one network"),
    (["--twin", "198.51.100.2/24", "--peer", "198.51.100.2/24"], "two host addresses"),
    (["--listen", "sctp:9"], "expected tcp:PORT"),
    (["--listen", "udp:7:http"], "udp serves echo"),
    (["--listen", "iperf3:0"], "from 1 to 65535"),
    (["--listen", "iperf3:5201:x"], "expected tcp:PORT"),
    (["--id", "../x"], "--id"),
])
def test_bad_options_are_refused_before_any_namespace_exists(nettwin_cmd, harness_env, live_id, args, message):
    proc = subprocess.run(nettwin_cmd + ["live", "--id", live_id, *args, "--", "true"], capture_output=True,
                          text=True, env=harness_env, timeout=60)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert f"nt-live-{live_id}" not in _namespaces()


@pytest.mark.parametrize("args,status,message", [
    (["--live-tap", "nttst0", "--live-netns", "nt-live-no-such-namespace"], 1, "/run/netns/nt-live-no-such-namespace"),
    (["--live-tap", "a-name-longer-than-ifnamsiz"], 1, "bad interface name"),
    (["--live-netns", "nt-live-x"], 2, "go with --live-tap"),
])
def test_the_server_refuses_a_live_tap_it_cannot_make(build_dir, args, status, message):
    proc = subprocess.run([str(build_dir / "harness" / "server" / "nettwin-server"), *args], capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == status
    assert message in proc.stderr
