"""A third-party client-side capture: a real Linux TCP client (and ping) in one
network namespace talks to a real Linux server in another, tcpdump records on
the client's side; the replay names the server as the DUT (its address, or
found from who receives the SYNs), reports by flow with progress bars, and
keeps a golden output. The namespaces are made under the machine-wide lock the
recorder uses, and removed."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from scapy.layers.inet import TCP
from scapy.utils import rdpcap

from nettwin.recording.netns import exclusive_use

CLIENT_IP, SERVER_IP, PORT = "198.51.100.1", "198.51.100.2", 8080
CONNECTIONS, PAYLOAD = 3, 3000

SERVER = f"""
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("{SERVER_IP}", {PORT})); s.listen(16); print("ready", flush=True)
for i in range({CONNECTIONS}):
    c, _ = s.accept()
    while c.recv(65536):   # read everything, close when the client does
        pass
    if i == 1:
        time.sleep(0.3)    # past the delayed ACK: the FIN's ACK goes alone, the FIN later
    c.close()
"""
CLIENT = f"""
import socket, time
for _ in range({CONNECTIONS}):
    c = socket.create_connection(("{SERVER_IP}", {PORT}))
    c.sendall(b"x" * {PAYLOAD}); c.shutdown(socket.SHUT_WR)
    while c.recv(65536):
        pass
    c.close(); time.sleep(0.2)
"""


def syn_acks(capture) -> int:
    """The SYN-ACKs tcpdump has written so far (it writes each frame at once, -U)."""
    try:
        frames = rdpcap(str(capture))
    except Exception:   # not yet a whole file
        return 0
    return sum(1 for p in frames if p.haslayer(TCP) and p[TCP].flags == "SA")


def sh(*argv, netns=None, **kw):
    full = (["ip", "netns", "exec", netns] if netns else []) + list(argv)
    return subprocess.run(full, check=True, capture_output=True, text=True, timeout=60, **kw)


@pytest.fixture(scope="module")
def client_side_capture(tmp_path_factory):
    """capture.pcap, recorded with tcpdump in the client's namespace."""
    out = tmp_path_factory.mktemp("client-side") / "capture.pcap"
    client, server = f"nt-rpc-{os.getpid()}", f"nt-rps-{os.getpid()}"
    with exclusive_use():
        made = []
        try:
            for ns in (client, server):
                sh("ip", "netns", "add", ns)
                made.append(ns)
                sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1",
                   netns=ns)
            sh("ip", "-n", client, "link", "add", "ntrpc0", "type", "veth", "peer", "name", "ntrps0",
               "netns", server)
            for ns, dev, ip in ((client, "ntrpc0", CLIENT_IP), (server, "ntrps0", SERVER_IP)):
                sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
                sh("ethtool", "-K", dev, "tx", "off", "rx", "off", "tso", "off", "gso", "off", "gro", "off",
                   netns=ns)
                sh("ip", "-n", ns, "link", "set", dev, "up")
                sh("ip", "-n", ns, "link", "set", "lo", "up")
            dump = subprocess.Popen(["ip", "netns", "exec", client, "tcpdump", "-i", "ntrpc0", "-U", "-n",
                                     "-w", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                    text=True)
            assert "listening on" in dump.stderr.readline()
            srv = subprocess.Popen(["ip", "netns", "exec", server, sys.executable, "-c", SERVER],
                                   stdout=subprocess.PIPE, text=True)
            assert srv.stdout.readline().strip() == "ready"
            sh("ping", "-c", "2", "-i", "0.2", SERVER_IP, netns=client)
            sh(sys.executable, "-c", CLIENT, netns=client)
            srv.wait(timeout=30)
            # tcpdump reads its ring buffer behind the wire: let it catch up before it stops.
            deadline = time.monotonic() + 20
            while syn_acks(out) < CONNECTIONS and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(0.5)
            dump.send_signal(signal.SIGINT)
            dump.wait(timeout=30)
        finally:
            for ns in reversed(made):
                subprocess.run(["ip", "netns", "del", ns], timeout=30)
    assert syn_acks(out) == CONNECTIONS, f"tcpdump missed a connection: {out}"
    return out


def replay(nettwin_cmd, env, *args):
    return subprocess.run(nettwin_cmd + ["replay", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300)


def test_client_side_capture_replays_by_flow_with_progress_and_golden(nettwin_cmd, harness_env,
                                                                      client_side_capture):
    capture = client_side_capture
    done = replay(nettwin_cmd, harness_env, capture, "--dut-ip", SERVER_IP, "--progress", "--update-golden")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"listening on TCP {PORT}" in out, out
    tcp_rows = [line for line in out.splitlines() if line[2:].startswith(f"TCP {CLIENT_IP}:")]
    assert len(tcp_rows) == CONNECTIONS, out
    assert "ICMP " in out and "ARP " in out
    # The progress bars (tqdm) on stderr: reading the capture, replaying it, comparing.
    for bar in ("roles", "replaying", "comparing"):
        assert f"{bar}: 100%" in done.stderr, done.stderr
    golden = capture.with_name(capture.name + ".golden.json")
    assert golden.exists()
    # Found from the capture's roles (the server receives the SYNs): the same run.
    done = replay(nettwin_cmd, harness_env, capture)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"DUT {SERVER_IP} " in done.stdout and "it receives the most TCP SYNs (3 of 3)" in done.stdout
    assert f"same as the golden output {golden}" in done.stdout, done.stdout


def flow_rows(stdout: str, start: str) -> list[dict]:
    keys = ("capture", "stack", "matched", "differing", "missing", "extra")
    return [dict(zip(keys, [int(c) for c in line[2:].split()[-7:-1]]))
            for line in stdout.splitlines() if line[2:].startswith(start)]


def test_client_side_capture_every_server_answer_has_its_partner(nettwin_cmd, harness_env,
                                                                 client_side_capture):
    # The stack, a listener in place of the Linux server and the client's ACK numbers
    # fitted to its ISN, answers each connection frame for frame: the handshake, an
    # ACK per data segment, the FIN; none missing, none extra (without the fitting,
    # the client's ACK would be refused with a RST). Its program closes when the
    # capture's server did, so the second connection's late close (the client's FIN
    # acknowledged alone first) and the others' prompt ones (the ACK on the FIN, or
    # alone if the server was slow) come out as Linux's. The ping and ARP match wholly.
    done = replay(nettwin_cmd, harness_env, client_side_capture, "--dut-ip", SERVER_IP, "--golden",
                  client_side_capture.with_name("none.json"))
    assert "TCP frames fitted to the stack's ISN and clock:" in done.stdout, done.stdout
    connections = flow_rows(done.stdout, f"TCP {CLIENT_IP}:")
    assert len(connections) == CONNECTIONS, done.stdout
    for row in connections:
        assert row["capture"] == row["stack"] >= 4 and row["missing"] == row["extra"] == 0, done.stdout
        assert row["matched"] == row["capture"] and row["differing"] == 0, done.stdout
    for name in ("ICMP ", "ARP "):
        for row in flow_rows(done.stdout, name):
            assert row["matched"] == row["capture"] == row["stack"] and row["differing"] == 0, done.stdout
