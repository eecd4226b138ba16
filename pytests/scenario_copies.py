"""Real recordings, copied and altered so that the twin no longer matches them: the
failing scenarios the report, browser and pytest-plugin tests need, made from
what the recorder wrote rather than typed by hand."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from scapy.layers.inet import ICMP, IP
from scapy.utils import rdpcap, wrpcap

from conftest import scenario_folders
from nettwin.scenarios import folder as scenario_folder


def echo_scenario() -> Path:
    """The first recorded scenario in which Linux answers an ICMP echo."""
    for folder in scenario_folders():
        scen = scenario_folder.load(folder)
        if any(p.haslayer(ICMP) and p[ICMP].type == 0 for p in scen.received):
            return folder
    raise AssertionError("no recorded scenario answers an ICMP echo")


def with_dut_ttl(src: Path, dst_parent: Path, ttl: int = 63) -> Path:
    """A copy whose DUT runs with another default TTL (its sysctls): the twin's
    frames change, the recording stays."""
    dst = dst_parent / f"{src.name}_ttl{ttl}"
    shutil.copytree(src, dst)
    meta = json.loads((dst / "meta.json").read_text())
    meta.setdefault("sysctls", {})["net.ipv4.ip_default_ttl"] = str(ttl)
    (dst / "meta.json").write_text(json.dumps(meta))
    return dst


def with_echo_reply_ttl(src: Path, dst_parent: Path, ttl: int = 63) -> Path:
    """A copy in which Linux's first echo reply (received.pcap) left with another
    TTL, its IP checksum made right again, its capture time kept."""
    dst = dst_parent / f"{src.name}_reply_ttl{ttl}"
    shutil.copytree(src, dst)
    frames = list(rdpcap(str(dst / "received.pcap")))
    for i, p in enumerate(frames):
        if p.haslayer(ICMP) and p[ICMP].type == 0:
            assert p[IP].ttl != ttl, f"{src}: the echo reply already has TTL {ttl}"
            p[IP].ttl = ttl
            del p[IP].chksum
            rebuilt = p.__class__(bytes(p))
            rebuilt.time = p.time
            frames[i] = rebuilt
            break
    else:
        raise AssertionError(f"{src}: no echo reply in received.pcap")
    wrpcap(str(dst / "received.pcap"), frames)
    return dst
