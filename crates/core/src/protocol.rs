//! Serde types of the wire API (docs/protocol.md), shared by the broker and the CLI.
//!
//! Pure data and pure helpers: no I/O, no clock. Where the LinkAuth draft and the
//! reference broker spell a field differently, the response types carry both
//! spellings as `Option`s: a Sealpost broker fills both (use the `new`
//! constructors), a Sealpost client accepts either (use the accessor methods).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Lifetime of a session when the agent asks for none (seconds).
pub const DEFAULT_TTL_SECS: u64 = 600;
/// Default minimum polling interval (seconds).
pub const DEFAULT_INTERVAL_SECS: u64 = 5;
/// Number of characters of a user code, without the hyphen.
pub const USER_CODE_LEN: usize = 8;
/// Alphabet of user codes: every code in it is accepted (LinkAuth v1 codes are `A-Z0-9`).
pub const USER_CODE_ALPHABET: &[u8; 36] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Alphabet new codes are drawn from: [`USER_CODE_ALPHABET`] without the look-alikes
/// `O`/`0` and `I`/`1`, so a person reading a code aloud or copying it by hand cannot
/// mistake one character for another. 32 characters: 5 bits each, 40 bits per code.
pub const USER_CODE_ISSUE_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// RFC 8628 `slow_down` problem type.
pub const SLOW_DOWN_TYPE: &str = "urn:ietf:params:oauth:error:slow_down";
/// Problem title of a poll on a session the user declined through an inbox.
pub const DECLINED_TITLE: &str = "Request Declined";
/// Media type of every error body.
pub const PROBLEM_CONTENT_TYPE: &str = "application/problem+json";
/// `algorithm` value of the LinkAuth envelope ([`EnvelopeKind::Linkauth`]).
pub const ALG_LINKAUTH: &str = "RSA-OAEP-256+AES-256-GCM";
/// `algorithm` value of the JWE envelope ([`EnvelopeKind::Jwe`], Sealpost extension).
pub const ALG_JWE: &str = "JWE";

/// Session state, lower case on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    /// Created, waiting for the user.
    Pending,
    /// The user confirmed the code and holds a connect token.
    Confirmed,
    /// Ciphertext stored, waiting for the agent's poll.
    Ready,
    /// The agent collected the ciphertext.
    Consumed,
    /// The TTL passed.
    Expired,
}

impl SessionStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Ready => "ready",
            Self::Consumed => "consumed",
            Self::Expired => "expired",
        }
    }

    /// Parse the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "ready" => Self::Ready,
            "consumed" => Self::Consumed,
            "expired" => Self::Expired,
            _ => return None,
        })
    }
}

/// Envelope the agent asks the browser to produce (Sealpost extension).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvelopeKind {
    /// `RSA-OAEP-256+AES-256-GCM`, the LinkAuth envelope.
    #[default]
    Linkauth,
    /// JWE compact serialization bound to the session id.
    Jwe,
}

impl EnvelopeKind {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Linkauth => "linkauth",
            Self::Jwe => "jwe",
        }
    }

    /// Parse the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "linkauth" => Some(Self::Linkauth),
            "jwe" => Some(Self::Jwe),
            _ => None,
        }
    }

    /// The `algorithm` a ciphertext of this kind travels with ([`ALG_LINKAUTH`], [`ALG_JWE`]).
    pub fn algorithm(self) -> &'static str {
        match self {
            Self::Linkauth => ALG_LINKAUTH,
            Self::Jwe => ALG_JWE,
        }
    }

    /// The kind an `algorithm` value names: exact spellings only, `None` for anything else.
    pub fn from_algorithm(algorithm: &str) -> Option<Self> {
        match algorithm {
            ALG_LINKAUTH => Some(Self::Linkauth),
            ALG_JWE => Some(Self::Jwe),
            _ => None,
        }
    }
}

/// Input type of a credential form field.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// Single-line visible text.
    #[default]
    Text,
    /// Single-line masked text.
    Password,
    /// Multi-line text.
    Textarea,
    /// One of `options`.
    Select,
}

impl FieldType {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Password => "password",
            Self::Textarea => "textarea",
            Self::Select => "select",
        }
    }
}

fn default_true() -> bool {
    true
}

/// One field of the credential form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldSpec {
    /// Key of the value in the sealed credentials object.
    pub name: String,
    /// Label shown to the user.
    pub label: String,
    /// Input type (default `text`).
    #[serde(rename = "type", default)]
    pub kind: FieldType,
    /// Whether the user must fill it (default `true`, as in LinkAuth).
    #[serde(default = "default_true")]
    pub required: bool,
    /// Choices of a `select` field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<Vec<String>>,
}

impl FieldSpec {
    fn builtin(name: &str, label: &str, kind: FieldType, required: bool) -> Self {
        Self { name: name.into(), label: label.into(), kind, required, options: None }
    }
}

/// Ids of the built-in form templates, as in the LinkAuth reference broker.
pub const TEMPLATE_IDS: [&str; 5] = ["api_key", "basic_auth", "aws", "openai", "anthropic"];

/// A built-in template: its display name and fields. `None` for unknown ids.
pub fn template(id: &str) -> Option<(&'static str, Vec<FieldSpec>)> {
    use FieldType::{Password, Text};
    Some(match id {
        "api_key" => ("API Key", vec![FieldSpec::builtin("api_key", "API Key", Password, true)]),
        "openai" => ("OpenAI", vec![FieldSpec::builtin("api_key", "OpenAI API Key", Password, true)]),
        "anthropic" => ("Anthropic", vec![FieldSpec::builtin("api_key", "Anthropic API Key", Password, true)]),
        "basic_auth" => (
            "Login Credentials",
            vec![
                FieldSpec::builtin("username", "Username", Text, true),
                FieldSpec::builtin("password", "Password", Password, true),
            ],
        ),
        "aws" => (
            "AWS Credentials",
            vec![
                FieldSpec::builtin("access_key_id", "Access Key ID", Text, true),
                FieldSpec::builtin("secret_access_key", "Secret Access Key", Password, true),
                FieldSpec::builtin("region", "Region", Text, false),
            ],
        ),
        _ => return None,
    })
}

/// Most fields a custom form may request (a broker refuses more: `ERR_TOO_MANY_FIELDS`).
/// Not [`crate::envelope::MAX_CREDENTIAL_FIELDS`], which bounds what an envelope may carry.
pub const MAX_FORM_FIELDS: usize = 32;
/// Longest field name, in bytes.
pub const MAX_FIELD_NAME: usize = 64;
/// Longest field label or select option, in characters.
pub const MAX_FIELD_LABEL: usize = 200;
/// Most options of a `select` field.
pub const MAX_SELECT_OPTIONS: usize = 64;

/// Why a custom form was refused by [`validate_fields`]. The messages are the
/// broker's problem details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FieldsError {
    /// No fields at all.
    #[error("fields must not be empty.")]
    Empty,
    /// More than [`MAX_FORM_FIELDS`].
    #[error("At most {MAX_FORM_FIELDS} fields are accepted.")]
    TooMany,
    /// A name outside 1-[`MAX_FIELD_NAME`] characters of `A-Z a-z 0-9 _ - .`.
    #[error("Field names are 1-{MAX_FIELD_NAME} characters of A-Z a-z 0-9 _ - .")]
    BadName,
    /// Two fields share a name.
    #[error("Field names must be unique.")]
    DuplicateName,
    /// A blank label.
    #[error("Every field needs a label.")]
    NoLabel,
    /// A label or option longer than [`MAX_FIELD_LABEL`] characters.
    #[error("{0} is too long (at most {MAX_FIELD_LABEL} characters).")]
    TooLong(&'static str),
    /// A label or option with a character of [`is_unsafe_display_char`].
    #[error("{0} contains control characters, bidirectional overrides or isolates, or line separators.")]
    UnsafeText(&'static str),
    /// A `select` field without 1-[`MAX_SELECT_OPTIONS`] options.
    #[error("A select field needs 1-{MAX_SELECT_OPTIONS} options.")]
    SelectOptions,
    /// `options` on a field that is not a `select`.
    #[error("Only select fields take options.")]
    OptionsWithoutSelect,
}

impl FieldsError {
    /// The stable code: `ERR_TOO_MANY_FIELDS`, `ERR_TEXT_INVALID` or `ERR_FIELDS_INVALID`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooMany => "ERR_TOO_MANY_FIELDS",
            Self::UnsafeText(_) => "ERR_TEXT_INVALID",
            _ => "ERR_FIELDS_INVALID",
        }
    }
}

impl crate::error::ErrorCode for FieldsError {
    fn code(&self) -> &'static str {
        FieldsError::code(self)
    }
}

fn check_field_text(text: &str, what: &'static str) -> Result<(), FieldsError> {
    if text.chars().count() > MAX_FIELD_LABEL {
        return Err(FieldsError::TooLong(what));
    }
    if text.chars().any(is_unsafe_display_char) {
        return Err(FieldsError::UnsafeText(what));
    }
    Ok(())
}

/// The one check of a custom form (`fields` of `POST /v1/sessions`), used by
/// the broker and by the CLI before it asks: 1-[`MAX_FORM_FIELDS`] fields,
/// unique names of 1-[`MAX_FIELD_NAME`] characters `A-Z a-z 0-9 _ - .`, a
/// non-blank label of at most [`MAX_FIELD_LABEL`] characters that a person may
/// safely read, and `options` exactly on `select` fields (1-[`MAX_SELECT_OPTIONS`]).
pub fn validate_fields(fields: &[FieldSpec]) -> Result<(), FieldsError> {
    if fields.is_empty() {
        return Err(FieldsError::Empty);
    }
    if fields.len() > MAX_FORM_FIELDS {
        return Err(FieldsError::TooMany);
    }
    let mut names = std::collections::BTreeSet::new();
    for f in fields {
        let name_ok = !f.name.is_empty()
            && f.name.len() <= MAX_FIELD_NAME
            && f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !name_ok {
            return Err(FieldsError::BadName);
        }
        if !names.insert(f.name.as_str()) {
            return Err(FieldsError::DuplicateName);
        }
        if f.label.trim().is_empty() {
            return Err(FieldsError::NoLabel);
        }
        check_field_text(&f.label, "A field label")?;
        match (f.kind, &f.options) {
            (FieldType::Select, Some(opts)) if !opts.is_empty() && opts.len() <= MAX_SELECT_OPTIONS => {
                for o in opts {
                    check_field_text(o, "A select option")?;
                }
            }
            (FieldType::Select, _) => return Err(FieldsError::SelectOptions),
            (_, Some(_)) => return Err(FieldsError::OptionsWithoutSelect),
            _ => {}
        }
    }
    Ok(())
}

/// `POST /v1/sessions` request body.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CreateSessionRequest {
    /// Base64 DER SPKI of the agent's RSA key.
    pub public_key: String,
    /// Built-in template id (see [`TEMPLATE_IDS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// Custom form, instead of a template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<Vec<FieldSpec>>,
    /// Title shown on the consent page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Requested lifetime in seconds (the broker caps it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Sealpost: envelope the browser must produce (default `linkauth`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<EnvelopeKind>,
    /// Sealpost: deliver the request to an inbox. The value is a sender
    /// credential (`is_...`) the inbox owner created; a bare inbox id (`ib_...`)
    /// is refused by a Sealpost broker (`ERR_SENDER_REQUIRED`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inbox: Option<String>,
    /// Sealpost: name of the requesting agent, shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Sealpost: why the agent asks, shown to the user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// LinkAuth OAuth-mediated flow (not supported by Sealpost: answered with 400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_provider: Option<serde_json::Value>,
    /// LinkAuth OAuth-mediated flow scopes (see `oauth_provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_scopes: Option<serde_json::Value>,
    /// LinkAuth OAuth-mediated flow extra parameters (see `oauth_provider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_extra_params: Option<serde_json::Value>,
}

impl CreateSessionRequest {
    /// Whether the request asks for the OAuth-mediated flow.
    pub fn is_oauth(&self) -> bool {
        self.oauth_provider.is_some() || self.oauth_scopes.is_some() || self.oauth_extra_params.is_some()
    }
}

/// `POST /v1/sessions` 201 response, both spellings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSessionResponse {
    /// Lowercase hex SHA-256 of the normalized code.
    pub session_id: String,
    /// Reference broker spelling of the user code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Draft (RFC 8628) spelling of the user code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_code: Option<String>,
    /// Reference broker spelling of the complete verification URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Draft spelling of the complete verification URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri_complete: Option<String>,
    /// Manual code entry page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_uri: Option<String>,
    /// Bearer token for polling.
    pub poll_token: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// Minimum polling interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

impl CreateSessionResponse {
    /// A response with both spellings filled; `base_url` has no trailing slash.
    pub fn new(code: &str, base_url: &str, poll_token: String, expires_at: String, interval: u64) -> Self {
        let complete = format!("{base_url}/connect/{code}");
        Self {
            session_id: session_id_for_code(code).unwrap_or_default(),
            code: Some(code.to_owned()),
            user_code: Some(code.to_owned()),
            url: Some(complete.clone()),
            verification_uri_complete: Some(complete),
            verification_uri: Some(format!("{base_url}/connect")),
            poll_token,
            expires_at,
            interval: Some(interval),
        }
    }

    /// The user code, whichever spelling the broker used.
    pub fn user_code(&self) -> Option<&str> {
        self.user_code.as_deref().or(self.code.as_deref())
    }

    /// The complete verification URL, whichever spelling the broker used.
    pub fn complete_url(&self) -> Option<&str> {
        self.verification_uri_complete.as_deref().or(self.url.as_deref())
    }

    /// The polling interval, defaulting to [`DEFAULT_INTERVAL_SECS`].
    pub fn interval_secs(&self) -> u64 {
        self.interval.unwrap_or(DEFAULT_INTERVAL_SECS)
    }
}

/// `GET /v1/sessions/{id}` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollResponse {
    /// Current state; `ready` only in the one response that carries the ciphertext.
    pub status: SessionStatus,
    /// RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// Minimum polling interval in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
    /// The sealed credentials, exactly once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ciphertext: Option<String>,
    /// Envelope algorithm of `ciphertext` as sent by the browser.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<String>,
}

/// `security` member of the connect response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityInfo {
    /// Whether the page was served over TLS (or localhost).
    pub secure: bool,
    /// `production`, `development` or `insecure`.
    pub mode: String,
    /// Warning for the user, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `GET /v1/connect/{code}` and `POST /v1/connect/resolve` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectResponse {
    /// Always `pending` (other states are answered with 404/410).
    pub status: SessionStatus,
    /// Title of the request.
    pub display_name: String,
    /// `form` (Sealpost does not run the OAuth-mediated flow).
    pub template_type: String,
    /// The user code, `ABCD-1234`.
    pub code: String,
    /// The form (templates are expanded).
    pub fields: Vec<FieldSpec>,
    /// Base64 DER SPKI of the agent key; the page computes the fingerprint itself.
    pub public_key: String,
    /// Transport security of the broker.
    pub security: SecurityInfo,
    /// Sealpost: name of the requesting agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Sealpost: why the agent asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Sealpost: envelope to produce (absent from LinkAuth brokers: `linkauth`).
    #[serde(default)]
    pub envelope: EnvelopeKind,
    /// Sealpost: RFC 3339 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
}

/// `POST /v1/connect/resolve` request body (`code` accepted as an alias).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResolveRequest {
    /// The code the user typed.
    #[serde(alias = "code")]
    pub user_code: String,
}

/// `POST /v1/connect/{code}/confirm` 200 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmResponse {
    /// Bearer for `complete`.
    pub connect_token: String,
}

/// `POST /v1/connect/{code}/complete` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompleteRequest {
    /// The sealed credentials, opaque to the broker.
    pub ciphertext: String,
    /// Envelope algorithm (`RSA-OAEP-256+AES-256-GCM` or `JWE`).
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// Token from `confirm`.
    #[serde(default)]
    pub connect_token: Option<String>,
}

fn default_algorithm() -> String {
    ALG_LINKAUTH.to_owned()
}

/// `POST /v1/inboxes` 201 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateInboxResponse {
    /// Public id, `ib_` + 16 base32 characters.
    pub inbox_id: String,
    /// Secret bearer, `it_` + base64url(32 bytes).
    pub inbox_token: String,
}

/// One element of `GET /v1/inboxes/{id}/requests`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InboxRequest {
    /// The user code, `ABCD-1234`.
    pub code: String,
    /// Title of the request.
    pub display_name: String,
    /// Name of the requesting agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_name: Option<String>,
    /// Why the agent asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `form`.
    pub template_type: String,
    /// The form.
    pub fields: Vec<FieldSpec>,
    /// Base64 DER SPKI of the agent key.
    pub public_key: String,
    /// Envelope to produce.
    #[serde(default)]
    pub envelope: EnvelopeKind,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    /// Session id (lowercase hex), as the agent polls it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Sender that posted the request (`sd_...`); absent for requests stored
    /// before senders existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// Name the inbox owner gave that sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_name: Option<String>,
}

/// `POST /v1/inboxes/{inbox_id}/senders` request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSenderRequest {
    /// Shown next to every request of this sender: 1-64 characters after
    /// trimming, no control characters, bidi overrides/isolates or line separators.
    pub name: String,
}

/// `POST /v1/inboxes/{inbox_id}/senders` 201 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateSenderResponse {
    /// Public id, `sd_` + 16 base32 characters.
    pub sender_id: String,
    /// The name as stored (trimmed).
    pub name: String,
    /// Secret, `is_` + base64url(32 bytes): the agent's `inbox` value. Returned
    /// only here; the broker keeps its SHA-256.
    pub sender_credential: String,
    /// RFC 3339 UTC.
    pub created_at: String,
}

/// One element of `GET /v1/inboxes/{inbox_id}/senders` (never the credential).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderInfo {
    /// Public id, `sd_...`.
    pub sender_id: String,
    /// Name.
    pub name: String,
    /// RFC 3339 UTC.
    pub created_at: String,
    /// RFC 3339 UTC of its last accepted request, or null.
    #[serde(default)]
    pub last_used_at: Option<String>,
    /// Its requests still waiting for an answer (pending or confirmed).
    pub pending: u64,
    /// Requests it ever posted.
    pub sent: u64,
    /// Sealpost: the broker's `--max-sender-pending`, the same for every
    /// sender; at `pending >= pending_limit` its new requests get
    /// `429 ERR_SENDER_QUOTA`. Absent from older brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_limit: Option<u64>,
}

/// Longest sender name, in characters.
pub const MAX_SENDER_NAME: usize = 64;

/// Whether `c` must never appear in text shown to a person (names, titles,
/// reasons): C0/C1 controls and DEL, bidirectional embeddings, overrides and
/// isolates (U+202A-U+202E, U+2066-U+2069), and the Unicode line and paragraph
/// separators (U+2028, U+2029). Callers that allow `\n`/`\t` check those first.
pub fn is_unsafe_display_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// A sender name as stored: trimmed, 1-64 characters; `None` when empty, too
/// long, or when any character of the input (trimmed part included: U+2028,
/// U+2029 and U+0085 count as whitespace) is [`is_unsafe_display_char`].
pub fn normalize_sender_name(name: &str) -> Option<String> {
    if name.chars().any(is_unsafe_display_char) {
        return None;
    }
    let t = name.trim();
    (1..=MAX_SENDER_NAME).contains(&t.chars().count()).then(|| t.to_owned())
}

/// RFC 9457 problem details plus Sealpost's stable `code` and the draft's
/// `slow_down` members (`error`, `interval`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// Problem type URI (`about:blank` unless more specific).
    #[serde(rename = "type", default = "about_blank")]
    pub kind: String,
    /// Short summary, stable per kind (`Session Not Found`, `Request Declined`).
    #[serde(default)]
    pub title: String,
    /// HTTP status.
    #[serde(default)]
    pub status: u16,
    /// Human-readable explanation (never contains secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Stable Sealpost `ERR_*` code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// OAuth-style error (`slow_down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// OAuth-style description of `error` (sent by some LinkAuth brokers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    /// New polling interval (seconds) for `slow_down`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<u64>,
}

fn about_blank() -> String {
    "about:blank".to_owned()
}

impl Default for Problem {
    fn default() -> Self {
        Self {
            kind: about_blank(),
            title: String::new(),
            status: 0,
            detail: None,
            code: None,
            error: None,
            error_description: None,
            interval: None,
        }
    }
}

impl Problem {
    /// Read an error body as a client does, leniently: members of the wrong
    /// JSON type are ignored, a body that is not a JSON object is an empty
    /// problem, and `interval` may be any number (rounded up to whole seconds;
    /// negative is 0).
    pub fn parse(body: &str) -> Problem {
        let Ok(serde_json::Value::Object(m)) = serde_json::from_str::<serde_json::Value>(body) else {
            return Problem::default();
        };
        let text = |k: &str| m.get(k).and_then(serde_json::Value::as_str).map(str::to_owned);
        Problem {
            kind: text("type").unwrap_or_else(about_blank),
            title: text("title").unwrap_or_default(),
            status: m
                .get("status")
                .and_then(serde_json::Value::as_u64)
                .and_then(|s| u16::try_from(s).ok())
                .unwrap_or(0),
            detail: text("detail"),
            code: text("code"),
            error: text("error"),
            error_description: text("error_description"),
            interval: m.get("interval").and_then(serde_json::Value::as_f64).map(whole_secs),
        }
    }

    /// Whether this is a `slow_down` answer, in either spelling.
    pub fn is_slow_down(&self) -> bool {
        self.kind == SLOW_DOWN_TYPE || self.error.as_deref() == Some("slow_down")
    }

    /// Whether this is the inbox decline answer: its title (any case), its
    /// code `ERR_REQUEST_DECLINED` or the OAuth-style `request_declined`.
    pub fn is_declined(&self) -> bool {
        self.title.trim().eq_ignore_ascii_case(DECLINED_TITLE)
            || self.code.as_deref() == Some("ERR_REQUEST_DECLINED")
            || self.error.as_deref() == Some("request_declined")
    }
}

/// Seconds as a client obeys them: rounded up, negative and NaN are 0, huge saturates.
fn whole_secs(v: f64) -> u64 {
    if v > 0.0 {
        // `as` saturates for floats: 1e300 -> u64::MAX, the caller clamps.
        v.ceil() as u64
    } else {
        0
    }
}

/// The `201` answer to `POST /v1/sessions` as a client reads it: every member
/// optional (a missing one is the client's error to report), both spellings
/// of the code and URL, `expires_in` (RFC 8628) beside `expires_at`, and
/// intervals as any JSON number. Unknown members are ignored. A broker
/// answers with [`CreateSessionResponse`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct SessionCreatedReply {
    /// Lowercase hex session id.
    pub session_id: Option<String>,
    /// Reference broker spelling of the user code.
    pub code: Option<String>,
    /// Draft (RFC 8628) spelling of the user code.
    pub user_code: Option<String>,
    /// Reference broker spelling of the complete verification URL.
    pub url: Option<String>,
    /// Draft spelling of the complete verification URL.
    pub verification_uri_complete: Option<String>,
    /// Manual code entry page.
    pub verification_uri: Option<String>,
    /// Bearer token for polling.
    pub poll_token: Option<String>,
    /// RFC 3339 UTC.
    pub expires_at: Option<String>,
    /// Seconds from now (RFC 8628 spelling).
    pub expires_in: Option<f64>,
    /// Minimum polling interval in seconds.
    pub interval: Option<f64>,
}

impl SessionCreatedReply {
    /// The user code, whichever spelling the broker used (`code` first).
    pub fn user_code(&self) -> Option<&str> {
        self.code.as_deref().or(self.user_code.as_deref())
    }

    /// The complete verification URL, whichever spelling the broker used (`url` first).
    pub fn complete_url(&self) -> Option<&str> {
        self.url.as_deref().or(self.verification_uri_complete.as_deref())
    }
}

/// The `200` answer to `GET /v1/sessions/{id}` as a client reads it: every
/// member optional, `status` in any case, intervals as any JSON number. A
/// broker answers with [`PollResponse`].
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PollReply {
    /// Session state as sent.
    pub status: Option<String>,
    /// The sealed credentials, exactly once.
    pub ciphertext: Option<String>,
    /// Envelope algorithm of `ciphertext` as sent (see [`EnvelopeKind::from_algorithm`]).
    pub algorithm: Option<String>,
    /// Minimum polling interval in seconds.
    pub interval: Option<f64>,
    /// RFC 3339 UTC.
    pub expires_at: Option<String>,
}

/// Normalize a user code as typed: drop hyphens and whitespace, upper-case.
/// Returns the 8-character canonical form, or `None` when it cannot be a code.
pub fn normalize_user_code(input: &str) -> Option<String> {
    let compact: String =
        input.chars().filter(|c| *c != '-' && !c.is_whitespace()).map(|c| c.to_ascii_uppercase()).collect();
    let valid = compact.len() == USER_CODE_LEN && compact.bytes().all(|b| USER_CODE_ALPHABET.contains(&b));
    valid.then_some(compact)
}

/// Display form `ABCD-1234` of a code (any accepted spelling).
pub fn format_user_code(input: &str) -> Option<String> {
    let c = normalize_user_code(input)?;
    Some(format!("{}-{}", &c[..4], &c[4..]))
}

/// The 32 bytes of the session id of a code (any accepted spelling):
/// `SHA-256(ascii(upper(code without hyphens)))`.
pub fn session_digest_for_code(code: &str) -> Option<[u8; 32]> {
    let c = normalize_user_code(code)?;
    Some(Sha256::digest(c.as_bytes()).into())
}

/// `session_id = lowercase hex SHA-256(ascii(upper(code without hyphens)))`.
pub fn session_id_for_code(code: &str) -> Option<String> {
    let digest = session_digest_for_code(code)?;
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    Some(out)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn code_normalization() {
        assert_eq!(normalize_user_code("abcd-1234").as_deref(), Some("ABCD1234"));
        assert_eq!(normalize_user_code(" AbCd1234 ").as_deref(), Some("ABCD1234"));
        assert_eq!(format_user_code("abcd1234").as_deref(), Some("ABCD-1234"));
        assert_eq!(normalize_user_code("ABCD-123"), None);
        assert_eq!(normalize_user_code("ABCD-12345"), None);
        assert_eq!(normalize_user_code("ABCD-12é4"), None);
        assert_eq!(normalize_user_code("ABCD_1234"), None);
    }

    #[test]
    fn session_id_matches_sha256_of_normalized_code() {
        // printf ABCD1234 | sha256sum
        let want = "1635c8525afbae58c37bede3c9440844e9143727cc7c160bed665ec378d8a262";
        assert_eq!(session_id_for_code("abcd-1234").as_deref(), Some(want));
        assert_eq!(session_id_for_code("ABCD1234").as_deref(), Some(want));
        assert_eq!(session_id_for_code("nope"), None);
    }

    #[test]
    fn create_response_has_both_spellings() {
        let r = CreateSessionResponse::new("ABCD-1234", "http://h:1", "pt_x".into(), "t".into(), 5);
        let v = serde_json::to_value(&r).unwrap();
        assert_eq!(v["code"], "ABCD-1234");
        assert_eq!(v["user_code"], "ABCD-1234");
        assert_eq!(v["url"], "http://h:1/connect/ABCD-1234");
        assert_eq!(v["verification_uri_complete"], "http://h:1/connect/ABCD-1234");
        assert_eq!(v["verification_uri"], "http://h:1/connect");
        assert_eq!(v["interval"], 5);
        // A reference-broker answer (one spelling, no interval) still parses.
        let reference: CreateSessionResponse = serde_json::from_str(
            r#"{"session_id":"x","code":"ABCD-1234","url":"u","poll_token":"pt","expires_at":"e"}"#,
        )
        .unwrap();
        assert_eq!(reference.user_code(), Some("ABCD-1234"));
        assert_eq!(reference.complete_url(), Some("u"));
        assert_eq!(reference.interval_secs(), DEFAULT_INTERVAL_SECS);
    }

    #[test]
    fn field_defaults_follow_linkauth() {
        let f: FieldSpec = serde_json::from_str(r#"{"name":"a","label":"A"}"#).unwrap();
        assert_eq!(f.kind, FieldType::Text);
        assert!(f.required);
        assert!(serde_json::from_str::<FieldSpec>(r#"{"name":"a","label":"A","type":"color"}"#).is_err());
    }

    #[test]
    fn templates_match_reference() {
        for id in TEMPLATE_IDS {
            assert!(template(id).is_some(), "{id}");
        }
        let (_, aws) = template("aws").unwrap();
        assert_eq!(aws.len(), 3);
        assert!(!aws[2].required);
        assert!(template("custom").is_none());
    }

    #[test]
    fn display_text_rules() {
        for bad in [
            "\u{202E}gpj.exe",
            "a\u{2066}b",
            "x\u{2028}y",
            "x\u{2029}",
            "a\u{0007}",
            "a\u{0085}",
            "a\u{7f}",
            "a\nb",
            "x\u{2029}",
            "\u{2028}x",
            "x\u{85}",
            " x\t",
        ] {
            assert!(normalize_sender_name(bad).is_none(), "{bad:?}");
        }
        assert_eq!(normalize_sender_name("  CI runner ").as_deref(), Some("CI runner"));
        assert_eq!(normalize_sender_name("Łódź 東京").as_deref(), Some("Łódź 東京"));
        assert!(normalize_sender_name("   ").is_none());
        assert!(normalize_sender_name(&"x".repeat(65)).is_none());
        assert!(normalize_sender_name(&"é".repeat(64)).is_some());
    }

    fn field(name: &str, label: &str) -> FieldSpec {
        FieldSpec::builtin(name, label, FieldType::Text, true)
    }

    fn fields_code(fields: &[FieldSpec]) -> &'static str {
        validate_fields(fields).map_or_else(|e| e.code(), |()| "ok")
    }

    #[test]
    fn one_field_validator_as_the_broker_answers() {
        // The cases of crates/broker/tests/conformance.rs and senders.rs.
        let many: Vec<_> = (0..=MAX_FORM_FIELDS).map(|i| field(&format!("f{i}"), "F")).collect();
        assert_eq!(fields_code(&many), "ERR_TOO_MANY_FIELDS");
        assert_eq!(fields_code(&many[..MAX_FORM_FIELDS]), "ok");
        assert_eq!(validate_fields(&many).unwrap_err().to_string(), "At most 32 fields are accepted.");
        assert_eq!(fields_code(&[field("a", "A"), field("a", "B")]), "ERR_FIELDS_INVALID");
        let select = FieldSpec { kind: FieldType::Select, ..field("a", "A") };
        assert_eq!(validate_fields(std::slice::from_ref(&select)), Err(FieldsError::SelectOptions));
        let with_options = FieldSpec { options: Some(vec!["x".into()]), ..select.clone() };
        assert_eq!(fields_code(std::slice::from_ref(&with_options)), "ok");
        let text_with_options = FieldSpec { kind: FieldType::Text, ..with_options };
        assert_eq!(validate_fields(&[text_with_options]), Err(FieldsError::OptionsWithoutSelect));
        let too_many_options = FieldSpec { options: Some(vec!["x".into(); MAX_SELECT_OPTIONS + 1]), ..select };
        assert_eq!(validate_fields(&[too_many_options]), Err(FieldsError::SelectOptions));
        assert_eq!(validate_fields(&[]), Err(FieldsError::Empty));
        // the wire's name rule: A-Z a-z 0-9 _ - ., 1-64 bytes
        for ok in ["api_key", "a-b", "a.b", "1a", &"x".repeat(MAX_FIELD_NAME)] {
            assert_eq!(fields_code(&[field(ok, "L")]), "ok", "{ok}");
        }
        for bad in ["", "a b", "a/b", "é", &"x".repeat(MAX_FIELD_NAME + 1)] {
            assert_eq!(validate_fields(&[field(bad, "L")]), Err(FieldsError::BadName), "{bad}");
        }
        assert_eq!(validate_fields(&[field("a", "  ")]), Err(FieldsError::NoLabel));
        // labels: what a person reads
        let e = validate_fields(&[field("a", "La\u{202e}bel")]).unwrap_err();
        assert_eq!(e.code(), "ERR_TEXT_INVALID");
        assert_eq!(
            e.to_string(),
            "A field label contains control characters, bidirectional overrides or isolates, or line separators."
        );
        assert_eq!(fields_code(&[field("a", "a\nb")]), "ERR_TEXT_INVALID");
        let e = validate_fields(&[field("a", &"é".repeat(MAX_FIELD_LABEL + 1))]).unwrap_err();
        assert_eq!(
            (e.code(), e.to_string().as_str()),
            ("ERR_FIELDS_INVALID", "A field label is too long (at most 200 characters).")
        );
        assert_eq!(fields_code(&[field("a", &"é".repeat(MAX_FIELD_LABEL))]), "ok");
        // every built-in template passes its own rule
        for id in TEMPLATE_IDS {
            assert_eq!(fields_code(&template(id).unwrap().1), "ok", "{id}");
        }
    }

    #[test]
    fn algorithms_name_envelope_kinds() {
        for kind in [EnvelopeKind::Linkauth, EnvelopeKind::Jwe] {
            assert_eq!(EnvelopeKind::from_algorithm(kind.algorithm()), Some(kind));
            assert_eq!(EnvelopeKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EnvelopeKind::Linkauth.algorithm(), "RSA-OAEP-256+AES-256-GCM");
        assert_eq!(EnvelopeKind::Jwe.algorithm(), "JWE");
        for other in ["", "jwe", "linkauth", "RSA-OAEP-256", "rsa-oaep-256+aes-256-gcm"] {
            assert_eq!(EnvelopeKind::from_algorithm(other), None, "{other}");
        }
        assert_eq!(FieldType::Textarea.as_str(), "textarea");
    }

    #[test]
    fn lenient_problems() {
        // both slow_down shapes
        let rfc = Problem::parse(
            r#"{"type":"urn:ietf:params:oauth:error:slow_down","title":"Slow down","status":429,"interval":10}"#,
        );
        assert!(rfc.is_slow_down());
        assert_eq!((rfc.status, rfc.interval), (429, Some(10)));
        let draft = Problem::parse(r#"{"error":"slow_down","interval":7.2}"#);
        assert!(draft.is_slow_down());
        assert_eq!(draft.interval, Some(8), "rounded up");
        assert_eq!(Problem::parse(r#"{"error":"slow_down","interval":-3}"#).interval, Some(0));
        assert!(!Problem::parse("not json").is_slow_down());
        assert_eq!(Problem::parse("[1]"), Problem::default());
        // wrong-typed members are ignored, not fatal
        let p = Problem::parse(r#"{"title":5,"status":"x","error":"slow_down","interval":"soon","detail":null}"#);
        assert!(p.is_slow_down());
        assert_eq!((p.title.as_str(), p.status, p.interval, p.detail), ("", 0, None, None));
        let p = Problem::parse(r#"{"error":"invalid_request","error_description":"bad key"}"#);
        assert_eq!(p.error_description.as_deref(), Some("bad key"));
        // declined: by title (any case), code or OAuth-style error
        assert!(Problem::parse(r#"{"type":"about:blank","title":"Request Declined","status":404}"#).is_declined());
        assert!(Problem::parse(r#"{"title":" request declined "}"#).is_declined());
        assert!(Problem::parse(r#"{"code":"ERR_REQUEST_DECLINED"}"#).is_declined());
        assert!(Problem::parse(r#"{"error":"request_declined"}"#).is_declined());
        assert!(
            !Problem::parse(r#"{"title":"Not Found","status":404,"detail":"Session not found or expired."}"#)
                .is_declined()
        );
        // a broker's own problem reads back the same
        let mine = Problem {
            kind: SLOW_DOWN_TYPE.into(),
            title: "Slow Down".into(),
            status: 429,
            error: Some("slow_down".into()),
            interval: Some(10),
            ..Problem::default()
        };
        assert_eq!(Problem::parse(&serde_json::to_string(&mine).unwrap()), mine);
    }

    #[test]
    fn lenient_replies_take_both_spellings() {
        let reference: SessionCreatedReply = serde_json::from_str(
            r#"{"session_id":"ab","code":"ABCD-1234","url":"http://x/connect/ABCD-1234","poll_token":"pt_x","expires_at":"2026-01-01T00:00:00Z","interval":5}"#,
        )
        .unwrap();
        assert_eq!(reference.user_code(), Some("ABCD-1234"));
        assert_eq!(reference.complete_url(), Some("http://x/connect/ABCD-1234"));
        assert_eq!(reference.interval, Some(5.0));
        let draft: SessionCreatedReply = serde_json::from_str(
            r#"{"session_id":"ab","user_code":"WXYZ-0000","verification_uri_complete":"u","expires_in":600,"interval":0.5}"#,
        )
        .unwrap();
        assert_eq!((draft.user_code(), draft.complete_url()), (Some("WXYZ-0000"), Some("u")));
        assert_eq!((draft.expires_in, draft.interval, draft.poll_token), (Some(600.0), Some(0.5), None));
        // both spellings at once must not be a duplicate-field error
        let both: SessionCreatedReply = serde_json::from_str(
            r#"{"session_id":"ab","code":"A","user_code":"A","url":"u","verification_uri_complete":"u","poll_token":"p"}"#,
        )
        .unwrap();
        assert_eq!(both.user_code(), Some("A"));
        // what a Sealpost broker sends reads as a reply
        let sent = CreateSessionResponse::new("ABCD-1234", "http://h:1", "pt_x".into(), "t".into(), 5);
        let read: SessionCreatedReply = serde_json::from_value(serde_json::to_value(&sent).unwrap()).unwrap();
        assert_eq!((read.user_code(), read.poll_token.as_deref()), (Some("ABCD-1234"), Some("pt_x")));
        let poll: PollReply =
            serde_json::from_str(r#"{"status":"Pending","interval":2.5,"unknown":{"x":1},"algorithm":"JWE"}"#).unwrap();
        assert_eq!((poll.status.as_deref(), poll.interval), (Some("Pending"), Some(2.5)));
        assert_eq!(poll.algorithm.as_deref().and_then(EnvelopeKind::from_algorithm), Some(EnvelopeKind::Jwe));
    }

    #[test]
    fn session_digest_is_the_session_id() {
        let raw = session_digest_for_code("abcd-1234").unwrap();
        assert_eq!(raw[0], 0x16);
        assert!(session_id_for_code("ABCD1234").unwrap().starts_with("1635c852"));
        assert_eq!(session_digest_for_code("ABCD-123"), None);
    }

    #[test]
    fn slow_down_either_spelling() {
        let draft: Problem = serde_json::from_str(r#"{"error":"slow_down","interval":10}"#).unwrap();
        assert!(draft.is_slow_down());
        assert_eq!(draft.interval, Some(10));
        let rfc: Problem = serde_json::from_str(
            r#"{"type":"urn:ietf:params:oauth:error:slow_down","title":"Slow Down","status":429}"#,
        )
        .unwrap();
        assert!(rfc.is_slow_down());
    }
}
