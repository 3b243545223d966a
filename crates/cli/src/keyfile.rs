//! `--key-file`: the agent's private key as PKCS#8 PEM, created with mode 0600.

use std::io::Write;
use std::path::Path;

use sealpost_core::keys::AgentPrivateKey;
use zeroize::Zeroizing;

use crate::errors::CliError;

/// Create (or with `force`, replace) the key file; refuses to follow an existing file otherwise.
pub fn create(path: &Path, force: bool) -> Result<std::fs::File, CliError> {
    let shown = path.display().to_string();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        opts.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let file = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            CliError::KeyFileExists(shown.clone())
        } else {
            CliError::io(format!("cannot create key file {shown}"), e)
        }
    })?;
    // An existing file opened with --force keeps its old mode: tighten it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| CliError::io(format!("cannot set mode 0600 on {shown}"), e))?;
    }
    Ok(file)
}

pub fn write(mut file: std::fs::File, path: &Path, key: &AgentPrivateKey) -> Result<(), CliError> {
    let pem = key.to_pkcs8_pem()?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| CliError::io(format!("cannot write key file {}", path.display()), e))
}

/// Read a PEM private key (PKCS#8 or PKCS#1). Warns if others can read it.
pub fn read(path: &Path, warn: &mut dyn FnMut(&str)) -> Result<AgentPrivateKey, CliError> {
    let shown = path.display();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            warn(&format!(
                "key file {shown} is readable by other users (mode {:o})",
                meta.permissions().mode() & 0o777
            ));
        }
    }
    let bytes = std::fs::read(path).map_err(|e| CliError::io(format!("cannot read key file {shown}"), e))?;
    let text = Zeroizing::new(String::from_utf8(bytes).map_err(|_| {
        CliError::io(format!("key file {shown} is not PEM text"), std::io::ErrorKind::InvalidData.into())
    })?);
    Ok(AgentPrivateKey::from_pem(&text)?)
}
