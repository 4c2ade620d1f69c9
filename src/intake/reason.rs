//! Why a file under a scanned folder did not become a catalogued instance, in words and as a code.

use serde::Serialize;

/// The reason a file was not catalogued as an instance. Carries no PHI (never a tag value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum SkipReason {
    /// Zero bytes long.
    Empty,
    /// No DICM marker and no data set whose transfer syntax could be inferred.
    NotDicom,
    /// A DICOM object that is not a patient instance (DICOMDIR, colour palette…).
    NotPatientObject {
        /// What kind of object it is, in words.
        kind: String,
    },
    /// The file ends inside the header (an element's value runs past the end).
    Truncated,
    /// The file meta information group is missing or malformed.
    BadFileMeta,
    /// The data set could not be parsed.
    Corrupt,
    /// A DICOM instance without one of the identifiers needed to catalog it.
    MissingUid {
        /// Keyword of the missing attribute.
        attribute: &'static str,
    },
    /// The OS refused to open the file or folder.
    PermissionDenied,
    /// A symbolic link that leads back into one of its own parent folders.
    SymlinkLoop,
    /// A symbolic link whose target does not exist.
    BrokenSymlink,
    /// Not a regular file (socket, device, FIFO).
    NotRegularFile,
    /// A file named by a DICOMDIR record is not on disk.
    MissingReferencedFile,
    /// Any other read error.
    Unreadable {
        /// The I/O error kind, in words (no path, no content).
        detail: String,
    },
    /// The reader failed unexpectedly on this file (a defect on our side, isolated to the file).
    ReaderFault,
    /// Sequences nested deeper than the reader allows (see `intake::bounded::MAX_DEPTH`).
    TooDeep,
    /// A deflated data set that inflates beyond its budget (ratio or absolute cap).
    InflationLimit,
}

impl SkipReason {
    /// A plain-language sentence for people.
    pub fn sentence(&self) -> String {
        match self {
            SkipReason::Empty => "empty file (0 bytes)".into(),
            SkipReason::NotDicom => {
                "not DICOM: no DICM marker and no recognisable DICOM data set".into()
            }
            SkipReason::NotPatientObject { kind } => {
                format!("not a patient image or document ({kind}); nothing to send")
            }
            SkipReason::Truncated => {
                "truncated: the file ends in the middle of a DICOM element".into()
            }
            SkipReason::BadFileMeta => {
                "damaged DICOM: the file meta information (group 0002) is missing or invalid".into()
            }
            SkipReason::Corrupt => "damaged DICOM: the data set could not be parsed".into(),
            SkipReason::MissingUid { attribute } => {
                format!("DICOM object without {attribute}: cannot be catalogued or sent")
            }
            SkipReason::PermissionDenied => "permission denied: cannot read this file".into(),
            SkipReason::SymlinkLoop => {
                "symbolic link loop: the link points back into its own folder".into()
            }
            SkipReason::BrokenSymlink => "broken symbolic link: its target does not exist".into(),
            SkipReason::NotRegularFile => "not a regular file (device, socket or pipe)".into(),
            SkipReason::MissingReferencedFile => {
                "listed in a DICOMDIR but missing from the disk".into()
            }
            SkipReason::Unreadable { detail } => format!("cannot be read: {detail}"),
            SkipReason::ReaderFault => {
                "the DICOM reader failed on this file (reported as a defect); file left untouched"
                    .into()
            }
            SkipReason::TooDeep => {
                "damaged or hostile DICOM: sequences nested deeper than the reader allows".into()
            }
            SkipReason::InflationLimit => {
                "deflated data set inflates beyond the allowed size (possible deflate bomb)".into()
            }
        }
    }

    /// Stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            SkipReason::Empty => "empty",
            SkipReason::NotDicom => "not_dicom",
            SkipReason::NotPatientObject { .. } => "not_patient_object",
            SkipReason::Truncated => "truncated",
            SkipReason::BadFileMeta => "bad_file_meta",
            SkipReason::Corrupt => "corrupt",
            SkipReason::MissingUid { .. } => "missing_uid",
            SkipReason::PermissionDenied => "permission_denied",
            SkipReason::SymlinkLoop => "symlink_loop",
            SkipReason::BrokenSymlink => "broken_symlink",
            SkipReason::NotRegularFile => "not_regular_file",
            SkipReason::MissingReferencedFile => "missing_referenced_file",
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::ReaderFault => "reader_fault",
            SkipReason::TooDeep => "too_deep",
            SkipReason::InflationLimit => "inflation_limit",
        }
    }

    /// True when the file is DICOM (or meant to be) and could not be read: an error, exit 1.
    /// False when the file is simply not something to send (not DICOM, empty, a palette).
    pub fn is_failure(&self) -> bool {
        !matches!(
            self,
            SkipReason::Empty | SkipReason::NotDicom | SkipReason::NotPatientObject { .. }
        )
    }

    /// Maps an I/O error to a reason.
    pub fn from_io(e: &std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::PermissionDenied => SkipReason::PermissionDenied,
            std::io::ErrorKind::UnexpectedEof => SkipReason::Truncated,
            std::io::ErrorKind::NotFound => SkipReason::BrokenSymlink,
            k => SkipReason::Unreadable {
                detail: k.to_string(),
            },
        }
    }
}
