"""What a packetdrill script says, as the parser leaves it: options, the init
and cleanup commands, and the events in order. Times are in microseconds, as
upstream keeps them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

# Event time kinds (upstream's enum event_time_t).
ABSOLUTE, RELATIVE, ANY, ABSOLUTE_RANGE, RELATIVE_RANGE = "absolute", "relative", "any", "absolute_range", \
    "relative_range"
NO_TIME_RANGE = -1


# ------------------------------------------------------------------ expressions (syscall arguments)

@dataclass(frozen=True)
class Ellipsis_:
    """`...`: whatever the call needs (a buffer, an address, a length)."""


@dataclass(frozen=True)
class Int:
    value: int
    hex: bool = False


@dataclass(frozen=True)
class Word:
    name: str           # a symbol such as AF_INET or SO_LINGER


@dataclass(frozen=True)
class String:
    text: str
    ellipsis: bool = False     # "abc"...


@dataclass(frozen=True)
class Binary:
    op: str             # "|", "=", "." (string concatenation)
    lhs: "Expr"
    rhs: "Expr"


@dataclass(frozen=True)
class List:
    items: tuple = ()   # [a, b] and {a, b}


@dataclass(frozen=True)
class Sockaddr:
    family: str
    port: int
    addr: str


@dataclass(frozen=True)
class Linger:
    onoff: int
    linger: int


@dataclass(frozen=True)
class Pollfd:
    fd: "Expr"
    events: "Expr"
    revents: "Expr"


@dataclass(frozen=True)
class Iovec:
    length: int


@dataclass(frozen=True)
class Msghdr:
    iov: List
    iovlen: int
    flags: "Expr"
    control: List = List()


@dataclass(frozen=True)
class Struct:
    """The other brace forms kept whole: kind (epollev, cmsg, scm_timestamping,
    sock_extended_err, inaddr, in6addr) and their fields."""
    kind: str
    fields: tuple = ()  # (name, Expr) pairs


Expr = Union[Ellipsis_, Int, Word, String, Binary, List, Sockaddr, Linger, Pollfd, Iovec, Msghdr, Struct]


# ------------------------------------------------------------------ packets

@dataclass(frozen=True)
class TcpOption:
    kind: str                   # nop, eol, mss, wscale, sackOK, sack, TS, md5, FO, FOEXP
    value: tuple = ()           # mss: (1460,); wscale: (7,); sack: ((l, r), ...); TS: (val, ecr); FO: (cookie hex,)

    def text(self) -> str:
        if self.kind == "mss" or self.kind == "wscale":
            return f"{self.kind} {self.value[0]}"
        if self.kind == "sack":
            return "sack " + " ".join(f"{l}:{r}" for l, r in self.value)
        if self.kind == "TS":
            return f"TS val {self.value[0]} ecr {self.value[1]}"
        if self.kind in ("md5", "FO", "FOEXP"):
            return f"{self.kind} {self.value[0]}".rstrip() if self.value else self.kind
        return self.kind


@dataclass(frozen=True)
class IpInfo:
    tos_check: str = ""         # "", "ecn", "ect01", "tos"
    tos: int = 0                # the ECN bits, or the whole TOS byte
    ttl: int = 0                # 0: not given
    flowlabel: int = 0


@dataclass(frozen=True)
class TcpPacket:
    direction: str              # "<" inbound, ">" outbound
    flags: str                  # ".FSRPEWAU" letters as written ("" for "-")
    seq: int
    end_seq: int
    length: int
    ack: Optional[int] = None
    win: Optional[int] = None   # None: not checked (outbound only)
    urg: int = 0
    options: Optional[tuple] = ()   # None: `<...>`, not checked
    ip: IpInfo = IpInfo()
    ports: Optional[tuple] = None   # (src, dst) when written
    proto: str = "tcp"


@dataclass(frozen=True)
class UdpPacket:
    direction: str
    length: int
    ip: IpInfo = IpInfo()
    ports: Optional[tuple] = None
    proto: str = "udp"


@dataclass(frozen=True)
class IcmpPacket:
    direction: str
    type: str                   # echo_request, unreachable, ...
    code: str = ""
    mtu: Optional[int] = None
    echo_id: int = 0
    echoed: tuple = ("tcp", 0, 0)   # the quoted packet: ("tcp", seq, len) | ("udp", 0, len) | ("raw", 0, len)
    ip: IpInfo = IpInfo()
    proto: str = "icmp"


# ------------------------------------------------------------------ the other actions

@dataclass(frozen=True)
class Syscall:
    name: str
    args: tuple                 # Expr
    result: Expr
    errno: Optional[str] = None
    note: Optional[str] = None
    end_us: int = NO_TIME_RANGE     # `...END`: a blocking call that returns at END


@dataclass(frozen=True)
class Command:
    line: str                   # the text between the backquotes


@dataclass(frozen=True)
class Code:
    text: str                   # between %{ and }%


Action = Union[TcpPacket, UdpPacket, IcmpPacket, Syscall, Command, Code]


@dataclass
class Event:
    line: int
    col: int
    time_type: str
    time_us: int
    time_end_us: int
    action: Action
    offset_us: int = 0          # set by the runner: what a relative time was relative to
    end_us: int = NO_TIME_RANGE     # set by the runner: a blocking call's return time, in script time

    @property
    def blocking(self) -> bool:
        return isinstance(self.action, Syscall) and self.action.end_us != NO_TIME_RANGE


@dataclass
class Script:
    path: str
    options: list = field(default_factory=list)     # (name, value or None), as written at the top
    init_command: Optional[str] = None
    events: list = field(default_factory=list)
    cleanup_command: Optional[str] = None
