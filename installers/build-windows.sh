#!/usr/bin/env bash
# Cross-builds Deposit for Windows (x86_64-pc-windows-gnu) on Debian 12 and packages it with
# Debian's NSIS. Idempotent: installs the Debian packages and the Rust target it needs.
#
#   installers/build-windows.sh [--debug]
#
# Output, under target/windows/:
#   dist/                     deposit.exe (CLI and services), deposit-app.exe (the desktop app)
#                             with WebView2Loader.dll, the mingw runtime DLLs they need, the web
#                             UI (for `deposit serve`), README, example config
#   Deposit-VERSION-setup.exe           per-user installer (no administrator rights)
#   Deposit-VERSION-setup-allusers.exe  machine-wide installer (site IT; needs administrator)
#
# Both are built without the `ocr` feature (Tesseract's Rust bindings do not cross-build): on
# Windows the Tesseract program is used where installed; where it is not, images that need text
# detection are held in the quarantine with a reason saying how to install it.
# The desktop app draws its window with Microsoft's WebView2 runtime; where it is missing the app
# says so in a message box (the installer warns too).
set -euo pipefail

profile=release
for a in "$@"; do
  case "$a" in
    --debug) profile=debug ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "build-windows.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export PATH="$HOME/.cargo/bin:$PATH"

pkgs=(gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 nsis)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "== apt-get install ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi
target=x86_64-pc-windows-gnu
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

# one invocation for both programs: the engine library is built once, with one feature set
flags=(--target "$target" -p deposit -p deposit-app --no-default-features --bin deposit
  --bin deposit-app)
[ "$profile" = release ] && flags+=(--release)
echo "== cargo build ${flags[*]}"
cargo build "${flags[@]}"

target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$root/target/windows"
dist="$out/dist"
rm -rf "$dist"
mkdir -p "$dist"
cp "$target_dir/$target/$profile/deposit.exe" "$target_dir/$target/$profile/deposit-app.exe" "$dist/"
# the WebView2 loader the app links to, as shipped by the webview2-com-sys crate it was built with
sys_dir="$(cargo metadata --format-version 1 --filter-platform "$target" |
  python3 -c 'import json,os,sys
m = json.load(sys.stdin)
print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"] == "webview2-com-sys"))')"
cp "$sys_dir/x64/WebView2Loader.dll" "$dist/"
# line tables stay in the build's copy (for backtraces here); what ships is stripped
# the mingw runtime the program links to (C++ of the JPEG-LS codec, unwinding, threads):
# every DLL it imports that Windows does not have
for dll in libstdc++-6.dll libgcc_s_seh-1.dll libwinpthread-1.dll; do
  f="$(x86_64-w64-mingw32-g++ -print-file-name="$dll")"
  [ -f "$f" ] || f="/usr/x86_64-w64-mingw32/lib/$dll"
  [ -f "$f" ] || { echo "build-windows.sh: $dll not found in the mingw toolchain" >&2; exit 1; }
  cp "$f" "$dist/"
done
# (WebView2Loader.dll is Microsoft's signed build: shipped as it is)
x86_64-w64-mingw32-strip "$dist"/*.exe "$dist"/lib*.dll
# the web UI that `deposit serve` (and the web service) serves, from ui\ beside deposit.exe
if [ ! -f ui/dist/index.html ] || [ -n "$(find ui/src ui/index.html -newer ui/dist/index.html 2>/dev/null | head -1)" ]; then
  echo "== npm run build (ui/)"
  (cd ui && npm run build --silent)
fi
cp -r ui/dist "$dist/ui"
cp installers/deposit.example.toml "$dist/"
cp installers/windows/README-windows.txt "$dist/"
# every DLL the programs import is either shipped or part of Windows
known='^(kernel32|dwmapi|imm32|uxtheme|version|winmm|user32|advapi32|ktmw32|combase|ws2_32|bcrypt|bcryptprimitives|ntdll|crypt32|secur32|shell32|ole32|oleaut32|userenv|msvcrt|api-ms-win-.*|ucrtbase|netapi32|iphlpapi|dbghelp|psapi|powrprof|propsys|credui|ncrypt|rpcrt4|shlwapi|gdi32|comctl32|winhttp|dnsapi|mswsock|synchronization|normaliz)\.dll$'
for exe in deposit.exe deposit-app.exe; do
  for dll in $(x86_64-w64-mingw32-objdump -p "$dist/$exe" | awk '/DLL Name:/ {print $3}'); do
    low="$(echo "$dll" | tr 'A-Z' 'a-z')"
    if [ ! -f "$dist/$dll" ] && ! [[ "$low" =~ $known ]]; then
      echo "build-windows.sh: $exe needs $dll, which is neither shipped nor part of Windows" >&2
      exit 1
    fi
  done
done

version="$(cargo metadata --no-deps --format-version 1 |
  python3 -c 'import json,sys; print(next(p["version"] for p in json.load(sys.stdin)["packages"] if p["name"]=="deposit"))')"
for variant in user allusers; do
  name="Deposit-$version-setup.exe"
  defs=()
  if [ "$variant" = allusers ]; then name="Deposit-$version-setup-allusers.exe"; defs=(-DALLUSERS); fi
  echo "== makensis $name"
  makensis -V2 -DVERSION="$version" -DDIST="$dist" -DOUT="$out/$name" "${defs[@]}" \
    installers/windows/deposit.nsi
done
ls -l "$out"/*.exe
