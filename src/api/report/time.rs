//! Local times for people: a time zone (the machine's, or a fixed offset a browser passed in),
//! "3 Dec 2026 14:02 (UTC+01:00)" for reading and ISO 8601 with the offset for tables, and
//! calendar dates of a report's period turned into Unix times.

use crate::calendar::{civil_from_days, days_from_civil, days_in_month};
use crate::error::ApiError;

/// Where local times are taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The machine's time zone, with the offset in force at each instant (daylight saving):
    /// the tz database on Unix, the system's time zone on Windows.
    Local,
    /// A fixed offset east of UTC in minutes (what a browser says for itself:
    /// `-new Date().getTimezoneOffset()`), so the web UI shows the reader's time, not the
    /// server's.
    Fixed(i32),
}

/// The largest offset a time zone has (UTC+14:00; UTC−12:00 the other way), with room.
const MAX_OFFSET_MINUTES: i32 = 18 * 60;

impl Zone {
    /// The zone for an offset passed in by a front door (`None`: the machine's).
    pub fn from_offset(minutes: Option<i32>) -> Result<Zone, ApiError> {
        match minutes {
            None => Ok(Zone::Local),
            Some(m) if m.abs() <= MAX_OFFSET_MINUTES => Ok(Zone::Fixed(m)),
            Some(m) => Err(ApiError::usage(
                "report.utc_offset",
                format!("a UTC offset of {m} minutes is not a time zone (at most ±18 hours)"),
            )),
        }
    }

    /// Minutes east of UTC at the instant `unix`.
    pub fn offset_at(&self, unix: i64) -> i32 {
        match self {
            Zone::Fixed(m) => *m,
            Zone::Local => {
                use chrono::TimeZone;
                chrono::DateTime::from_timestamp(unix, 0)
                    .map(|t| {
                        chrono::Local
                            .offset_from_utc_datetime(&t.naive_utc())
                            .local_minus_utc()
                            / 60
                    })
                    .unwrap_or(0)
            }
        }
    }

    /// "3 Dec 2026 14:02 (UTC+01:00)" for the instant `unix`.
    pub fn words(&self, unix: i64) -> String {
        words(unix, self.offset_at(unix))
    }

    /// "2026-12-03T14:02:00+01:00" for the instant `unix`.
    pub fn iso(&self, unix: i64) -> String {
        iso(unix, self.offset_at(unix))
    }

    /// The first instant of the local calendar day `date` (`YYYY-MM-DD`).
    pub fn day_start(&self, date: &str) -> Result<i64, ApiError> {
        let days = parse_date(date)?;
        let guess = days * 86_400;
        // the offset in force then (a day starting across a change is off by at most the change)
        Ok(guess - i64::from(self.offset_at(guess)) * 60)
    }
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn split(unix: i64, offset_minutes: i32) -> (i64, u32, u32, i64, i64, i64) {
    let t = unix.saturating_add(i64::from(offset_minutes) * 60);
    let (y, m, d) = civil_from_days(t.div_euclid(86_400));
    let s = t.rem_euclid(86_400);
    (y, m, d, s / 3600, s % 3600 / 60, s % 60)
}

/// "UTC", "UTC+01:00", "UTC-05:30".
pub fn offset_label(offset_minutes: i32) -> String {
    if offset_minutes == 0 {
        return "UTC".into();
    }
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let a = offset_minutes.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", a / 60, a % 60)
}

/// "3 Dec 2026 14:02 (UTC+01:00)": the instant `unix` at `offset_minutes` east of UTC.
pub fn words(unix: i64, offset_minutes: i32) -> String {
    let (y, m, d, hh, mm, _) = split(unix, offset_minutes);
    let month = MONTHS
        .get((m as usize).saturating_sub(1))
        .copied()
        .unwrap_or("?");
    format!(
        "{d} {month} {y} {hh:02}:{mm:02} ({})",
        offset_label(offset_minutes)
    )
}

/// "2026-12-03T14:02:00+01:00" (RFC 3339; `Z` at UTC).
pub fn iso(unix: i64, offset_minutes: i32) -> String {
    let (y, m, d, hh, mm, ss) = split(unix, offset_minutes);
    let zone = if offset_minutes == 0 {
        "Z".to_string()
    } else {
        let sign = if offset_minutes < 0 { '-' } else { '+' };
        let a = offset_minutes.unsigned_abs();
        format!("{sign}{:02}:{:02}", a / 60, a % 60)
    };
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{zone}")
}

/// Day number since 1970-01-01 of `YYYY-MM-DD` (checked: a real date).
pub fn parse_date(text: &str) -> Result<i64, ApiError> {
    let bad = || {
        ApiError::usage(
            "report.date",
            format!("{text:?} is not a date: write it as YYYY-MM-DD, e.g. 2026-12-03"),
        )
    };
    let t = text.trim();
    let mut parts = t.splitn(3, '-');
    let (Some(y), Some(m), Some(d)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    if y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return Err(bad());
    }
    let y: i64 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let d: u32 = d.parse().map_err(|_| bad())?;
    if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
        return Err(bad());
    }
    Ok(days_from_civil(y, m, d))
}

/// "412 MB", "1.2 GB", "950 B" (decimal units, as archives and file managers count).
pub fn bytes_words(n: u64) -> String {
    const UNITS: [&str; 5] = ["kB", "MB", "GB", "TB", "PB"];
    if n < 1000 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1000.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    if v < 10.0 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-03T13:02:00Z
    const T: i64 = 1_796_302_920;

    #[test]
    fn words_and_iso_at_fixed_offsets() {
        assert_eq!(words(T, 0), "3 Dec 2026 13:02 (UTC)");
        assert_eq!(words(T, 60), "3 Dec 2026 14:02 (UTC+01:00)");
        assert_eq!(words(T, -11 * 60), "3 Dec 2026 02:02 (UTC-11:00)");
        // across midnight and with half hours
        assert_eq!(words(T, 11 * 60 + 30), "4 Dec 2026 00:32 (UTC+11:30)");
        assert_eq!(iso(T, 0), "2026-12-03T13:02:00Z");
        assert_eq!(iso(T, 330), "2026-12-03T18:32:00+05:30");
        assert_eq!(iso(T, -90), "2026-12-03T11:32:00-01:30");
        assert_eq!(Zone::Fixed(60).words(T), "3 Dec 2026 14:02 (UTC+01:00)");
    }

    #[test]
    fn offsets_out_of_range_are_refused() {
        assert_eq!(Zone::from_offset(None).expect("local"), Zone::Local);
        assert_eq!(
            Zone::from_offset(Some(-300)).expect("ok"),
            Zone::Fixed(-300)
        );
        let e = Zone::from_offset(Some(24 * 60)).expect_err("too far");
        assert_eq!(e.code, "report.utc_offset");
    }

    #[test]
    fn local_zone_gives_a_real_offset() {
        let m = Zone::Local.offset_at(T);
        assert!(m.abs() <= MAX_OFFSET_MINUTES, "{m}");
    }

    #[test]
    fn dates_are_checked_and_days_start_at_local_midnight() {
        assert_eq!(parse_date("1970-01-02").expect("date"), 1);
        for bad in [
            "2026-02-30",
            "2026-13-01",
            "2026-1-01",
            "yesterday",
            "",
            "2026-12-03x",
        ] {
            let e = parse_date(bad).expect_err(bad);
            assert_eq!(e.code, "report.date", "{bad}");
        }
        assert_eq!(parse_date("2024-02-29").expect("leap"), 19_782);
        let start = Zone::Fixed(60).day_start("2026-12-03").expect("day");
        assert_eq!(iso(start, 60), "2026-12-03T00:00:00+01:00");
        assert_eq!(Zone::Fixed(0).day_start("1970-01-01").expect("day"), 0);
    }

    #[test]
    fn bytes_in_words() {
        assert_eq!(bytes_words(0), "0 B");
        assert_eq!(bytes_words(999), "999 B");
        assert_eq!(bytes_words(1_500), "1.5 kB");
        assert_eq!(bytes_words(412_000_000), "412 MB");
        assert_eq!(bytes_words(1_234_000_000), "1.2 GB");
    }
}
