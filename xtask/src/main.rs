//! `cargo xtask`: build the WASM bundles, run the stack, run every test suite.
//!
//! ```text
//! cargo xtask build [--opt-level z|s|3] [--only seal|full] [--out DIR] [--keep-names]
//! cargo xtask extension [--dist DIR]   # re-package the extension, no WASM build
//! cargo xtask www [--check]            # www/consent-page.js from www/main.js (esbuild)
//! cargo xtask run
//! cargo xtask test
//! cargo xtask bench
//! cargo xtask compare-opt          # opt-level z vs s vs 3: size and seal speed
//! ```
//!
//! Hidden helpers for the interop tests (tests/node, tests/python):
//! `interop-open` and `interop-seal` (see `interop.rs`).

mod build;
mod extension;
mod interop;
mod pg;
mod run;
mod test;
mod www;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

pub type Result<T, E = String> = std::result::Result<T, E>;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  build [--opt-level z|s|3] [--only seal|full] [--out DIR] [--keep-names]
                 build dist/seal (seal-only) and dist/full (seal + JWT) WASM bundles,
                 then package the extension (dist/extension/{chromium,firefox}/ + zips)
  extension [--dist DIR]
                 re-package the extension from extension/, www/ and an existing
                 dist/full, without building WASM (seconds instead of minutes)
  www [--check]  bundle the consent page script (www/main.js and its imports) into
                 www/consent-page.js with esbuild; --check: fail when it is stale
  run            build the seal bundle, start the broker on http://127.0.0.1:8080
  test           install what is missing, build everything, run every test suite
  bench          criterion benches and bench/*.mjs against the built bundles
  with-pg      [--durable] -- CMD...: run CMD with SEALPOST_TEST_PG set to a throwaway
               PostgreSQL cluster (PostgreSQL store tests by hand)
  compare-opt    build the seal bundle at opt-level z, s and 3; compare size and seal speed
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = match cmd.as_str() {
        "build" => build::cmd_build(rest),
        "extension" => extension::cmd_extension(rest),
        "www" => www::cmd_www(rest),
        "run" => run::cmd_run(rest),
        "test" => test::cmd_test(rest),
        "bench" => test::cmd_bench(rest),
        "compare-opt" => build::cmd_compare_opt(rest),
        "with-pg" => pg::cmd_with_pg(rest),
        "interop-open" => interop::cmd_open(rest),
        "interop-seal" => interop::cmd_seal(rest),
        "-h" | "--help" | "help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command `{other}`\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target dir: `$CARGO_TARGET_DIR` if set, else `<root>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() { dir } else { root().join(dir) }
        }
        _ => root().join("target"),
    }
}

/// The `cargo` that runs us (so `cargo +toolchain xtask` stays on that toolchain).
pub fn cargo() -> Command {
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

/// Runs a command to completion, inheriting stdio; an error names the command.
pub fn run_cmd(cmd: &mut Command) -> Result<()> {
    let shown = show(cmd);
    let status = cmd.status().map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}

/// A printable form of a command line.
pub fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

/// Minimal `--flag value` parser: returns the value of `flag` and removes it.
pub struct Args(Vec<String>);

impl Args {
    pub fn new(args: &[String]) -> Self {
        Args(args.to_vec())
    }
    pub fn value(&mut self, flag: &str) -> Result<Option<String>> {
        let Some(i) = self.0.iter().position(|a| a == flag) else {
            return Ok(None);
        };
        if i + 1 >= self.0.len() {
            return Err(format!("{flag} needs a value"));
        }
        let v = self.0.remove(i + 1);
        self.0.remove(i);
        Ok(Some(v))
    }
    pub fn required(&mut self, flag: &str) -> Result<String> {
        self.value(flag)?.ok_or_else(|| format!("missing {flag}"))
    }
    pub fn flag(&mut self, flag: &str) -> bool {
        match self.0.iter().position(|a| a == flag) {
            Some(i) => {
                self.0.remove(i);
                true
            }
            None => false,
        }
    }
    pub fn finish(self) -> Result<()> {
        match self.0.first() {
            Some(a) => Err(format!("unexpected argument `{a}`")),
            None => Ok(()),
        }
    }
}
