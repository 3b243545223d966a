//! A throwaway PostgreSQL cluster for tests and benchmarks: Debian's
//! `postgresql` (installed when missing), `initdb` in a temporary directory,
//! a free TCP port on 127.0.0.1 plus a Unix socket in that directory, stopped
//! and removed on drop. PostgreSQL refuses to run as root: as root, the
//! directory is given to the `postgres` user and the server runs as that user.
//!
//! The server also speaks TLS (`ssl=on`) with a certificate from a throwaway CA
//! made with `openssl` (a dependency of Debian's `postgresql`, through
//! `ssl-cert`): the CA's PEM is named by `SEALPOST_TEST_PG_CA`, the server's
//! certificate holds `IP:127.0.0.1` and `DNS:pg.sealpost.test` (not
//! `localhost`, so a test can reach it under a name the certificate lacks).
//! Clients that do not ask for TLS are not affected.
//!
//! `cargo xtask with-pg [--durable] -- CMD ARGS...` runs one command with
//! `SEALPOST_TEST_PG` (and `SEALPOST_TEST_PG_CA`) set (how to run the
//! PostgreSQL tests by hand).

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::{Result, run_cmd, show};

/// Environment variable naming the test cluster (`postgres://...`).
pub const ENV: &str = "SEALPOST_TEST_PG";
/// Environment variable naming the PEM file of the test cluster's TLS CA.
pub const CA_ENV: &str = "SEALPOST_TEST_PG_CA";

/// A running cluster; stopped and deleted on drop.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Run as the `postgres` user (we are root).
    as_postgres: bool,
    /// TCP port on 127.0.0.1.
    pub port: u16,
    /// The CA that signed the server's TLS certificate (`None`: no `openssl`, no TLS).
    pub ca: Option<PathBuf>,
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
        let mut cluster = Self { dir, bin, as_postgres, port: free_port()?, ca: None };
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
        if let Some((ca, cert, key)) = cluster.make_certificates()? {
            opts.push_str(&format!(" -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}", cert.display(), key.display()));
            cluster.ca = Some(ca);
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

    /// A throwaway CA and a server certificate signed by it (P-256, valid 2 days),
    /// in the cluster's directory and readable by the server. `None` when there is
    /// no `openssl` to make them.
    fn make_certificates(&self) -> Result<Option<(PathBuf, PathBuf, PathBuf)>> {
        if Command::new("openssl").arg("version").stdout(Stdio::null()).status().is_err() {
            eprintln!("xtask: no openssl: the PostgreSQL cluster runs without TLS (the TLS tests skip)");
            return Ok(None);
        }
        let d = &self.dir;
        let (ca_key, ca, key, csr, cert, ext) = (
            d.join("ca.key"),
            d.join("ca.pem"),
            d.join("server.key"),
            d.join("server.csr"),
            d.join("server.pem"),
            d.join("server.ext"),
        );
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        run_cmd(
            Command::new("openssl")
                .args(["req", "-x509"])
                .args(ec)
                .args(["-days", "2", "-subj", "/CN=Sealpost test CA", "-keyout"])
                .arg(&ca_key)
                .arg("-out")
                .arg(&ca)
                .args(["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"])
                .stderr(Stdio::null()),
        )?;
        run_cmd(
            Command::new("openssl")
                .arg("req")
                .args(ec)
                .args(["-subj", "/CN=pg.sealpost.test", "-keyout"])
                .arg(&key)
                .arg("-out")
                .arg(&csr)
                .stderr(Stdio::null()),
        )?;
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1,DNS:pg.sealpost.test\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
        )
        .map_err(|e| format!("{}: {e}", ext.display()))?;
        run_cmd(
            Command::new("openssl")
                .args(["x509", "-req", "-days", "2", "-in"])
                .arg(&csr)
                .arg("-CA")
                .arg(&ca)
                .arg("-CAkey")
                .arg(&ca_key)
                .args(["-CAcreateserial", "-out"])
                .arg(&cert)
                .arg("-extfile")
                .arg(&ext)
                .stderr(Stdio::null()),
        )?;
        if self.as_postgres {
            run_cmd(Command::new("chown").arg("postgres:").args([&key, &cert]))?;
        }
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).map_err(|e| e.to_string())?;
        Ok(Some((ca, cert, key)))
    }

    /// The variables a test process needs: the server's URL and, with TLS, its CA.
    pub fn env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        let mut env = vec![(ENV, self.url().into())];
        if let Some(ca) = &self.ca {
            env.push((CA_ENV, ca.clone().into()));
        }
        env
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
    cmd.args(cmd_args).envs(cluster.env());
    let shown = show(&cmd);
    let status = cmd.status().map_err(|e| format!("cannot start `{shown}`: {e}"))?;
    drop(cluster);
    if status.success() { Ok(()) } else { Err(format!("`{shown}` failed ({status})")) }
}
