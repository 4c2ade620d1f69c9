#!/usr/bin/env bash
# Before/after benchmark for a change to the engine: the same commands run by two builds of
# `deposit` on the same corpus, interleaved round by round so that load from other processes hits
# both alike; prints each build's median wall time and peak RSS per step, and after/before.
#
#   benches/before-after.sh REV [FILES]     (REV: the commit to compare with, e.g. HEAD~5;
#                                            default 1000 CT files from `deposit-synth --bulk`)
#
# Steps: scan (catalog only), deid to a folder (the pipeline), send to the folder archive
# (pipeline + queue + archive + verification), send to the project's XNAT test server and to its
# central-CTP stand-in on loopback (the HTTP transport; a fresh server for each run), and inspect
# of one file (the in-memory pipeline), each from an empty data home. BEFORE_BIN=path skips
# building REV (a binary built earlier); BENCH_STEPS="xnat ctp" runs only those steps,
# BENCH_ROUNDS=N sets the rounds (3). Needs: git, /usr/bin/time, bc, python3.
set -euo pipefail

rev="${1:?usage: benches/before-after.sh REV [FILES]}"
files="${2:-1000}"
rounds="${BENCH_ROUNDS:-3}"
steps="${BENCH_STEPS:-scan deid send xnat ctp inspect}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d "$target/bench-ba.XXXX")"
srv_pid=""
trap '[ -n "$srv_pid" ] && kill "$srv_pid" 2>/dev/null; rm -rf "$work"; git -C "$root" worktree remove --force "$work/before-src" >/dev/null 2>&1 || true' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }
# start_srv [--ctp]: a fresh test server on a free port -> $port, $srv_pid
start_srv() {
  port="$(free_port)"; rm -rf "$work/srv"
  "$xsrv" "$work/srv" "$port" "$@" > /dev/null 2>&1 &
  srv_pid=$!; wait_port "$port"
}
stop_srv() { kill "$srv_pid" 2>/dev/null; wait "$srv_pid" 2>/dev/null || true; srv_pid=""; }

echo "== build (release): this tree"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth -p deposit-xnat-server
xsrv="$target/release/deposit-xnat-server"
after="$target/release/deposit"
cp "$after" "$work/deposit-after"
after="$work/deposit-after"
if [ -n "${BEFORE_BIN:-}" ]; then
  before="$BEFORE_BIN"
else
  echo "== build (release): $rev"
  git worktree add --quiet --detach "$work/before-src" "$rev"
  (cd "$work/before-src" && CARGO_TARGET_DIR="$target/before-after" cargo build --release --quiet --bin deposit -p deposit)
  before="$target/before-after/release/deposit"
fi

corpus="$target/bench-corpus/ct-$files"
if [ "$(find "$corpus" -name '*.dcm' 2>/dev/null | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$target/release/deposit-synth" --out "$corpus" --bulk "$files"
fi
[ -f "$corpus/manifest.json" ] && mv "$corpus/manifest.json" "$corpus.manifest.json"
one="$(find "$corpus" -name '*.dcm' | sort | sed -n 1p)"
touch "$work/none.toml"
echo "== warm page cache"
find "$corpus" -name '*.dcm' -print0 | xargs -0 cat > /dev/null

# step NAME BIN: one timed run from an empty data home; appends "name|build|wall|rss"
step() {
  local name="$1" which="$2" bin="$3"
  local home="$work/home-$which"
  rm -rf "$home" "$work/out"; mkdir -p "$work/out"
  local cmd
  case "$name" in
    scan) cmd=("$bin" scan "$corpus" --json --quiet) ;;
    deid) cmd=("$bin" deid "$corpus" --out "$work/out" --json --quiet) ;;
    send) cmd=("$bin" send "$corpus" --to "folder:$work/out" --json --quiet) ;;
    inspect) cmd=("$bin" inspect "$one" --json) ;;
    xnat) start_srv; cmd=("$bin" send "$corpus" --to "xnat+http://alice@127.0.0.1:$port?project=TRIAL" --json --quiet) ;;
    ctp) start_srv --ctp; cmd=("$bin" send "$corpus" --to "ctp+http://127.0.0.1:$port" --json --quiet) ;;
  esac
  sync
  if ! env DEPOSIT_HOME="$home" DEPOSIT_CONFIG="$work/none.toml" DEPOSIT_PASSWORD=wonderland /usr/bin/time -f "%e %M" -o "$work/time" \
      "${cmd[@]}" > "$work/log" 2>&1; then
    echo "$name ($which) failed:"; tail -5 "$work/log"; exit 1
  fi
  [ -n "$srv_pid" ] && stop_srv
  case "$name" in send|xnat|ctp)
    grep -q '"failed":0' "$work/log" || { echo "$name ($which) did not deliver everything: $(head -c 300 "$work/log")"; exit 1; } ;;
  esac
  read -r wall rss < "$work/time"
  echo "$name|$which|$wall|$rss" >> "$work/results"
  echo "   $name $which: ${wall}s, $((rss / 1024)) MB"
}

for i in $(seq "$rounds"); do
  echo "== round $i"
  for s in $steps; do
    # alternate which build goes first
    if [ $((i % 2)) = 1 ]; then step "$s" before "$before"; step "$s" after "$after"
    else step "$s" after "$after"; step "$s" before "$before"; fi
  done
done

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '\n%-8s %12s %12s %10s %14s %14s\n' step "before s" "after s" "after/bef" "before RSS MB" "after RSS MB"
for s in $steps; do
  b="$(grep "^$s|before|" "$work/results" | cut -d'|' -f3 | median)"
  a="$(grep "^$s|after|" "$work/results" | cut -d'|' -f3 | median)"
  br="$(grep "^$s|before|" "$work/results" | cut -d'|' -f4 | median)"
  ar="$(grep "^$s|after|" "$work/results" | cut -d'|' -f4 | median)"
  printf '%-8s %12.2f %12.2f %10.2f %14d %14d\n' "$s" "$b" "$a" "$(echo "scale=3; $a / $b" | bc -l)" \
    "$((br / 1024))" "$((ar / 1024))"
done
echo "before: $rev ($before); after: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'); $files files; $rounds rounds (medians); $(nproc) cores; load avg $(cut -d' ' -f1-3 /proc/loadavg)"
