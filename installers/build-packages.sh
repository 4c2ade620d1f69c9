#!/bin/sh
# Builds the Linux packages — .deb and .rpm — through the Tauri bundler, offline: the desktop
# app (with its .desktop entry and icons from icons/), the `deposit` command line, the web UI for
# `deposit serve`, and the systemd units. Output: target/release/bundle/{deb,rpm}/.
#
#   installers/setup-debian.sh && installers/build-packages.sh
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root/ui"
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run build
cd "$root"
cargo build --release -p deposit --bin deposit
# the CLI's `tauri build` runs `cargo build --release` of the app with tauri/custom-protocol
ui/node_modules/.bin/tauri build --no-bundle
# The release profile keeps line tables (for profiling the benchmarks); the packaged programs
# do without: stripped, they are a fraction of the size. The CLI is stripped into a copy that
# tauri.conf.json packages; the app in place (the bundler takes it from there).
mkdir -p target/release/dist
strip -o target/release/dist/deposit target/release/deposit
strip target/release/deposit-app
rm -rf target/release/bundle/deb target/release/bundle/rpm
ui/node_modules/.bin/tauri bundle --bundles deb,rpm
ls -l target/release/bundle/deb/*.deb target/release/bundle/rpm/*.rpm
