//! Delivering credentials: stdout (`--format json|env|raw FIELD`) or the
//! environment of a child process (`--exec -- CMD ...`). Nothing is written
//! to disk and secrets never appear in argv.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use sealpost_core::envelope::Credentials;
use zeroize::Zeroizing;

use crate::errors::{CliError, sanitize};
use crate::signals;
use crate::ui::Ui;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    Json,
    Env,
    /// The value of one field, without a trailing newline. `None`: the only field.
    Raw(Option<String>),
}

/// Parse `--format json`, `--format env`, `--format raw [FIELD]`, `--format raw:FIELD`.
pub fn parse_format(values: &[String]) -> Result<Format, CliError> {
    let (kind, field) = match values {
        [] => return Ok(Format::Json),
        [one] => match one.split_once([':', '=']) {
            Some((k, f)) => (k, Some(f.to_string())),
            None => (one.as_str(), None),
        },
        [k, f] => (k.as_str(), Some(f.clone())),
        _ => return Err(CliError::Usage("--format takes FORMAT [FIELD]".into())),
    };
    match (kind, field) {
        ("json", None) => Ok(Format::Json),
        ("env", None) => Ok(Format::Env),
        ("raw", f) => Ok(Format::Raw(f.filter(|f| !f.is_empty()))),
        ("json" | "env", Some(_)) => Err(CliError::Usage(format!("--format {kind} takes no FIELD (only raw does)"))),
        (other, _) => Err(CliError::Usage(format!("unknown --format {:?}: use json, env or raw FIELD", sanitize(other, 40)))),
    }
}

pub struct Delivery {
    pub format: Format,
    /// `--exec` command and arguments (empty: write to stdout).
    pub exec: Vec<OsString>,
    pub env_prefix: String,
    /// Field names that were asked for; with `--exec` only these are exported.
    /// `None` when unknown (a broker-side template we do not know).
    pub expected: Option<BTreeSet<String>>,
}

/// Variables a broker or a hostile answer must never set for `--exec`'s child.
fn dangerous_env(name: &str) -> bool {
    const EXACT: &[&str] = &[
        "PATH", "HOME", "SHELL", "IFS", "ENV", "BASH_ENV", "CDPATH", "PS4", "PROMPT_COMMAND", "NODE_OPTIONS",
        "NODE_PATH", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PERL5LIB", "PERL5OPT", "PERLLIB", "RUBYOPT",
        "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "GCONV_PATH", "TMPDIR", "GIT_SSH_COMMAND", "GIT_EXEC_PATH",
        "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "EDITOR", "VISUAL",
        "PAGER",
    ];
    EXACT.contains(&name) || name.starts_with("LD_") || name.starts_with("DYLD_") || name.starts_with("BASH_FUNC_")
}

/// `api_key` -> `API_KEY`; anything outside `[A-Z0-9_]` becomes `_`.
pub fn env_name(prefix: &str, field: &str) -> String {
    let mut name: String = format!("{prefix}{field}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    if name.starts_with(|c: char| c.is_ascii_digit()) || name.is_empty() {
        name.insert(0, '_');
    }
    name
}

fn shell_quote(v: &str) -> String {
    format!("'{}'", v.replace('\'', r"'\''"))
}

/// Render `--format` output. The result is zeroized on drop.
pub fn render(creds: &Credentials, format: &Format, prefix: &str) -> Result<Zeroizing<String>, CliError> {
    let mut out = Zeroizing::new(String::new());
    match format {
        Format::Json => {
            let json = creds.to_json()?;
            out.push_str(std::str::from_utf8(&json).map_err(|_| CliError::InvalidAnswer("credentials are not UTF-8".into()))?);
            out.push('\n');
        }
        Format::Env => {
            let mut seen = BTreeSet::new();
            for (k, v) in creds.iter() {
                let name = env_name(prefix, k);
                if !seen.insert(name.clone()) {
                    return Err(CliError::EnvName(format!("two fields map to the variable {name}")));
                }
                out.push_str("export ");
                out.push_str(&name);
                out.push('=');
                out.push_str(&Zeroizing::new(shell_quote(v)));
                out.push('\n');
            }
        }
        Format::Raw(field) => {
            let names: Vec<String> = creds.iter().map(|(k, _)| sanitize(k, 64)).collect();
            let value = match field {
                Some(f) => creds.get(f),
                None if creds.len() == 1 => creds.iter().next().map(|(_, v)| v),
                None => {
                    return Err(CliError::InvalidAnswer(format!(
                        "--format raw needs a FIELD when the answer has several fields ({})",
                        names.join(", ")
                    )));
                }
            };
            let value: &str = value.ok_or_else(|| {
                CliError::InvalidAnswer(format!(
                    "the answer has no field {:?} (fields: {})",
                    sanitize(field.as_deref().unwrap_or(""), 64),
                    names.join(", ")
                ))
            })?;
            out.push_str(value);
        }
    }
    Ok(out)
}

/// Write to stdout, or run `--exec`.
pub fn deliver(creds: &Credentials, d: &Delivery, ui: &mut Ui) -> Result<ExitCode, CliError> {
    if d.exec.is_empty() {
        let text = render(creds, &d.format, &d.env_prefix)?;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::io("cannot write the credentials to stdout", e))?;
        return Ok(ExitCode::SUCCESS);
    }
    run_exec(creds, d, ui)
}

fn run_exec(creds: &Credentials, d: &Delivery, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let mut vars: Vec<(String, Zeroizing<String>)> = Vec::new();
    for (k, v) in creds.iter() {
        if let Some(expected) = &d.expected
            && !expected.contains(k)
        {
            ui.warn(&format!("ignoring field {:?}: it was not requested", sanitize(k, 64)));
            continue;
        }
        let name = env_name(&d.env_prefix, k);
        if dangerous_env(&name) {
            return Err(CliError::EnvName(format!(
                "refusing to set {name} for the command (field {:?}); use --env-prefix",
                sanitize(k, 64)
            )));
        }
        if vars.iter().any(|(n, _)| *n == name) {
            return Err(CliError::EnvName(format!("two fields map to the variable {name}")));
        }
        vars.push((name, Zeroizing::new(v.to_string())));
    }
    let (program, args) = match d.exec.split_first() {
        Some(p) => p,
        None => return Err(CliError::Usage("--exec needs a command".into())),
    };
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    ui.note(&format!("running {} with {}", program.to_string_lossy(), names.join(", ")));
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    // sealpost's own bearer secrets are not the child's business
    cmd.env_remove("SEALPOST_API_KEY").env_remove("SEALPOST_POLL_TOKEN");
    for (name, value) in &vars {
        cmd.env(name, value.as_str());
    }
    signals::set_child_running(true);
    let spawned = cmd.spawn();
    drop(cmd);
    drop(vars);
    let mut child = match spawned {
        Ok(c) => c,
        Err(source) => {
            signals::set_child_running(false);
            return Err(CliError::Exec { program: program.to_string_lossy().into_owned(), source });
        }
    };
    let status = child.wait();
    signals::set_child_running(false);
    let status = status.map_err(|e| CliError::io("waiting for the command", e))?;
    Ok(ExitCode::from(exit_status_code(&status)))
}

fn exit_status_code(status: &std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return u8::try_from((128 + sig) & 0xff).unwrap_or(1);
        }
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(pairs: &[(&str, &str)]) -> Credentials {
        let mut c = Credentials::new();
        for (k, v) in pairs {
            c.insert(k.to_string(), v.to_string());
        }
        c
    }

    #[test]
    fn formats_parse() {
        assert_eq!(parse_format(&[]).unwrap(), Format::Json);
        assert_eq!(parse_format(&["env".into()]).unwrap(), Format::Env);
        assert_eq!(parse_format(&["raw".into(), "api_key".into()]).unwrap(), Format::Raw(Some("api_key".into())));
        assert_eq!(parse_format(&["raw:api_key".into()]).unwrap(), Format::Raw(Some("api_key".into())));
        assert_eq!(parse_format(&["raw".into()]).unwrap(), Format::Raw(None));
        assert!(parse_format(&["yaml".into()]).is_err());
        assert!(parse_format(&["json".into(), "x".into()]).is_err());
    }

    #[test]
    fn env_output_is_shell_safe() {
        let c = creds(&[("api-key", "it's $(rm -rf) `x`"), ("user", "bob")]);
        let out = render(&c, &Format::Env, "OPENAI_").unwrap();
        assert_eq!(out.as_str(), "export OPENAI_API_KEY='it'\\''s $(rm -rf) `x`'\nexport OPENAI_USER='bob'\n");
    }

    #[test]
    fn raw_and_json() {
        let c = creds(&[("a", "1"), ("b", "2")]);
        assert_eq!(render(&c, &Format::Raw(Some("b".into())), "").unwrap().as_str(), "2");
        assert!(render(&c, &Format::Raw(None), "").is_err());
        assert!(render(&c, &Format::Raw(Some("zz".into())), "").is_err());
        assert_eq!(render(&creds(&[("a", "1")]), &Format::Raw(None), "").unwrap().as_str(), "1");
        assert_eq!(render(&c, &Format::Json, "").unwrap().as_str(), "{\"a\":\"1\",\"b\":\"2\"}\n");
    }

    #[test]
    fn env_names() {
        assert_eq!(env_name("", "api_key"), "API_KEY");
        assert_eq!(env_name("", "2fa"), "_2FA");
        assert_eq!(env_name("X_", "a.b"), "X_A_B");
        assert!(dangerous_env("LD_PRELOAD"));
        assert!(dangerous_env("PATH"));
        assert!(!dangerous_env("API_KEY"));
    }
}
