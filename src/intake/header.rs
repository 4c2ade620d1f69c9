//! Header reading: one file in, the attributes the catalog needs out (stops before Pixel Data).
//!
//! Recognises Part-10 files with a preamble, Part-10 files without one, raw data sets without
//! file meta (the transfer syntax inferred from the first element), and DICOMDIR files (whose
//! records are returned so the scan can follow them).

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_dictionary_std::uids;
use dicom_encoding::TransferSyntaxIndex;
use dicom_object::file::ReadPreamble;
use dicom_object::{InMemDicomObject, OpenFileOptions};
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;
use serde::Serialize;

use super::guard;
use super::reason::SkipReason;

fn file_size(path: &Path) -> Result<u64, SkipReason> {
    std::fs::metadata(path)
        .map(|m| m.len())
        .map_err(|e| SkipReason::from_io(&e))
}

/// The attributes of one instance that the catalog keeps. Identity values stay on this machine.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Header {
    pub sop_instance_uid: String,
    pub sop_class_uid: String,
    pub study_instance_uid: String,
    pub series_instance_uid: String,
    pub transfer_syntax: String,
    pub patient_id: String,
    pub patient_name: String,
    pub patient_birth_date: String,
    pub patient_sex: String,
    pub study_date: String,
    pub study_time: String,
    pub study_description: String,
    pub accession_number: String,
    pub study_id: String,
    pub series_number: Option<i64>,
    pub series_description: String,
    pub modality: String,
    pub instance_number: Option<i64>,
    pub rows: Option<i64>,
    pub columns: Option<i64>,
    pub number_of_frames: Option<i64>,
    pub burned_in_annotation: String,
    pub image_type: String,
    pub manufacturer: String,
    pub manufacturer_model_name: String,
    pub institution_name: String,
    pub specific_character_set: String,
    /// True when the file had no file meta group (a raw data set).
    pub raw_dataset: bool,
}

/// What one file turned out to be.
#[derive(Debug)]
pub enum Read1 {
    /// A patient instance.
    Instance(Box<Header>),
    /// A DICOMDIR, with the files its records reference (resolved against its folder).
    Dicomdir(Vec<PathBuf>),
}

const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// Non-patient SOP classes: reported, not catalogued.
fn non_patient_kind(sop_class: &str) -> Option<&'static str> {
    match sop_class {
        "1.2.840.10008.5.1.4.39.1" => Some("colour palette"),
        "1.2.840.10008.5.1.4.1.1.200.1" | "1.2.840.10008.5.1.4.1.1.200.2" => {
            Some("CT/XA protocol definition")
        }
        "1.2.840.10008.5.1.4.38.1" => Some("hanging protocol"),
        _ => None,
    }
}

/// Reads the header of one file. Never panics on bad input: every failure is a [`SkipReason`].
pub fn read_header(path: &Path) -> Result<Read1, SkipReason> {
    let mut prefix = [0u8; 132];
    let n = {
        let mut f = super::bounded::open_regular(path)?;
        read_fully(&mut f, &mut prefix).map_err(|e| SkipReason::from_io(&e))?
    };
    if n == 0 {
        return Err(SkipReason::Empty);
    }
    let prefix = &prefix[..n];
    match sniff(prefix) {
        Layout::Part10 { preamble } => {
            let size = file_size(path)?;
            let f = super::bounded::open_regular(path)?;
            let (meta, rest) = guard::scan_meta(f, size, preamble)?;
            let ts_uid = meta.ts_uid.clone().unwrap_or_default();
            if super::bounded::is_deflated(&ts_uid) {
                drop(rest);
                let obj = open_deflated_file(path, &meta, preamble)?;
                return header_of_part10(path, &obj);
            }
            let checked = guard::check_dataset(rest, &ts_uid, size, true);
            let opened = checked.and_then(|_| {
                // the handle, not the path: what was checked regular is what is read
                let f = super::bounded::open_regular(path)?;
                OpenFileOptions::new()
                    .read_preamble(if preamble {
                        ReadPreamble::Always
                    } else {
                        ReadPreamble::Never
                    })
                    .read_until(tags::PIXEL_DATA)
                    .from_reader(f)
                    .map_err(|e| classify_read_error(&e))
            });
            let obj = match opened {
                Ok(obj) => obj,
                // Some writers declare explicit VR but write implicit VR (as pydicom and
                // dcmtk's readers tolerate): read the data set again as implicit VR.
                Err(reason @ (SkipReason::Truncated | SkipReason::Corrupt)) => {
                    return implicit_fallback(path, &meta, size)
                        .or_else(|| preamble.then(|| trailing_fallback(path)).flatten())
                        .unwrap_or(Err(reason));
                }
                Err(reason) => return Err(reason),
            };
            header_of_part10(path, &obj)
        }
        Layout::Raw(uid) => {
            let ts = TransferSyntaxRegistry
                .get(uid)
                .ok_or(SkipReason::NotDicom)?;
            // the same walk as for Part-10 data sets: lengths and nesting before the reader
            let size = file_size(path)?;
            guard::check_dataset(super::bounded::open_regular(path)?, uid, size, false)?;
            let f = super::bounded::open_regular(path)?;
            let obj =
                InMemDicomObject::read_dataset_with_ts(BufReader::new(f), ts).map_err(|e| {
                    match classify_read_error(&e) {
                        // a guess that did not parse is not DICOM, unless it ran out of bytes
                        SkipReason::Truncated => SkipReason::Truncated,
                        _ => SkipReason::NotDicom,
                    }
                })?;
            let h = header_of(&obj, uid.to_string(), true)?;
            Ok(h)
        }
        Layout::NotDicom => Err(SkipReason::NotDicom),
    }
}

/// A DICOMDIR's records, or the header of a patient instance, from a Part-10 object.
fn header_of_part10(
    path: &Path,
    obj: &dicom_object::DefaultDicomObject,
) -> Result<Read1, SkipReason> {
    let sop_class = obj
        .meta()
        .media_storage_sop_class_uid()
        .trim_end_matches('\0')
        .to_string();
    if sop_class == MEDIA_STORAGE_DIRECTORY {
        return Ok(Read1::Dicomdir(dicomdir_refs(path, obj)));
    }
    let ts = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    header_of(obj, ts, false)
}

/// A deflated Part-10 file, read whole and inflated within the budget (the header is all of
/// the data set: the inflated stream cannot be cut before Pixel Data without inflating it).
fn open_deflated_file(
    path: &Path,
    meta: &guard::MetaInfo,
    preamble: bool,
) -> Result<dicom_object::DefaultDicomObject, SkipReason> {
    let bytes = super::bounded::read_regular(path)?;
    let start = usize::try_from(meta.dataset_offset).map_err(|_| SkipReason::Truncated)?;
    let dataset = bytes.get(start..).ok_or(SkipReason::Truncated)?;
    let limits = super::bounded::limits();
    if preamble {
        let group = bytes.get(128..start).ok_or(SkipReason::Truncated)?;
        super::bounded::open_deflated(group, dataset, &limits)
    } else {
        let mut group = b"DICM".to_vec();
        group.extend_from_slice(bytes.get(..start).ok_or(SkipReason::Truncated)?);
        super::bounded::open_deflated(&group, dataset, &limits)
    }
}

const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// A file with bytes after the end of its data set (padding, garbage): its header read
/// without them (`None` when there are none or it still cannot be read).
fn trailing_fallback(path: &Path) -> Option<Result<Read1, SkipReason>> {
    let bytes = super::bounded::read_regular(path).ok()?;
    match super::open_bytes_trimmed(&bytes) {
        Ok((obj, dropped)) if dropped > 0 => Some(header_of_part10(path, &obj)),
        _ => None,
    }
}

/// Reads the data set after the meta group as implicit VR little endian, when the declared
/// syntax is an explicit little-endian one and did not parse.
fn implicit_fallback(
    path: &Path,
    meta: &guard::MetaInfo,
    size: u64,
) -> Option<Result<Read1, SkipReason>> {
    let declared = meta.ts_uid.as_deref()?;
    let ts = TransferSyntaxRegistry.get(declared)?;
    if declared == IMPLICIT_VR_LE || ts.endianness() != dicom_encoding::Endianness::Little {
        return None;
    }
    let open_at = || -> Option<BufReader<File>> {
        let mut f = super::bounded::open_regular(path).ok()?;
        f.seek(SeekFrom::Start(meta.dataset_offset)).ok()?;
        Some(BufReader::new(f))
    };
    guard::check_dataset(open_at()?, IMPLICIT_VR_LE, size, false).ok()?;
    let implicit = TransferSyntaxRegistry.get(IMPLICIT_VR_LE)?;
    let obj = InMemDicomObject::read_dataset_with_ts(open_at()?, implicit).ok()?;
    Some(header_of(&obj, declared.to_string(), false))
}

fn read_fully(f: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

enum Layout {
    Part10 { preamble: bool },
    Raw(&'static str),
    NotDicom,
}

fn is_vr(b: &[u8]) -> bool {
    const VRS: [&[u8; 2]; 34] = [
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
        b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
        b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV",
    ];
    b.len() == 2 && VRS.iter().any(|v| v[..] == b[..])
}

/// Decides the file layout from its first 132 bytes.
fn sniff(p: &[u8]) -> Layout {
    if p.len() >= 132 && &p[128..132] == b"DICM" {
        return Layout::Part10 { preamble: true };
    }
    if p.len() >= 8 && &p[0..4] == b"DICM" {
        return Layout::NotDicom; // magic without preamble is not a valid layout we can read
    }
    if p.len() < 8 {
        return Layout::NotDicom;
    }
    let le_group = u16::from_le_bytes([p[0], p[1]]);
    let be_group = u16::from_be_bytes([p[0], p[1]]);
    // Part-10 without preamble: starts with a file meta element (0002,xxxx), explicit LE
    if le_group == 0x0002 && is_vr(&p[4..6]) {
        return Layout::Part10 { preamble: false };
    }
    // raw data set: the first element of a data set is in a low, even group
    let plausible = |g: u16| g % 2 == 0 && (0x0008..=0x0020).contains(&g);
    if plausible(be_group) && p[0] == 0 && is_vr(&p[4..6]) {
        return Layout::Raw("1.2.840.10008.1.2.2");
    }
    if plausible(le_group) {
        if is_vr(&p[4..6]) {
            return Layout::Raw(uids::EXPLICIT_VR_LITTLE_ENDIAN);
        }
        return Layout::Raw(uids::IMPLICIT_VR_LITTLE_ENDIAN);
    }
    Layout::NotDicom
}

/// Maps a dicom-object read error to a reason, looking through its cause chain.
fn classify_read_error(e: &dicom_object::ReadError) -> SkipReason {
    let mut src: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = src {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() != std::io::ErrorKind::UnexpectedEof {
                return SkipReason::from_io(io);
            }
            return SkipReason::Truncated;
        }
        src = s.source();
    }
    match e {
        dicom_object::ReadError::ParseMetaDataSet { .. }
        | dicom_object::ReadError::ReadPreambleBytes { .. } => SkipReason::BadFileMeta,
        _ => SkipReason::Corrupt,
    }
}

fn text(obj: &InMemDicomObject, tag: Tag) -> String {
    let Some(e) = obj.element_opt(tag).ok().flatten() else {
        return String::new();
    };
    let s = if e.vr() == VR::UN {
        // an element written with VR UN keeps its bytes: decode them as text
        e.to_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else {
        e.to_str().map(|s| s.into_owned()).unwrap_or_default()
    };
    s.trim_end_matches(['\0', ' ']).trim_start().to_string()
}

fn int(obj: &InMemDicomObject, tag: Tag) -> Option<i64> {
    let e = obj.element_opt(tag).ok().flatten()?;
    if e.vr() != VR::UN {
        return e.to_int::<i64>().ok();
    }
    // UN: either text digits (IS) or a little-endian binary integer (US/UL)
    let b = e.to_bytes().ok()?;
    if let Ok(v) = String::from_utf8_lossy(&b)
        .trim_matches(['\0', ' '])
        .parse::<i64>()
    {
        return Some(v);
    }
    match b.len() {
        2 => Some(i64::from(u16::from_le_bytes([b[0], b[1]]))),
        4 => Some(i64::from(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        _ => None,
    }
}

fn header_of(obj: &InMemDicomObject, ts: String, raw: bool) -> Result<Read1, SkipReason> {
    let h = Header {
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID),
        study_instance_uid: text(obj, tags::STUDY_INSTANCE_UID),
        series_instance_uid: text(obj, tags::SERIES_INSTANCE_UID),
        transfer_syntax: ts,
        patient_id: text(obj, tags::PATIENT_ID),
        patient_name: text(obj, tags::PATIENT_NAME),
        patient_birth_date: text(obj, tags::PATIENT_BIRTH_DATE),
        patient_sex: text(obj, tags::PATIENT_SEX),
        study_date: text(obj, tags::STUDY_DATE),
        study_time: text(obj, tags::STUDY_TIME),
        study_description: text(obj, tags::STUDY_DESCRIPTION),
        accession_number: text(obj, tags::ACCESSION_NUMBER),
        study_id: text(obj, tags::STUDY_ID),
        series_number: int(obj, tags::SERIES_NUMBER),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        modality: text(obj, tags::MODALITY),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        rows: int(obj, tags::ROWS),
        columns: int(obj, tags::COLUMNS),
        number_of_frames: int(obj, tags::NUMBER_OF_FRAMES),
        burned_in_annotation: text(obj, tags::BURNED_IN_ANNOTATION),
        image_type: text(obj, tags::IMAGE_TYPE),
        manufacturer: text(obj, tags::MANUFACTURER),
        manufacturer_model_name: text(obj, tags::MANUFACTURER_MODEL_NAME),
        institution_name: text(obj, tags::INSTITUTION_NAME),
        specific_character_set: text(obj, tags::SPECIFIC_CHARACTER_SET),
        raw_dataset: raw,
    };
    if let Some(kind) = non_patient_kind(&h.sop_class_uid) {
        return Err(SkipReason::NotPatientObject { kind: kind.into() });
    }
    if h.sop_class_uid.is_empty() && h.sop_instance_uid.is_empty() && raw {
        return Err(SkipReason::NotDicom);
    }
    for (value, attribute) in [
        (&h.sop_instance_uid, "SOPInstanceUID"),
        (&h.sop_class_uid, "SOPClassUID"),
        (&h.study_instance_uid, "StudyInstanceUID"),
        (&h.series_instance_uid, "SeriesInstanceUID"),
    ] {
        if value.is_empty() {
            return Err(SkipReason::MissingUid { attribute });
        }
    }
    Ok(Read1::Instance(Box::new(h)))
}

/// The files a DICOMDIR's records reference, as paths relative to the DICOMDIR's folder.
fn dicomdir_refs(path: &Path, obj: &InMemDicomObject) -> Vec<PathBuf> {
    let base = path.parent().unwrap_or(Path::new("."));
    let mut out = Vec::new();
    let Some(seq) = obj
        .element_opt(tags::DIRECTORY_RECORD_SEQUENCE)
        .ok()
        .flatten()
        .and_then(|e| e.items())
    else {
        return out;
    };
    for item in seq {
        let Some(id) = item
            .element_opt(tags::REFERENCED_FILE_ID)
            .ok()
            .flatten()
            .and_then(|e| e.to_multi_str().ok())
        else {
            continue;
        };
        let mut p = base.to_path_buf();
        let mut ok = true;
        for comp in id.iter() {
            let c = comp.trim_end_matches(['\0', ' ']);
            // a record must not climb out of the medium
            if c.is_empty() || c == "." || c == ".." || c.contains('/') || c.contains('\\') {
                ok = false;
                break;
            }
            p.push(c);
        }
        if ok {
            out.push(resolve_case(&p));
        }
    }
    out
}

/// DICOMDIR file IDs are upper case; media copied to other file systems may not be.
fn resolve_case(p: &Path) -> PathBuf {
    if p.exists() {
        return p.to_path_buf();
    }
    let lower: PathBuf = p
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
        .collect();
    if lower.exists() {
        return lower;
    }
    p.to_path_buf()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).expect("write");
        p
    }

    #[test]
    fn uids_with_vr_un_are_read_as_text() {
        use dicom_core::{DataElement, PrimitiveValue, VR};
        use dicom_object::FileMetaTableBuilder;
        let d = tempfile::tempdir().expect("tempdir");
        let mut obj = InMemDicomObject::new_empty();
        let un = |tag, v: &str| {
            let mut b = v.as_bytes().to_vec();
            if b.len() % 2 == 1 {
                b.push(0);
            }
            DataElement::new(tag, VR::UN, PrimitiveValue::from(b))
        };
        obj.put(un(tags::SOP_CLASS_UID, "1.2.840.10008.5.1.4.1.1.7"));
        obj.put(un(tags::SOP_INSTANCE_UID, "1.2.3.4.5"));
        obj.put(un(tags::STUDY_INSTANCE_UID, "1.2.3.4"));
        obj.put(un(tags::SERIES_INSTANCE_UID, "1.2.3.4.6"));
        obj.put(un(tags::SERIES_NUMBER, "7 "));
        let p = d.path().join("un.dcm");
        // exact meta: with_meta would copy the UN values into the meta as garbled text
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3.4.5")
            .build()
            .expect("meta");
        obj.with_exact_meta(meta).write_to_file(&p).expect("write");
        match read_header(&p) {
            Ok(Read1::Instance(h)) => {
                assert_eq!(h.sop_instance_uid, "1.2.3.4.5");
                assert_eq!(h.study_instance_uid, "1.2.3.4");
                assert_eq!(h.series_number, Some(7));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_inputs_have_reasons() {
        let d = tempfile::tempdir().expect("tempdir");
        let empty = write(d.path(), "empty", b"");
        assert_eq!(read_header(&empty).err(), Some(SkipReason::Empty));
        let text = write(
            d.path(),
            "notes.txt",
            b"hello, this is not a DICOM file at all\n",
        );
        assert_eq!(read_header(&text).err(), Some(SkipReason::NotDicom));
        let mut fake = vec![0u8; 128];
        fake.extend_from_slice(b"DICM");
        fake.extend_from_slice(&[0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0]);
        let trunc = write(d.path(), "trunc.dcm", &fake);
        let r = read_header(&trunc).expect_err("must fail");
        assert!(r.is_failure(), "{r:?}");
        let short = write(d.path(), "short", b"DIC");
        assert_eq!(read_header(&short).err(), Some(SkipReason::NotDicom));
    }

    #[test]
    fn sniff_recognises_layouts() {
        let mut p = vec![0u8; 128];
        p.extend_from_slice(b"DICM");
        assert!(matches!(sniff(&p), Layout::Part10 { preamble: true }));
        let meta = [0x02, 0x00, 0x00, 0x00, b'U', b'L', 4, 0];
        assert!(matches!(sniff(&meta), Layout::Part10 { preamble: false }));
        let implicit = [0x08, 0x00, 0x05, 0x00, 10, 0, 0, 0];
        assert!(matches!(sniff(&implicit), Layout::Raw(_)));
        let png = [0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a];
        assert!(matches!(sniff(&png), Layout::NotDicom));
    }
}
