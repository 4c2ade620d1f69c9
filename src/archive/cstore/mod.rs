//! DICOM C-STORE destination (SCU over dicom-ul): association negotiation, per-instance status.
