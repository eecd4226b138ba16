"""Linux 6.18's struct tcp_info (include/uapi/linux/tcp.h) as getsockopt(TCP_INFO) returns it on
x86-64: decode() turns the bytes into a dict named after the uapi fields without their tcpi_ prefix,
compare_tcp_info() lists how a twin's tcp_info differs from Linux's for a conformance run.

Linux copies min(optlen, sizeof(struct tcp_info)) bytes (280 on 6.18), so a short buffer decodes to the
fields it holds whole; a field cut by the end is left out."""
from __future__ import annotations

import struct

# (name, struct format) in the uapi order. "bits:<byte>" marks a byte of bitfields, split below.
_FIELDS: tuple[tuple[str, str], ...] = (
    ("state", "B"), ("ca_state", "B"), ("retransmits", "B"), ("probes", "B"), ("backoff", "B"),
    ("options", "B"), ("wscale_bits", "B"), ("flag_bits", "B"),
    ("rto", "I"), ("ato", "I"), ("snd_mss", "I"), ("rcv_mss", "I"),
    ("unacked", "I"), ("sacked", "I"), ("lost", "I"), ("retrans", "I"), ("fackets", "I"),
    ("last_data_sent", "I"), ("last_ack_sent", "I"), ("last_data_recv", "I"), ("last_ack_recv", "I"),
    ("pmtu", "I"), ("rcv_ssthresh", "I"), ("rtt", "I"), ("rttvar", "I"), ("snd_ssthresh", "I"),
    ("snd_cwnd", "I"), ("advmss", "I"), ("reordering", "I"),
    ("rcv_rtt", "I"), ("rcv_space", "I"),
    ("total_retrans", "I"),
    ("pacing_rate", "Q"), ("max_pacing_rate", "Q"), ("bytes_acked", "Q"), ("bytes_received", "Q"),
    ("segs_out", "I"), ("segs_in", "I"),
    ("notsent_bytes", "I"), ("min_rtt", "I"), ("data_segs_in", "I"), ("data_segs_out", "I"),
    ("delivery_rate", "Q"),
    ("busy_time", "Q"), ("rwnd_limited", "Q"), ("sndbuf_limited", "Q"),
    ("delivered", "I"), ("delivered_ce", "I"),
    ("bytes_sent", "Q"), ("bytes_retrans", "Q"), ("dsack_dups", "I"), ("reord_seen", "I"),
    ("rcv_ooopack", "I"),
    ("snd_wnd", "I"), ("rcv_wnd", "I"),
    ("rehash", "I"),
    ("total_rto", "H"), ("total_rto_recoveries", "H"), ("total_rto_time", "I"),
    ("received_ce", "I"), ("delivered_e1_bytes", "I"), ("delivered_e0_bytes", "I"),
    ("delivered_ce_bytes", "I"), ("received_e1_bytes", "I"), ("received_e0_bytes", "I"),
    ("received_ce_bytes", "I"),
    ("accecn_fail_mode", "H"), ("accecn_opt_seen", "H"),
)


def _layout() -> tuple[tuple[str, str, int], ...]:
    """Each field with its natural-alignment offset, as the x86-64 ABI lays the struct out."""
    out, offset = [], 0
    for name, fmt in _FIELDS:
        size = struct.calcsize(fmt)
        offset = (offset + size - 1) // size * size
        out.append((name, fmt, offset))
        offset += size
    return tuple(out)


LAYOUT = _layout()
SIZE = 280  # sizeof(struct tcp_info) on Linux 6.18 x86-64 (what getsockopt returns for optlen 512)
assert LAYOUT[-1][2] + struct.calcsize(LAYOUT[-1][1]) == SIZE

# tcpi_options bits (include/uapi/linux/tcp.h)
TCPI_OPT_TIMESTAMPS = 1
TCPI_OPT_SACK = 2
TCPI_OPT_WSCALE = 4
TCPI_OPT_ECN = 8
TCPI_OPT_ECN_SEEN = 16
TCPI_OPT_SYN_DATA = 32
TCPI_OPT_USEC_TS = 64
TCPI_OPT_TFO_CHILD = 128

# The "infinite" slow-start threshold: TCP_INFINITE_SSTHRESH.
TCP_INFINITE_SSTHRESH = 0x7FFFFFFF


def decode(data: bytes) -> dict:
    """The fields of a tcp_info buffer (whole fields only), bitfields split out by name."""
    data = bytes(data)
    info: dict = {}
    for name, fmt, offset in LAYOUT:
        size = struct.calcsize(fmt)
        if offset + size > len(data):
            break
        (value,) = struct.unpack_from("<" + fmt, data, offset)
        if name == "wscale_bits":  # __u8 tcpi_snd_wscale : 4, tcpi_rcv_wscale : 4 (low bits first)
            info["snd_wscale"] = value & 0xF
            info["rcv_wscale"] = value >> 4
        elif name == "flag_bits":  # tcpi_delivery_rate_app_limited:1, tcpi_fastopen_client_fail:2
            info["delivery_rate_app_limited"] = value & 1
            info["fastopen_client_fail"] = (value >> 1) & 3
        else:
            info[name] = value
    return info


# Compared exactly: counters, states and sizes the stack decides without reading a clock.
EXACT_FIELDS = (
    "state", "ca_state", "retransmits", "probes", "backoff", "options", "snd_wscale", "rcv_wscale",
    "delivery_rate_app_limited", "fastopen_client_fail",
    "snd_mss", "rcv_mss", "unacked", "sacked", "lost", "retrans", "fackets", "last_ack_sent",
    "pmtu", "rcv_ssthresh", "snd_ssthresh", "snd_cwnd", "advmss", "reordering", "rcv_space",
    "total_retrans", "max_pacing_rate", "bytes_acked", "bytes_received", "segs_out", "segs_in",
    "notsent_bytes", "data_segs_in", "data_segs_out", "delivered", "delivered_ce",
    "bytes_sent", "bytes_retrans", "dsack_dups", "reord_seen", "rcv_ooopack", "snd_wnd", "rcv_wnd",
    "rehash", "total_rto", "total_rto_recoveries",
    "received_ce", "delivered_e1_bytes", "delivered_e0_bytes", "delivered_ce_bytes",
    "received_e1_bytes", "received_e0_bytes", "received_ce_bytes", "accecn_fail_mode", "accecn_opt_seen",
)

JIFFY_US = 4000  # one jiffy at this kernel's HZ 250, in microseconds
JIFFY_MS = 4


def _wheel_granularity_jiffies(timeout_jiffies: int) -> int:
    """The bucket width calc_wheel_index gives a timer this far out: 64 buckets a level, each
    level 8 times coarser (1, 8, 64, 512... jiffies)."""
    width, level_end = 1, 63
    while timeout_jiffies > level_end and width < 8 ** 8:
        width *= 8
        level_end = level_end * 8 + 7
    return width


def _rto_tolerance(linux_us: int, _twin_us: int) -> float:
    # rto and ato are jiffies turned into usec (jiffies_to_usecs), so both sides are whole
    # jiffies; the srtt they derive from holds samples whose ends may be timer-driven frames
    # (delayed ACKs, retransmits) that the wheel fires up to one bucket late. One jiffy of rounding
    # plus one bucket of the wheel at this timeout's level.
    jiffies = linux_us // JIFFY_US
    return JIFFY_US * (1 + _wheel_granularity_jiffies(jiffies))


def _rtt_tolerance(linux_us: int, _twin_us: int) -> float:
    # rtt, rttvar, min_rtt, rcv_rtt: microsecond clock samples (tcp_clock_us). The kernel's include
    # real scheduling and veth delays the twin, replaying the peer at the recorded offsets, does not
    # have; those are noise of a few hundred usec to a jiffy on a loaded machine. One jiffy, or a
    # quarter of the value for RTTs long enough that such noise scales with them.
    return max(JIFFY_US, linux_us / 4)


def _ms_stamp_tolerance(_linux_ms: int, _twin_ms: int) -> float:
    # last_data_sent/last_data_recv/last_ack_recv, total_rto_time: jiffies_to_msecs(now - stamp),
    # both ends of the interval rounded to a jiffy (4 ms at HZ 250): two jiffies.
    return 2 * JIFFY_MS


def _chrono_tolerance(linux_us: int, _twin_us: int) -> float:
    # busy_time, rwnd_limited, sndbuf_limited: tcp_chrono in jiffies, reported * USEC_PER_SEC/HZ;
    # each start and stop of a chrono period rounds to a jiffy (two jiffies), and a period often ends
    # with an ACK to a retransmission or probe whose timer derives from the measured RTT: the RTT's
    # noise (a quarter, as _rtt_tolerance) on top (tcp_ecn_syn_retransmit: busy 212 ms on Linux, 248
    # in the replay, whose RTO fired later within the frames' timer tolerance).
    return 2 * JIFFY_US + linux_us / 4


CHRONO_FIELDS = ("busy_time", "rwnd_limited", "sndbuf_limited")


def compare_chronos(linux: dict, twin: dict) -> list[str]:
    """How the twin's chronos (tcp_get_info_chrono_stats) differ from Linux's beyond the jiffy rounding
    and timing noise of a recording: a chrono one side ran and the other never did is always caught
    once it lasted a few jiffies."""
    diffs = []
    for name in CHRONO_FIELDS:
        if name not in linux or name not in twin:
            continue
        want, got = linux[name], twin[name]
        allowed = _chrono_tolerance(want, got)
        if abs(want - got) > allowed:
            diffs.append(f"tcpi_{name}: linux {want} twin {got} (beyond the tolerance {allowed:g})")
    return diffs


def _rate_tolerance(linux_rate: int, _twin_rate: int) -> float:
    # delivery_rate and pacing_rate divide bytes by a microsecond interval or srtt, so they carry
    # the RTT noise above (a quarter) in relative terms.
    return linux_rate / 4


TOLERANT_FIELDS = {
    "rto": _rto_tolerance,
    "ato": _rto_tolerance,
    "rtt": _rtt_tolerance,
    "rttvar": _rtt_tolerance,
    "min_rtt": _rtt_tolerance,
    "rcv_rtt": _rtt_tolerance,
    "last_data_sent": _ms_stamp_tolerance,
    "last_data_recv": _ms_stamp_tolerance,
    "last_ack_recv": _ms_stamp_tolerance,
    "total_rto_time": _ms_stamp_tolerance,
    "busy_time": _chrono_tolerance,
    "rwnd_limited": _chrono_tolerance,
    "sndbuf_limited": _chrono_tolerance,
    "delivery_rate": _rate_tolerance,
    "pacing_rate": _rate_tolerance,
}

# Values that mean "none yet" (no RTT sample, no delayed ACK, no rate): one side having one and the
# other a measurement is a real difference, never within a tolerance. Time stamps and chrono times
# have no such value: 0 there is just a short interval.
_NONE = {
    "rto": {0}, "ato": {0}, "rtt": {0}, "rttvar": {0}, "rcv_rtt": {0}, "min_rtt": {0, 0xFFFFFFFF},
    "delivery_rate": {0}, "pacing_rate": {0, 0xFFFFFFFFFFFFFFFF},
}


def compare_tcp_info(linux: dict, twin: dict) -> list[str]:
    """The differences between Linux's tcp_info and the twin's, one line each; empty when they
    agree. A field one side has and the other lacks (a shorter buffer) is a difference too."""
    diffs: list[str] = []
    for name in (*EXACT_FIELDS, *TOLERANT_FIELDS):
        if name not in linux and name not in twin:
            continue
        if name not in linux or name not in twin:
            side = "linux" if name not in linux else "twin"
            diffs.append(f"tcpi_{name}: missing on {side}")
            continue
        want, got = linux[name], twin[name]
        if want == got:
            continue
        tolerance = TOLERANT_FIELDS.get(name)
        none = _NONE.get(name, set())
        if tolerance is None or want in none or got in none:
            diffs.append(f"tcpi_{name}: linux {want} twin {got}")
            continue
        allowed = tolerance(want, got)
        if abs(want - got) > allowed:
            diffs.append(f"tcpi_{name}: linux {want} twin {got} (beyond the tolerance {allowed:g})")
    return diffs
