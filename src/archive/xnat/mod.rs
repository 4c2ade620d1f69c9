//! XNAT destination: login, CSRF, DICOM-zip import into the prearchive, commit and verification.
