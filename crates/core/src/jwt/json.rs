//! JSON parsing that keeps what `serde_json::Value` throws away: duplicate member
//! names (the last one wins silently in most libraries, which is how claims get
//! smuggled past a validator that reads the first).

use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// At most this many duplicate paths are recorded.
const MAX_DUPS: usize = 16;

/// Parse `bytes` as JSON, recording the path of every duplicated member name.
///
/// # Errors
/// The `serde_json` error (line, column, category) when the text is not JSON.
pub fn parse_with_dups(bytes: &[u8]) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut dups = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let v = Seed { dups: &mut dups, path: Path::Root }.deserialize(&mut de)?;
    de.end()?;
    Ok((v, dups))
}

#[derive(Clone, Copy)]
enum Path<'a> {
    Root,
    Key(&'a Path<'a>, &'a str),
    Index(&'a Path<'a>, usize),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Path::Root => Ok(()),
            Path::Key(p, k) => {
                if matches!(p, Path::Root) {
                    write!(f, "{k}")
                } else {
                    write!(f, "{p}.{k}")
                }
            }
            Path::Index(p, i) => write!(f, "{p}[{i}]"),
        }
    }
}

struct Seed<'a, 'p> {
    dups: &'a mut Vec<String>,
    path: Path<'p>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, '_> {
    type Value = Value;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        let mut i = 0usize;
        loop {
            let path = Path::Index(&self.path, i);
            let seed = Seed { dups: &mut *self.dups, path };
            match seq.next_element_seed(seed)? {
                Some(v) => out.push(v),
                None => break,
            }
            i += 1;
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let path = Path::Key(&self.path, &k);
            let v = map.next_value_seed(Seed { dups: &mut *self.dups, path })?;
            if out.contains_key(&k) && self.dups.len() < MAX_DUPS {
                self.dups.push(Path::Key(&self.path, &k).to_string());
            }
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

/// Byte offset in `bytes` of a serde_json error's (line, column), both 1-based.
#[must_use]
pub fn error_offset(bytes: &[u8], err: &serde_json::Error) -> usize {
    let (line, col) = (err.line(), err.column());
    let mut cur_line = 1usize;
    let mut line_start = 0usize;
    if line > 1 {
        for (i, &b) in bytes.iter().enumerate() {
            if b == b'\n' {
                cur_line += 1;
                if cur_line == line {
                    line_start = i + 1;
                    break;
                }
            }
        }
    }
    (line_start + col.saturating_sub(1)).min(bytes.len())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn finds_duplicates_at_depth() {
        let (v, mut d) = parse_with_dups(br#"{"a":1,"b":{"c":1,"c":2},"a":3,"l":[{"x":1,"x":1}]}"#).unwrap();
        assert_eq!(v["a"], 3);
        // Order depends on serde_json's map type (`preserve_order` may be unified in
        // by other crates); the set of duplicate paths does not.
        d.sort();
        assert_eq!(d, vec!["a".to_string(), "b.c".to_string(), "l[0].x".to_string()]);
        assert!(parse_with_dups(b"{\"a\":1} x").is_err());
    }
}
