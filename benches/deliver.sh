#!/usr/bin/env bash
# Benchmark of delivery: deposit versus the peer tools, same de-identified files, same peer,
# same run.
#
#   benches/deliver.sh [FILES] [PARTS]   (default 400 files; CT 512x512 from `deposit-synth --bulk`;
#                                         PARTS: any of "dimse http kill", default all three)
#
# dimse (C-STORE and STOW-RS, below); http: XNAT test server (DICOM-zip import, commit,
# verification) versus curl posting the same zips, and the CTP test receiver (one POST per
# object with MD5 Digest; it answers one request per connection and keeps duplicates, as the real
# CTP does) versus curl posting the same objects with the same headers, sequentially and two
# curl processes in parallel, against deposit at concurrency 1 and 2, counting duplicates stored;
# kill: `deposit send` to the XNAT test server and to the CTP receiver killed with SIGKILL at
# 50 % of its uploads, resumed with `queue run`, counting what was sent twice.
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
parts=" ${2:-dimse http kill} "
want() { [[ "$parts" == *" $1 "* ]]; }
corpus="$root/target/bench-corpus/ct-$files"
cd "$root"
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth -p deposit-xnat-server
tdir="${CARGO_TARGET_DIR:-$root/target}"
deposit="$tdir/release/deposit"
xsrv="$tdir/release/deposit-xnat-server"
py="$root/target/pyenv/bin/python"; [ -x "$py" ] || py=python3
if [ ! -f "$corpus/manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$tdir/release/deposit-synth" --out "$corpus" --bulk "$files"
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

if want dimse; then
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
fi

# --- HTTP: XNAT test server and CTP test receiver, deposit versus curl --------------------------
# prepare KIND DEST HOME: de-identify into HOME's outbox while the peer is down (job waiting)
prepare() {
  export DEPOSIT_HOME="$3"
  set +e
  "$deposit" send "$corpus" --to "$2" --json --quiet --offline-wait 0 > "$work/send-$1.json" 2>/dev/null
  set -e
  grep -q '"waiting":[1-9]' "$work/send-$1.json" || { echo "expected a waiting job: $(head -c 300 "$work/send-$1.json")" >&2; exit 1; }
}
# start_srv NAME PORT [--ctp]: the test server (release build), stats in $work/NAME.stats
start_srv() {
  rm -rf "${work:?}/$1"; "$xsrv" "$work/$1" "$2" ${3:-} --stats "$work/$1.stats" > /dev/null 2>&1 &
  pids+=("$!"); wait_port "$2"
}
# copies stored twice or more by the CTP receiver NAME (once its import queue is empty)
ctp_dups() {
  for _ in $(seq 300); do [ -z "$(ls -A "$work/$1-queue" 2>/dev/null)" ] && break; sleep 0.1; done
  find "$work/$1" -name '*\[*' | wc -l
}
stat() { local v; v="$(grep -o "\"$2\":[0-9]*" "$work/$1.stats" 2>/dev/null | cut -d: -f2)"; echo "${v:-0}"; }
row() { # NAME N BYTES T_DEP T_CURL NOTE
  local r_dep r_curl mb
  r_dep="$(echo "$2 / $4" | bc -l)"; r_curl="$(echo "$2 / $5" | bc -l)"; mb="$(echo "$3 / 1048576 / $4" | bc -l)"
  printf '%-12s %6s %10s %10s %9s %7s   %s\n' "$1" "$2" "$(fmt "$r_dep")" "$(fmt "$r_curl")" "$(fmt "$mb")" "$(fmt "$(echo "$r_dep / $r_curl" | bc -l)")" "$6"
}

if want http; then
  export DEPOSIT_PASSWORD=wonderland
  printf '\n%-12s %6s %10s %10s %9s %7s\n' peer files deposit/s curl/s "MB/s dep" ratio
  # XNAT: deposit at concurrency 1 and 2 (same prepared queue, copied), then curl
  port="$(free_port)"; xdest="xnat+http://alice@127.0.0.1:$port?project=TRIAL"
  prepare xnat "$xdest" "$work/home-xnat"
  n="$(find "$work/home-xnat/outbox" -name '*.dcm' | wc -l)"
  bytes="$(find "$work/home-xnat/outbox" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')"
  xargs -a <(find "$work/home-xnat/outbox" -name '*.dcm') cat > /dev/null
  cp -a "$work/home-xnat" "$work/home-xnat-c1"
  # the zips curl posts: per study, <= 100 files / 8 MB, whole files under SERIES/SOP.dcm (untimed)
  mkdir -p "$work/zips"
  find "$work/home-xnat/outbox" -name '*.dcm' | sort | "$py" -c '
import sys, zipfile, pydicom
files = [l.strip() for l in sys.stdin if l.strip()]
by = {}
for f in files:
    d = pydicom.dcmread(f, stop_before_pixels=True)
    by.setdefault(d.StudyInstanceUID, []).append((str(d.get("SeriesNumber", "1")), d.SOPInstanceUID, f))
k = 0
for si, (study, items) in enumerate(sorted(by.items())):
    cur, size = [], 0
    def flush():
        global k, cur, size
        if cur:
            with zipfile.ZipFile(f"{sys.argv[1]}/{k:05d}_S{si}.zip", "w", zipfile.ZIP_STORED) as z:
                for s, sop, f in cur:
                    z.write(f, f"{s}/{sop}.dcm")
            k += 1
        cur, size = [], 0
    for it in sorted(items):
        import os
        sz = os.path.getsize(it[2])
        if cur and (len(cur) >= 100 or size + sz > 8 * 1024 * 1024):
            flush()
        cur.append(it); size += sz
    flush()
' "$work/zips"
  for c in 1 2; do
    home="$work/home-xnat"; [ "$c" = 1 ] && home="$work/home-xnat-c1"
    start_srv "xnat-c$c" "$port"
    export DEPOSIT_HOME="$home"
    t_dep="$(timed sh -c "'$deposit' queue run --json --quiet --concurrency $c > '$work/run-xnat-$c.json'")"
    grep -q "\"verified\":$n" "$work/run-xnat-$c.json" || { echo "deposit did not deliver all: $(head -c 300 "$work/run-xnat-$c.json")" >&2; exit 1; }
    eval "t_xnat_$c=$t_dep"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  done
  pieces="$(stat xnat-c2 uploads)"
  cport="$(free_port)"; start_srv xnat-curl "$cport"; base="http://127.0.0.1:$cport"
  post_zips() {
    local jsid csrf z s code uris=()
    jsid="$(curl -s -u alice:wonderland -X POST "$base/data/JSESSION")"
    csrf="$(curl -s -b "JSESSIONID=$jsid" "$base/" | sed -n "s/.*csrfToken = '\(.*\)'.*/\1/p")"
    for z in "$work"/zips/*.zip; do
      s="${z##*_}"; s="${s%.zip}"
      # (no `Expect: 100-continue`: the test server does not answer it, curl would wait 1 s)
      code="$(curl -s -o "$work/uri" -w '%{http_code}' -b "JSESSIONID=$jsid" -H 'Expect:' -H 'Content-Type: application/zip' \
        --data-binary "@$z" "$base/data/services/import?import-handler=DICOM-zip&PROJECT_ID=TRIAL&SUBJECT_ID=$s&EXPT_LABEL=${s}_1&overwrite=append&prevent_anon=true&prevent_auto_commit=true&inbody=true&XNAT_CSRF=$csrf")"
      [ "$code" = 200 ] || { echo "curl import answered $code" >&2; return 1; }
      uris+=("$(tr -d '\r\n' < "$work/uri")")
    done
    for u in $(printf '%s\n' "${uris[@]}" | sort -u); do
      code="$(curl -s -o /dev/null -w '%{http_code}' -b "JSESSIONID=$jsid" -X POST "$base$u?action=commit&XNAT_CSRF=$csrf")"
      [ "$code" = 301 ] || { echo "curl commit answered $code" >&2; return 1; }
    done
  }
  t_curl="$(timed post_zips)"
  got="$(find "$work/xnat-curl/archive" -name '*.dcm' | wc -l)"; [ "$got" = "$n" ] || { echo "curl archived $got of $n" >&2; exit 1; }
  row "xnat c=1" "$n" "$bytes" "$t_xnat_1" "$t_curl" "($pieces pieces; deposit incl. commit + MD5 verification; curl imports + commit)"
  row "xnat c=2" "$n" "$bytes" "$t_xnat_2" "$t_curl" ""
  rm -rf "${work:?}"/xnat-c1 "$work"/xnat-c2 "$work"/xnat-curl "$work"/zips "$work"/home-xnat-c1 "$work"/home-xnat

  # CTP: deposit at concurrency 1 and 2 (same prepared queue, copied) versus curl posting every
  # object with the same headers, one curl process (sequential) and two in parallel
  port="$(free_port)"; cdest="ctp+http://127.0.0.1:$port"
  prepare ctp "$cdest" "$work/home-ctp"
  cp -a "$work/home-ctp" "$work/home-ctp-cap"
  cp -a "$work/home-ctp" "$work/home-ctp-c1"
  for c in 1 2; do
    home="$work/home-ctp"; [ "$c" = 1 ] && home="$work/home-ctp-c1"
    start_srv "ctp-c$c" "$port" --ctp
    export DEPOSIT_HOME="$home"
    t_dep="$(timed sh -c "'$deposit' queue run --json --quiet --concurrency $c > '$work/run-ctp-$c.json'")"
    grep -q "\"verified\":$n" "$work/run-ctp-$c.json" || { echo "deposit did not deliver all: $(head -c 300 "$work/run-ctp-$c.json")" >&2; exit 1; }
    eval "t_ctp_$c=$t_dep"
    eval "dup_ctp_$c=$(ctp_dups "ctp-c$c")"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  done
  # curl configs: every object, and the same split in two halves (untimed). curl sends
  # `Connection: close` as deposit does, but still reuses a connection the receiver closed without
  # saying so (CTP's behaviour), and a few posts then fail with "Send failure: Broken pipe"; so
  # each object gets a host name of its own (o1.ctp.invalid …, all connected to 127.0.0.1 with
  # --connect-to), which keeps curl from reusing connections
  find "$work/home-ctp/outbox" -name '*.dcm' | sort > "$work/ctp-files"
  split -n l/2 -d "$work/ctp-files" "$work/ctp-half-"
  for list in ctp-files ctp-half-00 ctp-half-01; do
    python3 -c '
import sys, hashlib
first = True
for i, f in enumerate(l.strip() for l in open(sys.argv[2]) if l.strip()):
    d = hashlib.md5(open(f, "rb").read()).hexdigest().lstrip("0") or "0"
    if not first: print("next")
    first = False
    print(f"url = \"http://o{i}.ctp.invalid:{sys.argv[1]}/\"\nconnect-to = \"::127.0.0.1:{sys.argv[1]}\"\ndata-binary = \"@{f}\"\nheader = \"Content-Type: application/x-mirc\"\nheader = \"Expect:\"\nheader = \"Connection: close\"\nheader = \"Digest: {d}\"\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}}\\n\"")
' "$port" "$work/$list" > "$work/$list.cfg"
  done
  start_srv ctp-curl1 "$port" --ctp
  t_curl1="$(timed sh -c "curl -s -K '$work/ctp-files.cfg' > '$work/curl-ctp.codes'")"
  [ "$(grep -c '^200$' "$work/curl-ctp.codes")" = "$n" ] || { echo "curl CTP: not all 200: $(sort "$work/curl-ctp.codes" | uniq -c | tr '\n' ' ')" >&2; exit 1; }
  dup_curl1="$(ctp_dups ctp-curl1)"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  start_srv ctp-curl2 "$port" --ctp
  t_curl2="$(timed sh -c "curl -s -K '$work/ctp-half-00.cfg' > '$work/curl-ctp-a.codes' & curl -s -K '$work/ctp-half-01.cfg' > '$work/curl-ctp-b.codes'; wait")"
  [ "$(cat "$work"/curl-ctp-[ab].codes | grep -c '^200$')" = "$n" ] || { echo "curl CTP x2: not all 200: $(cat "$work"/curl-ctp-[ab].codes | sort | uniq -c | tr '\n' ' ')" >&2; exit 1; }
  dup_curl2="$(ctp_dups ctp-curl2)"
  kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
  row "ctp c=1" "$n" "$bytes" "$t_ctp_1" "$t_curl1" "(one POST per object; deposit c=1 vs one curl; duplicates stored: deposit $dup_ctp_1, curl $dup_curl1)"
  row "ctp c=2" "$n" "$bytes" "$t_ctp_2" "$t_curl2" "(deposit c=2 vs two curls in parallel; duplicates stored: deposit $dup_ctp_2, curl $dup_curl2)"
  # the bandwidth cap: the same delivery with --max-rate (bytes/s of request bodies)
  cap=20000000
  start_srv ctp-cap "$port" --ctp
  export DEPOSIT_HOME="$work/home-ctp-cap"
  t_cap="$(timed sh -c "'$deposit' queue run --json --quiet --max-rate $cap > '$work/run-ctp-cap.json'")"
  grep -q "\"verified\":$n" "$work/run-ctp-cap.json" || { echo "capped run did not deliver all" >&2; exit 1; }
  printf '%-12s %6s   --max-rate %s MB/s: %.1f MB/s achieved over %.1f s (bodies %s bytes)\n' "ctp capped" "$n" \
    "$(echo "$cap / 1000000" | bc)" "$(echo "$bytes / 1000000 / $t_cap" | bc -l)" "$t_cap" "$bytes"
  rm -rf "${work:?}/ctp-cap" "$work/home-ctp-cap"
  rm -rf "${work:?}"/ctp-c1 "$work"/ctp-c2 "$work"/ctp-curl1 "$work"/ctp-curl2 "$work"/home-ctp "$work"/home-ctp-c1
fi

# --- kill at 50 %: bytes sent twice -----------------------------------------------------------
if want kill; then
  export DEPOSIT_PASSWORD=wonderland
  for c in 1 2; do
    port="$(free_port)"; xdest="xnat+http://alice@127.0.0.1:$port?project=TRIAL"
    # clean reference run: how many imports and bytes a send needs
    start_srv "kref-$c" "$port"; export DEPOSIT_HOME="$work/home-kref-$c"
    "$deposit" send "$corpus" --to "$xdest" --json --quiet --concurrency "$c" > /dev/null
    ref_up="$(stat "kref-$c" uploads)"; ref_bytes="$(stat "kref-$c" upload_bytes)"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    # the same send, killed when half of the imports are in, then resumed
    start_srv "kill-$c" "$port"; export DEPOSIT_HOME="$work/home-kill-$c"
    cp "$work/home-kref-$c/site.key" "$work/home-kill-$c/site.key" 2>/dev/null || { mkdir -p "$work/home-kill-$c"; cp "$work/home-kref-$c/site.key" "$work/home-kill-$c/"; }
    "$deposit" send "$corpus" --to "$xdest" --json --quiet --concurrency "$c" > /dev/null 2>&1 &
    dpid=$!
    # half of the imports + 1: with the 2-study bench corpus, exactly half is the gap between the
    # studies (commit + verification, nothing in flight); one more lands mid-study
    until [ "$(stat "kill-$c" uploads)" -ge $((ref_up / 2 + 1)) ]; do sleep 0.01; done
    kill -9 "$dpid"; wait "$dpid" 2>/dev/null || true
    at_kill="$(stat "kill-$c" uploads)"
    "$deposit" queue run --json --quiet > "$work/kill-run-$c.json"
    grep -q '"failed":0' "$work/kill-run-$c.json" || { echo "resume failed: $(head -c 300 "$work/kill-run-$c.json")" >&2; exit 1; }
    sleep 0.3
    up="$(stat "kill-$c" uploads)"; ub="$(stat "kill-$c" upload_bytes)"; dropped="$(stat "kill-$c" dropped)"
    extra=$((up - ref_up)); extra_b=$((ub - ref_bytes))
    printf 'kill at 50%% (concurrency %s): %s of %s imports done at the kill; %s extra imports (%s complete pieces, %.1f MB) re-sent after resume, %s interrupted mid-body; target <= %s\n' \
      "$c" "$at_kill" "$ref_up" "$extra" "$extra" "$(echo "$extra_b / 1048576" | bc -l)" "$dropped" "$c"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    rm -rf "${work:?}/kref-$c" "$work/kill-$c" "$work/home-kref-$c" "$work/home-kill-$c"
  done
  # the same against the CTP receiver: one POST per object, so what is sent twice is objects
  for c in 1 2; do
    port="$(free_port)"; cdest="ctp+http://127.0.0.1:$port"
    start_srv "ckill-$c" "$port" --ctp; export DEPOSIT_HOME="$work/home-ckill-$c"
    "$deposit" send "$corpus" --to "$cdest" --json --quiet --concurrency "$c" > /dev/null 2>&1 &
    dpid=$!
    n_obj="$(find "$corpus" -name '*.dcm' | wc -l)"
    until [ "$(stat "ckill-$c" uploads)" -ge $((n_obj / 2)) ]; do sleep 0.005; done
    kill -9 "$dpid"; wait "$dpid" 2>/dev/null || true
    at_kill="$(stat "ckill-$c" uploads)"
    "$deposit" queue run --json --quiet > "$work/ckill-run-$c.json"
    grep -q '"failed":0' "$work/ckill-run-$c.json" || { echo "resume failed: $(head -c 300 "$work/ckill-run-$c.json")" >&2; exit 1; }
    sleep 0.3
    up="$(stat "ckill-$c" uploads)"; ub="$(stat "ckill-$c" upload_bytes)"
    dups="$(ctp_dups "ckill-$c")"
    printf 'CTP kill at 50%% (concurrency %s): %s of %s objects acknowledged at the kill; %s object(s) (%.2f MB) sent again after resume; %s duplicate(s) stored; target <= %s (objects in flight)\n' \
      "$c" "$at_kill" "$n_obj" "$((up - n_obj))" "$(echo "$ub * ($up - $n_obj) / $up / 1048576" | bc -l)" "$dups" "$c"
    kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true
    rm -rf "${work:?}/ckill-$c" "$work/ckill-$c-queue" "$work/home-ckill-$c"
  done
fi
