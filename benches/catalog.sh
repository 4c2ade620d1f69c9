#!/usr/bin/env bash
# The window at catalog scale: 100,000 instances in the catalog (deposit-synth --bulk, 16x16
# slices so the corpus stays small on disk), then the latency of the calls the Studies and
# Inspect screens make — `studies` (every study with its burned-in-risk badge) and
# `study_instances` (the largest study) — through `deposit serve`, i.e. the same api the desktop
# window calls, timed with curl. Five calls each; prints every time and the median.
#
#   benches/catalog.sh            # 100,000 instances
#   benches/catalog.sh 20000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-100000}
cd "$root"
cargo build --release --quiet -p deposit --bin deposit
cargo build --release --quiet -p deposit-synth
corpus="$root/target/bench-corpus/tiny-$n"
if [ ! -f "$corpus/manifest.json" ]; then
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$n" --rows 16 --cols 16 >/dev/null
fi
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT
export DEPOSIT_HOME="$work/home" DEPOSIT_CONFIG="$work/none.toml" DEPOSIT_WEB_PASSWORD=bench-password
start=$(date +%s.%N)
"$root/target/release/deposit" scan "$corpus" --quiet --json >/dev/null
echo "scan of $n files into a fresh catalog: $(echo "$(date +%s.%N) - $start" | bc) s"
mkdir -p "$work/ui" && echo '<!doctype html><title>bench</title>' >"$work/ui/index.html"
"$root/target/release/deposit" serve --port 0 --ui "$work/ui" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do grep -q 'http://' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.log" | head -1)
curl -s -c "$work/cookies" -H 'X-Deposit: 1' -H 'Content-Type: application/json' \
  -d '{"password":"bench-password"}' "$url/auth/login" >/dev/null
call() { # call NAME JSON → seconds
  curl -s -o "$work/out.json" -w '%{time_total}' -b "$work/cookies" -H 'X-Deposit: 1' \
    -H 'Content-Type: application/json' -d "$2" "$url/api/$1"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
times=$(for _ in 1 2 3 4 5; do call studies '{}'; echo; done)
studies=$(python3 -c "import json;print(len(json.load(open('$work/out.json'))['data']))")
echo "studies ($studies studies, $n instances): $(echo $times) s — median $(echo "$times" | median) s"
uid=$(python3 -c "
import json
rows=json.load(open('$work/out.json'))['data']
print(max(rows, key=lambda r: r['study']['instances'])['study']['study_uid'])")
times=$(for _ in 1 2 3 4 5; do call study_instances "{\"study_uid\":\"$uid\"}"; echo; done)
count=$(python3 -c "import json;print(len(json.load(open('$work/out.json'))['data']))")
echo "study_instances (largest study, $count instances): $(echo $times) s — median $(echo "$times" | median) s"
