//! Date shifting for the "retain longitudinal temporal information, modified dates" option.
//!
//! Every DA and the date part of every DT move back by the same per-patient number of days, so
//! intervals between dates of one patient are preserved exactly. Times of day are unchanged.

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// The date for a day number since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

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
    fn civil_round_trip_and_known_points() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(
            days_from_civil(2000, 3, 1) - days_from_civil(2000, 2, 28),
            2
        );
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
    }

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
