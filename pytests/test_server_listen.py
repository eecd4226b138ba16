"""Where the real nettwin-server listens, how it refuses, how it stops."""

import signal
import socket
import subprocess

import pytest

from server_fixtures import (
    EXIT_GUARD_S, SERVER_BIN, Client, ServerProcess, arp_request, pb, require_binary, start_server,
)


def run_refused(*args):
    require_binary(SERVER_BIN)
    proc = subprocess.run([str(SERVER_BIN), *args], capture_output=True, text=True,
                          timeout=EXIT_GUARD_S)
    assert "listening" not in proc.stdout
    return proc


@pytest.mark.parametrize("address", ["0.0.0.0:0", "198.51.100.7:50051", "[::]:0"])
def test_non_loopback_address_is_refused(address):
    proc = run_refused("--listen", address)
    assert proc.returncode == 2
    assert f'refusing to listen on "{address}"' in proc.stderr
    assert "--allow-remote" in proc.stderr


@pytest.mark.parametrize("args,words", [
    (["--listen", "nonsense"], ["neither unix:PATH nor HOST:PORT"]),
    (["--listen", "127.0.0.1:99999"], ["no valid port"]),
    (["--listen", "unix:"], ["no socket path"]),
    (["--seed", "many"], ['--seed: bad number "many"']),
    (["--frobnicate"], ['unknown option "--frobnicate"']),
])
def test_bad_command_line_is_refused(args, words):
    proc = run_refused(*args)
    assert proc.returncode == 2
    for word in words:
        assert word in proc.stderr


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_loopback_tcp_with_any_free_port(host):
    server = ServerProcess("--listen", f"{host}:0")
    try:
        shown_host, port = server.address.rsplit(":", 1)
        assert shown_host == host and int(port) > 0
        client = Client(server.address)
        assert client.control.Now(pb.Empty()).now_ns == 0
        client.close()
    finally:
        assert server.stop()[0] == 0


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly_and_removes_the_socket(tmp_path, sig):
    server = start_server(tmp_path)
    sock = tmp_path / "nettwin.sock"
    assert server.address == f"unix:{sock}"
    assert sock.is_socket()
    client = Client(server.address)
    client.control.CreateDevice(pb.DeviceConfig(name="ntdut0", kind="veth", mac="02:00:00:00:01:02"))
    # A live stream must not hold the shutdown up. It is live once its initial
    # metadata arrives: a call still on its way when the signal comes is one the
    # server never saw, and gRPC cancels it.
    stream = client.trace.Stream(pb.TraceFilter(events=["net:netif_rx"]), timeout=EXIT_GUARD_S)
    stream.initial_metadata()
    client.nic.Inject(pb.InjectRequest(dev="ntdut0", frames=[pb.Frame(data=bytes(arp_request()))],
                                       run_until_idle=True))
    assert next(stream).name == "net:netif_rx"
    status, err = server.stop(sig)
    assert status == 0, err
    assert not sock.exists()
    # The stream was ended by the server with status OK, not cut off.
    assert all(event.name for event in stream)
    client.close()


def test_second_server_on_a_live_socket_is_refused(tmp_path):
    server = start_server(tmp_path)
    try:
        proc = run_refused("--listen", server.address)
        assert proc.returncode == 1
        assert "another server is listening" in proc.stderr
        assert Client(server.address).control.Now(pb.Empty()).now_ns == 0
    finally:
        server.stop()


def test_stale_socket_is_replaced_and_plain_file_is_refused(tmp_path):
    stale = tmp_path / "nettwin.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(stale))
    listener.close()  # bound, never listened: nobody answers there
    server = start_server(tmp_path)
    assert server.stop()[0] == 0

    plain = tmp_path / "plain"
    plain.write_text("not a socket")
    proc = run_refused("--listen", f"unix:{plain}")
    assert proc.returncode == 1 and "is not a socket" in proc.stderr
    assert plain.read_text() == "not a socket"


def test_default_address_is_a_unix_socket_under_xdg_runtime_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    server = ServerProcess()
    try:
        assert server.address == f"unix:{tmp_path}/nettwin-{server.proc.pid}.sock"
        assert Client(server.address).control.Now(pb.Empty()).now_ns == 0
    finally:
        assert server.stop()[0] == 0
