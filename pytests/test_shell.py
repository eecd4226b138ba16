"""`nettwin shell` driven with commands piped on stdin: ping the stack, print the
skb path, and see the echo reply as a Scapy packet."""
from __future__ import annotations

import subprocess

SCRIPT = """\
arp_answers = inject(Ether(src="02:00:00:00:01:01", dst="ff:ff:ff:ff:ff:ff")/ARP(hwsrc="02:00:00:00:01:01", psrc="198.51.100.1", pdst="198.51.100.2"))
print("ARP-ANSWER", arp_answers[0].summary())
answers = inject(Ether(src="02:00:00:00:01:01", dst="02:00:00:00:01:02")/IP(src="198.51.100.1", dst="198.51.100.2")/ICMP(id=0x1234, seq=9)/b"from-the-shell")
print("BEGIN-PATH")
path()
print("END-PATH")
reply = answers[0]
print("REPLY", reply[IP].src, reply[IP].dst, reply[ICMP].type, hex(reply[ICMP].id), reply[ICMP].seq, bytes(reply[Raw].load))
"""


def run_shell(nettwin_cmd, env, script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(nettwin_cmd + ["shell", *args], input=script, capture_output=True,
                          text=True, env=env, timeout=120)


def test_shell_pings_and_prints_the_skb_path(nettwin_cmd, harness_env):
    done = run_shell(nettwin_cmd, harness_env, SCRIPT)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert "Traceback" not in out + done.stderr, out + done.stderr
    assert "ARP-ANSWER Ether / ARP is at 02:00:00:00:01:02 says 198.51.100.2" in out, out
    path = out.split("BEGIN-PATH\n", 1)[1].split("END-PATH", 1)[0].splitlines()
    functions = [line.split()[2] for line in path]
    # The echo request's way in, in Linux's order, then the reply's way out.
    # (a ring NIC: e1000's way up is napi_gro_receive, not netif_receive_skb)
    wanted = ["e1000_clean_rx_irq", "napi_gro_receive", "__netif_receive_skb_core", "ip_rcv",
              "ip_rcv_finish", "ip_local_deliver", "icmp_rcv", "dev_queue_xmit", "e1000_xmit_frame"]
    positions = [functions.index(f) for f in wanted if f in functions]
    assert len(positions) == len(wanted), f"path misses some of {wanted}:\n" + "\n".join(path)
    assert positions == sorted(positions), "\n".join(path)
    # One line per transition, each with the skb's state.
    for line in path:
        assert "skb=" in line and "len=" in line, line
    assert "REPLY 198.51.100.2 198.51.100.1 0 0x1234 9 b'from-the-shell'" in out, out


def test_shell_reports_errors_and_keeps_going(nettwin_cmd, harness_env):
    script = 'inject(Ether()/IP(), dev="nosuchdev")\nprint("STILL-HERE", len(stack.devices()))\n'
    done = run_shell(nettwin_cmd, harness_env, script, "--kind", "veth")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "StackError" in done.stderr and "nosuchdev" in done.stderr, done.stderr
    assert "STILL-HERE 1" in done.stdout, done.stdout
