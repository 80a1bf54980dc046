#!/usr/bin/env bash
# Behaviour-preservation check for refactors: write the reports of every
# corpus binary (and, with --libc, of Debian's arm64 and ppc64el libc.so.6)
# with one probesafe binary, then compare them with those of another.
#
#   harness/same-reports.sh write PROBESAFE OUTDIR [--libc]
#   harness/same-reports.sh compare OLD_OUTDIR NEW_OUTDIR
#
# `write` runs, per binary: scan with emulation in the per-point and the
# folded JSON form, SARIF, JUnit, JSON Lines, text and blacklist; fuzz with
# four cases; survey; and machinery on the kernel images. `compare` lists
# every file whose bytes differ and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
write)
    bin=$(realpath "$2")
    out=$3
    libc=${4:-}
    mkdir -p "$out"
    elves=()
    for f in corpora/*/*; do
        [ -f "$f" ] || continue
        [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
        elves+=("$f")
    done
    if [ "$libc" = --libc ]; then
        # shellcheck source=harness/libc.sh
        . harness/libc.sh
        elves+=("$(fetch_libc arm64 aarch64-linux-gnu)" "$(fetch_libc ppc64el powerpc64le-linux-gnu)")
    fi
    one() {
        local bin=$1 out=$2 f=$3
        local tag=${f//\//_}
        local base="$out/$tag"
        "$bin" scan --per-point --format json "$f" >"$base.scan-per-point.json" 2>"$base.scan.err" || echo "exit $?" >>"$base.scan.err"
        "$bin" scan --format json "$f" >"$base.scan.json" 2>/dev/null || true
        for fmt in sarif junit jsonl text blacklist; do
            "$bin" scan --static-only --format "$fmt" "$f" >"$base.static.$fmt" 2>&1 || echo "exit $?" >>"$base.static.$fmt"
        done
        case "$f" in
        */libc*) ;;
        *)
            "$bin" fuzz --cases 4 --format json "$f" >"$base.fuzz.json" 2>&1 || echo "exit $?" >>"$base.fuzz.json"
            ;;
        esac
        "$bin" survey "$f" >"$base.survey.txt" 2>&1 || echo "exit $?" >>"$base.survey.txt"
        case "$f" in
        *vmlinux* | *kimage* | *machinery*)
            "$bin" machinery "$f" >"$base.machinery.txt" 2>&1 || echo "exit $?" >>"$base.machinery.txt"
            ;;
        esac
    }
    export -f one
    printf '%s\n' "${elves[@]}" | xargs -P 2 -I{} bash -c 'one "$@"' _ "$bin" "$out" {}
    echo "$(ls "$out" | wc -l) reports in $out"
    ;;
compare)
    old=$2
    new=$3
    status=0
    for f in "$old"/*; do
        n="$new/$(basename "$f")"
        if [ ! -f "$n" ]; then
            echo "missing: $(basename "$f")"
            status=1
        elif ! cmp -s "$f" "$n"; then
            echo "differs: $(basename "$f")"
            status=1
        fi
    done
    for n in "$new"/*; do
        [ -f "$old/$(basename "$n")" ] || { echo "extra: $(basename "$n")"; status=1; }
    done
    [ $status = 0 ] && echo "identical: $(ls "$old" | wc -l) reports"
    exit $status
    ;;
*)
    sed -n '2,12p' "$0"
    exit 2
    ;;
esac
