#!/usr/bin/env bash
# The window at catalog scale, in the real app (release build) under Xvfb through tauri-driver:
# 100,000 instances catalogued in two shapes — 500 studies of 200 images, and the widest list the
# synthetic corpus allows (50,000 patients, so 2 images a study at 100,000) — then what a person
# waits for: the studies counted in the step
# list after launch, the Studies screen drawn, a jump to the end of the list drawn, Inspect of the
# first study; and the page's DOM nodes (src-tauri/examples/window_scale.rs).
# Baseline in the same run: the same catalog's `studies` call alone through `deposit serve`
# (curl), i.e. the engine's share of the wait.
#
#   benches/window.sh            # 100,000 instances, 3 launches per shape
#   benches/window.sh 20000 5
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
runs=${2:-3}
cd "$root"
# the app as packaged (installers/build-packages.sh builds it the same way)
cargo build --release --quiet -p deposit --bin deposit
cargo build --release --quiet -p deposit-synth
ui/node_modules/.bin/tauri build --no-bundle >/dev/null 2>&1
cargo build --release --quiet -p deposit-app --example window_scale
work=$(mktemp -d)
trap 'kill "${server:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
wide=$(( (n + 49999) / 50000 ))  # deposit-synth's canaries allow 50,000 patients
for shape in 200 "$wide"; do
  corpus="$root/target/bench-corpus/tiny-$n"
  [ "$shape" = 200 ] || corpus="$root/target/bench-corpus/wide-$n-$shape"
  if [ ! -f "$corpus/manifest.json" ]; then
    rm -rf "$corpus"
    "$root/target/release/deposit-synth" --out "$corpus" --bulk "$n" --per-study "$shape" \
      --rows 16 --cols 16 >/dev/null
  fi
  home="$work/home-$shape"
  DEPOSIT_HOME="$home" DEPOSIT_CONFIG="$work/none.toml" \
    "$root/target/release/deposit" scan "$corpus" --quiet --json >/dev/null
  echo "== $n instances, up to $shape per study"
  # the engine's share: the same call through deposit serve
  mkdir -p "$work/ui" && echo '<!doctype html><title>bench</title>' >"$work/ui/index.html"
  DEPOSIT_HOME="$home" DEPOSIT_CONFIG="$work/none.toml" DEPOSIT_WEB_PASSWORD=bench-password \
    "$root/target/release/deposit" serve --port 0 --ui "$work/ui" 2>"$work/serve.log" &
  server=$!
  for _ in $(seq 100); do grep -q 'http://' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
  url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
  curl -s -c "$work/cookies" -H 'X-Deposit: 1' -H 'Content-Type: application/json' \
    -d '{"password":"bench-password"}' "$url/auth/login" >/dev/null
  times=$(for _ in 1 2 3; do
    curl -s -o /dev/null -w '%{time_total}\n' -b "$work/cookies" -H 'X-Deposit: 1' \
      -H 'Content-Type: application/json' -d '{}' "$url/api/studies"; done | sort -n)
  echo "engine alone: studies call $(echo $times) s (median $(echo "$times" | sed -n 2p) s)"
  kill "$server"; wait "$server" 2>/dev/null || true
  "$root/target/release/examples/window_scale" --app "$root/target/release/deposit-app" \
    --home "$home" --runs "$runs"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
