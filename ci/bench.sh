#!/usr/bin/env bash
# Benchmarks (figures, not tests): the echo path ring to ring, UDP receive and bulk
# TCP between two stacks, with tracing off and with one subscriber (and bulk TCP over a link
# losing 1%); the per-frame table against lwIP (stack/bench/per_frame.py); then the pcap replay
# rate and the packetdrill corpus against Linux. Noisy machines move these numbers.
set -euo pipefail
cd "$(dirname "$0")/.."
# lwIP 2.1.3 (Debian's liblwip-dev), the yardstick of the per-frame table: benchmark only,
# never needed by ci/build.sh or the tests. Installed here when missing, as ci/setup.sh does.
if ! dpkg-query -W -f='${Status}' liblwip-dev 2>/dev/null | grep -q "ok installed"; then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends liblwip-dev
fi
bash ci/build.sh
build/stack/nettwin-bench --benchmark_min_time=0.2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The per-frame table (issue 12): nettwin against lwIP on the same frames, callgrind
# instructions (perf has no instruction counter in most VMs) beside ns, with the goals;
# it also counts instructions per data segment of bulk TCP (nettwin-tcp-bulk 16).
/usr/bin/python3 stack/bench/per_frame.py build
# The same transfer over a link that loses 1% of its frames either way (seeded, so the
# same frames every run): what loss recovery (SACK, RACK, TLP, RTO) costs.
echo "nettwin-tcp-bulk 16 MiB, 1% loss: $(build/stack/nettwin-tcp-bulk 16 1)"
# 10,000 established connections between two stacks: memory per connection, the time
# to open them, a segment's cost among them (issue 12).
build/stack/nettwin-tcp-conns 10000
/usr/bin/python3 - "$work/in.pcap" <<'PY'
import sys
from scapy.all import ARP, ICMP, IP, Ether, PcapWriter
w = PcapWriter(sys.argv[1], linktype=1, sync=False)
t = "02:00:00:00:01:01"; d = "02:00:00:00:01:02"
w.write(Ether(src=t, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=t, psrc="198.51.100.1", pdst="198.51.100.2"))
echo = bytes(Ether(src=t, dst=d) / IP(src="198.51.100.1", dst="198.51.100.2") / ICMP(id=1) / (b"x" * 32))
for i in range(200000):
    w.write(echo)
w.close()
PY
# Exit status 3 when frames were lost (RX ring or backlog full): a figure, so the rest still runs.
build/harness/server/nettwin-replay --in "$work/in.pcap" --out "$work/out.pcap" \
  --dev ntdut0 --mac 02:00:00:00:01:02 --ip 198.51.100.2/24 || echo "nettwin-replay: exit status $?"
# packetdrill: the corpus's wall time on nettwin against the real time the same scripts
# took on Linux (their SCRIPT.linux.json records), and the ratio.
{ harness/bin/nettwin packetdrill --bench -j 2 traces/packetdrill/*.pkt || true; } | grep '^bench:'
PYTHONPATH=harness /usr/bin/python3 -m nettwin.replay.bench 1000000  # frames/s and peak RSS of nettwin replay
# Batched gRPC injection (issue 12: >= 1 M frames/s) into the real nettwin-server:
# packed blobs and, for comparison, one Frame message per frame; tracing off, then one
# subscription to net:netif_receive_skb (one event a frame) read packed and as TraceEvent
# messages, then one to every tracepoint read packed.
build/harness/server/nettwin-server --listen "unix:$work/nettwin.sock" > "$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2> /dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do [ -S "$work/nettwin.sock" ] && break; sleep 0.1; done
inject_bench=(build/harness/server/nettwin-inject-bench "unix:$work/nettwin.sock" --server-pid "$server")
"${inject_bench[@]}" --frames 4000000
"${inject_bench[@]}" --frames 4000000 --form frames
"${inject_bench[@]}" --frames 2000000 --trace net:netif_receive_skb
"${inject_bench[@]}" --frames 2000000 --trace net:netif_receive_skb --trace-form events
"${inject_bench[@]}" --frames 500000 --trace '*'
kill "$server"
wait "$server" || true
trap 'rm -rf "$work"' EXIT
