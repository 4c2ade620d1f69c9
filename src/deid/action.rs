//! The Annex E actions (D, Z, X, K, C, U) and the dummy values D puts in place.

use dicom_core::VR;
use serde::{Deserialize, Serialize};

/// One PS3.15 Annex E action code.
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum Action {
    /// Replace with a non-zero-length dummy value consistent with the VR.
    D,
    /// Replace with a zero-length value (or a dummy where the VR cannot be empty).
    Z,
    /// Remove.
    X,
    /// Keep (sequences are still processed item by item).
    K,
    /// Clean: keep after removing identifying content (dates shifted, text scrubbed).
    C,
    /// Replace the UID with a deterministic one (sequences: keep, process the UIDs inside).
    U,
}

impl Action {
    /// Parses a single action letter as used in Table E.1-1 and profile files.
    pub fn parse(s: &str) -> Option<Action> {
        Some(match s {
            "D" => Action::D,
            "Z" => Action::Z,
            "X" => Action::X,
            "K" => Action::K,
            "C" => Action::C,
            "U" | "U*" => Action::U,
            _ => return None,
        })
    }

    /// The letter.
    pub fn letter(self) -> &'static str {
        match self {
            Action::D => "D",
            Action::Z => "Z",
            Action::X => "X",
            Action::K => "K",
            Action::C => "C",
            Action::U => "U",
        }
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.letter())
    }
}

/// The dummy text D writes for a VR (`None`: the VR is not text; the caller empties or keeps it).
pub fn dummy_text(vr: VR) -> Option<&'static str> {
    Some(match vr {
        VR::PN => "ANONYMIZED",
        VR::LO | VR::SH | VR::LT | VR::ST | VR::UT | VR::UC => "ANONYMIZED",
        VR::CS => "ANONYMIZED",
        VR::AE => "ANONYMIZED",
        VR::DA => "19000101",
        VR::TM => "000000.00",
        VR::DT => "19000101000000.00",
        VR::AS => "000D",
        VR::IS | VR::DS => "0",
        VR::UR => "",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters_round_trip() {
        for a in [
            Action::D,
            Action::Z,
            Action::X,
            Action::K,
            Action::C,
            Action::U,
        ] {
            assert_eq!(Action::parse(a.letter()), Some(a));
        }
        assert_eq!(Action::parse("U*"), Some(Action::U));
        assert_eq!(Action::parse("X/Z"), None);
    }

    #[test]
    fn dummies_fit_their_vr() {
        assert_eq!(dummy_text(VR::DA).map(str::len), Some(8));
        assert!(dummy_text(VR::AS).is_some_and(|s| s.len() == 4));
        assert!(dummy_text(VR::SQ).is_none());
        assert!(dummy_text(VR::OB).is_none());
    }
}
