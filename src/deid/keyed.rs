//! Keyed derivations from the site key: HMAC-SHA256, UIDs, pseudonyms and per-patient date offsets.
//!
//! Each derivation uses its own label so that the same input never yields related outputs
//! across kinds (a UID and a patient ID that happen to be equal give unrelated results).

use sha2::{Digest, Sha256};

/// The site's secret material and UID root, passed in by the caller (never read here).
#[derive(Clone)]
pub struct Keys {
    /// 32-byte site key from the data home.
    pub site_key: [u8; 32],
    /// UID root for new UIDs: "2.25" (default) or an organisation root.
    pub uid_root: String,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("site_key", &"<secret>")
            .field("uid_root", &self.uid_root)
            .finish()
    }
}

impl Keys {
    /// Keys with the default "2.25" root.
    pub fn new(site_key: [u8; 32]) -> Self {
        Keys {
            site_key,
            uid_root: "2.25".into(),
        }
    }

    /// Keys with an organisation's UID root (checked with [`check_uid_root`]).
    pub fn with_root(site_key: [u8; 32], uid_root: &str) -> Result<Self, String> {
        check_uid_root(uid_root)?;
        Ok(Keys {
            site_key,
            uid_root: uid_root.to_string(),
        })
    }
}

/// HMAC-SHA256 (RFC 2104) of `msg` under `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    const BLOCK: usize = 64;
    let mut k = [0u8; BLOCK];
    if key.len() > BLOCK {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut ipad = [0x36u8; BLOCK];
    let mut opad = [0x5cu8; BLOCK];
    for i in 0..BLOCK {
        ipad[i] ^= k[i];
        opad[i] ^= k[i];
    }
    let inner = Sha256::new()
        .chain_update(ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(opad)
        .chain_update(inner)
        .finalize()
        .into()
}

fn labelled(keys: &Keys, label: &str, value: &str) -> [u8; 32] {
    let mut msg = Vec::with_capacity(label.len() + 1 + value.len());
    msg.extend_from_slice(label.as_bytes());
    msg.push(0);
    msg.extend_from_slice(value.as_bytes());
    hmac_sha256(&keys.site_key, &msg)
}

/// Longest UID root accepted: leaves at least 23 digits (over 76 bits) for the keyed number.
pub const MAX_UID_ROOT_LEN: usize = 40;

/// Checks a UID root: components of digits separated by dots, none empty or zero-padded, the
/// first 0, 1 or 2, at most [`MAX_UID_ROOT_LEN`] characters. The message says what is wrong.
pub fn check_uid_root(root: &str) -> Result<(), String> {
    if root.is_empty() {
        return Err("a UID root must not be empty".into());
    }
    if root.len() > MAX_UID_ROOT_LEN {
        return Err(format!(
            "a UID root may have at most {MAX_UID_ROOT_LEN} characters (this one has {}), so that new UIDs stay within 64 with room for the keyed number",
            root.len()
        ));
    }
    for (i, c) in root.split('.').enumerate() {
        if c.is_empty() || !c.bytes().all(|b| b.is_ascii_digit()) {
            return Err(
                "a UID root is digits separated by single dots (e.g. 1.2.826.0.1.3680043.10.999)"
                    .into(),
            );
        }
        if c.len() > 1 && c.starts_with('0') {
            return Err("a UID root component must not start with 0".into());
        }
        if i == 0 && !matches!(c, "0" | "1" | "2") {
            return Err("a UID root starts with 0, 1 or 2".into());
        }
    }
    Ok(())
}

/// True for UIDs defined by the DICOM standard (SOP classes, transfer syntaxes, coding schemes…).
pub fn is_well_known_uid(uid: &str) -> bool {
    uid.starts_with("1.2.840.10008.")
}

/// The replacement for `uid`: `<root>.<decimal of 128 keyed bits>`, at most 64 characters.
/// Well-known DICOM UIDs and empty values come back unchanged.
pub fn remap_uid(keys: &Keys, uid: &str) -> String {
    let uid = uid.trim_end_matches(['\0', ' ']);
    if uid.is_empty() || is_well_known_uid(uid) {
        return uid.to_string();
    }
    let mac = labelled(keys, "uid", uid);
    let mut b = [0u8; 16];
    b.copy_from_slice(&mac[..16]);
    let mut n = u128::from_be_bytes(b);
    let root = keys.uid_root.trim_end_matches('.');
    // Room left for the number after "<root>.", keeping the UID within 64 characters.
    let room = 64usize.saturating_sub(root.len() + 1).min(39);
    if room < 39 {
        n %= 10u128.pow(room.max(1) as u32);
    }
    format!("{root}.{n}")
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(B32[((acc >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(B32[((acc << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The pseudonymous patient ID for an original ID: "DEP-" + 16 base32 characters (80 bits).
pub fn pseudonym(keys: &Keys, original_patient_id: &str) -> String {
    let mac = labelled(keys, "ptid", original_patient_id.trim());
    let mut s = base32(&mac[..10]);
    s.truncate(16);
    format!("DEP-{s}")
}

/// Days to move this patient's dates back: 1..=3650, from the site key and original patient ID.
pub fn date_offset_days(keys: &Keys, original_patient_id: &str) -> i64 {
    let mac = labelled(keys, "date", original_patient_id.trim());
    let mut b = [0u8; 8];
    b.copy_from_slice(&mac[..8]);
    1 + (u64::from_be_bytes(b) % 3650) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(b: u8) -> Keys {
        Keys::new([b; 32])
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn base32_matches_rfc4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(base32(b"f"), "MY");
    }

    #[test]
    fn well_known_uids_are_kept() {
        let k = keys(1);
        assert_eq!(remap_uid(&k, "1.2.840.10008.1.2.1"), "1.2.840.10008.1.2.1");
        assert_eq!(remap_uid(&k, ""), "");
    }

    #[test]
    fn long_roots_still_give_valid_uids() {
        let mut k = keys(3);
        k.uid_root = "1.2.826.0.1.3680043.10.999.12345.67890".into();
        let u = remap_uid(&k, "1.2.3.4");
        assert!(u.len() <= 64, "{u}");
        assert!(u.starts_with("1.2.826.0.1.3680043.10.999.12345.67890."));
    }

    #[test]
    fn pseudonym_shape_and_offset_range() {
        let p = pseudonym(&keys(2), "12345");
        assert!(p.starts_with("DEP-") && p.len() == 20, "{p}");
        assert!(!p.contains("12345"));
        for id in ["a", "b", "c", "12345", ""] {
            let d = date_offset_days(&keys(2), id);
            assert!((1..=3650).contains(&d));
        }
    }

    #[test]
    fn uid_roots_are_checked() {
        for ok in [
            "2.25",
            "1.2.826.0.1.3680043.10.999",
            "0.0",
            "1.3.6.1.4.1.99999.12",
        ] {
            assert!(check_uid_root(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "2.25.",
            ".2.25",
            "2..25",
            "1.02",
            "3.1",
            "2.25a",
            "1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17",
        ] {
            assert!(check_uid_root(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn uids_under_any_valid_root_are_valid_and_consistent(
            root in "[12](\\.[1-9][0-9]{0,5}){1,6}",
            uid in "[1-9][0-9]{0,5}(\\.[1-9][0-9]{0,8}){1,12}",
        ) {
            prop_assume!(check_uid_root(&root).is_ok());
            let k = Keys::with_root([4; 32], &root).expect("valid root");
            let a = remap_uid(&k, &uid);
            prop_assert_eq!(&a, &remap_uid(&k.clone(), &uid));
            prop_assert!(a.len() <= 64, "{}", a);
            let prefix = format!("{root}.");
            prop_assert!(a.starts_with(&prefix));
            let tail = &a[root.len() + 1..];
            prop_assert!(!tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(tail == "0" || !tail.starts_with('0'));
        }

        #[test]
        fn uid_remap_is_deterministic_valid_and_key_dependent(
            uid in "[1-9][0-9]{0,5}(\\.[1-9][0-9]{0,8}){1,8}"
        ) {
            let a = remap_uid(&keys(7), &uid);
            prop_assert_eq!(&a, &remap_uid(&keys(7), &uid));
            prop_assert!(a.len() <= 64);
            prop_assert!(a.starts_with("2.25."));
            prop_assert!(a[5..].chars().all(|c| c.is_ascii_digit()));
            prop_assert!(!a[5..].starts_with('0') || a.len() == 6);
            prop_assert_ne!(&a, &remap_uid(&keys(8), &uid));
            prop_assert_ne!(&a, &uid);
        }

        #[test]
        fn distinct_uids_map_to_distinct_uids(a in "1\\.2\\.[0-9]{1,12}", b in "1\\.2\\.[0-9]{1,12}") {
            prop_assume!(a != b);
            prop_assert_ne!(remap_uid(&keys(9), &a), remap_uid(&keys(9), &b));
        }
    }
}
