//! Native benchmarks of the LinkAuth envelope: seal and open with 1 KB of
//! credentials for 2048/3072/4096-bit keys, the JWE form, and key generation.
//!
//! `cargo bench -p sealpost-core --bench envelope` (criterion). Key generation
//! uses a small sample so the run ends in reasonable time; RSA key generation
//! time varies a lot from key to key (prime search), so read its spread too.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sealpost_core::envelope::{self, Credentials};
use sealpost_core::keys::{AgentPrivateKey, KeyBits};

const KEYS: [(usize, &str); 3] = [
    (2048, include_str!("../tests/vectors/keys/rsa2048.pkcs8.pem")),
    (3072, include_str!("../tests/vectors/keys/rsa3072.pkcs8.pem")),
    (4096, include_str!("../tests/vectors/keys/rsa4096.pkcs8.pem")),
];
const SID: &str = "1635c8525afbae58c37bede3c9440844e9143727cc7c160bed665ec378d8a262";

/// Credentials whose JSON is exactly 1024 bytes.
fn credentials_1kb() -> Credentials {
    let mut c = Credentials::new();
    c.insert("username", "agent@example.com");
    let overhead = r#"{"password":"","username":"agent@example.com"}"#.len();
    c.insert("password", "s".repeat(1024 - overhead));
    c
}

fn load(pem: &str) -> AgentPrivateKey {
    match AgentPrivateKey::from_pem(pem) {
        Ok(k) => k,
        Err(e) => panic!("fixture key: {e}"),
    }
}

fn seal_open(c: &mut Criterion) {
    let creds = credentials_1kb();
    let mut group = c.benchmark_group("envelope");
    group.throughput(Throughput::Bytes(1024));
    for (bits, pem) in KEYS {
        let sk = load(pem);
        let pk = sk.public_key().clone();
        group.bench_with_input(BenchmarkId::new("seal_1kb", bits), &pk, |b, pk| {
            b.iter(|| envelope::seal(black_box(pk), black_box(&creds)).map(|s| s.len()))
        });
        let sealed = envelope::seal(&pk, &creds).unwrap();
        group.bench_with_input(BenchmarkId::new("open_1kb", bits), &sealed, |b, ct| {
            b.iter(|| envelope::open(black_box(&sk), black_box(ct)).map(|c| c.len()))
        });
        group.bench_with_input(BenchmarkId::new("seal_jwe_1kb", bits), &pk, |b, pk| {
            b.iter(|| envelope::seal_jwe(black_box(pk), black_box(&creds), SID).map(|s| s.len()))
        });
        let jwe = envelope::seal_jwe(&pk, &creds, SID).unwrap();
        group.bench_with_input(BenchmarkId::new("open_jwe_1kb", bits), &jwe, |b, jwe| {
            b.iter(|| envelope::open_jwe(black_box(&sk), black_box(jwe), SID).map(|c| c.len()))
        });
    }
    group.finish();
}

fn keygen(c: &mut Criterion) {
    let mut group = c.benchmark_group("keygen");
    group.sample_size(10);
    group.warm_up_time(Duration::from_millis(500));
    for (bits, kb, secs) in [(2048, KeyBits::B2048, 10), (3072, KeyBits::B3072, 20), (4096, KeyBits::B4096, 40)] {
        group.measurement_time(Duration::from_secs(secs));
        group.bench_function(BenchmarkId::from_parameter(bits), |b| {
            b.iter(|| AgentPrivateKey::generate(black_box(kb)).map(|k| k.public_key().bits()))
        });
    }
    group.finish();
}

criterion_group!(benches, seal_open, keygen);
criterion_main!(benches);
