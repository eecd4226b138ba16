"""The symbols a script names in system calls (AF_INET, SO_LINGER, O_NONBLOCK,
POLLIN, ...) with Linux's x86-64 values, and errno names."""
from __future__ import annotations

import errno as errno_mod

SYMBOLS = {
    # families, types, protocols
    "AF_UNSPEC": 0, "AF_INET": 2, "AF_INET6": 10, "AF_PACKET": 17, "PF_INET": 2,
    "SOCK_STREAM": 1, "SOCK_DGRAM": 2, "SOCK_RAW": 3, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    "IPPROTO_IP": 0, "IPPROTO_ICMP": 1, "IPPROTO_TCP": 6, "IPPROTO_UDP": 17, "IPPROTO_RAW": 255,
    # levels and options
    "SOL_SOCKET": 1, "SOL_IP": 0, "SOL_TCP": 6, "SOL_UDP": 17,
    "SO_DEBUG": 1, "SO_REUSEADDR": 2, "SO_TYPE": 3, "SO_ERROR": 4, "SO_DONTROUTE": 5, "SO_BROADCAST": 6,
    "SO_SNDBUF": 7, "SO_RCVBUF": 8, "SO_KEEPALIVE": 9, "SO_OOBINLINE": 10, "SO_NO_CHECK": 11,
    "SO_PRIORITY": 12, "SO_LINGER": 13, "SO_REUSEPORT": 15, "SO_RCVLOWAT": 18, "SO_SNDLOWAT": 19,
    "SO_RCVTIMEO": 20, "SO_SNDTIMEO": 21, "SO_TIMESTAMP": 29, "SO_SNDBUFFORCE": 32, "SO_RCVBUFFORCE": 33,
    "SO_MARK": 36, "SO_TIMESTAMPING": 37, "SO_PROTOCOL": 38, "SO_DOMAIN": 39, "SO_ZEROCOPY": 60,
    "SO_INCOMING_CPU": 49, "SO_MAX_PACING_RATE": 47,
    "IP_TOS": 1, "IP_TTL": 2, "IP_RECVERR": 11, "IP_MTU_DISCOVER": 10, "IP_MTU": 14, "IP_FREEBIND": 15,
    "IP_PMTUDISC_DONT": 0, "IP_PMTUDISC_WANT": 1, "IP_PMTUDISC_DO": 2, "IP_PMTUDISC_PROBE": 3,
    "TCP_NODELAY": 1, "TCP_MAXSEG": 2, "TCP_CORK": 3, "TCP_KEEPIDLE": 4, "TCP_KEEPINTVL": 5,
    "TCP_KEEPCNT": 6, "TCP_SYNCNT": 7, "TCP_LINGER2": 8, "TCP_DEFER_ACCEPT": 9, "TCP_WINDOW_CLAMP": 10,
    "TCP_INFO": 11, "TCP_QUICKACK": 12, "TCP_CONGESTION": 13, "TCP_MD5SIG": 14, "TCP_THIN_LINEAR_TIMEOUTS": 16,
    "TCP_USER_TIMEOUT": 18, "TCP_REPAIR": 19, "TCP_FASTOPEN": 23, "TCP_TIMESTAMP": 24,
    "TCP_NOTSENT_LOWAT": 25, "TCP_FASTOPEN_CONNECT": 30, "TCP_FASTOPEN_NO_COOKIE": 34,
    # fcntl
    "F_GETFL": 3, "F_SETFL": 4, "F_GETFD": 1, "F_SETFD": 2, "O_NONBLOCK": 0o4000, "O_RDWR": 2,
    "FD_CLOEXEC": 1,
    # send/recv flags, shutdown
    "MSG_OOB": 1, "MSG_PEEK": 2, "MSG_DONTROUTE": 4, "MSG_TRUNC": 0x20, "MSG_DONTWAIT": 0x40,
    "MSG_EOR": 0x80, "MSG_WAITALL": 0x100, "MSG_NOSIGNAL": 0x4000, "MSG_MORE": 0x8000,
    "MSG_ERRQUEUE": 0x2000, "MSG_FASTOPEN": 0x20000000, "MSG_ZEROCOPY": 0x4000000,
    "SHUT_RD": 0, "SHUT_WR": 1, "SHUT_RDWR": 2,
    # poll
    "POLLIN": 0x1, "POLLPRI": 0x2, "POLLOUT": 0x4, "POLLERR": 0x8, "POLLHUP": 0x10, "POLLNVAL": 0x20,
    "POLLRDNORM": 0x40, "POLLRDBAND": 0x80, "POLLWRNORM": 0x100, "POLLWRBAND": 0x200, "POLLRDHUP": 0x2000,
    # ioctl
    "SIOCINQ": 0x541B, "SIOCOUTQ": 0x5411, "FIONREAD": 0x541B,
    # TCP states (tcpi_state in %{ }% blocks)
    "TCP_ESTABLISHED": 1, "TCP_SYN_SENT": 2, "TCP_SYN_RECV": 3, "TCP_FIN_WAIT1": 4, "TCP_FIN_WAIT2": 5,
    "TCP_TIME_WAIT": 6, "TCP_CLOSE": 7, "TCP_CLOSE_WAIT": 8, "TCP_LAST_ACK": 9, "TCP_LISTEN": 10,
    "TCP_CLOSING": 11,
    "TCP_CA_Open": 0, "TCP_CA_Disorder": 1, "TCP_CA_CWR": 2, "TCP_CA_Recovery": 3, "TCP_CA_Loss": 4,
}


def errno_value(name: str):
    """EINPROGRESS -> 115 (Linux's numbers, as Python's errno module has them), else None."""
    return getattr(errno_mod, name, None) if name.startswith("E") else None

