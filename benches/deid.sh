#!/usr/bin/env bash
# Benchmark of `deposit deid` (full de-identification to a folder) against peers on the same
# corpus, same machine, same run, with `cp -r` of the corpus as the physical limit.
#
#   benches/deid.sh [FILES]        (default 10000; corpus shared with benches/scan.sh)
#
# Peers (PyPI, installed into target/bench-venv on first use): dicognito 0.19.0,
# dicom-anonymizer 2.1.0 (Kitware), deid 0.4.13 (pydicom/deid) — each sharded over 2 processes,
# as on this 2-core machine. Prints files/s, MB/s, CPU ms/file and peak RSS per tool, and the
# ratio to cp. Needs: bc, /usr/bin/time.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${1:-10000}"
# DEID_BENCH_SIZE=256 makes 256x256 slices (a quarter of the bytes: a 10,000-file run on a
# small disk); DEID_BENCH_PEERS=0 runs cp and deposit only.
size="${DEID_BENCH_SIZE:-512}"
peers="${DEID_BENCH_PEERS:-1}"
corpus="$root/target/bench-corpus/ct-$files"
[ "$size" != 512 ] && corpus="$corpus-${size}px"
venv="$root/target/bench-venv"
work="$(mktemp -d "$root/target/bench-deid.XXXX")"
trap 'rm -rf "$work"' EXIT

cd "$root"
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth
deposit="$root/target/release/deposit"
# The manifest is kept beside the corpus, so that every tool sees DICOM files only.
[ -f "$corpus/manifest.json" ] && mv "$corpus/manifest.json" "$corpus.manifest.json"
if [ ! -f "$corpus.manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$files" --rows "$size" --cols "$size"
  mv "$corpus/manifest.json" "$corpus.manifest.json"
fi
if [ "$peers" = 1 ] && [ ! -x "$venv/bin/dicognito" ]; then
  echo "== peers into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'dicognito==0.19.0' 'dicom-anonymizer==2.1.0' 'deid==0.4.13'
fi
bytes="$(du -sb "$corpus" | cut -f1)"
mb=$((bytes / 1024 / 1024))
find "$corpus" -name '*.dcm' | sort > "$work/list"
split -n l/2 "$work/list" "$work/shard."
# two shard folders of symlinks for tools that take a folder
for s in "$work"/shard.*; do
  d="$s.d"; mkdir -p "$d"
  n=0; while read -r f; do n=$((n + 1)); ln -s "$f" "$d/$n.dcm"; done < "$s"
done

echo "== warm page cache ($mb MB)"
xargs -a "$work/list" cat > /dev/null

results=()
# run NAME CMD...: wall seconds, CPU seconds, peak RSS of the whole command (children included)
run() {
  local name="$1"; shift
  rm -rf "$work/out"; mkdir -p "$work/out"
  sync
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$@" > "$work/log" 2>&1 || {
    echo "$name failed:"; tail -5 "$work/log"; return 0; }
  read -r wall user sys rss < "$work/time"
  local out_n; out_n="$(find "$work/out" -type f | wc -l)"
  results+=("$name|$wall|$user|$sys|$rss|$out_n")
  echo "   $name: ${wall}s, $out_n files out"
}

# cp and deposit alternate (3 runs each) so that load from other processes hits both alike;
# the table shows each run, and the ratio line compares the medians.
# The data home (site key, catalog) is made once, as on a site after its first run: creating
# it (~20-40 ms of fsyncs) is not part of de-identifying the corpus.
rounds="${DEID_BENCH_ROUNDS:-3}"
mkdir -p "$work/empty"
DEPOSIT_HOME="$work/home" "$deposit" deid "$work/empty" --out "$work/warm" --json --quiet > /dev/null
for i in $(seq "$rounds"); do
  echo "== cp -r (round $i)"
  run "cp -r #$i" cp -r "$corpus" "$work/out/copy"
  echo "== deposit deid (round $i)"
  run "deposit deid #$i" env DEPOSIT_HOME="$work/home" "$deposit" deid "$corpus" --out "$work/out" --json --quiet
done
if [ "$peers" = 1 ]; then
echo "== dicognito (2 processes)"
run "dicognito 0.19.0" sh -c "for d in $work/shard.*.d; do mkdir -p $work/out/\$(basename \$d); $venv/bin/python -m dicognito --quiet --output-directory $work/out/\$(basename \$d) \$d & done; wait"
echo "== dicom-anonymizer (2 processes)"
run "dicom-anonymizer 2.1.0" sh -c "for d in $work/shard.*.d; do mkdir -p $work/out/\$(basename \$d); $venv/bin/dicom-anonymizer \$d $work/out/\$(basename \$d) & done; wait"
echo "== deid (pydicom/deid, 2 processes)"
# (not named deid.py: that would shadow the deid package)
cat > "$work/run_deid.py" <<'PY'
import sys, os
from deid.dicom import replace_identifiers
src, out = sys.argv[1], sys.argv[2]
files = [os.path.join(src, f) for f in sorted(os.listdir(src))]
os.makedirs(out, exist_ok=True)
replace_identifiers(dicom_files=files, save=True, output_folder=out, overwrite=True)
PY
run "deid 0.4.13" sh -c "for d in $work/shard.*.d; do $venv/bin/python $work/run_deid.py \$d $work/out/\$(basename \$d) & done; wait"
fi

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
cp_wall="$(printf '%s\n' "${results[@]}" | grep '^cp -r' | cut -d'|' -f2 | median)"
dep_wall="$(printf '%s\n' "${results[@]}" | grep '^deposit deid' | cut -d'|' -f2 | median)"
printf '\n%-24s %8s %9s %8s %10s %9s %7s %s\n' tool seconds files/s MB/s "CPU ms/f" "RSS MB" out "x cp (wall)"
for r in "${results[@]}"; do
  IFS='|' read -r name wall user sys rss out_n <<< "$r"
  printf '%-24s %8.2f %9.0f %8.0f %10.2f %9.0f %7s %s\n' "$name" "$wall" \
    "$(echo "$files / $wall" | bc -l)" "$(echo "$mb / $wall" | bc -l)" \
    "$(echo "($user + $sys) * 1000 / $files" | bc -l)" "$(echo "$rss / 1024" | bc -l)" "$out_n" \
    "$(echo "scale=2; $wall / $cp_wall" | bc -l)"
done
echo "median wall: cp ${cp_wall}s, deposit deid ${dep_wall}s -> deposit throughput = $(echo "scale=2; $cp_wall / $dep_wall" | bc -l)x cp (target >= 0.8x)"
echo "corpus: $files files, $mb MB; machine: $(nproc) cores; load avg $(cut -d' ' -f1-3 /proc/loadavg)"
echo "note: RSS is the largest single process (for sharded peers: one of the two workers)"
