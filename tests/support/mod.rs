//! Helpers shared by integration tests.

pub mod burned;
pub mod canary;
pub mod cli;
pub mod dicom_json;
pub mod hostile;
pub mod orthanc;
pub mod relay;
pub mod tinyproxy;

/// The real sample corpus: `DEPOSIT_SAMPLES`, else `tests/data/samples` (fetched by
/// `tests/data/fetch-samples.sh`, which `installers/setup-debian.sh --test` runs).
#[allow(dead_code)]
pub fn samples() -> std::path::PathBuf {
    std::env::var_os("DEPOSIT_SAMPLES")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/samples")
        })
}
