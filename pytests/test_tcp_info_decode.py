"""nettwin.client.tcp_info against the real kernel: a TCP connection between two network namespaces over a
veth pair (MTU 1500, 198.51.100.0/24), each end reading getsockopt(TCP_INFO); decode() must give
what this connection has to have. Needs root (CI runs as root); everything created is deleted."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from nettwin.client import tcp_info

HARNESS = Path(__file__).resolve().parents[1] / "harness"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")

# Runs inside a namespace: the server accepts, reads 1000 bytes, reads its TCP_INFO, answers b"ok"
# and prints it; the client connects, sends 1000 bytes, reads the answer and prints its TCP_INFO.
_PEER = r'''
import socket, sys
role = sys.argv[1]
if role == "server":
    l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind(("198.51.100.2", 5001)); l.listen(); print("ready", flush=True)
    s, _ = l.accept()
    got = b""
    while len(got) < 1000:
        got += s.recv(1000 - len(got))
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    s.sendall(b"ok")
else:
    s = socket.create_connection(("198.51.100.2", 5001), timeout=10)
    s.sendall(b"x" * 1000)
    assert s.recv(2) == b"ok"
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
print(info.hex(), flush=True)
sys.stdin.read()  # hold the connection open until the test is done with both sides
'''


def _run(*cmd: str) -> None:
    subprocess.run(cmd, check=True, capture_output=True, text=True)


@pytest.fixture
def veth_pair():
    """Two fresh namespaces joined by a veth pair: 198.51.100.1 (client) and .2 (server)."""
    tag = uuid.uuid4().hex[:6]
    client, server = f"nt-ti-c-{tag}", f"nt-ti-s-{tag}"
    _run("ip", "netns", "add", client)
    try:
        _run("ip", "netns", "add", server)
        _run("ip", "-n", client, "link", "add", "eth0", "type", "veth", "peer", "name", "eth0",
             "netns", server)
        for ns, addr in ((client, "198.51.100.1/24"), (server, "198.51.100.2/24")):
            _run("ip", "-n", ns, "addr", "add", addr, "dev", "eth0")
            _run("ip", "-n", ns, "link", "set", "eth0", "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
        yield client, server
    finally:
        for ns in (client, server):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _tcp_infos(client: str, server: str) -> tuple[dict, dict]:
    py = [sys.executable, "-c", _PEER]
    srv = subprocess.Popen(["ip", "netns", "exec", server, *py, "server"],
                           stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline().strip() == "ready"
        cli = subprocess.Popen(["ip", "netns", "exec", client, *py, "client"],
                               stdout=subprocess.PIPE, stdin=subprocess.PIPE, text=True)
        try:
            client_hex = cli.stdout.readline().strip()
            server_hex = srv.stdout.readline().strip()
        finally:
            cli.kill()
            cli.wait()
    finally:
        srv.kill()
        srv.wait()
    return bytes.fromhex(client_hex), bytes.fromhex(server_hex)


def _initial_wscale(ns: str) -> int:
    """tcp_select_initial_window's scale: ilog2 of max(tcp_rmem[2], rmem_max) less 15, at most 14."""
    def sysctl(name: str) -> list[int]:
        out = subprocess.run(["ip", "netns", "exec", ns, "sysctl", "-n", name], check=True,
                             capture_output=True, text=True).stdout
        return [int(v) for v in out.split()]
    space = max(sysctl("net.ipv4.tcp_rmem")[2], sysctl("net.core.rmem_max")[0])
    return min(max(space.bit_length() - 1 - 15, 0), 14)


@needs_root
def test_decode_matches_a_real_connection(veth_pair):
    client_raw, server_raw = _tcp_infos(*veth_pair)
    assert len(client_raw) == tcp_info.SIZE  # this kernel's sizeof(struct tcp_info)
    client, server = tcp_info.decode(client_raw), tcp_info.decode(server_raw)
    for side in (client, server):
        assert side["state"] == 1  # TCP_ESTABLISHED
        assert side["ca_state"] == 0  # TCP_CA_Open
        # Timestamps, SACK and window scaling are on by default; ECN (tcp_ecn 2) only on request.
        wanted = tcp_info.TCPI_OPT_TIMESTAMPS | tcp_info.TCPI_OPT_SACK | tcp_info.TCPI_OPT_WSCALE
        assert side["options"] == wanted
        assert side["pmtu"] == 1500
        # MTU - 40, less the 12 aligned bytes of the timestamp option once timestamps are agreed
        # (tcp_rcv_synsent_state_process / tcp_create_openreq_child take TCPOLEN_TSTAMP_ALIGNED off).
        assert side["advmss"] == 1448
        assert side["snd_mss"] == 1448
        assert side["snd_wscale"] == side["rcv_wscale"] == _initial_wscale(veth_pair[0])
        assert side["snd_ssthresh"] == tcp_info.TCP_INFINITE_SSTHRESH
        assert side["unacked"] == 0 and side["retrans"] == 0 and side["lost"] == 0
        assert side["reordering"] == 3  # tcp_reordering
        assert side["rto"] >= 200_000  # TCP_RTO_MIN, in usec
        assert side["max_pacing_rate"] == 2**64 - 1
        assert side["accecn_fail_mode"] == 0 and side["accecn_opt_seen"] == 0
    assert client["bytes_acked"] == 1 + 1000  # the SYN, then the data, acked by the "ok"
    assert client["bytes_sent"] == 1000 and client["data_segs_out"] == 1
    assert client["bytes_received"] == 2 and client["data_segs_in"] == 1
    assert server["bytes_received"] == 1000 and server["data_segs_in"] == 1
    # The child socket starts with snd_una past the SYN-ACK (tcp_create_openreq_child): the
    # handshake's ACK is not counted in bytes_acked on the passive side.
    assert server["bytes_sent"] == 0 and server["bytes_acked"] == 0
    assert server["snd_cwnd"] == 10  # TCP_INIT_CWND, nothing sent yet
    assert client["snd_cwnd"] == 11  # slow start: one more for the one data segment acked
    assert server["rcv_mss"] == 1000  # tcp_measure_rcv_mss: the one segment seen, under the MSS
    # The two sides agree with each other's fields: the compare lists what differs between them.
    diffs = tcp_info.compare_tcp_info(client, server)
    assert any(d.startswith("tcpi_bytes_sent:") for d in diffs)


def test_decode_short_buffer_keeps_whole_fields_only():
    full = bytearray(tcp_info.SIZE)
    full[0] = 7  # TCP_CLOSE
    full[6] = 0x72  # snd_wscale 2, rcv_wscale 7
    full[7] = 0b101  # app limited, fastopen_client_fail 2
    full[8:12] = (200000).to_bytes(4, "little")
    info = tcp_info.decode(bytes(full[:10]))
    assert info["state"] == 7 and info["snd_wscale"] == 2 and info["rcv_wscale"] == 7
    assert info["delivery_rate_app_limited"] == 1 and info["fastopen_client_fail"] == 2
    assert "rto" not in info  # cut by the end of the buffer
    assert tcp_info.decode(bytes(full[:12]))["rto"] == 200000
    assert set(tcp_info.decode(bytes(full))) >= {"accecn_opt_seen", "received_ce_bytes", "snd_wnd"}


def test_layout_offsets_match_the_uapi_struct():
    offsets = {name: off for name, _fmt, off in tcp_info.LAYOUT}
    # Offsets of the x86-64 struct tcp_info of Linux 6.18.
    assert offsets["rto"] == 8
    assert offsets["total_retrans"] == 100
    assert offsets["pacing_rate"] == 104
    assert offsets["snd_wnd"] == 228
    assert offsets["total_rto"] == 240
    assert offsets["accecn_opt_seen"] == 278


def test_compare_exact_and_tolerant_fields():
    base = tcp_info.decode(bytes(tcp_info.SIZE))
    linux = dict(base, state=1, snd_cwnd=10, snd_ssthresh=0x7FFFFFFF, rto=204000, rtt=1000,
                 last_data_recv=100, min_rtt=0xFFFFFFFF)
    assert tcp_info.compare_tcp_info(linux, dict(linux)) == []
    assert tcp_info.compare_tcp_info(linux, dict(linux, snd_ssthresh=20)) == [
        "tcpi_snd_ssthresh: linux 2147483647 twin 20"]
    assert tcp_info.compare_tcp_info(linux, dict(linux, rto=208000)) == []  # one jiffy
    assert tcp_info.compare_tcp_info(linux, dict(linux, rto=400000)) != []
    assert tcp_info.compare_tcp_info(linux, dict(linux, last_data_recv=104)) == []
    assert tcp_info.compare_tcp_info(linux, dict(linux, last_data_recv=120)) != []
    assert tcp_info.compare_tcp_info(linux, dict(linux, min_rtt=900)) != []  # sentinel vs a sample
    short = {k: v for k, v in linux.items() if k != "rehash"}
    assert tcp_info.compare_tcp_info(linux, short) == ["tcpi_rehash: missing on twin"]


_LISTENER = r'''
import socket
l = socket.socket(); l.bind(("127.0.0.1", 5002)); l.listen(7)
c = socket.create_connection(("127.0.0.1", 5002))
import time
for _ in range(100):  # the handshake completes in softirq; wait for the child in the accept queue
    info = l.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 512)
    if info[24] == 1:
        break
    time.sleep(0.01)
print(info.hex())
'''


@needs_root
def test_decode_a_listener_reports_its_queue(veth_pair):
    """A listener's tcpi_unacked is its accept queue, tcpi_sacked its backlog (tcp_get_info)."""
    ns = veth_pair[1]
    subprocess.run(["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"], check=True)
    out = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", _LISTENER], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    info = tcp_info.decode(bytes.fromhex(out.strip()))
    assert info["state"] == 10  # TCP_LISTEN
    assert info["unacked"] == 1  # one child waiting for accept()
    assert info["sacked"] == 7  # listen(7)
    assert info["rto"] == 0 and info["snd_mss"] == 0  # nothing else is filled for a listener
