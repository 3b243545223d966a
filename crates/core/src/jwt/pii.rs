//! Personal data and secrets in the payload. Messages name the claim, never the value.

use serde_json::{Map, Value};

use super::codes::{Code, push};
use super::findings::clip;
use super::report::Finding;

const MAX_NODES: usize = 4096;
const MAX_DEPTH: usize = 12;
const MAX_PER_CODE: usize = 3;

struct Scan<'a> {
    out: &'a mut Vec<Finding>,
    nodes: usize,
    counts: [usize; 9],
}

fn slot(code: Code) -> usize {
    match code {
        Code::PiiEmail => 0,
        Code::PiiPhone => 1,
        Code::PiiName => 2,
        Code::PiiAddress => 3,
        Code::PiiBirthdate => 4,
        Code::PiiGovernmentId => 5,
        Code::PiiCardNumber => 6,
        Code::PrivateKeyInPayload => 7,
        _ => 8,
    }
}

impl Scan<'_> {
    fn hit(&mut self, code: Code, path: &str, what: &str) {
        let i = slot(code);
        if let Some(c) = self.counts.get_mut(i)
            && *c < MAX_PER_CODE
        {
            *c += 1;
            push(self.out, code, &format!("payload.{}", clip(path, 80)), format!("{} holds {what}", clip(path, 80)));
        }
    }
}

/// Scan the claims for personal data and secrets.
pub fn scan(out: &mut Vec<Finding>, payload: &Map<String, Value>) {
    let mut s = Scan { out, nodes: 0, counts: [0; 9] };
    walk_object(&mut s, payload, "", 0);
}

fn key_class(key: &str) -> Option<(Code, &'static str)> {
    // Lower-case ASCII alphanumerics of the key, on the stack (every listed name
    // is shorter than 32; longer keys cannot match).
    let mut buf = [0u8; 32];
    let mut len = 0;
    for b in key.bytes().filter(u8::is_ascii_alphanumeric) {
        *buf.get_mut(len)? = b.to_ascii_lowercase();
        len += 1;
    }
    let k = std::str::from_utf8(buf.get(..len)?).ok()?;
    Some(match k {
        "email" | "emailaddress" | "mail" | "upn" => (Code::PiiEmail, "an e-mail address"),
        "phone" | "phonenumber" | "mobile" | "tel" | "telephone" | "msisdn" => (Code::PiiPhone, "a phone number"),
        "name" | "givenname" | "familyname" | "middlename" | "fullname" | "firstname" | "lastname" | "surname"
        | "displayname" => (Code::PiiName, "a person's name"),
        "address" | "streetaddress" | "postalcode" | "zip" | "zipcode" | "homeaddress" | "street" => {
            (Code::PiiAddress, "a postal address")
        }
        "birthdate" | "birthday" | "dob" | "dateofbirth" => (Code::PiiBirthdate, "a birth date"),
        "ssn"
        | "socialsecuritynumber"
        | "nationalid"
        | "passport"
        | "passportnumber"
        | "taxid"
        | "nin"
        | "nino"
        | "bsn"
        | "dni"
        | "nif"
        | "driverslicense" => (Code::PiiGovernmentId, "a government identifier"),
        "cardnumber" | "ccnumber" | "creditcard" | "pan" => (Code::PiiCardNumber, "a payment card number"),
        "password" | "passwd" | "pwd" | "secret" | "clientsecret" | "apikey" | "privatekey" | "refreshtoken"
        | "accesstoken" | "sessionsecret" | "pin" => (Code::SecretInPayload, "a secret (password, API key or token)"),
        _ => return None,
    })
}

fn walk_object(s: &mut Scan<'_>, o: &Map<String, Value>, prefix: &str, depth: usize) {
    if depth > MAX_DEPTH {
        return;
    }
    // A JWK with private members (anywhere: cnf.jwk, a "key" claim...)
    if o.get("kty").is_some_and(Value::is_string) {
        let private: Vec<&str> =
            ["d", "p", "q", "dp", "dq", "qi", "k"].into_iter().filter(|m| o.contains_key(*m)).collect();
        if !private.is_empty() {
            let path = if prefix.is_empty() { "(claims)" } else { prefix };
            s.hit(Code::PrivateKeyInPayload, path, &format!("a JWK with private members ({})", private.join(", ")));
        }
    }
    for (k, v) in o {
        s.nodes += 1;
        if s.nodes > MAX_NODES {
            return;
        }
        let path = || if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        let non_empty = match v {
            Value::Null => false,
            Value::String(t) => !t.is_empty(),
            Value::Bool(_) => false,
            _ => true,
        };
        let mut key_hit = false;
        if non_empty && let Some((code, what)) = key_class(k) {
            // `name` of an object that is not a person (e.g. authorization_details) is still
            // flagged only at the top level or in address/person-like containers.
            if !(code == Code::PiiName && depth > 0) {
                s.hit(code, &path(), what);
                key_hit = true;
            }
        }
        match v {
            Value::Object(inner) => walk_object(s, inner, &path(), depth + 1),
            Value::Array(a) => {
                let path = path();
                for (i, item) in a.iter().enumerate().take(256) {
                    match item {
                        Value::Object(inner) => walk_object(s, inner, &format!("{path}[{i}]"), depth + 1),
                        Value::String(t) if !key_hit => value_rules(s, || format!("{path}[{i}]"), t),
                        _ => {}
                    }
                }
            }
            Value::String(t) if !key_hit => value_rules(s, path, t),
            _ => {}
        }
    }
}

/// Value patterns; the path is only built when one matches.
fn value_rules(s: &mut Scan<'_>, path: impl FnOnce() -> String, v: &str) {
    if v.len() > 256 {
        return;
    }
    let hit = if is_email(v) {
        (Code::PiiEmail, "an e-mail address")
    } else if is_card(v) {
        (Code::PiiCardNumber, "a payment card number (Luhn-valid)")
    } else if is_us_ssn(v) || is_es_dni(v) || is_uk_nino(v) {
        (Code::PiiGovernmentId, "a government identifier pattern")
    } else if is_phone(v) {
        (Code::PiiPhone, "a phone number")
    } else {
        return;
    };
    s.hit(hit.0, &path(), hit.1);
}

/// `local@domain.tld` without spaces.
#[must_use]
pub fn is_email(v: &str) -> bool {
    let Some((local, domain)) = v.split_once('@') else { return false };
    !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && v.chars().all(|c| c.is_ascii_alphanumeric() || "@._%+-".contains(c))
        && domain.rsplit('.').next().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

fn digits_only(v: &str, seps: &str) -> Option<Vec<u8>> {
    let mut d = Vec::new();
    for c in v.chars() {
        if let Some(x) = c.to_digit(10) {
            d.push(u8::try_from(x).ok()?);
        } else if !seps.contains(c) {
            return None;
        }
    }
    Some(d)
}

/// Luhn checksum.
#[must_use]
pub fn luhn(d: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &x) in d.iter().rev().enumerate() {
        let mut v = u32::from(x);
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

/// 13–19 digits (spaces/dashes allowed), a card-network prefix, Luhn-valid.
#[must_use]
pub fn is_card(v: &str) -> bool {
    let Some(d) = digits_only(v, " -") else { return false };
    if !(13..=19).contains(&d.len()) {
        return false;
    }
    let p2 = d.first().map_or(0, |a| u32::from(*a) * 10) + d.get(1).map_or(0, |b| u32::from(*b));
    let network = matches!(d.first(), Some(4))
        || (51..=55).contains(&p2)
        || (22..=27).contains(&p2)
        || p2 == 34
        || p2 == 37
        || matches!(d.first(), Some(6));
    network && luhn(&d) && !d.iter().all(|&x| x == d.first().copied().unwrap_or(0))
}

/// US SSN `AAA-GG-SSSS` with the structural rules (no 000/666/9xx area, no 00 group, no 0000 serial).
#[must_use]
pub fn is_us_ssn(v: &str) -> bool {
    let b = v.as_bytes();
    if b.len() != 11 || b.get(3) != Some(&b'-') || b.get(6) != Some(&b'-') {
        return false;
    }
    let Some(d) = digits_only(v, "-") else { return false };
    if d.len() != 9 {
        return false;
    }
    let area = d.iter().take(3).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let group = d.iter().skip(3).take(2).fold(0u32, |a, &x| a * 10 + u32::from(x));
    let serial = d.iter().skip(5).fold(0u32, |a, &x| a * 10 + u32::from(x));
    area != 0 && area != 666 && area < 900 && group != 0 && serial != 0
}

/// Spanish DNI/NIE: 8 digits (or X/Y/Z + 7) and the mod-23 check letter.
#[must_use]
pub fn is_es_dni(v: &str) -> bool {
    const LETTERS: &[u8; 23] = b"TRWAGMYFPDXBNJZSQVHLCKE";
    let b = v.as_bytes();
    if b.len() != 9 {
        return false;
    }
    let (first, rest) = (b.first().copied().unwrap_or(0), b.get(1..8).unwrap_or_default());
    let lead = match first {
        b'X' => 0,
        b'Y' => 1,
        b'Z' => 2,
        c if c.is_ascii_digit() => u32::from(c - b'0'),
        _ => return false,
    };
    if !rest.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let n = rest.iter().fold(lead, |a, &c| a * 10 + u32::from(c - b'0'));
    let idx = usize::try_from(n % 23).unwrap_or(0);
    b.get(8).copied() == LETTERS.get(idx).copied()
}

/// UK National Insurance number `AB123456C` (prefix rules simplified).
#[must_use]
pub fn is_uk_nino(v: &str) -> bool {
    if !(9..=13).contains(&v.len()) {
        return false;
    }
    let c: Vec<char> = v.chars().filter(|c| *c != ' ').collect();
    c.len() == 9
        && c.iter().take(2).all(|x| x.is_ascii_uppercase() && !"DFIQUV".contains(*x))
        && c.iter().skip(2).take(6).all(char::is_ascii_digit)
        && c.get(8).is_some_and(|x| "ABCD".contains(*x))
}

/// International phone number: `+` then 8–15 digits, common separators.
#[must_use]
pub fn is_phone(v: &str) -> bool {
    let Some(rest) = v.strip_prefix('+') else { return false };
    digits_only(rest, " -().").is_some_and(|d| (8..=15).contains(&d.len()))
}
