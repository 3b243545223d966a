//! Which fields of an answer sealpost delivers, and under which names.
//!
//! The answer is untrusted input: a malicious broker can seal anything to the
//! agent's public key, and so can anyone who confirms the code before the
//! person does. So no output (`--format json|env|raw`, `--exec`) carries a
//! field because the answer has it; it carries a field because the agent asked
//! for it:
//!
//! - `--field NAME...`: exactly those names (also with `--template` when
//!   sealpost does not know the template: the broker may use its own form, but
//!   only the names the agent listed are delivered);
//! - `--template NAME` for a template built into sealpost-core
//!   (`sealpost_core::protocol::template`): that template's field names;
//! - `poll`: the names saved by `request --no-wait` (or `--field`);
//!   `open`: `--field` names, the saved session's, or the one `--format raw FIELD`.
//!
//! A broker's own word on which fields a session has is not used: neither the
//! LinkAuth nor the Sealpost 201 answer states them, and the broker is one of
//! the parties this list defends against. Every allowed name must be a plain
//! identifier (`[A-Za-z_][A-Za-z0-9_]*`, at most 64 characters), and a name
//! that becomes an environment variable (`--format env`, `--exec`) must not be
//! one a loader, shell or common tool acts on ([`forbidden_env`]).

use std::collections::BTreeSet;

use sealpost_core::envelope::Credentials;

use crate::errors::{CliError, sanitize};

/// Longest field name accepted.
pub const MAX_NAME: usize = 64;

/// `[A-Za-z_][A-Za-z0-9_]*`, 1..=64 bytes.
pub fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|c| c.is_ascii_alphanumeric() || c == b'_')
        && name.len() <= MAX_NAME
}

/// Exact variable names a dynamic loader, a shell or a widely used tool reads
/// to decide what code to run, which files to trust or where to send data.
/// A credential must never arrive under one of these names.
const FORBIDDEN_EXACT: &[&str] = &[
    // where programs and libraries are found; the user's identity and files
    "PATH",
    "HOME",
    "SHELL",
    "PWD",
    "OLDPWD",
    "CDPATH",
    "FPATH",
    "TMPDIR",
    "TMP",
    "TEMP",
    // shells: startup files, prompts (run on every prompt), word splitting, options
    "ENV",
    "IFS",
    "PS0",
    "PS1",
    "PS2",
    "PS3",
    "PS4",
    "PROMPT_COMMAND",
    "PROMPT",
    "RPROMPT",
    "SHELLOPTS",
    "BASHOPTS",
    "GLOBIGNORE",
    "HISTFILE",
    "ZDOTDIR",
    "INPUTRC",
    "POSIXLY_CORRECT",
    "TMOUT",
    "_",
    // glibc: charset converters and locale files are loaded as code, tunables (CVE-2023-4911)
    "GCONV_PATH",
    "LOCPATH",
    "NLSPATH",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "RES_OPTIONS",
    // programs that other programs start on their own
    "EDITOR",
    "VISUAL",
    "PAGER",
    "MANPAGER",
    "BROWSER",
    "LESSOPEN",
    "LESSCLOSE",
    "TERMINFO",
    "CC",
    "CXX",
    "CPP",
    "LD",
    "AR",
    "AS",
    "MAKE",
    "MAKEFLAGS",
    "MFLAGS",
    "RUSTC",
    "RUSTC_WRAPPER",
    "RUSTC_WORKSPACE_WRAPPER",
    "RUSTFLAGS",
    "RUSTDOCFLAGS",
    // language runtimes: options, preload and module paths
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "CLASSPATH",
    "PERLLIB",
    "PHPRC",
    "PHP_INI_SCAN_DIR",
    "TCLLIBPATH",
    "R_PROFILE",
    "R_PROFILE_USER",
    "GOFLAGS",
    "GOENV",
    "GOPATH",
    "GOROOT",
    "GOPROXY",
    "GOTOOLCHAIN",
    "GOINSECURE",
    "GONOSUMDB",
    "GONOSUMCHECK",
    "GOPRIVATE",
    // TLS trust and secrets, proxies: where traffic goes and who can read it
    "SSLKEYLOGFILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "FTP_PROXY",
    "GNUPGHOME",
    "SUDO_ASKPASS",
    // tool configuration files that can name commands (credential_process, exec plugins)
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "KUBECONFIG",
    "DOCKER_CONFIG",
    "DOCKER_HOST",
];

/// Prefixes of whole families of such variables.
const FORBIDDEN_PREFIX: &[&str] = &[
    "LD_",         // the ELF loader: LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT
    "DYLD_",       // the macOS loader
    "BASH_",       // BASH_ENV, BASH_FUNC_*%% (exported functions), BASH_XTRACEFD, BASH_LOADABLES_PATH
    "GIT_",        // GIT_CONFIG_PARAMETERS / GIT_CONFIG_COUNT run commands, GIT_SSH, GIT_EXEC_PATH, GIT_DIR
    "SSH_",        // SSH_AUTH_SOCK, SSH_ASKPASS
    "NODE_",       // NODE_OPTIONS (--require), NODE_PATH, NODE_EXTRA_CA_CERTS, NODE_TLS_REJECT_UNAUTHORIZED
    "NPM_CONFIG_", // npm configuration, including script shells
    "PYTHON",      // PYTHONPATH, PYTHONSTARTUP, PYTHONHOME, PYTHONWARNINGS, PYTHONINSPECT
    "PERL5",       // PERL5LIB, PERL5OPT, PERL5DB
    "PERL_",       // PERL_MB_OPT, PERL_MM_OPT
    "RUBY",        // RUBYOPT, RUBYLIB
    "GEM_",        // GEM_HOME, GEM_PATH
    "BUNDLE_",     // bundler configuration (BUNDLE_GEMFILE)
    "LUA_",        // LUA_PATH, LUA_CPATH, LUA_INIT
    "DOTNET_",     // DOTNET_STARTUP_HOOKS
    "CORECLR_",    // CORECLR_PROFILER_PATH loads a library
    "COR_",        // COR_PROFILER_PATH (.NET Framework)
    "CARGO_",      // CARGO_BUILD_RUSTC_WRAPPER, CARGO_TARGET_*_RUNNER, CARGO_HOME
    "OPENSSL_",    // OPENSSL_CONF loads engines and providers
    "XDG_",        // moves every tool's config directory
    "LC_",         // locale; with LOCPATH/GCONV_PATH it picks files to load
    "MALLOC_",     // glibc malloc debugging knobs
];

/// Why `name` (an environment variable name, after `--env-prefix` and upper
/// casing) must not be set from an answer, or `None` when it may.
pub fn forbidden_env(name: &str) -> Option<&'static str> {
    if name.contains("SEALPOST_") {
        return Some("sealpost's own settings and secrets use SEALPOST_*");
    }
    if FORBIDDEN_EXACT.contains(&name) {
        return Some("a loader, shell or common tool acts on it");
    }
    if FORBIDDEN_PREFIX.iter().any(|p| name.starts_with(p)) {
        return Some("a loader, shell or common tool acts on this family of variables");
    }
    None
}

/// `api_key` with prefix `openai_` -> `OPENAI_API_KEY`.
pub fn env_name(prefix: &str, field: &str) -> String {
    format!("{prefix}{field}").to_ascii_uppercase()
}

/// `--env-prefix`: empty, or identifier characters starting with a letter or `_`.
pub fn check_prefix(prefix: &str) -> Result<(), CliError> {
    if prefix.is_empty() || (is_identifier(prefix) && prefix.len() <= 32) {
        return Ok(());
    }
    Err(CliError::UsageCode(
        "ERR_ENV_NAME",
        format!(
            "--env-prefix \"{}\": use up to 32 characters of A-Z a-z 0-9 _, not starting with a digit",
            sanitize(prefix, 40)
        ),
    ))
}

/// The variable names `names` become with `prefix`, refusing a forbidden name
/// or two fields that map to the same variable (`a` and `A`).
pub fn env_names<'a>(prefix: &str, names: impl IntoIterator<Item = &'a str>) -> Result<Vec<(String, &'a str)>, String> {
    let mut out: Vec<(String, &'a str)> = Vec::new();
    for field in names {
        if !is_identifier(field) {
            return Err(format!(
                "field \"{}\" is not a plain identifier and cannot be a variable",
                sanitize(field, MAX_NAME)
            ));
        }
        let name = env_name(prefix, field);
        if let Some(why) = forbidden_env(&name) {
            return Err(format!(
                "refusing to set {name} (field \"{}\"): {why}; choose another field name or --env-prefix",
                sanitize(field, MAX_NAME)
            ));
        }
        if let Some((_, other)) = out.iter().find(|(n, _)| *n == name) {
            return Err(format!("the fields {other:?} and {field:?} both map to the variable {name}"));
        }
        out.push((name, field));
    }
    Ok(out)
}

/// The names an agent allows, checked once (identifiers, and usable as
/// variables when they will be exported).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowlist(BTreeSet<String>);

impl Allowlist {
    /// `source` says where the names came from, for the message.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(names: I, source: &str) -> Result<Allowlist, CliError> {
        let mut set = BTreeSet::new();
        for n in names {
            let n = n.as_ref();
            if !is_identifier(n) {
                return Err(CliError::Usage(format!(
                    "{source}: field name \"{}\" is not a plain identifier ([A-Za-z_][A-Za-z0-9_]*, at most {MAX_NAME} characters)",
                    sanitize(n, MAX_NAME + 1)
                )));
            }
            set.insert(n.to_string());
        }
        if set.is_empty() {
            return Err(CliError::UsageCode("ERR_FIELDS_UNKNOWN", format!("{source}: no field names")));
        }
        Ok(Allowlist(set))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(name)
    }

    pub fn names(&self) -> &BTreeSet<String> {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `a, b, c`
    pub fn joined(&self) -> String {
        self.0.iter().cloned().collect::<Vec<_>>().join(", ")
    }

    /// With `--format env` / `--exec`: every allowed name must make a usable variable.
    pub fn check_env(&self, prefix: &str) -> Result<(), CliError> {
        check_prefix(prefix)?;
        env_names(prefix, self.0.iter().map(String::as_str))
            .map(|_| ())
            .map_err(|m| CliError::UsageCode("ERR_ENV_NAME", m))
    }

    /// Keep the allowed fields; return them and the (escaped) names of the
    /// fields that were dropped. Values of dropped fields are never looked at.
    pub fn filter(&self, creds: &Credentials) -> (Credentials, Vec<String>) {
        let mut kept = Credentials::new();
        let mut dropped = Vec::new();
        for (k, v) in creds.iter() {
            if self.0.contains(k) {
                kept.insert(k.to_string(), v.to_string());
            } else {
                dropped.push(format!("\"{}\"", sanitize(k, MAX_NAME)));
            }
        }
        (kept, dropped)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        for ok in ["a", "_", "api_key", "A1", "_x_9", &"a".repeat(64)] {
            assert!(is_identifier(ok), "{ok}");
        }
        for bad in ["", "1a", "a-b", "a.b", "a b", "é", "a\u{202e}", "PATH=x", &"a".repeat(65), "a\n"] {
            assert!(!is_identifier(bad), "{bad:?}");
        }
    }

    #[test]
    fn forbidden_names() {
        for name in [
            "PATH",
            "LD_PRELOAD",
            "LD_LIBRARY_PATH",
            "DYLD_INSERT_LIBRARIES",
            "BASH_ENV",
            "BASH_FUNC_X%%",
            "ENV",
            "PROMPT_COMMAND",
            "PS1",
            "PS4",
            "IFS",
            "SHELLOPTS",
            "BASHOPTS",
            "GIT_CONFIG_PARAMETERS",
            "GIT_SSH",
            "GIT_SSH_COMMAND",
            "SSH_ASKPASS",
            "NODE_OPTIONS",
            "NODE_EXTRA_CA_CERTS",
            "PYTHONPATH",
            "PYTHONSTARTUP",
            "PERL5OPT",
            "RUBYOPT",
            "SSLKEYLOGFILE",
            "HOME",
            "SHELL",
            "SEALPOST_API_KEY",
            "X_SEALPOST_Y",
            "GLIBC_TUNABLES",
            "GCONV_PATH",
            "JAVA_TOOL_OPTIONS",
            "HTTPS_PROXY",
        ] {
            assert!(forbidden_env(name).is_some(), "{name}");
        }
        for name in [
            "API_KEY",
            "OPENAI_API_KEY",
            "USERNAME",
            "PASSWORD",
            "AWS_ACCESS_KEY_ID",
            "GITHUB_TOKEN",
            "TOKEN",
            "GOOGLE_API_KEY",
        ] {
            assert!(forbidden_env(name).is_none(), "{name}");
        }
    }

    #[test]
    fn env_names_and_collisions() {
        assert_eq!(env_name("openai_", "api_key"), "OPENAI_API_KEY");
        assert!(env_names("", ["path"]).is_err());
        assert!(env_names("LD_", ["preload"]).is_err());
        assert!(env_names("", ["a", "A"]).is_err());
        assert_eq!(env_names("DB_", ["user"]).unwrap(), vec![("DB_USER".to_string(), "user")]);
        assert!(check_prefix("OPENAI_").is_ok());
        assert!(check_prefix("").is_ok());
        assert!(check_prefix("A-B").is_err());
        assert!(check_prefix("1X").is_err());
    }

    #[test]
    fn filter_keeps_only_allowed() {
        let allow = Allowlist::new(["api_key"], "test").unwrap();
        let mut c = Credentials::new();
        c.insert("api_key", "k");
        c.insert("PATH", "/evil");
        c.insert("a\u{202e}b", "x");
        let (kept, dropped) = allow.filter(&c);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept.get("api_key"), Some("k"));
        assert_eq!(dropped.len(), 2);
        assert!(dropped.iter().all(|d| !d.contains('\u{202e}')));
        assert!(Allowlist::new(["a-b"], "t").is_err());
        assert!(Allowlist::new(Vec::<String>::new(), "t").is_err());
    }
}
