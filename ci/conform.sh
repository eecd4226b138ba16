#!/usr/bin/env bash
# The main job: the conformance suite over every recorded scenario in traces/,
# one line per scenario with its verdict.
set -euo pipefail
cd "$(dirname "$0")/.."
bash ci/build.sh
exec harness/bin/nettwin conform traces
