#!/usr/bin/env bash
# First window: how long from launching the desktop app (release build) until its first frame is
# painted. The UI reports that moment two animation frames after its first render; the app
# writes it to DEPOSIT_READY_FILE. Measured with an empty data home, and with 100,000 instances
# in the catalog (deposit-synth --bulk, 16x16 slices). Baseline in the same run: WebKitGTK's own
# MiniBrowser showing a one-line page that reports its first frame the same way (two animation
# frames, then a beacon to a loopback listener) — a blank window of the same engine, the floor
# for any WebKitGTK app on this machine. Under Xvfb; every launch is a new process.
#
#   benches/first-window.sh            # 10 launches each, 100,000-instance catalog
#   benches/first-window.sh 5 20000
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
n=${2:-100000}
cd "$root"
# the app as packaged (installers/build-packages.sh builds it the same way)
cargo build --release --quiet -p deposit --bin deposit
cargo build --release --quiet -p deposit-synth
ui/node_modules/.bin/tauri build --no-bundle >/dev/null 2>&1
minibrowser=/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser
[ -x "$minibrowser" ] || { echo "MiniBrowser not found ($minibrowser; libwebkit2gtk-4.1-0)"; exit 1; }
command -v Xvfb >/dev/null || { echo "Xvfb not installed (apt-get install xvfb)"; exit 1; }

work=$(mktemp -d)
disp=:$((200 + RANDOM % 200))
Xvfb "$disp" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
trap 'kill "$xvfb" 2>/dev/null || true; wait "$xvfb" 2>/dev/null || true; rm -rf "$work"' EXIT
sleep 1
export DISPLAY=$disp

corpus="$root/target/bench-corpus/tiny-$n"
if [ ! -f "$corpus/manifest.json" ]; then
  rm -rf "$corpus"
  "$root/target/release/deposit-synth" --out "$corpus" --bulk "$n" --rows 16 --cols 16 >/dev/null
fi
big="$work/big-home"
DEPOSIT_HOME="$big" DEPOSIT_CONFIG="$work/none.toml" "$root/target/release/deposit" scan "$corpus" --quiet --json >/dev/null

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$runs" "$root/target/release/deposit-app" "$minibrowser" "$work" "$big" "$n" <<'PY'
import http.server, os, shutil, signal, statistics, subprocess, sys, threading, time

runs, app, mini, work, big, n = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
beacon = {}

class Ping(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        beacon["at"] = time.time()
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Ping)
threading.Thread(target=srv.serve_forever, daemon=True).start()
page = os.path.join(work, "blank.html")
with open(page, "w") as f:
    f.write("<!doctype html><title>blank</title><p>Deposit</p><script>"
            "requestAnimationFrame(()=>requestAnimationFrame(()=>{new Image().src="
            f"'http://127.0.0.1:{srv.server_port}/ready?'+Date.now()}}))</script>")

def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait()

def app_launch(home):
    ready = os.path.join(work, "ready")
    if os.path.exists(ready):
        os.remove(ready)
    env = dict(os.environ, DEPOSIT_HOME=home, DEPOSIT_CONFIG=os.path.join(work, "none.toml"),
               DEPOSIT_READY_FILE=ready, DEPOSIT_RESUME_EVERY_SECS="3600")
    t0 = time.time()
    p = subprocess.Popen([app], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not os.path.exists(ready) or not open(ready).read().strip():
        if time.time() - t0 > 60 or p.poll() is not None:
            stop(p); raise SystemExit("the app never reported its first frame")
        time.sleep(0.005)
    at = int(open(ready).read().split()[0]) / 1000
    stop(p)
    return at - t0

def mini_launch():
    beacon.clear()
    t0 = time.time()
    p = subprocess.Popen([mini, "file://" + page], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while "at" not in beacon:
        if time.time() - t0 > 60 or p.poll() is not None:
            stop(p); raise SystemExit("MiniBrowser never reported its first frame")
        time.sleep(0.005)
    stop(p)
    return beacon["at"] - t0

def report(name, xs):
    xs = sorted(xs)
    print(f"{name:<44} median {statistics.median(xs):.2f} s   min {xs[0]:.2f}   max {xs[-1]:.2f}   "
          f"({len(xs)} launches: {' '.join(f'{x:.2f}' for x in xs)})")

empty = os.path.join(work, "empty-home")
results = {"MiniBrowser, blank page (baseline)": [], "deposit-app, empty data home": [],
           f"deposit-app, {int(n):,} instances catalogued": []}
for i in range(runs):  # interleaved, so load changes hit all three alike
    results["MiniBrowser, blank page (baseline)"].append(mini_launch())
    shutil.rmtree(empty, ignore_errors=True)
    results["deposit-app, empty data home"].append(app_launch(empty))
    results[f"deposit-app, {int(n):,} instances catalogued"].append(app_launch(big))
for k, v in results.items():
    report(k, v)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
