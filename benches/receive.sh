#!/usr/bin/env bash
# Benchmark of DICOM receiving: instances/s that dcmtk `storescu` pushes into `deposit receive`
# versus into dcmtk's own `storescp`, same files, same machine, same run.
#
#   benches/receive.sh [FILES] [ROUNDS]   (default 1000 CT 512x512 from `deposit-synth --bulk`, 3)
#
# Each round, for each receiver (a fresh data home / output folder and port every time):
#   1 sender:  one `storescu +sd +r -nh` association with every file;
#   4 senders: four storescu processes at once, a quarter of the files each;
# into storescp tuned — `TCP_NODELAY=1` (dcmtk's switch that turns Nagle's algorithm off; by
# default each response waits for a delayed ACK, ~40 ms per instance), `--fork` (concurrent
# associations), `-pdu 131072` (its largest PDU; deposit announces 128 KiB too) — and, for one
# sender, storescp with its defaults. storescu runs with TCP_NODELAY=1 for every receiver.
# The page cache is warmed with the corpus first; every file must arrive (counted on disk and,
# for deposit, in its final status). Reported: the median over the rounds of files/s and MB/s,
# and the ratio deposit/storescp. Note what is compared: deposit fsyncs each instance, renames
# it into place, fsyncs the folder and commits it to the catalog before it answers Success;
# storescp writes the file and answers (no fsync).
set -euo pipefail
export TCP_NODELAY=1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
files="${1:-1000}"
rounds="${2:-3}"
corpus="$root/target/bench-corpus/ct-$files"
cd "$root"
command -v storescu >/dev/null && command -v storescp >/dev/null || { echo "needs dcmtk (storescu, storescp)" >&2; exit 1; }
echo "== build (release)"
cargo build --release --quiet --bin deposit -p deposit
cargo build --release --quiet -p deposit-synth
deposit="$root/target/release/deposit"
if [ ! -f "$corpus/manifest.json" ] || [ "$(find "$corpus" -name '*.dcm' | wc -l)" != "$files" ]; then
  echo "== generate $files files into $corpus"
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$files"
fi
bytes="$(find "$corpus" -name '*.dcm' -printf '%s\n' | awk '{s+=$1} END {print s}')"
find "$corpus" -name '*.dcm' | sort > "$root/target/bench-corpus/ct-$files.list"
split -n "l/4" -d "$root/target/bench-corpus/ct-$files.list" "$root/target/bench-corpus/ct-$files.part"

# the outputs go to the same file system as the corpus (target/), deleted at the end
mkdir -p "$root/target/bench-tmp"
work="$(mktemp -d "$root/target/bench-tmp/receive.XXXXXX")"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$work" "$root/target/bench-corpus/ct-$files.list" "$root"/target/bench-corpus/ct-"$files".part*
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 not up" >&2; return 1; }
now() { date +%s.%N; }
fmt() { printf '%.1f' "$1"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

# send SENDERS PORT -> seconds
send() {
  local senders="$1" port="$2" t0 t1 p rc=0 kids=()
  t0="$(now)"
  if [ "$senders" = 1 ]; then
    storescu -aet BENCH -aec DEPOSIT +sd +r -nh 127.0.0.1 "$port" "$corpus" > "$work/scu.log" 2>&1 || rc=$?
  else
    for part in "$root"/target/bench-corpus/ct-"$files".part*; do
      xargs -a "$part" storescu -aet BENCH -aec DEPOSIT -nh 127.0.0.1 "$port" > "$work/scu-$(basename "$part").log" 2>&1 &
      kids+=("$!")
    done
    for p in "${kids[@]}"; do wait "$p" || rc=$?; done
  fi
  t1="$(now)"
  [ "$rc" = 0 ] || { echo "storescu failed ($rc)" >&2; return 1; }
  echo "$t1 - $t0" | bc -l
}

# run_storescp SENDERS ENV-ARGS... STORESCP-COMMAND... -> seconds (run through env(1))
run_storescp() {
  local senders="$1" out="$work/scp-out" port pid t got
  shift
  rm -rf "$out"; mkdir -p "$out"; port="$(free_port)"
  env "$@" -od "$out" "$port" > "$work/scp.log" 2>&1 &
  pid=$!; pids+=("$pid"); wait_port "$port"
  t="$(send "$senders" "$port")"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  got="$(find "$out" -type f | wc -l)"
  [ "$got" = "$files" ] || { echo "storescp received $got of $files" >&2; return 1; }
  rm -rf "$out"
  echo "$t"
}

# run_deposit SENDERS -> seconds
run_deposit() {
  local home="$work/dep-home" port pid t got
  rm -rf "$home"; port="$(free_port)"
  DEPOSIT_HOME="$home" "$deposit" receive --aet DEPOSIT --bind 127.0.0.1 --port "$port" --json --quiet \
    > "$work/dep.json" 2> "$work/dep.log" &
  pid=$!; pids+=("$pid"); wait_port "$port"
  t="$(send "$1" "$port")"
  kill -TERM "$pid"; wait "$pid" || { echo "deposit receive failed: $(tail -3 "$work/dep.log")" >&2; return 1; }
  got="$(find "$home/incoming" -name '*.dcm' | wc -l)"
  [ "$got" = "$files" ] && grep -q "\"instances_received\":$files," "$work/dep.json" ||
    { echo "deposit received $got of $files: $(head -c 300 "$work/dep.json")" >&2; return 1; }
  rm -rf "$home"
  echo "$t"
}

echo "== warm the page cache"
cat "$(dirname "$corpus")/ct-$files.list" | xargs cat > /dev/null
echo "== $rounds rounds, $files files ($(fmt "$(echo "$bytes / 1048576" | bc -l)") MB)"
declare -A times
for r in $(seq "$rounds"); do
  for senders in 1 4; do
    for kind in storescp deposit storescp-default; do
      case "$kind" in
        storescp) t="$(run_storescp "$senders" TCP_NODELAY=1 storescp -aet DEPOSIT +xa --fork -pdu 131072)" ;;
        storescp-default) [ "$senders" = 1 ] || continue; t="$(run_storescp 1 -u TCP_NODELAY storescp -aet DEPOSIT +xa)" ;;
        deposit) t="$(run_deposit "$senders")" ;;
      esac
      times["$kind-$senders"]+="$t "
      echo "   round $r, $senders sender(s), $kind: $(fmt "$t") s"
    done
  done
done

rate() { echo "$files / $(echo ${times["$1"]} | tr ' ' '\n' | median)" | bc -l; }
printf '\n%-8s %6s %12s %14s %12s %10s %14s\n' senders files "deposit/s" "storescp/s" "MB/s dep" ratio "scp default/s"
for senders in 1 4; do
  rd="$(rate "deposit-$senders")"; rs="$(rate "storescp-$senders")"
  rdef="-"; [ "$senders" = 1 ] && rdef="$(fmt "$(rate storescp-default-1)")"
  printf '%-8s %6s %12s %14s %12s %10s %14s\n' "$senders" "$files" "$(fmt "$rd")" "$(fmt "$rs")" \
    "$(fmt "$(echo "$bytes / 1048576 * $rd / $files" | bc -l)")" "$(fmt "$(echo "$rd / $rs" | bc -l)")" "$rdef"
done
