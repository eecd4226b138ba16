"""The packetdrill script lexer, token for token after upstream's lexer.l: flex
takes the longest match at each point, and on a tie the rule listed first, so
`ack` is the keyword ACK, `ackx` a WORD, `0...0.2` is INTEGER ELLIPSIS FLOAT and
`1.2.3.4` an IPV4_ADDR. A WORD named by a -D definition becomes its value
(an INTEGER, a STRING for "...", a BACK_QUOTED for `...`, else a WORD)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator, Mapping, Optional

# Reserved words and the token each is (lexer.l's keyword rules).
KEYWORDS = {
    "sa_family": "SA_FAMILY", "sin_port": "SIN_PORT", "sin_addr": "SIN_ADDR",
    "msg_name": "MSG_NAME", "msg_iov": "MSG_IOV", "msg_flags": "MSG_FLAGS", "msg_control": "MSG_CONTROL",
    "cmsg_data": "CMSG_DATA", "cmsg_level": "CMSG_LEVEL", "cmsg_type": "CMSG_TYPE",
    "ee_errno": "EE_ERRNO", "ee_origin": "EE_ORIGIN", "ee_type": "EE_TYPE", "ee_code": "EE_CODE",
    "ee_info": "EE_INFO", "ee_data": "EE_DATA", "scm_sec": "SCM_SEC", "scm_nsec": "SCM_NSEC",
    "fd": "FD", "u32": "U32", "u64": "U64", "ptr": "PTR", "events": "EVENTS", "revents": "REVENTS",
    "onoff": "ONOFF", "linger": "LINGER", "htons": "_HTONS_", "ipv4": "IPV4", "ipv6": "IPV6",
    "icmp": "ICMP", "udp": "UDP", "GREv0": "GRE", "gre": "GRE", "raw": "RAW", "sum": "SUM", "off": "OFF",
    "key": "KEY", "seq": "SEQ", "none": "NONE", "checksum": "CHECKSUM", "present": "PRESENT",
    "encap": "ENCAP", "psp": "PSP", "spi": "SPI", "mpls": "MPLS", "label": "LABEL", "tc": "TC",
    "ttl": "TTL", "inet_addr": "INET_ADDR", "inet6_addr": "INET6_ADDR", "ack": "ACK", "eol": "EOL",
    "ecr": "ECR", "mss": "MSS", "mtu": "MTU", "nop": "NOP", "sack": "SACK", "sackOK": "SACKOK",
    "md5": "MD5", "TS": "TIMESTAMP", "FO": "FAST_OPEN", "FOEXP": "FAST_OPEN_EXP", "ECN": "ACCECN",
    "e0b": "ACCECN_E0B", "e1b": "ACCECN_E1B", "ceb": "ACCECN_CEB", "tos": "TOS", "flowlabel": "FLOWLABEL",
    "flags": "FLAGS", "Flags": "FLAGS", "val": "VAL", "win": "WIN", "urg": "URG", "wscale": "WSCALE",
    "ect01": "ECT01", "ect0": "ECT0", "ect1": "ECT1", "noecn": "NO_ECN", "ce": "CE", "id": "ID",
}

_SEG = r"[0-9a-fA-F]{1,4}"
_V4 = r"[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+"
_V6_FORMS = ([
    r"[:][:]", rf"(?:{_SEG}[:]){{7}}{_SEG}", rf"(?:{_SEG}[:]){{1,7}}[:]", rf"(?:{_SEG}[:]){{1,6}}[:]{_SEG}",
    rf"(?:{_SEG}[:]){{1,5}}(?:[:]{_SEG}){{1,2}}", rf"(?:{_SEG}[:]){{1,4}}(?:[:]{_SEG}){{1,3}}",
    rf"(?:{_SEG}[:]){{1,3}}(?:[:]{_SEG}){{1,4}}", rf"(?:{_SEG}[:]){{1,2}}(?:[:]{_SEG}){{1,5}}",
    rf"{_SEG}[:](?:(?:[:]{_SEG}){{1,6}})", rf"[:](?:[:]{_SEG}){{1,7}}", rf"[:][:]ffff[:]{_V4}",
    rf"[:][:]ffff[:](?:0){{1,4}}[:]{_V4}", rf"(?:{_SEG}[:]){{1,4}}[:]{_V4}",
])

# (token type, pattern) in lexer.l's order after the keywords; None: skipped.
_RULES = [
    ("ELLIPSIS", r"[.][.][.]"),
    ("OPTION", r"--[a-zA-Z0-9_]+"),
    ("FLOAT", r"[-]?[0-9]*[.][0-9]+"),
    ("INTEGER", r"[-]?[0-9]+"),
    ("HEX_INTEGER", r"0x[0-9a-fA-F]+"),
    ("WORD", r"[a-zA-Z0-9_]+"),
    ("STRING", r'"(?:\\.|[^"])*"'),
    ("BACK_QUOTED", r"`(?:\\.|[^`])*`"),
    ("CHAR", r"[^ \t\n]"),
    (None, r"[ \t\n]+"),
    (None, r"//[^\n]*\n"),
    (None, r"/\*(?:[^*]|\*[^/])*\*/"),
    ("CODE", r"%\{(?:[^}]|\}[^%])*\}%"),
    ("IPV4_ADDR", _V4),
] + [("IPV6_ADDR", form) for form in _V6_FORMS]   # flex's union takes the longest of them
_COMPILED = [(kind, re.compile(p, re.S)) for kind, p in _RULES if kind != "IPV6_ADDR"]
_IPV6_COMPILED = [(kind, re.compile(p, re.S)) for kind, p in _RULES if kind == "IPV6_ADDR"]
# Every IPv6 form is hex digits and colons with a colon among them: where that cannot
# start, none of the forms is tried (most tokens).
_IPV6_GATE = re.compile(r"[0-9a-fA-F]*:")
_KEYWORD_RE = re.compile("|".join(sorted((re.escape(k) for k in KEYWORDS), key=len, reverse=True)))


class LexError(ValueError):
    pass


@dataclass(frozen=True)
class Token:
    kind: str            # INTEGER, WORD, ..., or the character itself for single characters
    text: str            # as written in the script
    value: object        # int, float, str (quotes and the %{ }% stripped)
    line: int
    col: int
    end_line: int = 0

    def __str__(self) -> str:
        return self.text


def _value(kind: str, text: str):
    if kind == "FLOAT":
        return float(text)
    if kind == "INTEGER":
        return int(text)
    if kind == "HEX_INTEGER":
        return int(text[2:], 16)
    if kind == "OPTION":
        return text[2:]
    if kind in ("STRING", "BACK_QUOTED"):
        return text[1:-1]
    if kind == "CODE":
        # lexer.l's code(): the snippet between %{ and }%, spaces and tabs stripped at both ends
        return text[2:-2].strip(" \t")
    return text


def _strtol(value: str) -> Optional[int]:
    """C's strtol(value, &end, 0) when it reads the whole string, else None."""
    v = value.strip()
    m = re.fullmatch(r"([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)", v)
    if not m:
        return None
    digits = m.group(2)
    if digits[:2].lower() == "0x":
        n = int(digits, 16)
    elif digits.startswith("0") and len(digits) > 1:
        n = int(digits, 8)
    else:
        n = int(digits)
    return -n if m.group(1) == "-" else n


def _defined(text: str, value: str, line: int, col: int) -> Token:
    if value.startswith('"'):
        return Token("STRING", text, value[1:-1], line, col, line)
    if value.startswith("`"):
        return Token("BACK_QUOTED", text, value[1:-1], line, col, line)
    n = _strtol(value)
    if n is not None:
        return Token("INTEGER", text, n, line, col, line)
    return Token("WORD", text, value, line, col, line)


def tokens(text: str, path: str = "<script>", defines: Optional[Mapping[str, str]] = None) -> Iterator[Token]:
    """The tokens of a script, lazily (so that definitions made by its own
    --define options apply to the lines after them), then an EOF token."""
    defines = defines if defines is not None else {}
    pos, line, line_start = 0, 1, 0
    n = len(text)
    while pos < n:
        best_kind, best_end = None, pos
        kw = _KEYWORD_RE.match(text, pos)
        if kw:
            best_kind, best_end = KEYWORDS[kw.group(0)], kw.end()
        skip = False
        for kind, rx in _COMPILED + _IPV6_COMPILED if _IPV6_GATE.match(text, pos) else _COMPILED:
            m = rx.match(text, pos)
            if m and m.end() > best_end:
                best_kind, best_end, skip = kind, m.end(), kind is None
        col = pos - line_start + 1
        if best_end == pos:
            raise LexError(f"{path}:{line}:{col}: parse error at '{text[pos]}': unexpected character")
        chunk = text[pos:best_end]
        if not skip:
            kind = best_kind
            if kind == "CHAR":
                kind = chunk
            if kind == "WORD" and chunk in defines:
                yield _defined(chunk, defines[chunk], line, col)
            else:
                yield Token(kind, chunk, _value(kind, chunk), line, col, line + chunk.count("\n"))
        newlines = chunk.count("\n")
        if newlines:
            line += newlines
            line_start = pos + chunk.rindex("\n") + 1
        pos = best_end
    yield Token("EOF", "", None, line, pos - line_start + 1, line)
