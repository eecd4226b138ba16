"""Classic pcap files of Ethernet frames read record by record, without Scapy:
a replay's input and output are read in one pass at a few hundred thousand
frames a second, in bounded memory."""
from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Callable, Iterator, NamedTuple, Optional

LINKTYPE_ETHERNET = 1
# magic -> (byte order, nanoseconds per sub-second unit)
MAGICS = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
          b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
FILE_HEADER = 24
RECORD_HEADER = 16
READ_BUFFER = 1 << 20


class Record(NamedTuple):
    number: int      # 1 for the first record, as Wireshark numbers frames
    ts_ns: int       # capture time, ns since the epoch
    data: bytes      # the Ethernet frame


def is_ethernet_pcap(path: Path) -> bool:
    """A classic, uncompressed pcap of Ethernet frames: read as it is (others are
    made one first by nettwin-replay --convert)."""
    try:
        with open(path, "rb") as f:
            head = f.read(FILE_HEADER)
    except OSError:
        return False
    if len(head) < FILE_HEADER or head[:4] not in MAGICS:
        return False
    order, _ = MAGICS[head[:4]]
    return struct.unpack(order + "I", head[20:24])[0] & 0x0FFFFFFF == LINKTYPE_ETHERNET


def records(path: Path, count: Optional[int] = None,
            progress: Callable[[int], None] = lambda n: None) -> Iterator[Record]:
    """The records of a classic pcap, up to `count` of them (a record cut short
    ends the file: nettwin-replay has reported it). The file is read in chunks of
    READ_BUFFER bytes, records cut out of them (a record longer than a chunk is
    read whole first); `progress` is told the bytes read, chunk by chunk. The
    records are plain tuples (a Record's fields): a million are made a run."""
    with open(path, "rb", buffering=0) as f:
        head = f.read(FILE_HEADER)
        if len(head) < FILE_HEADER or head[:4] not in MAGICS:
            raise ValueError(f"{path}: offset 0: not a classic pcap file")
        progress(FILE_HEADER)
        order, unit = MAGICS[head[:4]]
        unpack_from = struct.Struct(order + "III").unpack_from
        left = os.fstat(f.fileno()).st_size - FILE_HEADER   # bytes of the file not yet read
        buf, pos, number, need = b"", 0, 0, 0
        while left > 0:
            chunk = f.read(max(READ_BUFFER, need))     # a record longer than a chunk: all of it at once
            if not chunk:
                return
            left -= len(chunk)
            buf = buf[pos:] + chunk if pos < len(buf) else chunk
            pos, end, need = 0, len(buf), 0
            while pos + RECORD_HEADER <= end:
                sec, frac, caplen = unpack_from(buf, pos)
                nxt = pos + RECORD_HEADER + caplen
                if nxt > end:
                    need = nxt - end
                    if need > left:
                        return          # cut short: the file ends inside it
                    break
                if number == count:
                    return
                number += 1
                yield number, sec * 1_000_000_000 + frac * unit, buf[pos + RECORD_HEADER:nxt]
                pos = nxt
            progress(len(chunk))
