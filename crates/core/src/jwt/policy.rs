//! Claim policy and inspection options. `now` is always supplied by the caller.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::error::JwtError;
use super::keys::KeySet;
use super::options::JsonOptions;

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
        Null(()),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
        OneOrMany::Null(()) => Vec::new(),
    })
}

/// What the recipient expects of the claims.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Policy {
    /// Accepted issuers (empty: any, but a missing `iss` is still reported).
    #[serde(deserialize_with = "one_or_many")]
    pub issuer: Vec<String>,
    /// Accepted audiences (any one must appear in `aud`).
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// Expected `typ` (compared case-insensitively, `application/` optional).
    pub typ: Option<String>,
    /// Claims that must be present.
    pub required_claims: Vec<String>,
    /// Maximum age in seconds of `auth_time` (or `iat`).
    pub max_age: Option<i64>,
    /// Clock leeway in seconds for exp/nbf/iat (default 60).
    pub leeway: i64,
    /// Longest acceptable lifetime `exp - iat` in seconds (default one day; `None` disables).
    pub max_lifetime: Option<i64>,
    /// Deepest acceptable `act` chain (default 4).
    pub max_act_depth: usize,
    /// `crit` extensions this recipient understands.
    pub crit_understood: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            issuer: Vec::new(),
            audience: Vec::new(),
            typ: None,
            required_claims: Vec::new(),
            max_age: None,
            leeway: 60,
            max_lifetime: Some(86_400),
            max_act_depth: 4,
            crit_understood: Vec::new(),
        }
    }
}

/// Deepest `act` chain a caller may allow.
pub const MAX_ACT_DEPTH: usize = 1024;

impl Policy {
    /// The policy of an `InspectJwtOptions` object (the full WASM bundle; the
    /// CLI fills a [`Policy`] from its flags over [`Policy::default`]): `issuer`,
    /// `audience` (a string or an array of strings), `typ`, `requiredClaims`,
    /// `critUnderstood`, `maxAge`, `leeway`, `maxLifetime` (`null` turns the
    /// check off, absent keeps the default), `maxActDepth` (0 to 1024). Numbers
    /// are truncated to whole seconds; non-finite ones count as absent.
    ///
    /// # Errors
    /// `ERR_JWT_OPTIONS_INVALID` naming the first member of the wrong type.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pub fn from_json(o: &JsonOptions) -> Result<Self, JwtError> {
        let whole = |v: Option<f64>| v.filter(|v| v.is_finite()).map(|v| v as i64);
        let mut p = Self {
            issuer: o.strings("issuer", "issuer must be a string or an array of strings")?,
            audience: o.strings("audience", "audience must be a string or an array of strings")?,
            typ: o.string("typ", "typ must be a string")?,
            required_claims: o.strings("requiredClaims", "requiredClaims must be an array of strings")?,
            crit_understood: o.strings("critUnderstood", "critUnderstood must be an array of strings")?,
            ..Self::default()
        };
        p.max_age = whole(o.number("maxAge", "maxAge must be a number")?);
        if let Some(l) = whole(o.number("leeway", "leeway must be a number")?) {
            p.leeway = l;
        }
        match o.raw("maxLifetime") {
            None => {}
            Some(Value::Null) => p.max_lifetime = None,
            Some(_) => p.max_lifetime = whole(o.number("maxLifetime", "maxLifetime must be a number or null")?),
        }
        if let Some(d) = o.number("maxActDepth", "maxActDepth must be a number")? {
            if !(0.0..=MAX_ACT_DEPTH as f64).contains(&d) {
                return Err(JwtError::OptionsInvalid("maxActDepth must be between 0 and 1024"));
            }
            p.max_act_depth = d as usize;
        }
        Ok(p)
    }
}

/// Everything `inspect` needs besides the token.
#[derive(Debug, Clone, Default)]
pub struct InspectOptions {
    /// Current time, seconds since the epoch (core never reads the clock).
    pub now: i64,
    /// Claim policy.
    pub policy: Policy,
    /// Verification keys (empty: signature not checked).
    pub keys: KeySet,
    /// The access token a DPoP proof accompanies: its `ath` and `cnf.jkt` binding
    /// are checked when the inspected token is a DPoP proof (ignored otherwise).
    pub access_token: Option<String>,
}

impl InspectOptions {
    /// Options with `now` and defaults otherwise.
    #[must_use]
    pub fn at(now: i64) -> Self {
        Self { now, ..Self::default() }
    }
}
