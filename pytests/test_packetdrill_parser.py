"""The packetdrill language as upstream's lexer.l and parser.y define it: what each
construct parses to, and the errors (file:line:col, upstream's words) for bad input."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "harness"))

from nettwin.packetdrill import script as S  # noqa: E402
from nettwin.packetdrill.config import Config, apply_option  # noqa: E402
from nettwin.packetdrill.lexer import tokens  # noqa: E402
from nettwin.packetdrill.parser import ScriptError, parse  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "traces" / "packetdrill"


def kinds(text, defines=None):
    return [(t.kind, t.value) for t in tokens(text, "t.pkt", defines)][:-1]


def one(line: str, **kw) -> S.Event:
    return parse(line, "t.pkt", **kw).events[0]


# ------------------------------------------------------------------ the lexer

def test_lexer_takes_the_longest_match_and_keywords_on_ties():
    assert kinds("+0...0.2") == [("+", "+"), ("INTEGER", 0), ("ELLIPSIS", "..."), ("FLOAT", 0.2)]
    assert kinds("ack ackx 1.2.3.4 .5 0x1f -1") == [
        ("ACK", "ack"), ("WORD", "ackx"), ("IPV4_ADDR", "1.2.3.4"), ("FLOAT", 0.5), ("HEX_INTEGER", 31),
        ("INTEGER", -1)]
    assert kinds("S. 1:1001(1000)") == [("WORD", "S"), (".", "."), ("INTEGER", 1), (":", ":"), ("INTEGER", 1001),
                                        ("(", "("), ("INTEGER", 1000), (")", ")")]
    assert kinds("fd::1") == [("IPV6_ADDR", "fd::1")]


def test_lexer_skips_comments_and_keeps_code_and_commands():
    assert kinds("// c\n/* multi\nline */ `sysctl -q x=1` %{ assert tcpi_state == 1 }%") == [
        ("BACK_QUOTED", "sysctl -q x=1"), ("CODE", "assert tcpi_state == 1")]


def test_defines_become_their_values():
    d = {"PORT": "8080", "HEX": "0x10", "CC": '"reno"', "CMD": "`true`", "NAME": "SO_LINGER"}
    assert kinds("PORT HEX CC CMD NAME", d) == [("INTEGER", 8080), ("INTEGER", 16), ("STRING", "reno"),
                                                ("BACK_QUOTED", "true"), ("WORD", "SO_LINGER")]


# ------------------------------------------------------------------ times

def test_absolute_relative_any_and_ranges():
    scr = parse("0 close(3) = 0\n+0.1 close(3) = 0\n0.300 close(3) = 0\n"
                "+.1~+.2 > . 1:1(0) ack 1\n0.4~0.5 > . 1:1(0) ack 1\n* > . 1:1(0) ack 1\n", "t.pkt")
    got = [(e.line, e.time_type, e.time_us, e.time_end_us) for e in scr.events]
    assert got == [(1, S.ABSOLUTE, 0, -1), (2, S.RELATIVE, 100000, -1), (3, S.ABSOLUTE, 300000, -1),
                   (4, S.RELATIVE_RANGE, 100000, 200000), (5, S.ABSOLUTE_RANGE, 400000, 500000),
                   (6, S.ANY, 0, -1)]


def test_blocking_call_has_its_end_time():
    ev = one("+0...0.2 accept(3, ..., ...) = 4")
    assert ev.time_type == S.RELATIVE and ev.blocking
    assert ev.action == S.Syscall("accept", (S.Int(3), S.Ellipsis_(), S.Ellipsis_()), S.Int(4), end_us=200000)


# ------------------------------------------------------------------ packets

def test_tcp_packet_with_every_option():
    ev = one("0 < S. 0:0(0) ack 1 win 32792 urg 0 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7,"
             "sack 1:2,eol,FO abcd>")
    p = ev.action
    assert (p.direction, p.flags, p.seq, p.end_seq, p.length, p.ack, p.win) == ("<", "S.", 0, 0, 0, 1, 32792)
    assert [o.kind for o in p.options] == ["mss", "sackOK", "TS", "nop", "wscale", "sack", "eol", "FO"]
    assert p.options[2].value == (100, 0) and p.options[5].value == ((1, 2),)
    assert p.options[7].value == ("abcd",)


def test_outbound_packet_wildcards_and_ip_fields():
    p = one("0 > [ect0] P. 1:1001(1000) ack 1 <...>").action
    assert p.options is None and p.win is None and p.ip == S.IpInfo("ecn", 2)
    p = one("0 > (tos 0x10) 8080>40001 F. 1:1(0) ack 1").action
    assert p.ip == S.IpInfo("tos", 0x10) and p.ports == (8080, 40001)
    assert one("0 > (ttl 64) - 1:1(0)").action.flags == ""


def test_udp_and_icmp_lines():
    assert one("0 < udp (100)").action == S.UdpPacket("<", 100)
    p = one("0 > icmp unreachable port_unreachable [udp (10)]").action
    assert (p.type, p.code, p.echoed) == ("unreachable", "port_unreachable", ("udp", 0, 10))
    p = one("0 < icmp unreachable frag_needed mtu 1200 [1:1461(1460)]").action
    assert (p.mtu, p.echoed) == (1200, ("tcp", 1, 1460))


# ------------------------------------------------------------------ system calls

def test_syscall_with_errno_and_note():
    c = one("0 connect(3, ..., ...) = -1 EINPROGRESS (Operation now in progress)").action
    assert (c.result, c.errno, c.note) == (S.Int(-1), "EINPROGRESS", "Operation now in progress")
    c = one("0 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0").action
    assert c.args[2] == S.Binary("|", S.Word("O_RDWR"), S.Word("O_NONBLOCK"))


def test_struct_arguments():
    c = one('0 bind(3, {sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("198.51.100.2")}, 16) = 0')
    assert c.action.args[1] == S.Sockaddr("AF_INET", 8080, "198.51.100.2")
    c = one("0 setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=0}, 8) = 0").action
    assert c.args[3] == S.Linger(1, 0)
    c = one("0 poll([{fd=3, events=POLLIN|POLLOUT, revents=POLLOUT}], 1, 0) = 1").action
    assert c.args[0] == S.List((S.Pollfd(S.Int(3), S.Binary("|", S.Word("POLLIN"), S.Word("POLLOUT")),
                                         S.Word("POLLOUT")),))
    c = one("0 sendmsg(3, {msg_name(...)=..., msg_iov(1)=[{..., 100}], msg_flags=0}, 0) = 100").action
    assert c.args[1] == S.Msghdr(S.List((S.Iovec(100),)), 1, S.Int(0))
    c = one('0 setsockopt(3, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) = 0').action
    assert c.args[3] == S.String("reno")


def test_options_commands_and_code_blocks():
    seen = []
    scr = parse("--tolerance_usecs=10000\n--define=PORT=9000\n`sysctl -q net.ipv4.tcp_sack=0`\n"
                "0 bind(3, ..., PORT) = 0\n+0 `sysctl -w net.ipv4.tcp_timestamps=0`\n"
                "+0 %{ assert tcpi_snd_cwnd == 10 }%\n`echo cleanup`\n", "t.pkt",
                on_option=lambda n, v: seen.append((n, v)))
    assert seen == [("tolerance_usecs", "10000"), ("define", "PORT=9000")]
    assert scr.init_command == "sysctl -q net.ipv4.tcp_sack=0"
    assert scr.events[0].action.args[2] == S.Int(9000)           # the script's own -D applies after it
    assert scr.events[1].action == S.Command("sysctl -w net.ipv4.tcp_timestamps=0")
    assert scr.events[2].action == S.Code("assert tcpi_snd_cwnd == 10")
    assert scr.cleanup_command == "echo cleanup"


def test_command_line_options_keep_the_project_addresses():
    cfg = Config()
    assert (cfg.local_ip, cfg.remote_ip) == ("198.51.100.2", "198.51.100.1")
    apply_option(cfg, "remote_ip", "203.0.113.1")
    apply_option(cfg, "gateway_ip", "198.51.100.1")
    assert cfg.next_hop() == "198.51.100.1"
    with pytest.raises(ValueError, match="192.0.2.0/24"):
        apply_option(cfg, "remote_ip", "192.0.2.1")
    with pytest.raises(ValueError, match="only ipv4"):
        apply_option(cfg, "ip_version", "ipv6")


# ------------------------------------------------------------------ errors

@pytest.mark.parametrize("text, message", [
    ("0 < S 0:0(0) <mss 1000>", "t.pkt:1:3: semantic error: window must be specified for inbound packets"),
    ("0 > S 0:5(0) win 1", "t.pkt:1:7: semantic error: inconsistent TCP sequence numbers and payload size"),
    ("0 < S 0:0(0) win 1 <mss 1,sack 1:2 3:4 5:6 7:8 9:10>", "t.pkt:1:20: semantic error: TCP option list too long"),
    ("0 < S 0:0(0) win 1 <...>",
     "t.pkt:1:20: semantic error: <...> for TCP options can only be used with outbound packets"),
    ("0 close(3) = 0\n+0 < S 0:0(0) win 1 <mss 70000>", "t.pkt:2:26: semantic error: mss value out of range"),
    ("0.2~0.1 > S 0:0(0)", "t.pkt:1:1: semantic error: time range is backwards"),
    ("0~1 close(3) = 0", "t.pkt:1:1: semantic error: event time range can only be used with outbound packets"),
    ("* close(3) = 0", "t.pkt:1:1: semantic error: event time <star> can only be used with outbound packets"),
    ("0 > Q 0:0(0)", "t.pkt:1:5: semantic error: Invalid TCP flag: 'Q'"),
    ("0 < S 0:0(0) win 1 ak 1", "t.pkt:1:20: parse error at 'ak': expected an event time (0.100, +0.1, *, or a range)"),
    ("0 < S 0:0 win 1", "t.pkt:1:11: parse error at 'win': expected '(' and the payload length"),
    ("0 connect(3, ..., ...) = -1 EINPROGRESS",
     "t.pkt:1:40: parse error at 'EOF': expected '(' and the error's description after EINPROGRESS"),
    ("1 close(3) = 0\n0.5 close(3) = 0",
     "t.pkt:2:1: semantic error: time goes backward in script from 1000000 usec to 500000 usec"),
    ("0 close(3) = 0 $", "t.pkt:1:16: parse error at '$': expected an event time (0.100, +0.1, *, or a range)"),
    ("0 < ipv4 1.1.1.1 > 2.2.2.2: S 0:0(0) win 1",
     "t.pkt:1:5: parse error at 'ipv4': encapsulation (ipv4/ipv6/gre/mpls prefixes) is not supported"),
    ('0 bind(3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("1.2.3")}, 16) = 0',
     "t.pkt:1:69: semantic error: invalid IPv4 address"),
])
def test_bad_scripts_name_the_line_and_column(text, message):
    with pytest.raises(ScriptError) as e:
        parse(text, "t.pkt")
    assert str(e.value) == message


def test_the_corpus_parses():
    scripts = sorted(CORPUS.glob("*.pkt"))
    assert len(scripts) >= 8
    for path in scripts:
        scr = parse(path.read_text(), str(path))
        assert scr.events[0].time_us == 0, path


# ------------------------------------------------------------------ shell lines

def test_shell_lines_become_settings(tmp_path):
    from nettwin.packetdrill.commands import CommandError, Sysctl, TcQdisc, commands
    common = tmp_path / "common"
    common.mkdir()
    (tmp_path / "tcp").mkdir()
    (common / "defaults.sh").write_text(
        "#!/bin/bash\n# comment\nip tcp_metrics flush all > /dev/null 2>&1\n"
        'sysctl -q net.ipv4.tcp_rmem="4096 540000 $((15*1024*1024))"\n'
        "sysctl -q net.ipv4.tcp_sack=1 net.ipv4.tcp_dsack=1\ntc qdisc add dev tun0 root pfifo\n")
    base = tmp_path / "tcp"     # upstream's trees name the file from a folder above the script's
    assert commands("../common/defaults.sh\n../common/set_sysctls.py /proc/sys/net/ipv4/tcp_mtu_probing=2",
                    base) == [
        Sysctl("net.ipv4.tcp_rmem", "4096 540000 15728640"), Sysctl("net.ipv4.tcp_sack", "1"),
        Sysctl("net.ipv4.tcp_dsack", "1"), TcQdisc("add", "pfifo", None, ["add", "dev", "tun0", "root", "pfifo"]),
        Sysctl("net.ipv4.tcp_mtu_probing", "2")]
    assert commands("sysctl -w net.ipv4.tcp_timestamps=0; /tmp/sysctl_restore_${PPID}.sh", base) == [
        Sysctl("net.ipv4.tcp_timestamps", "0")]
    with pytest.raises(CommandError, match="'nstat -n' is not supported"):
        commands("nstat -n", base)
    with pytest.raises(CommandError, match="only net.\\* sysctls may be set, not kernel.panic"):
        commands("sysctl -w kernel.panic=1", base)
    with pytest.raises(CommandError, match="no such settings file"):
        commands("../nowhere/defaults.sh", base)


def test_shell_lines_take_comments_continuations_and_redirections(tmp_path):
    """Upstream's shell lines as the shell reads them: `# why` ends the words, a backslash
    joins the next line, and where the output goes (2>/dev/null, > FILE, 2>&1) is no setting."""
    from nettwin.packetdrill.commands import Sysctl, TcQdisc, commands
    assert commands("sysctl -q net.ipv4.tcp_ecn=1  # fully enabled", tmp_path) == [Sysctl("net.ipv4.tcp_ecn", "1")]
    assert commands("../common/set_sysctls.py \\\n\t/proc/sys/net/ipv4/tcp_mtu_probing=2 \\\n"
                    "\t/proc/sys/net/ipv4/tcp_base_mss=512\n", tmp_path) == [
        Sysctl("net.ipv4.tcp_mtu_probing", "2"), Sysctl("net.ipv4.tcp_base_mss", "512")]
    assert commands("tc qdisc delete dev tun0 root 2>/dev/null ; tc qdisc add dev tun0 root pfifo >/dev/null",
                    tmp_path) == [TcQdisc("del", "", None, ["delete", "dev", "tun0", "root"]),
                                  TcQdisc("add", "pfifo", None, ["add", "dev", "tun0", "root", "pfifo"])]
    assert commands("sysctl -q net.ipv4.tcp_notsent_lowat=4294967295 > /dev/null 2>&1", tmp_path) == [
        Sysctl("net.ipv4.tcp_notsent_lowat", "4294967295")]


def test_ip_route_lines_become_routes_with_metrics(tmp_path):
    from nettwin.packetdrill.commands import CommandError, commands
    env = {"remote_ip": "198.51.100.1", "gateway_ip": "198.51.100.254"}
    [a] = commands("ip route change $remote_ip via $gateway_ip dev tun0 initcwnd 20 initrwnd 30 "
                   "rto_min 1s quickack 1 congctl lock reno features ecn mtu lock 1400 advmss 1200 window 9000",
                   tmp_path, env)
    assert a.op == "change"
    assert a.route == {"dst": "198.51.100.1", "gateway": "198.51.100.254", "initcwnd": 20, "initrwnd": 30,
                       "rto_min_ms": 1000, "quickack": True, "congctl_lock": True, "congctl": "reno", "ecn": True,
                       "mtu_lock": True, "mtu": 1400, "advmss": 1200, "window": 9000}
    assert a.words[:3] == ["change", "198.51.100.1", "via"]
    [a] = commands("ip route replace to 203.0.113.0/24 dev tun0 metric 5 table 100 rto_min 200000us", tmp_path)
    assert (a.op, a.route) == ("replace", {"dst": "203.0.113.0/24", "metric": 5, "table": 100, "rto_min_ms": 200})
    assert commands("ip route show; ip route del default", tmp_path)[0].op == "del"
    for line, why in [("ip route add 203.0.113.1/24 dev tun0", "is not an IPv4 prefix"),
                      ("ip route add $remote_ip dev eth0", "the only device is tun0"),
                      ("ip route add $remote_ip dev tun0 initcwnd lock 10", "initcwnd lock is not supported"),
                      ("ip route add $remote_ip dev tun0 rto_min fast", "is not a time"),
                      ("ip route add $remote_ip dev tun0 quickack 2", "quickack is 0 or 1"),
                      ("ip route add $remote_ip dev tun0 features tfo", "the only route feature is ecn"),
                      ("ip route add $remote_ip dev tun0 hoplimit 3", "'hoplimit' is not supported"),
                      ("ip route flush cache", "ip route flush is not supported"),
                      ("ip route add dev tun0", "needs a destination")]:
        with pytest.raises(CommandError, match=why):
            commands(line, tmp_path, env)


def test_ethtool_turns_off_only_what_both_devices_have_off(tmp_path):
    """`ethtool -K tun0 tso off gso off` (upstream's scripts that want MSS-sized frames)
    is what both targets' devices already are: no action. Turning an offload on, or a
    feature neither models, is refused rather than silently lost."""
    from nettwin.packetdrill.commands import CommandError, commands
    assert commands("ethtool -K tun0 tso off gso off\nethtool --offload tun0 gro off", tmp_path) == []
    for line, why in [("ethtool -K tun0 tso on", "'tso on' is not supported"),
                      ("ethtool -K tun0 rx off", "'rx off' is not supported"),
                      ("ethtool -K eth0 tso off", "expected ethtool -K tun0"),
                      ("ethtool -K tun0 tso", "expected ethtool -K tun0"),
                      ("ethtool -C tun0 rx-usecs 0", "not supported")]:
        with pytest.raises(CommandError, match=why):
            commands(line, tmp_path)


def test_mss_and_send_omit_free_options():
    """--mss (upstream's gso_size for inbound TCP) is kept; --send_omit_free (upstream's
    own buffers) changes nothing here."""
    cfg = Config()
    apply_option(cfg, "send_omit_free", None)
    apply_option(cfg, "mss", "1000")
    assert cfg.mss == 1000
    with pytest.raises(ValueError, match="not positive"):
        apply_option(cfg, "mss", "0")


def test_tc_qdisc_lines_take_fifos_only(tmp_path):
    from nettwin.packetdrill.commands import CommandError, commands
    [a] = commands("tc qdisc replace dev tun0 root pfifo limit 10", tmp_path)
    assert (a.op, a.kind, a.limit) == ("replace", "pfifo", 10)
    [a] = commands("tc qdisc add dev tun0 root pfifo limit 0", tmp_path)    # Linux: drops every packet
    assert a.limit == 0
    assert commands("tc qdisc del dev tun0 root; tc qdisc show dev tun0", tmp_path)[0].kind == ""
    for line, why in [("tc qdisc add dev tun0 root fq", "qdisc 'fq' is not modelled by the stack"),
                      ("tc qdisc add dev tun0 root netem delay 10ms", "qdisc 'netem' is not modelled"),
                      ("tc qdisc add dev tun0 parent 1:1 pfifo", "only the root qdisc of dev tun0"),
                      ("tc qdisc add dev tun0 root pfifo_fast limit 3", "parameters 'limit 3' are not supported"),
                      ("tc qdisc add dev tun0 root", "needs a qdisc")]:
        with pytest.raises(CommandError, match=why):
            commands(line, tmp_path)