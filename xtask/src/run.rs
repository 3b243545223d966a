//! `cargo xtask run`: build the seal bundle, start the broker, say where to go.

use crate::build::{self, DEFAULT_OPT_LEVEL};
use crate::{Args, Result, cargo, root, show};
use std::fs;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

pub const LISTEN: &str = "127.0.0.1:8080";

pub fn cmd_run(args: &[String]) -> Result<()> {
    Args::new(args).finish()?;
    let root = root();
    // Everything: the seal bundle the broker serves, the full bundle and the
    // extension packages (dist/extension/{chromium,firefox}) built on it.
    build::build(DEFAULT_OPT_LEVEL, None, &root.join("dist"))?;
    fs::create_dir_all(root.join("data")).map_err(|e| format!("create data/: {e}"))?;

    let mut cmd = cargo();
    cmd.args(["run", "-p", "sealpost-broker", "--bin", "sealpost-broker", "--"])
        .args(["--listen", LISTEN, "--db", "data/sealpost.db", "--www-dir", "www", "--bundle-dir", "dist/seal"])
        .stdout(Stdio::piped());
    eprintln!("xtask: {}", show(&cmd));
    let mut child = cmd.spawn().map_err(|e| format!("cannot start `{}`: {e}", show(&cmd)))?;
    let stdout = child.stdout.take().ok_or("broker stdout not captured")?;
    let mut lines = BufReader::new(stdout).lines();

    // The broker's first stdout line is `sealpost-broker listening on http://HOST:PORT`.
    let base = match lines.next() {
        Some(Ok(first)) => {
            println!("{first}");
            first
                .strip_prefix("sealpost-broker listening on ")
                .map(|u| u.trim().trim_end_matches('/').to_owned())
                .unwrap_or_else(|| format!("http://{LISTEN}"))
        }
        _ => {
            let status = child.wait().map_err(|e| e.to_string())?;
            return Err(format!("the broker exited before listening ({status})"));
        }
    };
    println!();
    println!("  Consent page:     {base}/connect");
    println!("  Create a session: sealpost request --broker {base} --template api_key");
    println!("                    (or: cargo run -p sealpost -- request --broker {base} --template api_key)");
    println!("  Extension:        load dist/extension/chromium (chrome://extensions, Developer mode, Load unpacked)");
    println!("                    or dist/extension/firefox/manifest.json (about:debugging, Load Temporary Add-on);");
    println!("                    its first-run page pairs with {base} without a prompt");
    println!("  Stop:             Ctrl-C");
    println!();
    for line in lines.map_while(std::result::Result::ok) {
        println!("{line}");
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() { Ok(()) } else { Err(format!("broker exited: {status}")) }
}
