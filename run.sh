#!/usr/bin/env bash
# Builds Samsa and starts one broker on localhost:9092 with data in ./data.
# Extra arguments go to `samsa serve` (e.g. --set num.partitions=3).
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh build
make -j"$(nproc)" samsa >/dev/null
exec ./samsa serve "$@"
