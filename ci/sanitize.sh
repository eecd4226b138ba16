#!/usr/bin/env bash
# The sanitizer build (README "Fuzzing"): clang with AddressSanitizer and
# UndefinedBehaviorSanitizer into build-asan/, then ctest there - the GoogleTest
# suites, the per-frame driver's smoke runs and every fuzz target replaying its
# seed corpus. A leak, a memory error or any undefined behaviour fails the run. Only what ctest runs is built: the
# gRPC server and the replay tool are exercised through the fuzz targets instead.
set -euo pipefail
cd "$(dirname "$0")/.."
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Paths hashed relative to the checkout, so a fresh clone elsewhere hits the same entries.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
# -O1 and line tables only: quicker to compile than -O2 -g; stack traces keep their lines.
cmake -S . -B build-asan -DCMAKE_CXX_COMPILER=clang++ -DNETTWIN_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -gline-tables-only" "${launcher[@]}" \
  > build-asan.log 2>&1 || { cat build-asan.log; exit 1; }
cmake --build build-asan -j"$(nproc)" --target nettwin-stack-tests nettwin-server-unit-tests nettwin-replay-unit-tests \
  nettwin-frames fuzz_stack_frames fuzz_pcap_input fuzz_grpc_requests >> build-asan.log 2>&1 ||
  { tail -n 80 build-asan.log; exit 1; }
echo "ci/sanitize.sh: built into build-asan/ (log: build-asan.log)"
export ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j"$(nproc)"
