//! The CLI's error type, its stable `ERR_*` codes and its exit codes.
//!
//! Messages never contain secrets, tokens, ciphertext or key material: broker
//! text is sanitised and truncated before it is shown.

use sealpost_core::envelope::EnvelopeError;
use sealpost_core::keys::KeyError;

/// Exit codes, stable across releases (documented in `--help` and the README).
pub mod exit {
    /// Local failure: I/O, key file, output.
    pub const LOCAL: u8 = 1;
    /// Bad command line (clap uses 2 as well).
    pub const USAGE: u8 = 2;
    /// Nobody answered before the session expired (or the broker forgot it).
    pub const EXPIRED: u8 = 3;
    /// The person declined the request (404 `Request Declined`).
    pub const DECLINED: u8 = 4;
    /// The broker could not be reached, after retries with backoff.
    pub const UNREACHABLE: u8 = 5;
    /// The answer could not be used: malformed, decrypt failed, wrong session.
    pub const INVALID_ANSWER: u8 = 6;
    /// The broker refused the request (4xx other than expiry/decline).
    pub const REJECTED: u8 = 7;
    /// `--exec`: the command was found but could not be executed.
    pub const EXEC_NOT_EXECUTABLE: u8 = 126;
    /// `--exec`: the command was not found.
    pub const EXEC_NOT_FOUND: u8 = 127;
    /// Interrupted by Ctrl-C (SIGINT) or SIGTERM.
    pub const INTERRUPTED: u8 = 130;
}

/// Text appended to `--help`: the exit codes.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    credentials delivered (with --no-wait: session created)
  1    local error (I/O, key file, writing the output)
  2    usage error
  3    expired: nobody answered before the session expired
  4    declined: the person declined the request
  5    broker unreachable (after retries with backoff)
  6    invalid answer: malformed reply, decryption failed, wrong session
  7    the broker rejected the request (HTTP 4xx, bad API key, bad poll token)
  126  --exec: command not executable      127  --exec: command not found
  130  interrupted (Ctrl-C)
  With --exec, once the command runs, sealpost exits with the command's status.";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// The command line is inconsistent in a way clap cannot express.
    #[error("{0}")]
    Usage(String),
    /// The session expired, or the broker no longer knows it.
    #[error("the request expired before anyone answered it{0}")]
    Expired(String),
    /// The person declined the request.
    #[error("the request was declined")]
    Declined,
    /// The broker was unreachable after all retries.
    #[error("broker unreachable after {attempts} attempt(s): {detail}")]
    Unreachable { attempts: u32, detail: String },
    /// The broker answered something we cannot use.
    #[error("invalid answer from the broker: {0}")]
    InvalidAnswer(String),
    /// Somebody else already collected the answer.
    #[error("the answer was already collected by another poller (session consumed)")]
    Consumed,
    /// The broker refused the request.
    #[error("the broker rejected the request (HTTP {status}){detail}")]
    Rejected { status: u16, detail: String },
    /// The envelope could not be opened.
    #[error("cannot open the answer: {0}")]
    Envelope(#[from] EnvelopeError),
    /// A key could not be generated or read.
    #[error("key error: {0}")]
    Key(#[from] KeyError),
    /// The key file exists and `--force` was not given.
    #[error("key file {0} already exists (pass --force to overwrite it)")]
    KeyFileExists(String),
    /// Local I/O failed.
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A field name cannot become an environment variable for `--exec`.
    #[error("{0}")]
    EnvName(String),
    /// `--exec` could not start the command.
    #[error("cannot run {program}: {source}")]
    Exec {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// Ctrl-C or SIGTERM.
    #[error("interrupted")]
    Interrupted,
    /// A usage error with its own stable code (`ERR_SENDER_REQUIRED`,
    /// `ERR_FIELDS_UNKNOWN`, `ERR_TEXT_INVALID`, `ERR_ENV_NAME`); exit 2.
    #[error("{1}")]
    UsageCode(&'static str, String),
    /// The session asked for a JWE envelope and the answer is another kind.
    #[error("{0}")]
    EnvelopeDowngrade(String),
    /// The broker refused with a problem code sealpost explains (inbox senders,
    /// text checks); the code is the broker's, the hint ours.
    #[error("the broker rejected the request (HTTP {status}): {hint}{detail}")]
    BrokerCode { status: u16, code: &'static str, hint: &'static str, detail: String },
}

impl CliError {
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CliError::Io { what: what.into(), source }
    }

    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Usage(_) => "ERR_USAGE",
            CliError::Expired(_) => "ERR_SESSION_EXPIRED",
            CliError::Declined => "ERR_REQUEST_DECLINED",
            CliError::Unreachable { .. } => "ERR_BROKER_UNREACHABLE",
            CliError::InvalidAnswer(_) => "ERR_BROKER_INVALID_ANSWER",
            CliError::Consumed => "ERR_SESSION_CONSUMED",
            CliError::Rejected { .. } => "ERR_BROKER_REJECTED",
            CliError::Envelope(e) => e.code(),
            CliError::Key(e) => e.code(),
            CliError::KeyFileExists(_) => "ERR_KEY_FILE_EXISTS",
            CliError::Io { .. } => "ERR_IO",
            CliError::EnvName(_) => "ERR_ENV_NAME",
            CliError::Exec { .. } => "ERR_EXEC_FAILED",
            CliError::Interrupted => "ERR_INTERRUPTED",
            CliError::UsageCode(code, _) => code,
            CliError::EnvelopeDowngrade(_) => "ERR_ENVELOPE_DOWNGRADE",
            CliError::BrokerCode { code, .. } => code,
        }
    }

    /// Process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) | CliError::UsageCode(..) => exit::USAGE,
            CliError::Expired(_) => exit::EXPIRED,
            CliError::Declined => exit::DECLINED,
            CliError::Unreachable { .. } => exit::UNREACHABLE,
            CliError::InvalidAnswer(_)
            | CliError::Consumed
            | CliError::Envelope(_)
            | CliError::EnvName(_)
            | CliError::EnvelopeDowngrade(_) => exit::INVALID_ANSWER,
            CliError::Rejected { .. } | CliError::BrokerCode { .. } => exit::REJECTED,
            CliError::Key(_) | CliError::KeyFileExists(_) | CliError::Io { .. } => exit::LOCAL,
            CliError::Exec { source, .. } => {
                if source.kind() == std::io::ErrorKind::NotFound {
                    exit::EXEC_NOT_FOUND
                } else {
                    exit::EXEC_NOT_EXECUTABLE
                }
            }
            CliError::Interrupted => exit::INTERRUPTED,
        }
    }
}

/// Characters never written raw to the terminal: C0 and C1 controls and DEL
/// (escape sequences, carriage returns, line feeds), the bidirectional
/// embeddings, overrides and isolates U+202A..U+202E and U+2066..U+2069 (they
/// reorder what follows, so `exe.txt` can read as `txt.exe`), the line and
/// paragraph separators U+2028/U+2029, and the invisible marks and joiners
/// U+061C, U+200B..U+200F and U+FEFF (they hide or reorder text too).
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
        || matches!(c, '\u{061c}' | '\u{200b}'..='\u{200f}' | '\u{feff}')
}

fn escape_into(out: &mut String, text: &str, max: usize, keep_newlines: bool) {
    for (i, c) in text.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        if keep_newlines && c == '\n' {
            out.push(c);
        } else if is_unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

/// THE function for any text that did not come from sealpost itself (broker
/// problem titles and details, session codes and URLs, field names, JWT
/// claims, names and reasons): every [`is_unsafe_char`] is shown escaped as
/// `\u{202e}`, and the text is cut at `max` characters. Use it wherever such
/// text is formatted into a message; the terminal never receives it raw.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::new();
    escape_into(&mut out, text, max, false);
    out
}

/// The last guard before stderr: the same escaping as [`sanitize`] (no cut),
/// keeping only `\n` so multi-line messages stay readable. `Ui` and the error
/// report pass every message through it, so a remote string that slipped past
/// its call site is still escaped.
pub fn terminal_safe(text: &str) -> String {
    let mut out = String::new();
    escape_into(&mut out, text, usize::MAX, true);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_controls_and_truncates() {
        assert_eq!(sanitize("a\x1b[2Jb\n", 100), "a\\u{1b}[2Jb\\u{a}");
        assert_eq!(sanitize("abcdef", 3), "abc…");
        // bidi overrides and isolates, line separators, C1, invisible marks
        assert_eq!(
            sanitize("a\u{202e}b\u{2066}c\u{2028}d\u{85}e\u{200f}", 100),
            "a\\u{202e}b\\u{2066}c\\u{2028}d\\u{85}e\\u{200f}"
        );
        for c in
            ('\u{202a}'..='\u{202e}').chain('\u{2066}'..='\u{2069}').chain(['\u{2028}', '\u{2029}', '\u{7f}', '\u{9b}'])
        {
            assert!(!sanitize(&c.to_string(), 10).contains(c), "{c:?}");
        }
        assert_eq!(sanitize("café ✓", 100), "café ✓");
        assert_eq!(terminal_safe("one\u{202e}\ntwo\r"), "one\\u{202e}\ntwo\\u{d}");
    }

    #[test]
    fn exit_codes_are_distinct() {
        let codes = [
            CliError::Expired(String::new()).exit_code(),
            CliError::Declined.exit_code(),
            CliError::Unreachable { attempts: 1, detail: String::new() }.exit_code(),
            CliError::InvalidAnswer(String::new()).exit_code(),
            CliError::Rejected { status: 400, detail: String::new() }.exit_code(),
            CliError::Interrupted.exit_code(),
            CliError::Usage(String::new()).exit_code(),
        ];
        let mut sorted = codes.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), codes.len());
        assert_eq!(codes, [3, 4, 5, 6, 7, 130, 2]);
    }
}
