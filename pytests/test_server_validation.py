"""Every bad request to the real nettwin-server is answered with
INVALID_ARGUMENT and a message naming what was wrong; the server keeps serving."""

import grpc
import pytest

from server_fixtures import (  # noqa: F401  (fixtures)
    DUT_DEV, arp_request, client, dut, pb, server_process,
)

GOOD_MAC = "02:00:00:00:09:09"


def frames(*datas):
    return [pb.Frame(data=d) for d in datas]


# (what, rpc name, request, words the message must contain)
BAD_REQUESTS = [
    ("unknown device", "nic.Inject",
     pb.InjectRequest(dev="eth9", frames=frames(bytes(arp_request()))), ['unknown device "eth9"']),
    ("empty frame", "nic.Inject",
     pb.InjectRequest(dev=DUT_DEV, frames=frames(b"")), ["frame 0", "empty"]),
    ("oversized frame", "nic.Inject",
     pb.InjectRequest(dev=DUT_DEV, frames=frames(b"\x02" * 9000)), ["9000 bytes", DUT_DEV]),
    ("read wire unknown device", "nic.ReadWire",
     pb.ReadWireRequest(dev="eth9"), ['unknown device "eth9"']),
    ("link unknown device", "nic.SetLink", pb.LinkRequest(dev="eth9", up=False),
     ['unknown device "eth9"']),
    ("bad mac", "control.CreateDevice",
     pb.DeviceConfig(name="ntx0", kind="veth", mac="02:00:00:00:01"), ['bad mac "02:00:00:00:01"']),
    ("multicast mac", "control.CreateDevice",
     pb.DeviceConfig(name="ntx0", kind="veth", mac="01:00:5e:00:00:01"), ["not a unicast"]),
    ("unknown kind", "control.CreateDevice",
     pb.DeviceConfig(name="ntx0", kind="tap", mac=GOOD_MAC), ['unknown device kind "tap"']),
    ("duplicate name", "control.CreateDevice",
     pb.DeviceConfig(name=DUT_DEV, kind="veth", mac=GOOD_MAC), [f'device "{DUT_DEV}" already exists']),
    ("name with slash", "control.CreateDevice",
     pb.DeviceConfig(name="a/b", kind="veth", mac=GOOD_MAC), ['"a/b"']),
    ("name too long", "control.CreateDevice",
     pb.DeviceConfig(name="n" * 16, kind="veth", mac=GOOD_MAC), ["longer than 15"]),
    ("mtu too small", "control.CreateDevice",
     pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC, mtu=20), ["mtu 20"]),
    ("cidr prefix too long", "control.AddAddress",
     pb.AddressRequest(dev=DUT_DEV, cidr="198.51.100.2/33"), ['bad cidr "198.51.100.2/33"']),
    ("cidr bad octet", "control.AddAddress",
     pb.AddressRequest(dev=DUT_DEV, cidr="198.51.100.300/24"), ['bad cidr "198.51.100.300/24"']),
    ("cidr without prefix", "control.AddAddress",
     pb.AddressRequest(dev=DUT_DEV, cidr="198.51.100.2"), ['bad cidr "198.51.100.2"']),
    ("address on unknown device", "control.AddAddress",
     pb.AddressRequest(dev="eth9", cidr="198.51.100.2/24"), ['unknown device "eth9"']),
    ("neighbour bad ip", "control.AddNeighbour",
     pb.NeighbourRequest(dev=DUT_DEV, ip="198.51.100", mac=GOOD_MAC), ['bad neighbour ip "198.51.100"']),
    ("neighbour bad mac", "control.AddNeighbour",
     pb.NeighbourRequest(dev=DUT_DEV, ip="198.51.100.1", mac="zz:00:00:00:00:01"),
     ['bad neighbour mac "zz:00:00:00:00:01"']),
    ("neighbour bad state", "control.AddNeighbour",
     pb.NeighbourRequest(dev=DUT_DEV, ip="198.51.100.1", mac=GOOD_MAC, state="happy"),
     ['unknown neighbour state "happy"']),
    ("neighbour unknown device", "control.AddNeighbour",
     pb.NeighbourRequest(dev="eth9", ip="198.51.100.1", mac=GOOD_MAC), ['unknown device "eth9"']),
    ("get unknown sysctl", "control.GetSysctl",
     pb.SysctlRequest(name="net.core.no_such_knob"), ['unknown sysctl "net.core.no_such_knob"']),
    ("set unknown sysctl", "control.SetSysctl",
     pb.SysctlRequest(name="net.core.no_such_knob", value="1"), ['unknown sysctl "net.core.no_such_knob"']),
    ("set sysctl without value", "control.SetSysctl",
     pb.SysctlRequest(name="net.core.netdev_budget", value=""), ["no value", "net.core.netdev_budget"]),
    ("read unknown subscription", "trace.Read",
     pb.ReadEventsRequest(id=999), ["unknown subscription id 999"]),
    ("close unknown subscription", "trace.Close",
     pb.Subscription(id=999), ["unknown subscription id 999"]),
    ("bad trace pattern", "trace.Open",
     pb.TraceFilter(events=["netif_receive_skb"]), ['"netif_receive_skb"', "group:event"]),
]


def call(client, rpc, request):
    service, method = rpc.split(".")
    return getattr(getattr(client, service), method)(request)


@pytest.mark.parametrize("what,rpc,request_,words", BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_request_is_invalid_argument(dut, what, rpc, request_, words):
    with pytest.raises(grpc.RpcError) as failure:
        call(dut, rpc, request_)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, what
    for word in words:
        assert word in failure.value.details(), (what, failure.value.details())
    # The server is still there and its state unharmed.
    names = [d.config.name for d in dut.control.ListDevices(pb.Empty()).devices]
    assert names == [DUT_DEV]


def test_bad_stream_batch_is_named_and_stops_the_stream(dut):
    good = pb.InjectRequest(dev=DUT_DEV, frames=frames(bytes(arp_request())))
    bad = pb.InjectRequest(dev="eth9", frames=frames(bytes(arp_request())))
    with pytest.raises(grpc.RpcError) as failure:
        dut.nic.InjectStream(iter([good, bad, good]))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    details = failure.value.details()
    assert "batch 1" in details and 'unknown device "eth9"' in details
    assert "after 1 frames queued" in details
    # Only the first batch went in: one ARP request, one answer.
    dut.control.RunUntilIdle(pb.Empty())
    assert len(dut.nic.ReadWire(pb.ReadWireRequest()).frames) == 1


def test_empty_frame_in_a_batch_injects_nothing(dut):
    with pytest.raises(grpc.RpcError) as failure:
        dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=frames(bytes(arp_request()), b"")))
    assert "frame 1" in failure.value.details() and "nothing was injected" in failure.value.details()
    dut.control.RunUntilIdle(pb.Empty())
    assert list(dut.nic.ReadWire(pb.ReadWireRequest()).frames) == []


def test_good_sysctl_round_trip(dut):
    before = dut.control.GetSysctl(pb.SysctlRequest(name="net.core.netdev_budget"))
    assert before.value == "300"  # Linux 6.18 default
    after = dut.control.SetSysctl(pb.SysctlRequest(name="net.core.netdev_budget", value="64"))
    assert after.value == "64"
    assert dut.control.GetSysctl(pb.SysctlRequest(name="net.core.netdev_budget")).value == "64"


def test_good_neighbour_is_listed(dut):
    dut.control.AddNeighbour(pb.NeighbourRequest(dev=DUT_DEV, ip="198.51.100.1",
                                                 mac="02:00:00:00:01:01", state="permanent"))
    listed = [(n.dev, n.ip, n.mac, n.state) for n in dut.control.ListNeighbours(pb.Empty()).neighbours]
    assert (DUT_DEV, "198.51.100.1", "02:00:00:00:01:01", "permanent") in listed


def test_device_config_defaults_are_listed(dut):
    dut.control.CreateDevice(pb.DeviceConfig(name="ntring0", kind="ring", mac=GOOD_MAC, ifindex=42))
    devices = {d.config.name: d for d in dut.control.ListDevices(pb.Empty()).devices}
    ring = devices["ntring0"]
    assert (ring.config.kind, ring.config.mac, ring.config.ifindex) == ("ring", GOOD_MAC, 42)
    assert (ring.config.mtu, ring.config.rx_ring_size, ring.config.tx_ring_size) == (1500, 256, 256)
    assert list(devices[DUT_DEV].addresses) == ["198.51.100.2/24"]
    with pytest.raises(grpc.RpcError) as failure:
        dut.control.CreateDevice(pb.DeviceConfig(name="ntring1", kind="ring", mac=GOOD_MAC, ifindex=42))
    assert "ifindex 42" in failure.value.details() and '"ntring0"' in failure.value.details()


def test_clock_overflow_is_refused(dut):
    dut.control.Advance(pb.ClockRequest(ns=10))
    with pytest.raises(grpc.RpcError) as failure:
        dut.control.Advance(pb.ClockRequest(ns=2**64 - 1))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "overflows" in failure.value.details()
    assert dut.control.Now(pb.Empty()).now_ns == 10
