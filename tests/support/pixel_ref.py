"""Reference decode for tests/pixels.rs: frame 0 of each file with pydicom (+ pylibjpeg).

Usage: pixel_ref.py OUT_DIR FILE...  Writes OUT_DIR/<index>.raw (int64 little-endian samples,
row-major, samples last) and prints one JSON line per file: its shape, or "no_pixels" when the
object has no pixel data, or the error (exception type and message).
"""
import json
import sys

import numpy as np
import pydicom

out_dir = sys.argv[1]
for i, path in enumerate(sys.argv[2:]):
    try:
        ds = pydicom.dcmread(path)
        if not any(k in ds for k in ("PixelData", "FloatPixelData", "DoubleFloatPixelData")):
            print(json.dumps({"file": path, "no_pixels": True}))
            continue
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        # Deposit keeps YBR as stored for native and RLE data (decoders that convert colour,
        # JPEG and JPEG 2000, give RGB): ask pydicom for the same.
        ts = ds.file_meta.TransferSyntaxUID
        ds.pixel_array_options(as_rgb=ts.is_compressed and ts != "1.2.840.10008.1.2.5")
        arr = ds.pixel_array
        if frames > 1:
            arr = arr[0]
        arr = np.asarray(arr).astype("<i8")
        arr.tofile(f"{out_dir}/{i}.raw")
        print(json.dumps({"file": path, "shape": list(arr.shape)}))
    except Exception as e:  # the test decides what a failure means
        print(json.dumps({"file": path, "error": type(e).__name__, "message": str(e)[:200]}))
