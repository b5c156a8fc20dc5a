#!/usr/bin/env bash
# Fuzzes the feed decoders with libFuzzer and AddressSanitizer (both ship with the Swift
# toolchain). Not part of the tests: a fuzzing run is open-ended, and CI must stay bounded.
#
#   scripts/fuzz.sh [SECONDS]      default 300; the corpus grows in .build/fuzz/corpus
#
# The corpus is seeded with every sample message in Tests/VigilFormatsTests/Fixtures. A crash
# leaves its input as .build/fuzz/crash-*; reproduce with `.build/fuzz/fuzz-decoders FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
out=.build/fuzz
mkdir -p "$out/corpus"
# Sources/CZlib is zlib's module map (VigilCore's CRC-32C and gzip reading).
flags=(-sanitize=fuzzer,address -parse-as-library -O -g -I "$out" -L "$out" -I Sources/CZlib -package-name vigil)

# Two library modules, then the entry point; compiled here rather than by SwiftPM because
# the instrumented build must not touch the normal one.
swiftc "${flags[@]}" -emit-library -static -emit-module -module-name VigilCore \
    -emit-module-path "$out/VigilCore.swiftmodule" -o "$out/libVigilCore.a" Sources/VigilCore/*.swift
swiftc "${flags[@]}" -emit-library -static -emit-module -module-name VigilFormats \
    -emit-module-path "$out/VigilFormats.swiftmodule" -o "$out/libVigilFormats.a" Sources/VigilFormats/*.swift
swiftc "${flags[@]}" -lVigilFormats -lVigilCore -lz -o "$out/fuzz-decoders" Fuzz/FuzzDecoders.swift

find Tests/VigilFormatsTests/Fixtures -type f ! -name '*.md' -size -64k -exec cp {} "$out/corpus/" \;
cd "$out"
./fuzz-decoders corpus -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
