#!/usr/bin/env bash
# Benchmark of C-STORE delivery: deposit's SCU versus dcmtk `storescu`, same de-identified
# files, same peer, same run.
#
#   benches/deliver.sh [FILES]      (default 400; CT 512x512 from `deposit-synth --bulk`)
#
# For each peer (dcmtk storescp, then Orthanc) it:
#   1. sends the corpus to the peer's port while the peer is down, so `deposit send` does the
#      de-identification into the outbox and leaves the job waiting (its retries cost ~20 s per
#      study, not timed);
#   2. starts the peer and times `deposit queue run` (delivery + verification only);
#   3. times `storescu +sd +r -nh` of the same outbox files into a fresh peer;
# and prints files/s, MB/s and the ratio deposit/storescu. Then the same for STOW-RS to
# Orthanc's DICOMweb plugin: `deposit queue run` versus curl POSTing the same multipart bodies
# (built beforehand, 100 files each, untimed). Needs dcmtk, Orthanc (+ DICOMweb plugin), curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${1:-400}"
corpus="$root/target/bench-corpus/ct-$files"
cd "$root"
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth
deposit="$root/target/release/deposit"
if [ ! -f "$corpus/manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$files"
fi

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }
timed() { local t0 t1; t0="$(date +%s.%N)"; "$@" > /dev/null 2>&1; t1="$(date +%s.%N)"; echo "$t1 - $t0" | bc -l; }
fmt() { printf '%.1f' "$1"; }

# start_peer KIND NAME PORT -> pid in $peer_pid
start_peer() {
  local kind="$1" name="$2" port="$3" dir="$work/$2"
  mkdir -p "$dir/db" "$dir/out"
  if [ "$kind" = storescp ]; then
    storescp -aet STORESCP +xa -od "$dir/out" "$port" > "$dir/log" 2>&1 &
    peer_pid=$!
  else
    local http="${4:-}"; [ -n "$http" ] || http="$(free_port)"
    cat > "$dir/orthanc.json" <<EOF
{"Name":"bench","StorageDirectory":"$dir/db","IndexDirectory":"$dir/db","HttpPort":$http,
 "DicomPort":$port,"DicomAet":"ORTHANC","DicomCheckCalledAet":true,"RemoteAccessAllowed":false,
 "DicomAlwaysAllowStore":false,"DicomAlwaysAllowEcho":false,"DicomCheckModalityHost":true,
 "DicomModalities":{"deposit":["DEPOSIT","127.0.0.1",11112],"storescu":["STORESCU","127.0.0.1",11113]},
 "Plugins":["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
 "DicomWeb":{"Enable":true,"Root":"/dicom-web/"},"StorageCompression":false}
EOF
    Orthanc --logdir="$dir" "$dir/orthanc.json" > "$dir/log" 2>&1 &
    peer_pid=$!
  fi
  pids+=("$peer_pid")
  wait_port "$port"
  if [ -n "${4:-}" ]; then wait_port "$4"; fi
}

printf '\n%-10s %8s %12s %12s %12s %8s\n' peer files deposit/s storescu/s "MB/s dep" ratio
results=()
for kind in storescp orthanc; do
  aet=STORESCP; [ "$kind" = orthanc ] && aet=ORTHANC
  home="$work/home-$kind"; port="$(free_port)"
  export DEPOSIT_HOME="$home"
  # 1. prepare (de-identify) while the peer is down: the job waits
  set +e
  "$deposit" send "$corpus" --to "dicom://$aet@127.0.0.1:$port" --json --quiet --offline-wait 0 > "$work/send-$kind.json" 2>/dev/null
  set -e
  grep -q '"waiting":[1-9]' "$work/send-$kind.json" || { echo "expected a waiting job: $(head -c 300 "$work/send-$kind.json")" >&2; exit 1; }
  n="$(find "$home/outbox" -name '*.dcm' | wc -l)"
  bytes="$(find "$home/outbox" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')"
  xargs -a <(find "$home/outbox" -name '*.dcm') cat > /dev/null
  # 2. deposit delivers
  start_peer "$kind" "$kind-dep" "$port"
  t_dep="$(timed sh -c "'$deposit' queue run --json --quiet > '$work/run-$kind.json'")"
  grep -q '"waiting":0' "$work/run-$kind.json" && grep -q "\"verified\":$n" "$work/run-$kind.json" ||
    { echo "deposit did not deliver all: $(head -c 300 "$work/run-$kind.json")" >&2; exit 1; }
  # 3. storescu, same files, fresh peer
  port2="$(free_port)"
  start_peer "$kind" "$kind-scu" "$port2"
  t_scu="$(timed storescu -aet STORESCU -aec "$aet" +sd +r -nh 127.0.0.1 "$port2" "$home/outbox")"
  if [ "$kind" = storescp ]; then
    got_dep="$(find "$work/$kind-dep/out" -type f | wc -l)"; got_scu="$(find "$work/$kind-scu/out" -type f | wc -l)"
    [ "$got_dep" = "$n" ] && [ "$got_scu" = "$n" ] || { echo "received $got_dep / $got_scu of $n" >&2; exit 1; }
  fi
  r_dep="$(echo "$n / $t_dep" | bc -l)"; r_scu="$(echo "$n / $t_scu" | bc -l)"
  mb="$(echo "$bytes / 1048576 / $t_dep" | bc -l)"
  printf '%-10s %8s %12s %12s %12s %8s\n' "$kind" "$n" "$(fmt "$r_dep")" "$(fmt "$r_scu")" "$(fmt "$mb")" "$(fmt "$(echo "$r_dep / $r_scu" | bc -l)")"
done

# STOW-RS: deposit versus curl posting the same multipart/related bodies
home="$work/home-stow"; http="$(free_port)"; export DEPOSIT_HOME="$home"
set +e
"$deposit" send "$corpus" --to "dicomweb+http://127.0.0.1:$http/dicom-web" --json --quiet --offline-wait 0 > "$work/send-stow.json" 2>/dev/null
set -e
grep -q '"waiting":[1-9]' "$work/send-stow.json" || { echo "expected a waiting job: $(head -c 300 "$work/send-stow.json")" >&2; exit 1; }
n="$(find "$home/outbox" -name '*.dcm' | wc -l)"
bytes="$(find "$home/outbox" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')"
start_peer orthanc stow-dep "$(free_port)" "$http"
t_dep="$(timed sh -c "'$deposit' queue run --json --quiet > '$work/run-stow.json'")"
grep -q '"waiting":0' "$work/run-stow.json" && grep -q "\"verified\":$n" "$work/run-stow.json" ||
  { echo "deposit did not deliver all: $(head -c 300 "$work/run-stow.json")" >&2; exit 1; }
mkdir -p "$work/bodies"
find "$home/outbox" -name '*.dcm' | sort | python3 -c '
import sys
files = [l.strip() for l in sys.stdin if l.strip()]
for i in range(0, len(files), 100):
    with open(f"{sys.argv[1]}/{i // 100:05d}.body", "wb") as out:
        for f in files[i:i + 100]:
            out.write(b"--BENCHBOUNDARY\r\nContent-Type: application/dicom\r\n\r\n")
            out.write(open(f, "rb").read())
            out.write(b"\r\n")
        out.write(b"--BENCHBOUNDARY--\r\n")
' "$work/bodies"
http2="$(free_port)"
start_peer orthanc stow-curl "$(free_port)" "$http2"
post_all() {
  for b in "$work"/bodies/*.body; do
    code="$(curl -s -o /dev/null -w '%{http_code}' -X POST \
      -H 'Content-Type: multipart/related; type="application/dicom"; boundary=BENCHBOUNDARY' \
      -H 'Accept: application/dicom+json' --data-binary "@$b" "http://127.0.0.1:$http2/dicom-web/studies")"
    [ "$code" = 200 ] || { echo "curl STOW answered $code" >&2; return 1; }
  done
}
t_curl="$(timed post_all)"
r_dep="$(echo "$n / $t_dep" | bc -l)"; r_curl="$(echo "$n / $t_curl" | bc -l)"
mb="$(echo "$bytes / 1048576 / $t_dep" | bc -l)"
printf '%-10s %8s %12s %12s %12s %8s   (STOW-RS; peer column = curl)\n' "stow" "$n" "$(fmt "$r_dep")" "$(fmt "$r_curl")" "$(fmt "$mb")" "$(fmt "$(echo "$r_dep / $r_curl" | bc -l)")"
