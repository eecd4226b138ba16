"""ethtool -C / -G over gRPC (Control.SetCoalesce, Control.SetRingSize) on the real
nettwin-server: what they change is seen in the ring NIC's counters and timing,
and bad requests are INVALID_ARGUMENT naming what was wrong."""

import grpc
import pytest

from nettwin.client import StackError

NIC = "nic0"
NIC_MAC = "02:00:00:00:03:02"


def frame(marker: int) -> bytes:
    # To the NIC, an EtherType nobody handles: each costs one poll slot and a drop.
    return bytes.fromhex(NIC_MAC.replace(":", "")) + bytes.fromhex("020000000301") + b"\x88\xb5" + bytes([marker]) * 46


@pytest.fixture
def nic(stack):
    stack.create_device(NIC, kind="ring", mac=NIC_MAC)
    stack.create_device("veth0", kind="veth", mac="02:00:00:00:04:02")
    return stack


def test_ring_size_is_what_the_rx_ring_holds(nic):
    nic.set_ring_size(NIC, 4, 8)
    queued, missed = nic.inject(NIC, [frame(i) for i in range(6)])
    assert (queued, missed) == (4, 2)
    nic.run_until_idle()
    c = nic.counters()
    assert c[f"dev.{NIC}.rx_missed_errors"] == 2
    assert c[f"dev.{NIC}.rx_packets"] == 4


def test_coalescing_delays_the_interrupt_by_rx_usecs(nic):
    nic.set_coalesce(NIC, rx_usecs=100, rx_frames=0)
    nic.inject(NIC, frame(1))
    nic.advance(99_000)
    assert nic.counters()[f"dev.{NIC}.rx_packets"] == 0
    nic.advance(1_000)
    assert nic.counters()[f"dev.{NIC}.rx_packets"] == 1
    assert nic.counters()["softnet.processed"] == 1


def test_txqueuelen_limits_what_pfifo_fast_holds(nic):
    # One TX descriptor and room for one skb in the qdisc: of five ARP replies
    # produced in one poll, one is on the ring, one requeued, one queued, two dropped.
    nic.set_ring_size(NIC, 64, 1)
    nic.set_tx_queue_len(NIC, 1)
    nic.add_address(NIC, "198.51.100.2/24")
    who_has = (bytes.fromhex("ffffffffffff") + bytes.fromhex("020000000301") + b"\x08\x06"
               + bytes.fromhex("0001080006040001" "020000000301" "c6336401" "000000000000" "c6336402"))
    nic.inject(NIC, [who_has] * 5, run_until_idle=True)
    c = nic.counters()
    assert c[f"dev.{NIC}.qdisc.drops"] == 2
    assert c[f"dev.{NIC}.tx_packets"] == 3


@pytest.mark.parametrize("call, words", [
    (lambda s: s.set_coalesce("veth0", 10, 0), ["veth0", "not a ring NIC"]),
    (lambda s: s.set_coalesce("eth9", 10, 0), ["eth9"]),
    (lambda s: s.set_coalesce(NIC, 100001, 0), ["rx_usecs 100001"]),
    (lambda s: s.set_ring_size(NIC, 0, 64), ["rx ring size 0"]),
    (lambda s: s.set_ring_size(NIC, 64, 5000), ["tx ring size 5000"]),
    (lambda s: s.set_ring_size("veth0", 64, 64), ["not a ring NIC"]),
    (lambda s: s.set_tx_queue_len("eth9", 10), ["eth9"]),
])
def test_bad_ethtool_requests_are_invalid_argument(nic, call, words):
    with pytest.raises(StackError) as e:
        call(nic)
    assert e.value.code == grpc.StatusCode.INVALID_ARGUMENT
    for w in words:
        assert w in e.value.message
    nic.inject(NIC, frame(1), run_until_idle=True)   # still serving
