#!/usr/bin/env bash
# Installs the dependencies, then configures and builds every C++ part into build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo > build.log 2>&1 || { cat build.log; exit 1; }
cmake --build build -j"$(nproc)" >> build.log 2>&1 || { tail -n 80 build.log; exit 1; }
echo "ci/build.sh: built into build/ (log: build.log)"
