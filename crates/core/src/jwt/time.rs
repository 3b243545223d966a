//! NumericDate helpers: UTC rendering, human relative times, `+1h`-style offsets.
//! No clock is read here: `now` is always a parameter.

/// `1970-01-01T00:00:00Z` style rendering of a Unix time, `None` outside years
/// 0000-9999 (see [`crate::time::format_rfc3339`]).
#[must_use]
pub fn utc(secs: i64) -> Option<String> {
    crate::time::format_rfc3339(secs)
}

/// A short human duration: `3d 4h`, `59m 30s`, `12s`.
#[must_use]
pub fn duration(secs: u64) -> String {
    const UNITS: [(u64, &str); 5] = [(31_536_000, "y"), (86_400, "d"), (3600, "h"), (60, "m"), (1, "s")];
    if secs == 0 {
        return "0s".to_owned();
    }
    let mut parts = Vec::new();
    let mut rest = secs;
    for (size, name) in UNITS {
        if rest >= size {
            parts.push(format!("{}{name}", rest / size));
            rest %= size;
        }
        if parts.len() == 2 {
            break;
        }
    }
    parts.join(" ")
}

/// `in 59m 30s`, `2h ago`, `now`, relative to `now`.
#[must_use]
pub fn relative(t: i64, now: i64) -> String {
    let delta = i128::from(t) - i128::from(now);
    let abs = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    if delta == 0 {
        "now".to_owned()
    } else if delta > 0 {
        format!("in {}", duration(abs))
    } else {
        format!("{} ago", duration(abs))
    }
}

/// Resolve a relative time (`+1h`, `-5m`, `30s`, `+2d`, `now`) against `now`.
/// Plain integers are absolute NumericDates and are returned unchanged.
#[must_use]
pub fn resolve(spec: &str, now: i64) -> Option<i64> {
    let s = spec.trim();
    if s.eq_ignore_ascii_case("now") {
        return Some(now);
    }
    let (sign, body) = match s.as_bytes().first()? {
        b'+' => (1i64, s.get(1..)?),
        b'-' => (-1i64, s.get(1..)?),
        _ => (1i64, s),
    };
    let unit_pos = body.find(|c: char| !c.is_ascii_digit()).unwrap_or(body.len());
    let (num, unit) = body.split_at(unit_pos);
    if num.is_empty() || num.len() > 12 {
        return None;
    }
    let n: i64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 604_800,
        "y" => 31_536_000,
        "" if s.starts_with(['+', '-']) => 1,
        "" => return Some(n),
        _ => return None,
    };
    now.checked_add(sign.checked_mul(n.checked_mul(mult)?)?)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_resolves() {
        assert_eq!(utc(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(utc(i64::MAX), None);
        assert_eq!(utc(-62_167_219_200).unwrap(), "0000-01-01T00:00:00Z");
        assert_eq!(utc(-62_167_219_201), None);
        assert_eq!(utc(253_402_300_799).unwrap(), "9999-12-31T23:59:59Z");
        assert_eq!(utc(253_402_300_800), None);
        assert_eq!(relative(100, 10), "in 1m 30s");
        assert_eq!(relative(10, 7210), "2h ago");
        assert_eq!(resolve("+1h", 1000), Some(4600));
        assert_eq!(resolve("-5m", 1000), Some(700));
        assert_eq!(resolve("now", 5), Some(5));
        assert_eq!(resolve("1700000000", 5), Some(1_700_000_000));
        assert_eq!(resolve("+1x", 5), None);
        assert_eq!(resolve("+99999999999999999h", 5), None);
    }
}
