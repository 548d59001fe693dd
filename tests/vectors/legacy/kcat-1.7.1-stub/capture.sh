#!/usr/bin/env bash
# Regenerates the kcat vectors in this directory: kcat 1.7.1 / librdkafka 2.0.2
# produces 11 messages to stub_broker.py (answers ApiVersions, Metadata v0 and
# Produce v0-v2 like a 0.8.2 / 0.10.0 broker and saves each Produce frame).
#   broker.version.fallback=0.8.2  -> Produce v0, magic 0 (lz4: KAFKA-3160 HC)
#   broker.version.fallback=0.10.0 -> Produce v2, magic 1
set -euo pipefail
cd "$(dirname "$0")"
out=$(mktemp -d)
for fb in 0.8.2 0.10.0; do
	for z in gzip snappy lz4; do
		port=$((20000 + RANDOM % 10000))
		python3 stub_broker.py "$port" "$out" "$fb-$z" &
		pid=$!
		sleep 0.5
		{ for i in $(seq 0 9); do echo "key-$i:value-$i-$z-abcdefghijabcdefghij"; done
		  echo ":null-key-value"; } |
			kcat -P -b "127.0.0.1:$port" -t legacy -K: -z "$z" \
				-X api.version.request=false -X broker.version.fallback="$fb" \
				-X linger.ms=200
		kill "$pid"
		wait "$pid" 2>/dev/null || true
	done
done
for z in gzip snappy lz4; do
	cp "$out/0.8.2-$z-Produce-v0-000.bin" "Produce-v0-magic0-$z.bin"
	cp "$out/0.10.0-$z-Produce-v2-000.bin" "Produce-v2-magic1-$z.bin"
done
rm -rf "$out"
