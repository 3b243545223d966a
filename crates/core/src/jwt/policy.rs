//! Claim policy and inspection options. `now` is always supplied by the caller.

use serde::{Deserialize, Deserializer};

use super::keys::KeySet;

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
