"""Checksum verdicts read off a frame's bytes (comparison/checksums.py) agree with
the checksums Scapy computes when it builds the frame, and catch one flipped bit."""
from __future__ import annotations

from scapy.layers.inet import ICMP, IP, TCP
from scapy.layers.l2 import Ether
from scapy.packet import Padding

from nettwin.comparison.checksums import checksum_pair, inet_checksum
from nettwin.comparison.compare import checksum_verdict

MACS = dict(src="02:00:00:00:01:02", dst="02:00:00:00:01:01")
ADDRS = dict(src="198.51.100.2", dst="198.51.100.1")


def built(*layers) -> Ether:
    """Built by Scapy (checksums filled in), then dissected as a capture would be."""
    pkt = Ether(**MACS)
    for layer in layers:
        pkt = pkt / layer
    return Ether(bytes(pkt))


def flipped(pkt: Ether, at: int) -> Ether:
    raw = bytearray(bytes(pkt))
    raw[at] ^= 0x01
    return Ether(bytes(raw))


def test_rfc1071_example():
    # RFC 1071 section 3's words 0001 f203 f4f5 f6f7 sum to ddf2; the checksum is its complement.
    assert inet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0xFFFF - 0xDDF2
    assert inet_checksum(b"\x01") == 0xFFFF - 0x0100     # an odd byte is padded with zero


def test_tcp_with_options_and_payload_is_valid_then_invalid():
    pkt = built(IP(**ADDRS), TCP(sport=80, dport=40000, flags="PA", seq=1, ack=2,
                                 options=[("NOP", None), ("NOP", None), ("Timestamp", (7, 9))]), b"x" * 33)
    tcp = 2
    carried, should = checksum_pair(pkt, tcp)
    assert carried == should == pkt[TCP].chksum
    assert checksum_verdict(pkt, tcp, "chksum") == "valid"
    bad = flipped(pkt, len(bytes(pkt)) - 1)               # the last payload byte
    assert checksum_verdict(bad, tcp, "chksum").startswith("INVALID")


def test_ethernet_padding_is_not_covered():
    pkt = built(IP(**ADDRS), TCP(sport=80, dport=40000, flags="A"), Padding(b"\xaa" * 6))
    assert isinstance(pkt.lastlayer(), Padding)
    assert checksum_verdict(pkt, 2, "chksum") == "valid"
    assert checksum_verdict(pkt, 1, "chksum") == "valid"


def test_ip_header_and_icmp():
    pkt = built(IP(**ADDRS, id=0x1234), ICMP(type="echo-reply", id=7, seq=1), b"payload")
    assert checksum_pair(pkt, 1) == (pkt[IP].chksum, pkt[IP].chksum)
    assert checksum_pair(pkt, 2) == (pkt[ICMP].chksum, pkt[ICMP].chksum)
    assert checksum_verdict(flipped(pkt, 14 + 8), 1, "chksum").startswith("INVALID")   # the TTL
    assert checksum_verdict(flipped(pkt, 14 + 20 + 4), 2, "chksum").startswith("INVALID")  # ICMP id
    assert checksum_verdict(flipped(pkt, 14 + 20 + 4), 1, "chksum") == "valid"


def test_tcp_pseudo_header_uses_the_ip_total_length():
    # A receiver trims to tot_len: the pseudo-header's length is tot_len - ihl, which
    # is what Scapy puts in it too.
    pkt = built(IP(**ADDRS), TCP(sport=80, dport=40000, flags="A"), b"abcd")
    carried, should = checksum_pair(pkt, 2)
    assert carried == should
    raw = bytearray(bytes(pkt))
    raw[14 + 3] += 2                                       # tot_len two bytes past the frame
    raw[14 + 10:14 + 12] = b"\0\0"
    longer = Ether(bytes(raw))
    del longer[IP].chksum
    longer = Ether(bytes(longer))
    assert checksum_verdict(longer, 1, "chksum") == "valid"
    assert checksum_verdict(longer, 2, "chksum").startswith("INVALID")


def test_tcp_csum_mangled_0_is_the_same_sum():
    # skb_checksum_help writes a folded 0 as 0xffff (CSUM_MANGLED_0): one's-complement
    # zero twice over, so a TCP checksum of 0xffff where 0 is computed is valid. A
    # payload word equal to the checksum of the segment with a zero word folds to 0.
    head = dict(sport=80, dport=40000, flags="PA", seq=1, ack=2)
    zero = built(IP(**ADDRS), TCP(**head), b"\0\0")
    folds_to_zero = built(IP(**ADDRS), TCP(**head), zero[TCP].chksum.to_bytes(2, "big"))
    assert folds_to_zero[TCP].chksum == 0
    raw = bytearray(bytes(folds_to_zero))
    raw[14 + 20 + 16:14 + 20 + 18] = b"\xff\xff"
    assert checksum_verdict(Ether(bytes(raw)), 2, "chksum") == "valid"
    assert checksum_verdict(folds_to_zero, 2, "chksum") == "valid"
    # 0xffff stands for 0 only: any other sum carried as 0xffff is wrong.
    raw = bytearray(bytes(zero))
    raw[14 + 20 + 16:14 + 20 + 18] = b"\xff\xff"
    assert checksum_verdict(Ether(bytes(raw)), 2, "chksum").startswith("INVALID")
