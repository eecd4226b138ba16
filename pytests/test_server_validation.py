"""Every bad request to the real nettwin-server is answered with
INVALID_ARGUMENT and a message naming what was wrong; the server keeps serving."""

import grpc
import pytest

from server_fixtures import (  # noqa: F401  (fixtures)
    DUT_DEV, arp_request, client, create_dut, dut, echo_request, pb, server_process,
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
    ("read wire past the clock's end", "nic.ReadWire",
     pb.ReadWireRequest(run_until_ns=2**63), [str(2**63), "overflows"]),
    ("inject past the clock's end", "nic.Inject",
     pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=b"x" * 60)], run_until_ns=2**63),
     [str(2**63), "overflows"]),
    # A refused setup names the step and puts the stack it replaced back (the check below).
    ("setup duplicate device", "control.Configure",
     pb.StackSetup(devices=[pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC),
                            pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC)]),
     ["devices[1]", 'device "ntx0" already exists']),
    ("setup route on unknown device", "control.Configure",
     pb.StackSetup(devices=[pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC)],
                   addresses=[pb.AddressRequest(dev="ntx0", cidr="198.51.100.2/24")],
                   routes=[pb.Route(dst="203.0.113.0/24", gateway="198.51.100.1"),
                           pb.Route(dst="203.0.114.0/24", dev="eth9")]),
     ["routes[1]", "eth9"]),
    ("setup address without prefix", "control.Configure",
     pb.StackSetup(devices=[pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC)],
                   addresses=[pb.AddressRequest(dev="ntx0", cidr="198.51.100.2")]),
     ["addresses[0]", 'bad cidr "198.51.100.2"']),
    ("setup too many sysctls", "control.Configure",
     pb.StackSetup(sysctls=[pb.SysctlRequest(name="net.core.netdev_budget", value="1")] * 4097),
     ["sysctls", "4097", "at most 4096"]),
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


def test_setup_in_one_call_is_the_calls_it_stands_for(dut):
    # Two stacks set up alike, one call by call and one in a single Configure.
    devices = [pb.DeviceConfig(name="lo", kind="loopback", mac="00:00:00:00:00:00", ifindex=1),
               pb.DeviceConfig(name="ntx0", kind="veth", mac=GOOD_MAC, ifindex=7, mtu=1400)]
    addresses = [pb.AddressRequest(dev="lo", cidr="127.0.0.1/8"),
                 pb.AddressRequest(dev="ntx0", cidr="198.51.100.2/24")]
    neighbours = [pb.NeighbourRequest(dev="ntx0", ip="198.51.100.1", mac="02:00:00:00:01:01",
                                      state="permanent")]
    routes = [pb.Route(dst="203.0.113.0/24", gateway="198.51.100.1", dev="ntx0")]
    sysctls = [pb.SysctlRequest(name="net.ipv4.tcp_sack", value="0"),
               pb.SysctlRequest(name="net.core.no_such_knob", value="1")]

    def view():
        return (sorted(str(d) for d in dut.control.ListDevices(pb.Empty()).devices),
                sorted(str(n) for n in dut.control.ListNeighbours(pb.Empty()).neighbours),
                sorted(str(r) for r in dut.control.ListRoutes(pb.ListRoutesRequest()).routes),
                dut.control.GetSysctl(pb.SysctlRequest(name="net.ipv4.tcp_sack")).value,
                dut.control.Now(pb.Empty()).now_ns)

    dut.control.Reset(pb.ResetRequest(seed=5))
    for d in devices:
        dut.control.CreateDevice(d)
    for a in addresses:
        dut.control.AddAddress(a)
    for n in neighbours:
        dut.control.AddNeighbour(n)
    for r in routes:
        dut.control.AddRoute(r)
    batch = dut.control.SetSysctls(pb.SysctlBatch(sysctls=sysctls))
    by_calls = view()
    dut.control.Advance(pb.ClockRequest(ns=10**9))
    dut.control.CreateDevice(pb.DeviceConfig(name="ntx9", kind="veth", mac="02:00:00:00:09:0a"))
    reply = dut.control.Configure(pb.StackSetup(seed=5, devices=devices, addresses=addresses,
                                                neighbours=neighbours, routes=routes, sysctls=sysctls))
    assert view() == by_calls
    assert by_calls[3] == "0" and by_calls[4] == 0 and len(by_calls[0]) == 2
    assert [(r.name, r.unknown) for r in reply.results] == [(r.name, r.unknown) for r in batch.results] \
        == [("net.ipv4.tcp_sack", False), ("net.core.no_such_knob", True)]


def test_read_wire_that_runs_the_clock_is_run_until_then_read_wire(dut):
    # The ping's answer waits for ARP (the stack asks at once, the tester never answers):
    # its retries leave at the neighbour timer's times, read one way and then the other.
    def by_two_calls(t_ns):
        dut.control.RunUntil(pb.ClockRequest(ns=t_ns))
        return dut.control.Now(pb.Empty()).now_ns, list(dut.nic.ReadWire(pb.ReadWireRequest()).frames)

    def by_one_call(t_ns):
        reply = dut.nic.ReadWire(pb.ReadWireRequest(run_until_ns=t_ns))
        return reply.now_ns, list(reply.frames)

    seen = []
    for read in (by_two_calls, by_one_call):
        dut.control.Reset(pb.ResetRequest(seed=3))
        create_dut(dut.control)
        dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=bytes(echo_request()))]))
        seen.append([read(t) for t in (2_000, 1_500_000_000, 4_000_000_000)])
    assert seen[0] == seen[1]
    assert [now for now, _ in seen[1]] == [2_000, 1_500_000_000, 4_000_000_000]
    assert sum(len(frames) for _, frames in seen[1]) >= 3, seen[1]   # the ARP request and retries
    # Without run_until_ns it reads and leaves the clock.
    assert dut.nic.ReadWire(pb.ReadWireRequest()).now_ns == 4_000_000_000


def test_inject_that_runs_the_clock_is_run_until_then_inject(dut):
    # Two pings, the second at 2 s: stepping the clock and injecting in one call gives
    # the same wire (the answers' times and bytes) as RunUntil then Inject.
    def by_two_calls(t_ns, frame):
        dut.control.RunUntil(pb.ClockRequest(ns=t_ns))
        dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=frame)]))

    def by_one_call(t_ns, frame):
        dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=[pb.Frame(data=frame)], run_until_ns=t_ns))

    seen = []
    for inject in (by_two_calls, by_one_call):
        dut.control.Reset(pb.ResetRequest(seed=3))
        create_dut(dut.control)
        dut.control.AddNeighbour(pb.NeighbourRequest(dev=DUT_DEV, ip="198.51.100.1",
                                                     mac="02:00:00:00:01:01", state="permanent"))
        for t_ns in (1_000, 2_000_000_000):
            inject(t_ns, bytes(echo_request()))
        reply = dut.nic.ReadWire(pb.ReadWireRequest(run_until_ns=3_000_000_000))
        seen.append([(f.time_ns, f.data) for f in reply.frames])
    assert seen[0] == seen[1]
    assert [t for t, _ in seen[1]][1] >= 2_000_000_000, seen[1]   # the second answer after its request
    assert len(seen[1]) == 2


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


# ---------------------------------------------------------------- every string of every request

MAX_STRING_BYTES = 4096  # proto/nettwin.proto's limit


def string_field_paths(descriptor, prefix=(), depth=0):
    """(path of field descriptors) for every string field reachable from a message type."""
    for field in descriptor.fields:
        path = prefix + (field,)
        if field.type == field.TYPE_STRING:
            yield path
        elif field.type == field.TYPE_MESSAGE and depth < 3:
            yield from string_field_paths(field.message_type, path, depth + 1)


def request_with(method, path, text):
    """The method's request with only the string at `path` set to `text`."""
    request = pb_message_class(method.input_type)()
    message = request
    for field in path[:-1]:
        message = (getattr(message, field.name).add() if field.label == field.LABEL_REPEATED
                   else getattr(message, field.name))
    last = path[-1]
    if last.label == last.LABEL_REPEATED:
        getattr(message, last.name).append(text)
    else:
        setattr(message, last.name, text)
    return request


def pb_message_class(descriptor):
    return getattr(pb, descriptor.name)


def every_string_field():
    for service in pb.DESCRIPTOR.services_by_name.values():
        for method in service.methods:
            for path in string_field_paths(method.input_type):
                yield method, path


STRING_FIELDS = list(every_string_field())
STRING_FIELD_IDS = [f"{m.containing_service.name}.{m.name}:{'.'.join(f.name for f in p)}"
                    for m, p in STRING_FIELDS]


def raw_call(channel, method, payload):
    """Sends already-serialized request bytes to `method`; returns the reply bytes."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    if method.client_streaming and method.server_streaming:
        return list(channel.stream_stream(path)(iter([payload]), timeout=60))
    if method.client_streaming:
        return channel.stream_unary(path)(iter([payload]), timeout=60)
    if method.server_streaming:
        return list(channel.unary_stream(path)(payload, timeout=60))
    return channel.unary_unary(path)(payload, timeout=60)


def test_the_stubs_list_every_string_field():
    # Guards the parametrization below against an empty or shrunken walk.
    names = {i.split(":")[0] for i in STRING_FIELD_IDS}
    assert {"Nic.Inject", "Trace.Open", "Control.AddRoute", "Sockets.SendTo", "Hooks.Attach"} <= names
    assert "Sockets.SendTo:to.hwaddr" in STRING_FIELD_IDS


@pytest.mark.parametrize("method,path", STRING_FIELDS, ids=STRING_FIELD_IDS)
def test_over_long_string_is_invalid_argument_naming_the_field(dut, method, path):
    request = request_with(method, path, "x" * (MAX_STRING_BYTES + 1))
    with pytest.raises(grpc.RpcError) as failure:
        raw_call(dut.channel, method, request.SerializeToString())
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value.details()
    details = failure.value.details()
    assert path[-1].full_name in details and str(MAX_STRING_BYTES + 1) in details, details
    # Exactly the limit is not refused for its length (it may be refused for what it says).
    request = request_with(method, path, "x" * MAX_STRING_BYTES)
    try:
        raw_call(dut.channel, method, request.SerializeToString())
    except grpc.RpcError as error:
        assert "bytes long" not in (error.details() or ""), error.details()
    assert [d.config.name for d in dut.control.ListDevices(pb.Empty()).devices] == [DUT_DEV]


PLACEHOLDER = b"@@@@@@@@"
NOT_UTF8 = b"\xc3\x28\xff@@@@@"  # a broken 2-byte sequence, then a byte UTF-8 never uses


@pytest.mark.parametrize("method,path", STRING_FIELDS, ids=STRING_FIELD_IDS)
def test_string_that_is_not_utf8_is_invalid_argument_naming_the_field(dut, method, path):
    # Python cannot put such bytes in a str field: swap them into the wire bytes
    # (same length, so every length prefix stays right).
    wire = request_with(method, path, PLACEHOLDER.decode()).SerializeToString()
    assert wire.count(PLACEHOLDER) == 1
    with pytest.raises(grpc.RpcError) as failure:
        raw_call(dut.channel, method, wire.replace(PLACEHOLDER, NOT_UTF8))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, failure.value.details()
    details = failure.value.details()
    assert path[-1].full_name in details and "UTF-8" in details, details
    # The server goes on serving.
    assert [d.config.name for d in dut.control.ListDevices(pb.Empty()).devices] == [DUT_DEV]


def test_unparsable_request_is_invalid_argument_naming_its_type(dut):
    method = pb.DESCRIPTOR.services_by_name["Control"].methods_by_name["AddAddress"]
    with pytest.raises(grpc.RpcError) as failure:
        raw_call(dut.channel, method, b"\x0a\x40short")  # a field 64 bytes long, cut at 5
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "nettwin.v1.AddressRequest" in failure.value.details()


# ---------------------------------------------------------------- trace names

@pytest.mark.parametrize("pattern,words", [
    ("net:netif_recieve_skb", ['"net:netif_recieve_skb"', "did you mean net:netif_receive_skb"]),
    ("net:kfree_skb", ["did you mean skb:kfree_skb"]),
    ("nte:*", ['unknown trace group "nte"', "did you mean net:*", "groups: net, napi, skb"]),
    ("qdisc:qdisc_drop", ["qdisc has qdisc:qdisc_enqueue, qdisc:qdisc_dequeue"]),
    ("checkpoint:ip_rcv", ["set checkpoints"]),
    ("neigh_create", ["group:event", "did you mean neigh:neigh_create"]),
])
def test_unknown_trace_name_lists_near_names(dut, pattern, words):
    for open_ in (lambda f: dut.trace.Open(f), lambda f: list(dut.trace.Stream(f, timeout=60))):
        with pytest.raises(grpc.RpcError) as failure:
            open_(pb.TraceFilter(events=["skb:*", pattern]))
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        for word in words:
            assert word in failure.value.details(), failure.value.details()


def test_known_trace_names_and_groups_open(dut):
    sub = dut.trace.Open(pb.TraceFilter(events=["*", "fib:*", "udp:udp_fail_queue_rcv_skb"]))
    dut.trace.Close(sub)


# ---------------------------------------------------------------- the clock

KTIME_MAX = 2**63 - 1


def test_clock_stops_at_ktime_max(dut):
    dut.control.Advance(pb.ClockRequest(ns=10))
    for rpc, ns in (("Advance", KTIME_MAX - 9), ("Advance", 2**63), ("RunUntil", KTIME_MAX + 1),
                    ("RunUntil", 2**64 - 1)):
        with pytest.raises(grpc.RpcError) as failure:
            getattr(dut.control, rpc)(pb.ClockRequest(ns=ns))
        assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (rpc, ns)
        assert "overflows" in failure.value.details() and str(KTIME_MAX) in failure.value.details()
        assert dut.control.Now(pb.Empty()).now_ns == 10
    assert dut.control.Advance(pb.ClockRequest(ns=KTIME_MAX - 10)).now_ns == KTIME_MAX
    # At the limit the stack still works, and its timers (the neighbour entry
    # an echo reply goes out through: DELAY, then PROBE) do not carry the clock past it.
    reply = dut.nic.Inject(pb.InjectRequest(
        dev=DUT_DEV, frames=frames(bytes(arp_request()), bytes(echo_request())), run_until_idle=True))
    assert reply.queued == 2
    assert len(dut.nic.ReadWire(pb.ReadWireRequest()).frames) >= 2  # ARP and echo replies
    assert dut.control.RunUntilIdle(pb.Empty()).now_ns <= KTIME_MAX + 1_000_000
    with pytest.raises(grpc.RpcError) as failure:
        dut.control.Advance(pb.ClockRequest(ns=1))
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_run_until_the_past_leaves_the_clock(dut):
    assert dut.control.RunUntil(pb.ClockRequest(ns=5000)).now_ns == 5000
    assert dut.control.RunUntil(pb.ClockRequest(ns=10)).now_ns == 5000


# ---------------------------------------------------------------- ifindex

INT_MAX = 2**31 - 1


def test_automatic_ifindexes_never_overflow_or_collide(dut):
    create = dut.control.CreateDevice
    mac = iter(f"02:00:00:00:0a:{i:02x}" for i in range(1, 100))
    create(pb.DeviceConfig(name="ntfix3", kind="veth", mac=next(mac), ifindex=3))
    create(pb.DeviceConfig(name="ntmax", kind="veth", mac=next(mac), ifindex=INT_MAX))
    for name in ("ntauto0", "ntauto1", "ntauto2"):
        create(pb.DeviceConfig(name=name, kind="veth", mac=next(mac)))
    indexes = {d.config.name: d.config.ifindex for d in dut.control.ListDevices(pb.Empty()).devices}
    # ntdut0 took 1; the next free ones follow, skipping 3 and never past INT_MAX.
    assert indexes == {DUT_DEV: 1, "ntfix3": 3, "ntmax": INT_MAX, "ntauto0": 2, "ntauto1": 4, "ntauto2": 5}


# ---------------------------------------------------------------- frames into a down device

def counters(client):
    return {c.name: c.value for c in client.control.ReadCounters(pb.Empty()).counters}


def test_frame_into_a_down_ring_nic_is_counted_but_not_received(dut):
    dut.control.CreateDevice(pb.DeviceConfig(name="ntring0", kind="ring", mac=GOOD_MAC))
    dut.nic.SetLink(pb.LinkRequest(dev="ntring0", up=False))
    reply = dut.nic.Inject(pb.InjectRequest(dev="ntring0", frames=frames(bytes(arp_request()))))
    assert (reply.queued, reply.rx_missed, reply.link_down) == (0, 0, 1)
    seen = counters(dut)
    # e1000's receiver is off: no Linux counter moves; the stack's own wire counter does.
    assert seen["dev.ntring0.wire.rx_while_down"] == 1
    assert (seen["dev.ntring0.rx_missed_errors"], seen["dev.ntring0.rx_dropped"],
            seen["dev.ntring0.rx_packets"]) == (0, 0, 0)


def test_frame_into_a_down_veth_counts_rx_dropped(dut):
    dut.nic.SetLink(pb.LinkRequest(dev=DUT_DEV, up=False))
    reply = dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=frames(bytes(arp_request()))))
    assert (reply.queued, reply.rx_missed, reply.link_down) == (0, 0, 1)
    seen = counters(dut)
    assert seen[f"dev.{DUT_DEV}.rx_dropped"] == 1  # __dev_forward_skb2
    assert seen[f"dev.{DUT_DEV}.wire.rx_while_down"] == 1
    dut.nic.SetLink(pb.LinkRequest(dev=DUT_DEV, up=True))
    reply = dut.nic.Inject(pb.InjectRequest(dev=DUT_DEV, frames=frames(bytes(arp_request()))))
    assert (reply.queued, reply.link_down) == (1, 0)


# ---------------------------------------------------------------- routing tables

def test_every_u32_is_a_routing_table_as_in_linux(dut):
    top = 2**32 - 1  # RT_TABLE_MAX: `ip route add ... table 4294967295` works
    dut.control.AddRoute(pb.Route(dst="203.0.113.0/24", dev=DUT_DEV, table=top))
    listed = [(r.dst, r.table) for r in dut.control.ListRoutes(pb.ListRoutesRequest(table=top)).routes]
    assert listed == [("203.0.113.0/24", top)]
    dut.control.AddRoute(pb.Route(dst="203.0.113.128/25", dev=DUT_DEV, table=0))  # 0: main
    main = [r.dst for r in dut.control.ListRoutes(pb.ListRoutesRequest(table=254)).routes]
    assert "203.0.113.128/25" in main
