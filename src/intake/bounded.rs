//! Bounded reading: regular files only, nesting capped, claimed lengths checked, deflate inflated under a budget.
//!
//! Every door that turns a path or bytes into a DICOM object (scan and the catalog, deid and
//! send, inspect, preview, quarantine release, the receiver's stored data sets) goes through
//! [`super::read_header`] or [`super::open_bytes`] / [`super::open_full`] /
//! [`super::open_for_deid`], and those through this module and [`super::guard`]:
//!
//! - **only regular files are opened** ([`open_regular`]): FIFOs, devices and sockets are refused
//!   as `not_regular_file` before `open` (which blocks on a FIFO) and again on the open handle,
//!   which is opened non-blocking on Unix so a FIFO swapped in between never blocks;
//! - **nesting is capped** at [`MAX_DEPTH`] sequence levels (`too_deep`): the guard walks the
//!   element headers with dicom-rs's token reader, a state machine, before dicom-rs's recursive
//!   object builder runs, so deep input never reaches a recursion;
//! - **claimed lengths** are checked against the bytes available — for deflated data sets against
//!   the inflated size, after inflation (`truncated`);
//! - **inflation is budgeted** per object ([`Limits`]): a first pass inflates into nothing,
//!   counting, and stops at the budget (`inflation_limit`) — a deflate bomb costs CPU for the
//!   budget, never memory; only an object within budget is inflated into memory.

use std::io::Read;
use std::path::Path;

use dicom_encoding::TransferSyntaxIndex;
use dicom_object::{FileMetaTable, InMemDicomObject};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

use super::guard;
use super::reason::SkipReason;

/// Deepest sequence nesting accepted (real objects rarely exceed 6 levels).
pub const MAX_DEPTH: usize = 64;
/// Inflated bytes allowed per deflated byte.
pub const INFLATION_RATIO: u64 = 200;
/// Inflated bytes always allowed, whatever the ratio (small objects of zeros compress far
/// better than 200:1).
pub const INFLATION_FLOOR: u64 = 64 * 1024 * 1024;
/// Inflated bytes never exceeded by one object.
pub const INFLATION_CAP: u64 = 1024 * 1024 * 1024;

const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

/// The inflation budget of one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Inflated bytes allowed per deflated byte.
    pub ratio: u64,
    /// Inflated bytes allowed whatever the ratio.
    pub floor: u64,
    /// Absolute cap on inflated bytes.
    pub cap: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            ratio: INFLATION_RATIO,
            floor: INFLATION_FLOOR,
            cap: INFLATION_CAP,
        }
    }
}

/// The process's budget, set once from the configuration's `[intake]` table by the front door.
static CONFIGURED: std::sync::OnceLock<Limits> = std::sync::OnceLock::new();

/// Sets the process's inflation budget (the first call wins; later ones are ignored, so a
/// long-running process keeps the budget it started with).
pub fn configure(limits: Limits) {
    let _ = CONFIGURED.set(limits);
}

/// The process's inflation budget: the configured one, else the defaults.
pub fn limits() -> Limits {
    CONFIGURED.get().copied().unwrap_or_default()
}

impl Limits {
    /// Inflated bytes allowed for `compressed` deflated bytes.
    pub fn budget(&self, compressed: u64) -> u64 {
        compressed
            .saturating_mul(self.ratio)
            .max(self.floor)
            .min(self.cap)
    }
}

/// Whether a transfer syntax compresses the whole data set (Deflated Explicit VR Little Endian,
/// and the JPIP Referenced Deflate syntaxes): raw deflate of an explicit VR little endian data
/// set, which dicom-rs would inflate without a bound.
pub fn is_deflated(ts_uid: &str) -> bool {
    let uid = ts_uid.trim_end_matches(['\0', ' ']);
    uid == DEFLATED
        || TransferSyntaxRegistry.get(uid).is_some_and(|ts| {
            matches!(
                ts.codec(),
                dicom_encoding::transfer_syntax::Codec::Dataset(_)
            )
        })
}

/// Whether `path` (symlinks followed) is a regular file.
pub fn is_regular(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Opens `path` for reading if it is a regular file (`not_regular_file` otherwise, without
/// blocking on a FIFO or reading a device).
pub fn open_regular(path: &Path) -> Result<std::fs::File, SkipReason> {
    let md = std::fs::metadata(path).map_err(|e| SkipReason::from_io(&e))?;
    if !md.is_file() {
        return Err(SkipReason::NotRegularFile);
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        // reads of a regular file ignore O_NONBLOCK; a FIFO opened this way does not block
        opts.custom_flags(libc::O_NONBLOCK);
    }
    let f = opts.open(path).map_err(|e| SkipReason::from_io(&e))?;
    let md = f.metadata().map_err(|e| SkipReason::from_io(&e))?;
    if !md.is_file() {
        return Err(SkipReason::NotRegularFile);
    }
    Ok(f)
}

/// Reads a whole regular file (no more than its size at open time).
pub fn read_regular(path: &Path) -> Result<Vec<u8>, SkipReason> {
    let f = open_regular(path)?;
    let size = f.metadata().map_err(|e| SkipReason::from_io(&e))?.len();
    let mut out = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    f.take(size)
        .read_to_end(&mut out)
        .map_err(|e| SkipReason::from_io(&e))?;
    Ok(out)
}

fn inflate_error(e: &std::io::Error) -> SkipReason {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => SkipReason::Truncated,
        _ => SkipReason::Corrupt,
    }
}

/// How many bytes `compressed` (raw deflate, as DICOM uses) inflates to, without keeping them;
/// `inflation_limit` as soon as the count passes the budget.
pub fn inflated_size(compressed: &[u8], limits: &Limits) -> Result<u64, SkipReason> {
    let budget = limits.budget(compressed.len() as u64);
    let mut dec = flate2::read::DeflateDecoder::new(compressed).take(budget.saturating_add(1));
    let n = std::io::copy(&mut dec, &mut std::io::sink()).map_err(|e| inflate_error(&e))?;
    if n > budget {
        return Err(SkipReason::InflationLimit);
    }
    Ok(n)
}

/// Inflates `compressed` within the budget (counted first, so a bomb is never held in memory).
pub fn inflate(compressed: &[u8], limits: &Limits) -> Result<Vec<u8>, SkipReason> {
    let n = inflated_size(compressed, limits)?;
    let mut out = Vec::with_capacity(usize::try_from(n).map_err(|_| SkipReason::InflationLimit)?);
    flate2::read::DeflateDecoder::new(compressed)
        .take(n)
        .read_to_end(&mut out)
        .map_err(|e| inflate_error(&e))?;
    Ok(out)
}

/// A deflated Part-10 object: `meta_group` is `DICM` and the file meta group, `dataset` the
/// deflated data set after it. Inflated within `limits`, walked by the guard (lengths against
/// the inflated size, nesting), then read as explicit VR little endian under the original meta.
pub fn open_deflated(
    meta_group: &[u8],
    dataset: &[u8],
    limits: &Limits,
) -> Result<dicom_object::DefaultDicomObject, SkipReason> {
    let meta = FileMetaTable::from_reader(meta_group).map_err(|_| SkipReason::BadFileMeta)?;
    let inflated = inflate(dataset, limits)?;
    guard::check_dataset(&inflated[..], EXPLICIT_VR_LE, inflated.len() as u64, false)?;
    let ts = TransferSyntaxRegistry
        .get(EXPLICIT_VR_LE)
        .ok_or(SkipReason::Corrupt)?;
    let obj = InMemDicomObject::read_dataset_with_ts(&inflated[..], ts)
        .map_err(|_| SkipReason::Corrupt)?;
    Ok(obj.with_exact_meta(meta))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;

    fn deflate(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(bytes).expect("deflate");
        e.finish().expect("deflate")
    }

    #[test]
    fn a_bomb_is_refused_by_ratio_and_cap() {
        let zeros = vec![0u8; 8 * 1024 * 1024];
        let small = Limits {
            ratio: 200,
            floor: 1024,
            cap: 1 << 30,
        };
        let d = deflate(&zeros);
        assert_eq!(inflate(&d, &small).err(), Some(SkipReason::InflationLimit));
        let capped = Limits {
            ratio: u64::MAX,
            floor: 0,
            cap: 1024 * 1024,
        };
        assert_eq!(inflate(&d, &capped).err(), Some(SkipReason::InflationLimit));
        let roomy = Limits::default();
        assert_eq!(inflate(&d, &roomy).map(|v| v.len()), Ok(zeros.len()));
    }

    #[test]
    fn every_data_set_deflating_syntax_is_deflated() {
        assert!(is_deflated("1.2.840.10008.1.2.1.99\0"));
        assert!(is_deflated("1.2.840.10008.1.2.4.95"));
        assert!(!is_deflated("1.2.840.10008.1.2.1"));
        assert!(!is_deflated("1.2.840.10008.1.2.4.50"));
    }

    #[test]
    fn budget_is_ratio_within_floor_and_cap() {
        let l = Limits::default();
        assert_eq!(l.budget(10), INFLATION_FLOOR);
        assert_eq!(l.budget(1 << 20), INFLATION_RATIO << 20);
        assert_eq!(l.budget(u64::MAX), INFLATION_CAP);
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_not_opened() {
        assert_eq!(
            read_regular(Path::new("/dev/zero")).err(),
            Some(SkipReason::NotRegularFile)
        );
        let d = tempfile::tempdir().expect("tmp");
        let fifo = d.path().join("pipe");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        assert_eq!(open_regular(&fifo).err(), Some(SkipReason::NotRegularFile));
    }
}
