"""`nettwin replay` of the link types real captures have: the project's ARP + ping
recording (Linux's own answers) written as Linux cooked SLL and SLL2, BSD
loopback NULL (either byte order) and LOOP, raw IPv4 (RAW, IPV4), pcapng with
two interfaces (mergecap), and gzip-compressed. Each is made Ethernet frames with
the documented MACs (02:00 and the host's IPv4 address) and replays with no
difference; a cut .gz names the file and the offset."""
from __future__ import annotations

import gzip
import struct
import subprocess

import pytest
from scapy.layers.inet import ICMP, IP
from scapy.layers.l2 import ARP, Ether
from scapy.utils import wrpcap

from test_replay_cli import DUT_IP, combined, echo_scenario

MADE_UP_DUT_MAC = "02:00:c6:33:64:02"   # 02:00 + 198.51.100.2
SLL_HOST, SLL_BROADCAST, SLL_OUTGOING = 0, 1, 4


def sll(pkt, outgoing: bool) -> bytes:
    """struct sll_header: packet type, ARPHRD_ETHER, address length 6, the sender's MAC, protocol."""
    kind = SLL_OUTGOING if outgoing else SLL_BROADCAST if pkt[Ether].dst == "ff:ff:ff:ff:ff:ff" else SLL_HOST
    mac = bytes.fromhex(pkt[Ether].src.replace(":", "")) + b"\0\0"
    return struct.pack("!HHH8sH", kind, 1, 6, mac, pkt[Ether].type) + bytes(pkt[Ether].payload)


def sll2(pkt, outgoing: bool) -> bytes:
    """struct sll2_header: protocol, reserved, ifindex, ARPHRD_ETHER, packet type, address length, MAC."""
    kind = SLL_OUTGOING if outgoing else SLL_BROADCAST if pkt[Ether].dst == "ff:ff:ff:ff:ff:ff" else SLL_HOST
    mac = bytes.fromhex(pkt[Ether].src.replace(":", "")) + b"\0\0"
    return struct.pack("!HHIHBB8s", pkt[Ether].type, 0, 7102, 1, kind, 6, mac) + bytes(pkt[Ether].payload)


def ip_only(header: bytes):
    def make(pkt, outgoing: bool) -> bytes:
        return header + bytes(pkt[IP])
    return make


# name -> (LINKTYPE_, frame maker, ARP representable)
LINK_TYPES = {
    "sll": (113, sll, True),
    "sll2": (276, sll2, True),
    "null-little-endian": (0, ip_only(struct.pack("<I", 2)), False),
    "null-big-endian": (0, ip_only(struct.pack(">I", 2)), False),
    "loop": (108, ip_only(struct.pack(">I", 2)), False),
    "raw": (101, ip_only(b""), False),
    "ipv4": (228, ip_only(b""), False),
}


def write_pcap(path, linktype: int, records) -> None:
    """A classic pcap (microseconds) of (time, bytes) records on LINKTYPE_ linktype."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, linktype))
        for t, data in records:
            usec = int(round(float(t) * 1e6))
            f.write(struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(data), len(data)) + data)


def write_link_type(path, frames, dut_mac: str, linktype: int, make, keep_arp: bool):
    write_pcap(path, linktype, [(pkt.time, make(pkt, pkt[Ether].src == dut_mac)) for pkt in frames
                                if keep_arp or not pkt.haslayer(ARP)])


def replay(nettwin_cmd, env, *args):
    return subprocess.run(nettwin_cmd + ["replay", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def assert_echo_replayed_without_difference(done):
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no differences" in done.stdout, done.stdout
    echo_rows = [line for line in done.stdout.splitlines() if line.lstrip(" !").startswith("ICMP ")]
    assert echo_rows, done.stdout
    matched = int(echo_rows[0].split()[-4 - 2])   # flow, capture, stack, matched, differing, ...
    assert matched >= 1, echo_rows[0]


@pytest.mark.parametrize("name", sorted(LINK_TYPES))
def test_each_link_type_replays_with_no_difference(nettwin_cmd, harness_env, tmp_path, name):
    scen = echo_scenario()
    linktype, make, keep_arp = LINK_TYPES[name]
    capture = tmp_path / f"{name}.pcap"
    write_link_type(capture, combined(scen), scen.dut["mac"], linktype, make, keep_arp)
    done = replay(nettwin_cmd, harness_env, capture, "--dut-ip", DUT_IP)
    assert_echo_replayed_without_difference(done)
    # The DUT's MAC is the made-up one, and so are the stack's frames.
    assert f"DUT {DUT_IP} ({MADE_UP_DUT_MAC})" in done.stdout, done.stdout
    if not keep_arp:   # no ARP in the capture: the peer became a neighbour from its first frame
        assert "neighbours learnt from the capture: 1 (0 off the device's link)" in done.stdout, done.stdout


def test_pcapng_with_two_interfaces(nettwin_cmd, harness_env, tmp_path):
    # The tester's frames on one interface, the DUT's on another, merged by time (mergecap).
    scen = echo_scenario()
    frames = combined(scen)
    wrpcap(str(tmp_path / "tester.pcap"), [p for p in frames if p[Ether].src != scen.dut["mac"]])
    wrpcap(str(tmp_path / "dut.pcap"), [p for p in frames if p[Ether].src == scen.dut["mac"]])
    merged = tmp_path / "merged.pcapng"
    subprocess.run(["mergecap", "-F", "pcapng", "-I", "none", "-w", str(merged), str(tmp_path / "tester.pcap"),
                    str(tmp_path / "dut.pcap")], check=True, timeout=60)
    interfaces = subprocess.run(["capinfos", "-I", str(merged)], capture_output=True, text=True,
                                timeout=60).stdout
    assert "Number of interfaces in file: 2" in interfaces, interfaces
    done = replay(nettwin_cmd, harness_env, merged, "--dut-ip", DUT_IP)
    assert_echo_replayed_without_difference(done)
    assert f"DUT {DUT_IP} ({scen.dut['mac']})" in done.stdout


@pytest.mark.parametrize("name", ["ethernet", "sll2"])
def test_gzip_compressed(nettwin_cmd, harness_env, tmp_path, name):
    scen = echo_scenario()
    plain = tmp_path / "plain.pcap"
    if name == "ethernet":
        wrpcap(str(plain), combined(scen))
    else:
        write_link_type(plain, combined(scen), scen.dut["mac"], 276, sll2, True)
    packed = tmp_path / "capture.pcap.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    done = replay(nettwin_cmd, harness_env, packed, "--dut-ip", DUT_IP)
    assert_echo_replayed_without_difference(done)


def test_a_cut_gzip_file_names_the_file_and_the_offset(nettwin_cmd, harness_env, tmp_path):
    scen = echo_scenario()
    plain = tmp_path / "plain.pcap"
    frames = combined(scen) + [Ether(src="02:00:00:00:01:01", dst=scen.dut["mac"]) / IP(dst=DUT_IP) / ICMP()
                               / (b"x" * 4000)]
    frames[-1].time = float(frames[-2].time) + 0.01
    wrpcap(str(plain), frames)
    data = plain.read_bytes()
    last_record = len(data) - 16 - len(bytes(frames[-1]))
    packed = tmp_path / "cut.pcap.gz"
    # A stream cut in the middle of the last record's data (no gzip trailer either).
    compressor = gzip.zlib.compressobj(9, gzip.zlib.DEFLATED, 31)
    packed.write_bytes(compressor.compress(data[:last_record + 100]) + compressor.flush(gzip.zlib.Z_SYNC_FLUSH))
    done = replay(nettwin_cmd, harness_env, packed, "--dut-ip", DUT_IP)
    assert done.returncode == 2, text_of(done)
    assert f"{packed}: offset {last_record}: record {len(frames)}: truncated" in done.stderr, done.stderr


def test_a_link_type_it_cannot_replay_is_named(nettwin_cmd, harness_env, tmp_path):
    capture = tmp_path / "wifi.pcap"
    write_pcap(capture, 105, [(1.0, b"\0" * 24)])  # IEEE 802.11
    done = replay(nettwin_cmd, harness_env, capture, "--dut-ip", DUT_IP)
    assert done.returncode == 2, text_of(done)
    assert f"{capture}: offset 20: link type 105" in done.stderr, done.stderr


def text_of(done) -> str:
    return done.stdout + done.stderr
