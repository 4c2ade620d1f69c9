//! The AE-title rule (PS3.5 6.2, VR AE), one for every place a title is accepted: the receiver's
//! own title and allow-list, a `dicom://` destination's called and calling titles, and
//! `[receiver] aet` in the configuration.

/// Longest AE title, in characters (the field is 16 bytes, and only ASCII is allowed).
pub const MAX_LEN: usize = 16;

/// The rule in words, for messages.
pub const RULE: &str = "1 to 16 printable ASCII characters without a backslash, not all spaces";

/// True for a valid AE title: 1–16 characters of the default repertoire (printable ASCII and
/// space), no backslash, no control characters, not all spaces. Leading and trailing spaces are
/// not significant: they are not counted.
pub fn valid_ae(ae: &str) -> bool {
    let t = ae.trim_matches(' ');
    !t.is_empty()
        && t.len() <= MAX_LEN
        && t.chars()
            .all(|c| c == ' ' || (c.is_ascii_graphic() && c != '\\'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_ordinary_titles() {
        for ok in [
            "DEPOSIT",
            "A",
            "SCU 1",
            "0123456789ABCDEF",
            "ct_scanner-2",
            "x.y@z",
            " PADDED ",
            "SIXTEEN_CHARS_OK   ",
        ] {
            assert!(valid_ae(ok), "{ok:?}");
        }
    }

    #[test]
    fn rejects_what_ps3_5_forbids() {
        for bad in [
            "",
            " ",
            "                ",
            "0123456789ABCDEFG",
            "BACK\\SLASH",
            "TAB\tX",
            "NEW\nLINE",
            "NUL\0",
            "ESC\u{1b}",
            "DEL\u{7f}",
            "ÉCHO",
            "日本",
        ] {
            assert!(!valid_ae(bad), "{bad:?}");
        }
    }

    proptest! {
        #[test]
        fn printable_ascii_up_to_16_is_valid(s in "[!-\\[\\]-~][ -\\[\\]-~]{0,14}[!-\\[\\]-~]?") {
            prop_assert!(valid_ae(&s));
            let padded = format!("  {s}  ");
            prop_assert!(valid_ae(&padded), "padding is not significant");
        }

        #[test]
        fn a_backslash_or_control_anywhere_is_invalid(
            a in "[A-Z]{0,7}",
            c in prop_oneof![Just('\\'), (0u8..0x20).prop_map(char::from), Just('\u{7f}')],
            b in "[A-Z]{0,7}",
        ) {
            let ae = format!("{a}{c}{b}");
            prop_assert!(!valid_ae(&ae));
        }

        #[test]
        fn longer_than_16_is_invalid(s in "[A-Z]{17,40}") {
            prop_assert!(!valid_ae(&s));
        }

        #[test]
        fn never_panics(s in "\\PC*") {
            let _ = valid_ae(&s);
        }
    }
}
