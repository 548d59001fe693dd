#!/usr/bin/env bash
# Fuzzes the generated request decoders for 60 s (libFuzzer + ASan + UBSan),
# seeded with the captured client frames in tests/vectors/captures/requests.
# Any sanitizer report, broken round-trip invariant, allocation over 64 MB or
# RSS over 2 GB is a finding: the reproducer is left in build/fuzz/artifacts/
# and the test fails. Skipped (exit 0) when clang cannot build fuzzers.
#   FUZZ_SECONDS=<n>  run time (default 60)
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v clang >/dev/null; then
	echo "skip: clang not installed"
	exit 0
fi
jobs=$(( $(nproc) < 2 ? 1 : 2 ))
make -s -j"$jobs" -f tests/fuzz/Makefile

corpus=build/fuzz/corpus-request-decode
artifacts=build/fuzz/artifacts/
mkdir -p "$corpus" "$artifacts"
seconds=${FUZZ_SECONDS:-60}

echo "fuzzing request decode for ${seconds}s (seeds: tests/vectors/captures/requests)"
set +e
build/fuzz/fuzz_request_decode \
	-max_total_time="$seconds" \
	-rss_limit_mb=2048 \
	-malloc_limit_mb=64 \
	-max_len=65536 \
	-timeout=10 \
	-print_final_stats=1 \
	-artifact_prefix="$artifacts" \
	"$corpus" tests/vectors/captures/requests 2>&1
rc=$?
set -e
if [ "$rc" -ne 0 ]; then
	echo "FAIL: fuzzer finding (exit $rc); reproducer in $artifacts"
	exit 1
fi
echo "ok: ${seconds}s of fuzzing, no findings"
