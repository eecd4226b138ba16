"""Classic pcap files of Ethernet frames read record by record, without Scapy:
a replay's input and output are read in one pass at a few hundred thousand
frames a second, in bounded memory."""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Iterator, NamedTuple, Optional

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


def records(path: Path, count: Optional[int] = None) -> Iterator[Record]:
    """The records of a classic pcap, up to `count` of them (a record cut short
    ends the file: nettwin-replay has reported it)."""
    with open(path, "rb", buffering=READ_BUFFER) as f:
        head = f.read(FILE_HEADER)
        if len(head) < FILE_HEADER or head[:4] not in MAGICS:
            raise ValueError(f"{path}: offset 0: not a classic pcap file")
        order, unit = MAGICS[head[:4]]
        unpack = struct.Struct(order + "IIII").unpack
        read = f.read
        number = 0
        while count is None or number < count:
            header = read(RECORD_HEADER)
            if len(header) < RECORD_HEADER:
                return
            sec, frac, caplen, _ = unpack(header)
            data = read(caplen)
            if len(data) < caplen:
                return
            number += 1
            yield Record(number, sec * 1_000_000_000 + frac * unit, data)
