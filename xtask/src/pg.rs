//! A throwaway PostgreSQL cluster for tests and benchmarks: Debian's
//! `postgresql` (installed when missing), `initdb` in a temporary directory,
//! a free TCP port on 127.0.0.1 plus a Unix socket in that directory, stopped
//! and removed on drop. PostgreSQL refuses to run as root: as root, the
//! directory is given to the `postgres` user and the server runs as that user.
//!
//! `cargo xtask with-pg [--durable] -- CMD ARGS...` runs one command with
//! `SEALPOST_TEST_PG` set to the cluster's URL (how to run the PostgreSQL tests
//! by hand).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{Result, run_cmd, show};

/// Environment variable naming the test cluster (`postgres://...`).
pub const ENV: &str = "SEALPOST_TEST_PG";

/// A running cluster; stopped and deleted on drop.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Run as the `postgres` user (we are root).
    as_postgres: bool,
    /// TCP port on 127.0.0.1.
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// The newest `/usr/lib/postgresql/<major>/bin` holding `initdb` and `pg_ctl`.
fn find_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let major: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").exists() && bin.join("pg_ctl").exists()).then_some((major, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, b)| b)
}

/// Debian's `postgresql` server binaries, installed when missing.
pub fn ensure_postgres() -> Result<PathBuf> {
    if let Some(bin) = find_bin() {
        return Ok(bin);
    }
    eprintln!("xtask: installing Debian's postgresql (apt-get)");
    crate::test::apt_install(&["postgresql"])?;
    find_bin().ok_or_else(|| "postgresql installed but no /usr/lib/postgresql/*/bin/initdb found".to_owned())
}

fn free_port() -> Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl PgCluster {
    /// initdb and start. `durable`: keep PostgreSQL's defaults (fsync on, as
    /// a deployment would: benchmarks); otherwise fsync off (tests).
    pub fn start(durable: bool) -> Result<Self> {
        let bin = ensure_postgres()?;
        let as_postgres = is_root();
        let nanos =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("sealpost-pg-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let cluster = Self { dir, bin, as_postgres, port: free_port()? };
        if as_postgres {
            run_cmd(Command::new("chown").arg("postgres:").arg(&cluster.dir))?;
        }
        let data = cluster.dir.join("data");
        run_cmd(
            cluster
                .tool("initdb")
                .arg("-D")
                .arg(&data)
                .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"])
                .stdout(Stdio::null()),
        )?;
        let mut opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c max_connections=400 -c shared_buffers=64MB",
            cluster.port,
            cluster.dir.display()
        );
        if !durable {
            opts.push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        run_cmd(
            cluster
                .tool("pg_ctl")
                .arg("-D")
                .arg(&data)
                .args(["-w", "-t", "60", "-l"])
                .arg(cluster.dir.join("server.log"))
                .args(["-o", &opts, "start"])
                .stdout(Stdio::null()),
        )?;
        Ok(cluster)
    }

    fn tool(&self, name: &str) -> Command {
        let path = self.bin.join(name);
        if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(path);
            c
        } else {
            Command::new(path)
        }
    }

    /// URL of the `postgres` database as the `postgres` superuser (no password: trust).
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// `cargo xtask with-pg [--durable] -- CMD ARGS...`
pub fn cmd_with_pg(args: &[String]) -> Result<()> {
    let (durable, rest) = match args.first().map(String::as_str) {
        Some("--durable") => (true, &args[1..]),
        _ => (false, args),
    };
    let rest = match rest.first().map(String::as_str) {
        Some("--") => &rest[1..],
        _ => rest,
    };
    let Some((program, cmd_args)) = rest.split_first() else {
        return Err("usage: cargo xtask with-pg [--durable] -- CMD ARGS...".into());
    };
    let cluster = PgCluster::start(durable)?;
    eprintln!("xtask: PostgreSQL on {} ({ENV} set for `{program}`)", cluster.url());
    let mut cmd = Command::new(program);
    cmd.args(cmd_args).env(ENV, cluster.url());
    let shown = show(&cmd);
    let status = cmd.status().map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    drop(cluster);
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}
