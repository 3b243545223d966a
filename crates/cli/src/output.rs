//! Delivering credentials: stdout (`--format json|env|raw FIELD`) or the
//! environment of a child process (`--exec -- CMD ...`). Nothing is written
//! to disk and secrets never appear in argv.

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use sealpost_core::envelope::Credentials;
use zeroize::Zeroizing;

use crate::allow::{Allowlist, check_prefix, env_names};
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
        (other, _) => {
            Err(CliError::Usage(format!("unknown --format \"{}\": use json, env or raw FIELD", sanitize(other, 40))))
        }
    }
}

pub struct Delivery {
    pub format: Format,
    /// `--exec` command and arguments (empty: write to stdout).
    pub exec: Vec<OsString>,
    pub env_prefix: String,
    /// The only field names delivered, in every format (see `allow`).
    pub allowed: Allowlist,
}

impl Delivery {
    /// Whether field names become environment variables (`--format env`, `--exec`).
    pub fn exports(&self) -> bool {
        !self.exec.is_empty() || self.format == Format::Env
    }

    /// Everything about the names that can be checked before a broker is
    /// called: `--format raw FIELD` names an allowed field, and with
    /// `--format env` / `--exec` every allowed name makes a usable variable.
    pub fn check(&self) -> Result<(), CliError> {
        if let Format::Raw(field) = &self.format {
            match field {
                Some(f) if !self.allowed.contains(f) => {
                    return Err(CliError::Usage(format!(
                        "--format raw {}: not a requested field ({})",
                        sanitize(f, 64),
                        self.allowed.joined()
                    )));
                }
                None if self.allowed.len() > 1 => {
                    return Err(CliError::Usage(format!(
                        "--format raw needs a FIELD: one of {}",
                        self.allowed.joined()
                    )));
                }
                _ => {}
            }
        }
        if self.exports() {
            self.allowed.check_env(&self.env_prefix)?;
        }
        Ok(())
    }
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
            out.push_str(
                std::str::from_utf8(&json).map_err(|_| CliError::InvalidAnswer("credentials are not UTF-8".into()))?,
            );
            out.push('\n');
        }
        Format::Env => {
            let names = env_names(prefix, creds.iter().map(|(k, _)| k)).map_err(CliError::EnvName)?;
            for ((name, _), (_, v)) in names.iter().zip(creds.iter()) {
                out.push_str("export ");
                out.push_str(name);
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
                    "the answer has no field \"{}\" (fields: {})",
                    sanitize(field.as_deref().unwrap_or(""), 64),
                    names.join(", ")
                ))
            })?;
            out.push_str(value);
        }
    }
    Ok(out)
}

/// Drop every field that was not asked for (naming the dropped ones on
/// stderr, never their values), then write to stdout or run `--exec`.
pub fn deliver(creds: &Credentials, d: &Delivery, ui: &mut Ui) -> Result<ExitCode, CliError> {
    let (creds, dropped) = d.allowed.filter(creds);
    if !dropped.is_empty() {
        ui.warn(&format!(
            "dropped {} field(s) nobody asked for: {} (only {} are delivered)",
            dropped.len(),
            dropped.join(", "),
            d.allowed.joined()
        ));
    }
    if creds.is_empty() {
        return Err(CliError::InvalidAnswer(format!(
            "the answer has none of the fields asked for ({})",
            d.allowed.joined()
        )));
    }
    for line in crate::identity::summaries(&creds, crate::timefmt::now_unix()) {
        ui.note(&line);
    }
    let missing: Vec<&str> = d.allowed.names().iter().map(String::as_str).filter(|n| creds.get(n).is_none()).collect();
    if !missing.is_empty() {
        ui.note(&format!("the answer has no value for {}", missing.join(", ")));
    }
    if d.exec.is_empty() {
        // `--format raw` without FIELD: the one field asked for, even if the answer lacks it
        let format = match (&d.format, d.allowed.names().iter().next()) {
            (Format::Raw(None), Some(only)) if d.allowed.len() == 1 => Format::Raw(Some(only.clone())),
            (f, _) => f.clone(),
        };
        let text = render(&creds, &format, &d.env_prefix)?;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
            .map_err(|e| CliError::io("cannot write the credentials to stdout", e))?;
        return Ok(ExitCode::SUCCESS);
    }
    run_exec(&creds, d, ui)
}

/// `creds` is already filtered to the allowlist.
fn run_exec(creds: &Credentials, d: &Delivery, ui: &mut Ui) -> Result<ExitCode, CliError> {
    check_prefix(&d.env_prefix)?;
    let names = env_names(&d.env_prefix, creds.iter().map(|(k, _)| k)).map_err(CliError::EnvName)?;
    let vars: Vec<(String, Zeroizing<String>)> =
        names.into_iter().zip(creds.iter()).map(|((name, _), (_, v))| (name, Zeroizing::new(v.to_string()))).collect();
    let (program, args) = match d.exec.split_first() {
        Some(p) => p,
        None => return Err(CliError::Usage("--exec needs a command".into())),
    };
    let names: Vec<&str> = vars.iter().map(|(n, _)| n.as_str()).collect();
    ui.note(&format!("running {} with {}", program.to_string_lossy(), names.join(", ")));
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    // sealpost's own settings and bearer secrets (API key, poll token, inbox
    // sender credential) are not the child's business
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("SEALPOST_") {
            cmd.env_remove(&name);
        }
    }
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
        let c = creds(&[("api_key", "it's $(rm -rf) `x`"), ("user", "bob")]);
        let out = render(&c, &Format::Env, "OPENAI_").unwrap();
        assert_eq!(out.as_str(), "export OPENAI_API_KEY='it'\\''s $(rm -rf) `x`'\nexport OPENAI_USER='bob'\n");
        // a name that would change how the shell runs is refused even here
        assert!(render(&creds(&[("path", "/tmp")]), &Format::Env, "").is_err());
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
}
