//! Calendar arithmetic and RFC 3339 timestamps in UTC, without a date-time
//! dependency. One copy for the whole workspace: the JWT engine, the broker and
//! the CLI all format and parse through here.
//!
//! Every function is total: any `i64` (or any string) gives a value or `None` /
//! an error, never a panic or an overflow. No clock is read here.
//!
//! ```
//! use sealpost_core::time;
//! assert_eq!(time::format_rfc3339(951_782_400).as_deref(), Some("2000-02-29T00:00:00Z"));
//! assert_eq!(time::parse_rfc3339("2000-02-29T01:00:00+01:00"), Ok(951_782_400));
//! assert_eq!(time::civil_from_days(-1), (1969, 12, 31));
//! assert_eq!(time::days_from_civil(1970, 1, 1), Some(0));
//! ```

use crate::error::ErrorCode;

/// Seconds per day.
const DAY: i64 = 86_400;
/// Days from 0000-03-01 to 1970-01-01 (proleptic Gregorian).
const EPOCH_SHIFT: i128 = 719_468;
/// Days in a 400-year Gregorian cycle.
const ERA_DAYS: i128 = 146_097;

/// Earliest Unix time with a four-digit year: `0000-01-01T00:00:00Z`.
pub const MIN_UNIX: i64 = -62_167_219_200;
/// Latest Unix time with a four-digit year: `9999-12-31T23:59:59Z`.
pub const MAX_UNIX: i64 = 253_402_300_799;

/// Whether `year` is a Gregorian leap year (proleptic; year 0 is a leap year).
#[must_use]
pub const fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Number of days in `month` (1-12) of `year`, `None` for a month out of range.
#[must_use]
pub const fn days_in_month(year: i64, month: u8) -> Option<u8> {
    Some(match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => return None,
    })
}

/// Civil date `(year, month 1-12, day 1-31)` of a day count since 1970-01-01
/// (proleptic Gregorian; negative counts are before 1970). Defined for every `i64`.
///
/// Howard Hinnant's `civil_from_days`, computed in `i128` so no input overflows.
#[must_use]
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub fn civil_from_days(days: i64) -> (i64, u8, u8) {
    let z = i128::from(days) + EPOCH_SHIFT;
    let era = z.div_euclid(ERA_DAYS);
    let doe = z.rem_euclid(ERA_DAYS); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11], March-based
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8; // [1, 31]
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8; // [1, 12]
    let year = yoe + era * 400 + i128::from(month <= 2);
    // |days| <= 2^63 gives |year| < 2^63 / 365: always fits.
    (i64::try_from(year).unwrap_or(if year < 0 { i64::MIN } else { i64::MAX }), month, day)
}

/// Day count since 1970-01-01 of a civil date; `None` when the month or day does
/// not exist (month 13, February 30, ...) or the count does not fit in `i64`.
#[must_use]
pub fn days_from_civil(year: i64, month: u8, day: u8) -> Option<i64> {
    if day == 0 || day > days_in_month(year, month)? {
        return None;
    }
    let y = i128::from(year) - i128::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = (i128::from(month) + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + i128::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    i64::try_from(era * ERA_DAYS + doe - EPOCH_SHIFT).ok()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time, `None` outside
/// [`MIN_UNIX`]`..=`[`MAX_UNIX`] (RFC 3339 years have four digits).
#[must_use]
pub fn format_rfc3339(secs: i64) -> Option<String> {
    if !(MIN_UNIX..=MAX_UNIX).contains(&secs) {
        return None;
    }
    let (y, m, d) = civil_from_days(secs.div_euclid(DAY));
    let rem = secs.rem_euclid(DAY);
    // Written digit by digit, without `core::fmt`: every JWT report renders each
    // time claim this way (inspection alone 0.975x the time in the WASM bundle).
    let mut out = String::with_capacity(20);
    for (i, (v, width)) in
        [(y, 4), (i64::from(m), 2), (i64::from(d), 2), (rem / 3600, 2), (rem % 3600 / 60, 2), (rem % 60, 2)]
            .into_iter()
            .enumerate()
    {
        push_num(&mut out, u64::try_from(v).ok()?, width);
        out.push(['-', '-', 'T', ':', ':', 'Z'][i]);
    }
    Some(out)
}

/// `v` in decimal, zero-padded to at least `width` digits.
pub(crate) fn push_num(out: &mut String, mut v: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut n = 0;
    while let Some(slot) = digits.get_mut(n)
        && (v > 0 || n < width.max(1))
    {
        #[allow(clippy::cast_possible_truncation)]
        {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
        n += 1;
    }
    for &c in digits.iter().take(n).rev() {
        out.push(char::from(c));
    }
}

/// Why a string is not an RFC 3339 date-time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rfc3339Error {
    /// Not of the form `YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)`.
    #[error("not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SSZ)")]
    Malformed,
    /// Well formed, but a field is out of range (month 13, February 30, hour 24,
    /// offset +24:00, ...).
    #[error("RFC 3339 date-time with a field out of range")]
    InvalidDate,
}

impl ErrorCode for Rfc3339Error {
    fn code(&self) -> &'static str {
        match self {
            Rfc3339Error::Malformed => "ERR_TIME_MALFORMED",
            Rfc3339Error::InvalidDate => "ERR_TIME_INVALID_DATE",
        }
    }
}

impl Rfc3339Error {
    /// The stable code (same as [`ErrorCode::code`]).
    #[must_use]
    pub fn code(&self) -> &'static str {
        ErrorCode::code(self)
    }
}

/// Parse an RFC 3339 `date-time` (section 5.6) into Unix seconds:
/// `YYYY-MM-DD(T|t| )HH:MM:SS[.digits](Z|z|+HH:MM|-HH:MM)`.
///
/// Fractional seconds are truncated; a leap second (`:60`) counts as the first
/// second of the next minute, as POSIX time does. No surrounding whitespace is
/// accepted.
///
/// # Errors
/// [`Rfc3339Error::Malformed`] for anything not of that shape,
/// [`Rfc3339Error::InvalidDate`] for a field out of range.
pub fn parse_rfc3339(s: &str) -> Result<i64, Rfc3339Error> {
    use Rfc3339Error::{InvalidDate, Malformed};
    let b = s.as_bytes();
    let digits = |at: usize, n: usize| -> Result<i64, Rfc3339Error> {
        let part = b.get(at..at + n).ok_or(Malformed)?;
        part.iter().try_fold(
            0i64,
            |acc, &c| if c.is_ascii_digit() { Ok(acc * 10 + i64::from(c - b'0')) } else { Err(Malformed) },
        )
    };
    let expect = |at: usize, ok: &[u8]| -> Result<(), Rfc3339Error> {
        match b.get(at) {
            Some(c) if ok.contains(c) => Ok(()),
            _ => Err(Malformed),
        }
    };
    let year = digits(0, 4)?;
    expect(4, b"-")?;
    let month = digits(5, 2)?;
    expect(7, b"-")?;
    let day = digits(8, 2)?;
    expect(10, b"Tt ")?;
    let hour = digits(11, 2)?;
    expect(13, b":")?;
    let minute = digits(14, 2)?;
    expect(16, b":")?;
    let second = digits(17, 2)?;
    let mut i = 19;
    if b.get(i) == Some(&b'.') {
        let start = i + 1;
        i = start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count();
        if i == start {
            return Err(Malformed);
        }
    }
    let offset = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(&sign @ (b'+' | b'-')) if i + 6 == b.len() => {
            expect(i + 3, b":")?;
            let (oh, om) = (digits(i + 1, 2)?, digits(i + 4, 2)?);
            if oh > 23 || om > 59 {
                return Err(InvalidDate);
            }
            let off = oh * 3600 + om * 60;
            if sign == b'+' { off } else { -off }
        }
        _ => return Err(Malformed),
    };
    if hour > 23 || minute > 59 || second > 60 {
        return Err(InvalidDate);
    }
    let (month, day) = (u8::try_from(month).map_err(|_| InvalidDate)?, u8::try_from(day).map_err(|_| InvalidDate)?);
    // Four-digit years keep every value below far within i64.
    let days = days_from_civil(year, month, day).ok_or(InvalidDate)?;
    Ok(days * DAY + hour * 3600 + minute * 60 + second - offset)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Deterministic spread of i64 values: edges, powers of two, and an LCG.
    fn samples() -> Vec<i64> {
        let mut v = vec![
            i64::MIN,
            i64::MIN + 1,
            -1,
            0,
            1,
            i64::MAX - 1,
            i64::MAX,
            MIN_UNIX,
            MIN_UNIX - 1,
            MAX_UNIX,
            MAX_UNIX + 1,
        ];
        for k in 0..63 {
            v.extend([1i64 << k, -(1i64 << k), (1i64 << k) - 1, -(1i64 << k) + 1]);
        }
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            v.push(x as i64);
            v.push((x as i64) >> (x % 64));
        }
        v
    }

    #[test]
    fn known_dates() {
        assert_eq!(format_rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(-1).unwrap(), "1969-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(format_rfc3339(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(format_rfc3339(1_795_361_902).unwrap(), "2026-11-22T15:38:22Z");
        assert_eq!(format_rfc3339(MAX_UNIX).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(format_rfc3339(MIN_UNIX).unwrap(), "0000-01-01T00:00:00Z");
        assert_eq!(format_rfc3339(MAX_UNIX + 1), None);
        assert_eq!(format_rfc3339(MIN_UNIX - 1), None);
        assert_eq!(format_rfc3339(i64::MAX), None);
        assert_eq!(format_rfc3339(i64::MIN), None);
    }

    #[test]
    fn civil_conversions() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(civil_from_days(-719_528), (0, 1, 1));
        assert_eq!(civil_from_days(-719_529), (-1, 12, 31));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(2_932_896), (9999, 12, 31));
        assert_eq!(days_from_civil(1970, 1, 1), Some(0));
        assert_eq!(days_from_civil(2000, 2, 29), Some(11_016));
        assert_eq!(days_from_civil(2000, 3, 1), Some(11_017));
        assert_eq!(days_from_civil(0, 1, 1), Some(-719_528));
        assert_eq!(days_from_civil(-1, 12, 31), Some(-719_529));
        assert_eq!(days_from_civil(9999, 12, 31), Some(2_932_896));
        // leap years: 2000 and 2024 yes, 1900 and 2100 no
        assert_eq!(days_from_civil(2024, 2, 29), Some(19_782));
        assert_eq!(days_from_civil(1900, 2, 29), None);
        assert_eq!(days_from_civil(2100, 2, 29), None);
        assert!(is_leap_year(0) && is_leap_year(-4) && !is_leap_year(-100) && is_leap_year(-400));
        // nonexistent dates
        for (m, d) in [(0, 1), (13, 1), (1, 0), (1, 32), (4, 31), (2, 30)] {
            assert_eq!(days_from_civil(2024, m, d), None, "{m}-{d}");
        }
        // beyond i64
        assert_eq!(days_from_civil(i64::MAX, 12, 31), None);
        assert_eq!(days_from_civil(i64::MIN, 1, 1), None);
    }

    #[test]
    fn civil_roundtrip_every_day_of_four_centuries_and_then_some() {
        // 1600-01-01 .. 2400-12-31 day by day, each consecutive
        let start = days_from_civil(1600, 1, 1).unwrap();
        let end = days_from_civil(2400, 12, 31).unwrap();
        let mut prev = civil_from_days(start - 1);
        for z in start..=end {
            let (y, m, d) = civil_from_days(z);
            assert_eq!(days_from_civil(y, m, d), Some(z));
            let next_day = (y, m, d) == (prev.0, prev.1, prev.2 + 1);
            let next_month =
                d == 1 && ((y == prev.0 && m == prev.1 + 1) || (y == prev.0 + 1 && m == 1 && prev.1 == 12));
            assert!(next_day || next_month, "{prev:?} -> {:?}", (y, m, d));
            assert_eq!(prev.2, if next_month { days_in_month(prev.0, prev.1).unwrap() } else { prev.2 });
            prev = (y, m, d);
        }
    }

    #[test]
    fn total_on_every_i64() {
        for v in samples() {
            let (y, m, d) = civil_from_days(v);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m).unwrap(), "{v}");
            if let Some(back) = days_from_civil(y, m, d) {
                assert_eq!(back, v);
            }
            match format_rfc3339(v) {
                Some(s) => {
                    assert_eq!(s.len(), 20, "{s}");
                    assert_eq!(parse_rfc3339(&s), Ok(v), "{s}");
                }
                None => assert!(!(MIN_UNIX..=MAX_UNIX).contains(&v)),
            }
            // a big year number never panics or overflows
            let _ = days_from_civil(v, 2, 29);
            let _ = days_from_civil(v, 12, 31);
        }
    }

    #[test]
    fn parses_rfc3339() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Ok(-1));
        assert_eq!(parse_rfc3339("2026-11-22T15:38:22Z"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22t15:38:22z"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22 15:38:22Z"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22T16:38:22.123+01:00"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22T15:38:22.999999999Z"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22T10:08:22-05:30"), Ok(1_795_361_902));
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Ok(951_782_400));
        assert_eq!(parse_rfc3339("0000-01-01T00:00:00Z"), Ok(MIN_UNIX));
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59Z"), Ok(MAX_UNIX));
        assert_eq!(parse_rfc3339("9999-12-31T23:59:59-23:59"), Ok(MAX_UNIX + 23 * 3600 + 59 * 60));
        // leap second: the next minute's first second
        assert_eq!(parse_rfc3339("2016-12-31T23:59:60Z"), parse_rfc3339("2017-01-01T00:00:00Z"));
    }

    #[test]
    fn refuses_bad_rfc3339() {
        use Rfc3339Error::{InvalidDate, Malformed};
        for s in [
            "",
            "garbage",
            "2026-11-22T15:38:22",
            "2026-11-22",
            "2026-11-22T15:38Z",
            "2026-11-22T15:38:22.Z",
            "2026-11-22T15:38:22ZZ",
            "2026-11-22T15:38:22+0100",
            "2026-11-22T15:38:22+01:00 ",
            " 2026-11-22T15:38:22Z",
            "2026-11-22T15:38:22+1:00",
            "+2026-11-22T15:38:22Z",
            "-026-11-22T15:38:22Z",
            "20261-11-22T15:38:22Z",
            "2026/11/22T15:38:22Z",
            "2026-11-22X15:38:22Z",
            "2026-1a-22T15:38:22Z",
            "2026-11-22T15:38:22\u{0}",
            "2026-11-22T15:38:2é",
            "２０２６-11-22T15:38:22Z",
        ] {
            assert_eq!(parse_rfc3339(s), Err(Malformed), "{s:?}");
        }
        for s in [
            "2026-00-22T15:38:22Z",
            "2026-13-22T15:38:22Z",
            "2026-11-00T15:38:22Z",
            "2026-11-31T15:38:22Z",
            "2025-02-29T15:38:22Z",
            "1900-02-29T00:00:00Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T15:60:22Z",
            "2026-11-22T15:38:61Z",
            "2026-11-22T15:38:22+24:00",
            "2026-11-22T15:38:22-00:60",
        ] {
            assert_eq!(parse_rfc3339(s), Err(InvalidDate), "{s:?}");
        }
        assert_eq!(Malformed.code(), "ERR_TIME_MALFORMED");
        assert_eq!(InvalidDate.code(), "ERR_TIME_INVALID_DATE");
    }

    #[test]
    fn parse_never_panics_on_prefixes_and_mutations() {
        let good = "2026-11-22T16:38:22.123+01:00";
        for i in 0..=good.len() {
            let _ = parse_rfc3339(&good[..i]);
            for c in ['0', '9', ':', '-', '.', 'T', 'Z', '+', 'é', '\u{10ffff}'] {
                let mut s = good[..i].to_owned();
                s.push(c);
                s.push_str(&good[i..]);
                let _ = parse_rfc3339(&s);
                if i < good.len() {
                    let mut t = good[..i].to_owned();
                    t.push(c);
                    t.push_str(&good[i + 1..]);
                    let _ = parse_rfc3339(&t);
                }
            }
        }
    }
}
