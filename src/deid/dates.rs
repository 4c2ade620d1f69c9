//! Date shifting for the "retain longitudinal temporal information, modified dates" option.
//!
//! Every DA and the date part of every DT move back by the same per-patient number of days, so
//! intervals between dates of one patient are preserved exactly. Times of day are unchanged.

use crate::calendar::days_in_month;
use crate::calendar::{civil_from_days, days_from_civil};

/// Shifts one date `YYYYMMDD` (or the old `YYYY.MM.DD`) back by `days`; `None` if it is not a date.
fn shift_da(s: &str, days: i64) -> Option<String> {
    let digits: String = s.chars().filter(|c| *c != '.').collect();
    if digits.len() != 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = digits[0..4].parse().ok()?;
    let m: u32 = digits[4..6].parse().ok()?;
    let d: u32 = digits[6..8].parse().ok()?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return None;
    }
    let (y2, m2, d2) = civil_from_days(days_from_civil(y, m, d) - days);
    if !(0..=9999).contains(&y2) {
        return None;
    }
    Some(format!("{y2:04}{m2:02}{d2:02}"))
}

/// Shifts a DA value (multi-valued with `\`, ranges with `-`) back by `days`.
/// `None` when any part is not a date (the caller then removes the value: fail closed).
pub fn shift_da_value(value: &str, days: i64) -> Option<String> {
    let value = value.trim_end_matches(['\0', ' ']);
    let mut out = Vec::new();
    for v in value.split('\\') {
        let v = v.trim();
        if v.is_empty() {
            out.push(String::new());
            continue;
        }
        let parts: Vec<String> = v
            .split('-')
            .map(|p| {
                if p.is_empty() {
                    Some(String::new())
                } else {
                    shift_da(p, days)
                }
            })
            .collect::<Option<_>>()?;
        out.push(parts.join("-"));
    }
    Some(out.join("\\"))
}

/// Shifts a DT value back by `days`: the date part moves, the time and offset stay.
/// A DT with only a year or year+month cannot be shifted by days and gives `None`.
pub fn shift_dt_value(value: &str, days: i64) -> Option<String> {
    let value = value.trim_end_matches(['\0', ' ']);
    let mut out = Vec::new();
    for v in value.split('\\') {
        let v = v.trim();
        if v.is_empty() {
            out.push(String::new());
            continue;
        }
        if v.len() < 8 || !v.is_char_boundary(8) {
            return None;
        }
        let (date, rest) = v.split_at(8);
        out.push(format!("{}{rest}", shift_da(date, days)?));
    }
    Some(out.join("\\"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn shifts_da_dt_ranges_and_rejects_garbage() {
        assert_eq!(shift_da_value("20240301", 1).as_deref(), Some("20240229"));
        assert_eq!(shift_da_value("2024.03.01", 1).as_deref(), Some("20240229"));
        assert_eq!(
            shift_da_value("20240301-20240310", 10).as_deref(),
            Some("20240220-20240229")
        );
        assert_eq!(
            shift_da_value("20240301\\20240302", 1).as_deref(),
            Some("20240229\\20240301")
        );
        assert_eq!(
            shift_dt_value("20240301123456.5+0100", 1).as_deref(),
            Some("20240229123456.5+0100")
        );
        assert_eq!(shift_da_value("20241301", 1), None);
        assert_eq!(shift_da_value("unknown", 1), None);
        assert_eq!(shift_dt_value("2024", 1), None);
    }

    proptest! {
        #[test]
        fn intervals_are_preserved(a in 0i64..40000, b in 0i64..40000, off in 1i64..=3650) {
            let fmt = |z: i64| { let (y, m, d) = civil_from_days(z); format!("{y:04}{m:02}{d:02}") };
            let (da, db) = (fmt(a), fmt(b));
            let sa = shift_da_value(&da, off).expect("valid");
            let sb = shift_da_value(&db, off).expect("valid");
            let back = |s: &str| days_from_civil(s[0..4].parse().expect("y"), s[4..6].parse().expect("m"), s[6..8].parse().expect("d"));
            prop_assert_eq!(back(&sb) - back(&sa), b - a);
            prop_assert_eq!(back(&da) - back(&sa), off);
        }
    }
}
