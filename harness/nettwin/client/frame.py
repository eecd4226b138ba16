"""A captured frame: its bytes and capture time, dissected by Scapy only when asked
for a layer (a diff to display, a test's pkt[TCP]). The conformance path reads the
bytes (comparison/flat.py); Scapy's dissection was most of what a scenario cost."""
from __future__ import annotations

from typing import Optional


class Frame:
    """bytes(frame) is the frame; time_ns its capture time (ns, None if unknown);
    frame.time the capture time in seconds as Scapy gives it (a pcap's EDecimal,
    the stack's float). Anything else (haslayer, summary, frame[TCP], TCP in frame)
    goes to the Scapy Ether dissection, made on first use."""

    __slots__ = ("_data", "time_ns", "_time", "ts_frame_ms", "ts_synack", "sniffed_on", "_pkt")

    def __init__(self, data: bytes, time_ns: Optional[int] = None, time=None, sniffed_on: Optional[str] = None):
        self._data = bytes(data)
        self.time_ns = time_ns
        self._time = time               # seconds as the source gave them; None: from time_ns
        self.ts_frame_ms = None         # set by tcp_relative: a relative TSval's frame time (ms)
        self.ts_synack = False
        self.sniffed_on = sniffed_on
        self._pkt = None

    @classmethod
    def of(cls, frame) -> "Frame":
        """A Frame of a Frame (itself), bytes, or a Scapy packet (its bytes and .time)."""
        if isinstance(frame, Frame):
            return frame
        if isinstance(frame, (bytes, bytearray, memoryview)):
            return cls(frame)
        return cls(bytes(frame), getattr(frame, "time_ns", None), getattr(frame, "time", None))

    @property
    def data(self) -> bytes:
        """The frame's bytes; once its Scapy dissection exists, that packet's (a caller may
        have changed a field of frame[IP], as of any Scapy packet)."""
        return self._data if self._pkt is None else bytes(self._pkt)

    @property
    def time(self):
        if self._time is None and self.time_ns is not None:
            from scapy.utils import EDecimal
            self._time = EDecimal(self.time_ns).scaleb(-9)
        return self._time

    @time.setter
    def time(self, value):
        self._time = value

    @property
    def seconds(self) -> Optional[float]:
        """The capture time as a float: float(frame.time), without making the Decimal."""
        if self._time is not None:
            return float(self._time)
        return None if self.time_ns is None else self.time_ns / 10**9

    def packet(self):
        """The Scapy dissection (Ether), with this frame's time and relative-TSval marks."""
        if self._pkt is None:
            from scapy.layers.l2 import Ether
            import scapy.all  # noqa: F401  (binds every layer: the frame dissects fully)
            pkt = Ether(self._data)
            if self.time is not None:
                pkt.time = self.time
            if self.ts_frame_ms is not None:
                pkt.ts_frame_ms = self.ts_frame_ms
                pkt.ts_synack = self.ts_synack
            if self.sniffed_on is not None:
                pkt.sniffed_on = self.sniffed_on
            if self.time_ns is not None:
                pkt.time_ns = self.time_ns
            self._pkt = pkt
        return self._pkt

    def __bytes__(self) -> bytes:
        return self.data

    def __len__(self) -> int:
        return len(self.data)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.packet(), name)

    def __getitem__(self, layer):
        return self.packet()[layer]

    def __contains__(self, layer) -> bool:
        return layer in self.packet()

    def __truediv__(self, other):
        return self.packet() / other

    def __repr__(self) -> str:
        return repr(self.packet())
