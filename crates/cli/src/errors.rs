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
        }
    }

    /// Process exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => exit::USAGE,
            CliError::Expired(_) => exit::EXPIRED,
            CliError::Declined => exit::DECLINED,
            CliError::Unreachable { .. } => exit::UNREACHABLE,
            CliError::InvalidAnswer(_)
            | CliError::Consumed
            | CliError::Envelope(_)
            | CliError::EnvName(_) => exit::INVALID_ANSWER,
            CliError::Rejected { .. } => exit::REJECTED,
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

/// Make untrusted text (broker problem details, JWT claims) safe to print:
/// control characters become `?`, and it is cut at `max` characters.
pub fn sanitize(text: &str, max: usize) -> String {
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i >= max {
            out.push('…');
            break;
        }
        out.push(if c.is_control() { '?' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_strips_controls_and_truncates() {
        assert_eq!(sanitize("a\x1b[2Jb\n", 100), "a?[2Jb?");
        assert_eq!(sanitize("abcdef", 3), "abc…");
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
