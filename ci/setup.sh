#!/usr/bin/env bash
# Installs everything nettwin needs from Debian's archive. Idempotent: apt-get runs
# only when a package is missing.
set -euo pipefail

packages=(
  cmake g++ make pkg-config
  clang libclang-rt-14-dev llvm  # the sanitizer build and libFuzzer (llvm: llvm-symbolizer)
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libpcap-dev googletest libgtest-dev libbenchmark-dev
  python3 python3-scapy python3-grpcio python3-protobuf python3-pytest
  python3-pip python3-setuptools python3-wheel  # the harness as a package (pyproject.toml), offline
  chromium  # the HTML report opened in a real browser (pytests/test_html_browser.py)
  python3-ipython  # the shell's console (completion, history)
  python3-tqdm zlib1g-dev  # nettwin replay: progress bars, .gz captures
  tshark tcpdump iproute2 ethtool nftables valgrind
  iputils-ping netcat-openbsd curl iperf3  # live mode: Linux's own programs talk to the twin
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "ci/setup.sh: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
