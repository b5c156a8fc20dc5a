#!/usr/bin/env bash
# Fuzzes Vigil's readers of untrusted input with libFuzzer and AddressSanitizer (both ship with
# the Swift toolchain). Not part of the tests: a fuzzing run is open-ended, and CI must stay
# bounded.
#
#   scripts/fuzz.sh [decoders|screening] [SECONDS]      default: decoders, 300 s
#
# decoders   every feed decoder (Fuzz/FuzzDecoders.swift); the corpus is seeded with every
#            sample message in Tests/VigilFormatsTests/Fixtures.
# screening  names screened and matched, and list files loaded (Fuzz/FuzzScreening.swift);
#            seeded with the screening fixtures' small files (lists and name pairs).
#
# The corpus grows in .build/fuzz/corpus-TARGET. A crash leaves its input as
# .build/fuzz/crash-*; reproduce with `.build/fuzz/fuzz-TARGET FILE` (from .build/fuzz).
set -euo pipefail
cd "$(dirname "$0")/.."
target=decoders
if [[ "${1:-}" == decoders || "${1:-}" == screening ]]; then target="$1"; shift; fi
seconds="${1:-300}"
out=.build/fuzz
mkdir -p "$out/corpus-$target"
# The package's language mode (Swift 6); Sources/CZlib is zlib's module map (VigilCore's CRC-32C and
# gzip reading), Sources/CPrefetch the prefetch hint's (VigilScreen's index lookups).
flags=(-swift-version 6 -sanitize=fuzzer,address -parse-as-library -O -g -I "$out" -L "$out" -I Sources/CZlib -I Sources/CPrefetch -package-name vigil)

# The library modules, then the entry point; compiled here rather than by SwiftPM because the
# instrumented build must not touch the normal one.
library() {
    swiftc "${flags[@]}" -emit-library -static -emit-module -module-name "$1" \
        -emit-module-path "$out/$1.swiftmodule" -o "$out/lib$1.a" Sources/"$1"/*.swift
}
library VigilCore
library VigilFormats
case "$target" in
decoders)
    swiftc "${flags[@]}" -lVigilFormats -lVigilCore -lz -o "$out/fuzz-decoders" Fuzz/FuzzDecoders.swift
    find Tests/VigilFormatsTests/Fixtures -type f ! -name '*.md' -size -64k -exec cp {} "$out/corpus-$target/" \;
    ;;
screening)
    library VigilScreen
    swiftc "${flags[@]}" -lVigilScreen -lVigilFormats -lVigilCore -lz -o "$out/fuzz-screening" Fuzz/FuzzScreening.swift
    find Tests/VigilScreenTests/Fixtures -type f ! -name '*.md' -size -64k -exec cp {} "$out/corpus-$target/" \;
    # Name pairs in every script the benchmark has, one seed each (name1, then name2).
    python3 -c '
import csv, sys
for i, row in enumerate(csv.DictReader(open(sys.argv[1], encoding="utf-8"))):
    open(f"{sys.argv[2]}/pair-{i}", "w", encoding="utf-8").write(row["name1"] + "\n" + row["name2"])
' Tests/VigilScreenTests/Fixtures/cases.csv "$out/corpus-$target"
    export VIGIL_FUZZ_LIST="$PWD/Tests/VigilScreenTests/Fixtures/UN_consolidated.xml"
    ;;
esac
# Foundation (swift-foundation of Swift 6.3) leaks the 4 KiB buffer it reads an empty file
# into (FileManager.contents(atPath:)); not Vigil's, and a list reload of an empty file is
# refused anyway. Only that frame is suppressed; any other leak still stops the run.
printf 'leak:readBytesFromFile\n' > "$out/lsan.supp"
export LSAN_OPTIONS="suppressions=$PWD/$out/lsan.supp"
cd "$out"
"./fuzz-$target" "corpus-$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
