"""Scapy, unchanged, against the stack (nettwin.scapy.attach): Scapy's own sr1, sr,
srp1, srp, send, sendp, sniff, AsyncSniffer, TCP_client and traceroute, called as
Scapy's documentation writes them, reach the stack as the tester; time is the
stack's virtual clock; nothing can leave through the host's interfaces; detach()
gives Scapy back the host."""
from __future__ import annotations

import os
import signal
import threading
from contextlib import contextmanager

import pytest
import scapy.automaton
import scapy.sendrecv
from scapy.all import (ARP, ICMP, IP, TCP, UDP, AsyncSniffer, Ether, Raw, TCP_client, conf, get_if_hwaddr,
                       send, sendp, sniff, sr, sr1, srp, srp1, traceroute)

import nettwin.scapy
from nettwin.client.sockets import AF_INET, SOCK_DGRAM, SOCK_STREAM
from nettwin.interactive.pwru import FilterError
from nettwin.interactive.stack_sockets import StackL3Socket, StackListenSocket, StackSocket

TESTER_IFACE, TESTER_MAC, TESTER_IP = "nttst0", "02:00:00:00:01:01", "198.51.100.1"
DUT_DEV, DUT_MAC, DUT_IP = "ntdut0", "02:00:00:00:01:02", "198.51.100.2"
FAR_DEV, FAR_MAC, FAR_CIDR = "ntdut1", "02:00:00:00:02:02", "203.0.113.2/24"
GUARD_S = 60   # a hang guard only: the calls below return at once in virtual time


@contextmanager
def hang_guard():
    def fail(*_):
        raise AssertionError(f"still waiting after {GUARD_S} s: a wait in wall-clock time?")
    old = signal.signal(signal.SIGALRM, fail)
    signal.alarm(GUARD_S)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@pytest.fixture
def dut(stack):
    """The default topology's DUT with Scapy attached as its tester."""
    stack.create_device(DUT_DEV, mac=DUT_MAC)
    stack.add_address(DUT_DEV, f"{DUT_IP}/24")
    attachment = nettwin.scapy.attach(stack)
    try:
        with hang_guard():
            yield stack
    finally:
        attachment.detach()


def udp_socket(stack, port: int) -> int:
    fd = stack.socket(AF_INET, SOCK_DGRAM)
    stack.bind(fd, (DUT_IP, port))
    return fd


def test_conf_points_at_the_tester_and_detach_gives_it_back(stack):
    stack.create_device(DUT_DEV, mac=DUT_MAC)
    stack.add_address(DUT_DEV, f"{DUT_IP}/24")
    before = {n: getattr(conf, n) for n in ("L2socket", "L3socket", "L2listen", "iface", "route")}
    host_time = scapy.sendrecv.time
    with nettwin.scapy.attach(stack) as a:
        assert (conf.L2socket, conf.L3socket, conf.L2listen) == (StackSocket, StackL3Socket, StackListenSocket)
        assert conf.iface.name == TESTER_IFACE and get_if_hwaddr(conf.iface) == TESTER_MAC
        assert conf.route.route(DUT_IP) == (TESTER_IFACE, TESTER_IP, "0.0.0.0")
        # Scapy fills in the tester's addresses by itself.
        assert IP(dst=DUT_IP).src == TESTER_IP
        assert (Ether() / IP(dst=DUT_IP)).src == TESTER_MAC
        assert scapy.sendrecv.time.time() == stack.now() / 1e9
        assert repr(a).startswith("<nettwin attachment: nttst0")
    assert {n: getattr(conf, n) for n in before} == before
    assert scapy.sendrecv.time is host_time and scapy.automaton.time is host_time
    assert TESTER_IFACE not in conf.ifaces
    assert "_call" not in stack.__dict__


def test_sr1_pings_the_stack_as_written(dut):
    attachment = nettwin.scapy.attachment()
    reply = sr1(IP(dst=DUT_IP) / ICMP(id=0x77, seq=3) / b"scapy-unchanged", timeout=1, verbose=0)
    assert reply is not None, "no answer"
    assert (reply.src, reply.dst, reply[ICMP].type, reply[ICMP].seq) == (DUT_IP, TESTER_IP, 0, 3)
    assert reply[Raw].load == b"scapy-unchanged"
    # Scapy resolved the DUT's MAC through the stack, which answered the tester's MAC.
    wire = attachment.wire()
    assert [p[ARP].hwsrc for p in wire if ARP in p] == [DUT_MAC]
    assert [p[Ether].dst for p in wire if ICMP in p] == [TESTER_MAC]
    assert reply.time == wire[-1].time   # virtual seconds, the wire's own


def test_sr_answers_every_packet_of_a_generator(dut):
    ans, unans = sr(IP(dst=DUT_IP) / ICMP(seq=(1, 3)), timeout=1, verbose=0)
    assert sorted(r[ICMP].seq for _, r in ans) == [1, 2, 3] and len(unans) == 0


def test_send_and_sendp_reach_a_socket_in_the_stack(dut):
    fd = udp_socket(dut, 5000)
    send(IP(dst=DUT_IP) / UDP(sport=4000, dport=5000) / b"layer 3", verbose=0)
    sendp(Ether() / IP(dst=DUT_IP) / UDP(sport=4001, dport=5000) / b"layer 2", verbose=0)
    assert dut.recvfrom(fd, 100) == (b"layer 3", (TESTER_IP, 4000))
    assert dut.recvfrom(fd, 100) == (b"layer 2", (TESTER_IP, 4001))


def test_srp1_and_srp_at_layer_2(dut):
    answer = srp1(Ether(dst="ff:ff:ff:ff:ff:ff") / ARP(pdst=DUT_IP), timeout=1, verbose=0)
    assert answer is not None and answer[ARP].op == 2
    assert (answer[ARP].hwsrc, answer[ARP].psrc, answer[Ether].dst) == (DUT_MAC, DUT_IP, TESTER_MAC)
    ans, unans = srp(Ether(dst=DUT_MAC) / IP(dst=DUT_IP) / ICMP(seq=(1, 2)), timeout=1, verbose=0)
    assert sorted(r[ICMP].seq for _, r in ans) == [1, 2] and len(unans) == 0
    # A frame for another MAC: no answer; the timeout passes in virtual time.
    t0 = dut.now()
    assert srp1(Ether(dst="02:00:00:00:09:09") / IP(dst=DUT_IP) / ICMP(), timeout=2, verbose=0) is None
    assert 2_000_000_000 <= dut.now() - t0 < 2_100_000_000


def test_sniff_timeout_runs_the_virtual_clock(dut):
    t0 = dut.now()
    assert len(sniff(timeout=600)) == 0          # ten minutes of the stack's time
    assert 600_000_000_000 <= dut.now() - t0 < 601_000_000_000


def test_sniff_with_count_and_a_libpcap_filter(dut):
    fd = udp_socket(dut, 5000)
    dut.sendto(fd, b"to 4000", (TESTER_IP, 4000))     # the DUT asks for the tester's MAC first
    dut.sendto(fd, b"to 4001", (TESTER_IP, 4001))
    got = sniff(iface=TESTER_IFACE, count=1, filter="udp and dst port 4001", timeout=1)
    assert [(p[UDP].dport, p[Raw].load) for p in got] == [(4001, b"to 4001")]
    # The tester answered the DUT's ARP request, as its kernel would.
    dut.sendto(fd, b"again", (TESTER_IP, 4002))
    assert [p[UDP].dport for p in sniff(count=5, timeout=1)] == [4002]
    with pytest.raises(FilterError, match="udp and"):
        sniff(count=1, filter="udp and", timeout=1)


def test_async_sniffer_sees_both_directions_and_counts_virtual_time(dut):
    started = threading.Event()
    sniffer = AsyncSniffer(started_callback=started.set)
    sniffer.start()
    assert started.wait(GUARD_S)
    sendp(Ether(dst=DUT_MAC) / IP(dst=DUT_IP) / ICMP(seq=9), verbose=0)
    got = sniffer.stop()
    icmp = [(p[IP].src, p[ICMP].type) for p in got if ICMP in p]
    assert icmp == [(TESTER_IP, 8), (DUT_IP, 0)], got.summary()
    # The stack did not know the tester's MAC: it asked, the tester answered.
    assert [(p[ARP].op, p[ARP].psrc) for p in got if ARP in p] == [(1, DUT_IP), (2, TESTER_IP)]

    started.clear()
    timed = AsyncSniffer(timeout=2, started_callback=started.set)
    timed.start()
    assert started.wait(GUARD_S)
    nettwin.scapy.attachment().advance(1_000_000_000)
    assert timed.thread.is_alive(), "ended before its virtual timeout"
    nettwin.scapy.attachment().advance(1_500_000_000)
    timed.join(GUARD_S)
    assert not timed.thread.is_alive()


def test_tcp_client_exchanges_data_with_a_dut_listener(dut):
    lfd = dut.socket(AF_INET, SOCK_STREAM)
    dut.bind(lfd, ("0.0.0.0", 8080))
    dut.listen(lfd, 4)
    client = TCP_client.tcplink(Raw, DUT_IP, 8080)
    fd = dut.accept(lfd)
    assert dut.sockets.getpeername(fd)[0] == TESTER_IP
    client.send(b"hello stack")
    assert dut.recv(fd, 100) == b"hello stack"
    dut.send(fd, b"hello scapy")
    assert client.recv().load == b"hello scapy"
    dut.close_socket(fd)             # the DUT's FIN; Scapy's automaton answers it and ends
    client.close()
    assert client.atmt.state.state == "CLOSED"


def test_a_closed_automaton_writes_nothing_into_a_file_that_took_its_descriptor(dut, tmp_path):
    # Scapy's Automaton.__del__ stop()s the automaton again when the garbage collector
    # gets to it, long after close(): its command pipe's number may be a file by then.
    lfd = dut.socket(AF_INET, SOCK_STREAM)
    dut.bind(lfd, ("0.0.0.0", 8080))
    dut.listen(lfd, 4)
    client = TCP_client.tcplink(Raw, DUT_IP, 8080)
    fd = dut.accept(lfd)
    start = dut.now()
    client.close()     # before the DUT closes: its FIN, then 1 s of virtual time for the DUT's
    assert client.atmt.state.state == "CLOSED"
    assert dut.now() - start >= 1_000_000_000    # it waited its 1 s for the DUT's FIN
    assert dut.recv(fd, 100) == b""    # the automaton's FIN reached the DUT
    command_fd = client.atmt.cmdin._ObjectPipe__wr
    with open(tmp_path / "capture.pcap", "wb") as f:
        os.dup2(f.fileno(), command_fd)
        try:
            client.atmt.stop()           # what __del__ does first
        finally:
            os.close(command_fd)
    assert (tmp_path / "capture.pcap").read_bytes() == b""


def test_traceroute_through_the_dut(dut):
    dut.create_device(FAR_DEV, mac=FAR_MAC)
    dut.add_address(FAR_DEV, FAR_CIDR)
    dut.sysctl("net.ipv4.ip_forward", "1")
    conf.route.resync()                 # the new subnet, through the DUT
    assert conf.route.route("203.0.113.1") == (TESTER_IFACE, TESTER_IP, DUT_IP)
    ans, unans = traceroute("203.0.113.1", maxttl=2, timeout=1, verbose=0)
    hops = {s[IP].ttl: (r[IP].src, r[ICMP].type) for s, r in ans}
    assert hops == {1: (DUT_IP, 11)}, ans.summary()   # nobody answers behind the DUT
    assert [p[IP].ttl for p in unans] == [2]
    ans, _ = traceroute(DUT_IP, dport=80, maxttl=1, timeout=1, verbose=0)
    assert [r[TCP].flags for _, r in ans] == ["RA"]    # no listener on port 80


def test_nothing_leaves_through_the_host(dut):
    with pytest.raises(nettwin.scapy.HostInterfaceError, match="'lo' is not the stack's tester interface"):
        sendp(Ether() / IP(dst=DUT_IP), iface="lo", verbose=0)
    with pytest.raises(nettwin.scapy.HostInterfaceError, match="'lo'"):
        sniff(iface="lo", count=1, timeout=1)
    with pytest.raises(nettwin.scapy.HostInterfaceError, match="no route to 8.8.8.8"):
        sr1(IP(dst="8.8.8.8") / ICMP(), timeout=1, verbose=0)
    with pytest.raises(nettwin.scapy.HostInterfaceError, match="no route to 10.9.8.7"):
        send(IP(dst="10.9.8.7") / UDP(), verbose=0)
    with pytest.raises(nettwin.scapy.HostInterfaceError, match="no route to 10.9.8.7"):
        StackL3Socket().send(IP(dst="10.9.8.7") / UDP())
    # The stack is still the one reached.
    assert sr1(IP(dst=DUT_IP) / ICMP(), timeout=1, verbose=0) is not None


def test_attach_checks_the_topology(stack):
    stack.create_device(DUT_DEV, mac=DUT_MAC)
    stack.add_address(DUT_DEV, f"{DUT_IP}/24")
    with pytest.raises(ValueError, match="no device 'ntdut9'"):
        nettwin.scapy.attach(stack, dev="ntdut9")
    with pytest.raises(ValueError, match="10.0.0.1 is in no subnet of ntdut0"):
        nettwin.scapy.attach(stack, ip="10.0.0.1")
    assert nettwin.scapy.attachment() is None and conf.iface.name != TESTER_IFACE
    with nettwin.scapy.attach(stack):
        with pytest.raises(RuntimeError, match="attached already"):
            nettwin.scapy.attach(stack)
    with pytest.raises(nettwin.scapy.NotAttached):
        StackSocket()
