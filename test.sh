#!/usr/bin/env bash
# Builds Samsa and runs every test (unit tests and integration tests with real
# clients, under AddressSanitizer and UndefinedBehaviorSanitizer). Ends with
# "N passed, N failed". Set TESTS=<glob> to run a subset.
set -euo pipefail
cd "$(dirname "$0")"
scripts/deps.sh test
make -j"$(nproc)" test
