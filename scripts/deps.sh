#!/usr/bin/env bash
# Installs the Debian packages Samsa needs, only those missing.
#   scripts/deps.sh build   what `make` needs
#   scripts/deps.sh test    plus the test clients, sanitizers and fuzzer runtime
set -euo pipefail

build_pkgs=(gcc make libc6-dev zlib1g-dev liblz4-dev libzstd-dev libsnappy-dev)
test_pkgs=(libcmocka-dev librdkafka-dev kcat python3 python3-confluent-kafka python3-kafka python3-snappy python3-lz4
	clang libclang-rt-14-dev)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js and npm (for kafkajs) often come from elsewhere (NodeSource ships npm
# inside its nodejs package): install Debian's only when the commands are missing.
if [ "${1:-build}" = test ]; then
	command -v node >/dev/null || missing+=(nodejs)
	command -v npm >/dev/null || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

echo "samsa: installing Debian packages: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq || true
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
