"""`nettwin trace`: pwru for the twin. The stack's tracepoints and layer
checkpoints (pwru's kprobes) for the skbs a pcap-filter expression selects,
compiled and run by libpcap itself (pcap_compile, pcap_offline_filter), as pwru
and tcpdump do: an skb is matched on its bytes (from the MAC header, else the
network header) at the first checkpoint where it has headers, then followed by
its id until it is freed."""
from __future__ import annotations

import ctypes
import ctypes.util
import json
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Optional

from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.layers.l2 import ARP, Ether

DLT_EN10MB, DLT_RAW = 1, 12
SNAPLEN = 262144


class FilterError(ValueError):
    """A pcap-filter expression libpcap refused, with its message."""


class _BpfProgram(ctypes.Structure):
    _fields_ = [("bf_len", ctypes.c_uint), ("bf_insns", ctypes.c_void_p)]


class _PcapPkthdr(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_usec", ctypes.c_long), ("caplen", ctypes.c_uint32),
                ("len", ctypes.c_uint32)]


def _libpcap():
    path = ctypes.util.find_library("pcap") or "libpcap.so.0.8"
    lib = ctypes.CDLL(path)
    lib.pcap_open_dead.restype = ctypes.c_void_p
    lib.pcap_open_dead.argtypes = [ctypes.c_int, ctypes.c_int]
    lib.pcap_compile.argtypes = [ctypes.c_void_p, ctypes.POINTER(_BpfProgram), ctypes.c_char_p, ctypes.c_int,
                                 ctypes.c_uint32]
    lib.pcap_geterr.restype = ctypes.c_char_p
    lib.pcap_geterr.argtypes = [ctypes.c_void_p]
    lib.pcap_offline_filter.argtypes = [ctypes.POINTER(_BpfProgram), ctypes.POINTER(_PcapPkthdr), ctypes.c_char_p]
    lib.pcap_freecode.argtypes = [ctypes.POINTER(_BpfProgram)]
    lib.pcap_close.argtypes = [ctypes.c_void_p]
    return lib


class PcapFilter:
    """One expression compiled twice: for Ethernet frames (l2) and raw IP (l3)."""

    def __init__(self, expression: str):
        self.expression = expression
        self._lib = _libpcap()
        self._programs = {}
        for layer, dlt in (("l2", DLT_EN10MB), ("l3", DLT_RAW)):
            handle = self._lib.pcap_open_dead(dlt, SNAPLEN)
            prog = _BpfProgram()
            if self._lib.pcap_compile(handle, ctypes.byref(prog), expression.encode(), 1, 0xffffffff) != 0:
                err = self._lib.pcap_geterr(handle).decode(errors="replace")
                self._lib.pcap_close(handle)
                if layer == "l2":
                    raise FilterError(f"pcap filter {expression!r}: {err}")
                prog = None   # an l2-only expression (ether host ...): raw IP cannot match it
            else:
                self._lib.pcap_close(handle)
            self._programs[layer] = prog

    def matches(self, data: bytes, layer: str) -> bool:
        prog = self._programs.get(layer)
        if prog is None:
            return False
        hdr = _PcapPkthdr(0, 0, len(data), len(data))
        return self._lib.pcap_offline_filter(ctypes.byref(prog), ctypes.byref(hdr), data) != 0

    def close(self):
        for prog in self._programs.values():
            if prog is not None:
                self._lib.pcap_freecode(ctypes.byref(prog))
        self._programs.clear()


def describe(data: bytes, layer: str) -> tuple[str, str]:
    """(proto, tuple) as pwru prints them, from an skb's bytes."""
    pkt = Ether(data) if layer == "l2" else IP(data)
    if pkt.haslayer(ARP):
        a = pkt[ARP]
        return "ARP", f"{a.psrc}->{a.pdst}(arp {'request' if a.op == 1 else 'reply' if a.op == 2 else a.op})"
    if not pkt.haslayer(IP):
        return (f"0x{pkt.type:04x}" if layer == "l2" else "?"), ""
    ip = pkt[IP]
    for l4, name in ((TCP, "tcp"), (UDP, "udp")):
        if pkt.haslayer(l4):
            return "IPv4", f"{ip.src}:{pkt[l4].sport}->{ip.dst}:{pkt[l4].dport}({name})"
    if pkt.haslayer(ICMP):
        return "IPv4", f"{ip.src}->{ip.dst}(icmp {pkt[ICMP].type}/{pkt[ICMP].code})"
    return "IPv4", f"{ip.src}->{ip.dst}(proto {ip.proto})"


def function_of(event) -> str:
    """The checkpoint's function, or the tracepoint's name (net:netif_rx -> netif_rx)."""
    return event.name.split(":", 1)[1]


@dataclass
class _Skb:
    proto: str = ""
    tuple: str = ""
    iface: str = ""
    lines: list = field(default_factory=list)   # held back until its end (--drop-reason)


class Tracer:
    """Turns the stack's events into pwru's lines for the selected skbs."""

    SKB_FIELDS = ("len", "data_len", "head", "data", "tail", "end", "users", "dataref", "cloned", "protocol",
                  "pkt_type", "dev")

    def __init__(self, out: Callable[[str], None], pcap_filter: Optional[PcapFilter] = None,
                 func: Optional[str] = None, drop_reason: Optional[str] = None, output_json: bool = False,
                 output_skb: bool = False):
        self.out = out
        self.filter = pcap_filter
        self.func = re.compile(func) if func else None
        self.drop_reason = drop_reason
        self.output_json = output_json
        self.output_skb = output_skb
        self.tracked: dict[int, _Skb] = {}
        self.header_done = False

    def feed(self, events: Iterable) -> None:
        for ev in events:
            self.event(ev)

    def event(self, ev) -> None:
        if not ev.skb:
            return
        skb = self.tracked.get(ev.skb)
        frame = ev.fields.get("frame")
        if skb is None:
            if ev.is_checkpoint and frame:
                data, layer = bytes.fromhex(frame), ev.fields.get("frame_layer", "l2")
                if self.filter is None or self.filter.matches(data, layer):
                    skb = self.tracked[ev.skb] = _Skb()
            elif self.filter is None and ev.is_checkpoint:
                skb = self.tracked[ev.skb] = _Skb()
            if skb is None:
                return
        if frame:
            skb.proto, skb.tuple = describe(bytes.fromhex(frame), ev.fields.get("frame_layer", "l2"))
        skb.iface = ev.fields.get("dev") or ev.fields.get("name") or skb.iface
        ends = ev.name in ("skb:kfree_skb", "skb:consume_skb")
        if self.func is None or self.func.search(function_of(ev)) or ends:
            skb.lines.append(self._format(ev, skb))
        if self.drop_reason is None:
            for line in skb.lines:
                self._print(line)
            skb.lines.clear()
        if ends:
            if self.drop_reason is not None and ev.name == "skb:kfree_skb" and \
                    ev.fields.get("reason") == self.drop_reason:
                for line in skb.lines:
                    self._print(line)
            del self.tracked[ev.skb]

    def _format(self, ev, skb: _Skb):
        reason = ev.fields.get("reason", "") if ev.name == "skb:kfree_skb" else ""
        length = ev.fields.get("len", "")
        if self.output_json:
            rec = {"time_ns": ev.time_ns, "skb": ev.skb, "iface": skb.iface, "proto": skb.proto, "len": length,
                   "tuple": skb.tuple, "func": function_of(ev)}
            if reason:
                rec["drop_reason"] = reason
            if self.output_skb:
                rec["skb_fields"] = {k: ev.fields[k] for k in self.SKB_FIELDS if k in ev.fields}
            return json.dumps(rec)
        line = (f"{ev.time_ns / 1e9:>12.6f} {ev.skb:>5} {skb.iface or '-':<8} {skb.proto or '-':<5} "
                f"{length or '-':>5} {skb.tuple or '-':<44} {function_of(ev)}")
        if reason:
            line += f" {reason}"
        if self.output_skb and any(k in ev.fields for k in self.SKB_FIELDS):
            line += "\n" + " " * 14 + " ".join(f"{k}={ev.fields[k]}" for k in self.SKB_FIELDS if k in ev.fields)
        return line

    def header(self) -> None:
        """The column titles (once; none in JSON)."""
        if not self.header_done and not self.output_json:
            self.out(f"{'TIME':>12} {'SKB':>5} {'IFACE':<8} {'PROTO':<5} {'LEN':>5} {'TUPLE':<44} FUNC")
        self.header_done = True

    def _print(self, line: str) -> None:
        self.header()
        self.out(line)
