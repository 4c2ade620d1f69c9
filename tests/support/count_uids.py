#!/usr/bin/env python3
"""Independent count of the DICOM instances under a folder, for tests/scan.rs.

Reads every regular file with pydicom (stop_before_pixels, force=True so raw data sets
without file meta count too) and counts distinct SOPInstanceUID / StudyInstanceUID /
SeriesInstanceUID over the files that have all four identifying UIDs (SOP Class too),
leaving out DICOMDIRs and colour palettes. Prints one JSON object:
  {"instances", "studies", "series", "counted": [paths], "dicomdirs": [paths],
   "other": [paths]}
Paths are as walked (absolute if the root is). Symlinks are not followed.
"""
import json
import os
import sys
import warnings

import pydicom

MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"
COLOUR_PALETTE = "1.2.840.10008.5.1.4.39.1"


def uid(ds, keyword):
    value = ds.get(keyword)
    return str(value).strip("\0 ") if value is not None else ""


def main(root):
    warnings.simplefilter("ignore")
    sops, studies, series = set(), set(), set()
    counted, dicomdirs, other = [], [], []
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(folder, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
            except Exception:
                other.append(path)
                continue
            meta_class = ""
            if getattr(ds, "file_meta", None) is not None:
                meta_class = uid(ds.file_meta, "MediaStorageSOPClassUID")
            try:
                ids = [uid(ds, k) for k in ("SOPClassUID", "SOPInstanceUID",
                                            "StudyInstanceUID", "SeriesInstanceUID")]
            except Exception:
                other.append(path)
                continue
            if meta_class == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds:
                dicomdirs.append(path)
                continue
            if ids[0] == COLOUR_PALETTE or not all(ids):
                other.append(path)
                continue
            sops.add(ids[1])
            studies.add(ids[2])
            series.add(ids[3])
            counted.append(path)
    json.dump({"instances": len(sops), "studies": len(studies), "series": len(series),
               "counted": counted, "dicomdirs": dicomdirs, "other": other}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
