#!/usr/bin/env bash
# Benchmark of the coordinator's archive view and downloads, against the XNAT test server, with
# curl measured in the same run as the peer.
#
#   benches/archive.sh [SESSIONS] [FILES]   (default 50000 sessions; 2000 CT files, ~1 GB)
#
# listing: the server lists SESSIONS sessions (3 per subject) in project TRIAL. Timed, median of
#   3 rounds: curl of the project's experiment listing (the same request deposit makes, JSON
#   written to /dev/null); `deposit archive sessions --refresh` (the first screen: the subject and
#   experiment listings read, kept in the data home, first page of 50); then pages read from the
#   kept listing: page 2, page 500, the last page, and a filter.
# download: FILES CT files sent into one session (untimed), then, median of 3 rounds, curl of the
#   session's zip (`scans/ALL/files?format=zip`, what the XNAT web UI and xnatpy download) versus
#   `deposit fetch` of the same session (per file, 4 at a time, each checked against the
#   listing's size and MD5, written under a temporary name and renamed).
# kill: `deposit fetch` killed with SIGKILL at 50 % of its downloads (the server's count), then run
#   again: files downloaded twice = downloads of both runs - FILES.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sessions="${1:-50000}"
files="${2:-2000}"
cd "$root"
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth -p deposit-xnat-server
tdir="${CARGO_TARGET_DIR:-$root/target}"
deposit="$tdir/release/deposit"
xsrv="$tdir/release/deposit-xnat-server"

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }
now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
stat_of() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
# timed3 CMD...: median seconds of 3 runs (output discarded)
timed3() {
  for _ in 1 2 3; do
    local t0; t0="$(now)"; "$@" > /dev/null 2>&1; echo "$(now) - $t0" | bc -l
  done | median
}

export DEPOSIT_PASSWORD=wonderland
export DEPOSIT_CONFIG="$work/no-config.toml"

# --- listing ---------------------------------------------------------------------------------
port="$(free_port)"
"$xsrv" "$work/xnat-list" "$port" --list-only "$sessions" > /dev/null 2>&1 &
pids+=("$!")
wait_port "$port"
dest="xnat+http://alice@127.0.0.1:$port?project=TRIAL"
export DEPOSIT_HOME="$work/home-list"
listing="http://127.0.0.1:$port/data/projects/TRIAL/experiments?format=json&columns=ID,label,subject_ID,subject_label,xsiType,date,insert_date"
echo "== listing: $sessions sessions"
t_curl="$(timed3 curl -sf -u alice:wonderland -o /dev/null "$listing")"
bytes="$(curl -sf -u alice:wonderland "$listing" | wc -c)"
t_first="$(timed3 "$deposit" archive sessions --from "$dest" --refresh --json)"
last=$(( (sessions + 49) / 50 ))
t_p2="$(timed3 "$deposit" archive sessions --from "$dest" --page 2 --json)"
t_p500="$(timed3 "$deposit" archive sessions --from "$dest" --page 500 --json)"
t_last="$(timed3 "$deposit" archive sessions --from "$dest" --page "$last" --json)"
t_find="$(timed3 "$deposit" archive sessions --from "$dest" --filter SUBJ0123 --json)"
rss="$( { /usr/bin/time -f '%M' "$deposit" archive sessions --from "$dest" --refresh --json > /dev/null; } 2>&1 | tail -1)"
printf 'curl of the experiment listing (%s KB JSON): %.2f s\n' "$((bytes / 1000))" "$t_curl"
printf 'deposit first screen (list subjects + sessions, keep, page 1): %.2f s (peak RSS %s MB)\n' "$t_first" "$((rss / 1000))"
printf 'deposit page 2: %.3f s, page 500: %.3f s, last page (%s): %.3f s, filter: %.3f s\n' \
  "$t_p2" "$t_p500" "$last" "$t_last" "$t_find"

# --- download --------------------------------------------------------------------------------
corpus="$root/target/bench-corpus/archive-ct-$files"
if [ ! -f "$corpus/manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus (one study)"
  rm -rf "$corpus"
  "$tdir/release/deposit-synth" --out "$corpus" --bulk "$files" --per-study "$files"
fi
port="$(free_port)"
"$xsrv" "$work/xnat" "$port" --stats "$work/stats.json" > /dev/null 2>&1 &
pids+=("$!")
wait_port "$port"
dest="xnat+http://alice@127.0.0.1:$port?project=TRIAL"
export DEPOSIT_HOME="$work/home"
echo "== send $files files (untimed)"
"$deposit" send "$corpus" --to "$dest" --quiet
row="$("$deposit" archive sessions --from "$dest" --refresh --json | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"][0]; print(r["subject"], r["session"])')"
read -r subject session <<< "$row"
total="$(du -sb "$work/xnat/archive" | cut -f1)"
zip="http://127.0.0.1:$port/data/archive/projects/TRIAL/subjects/$subject/experiments/$session/scans/ALL/files?format=zip"
echo "== download: one session, $files files, $((total / 1000000)) MB"
t_zip="$(timed3 curl -sf -u alice:wonderland -o "$work/session.zip" "$zip")"
fetch_once() { rm -rf "$work/dl"; "$deposit" fetch "$subject" "$session" --from "$dest" --out "$work/dl" --quiet; }
t_fetch="$(timed3 fetch_once)"
printf 'curl of the zip: %.2f s (%.0f MB/s); deposit fetch: %.2f s (%.0f MB/s); ratio curl/deposit %.2f\n' \
  "$t_zip" "$(echo "$total / 1000000 / $t_zip" | bc -l)" "$t_fetch" "$(echo "$total / 1000000 / $t_fetch" | bc -l)" \
  "$(echo "$t_zip / $t_fetch" | bc -l)"

# --- kill at 50 % and resume ------------------------------------------------------------------
rm -rf "$work/dl"
before="$(stat_of "$work/stats.json" downloads)"
"$deposit" fetch "$subject" "$session" --from "$dest" --out "$work/dl" --quiet &
fpid=$!
while [ $(( $(stat_of "$work/stats.json" downloads) - before )) -lt $((files / 2)) ]; do sleep 0.01; done
kill -9 "$fpid"; wait "$fpid" 2>/dev/null || true
sleep 0.1
first="$(( $(stat_of "$work/stats.json" downloads) - before ))"
ledger="$(wc -l < "$work/dl/.deposit-fetch.log")"
"$deposit" fetch "$subject" "$session" --from "$dest" --out "$work/dl" --json > "$work/resume.json"
second="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["downloaded"])' "$work/resume.json")"
echo "killed after $first downloads ($ledger in the ledger); the resumed run downloaded $second; files downloaded twice: $((first + second - files))"
