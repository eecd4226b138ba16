"""The replay's benchmark figure (ci/bench.sh): a generated capture of N frames
(ICMP echo requests to the DUT over 1000 flows, 10 us apart, each followed by the
DUT's reply) through `nettwin replay`; prints frames per second, the peak RSS
of the largest process (the harness or nettwin-replay) and the CPU time they took. A figure, not a test."""
from __future__ import annotations

import resource
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTER_MAC, DUT_MAC = bytes.fromhex("020000000101"), bytes.fromhex("020000000102")
TESTER_IP, DUT_IP = bytes([198, 51, 100, 1]), bytes([198, 51, 100, 2])
FLOWS = 1000
GAP_NS = 10_000


def checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def echo(src_mac, dst_mac, src, dst, icmp_type: int, ident: int, seq: int) -> bytes:
    icmp = struct.pack("!BBHHH", icmp_type, 0, 0, ident, seq) + b"x" * 32
    icmp = icmp[:2] + struct.pack("!H", checksum(icmp)) + icmp[4:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), 0, 0x4000, 64, 1, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + icmp


def write_capture(path: Path, frames: int) -> None:
    with open(path, "wb", buffering=1 << 20) as f:
        f.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
        t = 1_700_000_000 * 1_000_000_000
        for i in range(frames // 2):
            ident, seq = i % FLOWS, i // FLOWS
            for frame, at in ((echo(TESTER_MAC, DUT_MAC, TESTER_IP, DUT_IP, 8, ident, seq), t),
                              (echo(DUT_MAC, TESTER_MAC, DUT_IP, TESTER_IP, 0, ident, seq), t + 1000)):
                f.write(struct.pack("<IIII", at // 1_000_000_000, at % 1_000_000_000, len(frame), len(frame)))
                f.write(frame)
            t += GAP_NS


def main(argv=None) -> int:
    frames = int((argv or sys.argv[1:] or ["1000000"])[0])
    nettwin = Path(__file__).resolve().parents[2] / "bin" / "nettwin"
    with tempfile.TemporaryDirectory(prefix="nettwin-replay-bench-") as tmp:
        capture = Path(tmp) / "bench.pcap"
        write_capture(capture, frames)
        started = time.monotonic()
        done = subprocess.run([str(nettwin), "replay", str(capture), "--dut-ip", "198.51.100.2/24",
                               "--max-diffs", "3", "--no-progress", "--golden", str(Path(tmp) / "g.json")],
                              capture_output=True, text=True)
        seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        print(done.stdout + done.stderr, file=sys.stderr)
        return 1
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    peak_mib = children.ru_maxrss / 1024
    cpu = children.ru_utime + children.ru_stime   # the harness's and nettwin-replay's: steadier than wall time on a shared machine
    print(f"nettwin replay (bench.py): {frames} frames in {seconds:.1f} s: {frames / seconds:,.0f} frames/s, "
          f"peak RSS {peak_mib:.0f} MiB, CPU {cpu:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
