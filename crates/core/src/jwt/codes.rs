//! The catalogue of finding codes: every code's stable string, default
//! severity and one-line fix, and the helpers that append a finding with them.
//! `tests/jwt_findings.rs` fails when a code in [`Code::ALL`] has no crafted
//! token that produces it.

use super::report::{Finding, Severity};

macro_rules! codes {
    ($( $(#[$m:meta])* $variant:ident => $code:literal, $sev:ident, $fix:literal; )*) => {
        /// Every finding the engine can report.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code { $( $(#[$m])* $variant, )* }

        impl Code {
            /// All codes, in catalogue order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            /// The stable string, e.g. `JWT_ALG_NONE`.
            #[must_use]
            pub fn as_str(self) -> &'static str { match self { $(Code::$variant => $code,)* } }
            /// Default severity.
            #[must_use]
            pub fn severity(self) -> Severity { match self { $(Code::$variant => Severity::$sev,)* } }
            /// One-line fix.
            #[must_use]
            pub fn fix(self) -> &'static str { match self { $(Code::$variant => $fix,)* } }
        }
    };
}

codes! {
    /// Input over the size limit.
    InputTooLarge => "JWT_INPUT_TOO_LARGE", High, "Real JWTs are a few KB; reject oversized tokens before parsing.";
    /// Whitespace or a scheme prefix around the token.
    NonCompactInput => "JWT_NON_COMPACT_INPUT", Low, "Pass the bare compact token (header.payload.signature) without prefixes or whitespace.";
    /// Wrong number of segments / empty.
    Malformed => "JWT_MALFORMED", High, "A JWS has exactly three base64url segments separated by dots.";
    /// Undecodable base64url.
    B64Invalid => "JWT_B64_INVALID", High, "Encode every segment as unpadded base64url (RFC 7515 section 2).";
    /// Padding, std alphabet or dirty trailing bits.
    B64NonCanonical => "JWT_B64_NONCANONICAL", Medium, "Emit canonical unpadded base64url and reject other spellings when verifying.";
    /// Header bytes not UTF-8.
    HeaderNotUtf8 => "JWT_HEADER_NOT_UTF8", High, "The JOSE header must be UTF-8 JSON.";
    /// Header not a JSON object.
    HeaderNotJsonObject => "JWT_HEADER_NOT_JSON_OBJECT", High, "The JOSE header must be a JSON object.";
    /// Payload bytes not UTF-8.
    PayloadNotUtf8 => "JWT_PAYLOAD_NOT_UTF8", High, "JWT claims must be a UTF-8 JSON object.";
    /// Payload not a JSON object.
    PayloadNotJsonObject => "JWT_PAYLOAD_NOT_JSON_OBJECT", High, "JWT claims must be a JSON object (RFC 7519 section 7.2).";
    /// Duplicate header parameter.
    DuplicateHeaderParam => "JWT_DUPLICATE_HEADER_PARAM", High, "Reject JSON with duplicate member names (RFC 7515 section 5.2).";
    /// Duplicate claim.
    DuplicateClaim => "JWT_DUPLICATE_CLAIM", High, "Reject claims with duplicate member names (RFC 7519 section 4).";
    /// JSON serialization input.
    JsonSerialization => "JWT_JSON_SERIALIZATION", Medium, "JWTs use the compact serialization (RFC 7519 section 7.1); reject JSON-serialized input.";
    /// JWE.
    Encrypted => "JWT_ENCRYPTED", Info, "Decrypt with the recipient's key to inspect the claims.";
    /// Nested token (cty JWT).
    Nested => "JWT_NESTED", Info, "Both the outer and the inner token must be validated.";
    /// alg missing.
    AlgMissing => "JWT_ALG_MISSING", High, "Every JWS header must carry alg; reject tokens without it.";
    /// alg none.
    AlgNone => "JWT_ALG_NONE", Critical, "Reject alg none (any case); accept only an allow-list of algorithms fixed by configuration.";
    /// alg unknown or unsupported.
    AlgUnknown => "JWT_ALG_UNKNOWN", Medium, "Use a registered signature algorithm (RS256, PS256, ES256, EdDSA...) from an allow-list.";
    /// Empty signature segment.
    SignatureEmpty => "JWT_SIGNATURE_EMPTY", Critical, "Never accept a token whose signature segment is empty.";
    /// Signature does not verify.
    SignatureInvalid => "JWT_SIGNATURE_INVALID", Critical, "Reject the token; if it should be valid, check the issuer's key and algorithm.";
    /// A key was supplied but no verified signature over a well-formed token.
    SignatureUnverified => "JWT_SIGNATURE_UNVERIFIED", Critical, "Reject the token: accept only a verified signature over a canonical compact token with a registered alg.";
    /// Wrong fixed length.
    SignatureLength => "JWT_SIGNATURE_LENGTH", High, "Use the fixed signature size of the algorithm (ES256: 64 bytes r||s, EdDSA: 64, HS256: 32).";
    /// DER-encoded ECDSA signature.
    EcdsaDerSignature => "JWT_ECDSA_DER_SIGNATURE", High, "JWS ECDSA signatures are r||s (IEEE P1363), not DER (RFC 7518 section 3.4).";
    /// r or s zero / out of range.
    EcdsaPsychicSignature => "JWT_ECDSA_PSYCHIC_SIGNATURE", Critical, "Patch the verifier (CVE-2022-21449): r and s must lie in [1, n-1].";
    /// Verifies with public key bytes as HMAC secret.
    KeyConfusion => "JWT_KEY_CONFUSION", Critical, "Bind each key to one algorithm; never let the header's alg pick HMAC for a public key.";
    /// Verifies with the empty secret.
    HmacEmptySecret => "JWT_HMAC_EMPTY_SECRET", Critical, "Configure a random HMAC secret; an empty secret lets anyone mint tokens.";
    /// Verifies with a well-known secret.
    HmacWeakSecret => "JWT_HMAC_WEAK_SECRET", Critical, "Rotate to a random secret of at least the hash length (32+ bytes for HS256) from a secret store.";
    /// jwk header.
    HeaderJwk => "JWT_HEADER_JWK", High, "Never verify with a key embedded in the token; use keys from your configuration.";
    /// jku header.
    HeaderJku => "JWT_HEADER_JKU", High, "Never fetch keys from a URL named by the token; pin the JWKS URL in configuration.";
    /// x5u header.
    HeaderX5u => "JWT_HEADER_X5U", High, "Never fetch certificates from a URL named by the token; pin trust in configuration.";
    /// x5c header.
    HeaderX5c => "JWT_HEADER_X5C", Medium, "Only trust x5c after chain validation to a pinned anchor; otherwise ignore it.";
    /// kid path traversal.
    KidPathTraversal => "JWT_KID_PATH_TRAVERSAL", High, "Treat kid as an opaque lookup key into a fixed key set, never as a file path.";
    /// kid SQL metacharacters.
    KidSqlInjection => "JWT_KID_SQL_INJECTION", High, "Treat kid as an opaque lookup key; never splice it into SQL.";
    /// kid shell metacharacters.
    KidShellInjection => "JWT_KID_SHELL_INJECTION", High, "Treat kid as an opaque lookup key; never pass it to a shell.";
    /// kid is a URL.
    KidUrl => "JWT_KID_URL", Medium, "kid identifies a key in your key set; never fetch what it points to.";
    /// kid contains NUL.
    KidNul => "JWT_KID_NUL", High, "Reject kid values containing NUL or control characters.";
    /// alg does not fit the key.
    AlgKeyMismatch => "JWT_ALG_KEY_MISMATCH", High, "Take the algorithm from the key (kty/crv/alg/use), never from the token header.";
    /// RSA key under 2048 bits.
    KeyRsaTooSmall => "JWT_KEY_RSA_TOO_SMALL", High, "Use RSA keys of at least 2048 bits (RFC 7518 section 3.3).";
    /// HMAC key shorter than the hash.
    KeyHmacTooShort => "JWT_KEY_HMAC_TOO_SHORT", Medium, "Use an HMAC key at least as long as the hash output (RFC 7518 section 3.2).";
    /// No key matches kid/alg/kty.
    NoMatchingKey => "JWT_NO_MATCHING_KEY", High, "Verify against the issuer's current JWKS, or fix the token's kid/alg.";
    /// Several keys match.
    SeveralKeysMatch => "JWT_SEVERAL_KEYS_MATCH", Low, "Give every key a unique kid and put it in the token header.";
    /// Not verified.
    NotVerified => "JWT_NOT_VERIFIED", Info, "Supply the issuer's key (JWK, JWKS, PEM or secret) to check the signature.";
    /// crit empty.
    CritEmpty => "JWT_CRIT_EMPTY", Medium, "Omit crit, or list only the extensions the recipient must understand (RFC 7515 section 4.1.11).";
    /// crit malformed.
    CritMalformed => "JWT_CRIT_MALFORMED", Medium, "crit must be an array of header parameter names that are present in the header.";
    /// crit names an unknown extension.
    CritUnknown => "JWT_CRIT_UNKNOWN", High, "Recipients must reject tokens whose crit names an extension they do not implement.";
    /// crit names a registered parameter.
    CritRegistered => "JWT_CRIT_REGISTERED", Medium, "crit must not list parameters defined by the JWS/JWA specs (RFC 7515 section 4.1.11).";
    /// typ missing.
    TypMissing => "JWT_TYP_MISSING", Low, "Set typ (at+jwt, dpop+jwt, JWT...) so one kind of token cannot be replayed as another (RFC 8725 section 3.11).";
    /// typ not the expected one.
    TypMismatch => "JWT_TYP_MISMATCH", High, "Accept only the token type your endpoint expects.";
    /// exp missing.
    ExpMissing => "JWT_EXP_MISSING", Medium, "Always set exp; a token without expiry is valid forever once leaked.";
    /// exp in the past.
    Expired => "JWT_EXPIRED", High, "Reject expired tokens (allow only small clock leeway) and obtain a fresh one.";
    /// exp too far from iat.
    LifetimeTooLong => "JWT_LIFETIME_TOO_LONG", Low, "Issue short-lived tokens (minutes to hours) and refresh them.";
    /// nbf in the future.
    NbfFuture => "JWT_NBF_FUTURE", Medium, "The token is not valid yet; check clocks or wait until nbf.";
    /// iat in the future.
    IatFuture => "JWT_IAT_FUTURE", Medium, "iat lies in the future: the issuer's clock is wrong or the token is forged.";
    /// nbf after exp.
    NbfAfterExp => "JWT_NBF_AFTER_EXP", Medium, "nbf must be before exp; such a token is never valid.";
    /// Malformed NumericDate.
    NumericDateMalformed => "JWT_NUMERICDATE_MALFORMED", Medium, "Time claims are JSON numbers of seconds since 1970 (RFC 7519 section 2), not strings or milliseconds.";
    /// Older than max age.
    TooOld => "JWT_TOO_OLD", Medium, "The token (or authentication) is older than the allowed maximum age; re-authenticate.";
    /// aud missing.
    AudMissing => "JWT_AUD_MISSING", Medium, "Set aud to the intended recipient and have recipients check it.";
    /// aud not expected.
    AudMismatch => "JWT_AUD_MISMATCH", High, "Reject tokens minted for another audience.";
    /// iss missing.
    IssMissing => "JWT_ISS_MISSING", Medium, "Set iss and check it against the expected issuer.";
    /// iss not expected.
    IssMismatch => "JWT_ISS_MISMATCH", High, "Reject tokens from issuers you do not trust.";
    /// Required claim missing.
    RequiredClaimMissing => "JWT_REQUIRED_CLAIM_MISSING", High, "Add the claim at the issuer, or relax the policy if it is truly optional.";
    /// at+jwt missing required claims.
    AtJwtMissingClaims => "JWT_AT_JWT_MISSING_CLAIMS", Medium, "RFC 9068 section 2.2 requires iss, exp, aud, sub, client_id, iat and jti in at+jwt tokens.";
    /// An ID-JAG lacks a required claim.
    IdJagMissingClaims => "JWT_ID_JAG_MISSING_CLAIMS", Medium, "An Identity Assertion JWT authorization grant (typ oauth-id-jag+jwt) must carry iss, sub, aud, client_id, jti, exp and iat.";
    /// A private_key_jwt client assertion lacks a required claim.
    ClientAssertionMissingClaims => "JWT_CLIENT_ASSERTION_MISSING_CLAIMS", Medium, "A private_key_jwt client assertion must carry iss and sub (both the client_id), aud (the token endpoint), jti and exp (RFC 7523 section 3, OIDC Core section 9).";
    /// ID token with several aud and no azp.
    IdTokenAzpMissing => "JWT_ID_TOKEN_AZP_MISSING", Medium, "An ID token with several audiences should carry azp naming the client it was issued to (OIDC Core 2).";
    /// act chain too deep.
    ActTooDeep => "JWT_ACT_TOO_DEEP", Medium, "Limit delegation depth; long act chains hide who is really acting.";
    /// actor delegates to itself.
    ActSelfDelegation => "JWT_ACT_SELF_DELEGATION", Medium, "An actor must differ from the subject and from the actor it acts for.";
    /// actor not allowed by may_act.
    ActNotAllowed => "JWT_ACT_NOT_ALLOWED", High, "The current actor is not the party may_act allows (RFC 8693 section 4.4); refuse the exchange.";
    /// act / may_act malformed.
    ActMalformed => "JWT_ACT_MALFORMED", Medium, "act and may_act are JSON objects of claims identifying the actor (RFC 8693 section 4.1).";
    /// cnf malformed.
    CnfMalformed => "JWT_CNF_MALFORMED", Medium, "cnf.jkt and cnf.x5t#S256 are base64url SHA-256 thumbprints (43 characters).";
    /// authorization_details malformed.
    AuthzDetailsMalformed => "JWT_AUTHZ_DETAILS_MALFORMED", Medium, "authorization_details is an array of objects each with a string type (RFC 9396 section 2).";
    /// A DPoP proof without typ dpop+jwt.
    DpopTypInvalid => "JWT_DPOP_TYP_INVALID", High, "A DPoP proof must carry typ dpop+jwt (RFC 9449 section 4.2) so no other JWT passes as a proof.";
    /// A DPoP proof not signed with an asymmetric algorithm.
    DpopAlgNotAsymmetric => "JWT_DPOP_ALG_NOT_ASYMMETRIC", High, "Sign DPoP proofs with an asymmetric algorithm (ES256, PS256, EdDSA...), never none or HMAC (RFC 9449 section 4.2).";
    /// A DPoP proof without a header jwk.
    DpopJwkMissing => "JWT_DPOP_JWK_MISSING", High, "Put the public key of the proof in the header jwk (RFC 9449 section 4.2).";
    /// A DPoP proof whose header jwk is unusable.
    DpopJwkInvalid => "JWT_DPOP_JWK_INVALID", High, "The header jwk must be a supported public JWK matching alg (EC P-256/384/521, RSA, Ed25519).";
    /// A DPoP proof whose header jwk carries private members.
    DpopPrivateKey => "JWT_DPOP_PRIVATE_KEY", Critical, "The header jwk must be a public key (RFC 9449 section 4.3): remove d, p, q, dp, dq, qi, oth, k and rotate the exposed key.";
    /// A DPoP proof whose signature fails with its own header key.
    DpopSignatureInvalid => "JWT_DPOP_SIGNATURE_INVALID", Critical, "Reject the proof: it must verify with the public key in its own header (RFC 9449 section 4.3).";
    /// A DPoP proof lacks jti, htm, htu or iat.
    DpopClaimMissing => "JWT_DPOP_CLAIM_MISSING", High, "A DPoP proof must carry jti, htm, htu (strings) and iat (RFC 9449 section 4.2).";
    /// htu not an absolute http(s) URI without query and fragment.
    DpopHtuInvalid => "JWT_DPOP_HTU_INVALID", Medium, "htu is the request's http(s) URI without query and fragment (RFC 9449 section 4.2).";
    /// A DPoP proof older than the accepted window.
    DpopStale => "JWT_DPOP_STALE", Medium, "Make a fresh proof per request; servers accept only proofs issued within minutes (RFC 9449 section 11.1).";
    /// An access token was given but the proof has no ath.
    DpopAthMissing => "JWT_DPOP_ATH_MISSING", High, "A proof sent with an access token must carry ath, the base64url SHA-256 of that token (RFC 9449 section 4.2).";
    /// ath is not the hash of the given access token.
    DpopAthMismatch => "JWT_DPOP_ATH_MISMATCH", High, "Compute ath over the exact access token sent with the proof: base64url(SHA-256(token)).";
    /// The access token has no cnf.jkt.
    DpopJktMissing => "JWT_DPOP_JKT_MISSING", High, "A DPoP-bound access token carries cnf.jkt, the thumbprint of the client's DPoP key (RFC 9449 section 6.1).";
    /// cnf.jkt is not the thumbprint of the proof's key.
    DpopJktMismatch => "JWT_DPOP_JKT_MISMATCH", High, "Reject the request: the proof must be signed with the key the access token is bound to (cnf.jkt).";
    /// The access token is opaque: jkt could not be checked.
    DpopJktUnchecked => "JWT_DPOP_JKT_UNCHECKED", Info, "Check the binding of an opaque access token with token introspection (RFC 9449 section 6.2).";
    /// e-mail address.
    PiiEmail => "JWT_PII_EMAIL", Low, "Tokens are readable by every holder: send an opaque identifier instead of personal data.";
    /// phone number.
    PiiPhone => "JWT_PII_PHONE", Low, "Tokens are readable by every holder: keep phone numbers out of them.";
    /// person name.
    PiiName => "JWT_PII_NAME", Low, "Tokens are readable by every holder: keep names out of access tokens.";
    /// postal address.
    PiiAddress => "JWT_PII_ADDRESS", Medium, "Tokens are readable by every holder: keep postal addresses out of them.";
    /// birth date.
    PiiBirthdate => "JWT_PII_BIRTHDATE", Medium, "Tokens are readable by every holder: keep birth dates out of them.";
    /// government id.
    PiiGovernmentId => "JWT_PII_GOVERNMENT_ID", High, "Never put government identifiers in tokens; use an internal opaque id.";
    /// payment card number.
    PiiCardNumber => "JWT_PII_CARD_NUMBER", High, "Never put card numbers in tokens (PCI DSS); use a payment token.";
    /// private key in payload.
    PrivateKeyInPayload => "JWT_PRIVATE_KEY_IN_PAYLOAD", Critical, "Remove private key members (d, p, q, dp, dq, qi, k) and rotate the exposed key.";
    /// password-like claim.
    SecretInPayload => "JWT_SECRET_IN_PAYLOAD", High, "Remove secrets (passwords, API keys, client secrets) from claims and rotate them.";
}

/// Append a finding with the code's severity and fix.
pub fn push(findings: &mut Vec<Finding>, code: Code, location: &str, message: String) {
    push_sev(findings, code, code.severity(), location, message);
}

/// Append a finding with an explicit severity.
pub fn push_sev(findings: &mut Vec<Finding>, code: Code, severity: Severity, location: &str, message: String) {
    findings.push(Finding { code: code.as_str(), severity, location: location.to_owned(), message, fix: code.fix() });
}
