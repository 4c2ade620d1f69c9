#!/usr/bin/env bash
# Benchmark of `deposit scan` against peers on the same corpus, same machine, same run.
#
#   benches/scan.sh [FILES]        (default 10000; corpus reused from target/bench-corpus)
#
# Builds the release binaries, generates the CT corpus with `deposit-synth --bulk FILES`
# (512x512 int16, ~530 KB per file), warms the page cache, then times:
#   deposit scan --json --quiet          (fresh DEPOSIT_HOME; then a re-scan, files unchanged)
#   dcmdump -M                           (dcmtk, xargs -P2, output discarded)
#   pydicom dcmread(stop_before_pixels)  (2 processes)
# and prints files/s for each and the ratio deposit/peer. Needs dcmtk; pydicom through
# $DEPOSIT_PYTHON (default: target/pyenv/bin/python, else python3).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${1:-10000}"
corpus="$root/target/bench-corpus/ct-$files"
py="${DEPOSIT_PYTHON:-$root/target/pyenv/bin/python}"
[ -x "$py" ] || py=python3

cd "$root"
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth
deposit="$root/target/release/deposit"

if [ ! -f "$corpus/manifest.json" ] && [ ! -f "$corpus.manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$files"
fi
list="$(mktemp)"; home="$(mktemp -d)"; export DEPOSIT_HOME="$home"
trap 'rm -rf "$list" "$home"' EXIT
find "$corpus" -name '*.dcm' | sort > "$list"
bytes="$(du -sb "$corpus" | cut -f1)"

echo "== warm page cache ($((bytes / 1024 / 1024)) MB)"
xargs -a "$list" cat > /dev/null

# seconds (wall) of a command, to stdout; the command's own output goes to /dev/null
timed() {
  local t0 t1
  t0="$(date +%s.%N)"
  "$@" > /dev/null
  t1="$(date +%s.%N)"
  echo "$t1 - $t0" | bc -l
}
rate() { echo "scale=0; $files / $1" | bc -l; }

echo "== deposit scan"
t_dep="$(timed "$deposit" scan --json --quiet "$corpus")"
"$deposit" scan --json --quiet "$corpus" > "$home/rescan.json" &&
  t_re="$(timed "$deposit" scan --json --quiet "$corpus")"
grep -q "\"instances\":$files" "$home/rescan.json" || {
  echo "deposit scan did not report $files instances: $(head -c 300 "$home/rescan.json")" >&2
  exit 1
}

echo "== dcmdump -M (xargs -P2)"
t_dcm="$(timed xargs -a "$list" -P2 -n 100 dcmdump -M -q)"

echo "== pydicom stop_before_pixels (2 processes)"
t_py="$(timed "$py" - "$list" <<'PY'
import sys
from multiprocessing import Pool
import pydicom

def read(paths):
    n = 0
    for p in paths:
        ds = pydicom.dcmread(p, stop_before_pixels=True)
        n += bool(ds.SOPInstanceUID)
    return n

paths = [l.strip() for l in open(sys.argv[1]) if l.strip()]
chunks = [paths[i::2] for i in range(2)]
with Pool(2) as pool:
    assert sum(pool.map(read, chunks)) == len(paths)
PY
)"

r_dep="$(rate "$t_dep")"; r_re="$(rate "$t_re")"; r_dcm="$(rate "$t_dcm")"; r_py="$(rate "$t_py")"
ratio() { echo "scale=2; $1 / $2" | bc -l; }
printf '\n%-34s %10s %10s %s\n' "tool" "seconds" "files/s" "deposit/peer"
printf '%-34s %10.2f %10s %s\n' "deposit scan (fresh catalog)" "$t_dep" "$r_dep" "-"
printf '%-34s %10.2f %10s %s\n' "deposit scan (re-scan, unchanged)" "$t_re" "$r_re" "-"
printf '%-34s %10.2f %10s %s\n' "dcmdump -M, xargs -P2" "$t_dcm" "$r_dcm" "$(ratio "$r_dep" "$r_dcm")"
printf '%-34s %10.2f %10s %s\n' "pydicom stop_before_pixels, 2 proc" "$t_py" "$r_py" "$(ratio "$r_dep" "$r_py")"
echo "corpus: $files files, $((bytes / 1024 / 1024)) MB, $corpus; machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
