//! Property test over decode + inspect (a small deterministic fuzzer, no extra
//! dependencies): random bytes, random token-shaped strings and mutations of
//! valid tokens never panic, never take long, and the report stays bounded.

use std::time::{Duration, Instant};

use sealpost_core::jwt::{InspectOptions, KeySet, MAX_FINDINGS, MAX_TOKEN, inspect};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEEDS: &[&str] = &[
    "eyJhbGciOiJFUzI1NiIsInR5cCI6ImF0K2p3dCIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwic3ViIjoidXNlciIsImFjdCI6eyJzdWIiOiJhIiwiYWN0Ijp7InN1YiI6ImIifX19.AAAA",
    "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "eyJhbGciOiJSU0EtT0FFUC0yNTYiLCJlbmMiOiJBMjU2R0NNIn0.a2V5.aXY.Y2lwaGVy.dGFn",
    r#"{"protected":"eyJhbGciOiJIUzI1NiJ9","payload":"e30","signature":"AAAA"}"#,
    "eyJhbGciOiJIUzI1NiIsImN0eSI6IkpXVCJ9.ZXlKaGJHY2lPaUp1YjI1bEluMC5lMzAu.c2ln",
];

const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/{}\":, \n\0";

fn check(token: &str, opts: &InspectOptions, worst: &mut Duration) {
    let t0 = Instant::now();
    let r = inspect(token, opts);
    let dt = t0.elapsed();
    *worst = (*worst).max(dt);
    assert!(dt < Duration::from_secs(2), "inspect took {dt:?} on a {}-byte input", token.len());
    assert!(r.findings.len() <= MAX_FINDINGS);
    let json = serde_json::to_string(&r).unwrap();
    // Bounded: the report never exceeds a fixed multiple of the (capped) input.
    assert!(
        json.len() <= 64 * 1024 + 8 * token.len().min(MAX_TOKEN),
        "report {} bytes for input {}",
        json.len(),
        token.len()
    );
}

#[test]
fn arbitrary_inputs_never_panic_hang_or_explode() {
    let keys = KeySet::secret_utf8("0123456789abcdef0123456789abcdef");
    let opts = InspectOptions { keys, ..InspectOptions::at(1_700_000_000) };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut worst = Duration::ZERO;
    let mut n = 0;
    for _ in 0..4000 {
        // 1. raw random bytes (lossy UTF-8)
        let len = rng.below(300);
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check(&String::from_utf8_lossy(&bytes), &opts, &mut worst);
        // 2. token-shaped strings over the base64url/JSON alphabet
        let len = rng.below(400);
        let s: String = (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())] as char).collect();
        check(&s, &opts, &mut worst);
        // 3. mutations of valid seeds: flips, insertions, deletions, splices
        let seed = SEEDS[rng.below(SEEDS.len())];
        let mut m = seed.as_bytes().to_vec();
        for _ in 0..=rng.below(4) {
            let i = rng.below(m.len());
            match rng.below(4) {
                0 => m[i] ^= 1 << rng.below(8),
                1 => m.insert(i, ALPHABET[rng.below(ALPHABET.len())]),
                2 if !m.is_empty() => {
                    m.remove(i);
                }
                _ => {
                    let other = SEEDS[rng.below(SEEDS.len())].as_bytes();
                    let j = rng.below(other.len());
                    m.extend_from_slice(&other[j..]);
                }
            }
            if m.is_empty() {
                m.push(b'.');
            }
        }
        check(&String::from_utf8_lossy(&m), &opts, &mut worst);
        n += 3;
    }
    // 4. pathological shapes: deep JSON, huge segment counts, oversize input
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let b = sealpost_core::jwt::b64::encode;
    check(&format!("{}.{}.", b(br#"{"alg":"none"}"#), b(deep.as_bytes())), &opts, &mut worst);
    let deep_act = format!("{}{}", r#"{"act":"#.repeat(100), "{}".to_owned() + &"}".repeat(100));
    check(&format!("{}.{}.", b(br#"{"alg":"none"}"#), b(deep_act.as_bytes())), &opts, &mut worst);
    check(&".".repeat(100_000), &opts, &mut worst);
    check(&"A".repeat(MAX_TOKEN + 10), &opts, &mut worst);
    let many_claims: String = format!(
        "{{{}}}",
        (0..5000).map(|i| format!("\"email{i}\":\"a{i}@example.com\"")).collect::<Vec<_>>().join(",")
    );
    check(&format!("{}.{}.", b(br#"{"alg":"none"}"#), b(many_claims.as_bytes())), &opts, &mut worst);
    println!("fuzz: {n} inputs, worst inspect time {worst:?}");
}
