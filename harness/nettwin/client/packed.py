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


_EVENT = struct.Struct("<IQQH")   # length of the rest, time_ns, skb, name length
_U16 = struct.Struct("<H")
_U32 = struct.Struct("<I")


class PackedEvent(NamedTuple):
    time_ns: int
    name: str
    skb: int
    fields: dict


def unpack_events(blob: bytes) -> list[PackedEvent]:
    """TraceEvents.packed: the events in order, their fields in the kernel's order."""
    out = []
    offset = 0
    while offset < len(blob):
        length, time_ns, skb, name_len = _EVENT.unpack_from(blob, offset)
        end = offset + 4 + length
        at = offset + _EVENT.size
        name = blob[at:at + name_len].decode()
        at += name_len
        (count,) = _U16.unpack_from(blob, at)
        at += 2
        fields = {}
        for _ in range(count):
            (key_len,) = _U16.unpack_from(blob, at)
            key = blob[at + 2:at + 2 + key_len].decode()
            at += 2 + key_len
            (value_len,) = _U32.unpack_from(blob, at)
            fields[key] = blob[at + 4:at + 4 + value_len].decode()
            at += 4 + value_len
        if at != end:
            raise ValueError(f"packed event record at byte offset {offset}: its fields end at {at}, "
                             f"its length says {end}")
        out.append(PackedEvent(time_ns, name, skb, fields))
        offset = end
    return out
