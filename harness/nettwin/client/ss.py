"""The `ss -tuwn0 -io` view of the DUT's sockets (Sockets.ListSockets): list_sockets() returns one
dict per socket with its tcp_info decoded, format_ss() prints them in ss's own layout.
(Goes to client/ss.py when the harness is split into rooms.)"""
from __future__ import annotations

from . import tcp_info as tcp_info_mod

NETIDS = ("tcp", "udp", "raw", "packet")


def list_sockets(stack, netids=()) -> list[dict]:
    """Every socket of the stack (or those of the given kinds: tcp, udp, raw, packet)."""
    sockets = stack.sockets
    reply = stack._call("Sockets.ListSockets", sockets.stub.ListSockets,
                        stack.pb.ListSocketsRequest(netids=list(netids)))
    rows = []
    for s in reply.sockets:
        row = {"fd": s.fd, "netid": s.netid, "state": s.state, "sk_state": s.sk_state,
               "recv_q": s.recv_q, "send_q": s.send_q, "local": s.local, "peer": s.peer,
               "timer": s.timer, "cc": s.cc, "tcp_info": None}
        if s.tcp_info:
            row["tcp_info"] = tcp_info_mod.decode(s.tcp_info)
        rows.append(row)
    return rows


def _rate(bps: float) -> str:
    """Bits per second as this machine's ss prints them (no unit prefix)."""
    return f"{bps:.0f}bps"


def tcp_info_line(info: dict, cc: str) -> str:
    """The second line ss -i prints for a TCP socket, in ss's order (tcp_show_info)."""
    if info["state"] == 10:  # a listener's tcp_info holds only cwnd and the aliased queue fields
        words = ([cc] if cc else []) + ([f"cwnd:{info['snd_cwnd']}"] if info["snd_cwnd"] else [])
        return "\t " + " ".join(words) if words else ""
    opts = tcp_info_mod
    out = []
    if info["options"] & opts.TCPI_OPT_TIMESTAMPS:
        out.append("ts")
    if info["options"] & opts.TCPI_OPT_SACK:
        out.append("sack")
    if info["options"] & opts.TCPI_OPT_ECN:
        out.append("ecn")
    if info["options"] & opts.TCPI_OPT_ECN_SEEN:
        out.append("ecnseen")
    if cc:
        out.append(cc)
    if info["options"] & opts.TCPI_OPT_WSCALE:
        out.append(f"wscale:{info['snd_wscale']},{info['rcv_wscale']}")
    if info["rto"] and info["rto"] != 3000000:
        out.append(f"rto:{info['rto'] / 1000:g}")
    if info["backoff"]:
        out.append(f"backoff:{info['backoff']}")
    if info["rtt"]:
        out.append(f"rtt:{info['rtt'] / 1000:g}/{info['rttvar'] / 1000:g}")
    if info["ato"]:
        out.append(f"ato:{info['ato'] / 1000:g}")
    if info["snd_mss"]:
        out.append(f"mss:{info['snd_mss']}")
    if info["pmtu"]:
        out.append(f"pmtu:{info['pmtu']}")
    if info["rcv_mss"]:
        out.append(f"rcvmss:{info['rcv_mss']}")
    if info["advmss"]:
        out.append(f"advmss:{info['advmss']}")
    if info["snd_cwnd"]:
        out.append(f"cwnd:{info['snd_cwnd']}")
    if info["snd_ssthresh"] < 0xFFFF:
        out.append(f"ssthresh:{info['snd_ssthresh']}")
    for key, label in (("bytes_sent", "bytes_sent"), ("bytes_retrans", "bytes_retrans"),
                       ("bytes_acked", "bytes_acked"), ("bytes_received", "bytes_received"),
                       ("segs_out", "segs_out"), ("segs_in", "segs_in"),
                       ("data_segs_out", "data_segs_out"), ("data_segs_in", "data_segs_in")):
        if info[key]:
            out.append(f"{label}:{info[key]}")
    if info["rtt"] and info["snd_mss"] and info["snd_cwnd"]:
        out.append("send " + _rate(info["snd_mss"] * info["snd_cwnd"] * 8e6 / info["rtt"]))
    for key, label in (("last_data_sent", "lastsnd"), ("last_data_recv", "lastrcv"),
                       ("last_ack_recv", "lastack")):
        if info[key]:
            out.append(f"{label}:{info[key]}")
    if info["pacing_rate"] and info["pacing_rate"] != 2**64 - 1:
        out.append("pacing_rate " + _rate(info["pacing_rate"] * 8))
    if info["delivery_rate"]:
        out.append("delivery_rate " + _rate(info["delivery_rate"] * 8))
    if info["delivered"]:
        out.append(f"delivered:{info['delivered']}")
    if info["delivery_rate_app_limited"]:
        out.append("app_limited")
    if info["busy_time"]:
        out.append(f"busy:{info['busy_time'] // 1000}ms")
    if info["unacked"]:
        out.append(f"unacked:{info['unacked']}")
    if info["retrans"] or info["total_retrans"]:
        out.append(f"retrans:{info['retrans']}/{info['total_retrans']}")
    if info["lost"]:
        out.append(f"lost:{info['lost']}")
    if info["sacked"]:
        out.append(f"sacked:{info['sacked']}")
    if info["reordering"] != 3:
        out.append(f"reordering:{info['reordering']}")
    if info["rcv_rtt"]:
        out.append(f"rcv_rtt:{info['rcv_rtt'] / 1000:g}")
    if info["rcv_space"]:
        out.append(f"rcv_space:{info['rcv_space']}")
    if info["rcv_ssthresh"]:
        out.append(f"rcv_ssthresh:{info['rcv_ssthresh']}")
    if info["notsent_bytes"]:
        out.append(f"notsent:{info['notsent_bytes']}")
    if info["min_rtt"] and info["min_rtt"] != 0xFFFFFFFF:
        out.append(f"minrtt:{info['min_rtt'] / 1000:g}")
    if info["snd_wnd"]:
        out.append(f"snd_wnd:{info['snd_wnd']}")  # this machine's ss (iproute2 6.x) stops here
    return "\t " + " ".join(out)


def format_ss(rows: list[dict], info: bool = True, timers: bool = True) -> str:
    """ss's table: Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port, then with -o the
    timer and with -i the TCP line."""
    header = ("Netid", "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port")
    table = [header] + [(r["netid"], r["state"], str(r["recv_q"]), str(r["send_q"]), r["local"], r["peer"])
                        for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = []
    for n, line in enumerate(table):
        cells = [c.ljust(w) if i in (0, 1, 4, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths))]
        text = " ".join(cells).rstrip()
        if n and timers and rows[n - 1]["timer"]:
            text += " " + rows[n - 1]["timer"]
        lines.append(text)
        if n and info and rows[n - 1]["tcp_info"] is not None:
            extra = tcp_info_line(rows[n - 1]["tcp_info"], rows[n - 1]["cc"])
            if extra:
                lines.append(extra)
    return "\n".join(lines) + "\n"
