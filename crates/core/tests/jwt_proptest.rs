//! Property tests (proptest) over `jwt::decode_unverified` + `jwt::inspect`:
//! arbitrary bytes and strings, strings over the token alphabet, and structured
//! tokens (random JSON headers and payloads, compact JWS/JWE, JSON serialisation,
//! nested `cty: JWT`, really signed tokens) under random policies, keys and clocks.
//!
//! For every input: no panic, no hang (each call well under a second in practice,
//! asserted below a generous limit), findings capped at `MAX_FINDINGS` per report
//! with `findings_truncated` telling the truth, nesting depth capped, summary
//! counts consistent, and the serialised report no larger than a linear function
//! of the input size.
//!
//! Deterministic by default (fixed seed, no regression files written). Explore
//! further with e.g. `PROPTEST_RNG_SEED=7 PROPTEST_CASES=5000 cargo test -p
//! sealpost-core --test jwt_proptest`.
#![cfg(feature = "jwt")]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use serde_json::{Map, Value};

use sealpost_core::jwt::{self, InspectOptions, KeySet, MAX_FINDINGS, MAX_TOKEN, Policy, Report, SignKey, SignRequest};

/// `jwt::inspect` inspects nested tokens this deep at most (`inspect::MAX_NESTING`, not exported).
const MAX_NESTING: usize = 2;
/// Report size bound: `REPORT_BASE + REPORT_PER_BYTE * min(input, MAX_TOKEN)` bytes of
/// JSON. Seen: at most ~4 KiB over 8 bytes per input byte for small inputs, and
/// under 1.3 bytes per input byte for large ones.
const REPORT_BASE: usize = 32 * 1024;
const REPORT_PER_BYTE: usize = 4;
/// Far above the worst case seen (~10 ms): only a hang or a blow-up trips it.
const SLOW: Duration = Duration::from_secs(5);

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/jwt");

fn config(cases: u32) -> Config {
    let env = Config::default();
    Config {
        cases: if std::env::var_os("PROPTEST_CASES").is_some() { env.cases } else { cases },
        rng_seed: if std::env::var_os("PROPTEST_RNG_SEED").is_some() {
            env.rng_seed
        } else {
            RngSeed::Fixed(0x5ea1_9057)
        },
        // no proptest-regressions/ files in the source tree; the failure is printed
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..env
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Public keys of every kind plus an HMAC secret, so verification runs for real.
fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut set = KeySet::secret_utf8("0123456789abcdef0123456789abcdef");
        for f in ["rsa2048.pub", "ecp256.pub", "ecp384.pub", "ecp521.pub", "ed25519.pub"] {
            set.extend(KeySet::parse(&fixture(f)).unwrap_or_else(|e| panic!("{f}: {e}")));
        }
        set
    })
}

/// Private keys for really signed tokens (no RSA: signing it per case is slow).
fn sign_keys() -> &'static [SignKey] {
    static KEYS: OnceLock<Vec<SignKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut v: Vec<SignKey> =
            ["ecp256.key", "ecp384.key", "ed25519.key"].iter().map(|f| SignKey::parse(&fixture(f)).unwrap()).collect();
        v.push(SignKey::secret(b"0123456789abcdef0123456789abcdef"));
        v
    })
}

// ------------------------------------------------------------------ the property

fn check_report(r: &Report, depth: usize) {
    assert!(depth <= MAX_NESTING, "nested deeper than {MAX_NESTING}");
    assert!(r.findings.len() <= MAX_FINDINGS, "{} findings", r.findings.len());
    if r.findings_truncated {
        assert_eq!(r.findings.len(), MAX_FINDINGS, "truncated below the cap");
    }
    let s = &r.summary;
    assert_eq!(s.critical + s.high + s.medium + s.low + s.info, r.findings.len(), "summary counts");
    assert_eq!(s.highest, r.findings.iter().map(|f| f.severity).max());
    assert!(r.findings.windows(2).all(|w| w[0].severity >= w[1].severity), "most severe first");
    if let Some(n) = &r.nested {
        check_report(n, depth + 1);
    }
}

fn check(token: &str, opts: &InspectOptions) {
    let n = token.len().min(MAX_TOKEN);

    let t0 = Instant::now();
    let d = jwt::decode_unverified(token);
    let dt = t0.elapsed();
    assert!(dt < SLOW, "decode took {dt:?} on {} bytes", token.len());
    // decoding never produces more than it was given
    assert!(d.payload_bytes.len() <= n && d.signature.len() <= n && d.signing_input.len() <= n);

    let t0 = Instant::now();
    let r = jwt::inspect(token, opts);
    let dt = t0.elapsed();
    assert!(dt < SLOW, "inspect took {dt:?} on {} bytes", token.len());
    check_report(&r, 0);
    assert_eq!(r.input.length, token.len());

    let json = serde_json::to_string(&r).unwrap();
    let bound = REPORT_BASE + REPORT_PER_BYTE * n;
    assert!(json.len() <= bound, "report of {} bytes for a {}-byte input (bound {bound})", json.len(), token.len());
}

// ------------------------------------------------------------------ strategies

const ALGS: &[&str] = &[
    "none",
    "None",
    "NONE",
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
    "Ed25519",
    "RSA-OAEP-256",
    "RSA1_5",
    "dir",
    "A256KW",
    "ES256K",
    "",
];

const HEADER_NAMES: &[&str] = &[
    "alg", "typ", "kid", "cty", "crit", "jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256", "b64", "zip", "enc", "epk",
    "iss", "exp",
];

const CLAIM_NAMES: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "client_id",
    "scope",
    "scp",
    "roles",
    "groups",
    "permissions",
    "act",
    "may_act",
    "cnf",
    "auth_time",
    "nonce",
    "email",
    "email_verified",
    "phone_number",
    "name",
    "address",
    "birthdate",
    "authorization_details",
    "acr",
    "amr",
    "sid",
    "token_use",
    "tid",
    "password",
    "ssn",
    "credit_card",
];

const STRINGS: &[&str] = &[
    "",
    "JWT",
    "at+jwt",
    "application/jwt",
    "dpop+jwt",
    "JOSE",
    "https://issuer.example",
    "http://127.0.0.1/",
    "user@example.com",
    "4111 1111 1111 1111",
    "078-05-1120",
    "+1 202 555 0143",
    "read write admin",
    "../../etc/passwd",
    "k1\u{0}",
    "\u{202e}",
    "+1h",
    "-5m",
    "now",
    "1700000000",
    "eyJhbGciOiJub25lIn0.e30.",
    "null",
    "NaN",
    "-0",
    "1e400",
];

fn pick(list: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(list).prop_map(str::to_owned)
}

fn time_number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (1_600_000_000i64..1_900_000_000).prop_map(Value::from),
        proptest::sample::select(
            &[i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX, 253_402_300_799, 253_402_300_800][..]
        )
        .prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        proptest::sample::select(&[1e300, -1e300, 9.3e18, -9.3e18, 1.7e9 + 0.5, f64::MIN_POSITIVE, -0.0][..])
            .prop_map(Value::from),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        time_number(),
        pick(STRINGS).prop_map(Value::from),
        "[ -~]{0,40}".prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn key_name(known: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![4 => pick(known), 1 => "[a-z_#]{0,12}", 1 => any::<String>()]
}

fn json() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key_name(CLAIM_NAMES), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

/// Members as a list, so the JSON text can hold duplicate names.
type Members = Vec<(String, Value)>;

fn header_members() -> impl Strategy<Value = Members> {
    let alg = prop_oneof![6 => pick(ALGS).prop_map(Value::from), 1 => json()];
    (alg, proptest::collection::vec((key_name(HEADER_NAMES), json()), 0..6)).prop_map(|(alg, mut rest)| {
        rest.insert(0, ("alg".to_owned(), alg));
        rest
    })
}

fn payload_members() -> impl Strategy<Value = Members> {
    let time = (pick(&["exp", "nbf", "iat", "auth_time"]), time_number());
    (proptest::collection::vec(time, 0..4), proptest::collection::vec((key_name(CLAIM_NAMES), json()), 0..10)).prop_map(
        |(mut t, rest)| {
            t.extend(rest);
            t
        },
    )
}

/// JSON object text, duplicates kept.
fn object_text(members: &Members) -> String {
    let body: Vec<String> = members.iter().map(|(k, v)| format!("{}:{}", Value::from(k.as_str()), v)).collect();
    format!("{{{}}}", body.join(","))
}

fn b64(bytes: &[u8]) -> String {
    jwt::b64::encode(bytes)
}

fn signature() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::sample::select(&[32usize, 48, 64, 96, 132, 256][..])
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n)),
        proptest::collection::vec(any::<u8>(), 0..600),
    ]
}

/// A structured token in one of the forms the inspector knows, sometimes damaged.
fn structured() -> impl Strategy<Value = String> {
    let parts =
        (header_members(), payload_members(), signature(), 0u8..8, proptest::collection::vec(any::<u8>(), 0..64));
    parts.prop_map(|(h, p, sig, form, junk)| {
        let (h, p) = (object_text(&h), object_text(&p));
        match form {
            0 | 1 => format!("{}.{}.{}", b64(h.as_bytes()), b64(p.as_bytes()), b64(&sig)),
            // payload that is not JSON
            2 => format!("{}.{}.{}", b64(h.as_bytes()), b64(&junk), b64(&sig)),
            // JWE shape
            3 => format!(
                "{}.{}.{}.{}.{}",
                b64(h.as_bytes()),
                b64(&sig),
                b64(&junk[..junk.len().min(12)]),
                b64(p.as_bytes()),
                b64(&junk)
            ),
            // JWS JSON serialisation, flattened and general
            4 => format!(
                r#"{{"protected":"{}","payload":"{}","signature":"{}","header":{}}}"#,
                b64(h.as_bytes()),
                b64(p.as_bytes()),
                b64(&sig),
                p
            ),
            5 => format!(
                r#"{{"payload":"{}","signatures":[{{"protected":"{}","signature":"{}"}},{{"header":{h}}}]}}"#,
                b64(p.as_bytes()),
                b64(h.as_bytes()),
                b64(&sig)
            ),
            // prefixes, whitespace, std-alphabet and padding quirks
            6 => format!(
                " Bearer {}.{}.{}==\n",
                b64(h.as_bytes()).replace('-', "+"),
                b64(p.as_bytes()).replace('_', "/"),
                b64(&sig)
            ),
            // extra segments
            _ => format!("{}.{}.{}.{}", b64(h.as_bytes()), b64(p.as_bytes()), b64(&sig), b64(&junk)),
        }
    })
}

/// `cty: JWT` tokens whose payload is itself a token, up to three levels deep
/// (one more than the inspector follows).
fn nested() -> impl Strategy<Value = String> {
    let layer = (header_members(), signature(), pick(&["JWT", "jwt", "application/jwt"]));
    (structured(), proptest::collection::vec(layer, 1..4)).prop_map(|(inner, layers)| {
        layers.into_iter().fold(inner, |token, (mut h, sig, cty)| {
            h.push(("cty".to_owned(), Value::from(cty)));
            format!("{}.{}.{}", b64(object_text(&h).as_bytes()), b64(token.as_bytes()), b64(&sig))
        })
    })
}

/// Really signed tokens (valid signatures), so everything after verification runs too.
fn signed() -> impl Strategy<Value = String> {
    (
        0..sign_keys().len(),
        payload_members(),
        proptest::collection::vec((key_name(HEADER_NAMES), json()), 0..4),
        any::<bool>(),
    )
        .prop_map(|(k, claims, header, strip)| {
            let header: Map<String, Value> = header.into_iter().filter(|(k, _)| k != "alg").collect();
            let claims: Map<String, Value> = claims.into_iter().collect();
            let broken = strip.then_some(jwt::Broken::StripSignature);
            let req = SignRequest { header, claims, alg: None, key: Some(&sign_keys()[k]), now: 1_700_000_000, broken };
            // relative-time strings that do not resolve make sign refuse: inspect the refusal text then
            jwt::sign(req).unwrap_or_else(|e| e.to_string())
        })
}

fn policy() -> impl Strategy<Value = Policy> {
    let strings = || proptest::collection::vec(pick(STRINGS), 0..3);
    let small = prop_oneof![3 => -100_000i64..100_000, 1 => any::<i64>()];
    (
        strings(),
        strings(),
        proptest::option::of(pick(STRINGS)),
        proptest::collection::vec(pick(CLAIM_NAMES), 0..3),
        proptest::option::of(small.clone()),
        small.clone(),
        proptest::option::of(small),
        0usize..8,
        strings(),
    )
        .prop_map(
            |(
                issuer,
                audience,
                typ,
                required_claims,
                max_age,
                leeway,
                max_lifetime,
                max_act_depth,
                crit_understood,
            )| {
                Policy {
                    issuer,
                    audience,
                    typ,
                    required_claims,
                    max_age,
                    leeway,
                    max_lifetime,
                    max_act_depth,
                    crit_understood,
                }
            },
        )
}

fn options() -> impl Strategy<Value = InspectOptions> {
    let now = prop_oneof![
        4 => Just(1_700_000_000i64),
        2 => 1_500_000_000i64..2_000_000_000,
        1 => proptest::sample::select(&[i64::MIN, -1, 0, i64::MAX][..]),
        1 => any::<i64>(),
    ];
    (now, prop_oneof![Just(Policy::default()), policy()], any::<bool>()).prop_map(|(now, policy, with_keys)| {
        InspectOptions {
            now,
            policy,
            keys: if with_keys { keys().clone() } else { KeySet::default() },
            access_token: None,
        }
    })
}

/// Characters of compact tokens, plus the ones that break them.
const TOKEN_ALPHABET: &str = "[A-Za-z0-9_=.+/-]";

fn regex(r: &str) -> impl Strategy<Value = String> + use<> {
    proptest::string::string_regex(r).unwrap()
}

// ------------------------------------------------------------------ the tests

proptest! {
    #![proptest_config(config(1024))]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2048), opts in options()) {
        check(&String::from_utf8_lossy(&bytes), &opts);
    }

    #[test]
    fn arbitrary_strings(s in any::<String>(), long in ".{0,1500}", opts in options()) {
        check(&s, &opts);
        check(&long, &opts);
    }

    #[test]
    fn token_alphabet(
        s in regex(&format!("{TOKEN_ALPHABET}{{0,1200}}")),
        dotted in proptest::collection::vec(regex(&format!("(eyJ)?{TOKEN_ALPHABET}{{0,80}}")), 0..9),
        opts in options(),
    ) {
        check(&s, &opts);
        check(&dotted.join("."), &opts);
    }

    #[test]
    fn structured_tokens(t in structured(), opts in options()) {
        check(&t, &opts);
    }

    #[test]
    fn nested_tokens(t in nested(), opts in options()) {
        check(&t, &opts);
    }

    #[test]
    fn signed_tokens(t in signed(), opts in options()) {
        check(&t, &opts);
    }
}

proptest! {
    #![proptest_config(config(32))]

    /// At and around `MAX_TOKEN`: decoded in full below it, refused cheaply above.
    #[test]
    fn around_the_size_limit(delta in -64isize..64, fill in regex(TOKEN_ALPHABET), opts in options()) {
        let n = MAX_TOKEN.saturating_add_signed(delta);
        let body = fill.repeat(n.saturating_sub(40));
        let t = format!("eyJhbGciOiJIUzI1NiJ9.{body}.AAAA");
        check(&t, &opts);
    }
}

/// Pathological shapes that random generation would rarely reach.
#[test]
fn pathological_shapes() {
    let opts = InspectOptions { keys: keys().clone(), ..InspectOptions::at(1_700_000_000) };
    let none = b64(br#"{"alg":"none"}"#);
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_obj = format!("{}1{}", r#"{"a":"#.repeat(3000), "}".repeat(3000));
    let act = format!("{}{{}}{}", r#"{"act":"#.repeat(500), "}".repeat(500));
    let dups = object_text(&(0..5000).map(|i| ("sub".to_owned(), Value::from(i))).collect());
    let many: Members = (0..5000).map(|i| (format!("email{i}"), Value::from(format!("a{i}@example.com")))).collect();
    let crit = format!(
        r#"{{"alg":"HS256","crit":[{}]}}"#,
        (0..5000).map(|i| format!("\"x{i}\"")).collect::<Vec<_>>().join(",")
    );
    for payload in [deep, deep_obj, act, dups, object_text(&many)] {
        check(&format!("{none}.{}.", b64(payload.as_bytes())), &opts);
    }
    check(&format!("{}.e30.AAAA", b64(crit.as_bytes())), &opts);
    check(&".".repeat(MAX_TOKEN), &opts);
    check(&"=".repeat(MAX_TOKEN), &opts);
    check(&"\u{10ffff}".repeat(MAX_TOKEN / 4), &opts);
    check(&"A".repeat(MAX_TOKEN + 1), &opts);
    check(&"A".repeat(4 * MAX_TOKEN), &opts);
}

/// Extreme clocks and policies against extreme claims: no overflow anywhere
/// (found by this file: `now - iat` and `exp - iat` overflowed in the claim rules).
#[test]
fn extreme_times() {
    let extremes = [i64::MIN, i64::MIN + 1, -1, 0, 1, i64::MAX - 1, i64::MAX];
    for now in extremes {
        for t in extremes {
            let claims =
                format!(r#"{{"iat":{t},"auth_time":{t},"nbf":{t},"exp":{}}}"#, t.wrapping_neg().wrapping_sub(1));
            let token = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims.as_bytes()));
            for limit in extremes {
                let policy =
                    Policy { max_age: Some(limit), max_lifetime: Some(limit), leeway: limit, ..Policy::default() };
                check(&token, &InspectOptions { now, policy, keys: KeySet::default(), access_token: None });
            }
        }
    }
}
