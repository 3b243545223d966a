//! Options objects as JSON (what the full WASM bundle receives through one
//! `JSON.stringify`), read by hand rather than with `#[derive(Deserialize)]`:
//! serde's typed error messages link float formatting, ~14 KB of WASM. `null`
//! counts as absent except where a reader says otherwise.

use serde_json::{Map, Value};

use super::error::JwtError;

/// A JSON options object; every reader fails with `ERR_JWT_OPTIONS_INVALID`
/// and the given message when a member has the wrong type.
#[derive(Debug, Clone, Default)]
pub struct JsonOptions(Map<String, Value>);

impl JsonOptions {
    /// Parse an options object from JSON text.
    ///
    /// # Errors
    /// `ERR_JWT_OPTIONS_INVALID` with `what` when the text is not a JSON object.
    pub fn parse(text: &str, what: &'static str) -> Result<Self, JwtError> {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(m)) => Ok(Self(m)),
            _ => Err(JwtError::OptionsInvalid(what)),
        }
    }

    /// A member, `null` included.
    #[must_use]
    pub fn raw(&self, k: &str) -> Option<&Value> {
        self.0.get(k)
    }

    /// A member other than `null`.
    #[must_use]
    pub fn get(&self, k: &str) -> Option<&Value> {
        self.0.get(k).filter(|v| !v.is_null())
    }

    /// A string member.
    ///
    /// # Errors
    /// `bad` when the member is present and not a string.
    pub fn string(&self, k: &str, bad: &'static str) -> Result<Option<String>, JwtError> {
        self.get(k).map(|v| v.as_str().map(str::to_owned).ok_or(JwtError::OptionsInvalid(bad))).transpose()
    }

    /// A number member.
    ///
    /// # Errors
    /// `bad` when the member is present and not a number.
    pub fn number(&self, k: &str, bad: &'static str) -> Result<Option<f64>, JwtError> {
        self.get(k).map(|v| v.as_f64().ok_or(JwtError::OptionsInvalid(bad))).transpose()
    }

    /// A string or an array of strings (absent: empty).
    ///
    /// # Errors
    /// `bad` for anything else.
    pub fn strings(&self, k: &str, bad: &'static str) -> Result<Vec<String>, JwtError> {
        match self.get(k) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => Ok(vec![s.clone()]),
            Some(Value::Array(a)) => {
                a.iter().map(|v| v.as_str().map(str::to_owned).ok_or(JwtError::OptionsInvalid(bad))).collect()
            }
            Some(_) => Err(JwtError::OptionsInvalid(bad)),
        }
    }
}
