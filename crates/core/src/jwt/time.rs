//! NumericDate helpers: UTC rendering, human relative times, `+1h`-style offsets.
//! No clock is read here: `now` is always a parameter.

/// Latest instant rendered as a date (year 9999).
const MAX_RENDERABLE: i64 = 253_402_300_799;
/// Earliest instant rendered as a date (year 0).
const MIN_RENDERABLE: i64 = -62_167_219_200;

/// `1970-01-01T00:00:00Z` style rendering of a Unix time, `None` when out of range.
#[must_use]
pub fn utc(secs: i64) -> Option<String> {
    if !(MIN_RENDERABLE..=MAX_RENDERABLE).contains(&secs) {
        return None;
    }
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    ))
}

// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
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
mod tests {
    use super::*;

    #[test]
    fn renders_and_resolves() {
        assert_eq!(utc(0).unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(utc(1_700_000_000).unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(utc(951_782_400).unwrap(), "2000-02-29T00:00:00Z");
        assert_eq!(utc(i64::MAX), None);
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
