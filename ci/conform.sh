#!/usr/bin/env bash
# The main job: the conformance suite over every recorded scenario in traces/,
# one line per scenario with its verdict; JUnit XML and an HTML report in build/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/build.sh
# One scenario per core (conform -j): verdicts still print in the folders' order.
exec harness/bin/nettwin conform -j"$(nproc)" traces --junit build/conform-junit.xml --html build/conform.html
