//! Parsers for the units people type: durations (`90`, `30s`, `5m`, `12h`, `2d`, and `forever`
//! where waiting may be endless) and rates (`2MB/s`, `500KiB/s`, `1.5M`). One rule each, with
//! checked arithmetic, shared by the command line (clap value parsers) and `deposit.toml`.

use std::time::Duration;

use thiserror::Error;

use crate::error::{Classify, ErrorClass};

/// Words that mean "no limit" where a wait may be endless.
const FOREVER: [&str; 4] = ["forever", "inf", "infinite", "never"];

/// Rates at or above this many bytes per second are refused (a typo, not a link).
const MAX_RATE: f64 = 1e15;

/// Why a value could not be read. The text quoted is what was typed (a number and a unit, never
/// patient data), cut to 40 characters.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum UnitError {
    /// Not a duration.
    #[error("'{0}' is not a duration: use 0, 90s, 30m, 12h, 2d")]
    Duration(String),
    /// Not a duration nor one of the words for no limit.
    #[error("'{0}': use 0, 90s, 30m, 12h, 2d or forever")]
    Wait(String),
    /// A duration too long to count in seconds.
    #[error("'{0}' is too long a duration")]
    DurationTooLong(String),
    /// Not a rate.
    #[error("'{0}' is not a rate (e.g. 2MB/s, 500KiB/s)")]
    Rate(String),
    /// A rate with a unit we do not know.
    #[error("'{0}': unknown unit (use K, M, G, Ki, Mi or Gi)")]
    RateUnit(String),
    /// Zero, or absurdly large.
    #[error("'{0}': the rate must be at least 1 byte per second")]
    RateRange(String),
}

impl Classify for UnitError {
    fn code(&self) -> &'static str {
        match self {
            UnitError::Duration(_) | UnitError::Wait(_) | UnitError::DurationTooLong(_) => {
                "units.duration"
            }
            UnitError::Rate(_) | UnitError::RateUnit(_) | UnitError::RateRange(_) => "units.rate",
        }
    }
    fn class(&self) -> ErrorClass {
        ErrorClass::Permanent
    }
}

fn quoted(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Parses a duration into seconds: a whole number with an optional unit `s`, `m`, `h` or `d`
/// (any case, spaces allowed between), e.g. `0`, `90`, `90s`, `30m`, `12h`, `2d`.
pub fn parse_seconds(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let bad = || UnitError::Duration(quoted(text));
    let digits = t.strip_prefix('+').unwrap_or(t);
    let split = digits
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(digits.len());
    let (num, unit) = digits.split_at(split);
    if num.is_empty() {
        return Err(bad());
    }
    let mul: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let too_long = || UnitError::DurationTooLong(quoted(text));
    num.parse::<u64>()
        .map_err(|_| too_long())?
        .checked_mul(mul)
        .ok_or_else(too_long)
}

/// [`parse_seconds`] as a [`Duration`].
pub fn parse_duration(text: &str) -> Result<Duration, UnitError> {
    parse_seconds(text).map(Duration::from_secs)
}

/// How long to wait: a duration, or no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait(pub Option<Duration>);

/// Parses a wait: a duration as [`parse_seconds`] reads it, or `forever` (also `inf`,
/// `infinite`, `never`) for no limit.
pub fn parse_wait(text: &str) -> Result<Wait, UnitError> {
    let t = text.trim().to_ascii_lowercase();
    if FOREVER.contains(&t.as_str()) {
        return Ok(Wait(None));
    }
    match parse_seconds(text) {
        Ok(s) => Ok(Wait(Some(Duration::from_secs(s)))),
        Err(UnitError::Duration(_)) => Err(UnitError::Wait(quoted(text))),
        Err(e) => Err(e),
    }
}

/// Parses a rate in bytes per second, such as `2MB/s`, `500KiB/s`, `1.5M`, `800000`: K/M/G are
/// powers of 1000, Ki/Mi/Gi powers of 1024 (any case); a trailing `B`, `/s` or `ps` is optional.
pub fn parse_rate(text: &str) -> Result<u64, UnitError> {
    let t = text.trim();
    let t = t
        .strip_suffix("/s")
        .or_else(|| t.strip_suffix("ps"))
        .unwrap_or(t)
        .trim();
    let t = t.strip_suffix(['B', 'b']).unwrap_or(t);
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| UnitError::Rate(quoted(text)))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" => 1.0,
        "k" => 1e3,
        "m" => 1e6,
        "g" => 1e9,
        "ki" => 1024.0,
        "mi" => 1024.0 * 1024.0,
        "gi" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(UnitError::RateUnit(quoted(text))),
    };
    let rate = (value * mult).round();
    if !(1.0..MAX_RATE).contains(&rate) {
        return Err(UnitError::RateRange(quoted(text)));
    }
    // in range: a whole number below 2^53, exact as an integer
    Ok(rate as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn durations() {
        for (text, secs) in [
            ("0", 0),
            ("90", 90),
            ("90s", 90),
            ("30m", 1800),
            ("12h", 43_200),
            ("2d", 172_800),
            ("2M", 120),
            (" 30 s ", 30),
            ("+30s", 30),
            ("007", 7),
        ] {
            assert_eq!(parse_seconds(text), Ok(secs), "{text:?}");
        }
        for bad in ["", "s", "x", "-5", "1.5m", "3w", "1m30s", "30 sec"] {
            assert!(
                matches!(parse_seconds(bad), Err(UnitError::Duration(_))),
                "{bad:?}"
            );
        }
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    }

    #[test]
    fn a_huge_duration_is_an_error_not_an_overflow() {
        // 2^64 / 86400 ≈ 2.1e14: more days than seconds fit in a u64
        assert!(matches!(
            parse_seconds("999999999999999d"),
            Err(UnitError::DurationTooLong(_))
        ));
        assert!(matches!(
            parse_wait("213503982334602d"),
            Err(UnitError::DurationTooLong(_))
        ));
        assert!(matches!(
            parse_seconds("99999999999999999999"),
            Err(UnitError::DurationTooLong(_))
        ));
        assert_eq!(
            parse_seconds("213503982334601d"),
            Ok(213_503_982_334_601 * 86_400)
        );
        assert_eq!(parse_seconds(&u64::MAX.to_string()), Ok(u64::MAX));
    }

    #[test]
    fn waits() {
        for w in ["forever", "Forever", " inf ", "infinite", "never"] {
            assert_eq!(parse_wait(w), Ok(Wait(None)), "{w:?}");
        }
        assert_eq!(parse_wait("0"), Ok(Wait(Some(Duration::ZERO))));
        assert_eq!(parse_wait("30M"), Ok(Wait(Some(Duration::from_secs(1800)))));
        let e = parse_wait("soon").expect_err("not a wait");
        assert_eq!(e.to_string(), "'soon': use 0, 90s, 30m, 12h, 2d or forever");
        assert_eq!(e.code(), "units.duration");
    }

    #[test]
    fn rates() {
        for (text, rate) in [
            ("2MB/s", 2_000_000),
            ("500KiB/s", 512_000),
            ("1.5M", 1_500_000),
            ("800000", 800_000),
            ("10mbps", 10_000_000),
            ("500KB/s", 500_000),
            ("1MiB/s", 1_048_576),
            ("1GiB/s", 1_073_741_824),
            ("20 MB/s", 20_000_000),
            ("100b", 100),
            ("0.5", 1),
        ] {
            assert_eq!(parse_rate(text), Ok(rate), "{text:?}");
        }
        assert_eq!(
            parse_rate("fast").map_err(|e| e.to_string()),
            Err("'fast' is not a rate (e.g. 2MB/s, 500KiB/s)".into())
        );
        assert!(matches!(parse_rate("0"), Err(UnitError::RateRange(_))));
        assert!(matches!(parse_rate("0.4"), Err(UnitError::RateRange(_))));
        assert!(matches!(parse_rate("2000TB"), Err(UnitError::RateUnit(_))));
        assert!(matches!(
            parse_rate("1000000G"),
            Err(UnitError::RateRange(_))
        ));
        assert!(matches!(
            parse_rate("3 parsecs"),
            Err(UnitError::RateUnit(_))
        ));
        assert_eq!(parse_rate("999999G"), Ok(999_999_000_000_000));
    }

    proptest! {
        #[test]
        fn any_text_is_an_answer_never_a_panic(s in "\\PC{0,30}") {
            let _ = parse_seconds(&s);
            let _ = parse_wait(&s);
            let _ = parse_rate(&s);
        }

        #[test]
        fn whole_units_multiply_exactly(n in 0u64..1_000_000_000, u in 0usize..4) {
            let (suffix, mul) = [("s", 1), ("m", 60), ("h", 3600), ("d", 86_400)][u];
            let text = format!("{n}{suffix}");
            prop_assert_eq!(parse_seconds(&text), Ok(n * mul));
        }

        #[test]
        fn every_digit_string_with_a_unit_is_checked(n in "[0-9]{1,25}", u in "[smhd]?") {
            let text = format!("{n}{u}");
            match parse_seconds(&text) {
                Ok(s) => prop_assert!(n.parse::<u128>().is_ok_and(|v| v <= u128::from(s))),
                Err(e) => prop_assert!(matches!(e, UnitError::DurationTooLong(_))),
            }
        }

        #[test]
        fn decimal_rates_round_trip(n in 1u64..1_000_000_000_000) {
            prop_assert_eq!(parse_rate(&n.to_string()), Ok(n));
            let text = format!("{n}B/s");
            prop_assert_eq!(parse_rate(&text), Ok(n));
        }
    }
}
