#!/usr/bin/env bash
# Installs what building and testing Vigil needs, when it is missing:
#   librdkafka-dev (the Kafka client library and its mock cluster), zlib1g-dev, libjemalloc-dev
#   (the allocator `vigil` and the tests link), kcat (used by the tests to check `vigil broker`
#   from outside) and xmllint (libxml2-utils: the tests validate goAML drafts with it when the
#   goAML schema is on the machine). Debian/Ubuntu; needs root or sudo.
set -euo pipefail

missing=()
pkg-config --exists rdkafka 2>/dev/null || missing+=(librdkafka-dev)
[ -e /usr/include/zlib.h ] || missing+=(zlib1g-dev)
pkg-config --exists jemalloc 2>/dev/null || missing+=(libjemalloc-dev)
command -v kcat >/dev/null 2>&1 || missing+=(kcat)
command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
command -v xmllint >/dev/null 2>&1 || missing+=(libxml2-utils)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: apt-get not found; install these yourself: ${missing[*]} (librdkafka 2.0 or later)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq "${missing[@]}" >/dev/null
