//! DIMSE statuses (PS3.4 B.2.3, PS3.7 C): the ones the SCP answers with, what a C-STORE status
//! means for the queue, and a short description for problems and logs.

/// Success.
pub const SUCCESS: u16 = 0x0000;
/// Refused: out of resources (disk full, write or catalog failure).
pub const OUT_OF_RESOURCES: u16 = 0xA700;
/// Error: data set does not match SOP class (or the command's SOP Instance UID).
pub const DATASET_MISMATCH: u16 = 0xA900;
/// Error: cannot understand (the data set cannot be read as DICOM).
pub const CANNOT_UNDERSTAND: u16 = 0xC000;
/// Unrecognized operation (a command this SCP does not perform).
pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;

/// What a C-STORE status means (PS3.4 B.2.3, PS3.7 C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored.
    Success,
    /// Stored, with a warning (coercion, elements discarded, data set does not match).
    Warning,
    /// Refused for now (out of resources): retry later.
    Transient,
    /// Refused for good (cannot understand, data set does not match the SOP class, …).
    Permanent,
}

/// Classifies a C-STORE response status.
pub fn outcome(status: u16) -> Outcome {
    match status {
        0x0000 => Outcome::Success,
        0x0001 | 0xB000..=0xBFFF => Outcome::Warning,
        // out of resources; 0x0213 resource limitation
        0xA700..=0xA7FF | 0x0213 => Outcome::Transient,
        _ => Outcome::Permanent,
    }
}

/// A short description of a status, for problems and logs.
pub fn describe(status: u16) -> String {
    let what = match status {
        0x0000 => "success",
        0x0001 => "warning",
        0xB000 => "coercion of data elements",
        0xB006 => "elements discarded",
        0xB007 => "data set does not match SOP class (stored anyway)",
        0xA700..=0xA7FF => "out of resources",
        0xA900..=0xA9FF => "data set does not match SOP class",
        0xC000..=0xCFFF => "cannot understand",
        0x0122 => "SOP class not supported",
        0x0124 => "not authorized",
        0x0110 => "processing failure",
        0x0211 => "unrecognized operation",
        0x0213 => "resource limitation",
        _ => "failure",
    };
    format!("status 0x{status:04X} ({what})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(outcome(0x0000), Outcome::Success);
        for w in [0xB000, 0xB006, 0xB007, 0x0001] {
            assert_eq!(outcome(w), Outcome::Warning, "{w:04X}");
        }
        assert_eq!(outcome(0xA700), Outcome::Transient);
        assert_eq!(outcome(0xA7FF), Outcome::Transient);
        for p in [0xA900, 0xA9FF, 0xC000, 0xC123, 0x0122, 0x0110] {
            assert_eq!(outcome(p), Outcome::Permanent, "{p:04X}");
        }
        assert!(describe(0xA900).contains("does not match"));
    }

    #[test]
    fn the_scp_statuses_mean_what_the_scu_reads() {
        assert_eq!(outcome(SUCCESS), Outcome::Success);
        assert_eq!(outcome(OUT_OF_RESOURCES), Outcome::Transient);
        for p in [DATASET_MISMATCH, CANNOT_UNDERSTAND, UNRECOGNIZED_OPERATION] {
            assert_eq!(outcome(p), Outcome::Permanent, "{p:04X}");
        }
    }
}
