#!/usr/bin/env bash
# Hostile input: peak RSS and wall time of each case of the generated hostile corpus
# (tests/support/hostile.rs: nesting 2,500 deep in every encoding, 4 GB false lengths in every
# encoding, the 1 MB -> 1 GiB deflate bomb, truncated values, a FIFO, a DICOMDIR record naming a
# FIFO, /dev/zero) through `deposit scan`, `inspect`, `preview` and `deid`, one object per run,
# each under /usr/bin/time -v with a 120 s timeout. Target: <= 256 MB per hostile object.
#
#   benches/hostile.sh            (release build; DEPOSIT_BIN=path uses that binary instead)
#
# Prints one line per case and command: exit status, reason seen, peak RSS (MB), wall time (s);
# a line is flagged OVER when the peak passes 256 MB, HUNG when the timeout fired. Needs:
# /usr/bin/time, timeout, cargo (to write the corpus with the test generator).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
if [ -z "${DEPOSIT_BIN:-}" ]; then
    cargo build --release --bin deposit >&2
    DEPOSIT_BIN="$target/release/deposit"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
DEPOSIT_HOSTILE_OUT="$work/corpus" cargo test --test integration \
    hostile::write_corpus_for_the_benchmark -- --ignored --exact >/dev/null 2>&1 \
    || DEPOSIT_HOSTILE_OUT="$work/corpus" cargo test --test integration \
        hostile::write_corpus_for_the_benchmark -- --ignored >&2
limit_kb=$((256 * 1024))

measure() { # name, deposit args...
    local name="$1"; shift
    local home="$work/home-$RANDOM"
    mkdir -p "$home"
    local status=0
    DEPOSIT_HOME="$home" DEPOSIT_CONFIG="$home/none.toml" DEPOSIT_LOG=error \
        timeout 120 /usr/bin/time -v -o "$work/time" "$DEPOSIT_BIN" "$@" \
        >"$work/out" 2>"$work/err" </dev/null || status=$?
    local rss wall reason flag=""
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time" 2>/dev/null || echo 0)
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time" 2>/dev/null || echo "?")
    reason=$(grep -o -E 'too_deep|inflation_limit|truncated|not_regular_file|corrupt|bad_file_meta|nested deeper|deflate bomb|not a regular file|file meta|could not be parsed' \
        "$work/out" "$work/err" 2>/dev/null | head -1 | cut -d: -f2 || true)
    [ "$status" = 124 ] && flag="HUNG"
    [ "${rss:-0}" -gt "$limit_kb" ] && flag="$flag OVER"
    printf '%-26s %-8s exit %-3s %-22s %7.1f MB %10s %s\n' "$name" "$1" "$status" \
        "${reason:--}" "$(echo "${rss:-0} / 1024" | bc -l)" "$wall" "$flag"
}

printf '%-26s %-8s %-8s %-22s %10s %10s\n' case command status reason "peak RSS" wall
for f in "$work"/corpus/*; do
    name="$(basename "$f")"
    [ -d "$f" ] && continue
    measure "$name" scan --json "$f"
    measure "$name" inspect "$f" --json
    measure "$name" preview "$f" --out "$work/p.png"
    mkdir -p "$work/deid-out"
    measure "$name" deid "$f" --out "$work/deid-out" --json
done
measure "media/DICOMDIR (FIFO)" scan --json "$work/corpus/media/DICOMDIR"
measure "/dev/zero" inspect /dev/zero --json
measure "/dev/zero" preview /dev/zero --out "$work/p.png"

# --- the receiver: each hostile file sent with dcmtk's storescu (its own association), then the
# good file; the receiver's peak RSS over all of them, and whether it still stored the good one.
if command -v storescu >/dev/null; then
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    home="$work/home-receive"; mkdir -p "$home"
    DEPOSIT_HOME="$home" DEPOSIT_CONFIG="$home/none.toml" DEPOSIT_LOG=error \
        /usr/bin/time -v -o "$work/time-receive" "$DEPOSIT_BIN" receive --port "$port" --aet DEPOSIT \
        >"$work/receive.out" 2>"$work/receive.err" &
    tpid=$!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    printf '\n%-26s %-10s %s\n' "case (C-STORE)" "storescu" "seconds"
    for f in "$work"/corpus/*; do
        [ -f "$f" ] || continue
        name="$(basename "$f")"; [ "$name" = good.dcm ] && continue
        t0=$(date +%s.%N); st=0
        timeout 120 storescu -aec DEPOSIT 127.0.0.1 "$port" "$f" >/dev/null 2>&1 || st=$?
        printf '%-26s exit %-5s %.2f\n' "$name" "$st" "$(echo "$(date +%s.%N) - $t0" | bc -l)"
    done
    st=0; storescu -aec DEPOSIT 127.0.0.1 "$port" "$work/corpus/good.dcm" >/dev/null 2>&1 || st=$?
    stored=$(find "$home/incoming" -name '*.dcm' -not -path "$home/incoming/tmp/*" 2>/dev/null | wc -l)
    kill -TERM "$(pgrep -P "$tpid")" 2>/dev/null || true
    wait "$tpid" 2>/dev/null || true
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time-receive" 2>/dev/null || echo 0)
    printf 'receiver: peak RSS %.1f MB over every hostile C-STORE; the good file after them: storescu exit %s, %s instance(s) stored%s\n' \
        "$(echo "${rss:-0} / 1024" | bc -l)" "$st" "$stored" "$([ "${rss:-0}" -gt "$limit_kb" ] && echo ' OVER')"
fi
