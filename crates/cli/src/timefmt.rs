//! Time helpers for the CLI. Dates go through [`sealpost_core::time`] (one RFC 3339
//! implementation for the workspace, no date-time dependency).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sealpost_core::time;

/// Parse `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` (surrounding whitespace ignored)
/// into Unix seconds.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    time::parse_rfc3339(s.trim()).ok()
}

/// Format Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`; a time outside years 0000-9999
/// (only a hostile claim has one) is shown as the raw number.
pub fn format_utc(secs: i64) -> String {
    time::format_rfc3339(secs).unwrap_or_else(|| format!("{secs} (not a date in years 0000-9999)"))
}

pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// `1h02m`, `9m05s`, `42s`.
pub fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_rfc3339("2026-11-22T15:38:22Z"), Some(1_795_361_902));
        assert_eq!(format_utc(1_795_361_902), "2026-11-22T15:38:22Z");
        assert_eq!(parse_rfc3339("2026-11-22T16:38:22.123+01:00"), Some(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-11-22T15:38:22"), None);
        assert_eq!(parse_rfc3339("garbage"), None);
        assert_eq!(parse_rfc3339(" 2026-11-22T15:38:22Z\n"), Some(1_795_361_902));
        assert_eq!(parse_rfc3339("2026-02-30T15:38:22Z"), None);
        assert_eq!(format_utc(-1), "1969-12-31T23:59:59Z");
        assert_eq!(format_utc(i64::MAX), "9223372036854775807 (not a date in years 0000-9999)");
        assert_eq!(human_duration(Duration::from_secs(545)), "9m05s");
    }
}
