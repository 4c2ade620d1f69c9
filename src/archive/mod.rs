//! Archive destinations behind one trait: XNAT, DICOM C-STORE, DICOMweb STOW-RS, CTP HTTP and the
//! embedded folder archive. A destination only receives bytes and answers; it knows nothing of
//! de-identification, intake or the queue.

pub mod cstore;
pub mod dicomweb;
pub mod folder;
pub mod xnat;
