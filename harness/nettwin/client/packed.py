"""The packed frame blobs of Nic.Inject and Nic.ReadWire (proto/nettwin.proto):
many frames in one bytes field, with no protobuf message per frame."""
from __future__ import annotations

import struct
from typing import Iterable, NamedTuple

_LEN = struct.Struct("<I")
_WIRE = struct.Struct("<IiQ")   # length, ifindex, time_ns


class PackedWireFrame(NamedTuple):
    ifindex: int
    time_ns: int
    data: bytes


def pack_frames(frames: Iterable[bytes]) -> bytes:
    """InjectRequest.packed: each frame as a little-endian u32 length, then its bytes."""
    parts = []
    for frame in frames:
        parts.append(_LEN.pack(len(frame)))
        parts.append(frame)
    return b"".join(parts)


def unpack_wire(blob: bytes) -> list[PackedWireFrame]:
    """ReadWireReply.packed: the frames in order, each with its ifindex and time."""
    out = []
    offset = 0
    view = memoryview(blob)
    while offset < len(blob):
        length, ifindex, time_ns = _WIRE.unpack_from(blob, offset)
        offset += _WIRE.size
        if offset + length > len(blob):
            raise ValueError(f"packed wire record at byte offset {offset - _WIRE.size}: "
                             f"length {length} runs past the end ({len(blob)} bytes)")
        out.append(PackedWireFrame(ifindex, time_ns, bytes(view[offset:offset + length])))
        offset += length
    return out
