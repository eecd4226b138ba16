#!/usr/bin/env bash
# Every test: GoogleTest through ctest, then the pytest suites, then the
# sanitizer build's ctest (GoogleTest again and the fuzz corpus replays).
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
/usr/bin/python3 -m pytest -p no:cacheprovider pytests
bash ci/sanitize.sh
