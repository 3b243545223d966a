//! Tolerant, unverified decoding: every segment is decoded as far as it goes and
//! every problem is recorded with the segment and byte offset, never thrown.

use serde_json::{Map, Value};

use super::b64::{self, B64Error, Quirk};
use super::codes::{Code, push};
use super::json;
use super::report::{Finding, InputForm, InputSummary, Segment};

/// Largest input inspected (bytes). Longer inputs get one finding and no decoding.
pub const MAX_TOKEN: usize = 256 * 1024;
/// Longest non-JSON payload text kept in the report.
pub const MAX_TEXT: usize = 4096;

/// The result of decoding without verifying anything.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// Form, segments.
    pub input: Option<InputSummary>,
    /// Header when it is a JSON object.
    pub header: Option<Map<String, Value>>,
    /// Payload when it is a JSON object.
    pub payload: Option<Map<String, Value>>,
    /// Payload bytes as decoded.
    pub payload_bytes: Vec<u8>,
    /// Whether a payload segment was present and decoded.
    pub payload_decoded: bool,
    /// Signature bytes as decoded.
    pub signature: Vec<u8>,
    /// Whether the signature segment exists and decoded.
    pub signature_decoded: bool,
    /// The JWS signing input (`b64(header).b64(payload)`).
    pub signing_input: Vec<u8>,
    /// Encrypted (JWE).
    pub encrypted: bool,
    /// Problems met while decoding.
    pub findings: Vec<Finding>,
}

impl Decoded {
    /// The recognised form.
    #[must_use]
    pub fn form(&self) -> InputForm {
        self.input.as_ref().map_or(InputForm::Unknown, |i| i.form)
    }
    /// A header member as a string.
    #[must_use]
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.as_ref()?.get(name)?.as_str()
    }
}

struct Part<'a> {
    name: &'static str,
    text: &'a str,
    offset: usize,
}

/// Decode `token` without verifying it. Never fails: problems are findings.
#[must_use]
pub fn decode_unverified(token: &str) -> Decoded {
    let mut d = Decoded::default();
    if token.len() > MAX_TOKEN {
        push(
            &mut d.findings,
            Code::InputTooLarge,
            "token",
            format!("input is {} bytes; the inspector stops at {MAX_TOKEN}", token.len()),
        );
        d.input = Some(InputSummary { length: token.len(), form: InputForm::Unknown, segments: Vec::new() });
        return d;
    }
    // Leading/trailing whitespace and an `Authorization` style prefix are tolerated.
    let lead = token.len() - token.trim_start().len();
    let mut body = token.trim();
    let mut base = lead;
    if body.len() != token.len() {
        push(
            &mut d.findings,
            Code::NonCompactInput,
            "token",
            "surrounding whitespace removed before decoding".to_owned(),
        );
    }
    for prefix in ["Bearer ", "bearer ", "DPoP ", "JWT "] {
        if let Some(rest) = body.strip_prefix(prefix) {
            let inner = rest.trim_start();
            base += body.len() - inner.len();
            body = inner;
            push(
                &mut d.findings,
                Code::NonCompactInput,
                "token",
                format!("\"{}\" prefix removed before decoding", prefix.trim()),
            );
            break;
        }
    }
    if body.starts_with('{') {
        decode_json_serialization(&mut d, token.len(), body);
        return d;
    }
    let mut parts = Vec::with_capacity(5);
    let mut off = base;
    for text in body.split('.') {
        parts.push(Part { name: "", text, offset: off });
        off += text.len() + 1;
    }
    let names: &[&'static str] = match parts.len() {
        3 => &["header", "payload", "signature"],
        5 => &["header", "encrypted_key", "iv", "ciphertext", "tag"],
        _ => &[],
    };
    let form = match parts.len() {
        3 => InputForm::CompactJws,
        5 => InputForm::CompactJwe,
        _ => InputForm::Unknown,
    };
    if body.is_empty() {
        push(&mut d.findings, Code::Malformed, "token", "the input is empty".to_owned());
    } else if names.is_empty() {
        push(
            &mut d.findings,
            Code::Malformed,
            "token",
            format!("{} dot-separated segment(s); a JWS has 3 and a JWE 5", parts.len()),
        );
    }
    for (i, p) in parts.iter_mut().enumerate() {
        p.name = names.get(i).copied().unwrap_or(if i == 0 {
            "header"
        } else if i == 1 {
            "payload"
        } else {
            "segment"
        });
    }
    let mut segments = Vec::with_capacity(parts.len().min(8));
    let mut decoded: Vec<Option<Vec<u8>>> = Vec::with_capacity(parts.len().min(8));
    for p in parts.iter().take(8) {
        let bytes = decode_segment(&mut d.findings, p);
        segments.push(Segment {
            name: p.name,
            offset: p.offset,
            length: p.text.len(),
            decoded_length: bytes.as_ref().map(Vec::len),
        });
        decoded.push(bytes);
    }
    d.input = Some(InputSummary { length: token.len(), form, segments });
    d.encrypted = form == InputForm::CompactJwe;
    let mut it = decoded.into_iter();
    if let Some(Some(h)) = it.next() {
        d.header = parse_object(&mut d.findings, &h, Section::Header);
    }
    if form == InputForm::CompactJwe {
        push(
            &mut d.findings,
            Code::Encrypted,
            "token",
            "JWE: the payload is encrypted; only the protected header can be shown".to_owned(),
        );
        return d;
    }
    if let Some(Some(p)) = it.next() {
        d.payload_bytes = p;
        d.payload_decoded = true;
    }
    if form == InputForm::CompactJws {
        if let Some(Some(s)) = it.next() {
            d.signature = s;
            d.signature_decoded = true;
        }
        if let (Some(h), Some(p)) = (parts.first(), parts.get(1)) {
            d.signing_input = format!("{}.{}", h.text, p.text).into_bytes();
        }
    }
    finish_payload(&mut d);
    d
}

fn finish_payload(d: &mut Decoded) {
    let nested =
        d.header_str("cty").is_some_and(|c| c.eq_ignore_ascii_case("JWT") || c.eq_ignore_ascii_case("application/jwt"));
    if nested {
        if std::str::from_utf8(&d.payload_bytes).is_err() {
            push(
                &mut d.findings,
                Code::PayloadNotUtf8,
                "payload",
                "cty is JWT but the payload is not UTF-8 text".to_owned(),
            );
        }
        return;
    }
    if d.payload_decoded {
        let bytes = core::mem::take(&mut d.payload_bytes);
        d.payload = parse_object(&mut d.findings, &bytes, Section::Payload);
        d.payload_bytes = bytes;
    }
}

fn decode_segment(findings: &mut Vec<Finding>, p: &Part<'_>) -> Option<Vec<u8>> {
    match b64::decode(p.text.as_bytes()) {
        Ok((bytes, quirks)) => {
            for q in quirks {
                let (at, what) = match q {
                    Quirk::Padding(o) => (o, "'=' padding (JWS uses unpadded base64url)"),
                    Quirk::StdAlphabet(o) => (o, "standard-base64 '+' or '/' instead of base64url '-' or '_'"),
                    Quirk::TrailingBits(o) => (
                        o,
                        "non-zero unused bits in the last character (non-canonical encoding; the same bytes have another spelling)",
                    ),
                };
                push(
                    findings,
                    Code::B64NonCanonical,
                    p.name,
                    format!("{} segment, byte {at} (token offset {}): {what}", p.name, p.offset + at),
                );
            }
            Some(bytes)
        }
        Err(B64Error::InvalidByte { offset, byte }) => {
            let shown =
                if byte.is_ascii_graphic() { format!("'{}'", char::from(byte)) } else { format!("0x{byte:02x}") };
            push(
                findings,
                Code::B64Invalid,
                p.name,
                format!(
                    "{} segment, byte {offset} (token offset {}): {shown} is not base64url",
                    p.name,
                    p.offset + offset
                ),
            );
            None
        }
        Err(B64Error::InvalidLength(len)) => {
            push(
                findings,
                Code::B64Invalid,
                p.name,
                format!(
                    "{} segment: length {len} is impossible for base64url (one character too many or too few)",
                    p.name
                ),
            );
            None
        }
    }
}

/// Which part of the token is being parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Section {
    Header,
    Payload,
}

fn parse_object(findings: &mut Vec<Finding>, bytes: &[u8], section: Section) -> Option<Map<String, Value>> {
    let (name, not_utf8, not_obj, dup) = match section {
        Section::Header => ("header", Code::HeaderNotUtf8, Code::HeaderNotJsonObject, Code::DuplicateHeaderParam),
        Section::Payload => ("payload", Code::PayloadNotUtf8, Code::PayloadNotJsonObject, Code::DuplicateClaim),
    };
    if let Err(e) = std::str::from_utf8(bytes) {
        push(
            findings,
            not_utf8,
            name,
            format!("decoded {name} is not UTF-8 (invalid byte at offset {})", e.valid_up_to()),
        );
        return None;
    }
    match json::parse_with_dups(bytes) {
        Ok((Value::Object(map), dups)) => {
            for path in dups {
                push(
                    findings,
                    dup,
                    &format!("{name}.{path}"),
                    format!("\"{path}\" appears more than once in the {name}; parsers disagree on which one wins"),
                );
            }
            Some(map)
        }
        Ok((other, _)) => {
            let kind = match other {
                Value::Null => "null",
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                Value::Array(_) => "an array",
                Value::Object(_) => "an object",
            };
            push(findings, not_obj, name, format!("decoded {name} is JSON {kind}, not an object"));
            None
        }
        Err(e) => {
            let at = json::error_offset(bytes, &e);
            push(findings, not_obj, name, format!("decoded {name} is not JSON: syntax error at byte {at}"));
            None
        }
    }
}

fn decode_json_serialization(d: &mut Decoded, length: usize, body: &str) {
    let parsed = json::parse_with_dups(body.as_bytes());
    let Ok((Value::Object(obj), _)) = parsed else {
        push(
            &mut d.findings,
            Code::Malformed,
            "token",
            "input starts with '{' but is not a JSON object (nor a compact token)".to_owned(),
        );
        d.input = Some(InputSummary { length, form: InputForm::Unknown, segments: Vec::new() });
        return;
    };
    let is_jwe = obj.contains_key("ciphertext");
    let form = if is_jwe { InputForm::JsonJwe } else { InputForm::JsonJws };
    push(
        &mut d.findings,
        Code::JsonSerialization,
        "token",
        format!(
            "JWS/JWE JSON serialization ({}); JWT consumers expect the compact form",
            if obj.contains_key("signatures") { "general" } else { "flattened" }
        ),
    );
    d.input = Some(InputSummary { length, form, segments: Vec::new() });
    // first signature of the general form, or the flattened form itself
    let sig_obj = obj
        .get("signatures")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(Value::as_object)
        .unwrap_or(&obj);
    let protected = sig_obj.get("protected").and_then(Value::as_str).unwrap_or("");
    let parts = [Part { name: "header", text: protected, offset: 0 }];
    if let Some(Some(h)) = parts.iter().map(|p| decode_segment(&mut d.findings, p)).next() {
        d.header = parse_object(&mut d.findings, &h, Section::Header);
    }
    if is_jwe {
        d.encrypted = true;
        push(
            &mut d.findings,
            Code::Encrypted,
            "token",
            "JWE: the payload is encrypted; only the protected header can be shown".to_owned(),
        );
        return;
    }
    let payload = obj.get("payload").and_then(Value::as_str).unwrap_or("");
    let sig = sig_obj.get("signature").and_then(Value::as_str).unwrap_or("");
    if let Some(p) = decode_segment(&mut d.findings, &Part { name: "payload", text: payload, offset: 0 }) {
        d.payload_bytes = p;
        d.payload_decoded = true;
    }
    if let Some(s) = decode_segment(&mut d.findings, &Part { name: "signature", text: sig, offset: 0 }) {
        d.signature = s;
        d.signature_decoded = true;
    }
    d.signing_input = format!("{protected}.{payload}").into_bytes();
    finish_payload(d);
}

/// Payload as (possibly truncated) text, for non-JSON payloads.
#[must_use]
pub fn payload_text(d: &Decoded) -> Option<String> {
    if d.payload.is_some() || d.payload_bytes.is_empty() {
        return None;
    }
    let s = String::from_utf8_lossy(&d.payload_bytes);
    let mut end = s.len().min(MAX_TEXT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    Some(s.get(..end).unwrap_or_default().to_owned())
}
