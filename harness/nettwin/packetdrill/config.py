"""The run's configuration: upstream's command-line flags (config.c), which a script
may also set in its first lines (--tolerance_usecs=10000). The addresses default to
the project's ranges: 192.0.2.0/24, upstream's remote default, is off limits here."""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Optional

FORBIDDEN = ipaddress.ip_network("192.0.2.0/24")


@dataclass
class Config:
    ip_version: str = "ipv4"
    local_ip: str = "198.51.100.2"       # the stack under test (DESIGN's DUT address)
    remote_ip: str = "198.51.100.1"      # the script's peer, on the DUT's link
    gateway_ip: str = ""                 # the next hop for a remote_ip off the local subnet
    netmask_ip: str = "255.255.255.0"
    mtu: int = 1500
    bind_port: int = 8080
    connect_port: int = 8080
    tolerance_usecs: int = 4000
    mss: int = 0                         # --mss: upstream writes inbound TCP as GSO of this size
    tolerance_percent: float = 12.5
    tcp_ts_ecr_scaled: bool = False
    tcp_ts_tick_usecs: int = 0           # 0: outbound TS val not checked (upstream's default)
    strict_segments: bool = False
    init_scripts: str = ""
    defines: dict = field(default_factory=dict)
    verbose: bool = False

    def prefixlen(self) -> int:
        return ipaddress.ip_network(f"0.0.0.0/{self.netmask_ip}").prefixlen

    def remote_on_link(self) -> bool:
        net = ipaddress.ip_network(f"{self.local_ip}/{self.prefixlen()}", strict=False)
        return ipaddress.ip_address(self.remote_ip) in net

    def next_hop(self) -> str:
        """Whom the DUT sends the remote's frames to: the remote itself when on link."""
        if self.remote_on_link():
            return self.remote_ip
        if not self.gateway_ip:
            raise ValueError(f"remote_ip {self.remote_ip} is not on {self.local_ip}/{self.prefixlen()}: "
                             "give --gateway_ip")
        return self.gateway_ip


def _ipv4(name: str, value: str) -> str:
    try:
        addr = ipaddress.IPv4Address(value)
    except ValueError:
        raise ValueError(f"--{name}: {value!r} is not an IPv4 address") from None
    if addr in FORBIDDEN:
        raise ValueError(f"--{name}: {value} is in 192.0.2.0/24, which this project must not use; "
                         "use 198.51.100.0/24 or 203.0.113.0/24")
    return value


def apply_option(cfg: Config, name: str, value: Optional[str]) -> None:
    """One --name[=value], from the command line or the script's top."""
    def need() -> str:
        if value is None:
            raise ValueError(f"--{name} needs a value")
        return value

    def integer() -> int:
        try:
            return int(need(), 0)
        except ValueError:
            raise ValueError(f"--{name}: {value!r} is not an integer") from None

    if name == "ip_version":
        if need() != "ipv4":
            raise ValueError(f"--ip_version={value}: only ipv4 is supported")
        cfg.ip_version = value
    elif name in ("local_ip", "remote_ip", "gateway_ip"):
        setattr(cfg, name, _ipv4(name, need()))
    elif name == "netmask_ip":
        try:
            ipaddress.ip_network(f"0.0.0.0/{need()}")
        except ValueError:
            raise ValueError(f"--netmask_ip: {value!r} is not a netmask") from None
        cfg.netmask_ip = value
    elif name in ("mtu", "bind_port", "connect_port", "tolerance_usecs", "tcp_ts_tick_usecs"):
        setattr(cfg, name, integer())
    elif name == "mss":
        if integer() <= 0:
            raise ValueError(f"--mss: {value} is not positive")
        cfg.mss = integer()
    elif name == "tolerance_percent":
        try:
            cfg.tolerance_percent = float(need())
        except ValueError:
            raise ValueError(f"--tolerance_percent: {value!r} is not a number") from None
    elif name in ("tcp_ts_ecr_scaled", "strict_segments", "verbose"):
        setattr(cfg, name, True)
    elif name == "init_scripts":
        cfg.init_scripts = need()
    elif name == "define":
        sym, eq, val = need().partition("=")
        if not sym or not eq:
            raise ValueError(f"bad definition: {value}")
        cfg.defines[sym] = val
    elif name in ("debug", "dry_run", "send_omit_free"):   # send_omit_free: upstream's free()
        pass
    else:
        raise ValueError(f"--{name} is not supported")
