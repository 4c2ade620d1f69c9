//! Receive: the DICOM C-STORE SCP (+ C-ECHO) that spools instances durably and feeds intake.
