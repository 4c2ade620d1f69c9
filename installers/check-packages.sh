#!/usr/bin/env bash
# Checks the packages installers/build-packages.sh made: the .deb's control fields and files
# (both programs, the .desktop entry, the icons, the web UI, the systemd units), the .desktop
# entry by desktop-file-validate, the .rpm's files and requirements; then runs the programs out
# of the unpacked .deb: `deposit --version` and `profile list`, and the desktop app under Xvfb
# until it paints its first window (DEPOSIT_READY_FILE), which it reports with the time taken.
#
#   installers/build-packages.sh && installers/check-packages.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle="$root/target/release/bundle"
fail() { echo "check-packages: $*" >&2; exit 1; }

shopt -s nullglob
debs=("$bundle"/deb/*.deb)
rpms=("$bundle"/rpm/*.rpm)
[ ${#debs[@]} -eq 1 ] || fail "want one .deb in $bundle/deb, found ${#debs[@]} (run installers/build-packages.sh)"
[ ${#rpms[@]} -eq 1 ] || fail "want one .rpm in $bundle/rpm, found ${#rpms[@]}"
deb=${debs[0]} rpm=${rpms[0]}
echo "== $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(basename "$rpm") ($(du -h "$rpm" | cut -f1))"

# --- .deb: control fields and files
[ "$(dpkg-deb -f "$deb" Package)" = deposit ] || fail ".deb Package is not 'deposit'"
dpkg-deb -f "$deb" Depends | grep -q libwebkit2gtk-4.1-0 || fail ".deb does not depend on libwebkit2gtk-4.1-0"
dpkg-deb -f "$deb" Section | grep -q science || fail ".deb section is not science"
files=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./||; s|^|./|')
for want in ./usr/bin/deposit-app ./usr/bin/deposit ./usr/share/deposit/ui/index.html \
            ./lib/systemd/system/deposit-receive.service ./lib/systemd/system/deposit-web.service \
            ./usr/share/icons/hicolor/128x128/apps/deposit-app.png; do
  grep -qx "$want" <<<"$files" || fail ".deb lacks $want"
done
desktop=$(grep -E '^\./usr/share/applications/.*\.desktop$' <<<"$files" | head -1)
[ -n "$desktop" ] || fail ".deb has no .desktop entry"
echo "   .deb: $(grep -c . <<<"$files") entries; Depends: $(dpkg-deb -f "$deb" Depends)"

work=$(mktemp -d)
xvfb=""
cleanup() {
  [ -n "$xvfb" ] && { kill "$xvfb" 2>/dev/null || true; wait "$xvfb" 2>/dev/null || true; }
  rm -rf "$work"
}
trap cleanup EXIT
dpkg-deb -x "$deb" "$work/deb"
entry="$work/deb/${desktop#./}"
grep -q '^Exec=deposit-app' "$entry" || fail "the .desktop entry does not start deposit-app: $(grep '^Exec' "$entry")"
grep -q '^Categories=.*MedicalSoftware' "$entry" || fail "the .desktop entry is not under MedicalSoftware"
if command -v desktop-file-validate >/dev/null; then
  desktop-file-validate "$entry" || fail "desktop-file-validate refused $(basename "$entry")"
else
  fail "desktop-file-validate is missing (apt-get install desktop-file-utils)"
fi

# --- .rpm: files and requirements
command -v rpm >/dev/null || fail "rpm is missing (apt-get install rpm)"
rfiles=$(rpm -qpl "$rpm" 2>/dev/null)
for want in /usr/bin/deposit-app /usr/bin/deposit /usr/share/deposit/ui/index.html \
            /usr/lib/systemd/system/deposit-receive.service /usr/lib/systemd/system/deposit-web.service; do
  grep -qx "$want" <<<"$rfiles" || fail ".rpm lacks $want"
done
rpm -qp --requires "$rpm" 2>/dev/null | grep -q "libwebkit2gtk-4.1" || fail ".rpm does not require libwebkit2gtk-4.1"
echo "   .rpm: $(grep -c . <<<"$rfiles") files; requires $(rpm -qp --requires "$rpm" 2>/dev/null | grep -i webkit | head -1)"

# --- the programs, out of the unpacked .deb
cli="$work/deb/usr/bin/deposit"
"$cli" --version | grep -q '^deposit ' || fail "deposit --version: $("$cli" --version 2>&1)"
export DEPOSIT_HOME="$work/home" DEPOSIT_CONFIG="$work/none.toml"
"$cli" profile list --json | grep -q 'ps3.15-basic' || fail "the packaged CLI does not list its profiles"
echo "   $("$cli" --version); profiles listed"

command -v Xvfb >/dev/null || fail "Xvfb is missing (apt-get install xvfb)"
n=$(( 300 + RANDOM % 300 ))
Xvfb ":$n" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
xvfb=$!
for _ in $(seq 50); do [ -e "/tmp/.X11-unix/X$n" ] && break; sleep 0.1; done
ready="$work/ready"
start=$(date +%s%3N)
DISPLAY=":$n" DEPOSIT_READY_FILE="$ready" "$work/deb/usr/bin/deposit-app" >"$work/app.log" 2>&1 &
app=$!
for _ in $(seq 300); do [ -s "$ready" ] && break; kill -0 "$app" 2>/dev/null || break; sleep 0.1; done
kill "$app" 2>/dev/null || true
wait "$app" 2>/dev/null || true
[ -s "$ready" ] || { cat "$work/app.log" >&2; fail "the packaged desktop app did not paint a window in 30 s"; }
at=$(cut -d' ' -f1 "$ready")
echo "   packaged deposit-app painted its first window $(( at - start )) ms after launch (app's own count: $(cut -d' ' -f2 "$ready") ms)"
echo "== packages OK"
