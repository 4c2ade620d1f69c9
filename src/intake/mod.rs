//! Intake: finds DICOM under folders and reads headers only, in parallel, never stopping on a bad file.
//!
//! [`scan`] walks the roots, skips files the caller already knows unchanged, reads the rest
//! ([`header::read_header`], stopping before Pixel Data), follows DICOMDIR records, and hands
//! every outcome — an instance header, or a [`SkipReason`] — to the caller on its own thread,
//! which is where the catalog writes happen. Receiving over DICOM also feeds intake.

pub mod bounded;
pub mod guard;
pub mod header;
pub mod reason;
pub mod trailing;
pub mod un;
pub mod walk;

use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

use rayon::prelude::*;
use thiserror::Error;

use crate::error::{Classify, ErrorClass};
pub use header::{read_header, Header, Read1};
pub use reason::SkipReason;
pub use walk::FileStat;

/// Usage errors of a scan (before any file is read).
#[derive(Debug, Error)]
pub enum IntakeError {
    /// A path given to scan does not exist.
    #[error("no such file or folder: {0}")]
    NotFound(PathBuf),
    /// A path given to scan cannot be read.
    #[error("cannot read {path}: {detail}")]
    Unreadable {
        /// The path given.
        path: PathBuf,
        /// The OS error, in words.
        detail: String,
    },
    /// No paths were given.
    #[error("nothing to scan: give at least one folder or file")]
    NoPaths,
}

impl Classify for IntakeError {
    fn code(&self) -> &'static str {
        match self {
            IntakeError::NotFound(_) => "intake.not_found",
            IntakeError::Unreadable { .. } => "intake.unreadable_root",
            IntakeError::NoPaths => "intake.no_paths",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

/// Options of a scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Worker threads for header reads (0 = automatic: twice the cores, at least 4).
    pub threads: usize,
}

/// What happened to one file.
#[derive(Debug)]
pub enum Outcome {
    /// Read: a patient instance.
    Instance(Box<Header>),
    /// Read: a DICOMDIR referencing this many files.
    Dicomdir { references: usize },
    /// Same size and modification time as when last catalogued: not read again.
    Unchanged,
    /// Not catalogued, with why.
    Skipped(SkipReason),
}

/// One file and its outcome.
#[derive(Debug)]
pub struct Event {
    /// The file (size/mtime zero for problems found by the walk).
    pub file: FileStat,
    /// What happened.
    pub outcome: Outcome,
}

/// Progress of a running scan.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    /// Files handled so far.
    pub done: u64,
    /// Files to handle in total (grows when DICOMDIR records add files).
    pub total: u64,
    /// Bytes of the files handled so far.
    pub bytes: u64,
}

/// Checks that every root exists and is readable (a usage error otherwise).
pub fn check_roots(roots: &[PathBuf]) -> Result<Vec<PathBuf>, IntakeError> {
    if roots.is_empty() {
        return Err(IntakeError::NoPaths);
    }
    let mut out = Vec::with_capacity(roots.len());
    for r in roots {
        let md = std::fs::metadata(r).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => IntakeError::NotFound(r.clone()),
            _ => IntakeError::Unreadable {
                path: r.clone(),
                detail: e.kind().to_string(),
            },
        })?;
        if md.is_dir() {
            std::fs::read_dir(r).map_err(|e| IntakeError::Unreadable {
                path: r.clone(),
                detail: e.kind().to_string(),
            })?;
        }
        out.push(std::path::absolute(r).unwrap_or_else(|_| r.clone()));
    }
    Ok(out)
}

/// Scans the roots. `unchanged` says whether the catalog already holds a file as it is now;
/// `on_event` and `on_progress` run on the calling thread.
pub fn scan(
    roots: &[PathBuf],
    opts: &ScanOptions,
    unchanged: &(dyn Fn(&FileStat) -> bool + Sync),
    mut on_event: impl FnMut(Event),
    mut on_progress: impl FnMut(Progress),
) -> Result<(), IntakeError> {
    let roots = check_roots(roots)?;
    let threads = if opts.threads == 0 {
        (std::thread::available_parallelism().map_or(2, |n| n.get()) * 2).max(4)
    } else {
        opts.threads
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("deposit-scan-{i}"))
        .build()
        .map_err(|e| IntakeError::Unreadable {
            path: PathBuf::from("."),
            detail: format!("cannot start reader threads: {e}"),
        })?;

    let mut files = Vec::new();
    let mut seen: HashSet<PathBuf> = HashSet::new();
    for f in walk::walk(&roots) {
        match f {
            walk::Found::File(stat, canon) => {
                seen.insert(canon);
                files.push(stat);
            }
            walk::Found::Problem(path, reason) => on_event(Event {
                file: FileStat {
                    path,
                    size: 0,
                    mtime_ns: 0,
                },
                outcome: Outcome::Skipped(reason),
            }),
        }
    }

    let mut progress = Progress {
        done: 0,
        total: files.len() as u64,
        bytes: 0,
    };
    on_progress(progress);
    let mut pending = files;
    while !pending.is_empty() {
        let mut referenced: Vec<PathBuf> = Vec::new();
        read_batch(&pool, &pending, unchanged, |ev, refs| {
            progress.done += 1;
            progress.bytes += ev.file.size;
            referenced.extend(refs);
            on_event(ev);
            on_progress(progress);
        });
        // DICOMDIR records may name files outside what was walked: read those too.
        pending = Vec::new();
        for p in referenced {
            if !seen.insert(canonical(&p)) {
                continue;
            }
            match FileStat::of(&p) {
                // a record naming a FIFO or a device must not block or flood the scan
                Ok(_) if !bounded::is_regular(&p) => on_event(Event {
                    file: FileStat {
                        path: p,
                        size: 0,
                        mtime_ns: 0,
                    },
                    outcome: Outcome::Skipped(SkipReason::NotRegularFile),
                }),
                Ok(stat) => pending.push(stat),
                Err(e) => {
                    let reason = if e.kind() == std::io::ErrorKind::NotFound {
                        SkipReason::MissingReferencedFile
                    } else {
                        SkipReason::from_io(&e)
                    };
                    on_event(Event {
                        file: FileStat {
                            path: p,
                            size: 0,
                            mtime_ns: 0,
                        },
                        outcome: Outcome::Skipped(reason),
                    });
                }
            }
        }
        progress.total += pending.len() as u64;
    }
    Ok(())
}

fn canonical(p: &std::path::Path) -> PathBuf {
    crate::platform::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

/// Reads a batch in parallel; results come back to the calling thread through a channel.
fn read_batch(
    pool: &rayon::ThreadPool,
    files: &[FileStat],
    unchanged: &(dyn Fn(&FileStat) -> bool + Sync),
    mut deliver: impl FnMut(Event, Vec<PathBuf>),
) {
    let (tx, rx) = crossbeam_channel::bounded::<(Event, Vec<PathBuf>)>(1024);
    std::thread::scope(|s| {
        s.spawn(|| {
            pool.install(|| {
                files.par_iter().for_each_with(tx, |tx, stat| {
                    let r = read_one(stat, unchanged);
                    // the receiver lives until every sender is gone
                    let _ = tx.send(r);
                });
            });
        });
        for (ev, refs) in rx.iter() {
            deliver(ev, refs);
        }
    });
}

fn read_one(
    stat: &FileStat,
    unchanged: &(dyn Fn(&FileStat) -> bool + Sync),
) -> (Event, Vec<PathBuf>) {
    if stat.size > 0 && unchanged(stat) {
        return (
            Event {
                file: stat.clone(),
                outcome: Outcome::Unchanged,
            },
            Vec::new(),
        );
    }
    // A defect in a parser must cost one file, never the scan.
    let r = catch_unwind(AssertUnwindSafe(|| read_header(&stat.path)))
        .unwrap_or(Err(SkipReason::ReaderFault));
    let (outcome, refs) = match r {
        Ok(Read1::Instance(h)) => (Outcome::Instance(h), Vec::new()),
        Ok(Read1::Dicomdir(refs)) => (
            Outcome::Dicomdir {
                references: refs.len(),
            },
            refs,
        ),
        Err(reason) => (Outcome::Skipped(reason), Vec::new()),
    };
    (
        Event {
            file: stat.clone(),
            outcome,
        },
        refs,
    )
}

/// Opens a whole Part-10 file (pixel data included) for de-identification, after the length
/// guard: an element claiming more bytes than the file holds is refused before the reader
/// allocates it. The one way the pipeline reads full files.
pub fn open_full(path: &std::path::Path) -> Result<dicom_object::DefaultDicomObject, SkipReason> {
    // One read of the whole (regular) file; the guard and the reader then work on memory.
    let bytes = bounded::read_regular(path)?;
    open_bytes(&bytes)
}

/// Fails closed when the length guard and the DICOM reader could disagree on where the data
/// set starts: the guard found no transfer syntax, or the meta group's own length (which the
/// reader follows) points elsewhere than the end of the group-0002 elements the guard walked.
/// (Found by fuzzing: a meta element renamed out of group 0002 made the guard stop early and
/// check nothing, while the reader went on to a 3 GB element.)
fn meta_agrees(bytes: &[u8], meta: &guard::MetaInfo) -> Result<(), SkipReason> {
    if meta.ts_uid.is_none() {
        return Err(SkipReason::BadFileMeta);
    }
    // (0002,0000) UL, 4 bytes, right after the preamble and "DICM".
    if let Some(h) = bytes.get(132..144) {
        if h[..8] == [0x02, 0x00, 0x00, 0x00, b'U', b'L', 0x04, 0x00] {
            let len = u32::from_le_bytes([h[8], h[9], h[10], h[11]]);
            if 144 + u64::from(len) != meta.dataset_offset {
                return Err(SkipReason::BadFileMeta);
            }
        }
    }
    Ok(())
}

/// [`open_full`] on the bytes of a Part-10 file (128-byte preamble, `DICM`, file meta, data
/// set). Any input gives an object or a reason, never a panic (fuzzed: fuzz/).
pub fn open_bytes(bytes: &[u8]) -> Result<dicom_object::DefaultDicomObject, SkipReason> {
    let (meta, _) = guard::scan_meta(bytes, bytes.len() as u64, true)?;
    if meta.ts_uid.as_deref().is_some_and(bounded::is_deflated) {
        meta_agrees(bytes, &meta)?;
        let start = usize::try_from(meta.dataset_offset).map_err(|_| SkipReason::Truncated)?;
        let (Some(group), Some(ds)) = (bytes.get(128..start), bytes.get(start..)) else {
            return Err(SkipReason::Truncated);
        };
        return bounded::open_deflated(group, ds, &bounded::limits()).map(un_decoded);
    }
    let meta = guard::check_part10_as_reader(bytes, bytes.len() as u64)?;
    meta_agrees(bytes, &meta)?;
    let body = match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ => return Err(SkipReason::Corrupt),
    };
    dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Never)
        .from_reader(body)
        .map(un_decoded)
        .map_err(|_| SkipReason::Corrupt)
}

/// [`open_bytes`], and when the file has bytes after the end of its data set that are not an
/// element (padding, garbage), the file read without them: the object and how many bytes
/// were left out. A data set cut short inside an element is still refused.
pub fn open_bytes_trimmed(
    bytes: &[u8],
) -> Result<(dicom_object::DefaultDicomObject, usize), SkipReason> {
    match open_bytes(bytes) {
        Ok(o) => Ok((o, 0)),
        Err(why) => match dataset_end_of_file(bytes) {
            Some(end) => open_bytes(bytes.get(..end).unwrap_or_default())
                .map(|o| (o, bytes.len() - end))
                .map_err(|_| why),
            None => Err(why),
        },
    }
}

/// Where the data set of a whole Part-10 file ends, when bytes that are not an element
/// follow it ([`trailing::dataset_end`]).
fn dataset_end_of_file(bytes: &[u8]) -> Option<usize> {
    let (meta, _) = guard::scan_meta(bytes, bytes.len() as u64, true).ok()?;
    let ts = meta.ts_uid.as_deref()?;
    let start = usize::try_from(meta.dataset_offset).ok()?;
    let ds = bytes.get(start..)?;
    trailing::dataset_end(ds, ts).map(|e| start + e)
}

/// The object with its UN elements decoded through the dictionary ([`un::decode`]): every
/// full open (`open_bytes`, `open_split`, `open_for_deid`) ends here, so every door and every
/// mode sees the real attributes.
fn un_decoded(mut obj: dicom_object::DefaultDicomObject) -> dicom_object::DefaultDicomObject {
    un::decode(&mut obj);
    obj
}

/// A file read for de-identification with its pixel data left as bytes.
pub struct Split {
    /// The object. Without Pixel Data when `pixel_data` is set; whole otherwise.
    pub object: dicom_object::DefaultDicomObject,
    /// Where the top-level Pixel Data element (header and value) lies in the file's bytes,
    /// when it is the last element and can be copied unchanged into an output of the same
    /// transfer syntax.
    pub pixel_data: Option<std::ops::Range<usize>>,
}

/// Like [`open_bytes`], but when Pixel Data is the last top-level element it is not decoded:
/// the header is parsed up to it and its byte range returned (the length guard still covers
/// every element, pixel fragments included).
pub fn open_split(bytes: &[u8]) -> Result<Split, SkipReason> {
    let (meta, _) = guard::scan_meta(bytes, bytes.len() as u64, true)?;
    meta_agrees(bytes, &meta)?;
    let start = usize::try_from(meta.dataset_offset).map_err(|_| SkipReason::Truncated)?;
    let located = match (&meta.ts_uid, bytes.get(start..)) {
        (Some(ts), Some(ds)) => guard::check_dataset_in_memory(ds, ts.trim_end_matches('\0'))?,
        _ => None,
    };
    let Some(range) = located else {
        return open_bytes(bytes).map(|object| Split {
            object,
            pixel_data: None,
        });
    };
    let body = match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ => return Err(SkipReason::Corrupt),
    };
    let object = dicom_object::OpenFileOptions::new()
        .read_preamble(dicom_object::file::ReadPreamble::Never)
        .read_until(dicom_dictionary_std::tags::PIXEL_DATA)
        .from_reader(body)
        .map(un_decoded)
        .map_err(|_| SkipReason::Corrupt)?;
    Ok(Split {
        object,
        pixel_data: Some(start + range.start..start + range.end),
    })
}

/// Where the Pixel Data of a file opened by [`open_for_deid`] is.
pub enum Pixels {
    /// In the object (decoded), or there are none.
    InObject,
    /// Not decoded: the element's bytes (header and value) are this range of `bytes`.
    InMemory {
        /// The whole file.
        bytes: Vec<u8>,
        /// The element's range in it.
        range: std::ops::Range<usize>,
    },
    /// Not read at all: the element's bytes are `len` bytes from `offset` of the file (the
    /// last element), to be copied file to file.
    InFile {
        /// The file, open for reading.
        file: std::fs::File,
        /// Byte offset of the element's header in the file.
        offset: u64,
        /// Bytes from there to the end of the file.
        len: u64,
    },
}

/// How much of a large file is read first for its header: most headers fit in the first
/// 16 KB; a larger one is looked for in the first 256 KB before the whole file is read.
const HEADER_PREFIXES: [usize; 2] = [16 * 1024, 256 * 1024];

/// Opens a file for de-identification without decoding its Pixel Data when it is the last
/// top-level element: small files are read whole ([`open_split`]); for large ones only the
/// first 16 KB (or 256 KB) are read when the header fits in them, and the pixels stay in the
/// file. The
/// length guard covers every element either way. The third value counts the bytes after the
/// end of the data set that were left out (see [`open_bytes_trimmed`]).
pub fn open_for_deid(
    path: &std::path::Path,
) -> Result<(dicom_object::DefaultDicomObject, Pixels, usize), SkipReason> {
    use std::io::Read as _;
    let mut f = bounded::open_regular(path)?;
    let size = f.metadata().map_err(|e| SkipReason::from_io(&e))?.len();
    let mut prefix = Vec::with_capacity(HEADER_PREFIXES[0].min(size as usize));
    for want in HEADER_PREFIXES {
        let more = (want as u64).saturating_sub(prefix.len() as u64);
        (&mut f)
            .take(more)
            .read_to_end(&mut prefix)
            .map_err(|e| SkipReason::from_io(&e))?;
        if (prefix.len() as u64) >= size {
            break;
        }
        if let Some((object, offset)) = header_in_prefix(&prefix, size)? {
            let len = size - offset;
            return Ok((
                object,
                Pixels::InFile {
                    file: f,
                    offset,
                    len,
                },
                0,
            ));
        }
    }
    if (prefix.len() as u64) < size {
        f.read_to_end(&mut prefix)
            .map_err(|e| SkipReason::from_io(&e))?;
    }
    let mut bytes = prefix;
    let (split, dropped) = match open_split(&bytes) {
        Ok(s) => (s, 0),
        Err(why) => {
            let Some(end) = dataset_end_of_file(&bytes) else {
                return Err(why);
            };
            let dropped = bytes.len() - end;
            bytes.truncate(end);
            (open_split(&bytes).map_err(|_| why)?, dropped)
        }
    };
    Ok(match split.pixel_data {
        Some(range) => (split.object, Pixels::InMemory { bytes, range }, dropped),
        None => (split.object, Pixels::InObject, dropped),
    })
}

/// The header object and the offset of the Pixel Data element, when the prefix holds all of
/// the header.
fn header_in_prefix(
    prefix: &[u8],
    size: u64,
) -> Result<Option<(dicom_object::DefaultDicomObject, u64)>, SkipReason> {
    let (meta, _) = guard::scan_meta(prefix, size, true)?;
    meta_agrees(prefix, &meta)?;
    let Some(ts) = meta.ts_uid.as_deref() else {
        return Ok(None);
    };
    let Some(ds) = prefix.get(meta.dataset_offset as usize..) else {
        return Ok(None);
    };
    let total = size - meta.dataset_offset;
    // the length guard and the build in one walk of the header's tokens
    let Some((dataset, start)) =
        guard::read_header_in_prefix(ds, total, ts.trim_end_matches('\0'))?
    else {
        return Ok(None);
    };
    let body = match prefix.get(128..132) {
        Some(b"DICM") => &prefix[128..],
        _ => return Err(SkipReason::Corrupt),
    };
    let mut file_meta =
        dicom_object::FileMetaTable::from_reader(body).map_err(|_| SkipReason::Corrupt)?;
    // as the reader does: Media Storage SOP Class and Instance UIDs left empty in the file
    // meta are taken from the data set
    let from_dataset = |tag| -> Result<Option<String>, SkipReason> {
        match dataset.get(tag) {
            Some(e) => e
                .value()
                .to_str()
                .map(|s| Some(s.into_owned()))
                .map_err(|_| SkipReason::Corrupt),
            None => Ok(None),
        }
    };
    if file_meta.media_storage_sop_class_uid().is_empty() {
        if let Some(uid) = from_dataset(dicom_dictionary_std::tags::SOP_CLASS_UID)? {
            file_meta.media_storage_sop_class_uid = uid;
        }
    }
    if file_meta.media_storage_sop_instance_uid().is_empty() {
        if let Some(uid) = from_dataset(dicom_dictionary_std::tags::SOP_INSTANCE_UID)? {
            file_meta.media_storage_sop_instance_uid = uid;
        }
    }
    let object = un_decoded(dataset.with_exact_meta(file_meta));
    Ok(Some((object, meta.dataset_offset + start)))
}

#[cfg(test)]
mod open_full_tests {
    use super::*;

    #[test]
    fn refuses_pixel_data_longer_than_the_file() {
        // valid meta, one element, then Pixel Data (OW) claiming 0xFFFFFFF0 bytes
        let ts = b"1.2.840.10008.1.2.1\0";
        let mut v = vec![0u8; 128];
        v.extend_from_slice(b"DICM");
        v.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I']);
        v.extend_from_slice(&(ts.len() as u16).to_le_bytes());
        v.extend_from_slice(ts);
        v.extend_from_slice(&[0x08, 0x00, 0x60, 0x00, b'C', b'S', 2, 0, b'C', b'T']);
        v.extend_from_slice(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0]);
        v.extend_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        let d = tempfile::tempdir().expect("tmp");
        let p = d.path().join("huge.dcm");
        std::fs::write(&p, &v).expect("write");
        // `Truncated` comes only from the guard (a reader failure maps to `Corrupt`): the
        // refusal happened before the reader could allocate 4 GB
        assert_eq!(open_full(&p).err(), Some(SkipReason::Truncated));
        assert_eq!(open_split(&v).err(), Some(SkipReason::Truncated));
    }

    #[test]
    fn a_meta_group_the_guard_and_the_reader_would_read_differently_is_refused() {
        // Found by cargo-fuzz: an element of the meta group renamed to (0020,0003) ends the
        // guard's walk before the transfer syntax, while the reader follows the group length.
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes");
        let bytes = std::fs::read(seeds.join("meta-renamed-element-oom.dcm")).expect("seed");
        assert_eq!(open_bytes(&bytes).err(), Some(SkipReason::BadFileMeta));
        assert_eq!(open_split(&bytes).err(), Some(SkipReason::BadFileMeta));
        // Found by cargo-fuzz: a damaged sequence where a raw-value walk ends early but the
        // reader goes on to a 4 GB element; the guard now walks as the reader does.
        let bytes = std::fs::read(seeds.join("sequence-walk-diverged-oom.dcm")).expect("seed");
        assert_eq!(open_bytes(&bytes).err(), Some(SkipReason::Truncated));
        assert_eq!(open_split(&bytes).err(), Some(SkipReason::Truncated));
    }

    #[test]
    fn split_finds_native_and_encapsulated_pixel_data() {
        let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/deid_bytes");
        for (name, le) in [
            ("ct-utf8.dcm", true),
            ("ct-implicit.dcm", true),
            ("ct-bigendian.dcm", false),
            ("ct-jpeg-lossless.dcm", true),
            ("us-rle.dcm", true),
        ] {
            let bytes = std::fs::read(seeds.join(name)).expect("seed");
            let s = open_split(&bytes).expect("opens");
            let r = s.pixel_data.expect(name);
            assert_eq!(r.end, bytes.len(), "{name}");
            let tag: &[u8] = if le {
                &[0xE0, 0x7F, 0x10, 0x00]
            } else {
                &[0x7F, 0xE0, 0x00, 0x10]
            };
            assert_eq!(&bytes[r.start..r.start + 4], tag, "{name}");
            assert!(s
                .object
                .get(dicom_dictionary_std::tags::PIXEL_DATA)
                .is_none());
            assert!(s.object.get(dicom_dictionary_std::tags::ROWS).is_some());
        }
        // Something after the pixels (trailing padding): decoded whole, nothing copied.
        let mut bytes = std::fs::read(seeds.join("ct-utf8.dcm")).expect("seed");
        bytes.extend_from_slice(&[0xFC, 0xFF, 0xFC, 0xFF, b'O', b'B', 0, 0, 2, 0, 0, 0, 0, 0]);
        let s = open_split(&bytes).expect("opens");
        assert!(s.pixel_data.is_none());
        assert!(s
            .object
            .get(dicom_dictionary_std::tags::PIXEL_DATA)
            .is_some());
    }
}
