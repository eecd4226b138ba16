#!/usr/bin/python3
"""Writes stack/fuzz/corpus/fuzz_stack_frames/: one seed per chosen recording in
traces/, its scenario's frames as stack_frames_fuzz.cc records (frames from the
tester go to the ring NIC, the far host's to the veth end; a wait becomes the
record's clock advance, in 250 ms steps), plus a few hand-made ones."""
import json
import pathlib
import struct

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "stack/fuzz/corpus/fuzz_stack_frames"
SCENARIOS = [
    "arp_then_echo", "echo_record_route", "ip_option_lsrr", "ip_option_overlong",
    "frag_out_of_order", "frag_overlap", "frag_duplicate", "frag_timeout_partial",
    "frag_echo_large3", "forward_fragmented", "forward_frag_needed", "icmp_errors_in",
    "udp_recv_fragmented", "udp_bad_checksum_bound", "truncated_ipv4", "gratuitous_arp_then_echo",
]
SEND = 127  # ctrl >> 1: send the bytes from a socket instead


def record(ctrl, data):
    return struct.pack(">BH", ctrl, len(data)) + data


def scenario_seed(name):
    steps = json.loads((ROOT / "traces" / name / "scenario.json").read_text())["steps"]
    out = bytearray()
    last = None  # where the last record starts: a wait becomes its advance
    for step in steps:
        if step["kind"] == "send":
            last = len(out)
            out += record(1 if step["iface"] == "ntfar0" else 0, bytes.fromhex(step["frame"]))
        elif step["kind"] == "wait" and last is not None:
            ctrl = out[last]
            out[last] = (ctrl & 1) | min(SEND - 1, (ctrl >> 1) + step["ms"] // 250) << 1
    return bytes(out)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name in SCENARIOS:
        (OUT / name).write_bytes(scenario_seed(name))
    # Datagrams sent from the UDP socket (small, then one that fragments) and the raw socket.
    (OUT / "send_udp_and_raw").write_bytes(
        record(SEND << 1, b"hello") + record(SEND << 1, bytes(3000)) +
        record(SEND << 1 | 1, bytes.fromhex("0800f7ff00000000")))
    (OUT / "empty_and_runt").write_bytes(record(0, b"") + record(1, b"\x02\x00\x00"))


if __name__ == "__main__":
    main()
