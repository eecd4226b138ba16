"""Classic libpcap files read whole, without Scapy: (capture ns, frame bytes) per
record, for the recorder and the scenario folders (replay/pcapstream.py streams
files too large to hold)."""
from __future__ import annotations

import struct
from pathlib import Path

# magic -> (byte order, ns per sub-second unit): microsecond and nanosecond pcaps.
MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
          b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
FILE_HEADER = 24
RECORD_HEADER = 16


class PcapError(ValueError):
    """A file that is not a complete classic pcap; the message names the file and the byte offset."""


def read_frames(path) -> list[tuple[int, bytes]]:
    """(capture time in ns since the epoch, frame bytes) of each record of a classic pcap
    (microsecond or nanosecond variant, either byte order)."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise PcapError(f"{path}: {e.strerror or e}") from None
    if len(data) < FILE_HEADER:
        raise PcapError(f"{path}: byte offset 0: not a pcap file (only {len(data)} bytes)")
    if data[:4] not in MAGICS:
        raise PcapError(f"{path}: byte offset 0: not a libpcap file (magic {data[:4].hex()})")
    order, scale = MAGICS[data[:4]]
    header = struct.Struct(order + "IIII").unpack_from
    out, pos, end = [], FILE_HEADER, len(data)
    while pos < end:
        if pos + RECORD_HEADER > end:
            raise PcapError(f"{path}: byte offset {pos}: truncated record header")
        sec, frac, caplen, _ = header(data, pos)
        pos += RECORD_HEADER
        if pos + caplen > end:
            raise PcapError(f"{path}: byte offset {pos}: truncated frame ({caplen} bytes announced, "
                            f"{end - pos} left)")
        out.append((sec * 1_000_000_000 + frac * scale, data[pos:pos + caplen]))
        pos += caplen
    return out
