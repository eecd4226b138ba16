#!/usr/bin/python3
"""Writes harness/server/fuzz/corpus/fuzz_grpc_requests/: sequences of calls in
grpc_requests_fuzz.cc's format ([method index][length, 2 bytes big-endian]
[serialized request]), one seed per service plus one that runs a UDP exchange.

    /usr/bin/python3 harness/server/fuzz/make_seeds.py build/python
(the folder where the build put nettwin_pb2.py)."""
import pathlib
import struct
import sys

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "build/python")
import nettwin_pb2 as pb  # noqa: E402

OUT = pathlib.Path(__file__).resolve().parent / "corpus/fuzz_grpc_requests"
# kMethods in grpc_requests_fuzz.cc, in its order.
METHODS = """Inject ReadWire SetLink Open Read TraceClose CreateDevice ListDevices AddAddress
AddNeighbour ListNeighbours SetCoalesce SetRingSize SetTxQueueLen SetSysctl GetSysctl Advance
RunUntil RunUntilIdle Now ReadCounters Reset AddRoute DelRoute ListRoutes AddRule ListRules Socket
Bind Connect Listen Accept SendTo SendMsg RecvFrom RecvMsg Shutdown Close SetSockOpt GetSockOpt
GetSockName GetPeerName Poll Fcntl SetWireLimit ListSockets EpollCreate EpollCtl EpollWait ReplaceRoute""".split()

ECHO = bytes.fromhex("020000000102020000000101080045000054000040004001f055c6336401c6336402"
                     "08000000000100010000000000000000")


def call(method, request):
    data = request.SerializeToString()
    return struct.pack(">BH", METHODS.index(method), len(data)) + data


def seeds():
    frame = pb.Frame(data=ECHO)
    yield "nic", [
        call("AddNeighbour", pb.NeighbourRequest(dev="ntring0", ip="198.51.100.1",
                                                 mac="02:00:00:00:01:01", state="permanent")),
        call("Inject", pb.InjectRequest(dev="ntring0", frames=[frame, frame], run_until_idle=True)),
        call("ReadWire", pb.ReadWireRequest(dev="ntring0", max=1)),
        call("SetLink", pb.LinkRequest(dev="ntveth0", up=False)),
        call("Inject", pb.InjectRequest(dev="nosuch", frames=[frame])),
    ]
    yield "trace", [
        call("Open", pb.TraceFilter(events=["net:*", "skb:kfree_skb"], checkpoints=True)),
        call("Inject", pb.InjectRequest(dev="ntveth0", frames=[frame])),
        call("Advance", pb.ClockRequest(ns=1_000_000)),
        call("Read", pb.ReadEventsRequest(id=1, max=3)),
        call("TraceClose", pb.Subscription(id=1)),
        call("Read", pb.ReadEventsRequest(id=1)),
    ]
    yield "control", [
        call("CreateDevice", pb.DeviceConfig(name="ntdut1", kind="ring", mac="02:00:00:00:03:02")),
        call("AddAddress", pb.AddressRequest(dev="ntdut1", cidr="198.18.0.2/15")),
        call("SetCoalesce", pb.CoalesceRequest(dev="ntdut1", rx_usecs=50, rx_frames=8)),
        call("SetRingSize", pb.RingSizeRequest(dev="ntdut1", rx=16, tx=16)),
        call("SetTxQueueLen", pb.TxQueueLenRequest(dev="ntdut1", len=2)),
        call("SetSysctl", pb.SysctlRequest(name="net.ipv4.ip_forward", value="1")),
        call("GetSysctl", pb.SysctlRequest(name="net.ipv4.ipfrag_time")),
        call("ListDevices", pb.Empty()),
        call("ListNeighbours", pb.Empty()),
        call("RunUntil", pb.ClockRequest(ns=5_000_000_000)),
        call("RunUntilIdle", pb.Empty()),
        call("Now", pb.Empty()),
        call("ReadCounters", pb.Empty()),
        call("Reset", pb.ResetRequest(seed=3)),
    ]
    yield "routes", [
        call("AddRoute", pb.Route(dst="192.168.0.0/16", gateway="203.0.113.1")),
        call("AddRoute", pb.Route(dst="10.0.0.0/8", type="blackhole", table=100)),
        call("AddRule", pb.Rule(pref=100, table=100, **{"from": "198.51.100.0/24"})),
        call("ReplaceRoute", pb.RouteChange(route=pb.Route(dst="192.168.0.0/16", gateway="203.0.113.1",
                                                           initcwnd=20, rto_min_ms=100, congctl="reno"),
                                            create=True)),
        call("ListRoutes", pb.ListRoutesRequest(table=0)),
        call("ListRules", pb.Empty()),
        call("DelRoute", pb.Route(dst="192.168.0.0/16", gateway="203.0.113.1")),
    ]
    peer = pb.SockAddr(ip="198.51.100.1", port=9)
    yield "sockets", [
        call("Socket", pb.SocketRequest(domain=2, type=2)),
        call("Bind", pb.SockAddrRequest(fd=3, addr=pb.SockAddr(port=7))),
        call("SetSockOpt", pb.SockOptRequest(fd=3, level=0, name=11, value=1)),
        call("GetSockOpt", pb.SockOptRequest(fd=3, level=1, name=7)),
        call("Connect", pb.SockAddrRequest(fd=3, addr=peer)),
        call("SendTo", pb.SendRequest(fd=3, data=b"x" * 2000)),
        call("SendMsg", pb.SendRequest(fd=3, data=b"y", to=peer, flags=0x40)),
        call("RecvFrom", pb.RecvRequest(fd=3, len=100, flags=0x40)),
        call("RecvMsg", pb.RecvRequest(fd=3, len=100, flags=0x2000 | 0x40)),
        call("Poll", pb.PollRequest(fd=3, events=1, timeout_ns=1_000_000)),
        call("Fcntl", pb.FcntlRequest(fd=3, set=True, flags=0o4000)),
        call("GetSockName", pb.FdRequest(fd=3)),
        call("GetPeerName", pb.FdRequest(fd=3)),
        call("Listen", pb.ListenRequest(fd=3, backlog=1)),
        call("Accept", pb.AcceptRequest(fd=3)),
        call("Shutdown", pb.ShutdownRequest(fd=3, how=2)),
        call("Close", pb.FdRequest(fd=3)),
        call("Socket", pb.SocketRequest(domain=17, type=3, protocol=768)),
        call("Bind", pb.SockAddrRequest(fd=3, addr=pb.SockAddr(family=17, ifindex=1, protocol=0x0800))),
        call("ListSockets", pb.ListSocketsRequest()),
        call("ListSockets", pb.ListSocketsRequest(netids=["udp", "packet"])),
        call("ListSockets", pb.ListSocketsRequest(netids=["sctp"])),
    ]
    yield "epoll", [
        call("Socket", pb.SocketRequest(domain=2, type=2)),
        call("Bind", pb.SockAddrRequest(fd=3, addr=pb.SockAddr(port=7))),
        call("EpollCreate", pb.EpollCreateRequest(create1=True)),
        call("EpollCtl", pb.EpollCtlRequest(epfd=4, op=1, fd=3, event=pb.EpollEvent(events=1 | 1 << 31, data=3))),
        call("EpollCtl", pb.EpollCtlRequest(epfd=4, op=3, fd=3, event=pb.EpollEvent(events=1 << 30))),
        call("EpollWait", pb.EpollWaitRequest(epfd=4, maxevents=4, timeout_ns=1_000_000)),
        call("EpollCtl", pb.EpollCtlRequest(epfd=4, op=2, fd=3)),
        call("Close", pb.FdRequest(fd=3)),
        call("Close", pb.FdRequest(fd=4)),
    ]


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, calls in seeds():
        (OUT / name).write_bytes(b"".join(calls))


if __name__ == "__main__":
    main()
