#!/usr/bin/env bash
# Every shipped detector in one pipeline — the typology library, online anomaly scoring and
# watchlist screening — and its throughput as a share of the pass-through's, the figure of the
# throughput issue's 50 % target. No shipped pipeline has them all (each feature keeps its own
# file), so this one is assembled from them: pipelines/typologies.yaml as it is, the anomaly:
# section of pipelines/anomaly.yaml, the screening: section of pipelines/screening.yaml (with
# its sample list or the lists given), and three typologies that weigh the anomaly, dormancy and
# screening findings (with typologies, only typologies alert).
#
#   scripts/every-detector.sh [--list NAME=FILE]... [--print] [BENCH OPTIONS...]
#
# Screening uses the shipped sample list unless --list names others (the UN list's XML, an OFAC
# SDN folder or sdn.csv: see README, Watchlist screening). --print writes the pipeline to
# standard output and stops; otherwise it is checked and benchmarked with
# `vigil bench --mode share` (default options: --events 1000000 --rounds 3).
set -euo pipefail
cd "$(dirname "$0")/.."
lists=()
print=no
while [ $# -gt 0 ]; do
    case "$1" in
        --list) lists+=("${2:?--list needs NAME=FILE}"); shift 2 ;;
        --print) print=yes; shift ;;
        *) break ;;
    esac
done
[ ${#lists[@]} -gt 0 ] || lists=("sample=$PWD/pipelines/lists/watchlist-sample.csv")

# The typology library reads its country lists relative to itself: absolute paths here.
pipeline=$(sed -e 's/^  name: typologies$/  name: every-detector/' -e "s#: lists/#: $PWD/pipelines/lists/#" pipelines/typologies.yaml)
case "$(grep -n '^[a-z]' pipelines/typologies.yaml | tail -1)" in
    *:typologies:) ;;
    *) echo "every-detector.sh: typologies: is no longer the last section of pipelines/typologies.yaml" >&2; exit 1 ;;
esac
yaml=$(
    echo "$pipeline"
    # These join the typologies: list, the file's last section. Each alerts on any finding of its
    # stage: a typology's sum is weight × the finding's score, and the stages raise findings from
    # 0.85 (pipelines/anomaly.yaml) and 0.8 (pipelines/screening.yaml); a dormancy finding scores 1.
    echo "  - { id: anomalous-payment, version: 1, rules: { anomaly: 1 }, threshold: 0.85 }"
    echo "  - { id: dormant-account-active, version: 1, rules: { dormant-account: 1 }, threshold: 1 }"
    echo "  - { id: sanctions-hit, version: 1, rules: { watchlist: 1 }, threshold: 0.8 }"
    echo
    sed -n '/^anomaly:/,$p' pipelines/anomaly.yaml
    echo
    # The screening section of pipelines/screening.yaml, its lists those given (it ends with them).
    sed -n '/^screening:/,/^  lists:/p' pipelines/screening.yaml
    for l in "${lists[@]}"; do
        name=${l%%=*} file=${l#*=}
        [ -e "$file" ] || { echo "every-detector.sh: --list $l: no such file" >&2; exit 1; }
        echo "    $name: $(realpath "$file")"
    done
)
if [ "$print" = yes ]; then
    echo "$yaml"
    exit 0
fi
dir=$(mktemp -d -t vigil-every.XXXXXX)
trap 'rm -rf "$dir"' EXIT
echo "$yaml" > "$dir/every-detector.yaml"
swift build -c release --product vigil
.build/release/vigil validate "$dir/every-detector.yaml"
[ $# -gt 0 ] || set -- --events 1000000 --rounds 3
.build/release/vigil bench --mode share --pipeline "$dir/every-detector.yaml" "$@"
