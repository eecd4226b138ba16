"""Fixtures for tests that drive the real nettwin-server process and the
nettwin-replay tool (imported by pytests/test_server_*.py; no conftest.py).

The build is found through $NETTWIN_BUILD, else <repo>/build; the generated
gRPC stubs are imported from <build>/python.
"""

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_DIR = Path(os.environ.get("NETTWIN_BUILD", REPO_ROOT / "build")).resolve()
SERVER_BIN = BUILD_DIR / "harness" / "server" / "nettwin-server"
REPLAY_BIN = BUILD_DIR / "harness" / "server" / "nettwin-replay"

if str(BUILD_DIR / "python") not in sys.path:
    sys.path.insert(0, str(BUILD_DIR / "python"))

import grpc  # noqa: E402
from scapy.layers.inet import ICMP, IP  # noqa: E402
from scapy.layers.l2 import ARP, Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

try:
    import nettwin_pb2 as pb  # noqa: E402
    import nettwin_pb2_grpc as pb_grpc  # noqa: E402
except ImportError as error:  # a clear failure, not a skip
    raise ImportError(
        f"gRPC stubs not found in {BUILD_DIR / 'python'}: build first "
        f"(cmake -S {REPO_ROOT} -B {BUILD_DIR} && cmake --build {BUILD_DIR} -j2) "
        f"or set NETTWIN_BUILD"
    ) from error

# The default topology (DESIGN.md): tester and DUT on one veth link.
TESTER_MAC = "02:00:00:00:01:01"
TESTER_IP = "198.51.100.1"
DUT_DEV = "ntdut0"
DUT_MAC = "02:00:00:00:01:02"
DUT_IP = "198.51.100.2"
DUT_CIDR = DUT_IP + "/24"

ECHO_ID = 0x4E54
ECHO_SEQ = 7
ECHO_PAYLOAD = b"nettwin echo payload 0123456789"


def arp_request():
    """The tester asks who has the DUT's address."""
    return Ether(dst="ff:ff:ff:ff:ff:ff", src=TESTER_MAC) / ARP(
        op=1, hwsrc=TESTER_MAC, psrc=TESTER_IP, hwdst="00:00:00:00:00:00", pdst=DUT_IP)


def echo_request():
    """The tester pings the DUT."""
    return (Ether(dst=DUT_MAC, src=TESTER_MAC) / IP(src=TESTER_IP, dst=DUT_IP, ttl=64)
            / ICMP(type=8, code=0, id=ECHO_ID, seq=ECHO_SEQ) / Raw(ECHO_PAYLOAD))


def neighbour_probes_only(frames, after):
    """Frames the stack sends on its own after answering: Linux's
    neighbour entry goes STALE -> DELAY -> PROBE and asks the tester again."""
    return all(f[Ether].src == DUT_MAC and f.haslayer(ARP) and f[ARP].op == 1
               and f[ARP].pdst == TESTER_IP and float(f.time) > after for f in frames)


# Guards against a hung server, never a timing assertion.
STARTUP_GUARD_S = 30
EXIT_GUARD_S = 30


def require_binary(path):
    if not path.exists():
        pytest.fail(f"{path} is missing: build it (cmake --build {BUILD_DIR} -j2) or set NETTWIN_BUILD")
    return path


class ServerProcess:
    """One nettwin-server process, started and waited for its ready line."""

    def __init__(self, *args):
        require_binary(SERVER_BIN)
        self.proc = subprocess.Popen(
            [str(SERVER_BIN), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.address = self._wait_ready()

    def _wait_ready(self):
        ready, _, _ = select.select([self.proc.stdout], [], [], STARTUP_GUARD_S)
        line = self.proc.stdout.readline() if ready else ""
        prefix = "nettwin-server listening on "
        if not line.startswith(prefix):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=EXIT_GUARD_S)
            raise AssertionError(f"server did not start: stdout {line!r}, stderr {err!r}")
        return line[len(prefix):].strip()

    def stop(self, sig=signal.SIGTERM):
        """Signals the server and returns (exit status, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=EXIT_GUARD_S)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            raise AssertionError(f"server ignored {sig!r}; stderr {err!r}")
        return self.proc.returncode, err


# The message size bound of server and clients (grpc's default receive bound is 4 MiB).
MAX_MESSAGE_BYTES = pb.MAX_MESSAGE_BYTES


class Client:
    """Stubs of every service on one channel."""

    def __init__(self, address, options=()):
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                   ("grpc.max_send_message_length", MAX_MESSAGE_BYTES), *options]
        self.channel = grpc.insecure_channel(address, options=options)
        self.nic = pb_grpc.NicStub(self.channel)
        self.trace = pb_grpc.TraceStub(self.channel)
        self.control = pb_grpc.ControlStub(self.channel)

    def close(self):
        self.channel.close()


def start_server(tmp_path, *extra_args):
    return ServerProcess("--listen", f"unix:{tmp_path / 'nettwin.sock'}", *extra_args)


@pytest.fixture
def server_process(tmp_path):
    server = start_server(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def client(server_process):
    c = Client(server_process.address)
    yield c
    c.close()


def create_dut(control):
    """The DUT's first interface of the default topology, as a veth device."""
    control.CreateDevice(pb.DeviceConfig(name=DUT_DEV, kind="veth", mac=DUT_MAC))
    control.AddAddress(pb.AddressRequest(dev=DUT_DEV, cidr=DUT_CIDR))


@pytest.fixture
def dut(client):
    create_dut(client.control)
    return client


def inject(client, *frames, dev=DUT_DEV):
    return client.nic.Inject(pb.InjectRequest(dev=dev, frames=[pb.Frame(data=bytes(f)) for f in frames]))
