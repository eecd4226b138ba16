"""A recursive-descent parser for packetdrill scripts, after upstream's parser.y
(its grammar, its semantic checks and their messages). Errors name the file,
line and column:

    script.pkt:7:14: parse error at 'ak': expected a TCP sequence (start:end(len))
    script.pkt:9:1: semantic error: inconsistent TCP sequence numbers and payload size
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Mapping, Optional

from . import script as S
from .lexer import LexError, Token, tokens

U16, U32 = 0xFFFF, 0xFFFFFFFF
# Option names that take no value (upstream's getopt table: has_arg false).
FLAG_OPTIONS = {"wire_client", "wire_server", "tcp_ts_ecr_scaled", "strict_segments", "dry_run", "is_anyip",
                "send_omit_free", "debug", "verbose"}


class ScriptError(ValueError):
    """A script that does not parse: str() is the message with file:line:col."""

    def __init__(self, path: str, line: int, col: int, kind: str, message: str, near: Optional[str] = None):
        self.path, self.line, self.col, self.message = path, line, col, message
        at = f" at '{near}'" if near is not None else ""
        super().__init__(f"{path}:{line}:{col}: {kind} error{at}: {message}")


class Parser:
    def __init__(self, text: str, path: str, defines: Optional[dict] = None,
                 on_option: Optional[Callable[[str, Optional[str]], None]] = None):
        self.path = path
        self.defines = dict(defines or {})
        self.on_option = on_option
        self._tokens = tokens(text, path, self.defines)
        self._buf: list[Token] = []

    # -------------------------------------------------------------- token stream

    def peek(self, k: int = 0) -> Token:
        while len(self._buf) <= k:
            try:
                self._buf.append(next(self._tokens))
            except LexError as e:
                raise _lex_error(e) from None
            except StopIteration:
                self._buf.append(self._buf[-1])
        return self._buf[k]

    def next(self) -> Token:
        tok = self.peek()
        self._buf.pop(0)
        return tok

    def at(self, *kinds: str) -> bool:
        return self.peek().kind in kinds

    def accept(self, kind: str) -> Optional[Token]:
        return self.next() if self.at(kind) else None

    def expect(self, kind: str, what: Optional[str] = None) -> Token:
        if not self.at(kind):
            self.fail(f"expected {what or repr(kind)}")
        return self.next()

    def fail(self, message: str, tok: Optional[Token] = None):
        tok = tok or self.peek()
        raise ScriptError(self.path, tok.line, tok.col, "parse", message, tok.text if tok.kind != "EOF" else "EOF")

    def semantic(self, message: str, tok: Token):
        raise ScriptError(self.path, tok.line, tok.col, "semantic", message)

    # -------------------------------------------------------------- script

    def script(self) -> S.Script:
        out = S.Script(self.path)
        while self.at("OPTION"):
            name_tok = self.next()
            name, value = name_tok.value, None
            if self.accept("="):
                value = self.option_value()
            if name == "define":
                self._define(value, name_tok)
            out.options.append((name, value))
            if self.on_option:
                try:
                    self.on_option(name, value)
                except ValueError as e:
                    self.semantic(str(e), name_tok)
        if self.at("BACK_QUOTED"):
            out.init_command = self.next().value
        while not self.at("EOF"):
            if self.at("BACK_QUOTED"):      # no time in front: the cleanup command, last in the script
                out.cleanup_command = self.next().value
                if not self.at("EOF"):
                    self.fail("expected the end of the script after the cleanup command")
                break
            out.events.append(self.event())
        if not out.events:
            self.fail("expected at least one event")
        self._check_times(out)
        return out

    def _define(self, value: Optional[str], tok: Token):
        if not value or "=" not in value or value.startswith("="):
            self.semantic(f"bad definition: {value}", tok)
        sym, val = value.split("=", 1)
        self.defines[sym] = val

    def option_value(self) -> str:
        tok = self.next()
        if tok.kind in ("INTEGER", "FLOAT", "IPV4_ADDR", "IPV6_ADDR"):
            return tok.text
        if tok.kind in ("IPV4", "IPV6"):
            return tok.text
        if tok.kind == "STRING":
            return tok.value
        if tok.kind == "WORD":
            if self.accept("="):
                rhs = self.next()
                if rhs.kind == "WORD" or rhs.kind == "INTEGER":
                    return f"{tok.text}={rhs.text}"
                if rhs.kind == "STRING":
                    return f'{tok.text}="{rhs.value}"'
                if rhs.kind == "BACK_QUOTED":
                    return f"{tok.text}=`{rhs.value}`"
                self.fail("expected a word, a string or a backquoted command after '='", rhs)
            return tok.value
        self.fail("expected an option value", tok)

    def _check_times(self, out: S.Script):
        last = None
        for ev in out.events:
            if ev.time_type in (S.ABSOLUTE, S.ABSOLUTE_RANGE):
                if last is not None and last.time_type in (S.ABSOLUTE, S.ABSOLUTE_RANGE) and \
                        ev.time_us < last.time_us:
                    raise ScriptError(self.path, ev.line, ev.col, "semantic",
                                      f"time goes backward in script from {last.time_us} usec to {ev.time_us} usec")
            last = ev

    # -------------------------------------------------------------- events

    def time(self) -> int:
        tok = self.next()
        if tok.kind not in ("FLOAT", "INTEGER"):
            self.fail("expected a time", tok)
        if tok.value < 0:
            self.semantic("negative time", tok)
        return int(tok.value * 1.0e6) if tok.kind == "FLOAT" else tok.value * 1_000_000

    def event(self) -> S.Event:
        start = self.peek()
        end_us = S.NO_TIME_RANGE
        if self.accept("*"):
            kind, t = S.ANY, 0
        elif self.accept("+"):
            t = self.time()
            kind = S.RELATIVE
            if self.accept("~"):
                self.expect("+", "'+' (a relative range is +START~+END)")
                end_us, kind = self.time(), S.RELATIVE_RANGE
        elif self.at("FLOAT", "INTEGER"):
            t = self.time()
            kind = S.ABSOLUTE
            if self.accept("~"):
                end_us, kind = self.time(), S.ABSOLUTE_RANGE
        else:
            self.fail("expected an event time (0.100, +0.1, *, or a range)")
        action = self.action()
        if end_us != S.NO_TIME_RANGE and end_us < t:
            self.semantic("time range is backwards", start)
        outbound = getattr(action, "direction", None) == ">"
        if kind == S.ANY and not outbound:
            self.semantic("event time <star> can only be used with outbound packets", start)
        if kind in (S.ABSOLUTE_RANGE, S.RELATIVE_RANGE) and not outbound:
            self.semantic("event time range can only be used with outbound packets", start)
        return S.Event(start.line, start.col, kind, t, end_us, action)

    def action(self) -> S.Action:
        if self.at("<", ">"):
            return self.packet()
        if self.at("BACK_QUOTED"):
            return S.Command(self.next().value)
        if self.at("CODE"):
            return S.Code(self.next().value)
        if self.at("ELLIPSIS", "WORD"):
            return self.syscall()
        self.fail("expected a packet ('<' or '>'), a system call, a `command` or a %{ code }% block")

    # -------------------------------------------------------------- packets

    def packet(self):
        dir_tok = self.next()
        direction = dir_tok.kind
        if self.at("IPV4", "IPV6", "GRE", "MPLS"):
            self.fail("encapsulation (ipv4/ipv6/gre/mpls prefixes) is not supported")
        ip = self.opt_ip_info()
        if self.at("ENCAP"):
            self.fail("encap psp is not supported")
        if self.accept("UDP"):
            if ip.tos_check == "ecn":
                self.semantic("ECN can only be used with TCP packets", dir_tok)
            ports = self.opt_ports()
            self.expect("(", "'(' and the UDP payload length")
            n = self.expect("INTEGER", "the UDP payload length")
            if not 0 <= n.value <= U16:
                self.semantic("UDP payload size out of range", n)
            self.expect(")")
            return S.UdpPacket(direction, n.value, ip, ports)
        if self.accept("ICMP"):
            return self.icmp(direction, ip, dir_tok)
        return self.tcp(direction, ip, dir_tok)

    def opt_ip_info(self) -> S.IpInfo:
        close = {"(": ")", "[": "]"}.get(self.peek().kind)
        if close is None or self.peek(1).kind not in ("NO_ECN", "ECT0", "ECT1", "CE", "ECT01", "TOS",
                                                          "FLOWLABEL", "TTL"):
            return S.IpInfo()
        self.next()
        info = S.IpInfo()
        tok = self.next()
        ecn = {"NO_ECN": 0, "ECT0": 2, "ECT1": 1, "CE": 3}
        if tok.kind in ecn:
            info = S.IpInfo("ecn", ecn[tok.kind])
        elif tok.kind == "ECT01":
            info = S.IpInfo("ect01", 0)
        elif tok.kind == "TOS":
            v = self.expect("HEX_INTEGER", "a hex TOS value (tos 0x..)")
            if v.value > 0xFF:
                self.semantic("tos out of range for 8 bits", v)
            info = S.IpInfo("tos", v.value)
        elif tok.kind == "TTL":
            v = self.expect("INTEGER", "a TTL")
            info = S.IpInfo(ttl=v.value)
        if tok.kind == "FLOWLABEL" or (info.tos_check and self.accept(",")):
            if tok.kind != "FLOWLABEL":
                self.expect("FLOWLABEL", "flowlabel")
            v = self.expect("HEX_INTEGER", "a hex flow label")
            if v.value > 0xFFFFF:
                self.semantic("flowlabel out of range for 20 bits", v)
            info = S.IpInfo(info.tos_check, info.tos, info.ttl, v.value)
        self.expect(close)
        return info

    def opt_ports(self) -> Optional[tuple]:
        if self.at("INTEGER") and self.peek(1).kind == ">":
            src = self.next()
            self.next()
            dst = self.expect("INTEGER", "a destination port")
            if not 0 <= src.value <= U16:
                self.semantic("src port out of range", src)
            if not 0 <= dst.value <= U16:
                self.semantic("dst port out of range", dst)
            return (src.value, dst.value)
        return None

    def flags(self) -> str:
        tok = self.peek()
        if tok.kind == "-":
            self.next()
            return ""
        if tok.kind == ".":
            self.next()
            return "."
        word = ""
        if tok.kind == "WORD":
            word = self.next().value
            if self.accept("."):
                return word + "."
        if self.at("FLOAT") and self.peek().text.startswith("."):   # ack and an AccECN count: S.1
            return word + self.next().text
        if word:
            return word
        self.fail("expected TCP flags (S, S., ., P., F., R, R., -)")

    def seq(self) -> tuple:
        start = self.expect("INTEGER", "a TCP sequence (start:end(len))")
        self.expect(":", "':' in start:end(len)")
        end = self.expect("INTEGER", "the end of the TCP sequence (start:end(len))")
        self.expect("(", "'(' and the payload length")
        n = self.expect("INTEGER", "the payload length")
        self.expect(")")
        if not 0 <= start.value <= U32:
            self.semantic("TCP start sequence number out of range", start)
        if not 0 <= end.value <= U32:
            self.semantic("TCP end sequence number out of range", end)
        if not 0 <= n.value <= U16:
            self.semantic("TCP payload size out of range", n)
        if end.value != start.value + n.value:
            self.semantic("inconsistent TCP sequence numbers and payload size", start)
        return start.value, end.value, n.value

    def tcp(self, direction: str, ip: S.IpInfo, dir_tok: Token) -> S.TcpPacket:
        ports = self.opt_ports()
        flags_tok = self.peek()
        flags = self.flags()
        for c in flags:
            if c not in ".FSRPEWAU01234567":
                self.semantic(f"Invalid TCP flag: '{c}'", flags_tok)
        seq, end, n = self.seq()
        ack = win = None
        urg = 0
        if self.accept("ACK"):
            a = self.expect("INTEGER", "an ack number")
            if not 0 <= a.value <= U32:
                self.semantic("TCP ack sequence number out of range", a)
            ack = a.value
        if self.accept("WIN"):
            w = self.expect("INTEGER", "a window")
            if not 0 <= w.value <= U16:
                self.semantic("TCP window value out of range", w)
            win = w.value
        if self.accept("URG"):
            u = self.expect("INTEGER", "an urgent pointer")
            if not 0 <= u.value <= U16:
                self.semantic("urg_ptr value out of range", u)
            urg = u.value
        options: Optional[tuple] = ()
        if self.at("<"):
            lt = self.next()
            if self.accept("ELLIPSIS"):
                if direction != ">":
                    self.semantic("<...> for TCP options can only be used with outbound packets", lt)
                options = None
            else:
                opts = [self.tcp_option()]
                while self.accept(","):
                    opts.append(self.tcp_option())
                options = tuple(opts)
                if _options_len(options) > 40:
                    self.semantic("TCP option list too long", lt)
            self.expect(">", "'>' closing the TCP options")
        if ip.tos_check == "ect01" and direction != ">":
            self.semantic("[ect01] can only be used with outbound packets", dir_tok)
        if win is None and direction == "<":
            self.semantic("window must be specified for inbound packets", dir_tok)
        return S.TcpPacket(direction, flags, seq, end, n, ack, win, urg, options, ip, ports)

    def tcp_option(self) -> S.TcpOption:
        tok = self.next()
        k = tok.kind
        if k == "NOP":
            return S.TcpOption("nop")
        if k == "EOL":
            return S.TcpOption("eol")
        if k == "MSS":
            v = self.expect("INTEGER", "an MSS value")
            if not 0 <= v.value <= U16:
                self.semantic("mss value out of range", v)
            return S.TcpOption("mss", (v.value,))
        if k == "WSCALE":
            v = self.expect("INTEGER", "a window scale shift count")
            if not 0 <= v.value <= 0xFF:
                self.semantic("window scale shift count out of range", v)
            return S.TcpOption("wscale", (v.value,))
        if k == "SACKOK":
            return S.TcpOption("sackOK")
        if k == "SACK":
            blocks = []
            while self.at("INTEGER") and self.peek(1).kind == ":":
                l_tok = self.next()
                self.next()
                r_tok = self.expect("INTEGER", "the right edge of a SACK block")
                if not 0 <= l_tok.value <= U32:
                    self.semantic("TCP SACK left sequence number out of range", l_tok)
                if not 0 <= r_tok.value <= U32:
                    self.semantic("TCP SACK right sequence number out of range", r_tok)
                blocks.append((l_tok.value, r_tok.value))
            if not blocks:
                self.fail("expected SACK blocks (left:right ...)")
            return S.TcpOption("sack", tuple(blocks))
        if k == "TIMESTAMP":
            self.expect("VAL", "'val' (TS val N ecr M)")
            val = self.expect("INTEGER", "a TS val")
            self.expect("ECR", "'ecr' (TS val N ecr M)")
            ecr = self.expect("INTEGER", "a TS ecr")
            if not 0 <= val.value <= U32:
                self.semantic("ts val out of range", val)
            if not 0 <= ecr.value <= U32:
                self.semantic("ecr val out of range", ecr)
            return S.TcpOption("TS", (val.value, ecr.value))
        if k in ("MD5", "FAST_OPEN", "FAST_OPEN_EXP"):
            name = {"MD5": "md5", "FAST_OPEN": "FO", "FAST_OPEN_EXP": "FOEXP"}[k]
            cookie = ""
            if self.at("WORD", "INTEGER"):
                t = self.next()
                cookie = t.value if t.kind == "WORD" else t.text
            elif k == "MD5":
                self.fail("expected an MD5 digest in hex")
            if len(cookie) % 2 or any(c not in "0123456789abcdefABCDEF" for c in cookie):
                self.semantic(f"TCP {'MD5 digest' if k == 'MD5' else 'fast open cookie'} "
                              "is not a valid hex string", tok)
            if len(cookie) // 2 > (16 if k == "MD5" else 36):
                self.semantic("TCP fast open cookie too long" if k != "MD5" else "TCP MD5 digest longer than 16 bytes",
                              tok)
            return S.TcpOption(name, (cookie,) if cookie else ())
        if k == "ACCECN":
            self.fail("AccECN options are not supported", tok)
        self.fail("expected a TCP option (nop, eol, mss N, wscale N, sackOK, sack L:R, TS val N ecr M, FO, md5)",
                  tok)

    def icmp(self, direction: str, ip: S.IpInfo, dir_tok: Token) -> S.IcmpPacket:
        if ip.tos_check == "ect01" and direction != ">":
            self.semantic("[ect01] can only be used with outbound packets", dir_tok)
        type_tok = self.expect("WORD", "an ICMP type (echo_request, unreachable, ...)")
        code = self.next().value if self.at("WORD") else ""
        mtu = None
        if self.accept("MTU"):
            mtu = self.expect("INTEGER", "an MTU").value
        echo_id = 0
        if self.accept("ID"):
            echo_id = self.expect("INTEGER", "an echo id").value
        echoed = ("tcp", 0, 0)
        if self.accept("["):
            if self.accept("UDP"):
                self.expect("(")
                echoed = ("udp", 0, self.expect("INTEGER", "a UDP payload length").value)
                self.expect(")")
            elif self.accept("RAW"):
                self.expect("(")
                echoed = ("raw", 0, self.expect("INTEGER", "a payload length").value)
                self.expect(")")
            else:
                s, _, n = self.seq()
                echoed = ("tcp", s, n)
            self.expect("]")
        return S.IcmpPacket(direction, type_tok.value, code, mtu, echo_id, echoed, ip)

    # -------------------------------------------------------------- system calls

    def syscall(self) -> S.Syscall:
        end_us = S.NO_TIME_RANGE
        if self.accept("ELLIPSIS"):
            end_us = self.time()
        name = self.expect("WORD", "a system call name").value
        self.expect("(", "'(' and the system call's arguments")
        args = []
        if not self.accept(")"):
            args.append(self.expression())
            while self.accept(","):
                args.append(self.expression())
            self.expect(")", "')' or ',' in the argument list")
        self.expect("=", "'=' and the expected return value")
        result = self.expression()
        errno = note = None
        if self.at("WORD"):
            errno = self.next().value
            if not self.at("("):
                self.fail(f"expected '(' and the error's description after {errno}")
            note = self.note()
        elif self.at("("):
            note = self.note()
        return S.Syscall(name, tuple(args), result, errno, note, end_us)

    def note(self) -> str:
        self.expect("(")
        words = []
        while not self.at(")"):
            if self.at("EOF"):
                self.fail("expected ')' closing the note")
            words.append(self.next().text)
        self.next()
        return " ".join(words)

    def expression(self) -> S.Expr:
        lhs = self.primary()
        while self.accept("|"):
            lhs = S.Binary("|", lhs, self.primary())
        return lhs

    def primary(self) -> S.Expr:
        tok = self.peek()
        k = tok.kind
        if k == "ELLIPSIS":
            self.next()
            return S.Ellipsis_()
        if k == "INTEGER":
            return S.Int(self.next().value)
        if k == "HEX_INTEGER":
            return S.Int(self.next().value, hex=True)
        if k == "WORD":
            self.next()
            if self.accept("="):
                return S.Binary("=", S.Word(tok.value), self.expression())
            return S.Word(tok.value)
        if k == "STRING":
            expr: S.Expr = S.String(self.next().value)
            if self.accept("ELLIPSIS"):
                return S.String(expr.text, ellipsis=True)
            while self.at("STRING"):
                expr = S.Binary(".", expr, S.String(self.next().value))
            return expr
        if k == "[":
            self.next()
            items = self._list("]")
            return S.List(tuple(items))
        if k in ("INET_ADDR", "INET6_ADDR"):
            self.next()
            self.expect("(")
            s = self.expect("STRING", "an address in quotes")
            self.expect(")")
            if k == "INET_ADDR":
                return S.Struct("inaddr", (("addr", S.String(s.value)),))
            return S.Struct("in6addr", (("addr", S.String(s.value)),))
        if k == "{":
            return self.brace()
        self.fail("expected an expression")

    def _list(self, close: str) -> list:
        items = []
        if self.accept(close):
            return items
        items.append(self.expression())
        while self.accept(","):
            items.append(self.expression())
        self.expect(close, f"',' or '{close}'")
        return items

    def _field(self, kind: str, what: str) -> S.Expr:
        self.expect(kind, what)
        self.expect("=", f"'=' after {what}")
        return self.expression()

    def brace(self) -> S.Expr:
        self.next()
        k = self.peek().kind
        if k == "SA_FAMILY":
            self.next()
            self.expect("=")
            fam = self.expect("WORD", "an address family (AF_INET)").value
            self.expect(",")
            self.expect("SIN_PORT", "sin_port")
            self.expect("=")
            self.expect("_HTONS_", "htons(PORT)")
            self.expect("(")
            port = self.expect("INTEGER", "a port").value
            self.expect(")")
            self.expect(",")
            self.expect("SIN_ADDR", "sin_addr")
            self.expect("=")
            self.expect("INET_ADDR", "inet_addr(\"A.B.C.D\")")
            self.expect("(")
            addr = self.expect("STRING", "an address in quotes")
            self.expect(")")
            self.expect("}")
            if fam == "AF_INET":
                import ipaddress
                try:
                    ipaddress.IPv4Address(addr.value)
                except ValueError:
                    self.semantic("invalid IPv4 address", addr)
            return S.Sockaddr(fam, port, addr.value)
        if k == "MSG_NAME":
            self.next()
            self.expect("(")
            self.expect("ELLIPSIS", "...")
            self.expect(")")
            self.expect("=")
            self.expect("ELLIPSIS", "...")
            self.expect(",")
            self.expect("MSG_IOV", "msg_iov")
            self.expect("(")
            iovlen = self.expect("INTEGER", "the iov count").value
            self.expect(")")
            self.expect("=")
            if not self.at("["):
                self.fail("expected an iovec array [{..., LEN}]")
            iov = self.primary()
            self.expect(",")
            flags = self._field("MSG_FLAGS", "msg_flags")
            control = S.List()
            if self.accept(","):
                self.expect("MSG_CONTROL", "msg_control")
                self.expect("=")
                control = self.primary()
            self.expect("}")
            return S.Msghdr(iov, iovlen, flags, control)
        if k == "FD":
            fd = self._field("FD", "fd")
            self.expect(",")
            events = self._field("EVENTS", "events")
            revents: S.Expr = S.Int(0)
            if self.accept(","):
                revents = self._field("REVENTS", "revents")
            self.expect("}")
            return S.Pollfd(fd, events, revents)
        if k == "EVENTS":
            events = self._field("EVENTS", "events")
            self.expect(",")
            which = self.next()
            if which.kind not in ("FD", "PTR", "U32", "U64"):
                self.fail("expected fd, ptr, u32 or u64", which)
            self.expect("=")
            v = self.expression()
            self.expect("}")
            return S.Struct("epollev", (("events", events), (which.text, v)))
        if k == "ONOFF":
            self.next()
            self.expect("=")
            onoff = self.expect("INTEGER", "an integer").value
            self.expect(",")
            self.expect("LINGER", "linger")
            self.expect("=")
            linger = self.expect("INTEGER", "an integer").value
            self.expect("}")
            return S.Linger(onoff, linger)
        if k == "ELLIPSIS" and self.peek(1).kind == ",":
            self.next()
            self.next()
            n = self.expect("INTEGER", "the iovec length").value
            self.expect("}")
            return S.Iovec(n)
        forms = {"CMSG_LEVEL": ("cmsg", ("CMSG_LEVEL", "CMSG_TYPE", "CMSG_DATA")),
                 "SCM_SEC": ("scm_timestamping", ("SCM_SEC", "SCM_NSEC")),
                 "EE_ERRNO": ("sock_extended_err", ("EE_ERRNO", "EE_ORIGIN", "EE_TYPE", "EE_CODE", "EE_INFO",
                                                   "EE_DATA"))}
        if k in forms:
            kind, names = forms[k]
            fields = []
            for i, name in enumerate(names):
                if i:
                    self.expect(",")
                fields.append((name.lower(), self._field(name, name.lower())))
            self.expect("}")
            return S.Struct(kind, tuple(fields))
        if k in ("FLAGS", "MPLS", "LABEL"):
            self.fail("GRE and MPLS expressions are not supported")
        return S.List(tuple(self._list("}")))


def _options_len(options) -> int:
    sizes = {"nop": 1, "eol": 1, "mss": 4, "wscale": 3, "sackOK": 2, "TS": 10, "md5": 18}
    total = 0
    for o in options:
        if o.kind == "sack":
            total += 2 + 8 * len(o.value)
        elif o.kind in ("FO", "FOEXP"):
            total += (2 if o.kind == "FO" else 4) + (len(o.value[0]) // 2 if o.value else 0)
        else:
            total += sizes[o.kind]
    return total


def _lex_error(e: LexError) -> ScriptError:
    text = str(e)
    path, line, col, rest = text.split(":", 3)
    err = ScriptError.__new__(ScriptError)
    ValueError.__init__(err, text)
    err.path, err.line, err.col, err.message = path, int(line), int(col), rest.strip()
    return err


def parse(text: str, path: str = "<script>", defines: Optional[Mapping[str, str]] = None,
          on_option: Optional[Callable[[str, Optional[str]], None]] = None) -> S.Script:
    """The script in text; defines are -D NAME=value; on_option sees each --option at
    the script's top as it is read (and may raise ValueError to reject it)."""
    return Parser(text, path, dict(defines or {}), on_option).script()


def parse_file(path, defines: Optional[Mapping[str, str]] = None, on_option=None) -> S.Script:
    p = Path(path)
    return parse(p.read_text(), str(path), defines, on_option)
