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
    let mut out = String::with_capacity(12);
    push_duration(&mut out, secs);
    out
}

fn push_duration(out: &mut String, secs: u64) {
    const UNITS: [(u64, char); 5] = [(31_536_000, 'y'), (86_400, 'd'), (3600, 'h'), (60, 'm'), (1, 's')];
    if secs == 0 {
        out.push_str("0s");
        return;
    }
    let mut parts = 0;
    let mut rest = secs;
    for (size, name) in UNITS {
        if rest >= size {
            if parts > 0 {
                out.push(' ');
            }
            crate::time::push_num(out, rest / size, 1);
            out.push(name);
            rest %= size;
            parts += 1;
        }
        if parts == 2 {
            break;
        }
    }
}

/// `in 59m 30s`, `2h ago`, `now`, relative to `now`.
#[must_use]
pub fn relative(t: i64, now: i64) -> String {
    let delta = i128::from(t) - i128::from(now);
    let abs = u64::try_from(delta.unsigned_abs()).unwrap_or(u64::MAX);
    let mut out = String::with_capacity(16);
    if delta == 0 {
        out.push_str("now");
    } else if delta > 0 {
        out.push_str("in ");
        push_duration(&mut out, abs);
    } else {
        push_duration(&mut out, abs);
        out.push_str(" ago");
    }
    out
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

    /// The hand-written renderings give exactly what `format!` gave.
    #[test]
    fn same_text_as_fmt() {
        fn duration_fmt(secs: u64) -> String {
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
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut samples: Vec<i64> = vec![
            0,
            -1,
            1,
            59,
            60,
            3599,
            3600,
            86_399,
            86_400,
            31_535_999,
            31_536_000,
            crate::time::MIN_UNIX,
            crate::time::MAX_UNIX,
            crate::time::MIN_UNIX - 1,
            crate::time::MAX_UNIX + 1,
            i64::MIN,
            i64::MAX,
        ];
        for _ in 0..20_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            #[allow(clippy::cast_possible_wrap)]
            let v = (x as i64) >> (x % 50);
            samples.push(v);
        }
        for &v in &samples {
            let utc_fmt = (crate::time::MIN_UNIX..=crate::time::MAX_UNIX).contains(&v).then(|| {
                let (y, m, d) = crate::time::civil_from_days(v.div_euclid(86_400));
                let rem = v.rem_euclid(86_400);
                format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
            });
            assert_eq!(utc(v), utc_fmt, "{v}");
            assert_eq!(duration(v.unsigned_abs()), duration_fmt(v.unsigned_abs()), "{v}");
            let r = relative(v, 1_700_000_000);
            let d = i128::from(v) - 1_700_000_000;
            let abs = u64::try_from(d.unsigned_abs()).unwrap_or(u64::MAX);
            let want = match d.signum() {
                0 => "now".to_owned(),
                1 => format!("in {}", duration_fmt(abs)),
                _ => format!("{} ago", duration_fmt(abs)),
            };
            assert_eq!(r, want, "{v}");
        }
        assert_eq!(duration(u64::MAX), duration_fmt(u64::MAX));
    }
}
