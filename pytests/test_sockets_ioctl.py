"""Sockets.Ioctl against the real server: sock_ioctl's int requests through the
protocol's ioctl (tcp_ioctl), their errors as Linux gives them. The values on a
connection are held to Linux by traces/packetdrill/ioctl_inq_outq.pkt."""
import errno

from nettwin.client.sockets import AF_INET, SOCK_STREAM

SIOCINQ, SIOCOUTQ = 0x541B, 0x5411


def test_ioctl_errors_as_linux(stack):
    stack.setup(1).create_device("ntdut0", kind="veth", mac="02:00:00:00:01:02").add_address(
        "ntdut0", "198.51.100.2/24").apply()
    sk = stack.sockets
    listener = sk.socket(AF_INET, SOCK_STREAM)
    sk.bind(listener, ("198.51.100.2", 8080))
    sk.listen(listener, 1)
    # tcp_ioctl: a listener has no queue to count.
    r = sk.ioctl(listener, SIOCINQ, check=False)
    assert (r.ret, r.errno) == (-1, errno.EINVAL)
    # A socket never connected: nothing in or out.
    fresh = sk.socket(AF_INET, SOCK_STREAM)
    for cmd in (SIOCINQ, SIOCOUTQ):
        r = sk.ioctl(fresh, cmd, check=False)
        assert (r.ret, r.errno, r.value) == (0, 0, 0), hex(cmd)
    # A request no protocol answers (sock_do_ioctl's -ENOIOCTLCMD) is ENOTTY; a bad fd EBADF.
    r = sk.ioctl(fresh, 0x1234, check=False)
    assert (r.ret, r.errno) == (-1, errno.ENOTTY)
    r = sk.ioctl(999, SIOCINQ, check=False)
    assert (r.ret, r.errno) == (-1, errno.EBADF)
