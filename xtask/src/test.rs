//! `cargo xtask test` (everything CI runs) and `cargo xtask bench`.

use crate::build::{self, DEFAULT_OPT_LEVEL};
use crate::{Args, Result, cargo, root, run_cmd, target_dir};
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Instant, SystemTime};

const CHROMIUM: &str = "/usr/bin/chromium";
const FIREFOX: &str = "/usr/bin/firefox-esr";

/// Environment every test process gets (docs/architecture.md, "Build and test conventions").
fn test_env() -> Vec<(&'static str, OsString)> {
    let root = root();
    let debug = target_dir().join("debug");
    let xtask = std::env::current_exe().unwrap_or_else(|_| debug.join("xtask"));
    vec![
        ("SEALPOST_ROOT", root.clone().into()),
        ("SEALPOST_DIST", root.join("dist").into()),
        ("SEALPOST_BROKER_BIN", debug.join("sealpost-broker").into()),
        ("SEALPOST_CLI_BIN", debug.join("sealpost").into()),
        ("SEALPOST_XTASK_BIN", xtask.into()),
        ("CHROMIUM", CHROMIUM.into()),
        ("FIREFOX", FIREFOX.into()),
    ]
}

#[derive(PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Pass,
    Fail,
    Skip,
}

struct Steps {
    results: Vec<(String, Outcome, f64, String)>,
}

impl Steps {
    /// Runs one step and records it; returns whether it passed.
    fn run(&mut self, name: &str, f: impl FnOnce() -> Result<()>) -> bool {
        eprintln!("\n==> {name}");
        let start = Instant::now();
        let res = f();
        let secs = start.elapsed().as_secs_f64();
        let (outcome, note) = match res {
            Ok(()) => (Outcome::Pass, String::new()),
            Err(e) => {
                eprintln!("xtask: step `{name}` failed: {e}");
                (Outcome::Fail, e)
            }
        };
        self.results.push((name.to_owned(), outcome, secs, note));
        outcome == Outcome::Pass
    }
    fn skip(&mut self, name: &str, why: &str) {
        eprintln!("\n==> {name}: skipped ({why})");
        self.results.push((name.to_owned(), Outcome::Skip, 0.0, why.to_owned()));
    }
    fn summary(&self) -> Result<()> {
        println!("\n== cargo xtask test: summary ==");
        let mut counts = [0usize; 3];
        for (name, outcome, secs, note) in &self.results {
            let (tag, i) = match outcome {
                Outcome::Pass => ("PASS", 0),
                Outcome::Fail => ("FAIL", 1),
                Outcome::Skip => ("SKIP", 2),
            };
            counts[i] += 1;
            let note = if note.is_empty() { String::new() } else { format!("  ({})", first_line(note)) };
            println!("{tag}  {name:<44} {secs:>7.1}s{note}");
        }
        let [passed, failed, skipped] = counts;
        println!("{passed} passed, {failed} failed, {skipped} skipped");
        if failed + skipped == 0 { Ok(()) } else { Err(format!("{failed} step(s) failed, {skipped} skipped")) }
    }
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

pub fn cmd_test(args: &[String]) -> Result<()> {
    Args::new(args).finish()?;
    let root = root();
    let env = test_env();
    let mut steps = Steps { results: Vec::new() };

    // --- setup: install only what is missing (idempotent, quiet).
    steps.run("setup: rustup target wasm32-unknown-unknown", ensure_rust_target);
    steps.run("setup: chromium", ensure_chromium);
    steps.run("setup: firefox-esr", ensure_firefox);
    steps.run("setup: npm ci (if node_modules is stale)", ensure_node_modules);
    steps.run("setup: python requirements", ensure_python);
    steps.run("setup: rustup components rustfmt, clippy", ensure_rust_components);

    // --- style: formatting and lints gate everything else (rustfmt.toml, clippy.toml).
    steps.run("cargo fmt --all --check", || run_cmd(cargo().args(["fmt", "--all", "--check"])));
    steps.run("cargo clippy --workspace --all-targets --all-features -- -D warnings", || {
        run_cmd(cargo().args(["clippy", "--workspace", "--all-targets", "--all-features", "--", "-D", "warnings"]))
    });

    // --- build
    let bundles = steps.run("cargo xtask build (dist/seal, dist/full)", || {
        build::build(DEFAULT_OPT_LEVEL, None, &root.join("dist")).map(|_| ())
    });
    let bins =
        steps.run("cargo build --workspace --bins", || run_cmd(cargo().args(["build", "--workspace", "--bins"])));

    // --- tests (the PostgreSQL store tests need a server: a throwaway cluster of our own)
    let mut pg_cluster = None;
    steps.run("setup: PostgreSQL cluster (initdb in a temp dir)", || {
        pg_cluster = Some(crate::pg::PgCluster::start(false)?);
        Ok(())
    });
    let mut env = env;
    if let Some(c) = &pg_cluster {
        env.extend(c.env());
    }
    steps.run("cargo test --workspace --all-features --no-fail-fast", || {
        run_cmd(cargo().args(["test", "--workspace", "--all-features", "--no-fail-fast"]).envs(env.clone()))
    });
    if pg_cluster.is_some() {
        // The broker's conformance, exactly-once, callback and webhook suites again,
        // every broker on PostgreSQL (tests that read the SQLite file are skipped).
        steps.run("broker conformance, exactly-once, callbacks, webhook on PostgreSQL", || {
            run_cmd(
                cargo()
                    .args(["test", "-p", "sealpost-broker", "--no-fail-fast"])
                    .args(["--test", "conformance", "--test", "delivery", "--test", "callbacks", "--test", "webhook"])
                    .args(["--", "--skip", "crash_safety", "--skip", "no_secret_at_rest"])
                    .env("SEALPOST_TEST_BACKEND", "postgres")
                    .envs(env.clone()),
            )
        });
    } else {
        steps.skip("broker conformance, exactly-once, callbacks, webhook on PostgreSQL", "no PostgreSQL cluster");
    }
    if bundles {
        steps.run("node --test tests/node/", || node_tests(&root.join("tests/node"), false, &env));
        steps.run("pytest -q tests/python", || {
            run_cmd(python().args(["-m", "pytest", "-q", "tests/python"]).current_dir(&root).envs(env.clone()))
        });
    } else {
        steps.skip("node --test tests/node/", "bundle build failed");
        steps.skip("pytest -q tests/python", "bundle build failed");
    }
    if bundles {
        steps.run("addons-linter dist/extension/firefox", || addons_linter(&root.join("dist/extension/firefox")));
    } else {
        steps.skip("addons-linter dist/extension/firefox", "bundle build failed");
    }
    if bundles && bins {
        steps.run("node --test --test-concurrency=1 tests/e2e/", || node_tests(&root.join("tests/e2e"), true, &env));
    } else {
        steps.skip("node --test --test-concurrency=1 tests/e2e/", "build failed");
    }
    drop(pg_cluster);
    steps.summary()
}

/// `*.test.mjs` files directly in `dir`, sorted.
fn test_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(".test.mjs")))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn node_tests(dir: &Path, serial: bool, env: &[(&'static str, OsString)]) -> Result<()> {
    let files = test_files(dir);
    if files.is_empty() {
        eprintln!("xtask: no *.test.mjs in {}, nothing to run", dir.display());
        return Ok(());
    }
    let mut cmd = Command::new("node");
    cmd.arg("--test");
    if let Some(flag) = websocket_flag() {
        // Test files run in child processes that inherit these flags.
        cmd.arg(flag);
    }
    if serial {
        cmd.arg("--test-concurrency=1");
    }
    cmd.args(&files).current_dir(root()).envs(env.iter().cloned());
    run_cmd(&mut cmd)
}

/// `--experimental-websocket` when this Node has no global WebSocket without it
/// (Node 20; tests/e2e/lib/firefox.mjs speaks WebDriver BiDi over it).
fn websocket_flag() -> Option<&'static str> {
    let has = |extra: &[&str]| {
        Command::new("node")
            .args(extra)
            .args(["-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if has(&[]) {
        None
    } else if has(&["--experimental-websocket"]) {
        Some("--experimental-websocket")
    } else {
        None
    }
}

fn ensure_rust_target() -> Result<()> {
    let out =
        Command::new("rustup").args(["target", "list", "--installed"]).output().map_err(|e| format!("rustup: {e}"))?;
    if String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == build::WASM_TARGET) {
        return Ok(());
    }
    run_cmd(Command::new("rustup").args(["target", "add", build::WASM_TARGET]))
}

fn ensure_rust_components() -> Result<()> {
    let out = Command::new("rustup")
        .args(["component", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup: {e}"))?;
    let installed = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = ["rustfmt", "clippy"]
        .into_iter()
        .filter(|c| !installed.lines().any(|l| l.trim().starts_with(&format!("{c}-"))))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run_cmd(Command::new("rustup").args(["component", "add"]).args(&missing))
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// `apt-get update` then `apt-get install` of Debian packages (sudo when not root).
pub(crate) fn apt_install(packages: &[&str]) -> Result<()> {
    let apt = |args: &[&str]| {
        let mut cmd = if is_root() {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive").stdout(Stdio::null());
        run_cmd(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    let mut install = vec!["install", "-y", "-qq", "--no-install-recommends"];
    install.extend_from_slice(packages);
    apt(&install)
}

/// Debian's chromium + chromium-driver, only when /usr/bin/chromium is missing.
fn ensure_chromium() -> Result<()> {
    if Path::new(CHROMIUM).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])?;
    if Path::new(CHROMIUM).exists() { Ok(()) } else { Err(format!("{CHROMIUM} still missing")) }
}

/// Debian's firefox-esr (driven over WebDriver BiDi, no geckodriver), only when missing.
fn ensure_firefox() -> Result<()> {
    if Path::new(FIREFOX).exists() {
        return Ok(());
    }
    apt_install(&["firefox-esr"])?;
    if Path::new(FIREFOX).exists() { Ok(()) } else { Err(format!("{FIREFOX} still missing")) }
}

/// `addons-linter` (npm, offline) on the unpacked Firefox package: fails on any
/// error, prints every warning and notice.
fn addons_linter(dir: &Path) -> Result<()> {
    if !dir.join("manifest.json").exists() {
        return Err(format!("{} has no manifest.json (the build did not package the extension)", dir.display()));
    }
    let linter = root().join("node_modules/.bin/addons-linter");
    let out = Command::new(&linter)
        .args(["--output", "json", "--boring"])
        .arg(dir)
        .current_dir(root())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", linter.display()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    // The JSON report is the whole of stdout; be lenient about anything printed before it.
    let json = text.find('{').map(|i| &text[i..]).unwrap_or("");
    let report: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("addons-linter: unreadable report ({e}): {text}"))?;
    let list = |kind: &str| report[kind].as_array().cloned().unwrap_or_default();
    let (errors, warnings, notices) = (list("errors"), list("warnings"), list("notices"));
    for (kind, items) in [("error", &errors), ("warning", &warnings), ("notice", &notices)] {
        for m in items {
            let file = m["file"].as_str().unwrap_or("");
            let line = m["line"].as_u64().map(|l| format!(":{l}")).unwrap_or_default();
            let code = m["code"].as_str().unwrap_or("?");
            let msg = m["message"].as_str().unwrap_or("");
            eprintln!("addons-linter {kind}: {code} {file}{line}: {msg}");
        }
    }
    eprintln!("addons-linter: {} errors, {} warnings, {} notices", errors.len(), warnings.len(), notices.len());
    if errors.is_empty() { Ok(()) } else { Err(format!("addons-linter: {} error(s)", errors.len())) }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    fs::metadata(p).and_then(|m| m.modified()).ok()
}

/// `npm ci` when node_modules is missing or older than package-lock.json
/// (npm writes node_modules/.package-lock.json on every install).
fn ensure_node_modules() -> Result<()> {
    let root = root();
    let installed = mtime(&root.join("node_modules/.package-lock.json"));
    let lock = mtime(&root.join("package-lock.json"));
    let fresh = matches!((installed, lock), (Some(i), Some(l)) if i >= l)
        && root.join("node_modules/.bin/wasm-opt").exists()
        && root.join("node_modules/.bin/tsc").exists()
        && root.join("node_modules/.bin/addons-linter").exists();
    if fresh {
        return Ok(());
    }
    run_cmd(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&root)
            .stdout(Stdio::null()),
    )
}

fn python() -> Command {
    let venv = root().join(".venv/bin/python");
    Command::new(if venv.exists() { venv.into_os_string() } else { "python3".into() })
}

/// `pip install -r tests/python/requirements.txt` when the imports fail.
fn ensure_python() -> Result<()> {
    let ok = python()
        .args(["-c", "import cryptography, pytest"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if ok {
        return Ok(());
    }
    let req = root().join("tests/python/requirements.txt");
    let pip = |extra: &[&str]| {
        let mut cmd = python();
        cmd.args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check"]).args(extra).arg("-r").arg(&req);
        run_cmd(&mut cmd)
    };
    // Debian marks its system Python externally managed (PEP 668); fall back to a
    // user install that says so explicitly.
    pip(&[]).or_else(|_| pip(&["--user", "--break-system-packages"]))
}

/// `cargo xtask bench`: criterion benches, then every `bench/*.mjs` against dist/.
pub fn cmd_bench(args: &[String]) -> Result<()> {
    Args::new(args).finish()?;
    let root = root();
    build::build(DEFAULT_OPT_LEVEL, None, &root.join("dist"))?;
    run_cmd(cargo().args(["bench", "-p", "sealpost-core"]))?;
    // bench/extension.mjs starts the real broker.
    run_cmd(cargo().args(["build", "-p", "sealpost-broker"]))?;
    let mut scripts: Vec<PathBuf> = fs::read_dir(root.join("bench"))
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "mjs")).collect()
        })
        .unwrap_or_default();
    scripts.sort();
    if scripts.is_empty() {
        eprintln!("xtask: no bench/*.mjs yet");
    }
    for s in scripts {
        run_cmd(Command::new("node").arg(&s).current_dir(&root).envs(test_env()))?;
    }
    Ok(())
}
