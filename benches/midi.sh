#!/usr/bin/env bash
# MIDI-B-style scores on the project's hard corpus (`deposit-synth midi`): Deposit in its modes
# and the PyPI peers, scored by the same scorer (`deposit-synth score`) in the same run.
#
#   benches/midi.sh
#
# Peers (PyPI, installed into target/bench-venv on first use, the same pins as benches/deid.sh):
# dicognito 0.19.0 (`python -m dicognito --output-directory OUT IN`, its defaults),
# dicom-anonymizer 2.1.0 (Kitware; `dicom-anonymizer IN OUT`, its default PS3.15 basic rules),
# deid 0.4.13 (pydicom/deid; `replace_identifiers` with its default recipe). Each peer is
# scored under the `default` mode's expectations (the burned-in ultrasound and the PDF are
# expected held; a peer that delivers them is scored on what it delivered).
# MIDI_BENCH_BUILD=debug uses debug binaries (the scores do not depend on the build);
# MIDI_BENCH_PEERS=0 runs Deposit only. Needs the sample corpus (DEPOSIT_SAMPLES or
# tests/data/samples) for the real JPEG and J2K frames.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
build="${MIDI_BENCH_BUILD:-release}"
peers="${MIDI_BENCH_PEERS:-1}"
samples="${DEPOSIT_SAMPLES:-$root/tests/data/samples}"
venv="$root/target/bench-venv"
mkdir -p "$root/target"
work="$(mktemp -d "$root/target/bench-midi.XXXX")"
trap 'rm -rf "$work"' EXIT

cd "$root"
echo "== build ($build)"
if [ "$build" = release ]; then
  cargo build --release --quiet --bin deposit -p deposit
  cargo build --release --quiet -p deposit-synth
else
  cargo build --quiet --bin deposit -p deposit
  cargo build --quiet -p deposit-synth
fi
deposit="$target/$build/deposit"
synth="$target/$build/deposit-synth"

echo "== corpus"
"$synth" midi --out "$work/corpus" --samples "$samples"
corpus="$work/corpus"
# one flat folder of symlinks for the peers (not every peer walks sub-folders)
mkdir -p "$work/flat"
n=0
while read -r f; do n=$((n + 1)); ln -s "$f" "$work/flat/$n.dcm"; done \
  < <(find "$corpus/dicom" -type f | sort)

if [ "$peers" = 1 ] && [ ! -x "$venv/bin/dicognito" ]; then
  echo "== peers into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    'dicognito==0.19.0' 'dicom-anonymizer==2.1.0' 'deid==0.4.13'
fi

rows=()
# score TOOL MODE OUT [HELD]: appends a row and keeps the text report
score() {
  local tool="$1" mode="$2" out="$3" held="${4:-}"
  local args=(score --corpus "$corpus" --output "$out" --mode "$mode" --tool "$tool")
  [ -n "$held" ] && args+=(--held "$held")
  "$synth" "${args[@]}" | tee -a "$work/reports.txt" | head -1
  "$synth" "${args[@]}" --json > "$work/score.json"
  rows+=("$(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("|".join(str(x) for x in [sys.argv[2], r["mode"], "%.2f" % r["score"], r["passed"], r["checks"],
  len(r["leaked_placements"]), len(r["leaks"]), "%d/%d" % (r["delivered"], r["objects"])]))
' "$work/score.json" "$tool")")
}

run_deposit() {
  local mode="$1"; shift
  rm -rf "$work/out-$mode" "$work/home-$mode"
  echo "== deposit ($mode)"
  DEPOSIT_HOME="$work/home-$mode" DEPOSIT_CONFIG="$work/no-config.toml" \
    "$deposit" deid "$corpus/dicom" --out "$work/out-$mode" --json --quiet "$@" \
    > "$work/deid-$mode.json" || true
  score "deposit" "$mode" "$work/out-$mode" "$work/deid-$mode.json"
}
run_deposit default
run_deposit masks --masks "$corpus/masks.toml"
run_deposit lookup --lookup "$corpus/lookup.csv"
run_deposit ctp --profile "$root/tests/data/ctp/scripts/DICOM-PS3.15-Basic.script"
run_deposit shifted --profile research-longitudinal

if [ "$peers" = 1 ]; then
  echo "== dicognito 0.19.0"
  mkdir -p "$work/out-dicognito"
  "$venv/bin/python" -m dicognito --quiet --output-directory "$work/out-dicognito" "$work/flat" \
    > "$work/log-dicognito" 2>&1 || tail -3 "$work/log-dicognito"
  score "dicognito 0.19.0" default "$work/out-dicognito"
  echo "== dicom-anonymizer 2.1.0"
  mkdir -p "$work/out-dicom-anonymizer"
  "$venv/bin/dicom-anonymizer" "$work/flat" "$work/out-dicom-anonymizer" \
    > "$work/log-dicom-anonymizer" 2>&1 || tail -3 "$work/log-dicom-anonymizer"
  score "dicom-anonymizer 2.1.0" default "$work/out-dicom-anonymizer"
  echo "== deid 0.4.13"
  cat > "$work/run_deid.py" <<'PY'
import sys, os
from deid.dicom import replace_identifiers
src, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for f in sorted(os.listdir(src)):
    try:
        replace_identifiers(dicom_files=[os.path.join(src, f)], save=True, output_folder=out,
                            overwrite=True)
    except Exception as e:  # one bad file must not stop the others
        print("deid failed on", f, type(e).__name__, file=sys.stderr)
PY
  "$venv/bin/python" "$work/run_deid.py" "$work/flat" "$work/out-deid" \
    > "$work/log-deid" 2>&1 || tail -3 "$work/log-deid"
  score "deid 0.4.13" default "$work/out-deid"
fi

printf '\n%-24s %-8s %8s %13s %9s %6s %10s\n' tool mode score checks "leaked pl." leaks delivered
for r in "${rows[@]}"; do
  IFS='|' read -r tool mode sc passed checks lp leaks dl <<< "$r"
  printf '%-24s %-8s %7s%% %6s/%-6s %9s %6s %10s\n' "$tool" "$mode" "$sc" "$passed" "$checks" "$lp" "$leaks" "$dl"
done
echo
echo "== leaks and failed checks per tool"
grep -v '^$' "$work/reports.txt"
echo "corpus: $(find "$corpus/dicom" -type f | wc -l) objects; $(date -u +%F)"
