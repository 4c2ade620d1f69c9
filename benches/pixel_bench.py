"""pydicom counterpart of examples/pixel_bench.rs for benches/preview.sh (same modes, same
output): preview = read + decode frame 0 + window to 8 bits (+ PNG-free: numpy only);
mask = decode every frame, fill the same rectangles, put native bytes back."""
import sys
import time

import numpy as np
import pydicom
from pydicom.pixels import pixel_array


def median(v):
    v = sorted(v)
    return v[len(v) // 2]


def preview(path):
    ds = pydicom.dcmread(path)
    ts = ds.file_meta.TransferSyntaxUID
    arr = pixel_array(ds, index=0, as_rgb=ts.is_compressed and ts != "1.2.840.10008.1.2.5")
    arr = arr.astype(np.float64)
    if arr.ndim == 2:
        lo, hi = arr.min(), arr.max()
        arr = (arr - lo) * (255.0 / max(hi - lo, 1.0))
    return np.clip(arr, 0, 255).astype(np.uint8)


def mask(ds):
    arr = ds.pixel_array
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    a = arr if frames > 1 else arr[None, ...]
    a[:, 0:60, 0:200, ...] = 0
    a[:, -40:, -120:, ...] = 0
    ds.PixelData = a.tobytes()
    return frames


mode, n = sys.argv[1], max(1, int(sys.argv[2]))
for f in sys.argv[3:]:
    times, frames = [], 0
    for _ in range(n):
        if mode == "preview":
            t = time.perf_counter()
            preview(f)
            times.append((time.perf_counter() - t) * 1000)
        else:
            ds = pydicom.dcmread(f)
            t = time.perf_counter()
            frames = mask(ds)
            times.append((time.perf_counter() - t) * 1000)
    if mode == "mask":
        print(f"{f}\t{median(times):.2f}\t{frames}")
    else:
        print(f"{f}\t{median(times):.2f}")
