#!/usr/bin/env bash
# Installs the dependencies, then configures and builds every C++ part into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
# ccache, when the machine has it, as ci/sanitize.sh: a rebuild of an unchanged file is free.
launcher=()
if command -v ccache > /dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# Paths hashed relative to the checkout, so a fresh clone elsewhere hits the same entries.
export CCACHE_BASEDIR="$PWD" CCACHE_NOHASHDIR=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -n 80 build.log; exit 1; }
echo "ci/build.sh: built into build/ (log: build.log)"
