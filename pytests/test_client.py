"""The Python client against the real nettwin-server: lifecycle, errors that carry
the server's message, frames in and out as Scapy packets, clock, sysctls,
counters, trace subscriptions and Scapy's send/receive machinery."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import grpc
import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether

from conftest import HARNESS
from nettwin.client import SETTLE_NS, Stack, StackError
from nettwin.interactive import scapy_glue

DUT, DUT_MAC, TESTER_MAC = "ntdut0", "02:00:00:00:01:02", "02:00:00:00:01:01"


def dut(stack, kind="veth"):
    stack.create_device(DUT, kind=kind, mac=DUT_MAC)
    stack.add_address(DUT, "198.51.100.2/24")


def arp_request():
    return Ether(src=TESTER_MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(hwsrc=TESTER_MAC, psrc="198.51.100.1",
                                                                 pdst="198.51.100.2")


def echo(seq=1):
    return Ether(src=TESTER_MAC, dst=DUT_MAC) / IP(src="198.51.100.1", dst="198.51.100.2") / \
        ICMP(id=0x55, seq=seq) / b"client-test"


def test_started_server_is_stopped_and_its_socket_removed(build_dir):
    stack = Stack()
    proc, tmpdir = stack.server.proc, stack.server.tmpdir
    assert proc.poll() is None and os.path.exists(stack.server.socket_path)
    stack.close()
    assert proc.poll() is not None, "the server outlived its client"
    assert not os.path.exists(tmpdir)


def test_server_is_stopped_when_the_with_block_raises(build_dir):
    with pytest.raises(RuntimeError, match="boom"):
        with Stack() as stack:
            proc = stack.server.proc
            raise RuntimeError("boom")
    assert proc.poll() is not None


def test_attach_to_a_running_server(server_stack):
    server_stack.reset(1)
    dut(server_stack)
    with Stack(address=server_stack.address) as other:
        assert other.server is None
        assert [d.config.name for d in other.devices()] == [DUT]


def test_bad_requests_raise_with_the_servers_message(stack):
    with pytest.raises(StackError) as e:
        stack.inject("nosuchdev", echo())
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "nosuchdev" in e.value.message
    dut(stack)
    with pytest.raises(StackError) as e:
        stack.add_address(DUT, "198.51.100.300/24")
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT and "198.51.100.300" in e.value.message
    with pytest.raises(StackError):
        stack.inject(DUT, b"")
    with pytest.raises(TypeError):
        stack.inject(DUT, 42)


def test_arp_and_echo_round_trip_as_scapy_packets(stack):
    dut(stack)
    assert stack.inject(DUT, [arp_request(), echo()]) == (2, 0)
    assert stack.wire() == [], "nothing runs until the clock is driven"
    stack.advance(SETTLE_NS)   # the answers, not the neighbour probes seconds later
    frames = stack.wire(DUT)
    assert [type(f) for f in frames] == [Ether, Ether]
    arp, reply = frames
    assert arp[ARP].op == 2 and arp[ARP].hwsrc == DUT_MAC and arp[ARP].pdst == "198.51.100.1"
    assert reply[ICMP].type == 0 and reply[ICMP].seq == 1 and reply[IP].dst == "198.51.100.1"
    assert reply.sniffed_on == DUT
    assert 0 <= arp.time <= reply.time <= stack.now() / 1e9
    assert stack.wire() == [], "reading the wire takes the frames"


def test_clock_is_virtual_and_only_moves_when_told(stack):
    assert stack.now() == 0
    assert stack.advance(1_000) == 1_000
    assert stack.run_until(5_000_000_000) == 5_000_000_000
    assert stack.run_until(10) == 5_000_000_000, "run_until into the past is a no-op"
    assert stack.now() == 5_000_000_000


def test_sysctl_get_set(stack):
    assert stack.sysctl("net.ipv4.ip_default_ttl") == "64"
    assert stack.sysctl("net.ipv4.ip_default_ttl", 63) == "63"
    assert stack.sysctl("net.ipv4.ip_default_ttl") == "63"
    dut(stack)
    stack.add_neighbour(DUT, "198.51.100.1", TESTER_MAC, "permanent")
    stack.inject(DUT, echo())
    stack.run_until_idle()
    assert stack.wire()[0][IP].ttl == 63
    with pytest.raises(StackError, match="no.such"):
        stack.sysctl("net.no.such")


def test_set_sysctls_sets_many_in_one_call_and_names_the_unknown_and_the_refused(stack):
    results = stack.set_sysctls({"net.ipv4.ip_default_ttl": "63", "net.no.such": "1",
                                 "net.ipv4.tcp_congestion_control": "bbr", "net.ipv4.tcp_syn_retries": "6"})
    assert list(results) == ["net.ipv4.ip_default_ttl", "net.no.such", "net.ipv4.tcp_congestion_control",
                             "net.ipv4.tcp_syn_retries"]
    assert results["net.ipv4.ip_default_ttl"] == ("63", False, "")
    assert results["net.no.such"][1] is True
    value, unknown, error = results["net.ipv4.tcp_congestion_control"]
    assert (value, unknown) == ("cubic", False) and error   # bbr is not built in: refused, unchanged
    assert results["net.ipv4.tcp_syn_retries"] == ("6", False, "")  # already 6: left as it is
    assert stack.sysctl("net.ipv4.ip_default_ttl") == "63"


def test_set_sysctls_refuses_a_malformed_batch(stack):
    with pytest.raises(StackError, match="the name is empty") as e:
        stack.set_sysctls({"": "1"})
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(StackError, match="no value given"):
        stack.set_sysctls({"net.ipv4.ip_default_ttl": ""})
    with pytest.raises(StackError, match="at most 4096"):
        stack.set_sysctls({f"net.x{i}": "1" for i in range(4097)})


def test_counters_count(stack):
    dut(stack)
    before = stack.counters()
    stack.inject(DUT, echo())
    stack.run_until_idle()
    after = stack.counters()
    key = f"dev.{DUT}.rx_packets"
    assert after[key] == before.get(key, 0) + 1


def test_subscription_sees_the_frame_and_close_stops_it(stack):
    dut(stack)
    sub = stack.subscribe(["net:*", "skb:*"], checkpoints=True)
    stack.inject(DUT, arp_request())
    stack.run_until_idle()
    events = sub.read()
    names = [e.name for e in events]
    assert "net:netif_rx" in names or "net:netif_receive_skb" in names, names
    assert any(e.is_checkpoint for e in events)
    assert not any(n.startswith(("fib:", "neigh:")) for n in names), "the filter must hold"
    assert sub.lost == 0
    sub.close()
    with pytest.raises(StackError):
        sub.read()


def test_live_stream_delivers_events(stack):
    dut(stack)
    with stack.stream(["net:netif_receive_skb"]) as stream:
        # The server registers the stream asynchronously: inject until it has.
        ev = None
        for _ in range(50):
            stack.inject(DUT, arp_request())
            stack.run_until_idle()
            ev = stream.get(timeout=0.2)
            if ev is not None:
                break
        assert ev is not None, "the live stream delivered nothing"
        assert ev.name == "net:netif_receive_skb" and ev.fields.get("name") == DUT
    assert stream.lost == 0


def test_scapy_srp1_against_the_stack(stack):
    dut(stack)
    answer = scapy_glue.srp1(stack, arp_request(), DUT)
    assert answer is not None and answer[ARP].op == 2 and answer[ARP].psrc == "198.51.100.2"
    reply = scapy_glue.srp1(stack, echo(seq=42), DUT)
    assert reply is not None and reply[ICMP].type == 0 and reply[ICMP].seq == 42
    # a frame for another MAC gets no answer, and srp1 returns at once (virtual clock)
    other = Ether(src=TESTER_MAC, dst="02:00:00:00:09:09") / IP(src="198.51.100.1", dst="198.51.100.2") / ICMP()
    assert scapy_glue.srp1(stack, other, DUT) is None
    ans, unans = scapy_glue.srp(stack, [echo(seq=1), echo(seq=2)], DUT)
    assert sorted(r[ICMP].seq for _, r in ans) == [1, 2] and len(unans) == 0


def test_socket_on_a_device_name_is_a_clear_error(stack):
    """Stack.socket makes the DUT's BSD sockets; a Scapy socket on a device is scapy_glue's."""
    with pytest.raises(TypeError, match="StackSocket"):
        stack.socket(DUT)


def test_reset_gives_a_fresh_stack(stack):
    dut(stack)
    stack.advance(10)
    stack.reset(1)
    assert stack.devices() == [] and stack.now() == 0


def test_scapy_sniff_reads_the_wire_and_ends_when_idle(stack):
    dut(stack)
    stack.inject(DUT, [arp_request(), echo(seq=5)])
    sniffed = scapy_glue.sniff(stack, DUT)
    assert [p.summary() for p in sniffed] == [
        "Ether / ARP is at 02:00:00:00:01:02 says 198.51.100.2",
        "Ether / IP / ICMP 198.51.100.2 > 198.51.100.1 echo-reply 0 / Raw"]
    assert len(scapy_glue.sniff(stack, DUT)) == 0, "an idle stack with an empty wire ends sniff at once"


def test_inject_can_run_the_stack_in_the_same_call(stack):
    dut(stack)
    stack.add_neighbour(DUT, "198.51.100.1", TESTER_MAC, "permanent")
    assert stack.inject(DUT, echo(seq=3), run_until_idle=True) == (1, 0)
    frames = stack.wire(DUT)
    assert len(frames) == 1 and frames[0][ICMP].type == 0 and frames[0][ICMP].seq == 3


# ------------------------------------------------ a client that forgets, or dies

EXIT_GUARD_S = 60  # a hang guard only: a process that exits does so long before


def client_env(build_dir) -> dict:
    env = dict(os.environ)
    env["NETTWIN_BUILD"] = str(build_dir)
    env["PYTHONPATH"] = os.pathsep.join([str(HARNESS), str(build_dir / "python")])
    return env


def server_gone(pid: int) -> bool:
    """The server pid is gone (or only a zombie awaiting its reaper: it has exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + EXIT_GUARD_S
    while not server_gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


# A program that makes a Stack, uses it (a live stream open too), and never closes it.
LEFT_OPEN = """
import sys, time
from nettwin.client import Stack
stack = Stack()
stream = stack.stream(["skb:kfree_skb"])
stack.create_device("ntdut0", kind="veth", mac="02:00:00:00:01:02")
print(stack.server.proc.pid, stack.server.tmpdir, flush=True)
if sys.argv[1] == "wait":
    time.sleep(600)
"""


def test_a_stack_never_closed_is_cleaned_up_at_exit(build_dir):
    done = subprocess.run([sys.executable, "-c", LEFT_OPEN, "exit"], capture_output=True, text=True,
                          env=client_env(build_dir), timeout=EXIT_GUARD_S)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Fatal" not in done.stderr, done.stderr
    pid, tmpdir = done.stdout.split()
    # The finalizer stopped and reaped the server before the interpreter ended.
    assert server_gone(int(pid)), "the server outlived its client"
    assert not os.path.exists(tmpdir)


def test_a_killed_clients_server_exits(build_dir):
    client = subprocess.Popen([sys.executable, "-c", LEFT_OPEN, "wait"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True, env=client_env(build_dir))
    try:
        pid, tmpdir = client.stdout.readline().split()
        assert not server_gone(int(pid)) and os.path.isdir(tmpdir)
        client.kill()
        client.wait(EXIT_GUARD_S)
        assert wait_gone(int(pid)), "the server outlived its SIGKILLed client"
        deadline = time.monotonic() + EXIT_GUARD_S
        while os.path.exists(tmpdir) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not os.path.exists(tmpdir), "the server left its socket folder behind"
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()


def test_server_refuses_a_parent_fd_that_is_not_open(build_dir):
    from nettwin.client import paths
    done = subprocess.run([str(paths.binary("nettwin-server")), "--parent-fd", "987"],
                          capture_output=True, text=True, timeout=EXIT_GUARD_S)
    assert done.returncode == 2
    assert "--parent-fd: 987 is not an open file descriptor" in done.stderr


def test_server_stops_when_its_parent_pipe_closes(build_dir, tmp_path):
    from nettwin.client import paths
    folder = tmp_path / "sock"
    folder.mkdir()
    watch, alive = os.pipe()
    server = subprocess.Popen([str(paths.binary("nettwin-server")), "--listen", f"unix:{folder}/s.sock",
                               "--parent-fd", str(watch), "--remove-socket-dir"], pass_fds=(watch,),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    os.close(watch)
    try:
        assert "listening on" in server.stdout.readline()
        os.close(alive)  # what the kernel does when the parent dies
        assert server.wait(EXIT_GUARD_S) == 0
        assert "stopped by" in server.stderr.read()
        assert not folder.exists()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
