//! DICOMweb STOW-RS destination: multipart/related batches, per-instance failures from the response.
