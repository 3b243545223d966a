//! The report as JSON text, written by hand: byte for byte what
//! `serde_json::to_vec(&report)` gives (the `Serialize` derives in
//! `report.rs` stay the reference, and `tests/jwt_proptest.rs` and
//! `tests/jwt_fuzz.rs` compare both on every report they make), in a few large
//! pieces instead of serde's many small ones: a member name goes out with its
//! comma, quotes and colon as one constant, and a string without anything to
//! escape as one piece between its quotes. The full WASM bundle writes every
//! `inspectJwt` report this way (each piece written is a call there).
//!
//! Field order and names follow the structs' declarations and serde
//! attributes (`rename_all`, `rename`); a field added there must be added here
//! (the comparison tests fail until it is).

use serde_json::Value;

use super::dpop::{Binding, BindingStatus, DpopReport, ProofKeyStatus};
use super::report::{
    Actor, AuthorizationDetail, Confirmation, Explanation, Finding, InputForm, InputSummary, KeySummary, Report,
    SignatureSummary, Summary, TimeClaim, TokenKind, Verification, VerifyStatus,
};

impl Report {
    /// Write the report as compact JSON, the same bytes as
    /// `serde_json::to_writer(w, self)`.
    pub fn write_json<W: JsonSink>(&self, w: &mut W) {
        report(&mut J(w), self);
    }

    /// The report as compact JSON ([`Report::write_json`] into a `Vec`).
    #[must_use]
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4096);
        self.write_json(&mut out);
        out
    }
}

/// Where the JSON text goes, piece by piece. Infallible: no error path in the
/// writer below (smaller and faster than `io::Write`'s `?` after every piece).
pub trait JsonSink {
    /// Append `b`.
    fn put(&mut self, b: &[u8]);
}

impl JsonSink for Vec<u8> {
    fn put(&mut self, b: &[u8]) {
        self.extend_from_slice(b);
    }
}

struct J<'a, W: JsonSink>(&'a mut W);

impl<W: JsonSink> J<'_, W> {
    fn raw(&mut self, b: &[u8]) {
        self.0.put(b);
    }

    /// A JSON string, escaped as serde_json escapes (RFC 8259: `"`, `\` and
    /// the control characters; `\b \t \n \f \r` by name, others as `\u00xx`).
    fn str(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        self.raw(b"\"");
        let bytes = s.as_bytes();
        let mut start = 0;
        for (i, &b) in bytes.iter().enumerate() {
            let named: &[u8] = match b {
                b'"' => b"\\\"",
                b'\\' => b"\\\\",
                0x08 => b"\\b",
                b'\t' => b"\\t",
                b'\n' => b"\\n",
                0x0c => b"\\f",
                b'\r' => b"\\r",
                0..0x20 => b"",
                _ => continue,
            };
            if let Some(run) = bytes.get(start..i)
                && !run.is_empty()
            {
                self.raw(run);
            }
            start = i + 1;
            if named.is_empty() {
                let hex = |n: u8| HEX.get(usize::from(n)).copied().unwrap_or(b'0');
                self.raw(&[b'\\', b'u', b'0', b'0', hex(b >> 4), hex(b & 0xf)]);
            } else {
                self.raw(named);
            }
        }
        if let Some(run) = bytes.get(start..)
            && !run.is_empty()
        {
            self.raw(run);
        }
        self.raw(b"\"")
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => self.str(s),
            None => self.raw(b"null"),
        }
    }

    fn uint(&mut self, mut n: u64) {
        let mut buf = [0u8; 20];
        let mut at = buf.len();
        loop {
            at -= 1;
            if let Some(d) = buf.get_mut(at) {
                // (n % 10 < 10: the cast is exact)
                #[allow(clippy::cast_possible_truncation)]
                {
                    *d = b'0' + (n % 10) as u8;
                }
            }
            n /= 10;
            if n == 0 || at == 0 {
                break;
            }
        }
        self.raw(buf.get(at..).unwrap_or_default())
    }

    fn int(&mut self, n: i64) {
        if n < 0 {
            self.raw(b"-");
        }
        self.uint(n.unsigned_abs())
    }

    fn size(&mut self, n: usize) {
        self.uint(n as u64)
    }

    fn opt_size(&mut self, n: Option<usize>) {
        match n {
            Some(n) => self.size(n),
            None => self.raw(b"null"),
        }
    }

    fn opt_int(&mut self, n: Option<i64>) {
        match n {
            Some(n) => self.int(n),
            None => self.raw(b"null"),
        }
    }

    fn bool(&mut self, b: bool) {
        self.raw(if b { b"true" } else { b"false" })
    }

    fn strs(&mut self, list: &[String]) {
        self.list(list, |j, s| j.str(s))
    }

    fn list<T>(&mut self, list: &[T], mut each: impl FnMut(&mut Self, &T)) {
        self.raw(b"[");
        for (i, x) in list.iter().enumerate() {
            if i > 0 {
                self.raw(b",");
            }
            each(self, x);
        }
        self.raw(b"]")
    }

    fn opt<T>(&mut self, x: Option<&T>, each: impl FnOnce(&mut Self, &T)) {
        match x {
            Some(x) => each(self, x),
            None => self.raw(b"null"),
        }
    }

    /// Any JSON value, as serde_json serializes a `Value` (maps in their own order).
    fn value(&mut self, v: &Value) {
        match v {
            Value::Null => self.raw(b"null"),
            Value::Bool(b) => self.bool(*b),
            Value::Number(n) => {
                if let Some(u) = n.as_u64() {
                    self.uint(u)
                } else if let Some(i) = n.as_i64() {
                    self.int(i)
                } else {
                    // A float: serde_json's Display writes it as its serializer does.
                    self.raw(n.to_string().as_bytes());
                }
            }
            Value::String(s) => self.str(s),
            Value::Array(a) => self.list(a, |j, x| j.value(x)),
            Value::Object(m) => {
                self.raw(b"{");
                for (i, (k, x)) in m.iter().enumerate() {
                    if i > 0 {
                        self.raw(b",");
                    }
                    self.str(k);
                    self.raw(b":");
                    self.value(x);
                }
                self.raw(b"}")
            }
        }
    }
}

fn report<W: JsonSink>(j: &mut J<'_, W>, r: &Report) {
    j.raw(b"{\"input\":");
    input(j, &r.input);
    j.raw(b",\"header\":");
    j.opt(r.header.as_ref(), J::value);
    j.raw(b",\"payload\":");
    j.opt(r.payload.as_ref(), J::value);
    j.raw(b",\"payloadText\":");
    j.opt_str(r.payload_text.as_deref());
    j.raw(b",\"signature\":");
    j.opt(r.signature.as_ref(), signature);
    j.raw(b",\"explanation\":");
    explanation(j, &r.explanation);
    j.raw(b",\"verification\":");
    verification(j, &r.verification);
    j.raw(b",\"nested\":");
    j.opt(r.nested.as_deref(), report);
    j.raw(b",\"dpop\":");
    j.opt(r.dpop.as_ref(), dpop);
    j.raw(b",\"findings\":");
    j.list(&r.findings, finding);
    j.raw(b",\"findingsTruncated\":");
    j.bool(r.findings_truncated);
    j.raw(b",\"summary\":");
    summary(j, &r.summary);
    j.raw(b"}")
}

fn input<W: JsonSink>(j: &mut J<'_, W>, i: &InputSummary) {
    j.raw(b"{\"length\":");
    j.size(i.length);
    j.raw(b",\"form\":");
    j.str(form_str(i.form));
    j.raw(b",\"segments\":");
    j.list(&i.segments, |j, s| {
        j.raw(b"{\"name\":");
        j.str(s.name);
        j.raw(b",\"offset\":");
        j.size(s.offset);
        j.raw(b",\"length\":");
        j.size(s.length);
        j.raw(b",\"decoded_length\":");
        j.opt_size(s.decoded_length);
        j.raw(b"}")
    });
    j.raw(b"}")
}

fn signature<W: JsonSink>(j: &mut J<'_, W>, s: &SignatureSummary) {
    j.raw(b"{\"length\":");
    j.size(s.length);
    j.raw(b",\"expectedLength\":");
    j.opt_size(s.expected_length);
    j.raw(b",\"encoding\":");
    j.str(s.encoding);
    j.raw(b"}")
}

fn explanation<W: JsonSink>(j: &mut J<'_, W>, e: &Explanation) {
    j.raw(b"{\"kind\":");
    j.opt_str(e.kind.map(kind_str));
    j.raw(b",\"kindReason\":");
    j.opt_str(e.kind_reason.as_deref());
    j.raw(b",\"alg\":");
    j.opt_str(e.alg.as_deref());
    j.raw(b",\"typ\":");
    j.opt_str(e.typ.as_deref());
    j.raw(b",\"cty\":");
    j.opt_str(e.cty.as_deref());
    j.raw(b",\"kid\":");
    j.opt_str(e.kid.as_deref());
    j.raw(b",\"enc\":");
    j.opt_str(e.enc.as_deref());
    j.raw(b",\"times\":");
    j.list(&e.times, time_claim);
    j.raw(b",\"lifetimeSeconds\":");
    j.opt_int(e.lifetime_seconds);
    j.raw(b",\"issuer\":");
    j.opt_str(e.issuer.as_deref());
    j.raw(b",\"subject\":");
    j.opt_str(e.subject.as_deref());
    j.raw(b",\"audience\":");
    j.strs(&e.audience);
    j.raw(b",\"authorizedParty\":");
    j.opt_str(e.authorized_party.as_deref());
    j.raw(b",\"clientId\":");
    j.opt_str(e.client_id.as_deref());
    j.raw(b",\"jwtId\":");
    j.opt_str(e.jwt_id.as_deref());
    j.raw(b",\"scopes\":");
    j.strs(&e.scopes);
    j.raw(b",\"roles\":");
    j.strs(&e.roles);
    j.raw(b",\"permissions\":");
    j.strs(&e.permissions);
    j.raw(b",\"groups\":");
    j.strs(&e.groups);
    j.raw(b",\"actChain\":");
    j.list(&e.act_chain, actor);
    j.raw(b",\"mayAct\":");
    j.opt(e.may_act.as_ref(), J::value);
    j.raw(b",\"confirmation\":");
    j.opt(e.confirmation.as_ref(), confirmation);
    j.raw(b",\"authorizationDetails\":");
    j.list(&e.authorization_details, authorization_detail);
    j.raw(b"}")
}

fn time_claim<W: JsonSink>(j: &mut J<'_, W>, t: &TimeClaim) {
    j.raw(b"{\"claim\":");
    j.str(&t.claim);
    j.raw(b",\"raw\":");
    j.value(&t.raw);
    j.raw(b",\"unix\":");
    j.opt_int(t.unix);
    j.raw(b",\"utc\":");
    j.opt_str(t.utc.as_deref());
    j.raw(b",\"relative\":");
    j.opt_str(t.relative.as_deref());
    j.raw(b"}")
}

fn actor<W: JsonSink>(j: &mut J<'_, W>, a: &Actor) {
    j.raw(b"{\"depth\":");
    j.size(a.depth);
    j.raw(b",\"sub\":");
    j.opt_str(a.sub.as_deref());
    j.raw(b",\"iss\":");
    j.opt_str(a.iss.as_deref());
    j.raw(b",\"clientId\":");
    j.opt_str(a.client_id.as_deref());
    j.raw(b"}")
}

fn confirmation<W: JsonSink>(j: &mut J<'_, W>, c: &Confirmation) {
    j.raw(b"{\"method\":");
    j.str(c.method);
    j.raw(b",\"jkt\":");
    j.opt_str(c.jkt.as_deref());
    j.raw(b",\"x5tS256\":");
    j.opt_str(c.x5t_s256.as_deref());
    j.raw(b"}")
}

fn authorization_detail<W: JsonSink>(j: &mut J<'_, W>, d: &AuthorizationDetail) {
    j.raw(b"{\"type\":");
    j.opt_str(d.kind.as_deref());
    j.raw(b",\"actions\":");
    j.strs(&d.actions);
    j.raw(b",\"locations\":");
    j.strs(&d.locations);
    j.raw(b",\"datatypes\":");
    j.strs(&d.datatypes);
    j.raw(b",\"identifier\":");
    j.opt_str(d.identifier.as_deref());
    j.raw(b"}")
}

fn verification<W: JsonSink>(j: &mut J<'_, W>, v: &Verification) {
    j.raw(b"{\"status\":");
    j.str(verify_status_str(v.status));
    j.raw(b",\"alg\":");
    j.opt_str(v.alg.as_deref());
    j.raw(b",\"key\":");
    j.opt(v.key.as_ref(), key_summary);
    j.raw(b",\"keysSupplied\":");
    j.size(v.keys_supplied);
    j.raw(b",\"candidates\":");
    j.size(v.candidates);
    j.raw(b",\"detail\":");
    j.str(&v.detail);
    j.raw(b"}")
}

fn key_summary<W: JsonSink>(j: &mut J<'_, W>, k: &KeySummary) {
    j.raw(b"{\"kty\":");
    j.str(k.kty);
    j.raw(b",\"crv\":");
    j.opt_str(k.crv);
    j.raw(b",\"bits\":");
    j.size(k.bits);
    j.raw(b",\"kid\":");
    j.opt_str(k.kid.as_deref());
    j.raw(b",\"alg\":");
    j.opt_str(k.alg.as_deref());
    j.raw(b",\"source\":");
    j.str(&k.source);
    j.raw(b"}")
}

fn dpop<W: JsonSink>(j: &mut J<'_, W>, d: &DpopReport) {
    j.raw(b"{\"thumbprint\":");
    j.opt_str(d.thumbprint.as_deref());
    j.raw(b",\"key\":");
    j.opt(d.key.as_ref(), key_summary);
    j.raw(b",\"proofKeyStatus\":");
    j.str(proof_key_status_str(d.proof_key_status));
    j.raw(b",\"proofKeyVerified\":");
    j.bool(d.proof_key_verified);
    j.raw(b",\"detail\":");
    j.str(&d.detail);
    j.raw(b",\"htm\":");
    j.opt_str(d.htm.as_deref());
    j.raw(b",\"htu\":");
    j.opt_str(d.htu.as_deref());
    j.raw(b",\"accessTokenGiven\":");
    j.bool(d.access_token_given);
    j.raw(b",\"ath\":");
    j.opt(d.ath.as_ref(), binding);
    j.raw(b",\"jkt\":");
    j.opt(d.jkt.as_ref(), binding);
    j.raw(b"}")
}

fn binding<W: JsonSink>(j: &mut J<'_, W>, b: &Binding) {
    j.raw(b"{\"status\":");
    j.str(binding_status_str(b.status));
    j.raw(b",\"expected\":");
    j.opt_str(b.expected.as_deref());
    j.raw(b",\"actual\":");
    j.opt_str(b.actual.as_deref());
    j.raw(b"}")
}

fn finding<W: JsonSink>(j: &mut J<'_, W>, f: &Finding) {
    j.raw(b"{\"code\":");
    j.str(f.code);
    j.raw(b",\"severity\":");
    j.str(f.severity.as_str());
    j.raw(b",\"location\":");
    j.str(&f.location);
    j.raw(b",\"message\":");
    j.str(&f.message);
    j.raw(b",\"fix\":");
    j.str(f.fix);
    j.raw(b"}")
}

fn summary<W: JsonSink>(j: &mut J<'_, W>, s: &Summary) {
    j.raw(b"{\"highest\":");
    j.opt_str(s.highest.map(super::report::Severity::as_str));
    j.raw(b",\"critical\":");
    j.size(s.critical);
    j.raw(b",\"high\":");
    j.size(s.high);
    j.raw(b",\"medium\":");
    j.size(s.medium);
    j.raw(b",\"low\":");
    j.size(s.low);
    j.raw(b",\"info\":");
    j.size(s.info);
    j.raw(b",\"signatureVerified\":");
    j.bool(s.signature_verified);
    j.raw(b"}")
}

fn form_str(f: InputForm) -> &'static str {
    match f {
        InputForm::CompactJws => "compact_jws",
        InputForm::CompactJwe => "compact_jwe",
        InputForm::JsonJws => "json_jws",
        InputForm::JsonJwe => "json_jwe",
        InputForm::Unknown => "unknown",
    }
}

fn kind_str(k: TokenKind) -> &'static str {
    match k {
        TokenKind::IdToken => "id_token",
        TokenKind::AccessToken => "access_token",
        TokenKind::AccessTokenLike => "access_token_like",
        TokenKind::DpopProof => "dpop_proof",
        TokenKind::LogoutToken => "logout_token",
        TokenKind::IdJag => "id_jag",
        TokenKind::ClientAssertion => "client_assertion",
        TokenKind::Encrypted => "encrypted",
        TokenKind::Other => "other",
    }
}

fn verify_status_str(s: VerifyStatus) -> &'static str {
    match s {
        VerifyStatus::NotAttempted => "not_attempted",
        VerifyStatus::Valid => "valid",
        VerifyStatus::Invalid => "invalid",
        VerifyStatus::NoMatchingKey => "no_matching_key",
        VerifyStatus::AlgMismatch => "alg_mismatch",
        VerifyStatus::Unsupported => "unsupported",
        VerifyStatus::Malformed => "malformed",
    }
}

fn proof_key_status_str(s: ProofKeyStatus) -> &'static str {
    match s {
        ProofKeyStatus::Valid => "valid",
        ProofKeyStatus::Invalid => "invalid",
        ProofKeyStatus::NoKey => "no_key",
        ProofKeyStatus::PrivateKey => "private_key",
        ProofKeyStatus::KeyUnusable => "key_unusable",
        ProofKeyStatus::Unsupported => "unsupported",
        ProofKeyStatus::Malformed => "malformed",
    }
}

fn binding_status_str(s: BindingStatus) -> &'static str {
    match s {
        BindingStatus::Match => "match",
        BindingStatus::Mismatch => "mismatch",
        BindingStatus::Missing => "missing",
        BindingStatus::Unchecked => "unchecked",
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::jwt::report::Severity;

    fn serde_str<T: serde::Serialize>(x: &T) -> String {
        serde_json::to_value(x).unwrap().as_str().unwrap().to_owned()
    }

    /// Every enum variant is named as its serde `rename_all` names it.
    #[test]
    fn enum_names_match_serde() {
        use InputForm as F;
        for f in [F::CompactJws, F::CompactJwe, F::JsonJws, F::JsonJwe, F::Unknown] {
            assert_eq!(form_str(f), serde_str(&f));
        }
        use TokenKind as K;
        for k in [
            K::IdToken,
            K::AccessToken,
            K::AccessTokenLike,
            K::DpopProof,
            K::LogoutToken,
            K::IdJag,
            K::ClientAssertion,
            K::Encrypted,
            K::Other,
        ] {
            assert_eq!(kind_str(k), serde_str(&k));
        }
        use VerifyStatus as V;
        for s in [V::NotAttempted, V::Valid, V::Invalid, V::NoMatchingKey, V::AlgMismatch, V::Unsupported, V::Malformed]
        {
            assert_eq!(verify_status_str(s), serde_str(&s));
        }
        use ProofKeyStatus as P;
        for s in [P::Valid, P::Invalid, P::NoKey, P::PrivateKey, P::KeyUnusable, P::Unsupported, P::Malformed] {
            assert_eq!(proof_key_status_str(s), serde_str(&s));
        }
        use BindingStatus as B;
        for s in [B::Match, B::Mismatch, B::Missing, B::Unchecked] {
            assert_eq!(binding_status_str(s), serde_str(&s));
        }
        for s in [Severity::Info, Severity::Low, Severity::Medium, Severity::High, Severity::Critical] {
            assert_eq!(s.as_str(), serde_str(&s));
        }
    }

    /// Strings with every byte that needs escaping, numbers at the edges, and
    /// nested values come out as serde_json writes them.
    #[test]
    fn values_match_serde() {
        let mut s: String = (0u8..0x80).map(char::from).collect();
        s.push_str("\u{e9}\u{2028}\u{1f600}\"\\/");
        let v = serde_json::json!({
            "s": s, "empty": "", "q": "\"", "nested": {"a": [1, -1, 0, u64::MAX, i64::MIN, 1.5, -0.0, 1e300, 2.5e-8, null, true, false]},
            "": [[], {}], "\u{7f}k\n": "tail\u{1}"
        });
        let mut out = Vec::new();
        J(&mut out).value(&v);
        assert_eq!(String::from_utf8(out).unwrap(), serde_json::to_string(&v).unwrap());
    }
}
