//! `sealpost-loadtest`: session creation and polling throughput of a local broker.
//!
//! Starts `sealpost-broker` on a fresh database on 127.0.0.1 (or drives one
//! already running on a loopback URL), then runs two timed phases with N
//! concurrent keep-alive clients: `POST /v1/sessions`, then
//! `GET /v1/sessions/{id}` round-robin over the sessions created. Prints
//! throughput, p50/p99/max latency, non-2xx counts and the broker's peak RSS
//! (`VmHWM` of /proc/<pid>/status). Loopback only, bounded in time.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A 2048-bit RSA public key (base64 DER SPKI) used for every session: the
/// broker validates it but never needs the private half here.
const PUBLIC_KEY: &str = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu9DK1b4AlHlybAj9cQMfQPZx+QdWfy+kJRmj8ZgTPV+bahMxaLpWo/BdDnZTna2lVc55jwYWdMmf3bZZiqBmQpdQJGA1Ung2SZsqDya+jjt8REoUAg8xy7cNciGzB/kA6q1R5N8ojEslvsxTcdax0RlZ+sej/jlskBjfNOcXmQaU5X9p1r3hgC01EYw+gqZqF/HKN3lN6j8zTYhdvTU8QA8ExArDqqeK6kl6XQzCDXTSndgEJYXYVXbgATfykO8i9tL4T3wVg997umV5/Tes5MJ7mD31VZ7m3WCl3T/5TV36GcvH1sAB6GFHUE5+hGElFYEeuExVvRVtUuuYbxj3TwIDAQAB";

#[derive(Debug, Parser)]
#[command(name = "sealpost-loadtest", about = "Load test a local sealpost-broker (loopback only)")]
struct Args {
    /// Broker binary to start (default: `sealpost-broker` next to this binary).
    #[arg(long)]
    broker_bin: Option<PathBuf>,
    /// Drive an already running broker at this loopback URL instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// PID of that broker, to report its peak RSS.
    #[arg(long)]
    pid: Option<u32>,
    /// Concurrent clients (one keep-alive connection each).
    #[arg(long, default_value_t = 64)]
    clients: usize,
    /// Seconds per phase (1-60).
    #[arg(long, default_value_t = 5)]
    seconds: u64,
    /// Database sync mode passed to the started broker.
    #[arg(long, default_value = "full")]
    db_sync: String,
    /// Extra arguments passed to the started broker.
    #[arg(last = true)]
    broker_args: Vec<String>,
}

/// One keep-alive HTTP/1.1 connection (just enough HTTP for this broker).
struct Conn {
    io: BufReader<TcpStream>,
    host: String,
}

impl Conn {
    async fn open(addr: SocketAddr) -> std::io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self { io: BufReader::new(stream), host: addr.to_string() })
    }

    async fn request(&mut self, method: &str, path: &str, extra: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Length: {}\r\n\r\n",
            self.host,
            body.len()
        );
        let stream = self.io.get_mut();
        stream.write_all(head.as_bytes()).await?;
        if !body.is_empty() {
            stream.write_all(body).await?;
        }
        let mut line = String::new();
        self.io.read_line(&mut line).await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| std::io::Error::other("bad status line"))?;
        let mut len = 0usize;
        loop {
            line.clear();
            if self.io.read_line(&mut line).await? == 0 {
                return Err(std::io::Error::other("connection closed"));
            }
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse().map_err(|_| std::io::Error::other("bad content-length"))?;
            }
        }
        let mut buf = vec![0u8; len];
        self.io.read_exact(&mut buf).await?;
        Ok((status, buf))
    }
}

#[derive(Default)]
struct PhaseResult {
    latencies_us: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    sessions: Vec<(String, String)>,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

fn report(name: &str, mut r: PhaseResult, secs: f64) {
    r.latencies_us.sort_unstable();
    let n = r.latencies_us.len();
    let ok: u64 = r.statuses.iter().filter(|(s, _)| **s < 300).map(|(_, c)| *c).sum();
    println!(
        "{name:<8} {:>9.0} req/s  ({ok} ok of {n} in {secs:.1} s)  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  statuses {:?}  io-errors {}",
        n as f64 / secs,
        percentile(&r.latencies_us, 0.50),
        percentile(&r.latencies_us, 0.99),
        percentile(&r.latencies_us, 1.0),
        r.statuses,
        r.errors,
    );
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn field<'a>(json: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    json.get(key).and_then(|v| v.as_str())
}

async fn create_phase(addr: SocketAddr, clients: usize, deadline: Instant) -> PhaseResult {
    let body = Arc::new(
        serde_json::json!({"public_key": PUBLIC_KEY, "template": "api_key", "display_name": "load test"}).to_string(),
    );
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = PhaseResult::default();
            let Ok(mut conn) = Conn::open(addr).await else {
                r.errors += 1;
                return r;
            };
            while Instant::now() < deadline {
                let t = Instant::now();
                match conn.request("POST", "/v1/sessions", "Content-Type: application/json\r\n", body.as_bytes()).await {
                    Ok((status, resp)) => {
                        r.latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                        *r.statuses.entry(status).or_default() += 1;
                        if status == 201
                            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&resp)
                            && let (Some(id), Some(tok)) = (field(&v, "session_id"), field(&v, "poll_token"))
                        {
                            r.sessions.push((id.to_owned(), tok.to_owned()));
                        }
                    }
                    Err(_) => {
                        r.errors += 1;
                        match Conn::open(addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
            }
            r
        }));
    }
    merge(tasks).await
}

async fn poll_phase(addr: SocketAddr, clients: usize, deadline: Instant, sessions: Arc<Vec<(String, String)>>) -> PhaseResult {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = PhaseResult::default();
            let Ok(mut conn) = Conn::open(addr).await else {
                r.errors += 1;
                return r;
            };
            // Client c polls sessions c, c+clients, c+2*clients, ...
            let mut i = c;
            while Instant::now() < deadline && !sessions.is_empty() {
                let (id, token) = &sessions[i % sessions.len()];
                i += clients;
                let path = format!("/v1/sessions/{id}");
                let auth = format!("Authorization: Bearer {token}\r\n");
                let t = Instant::now();
                match conn.request("GET", &path, &auth, b"").await {
                    Ok((status, _)) => {
                        r.latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
                        *r.statuses.entry(status).or_default() += 1;
                    }
                    Err(_) => {
                        r.errors += 1;
                        match Conn::open(addr).await {
                            Ok(c) => conn = c,
                            Err(_) => break,
                        }
                    }
                }
            }
            r
        }));
    }
    merge(tasks).await
}

async fn merge(tasks: Vec<tokio::task::JoinHandle<PhaseResult>>) -> PhaseResult {
    let mut all = PhaseResult::default();
    for t in tasks {
        if let Ok(r) = t.await {
            all.latencies_us.extend(r.latencies_us);
            for (s, c) in r.statuses {
                *all.statuses.entry(s).or_default() += c;
            }
            all.errors += r.errors;
            all.sessions.extend(r.sessions);
        }
    }
    all
}

fn loopback_addr(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split('/').next()?;
    let addr: SocketAddr = authority.parse().ok()?;
    addr.ip().is_loopback().then_some(addr)
}

struct Broker {
    child: tokio::process::Child,
    _dir: TempDir,
}

/// A scratch directory removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn start_broker(args: &Args) -> Result<(Broker, SocketAddr), String> {
    let bin = match &args.broker_bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()
            .map_err(|e| format!("no current exe: {e}"))?
            .with_file_name("sealpost-broker"),
    };
    let dir = std::env::temp_dir().join(format!("sealpost-loadtest-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("temp dir: {e}"))?;
    let dir = TempDir(dir);
    let mut cmd = tokio::process::Command::new(&bin);
    cmd.args(["--listen", "127.0.0.1:0", "--log", "warn", "--db-sync", &args.db_sync])
        .arg("--db")
        .arg(dir.0.join("load.db"))
        // The load run lifts the per-client creation limit (all clients share 127.0.0.1)
        // and the open-session cap. Interval 0: every poll is past its interval, so each
        // one does the full work (token check, timestamp write) and none is a cheap 429.
        .args(["--create-rate", "0", "--create-rate-api-key", "0", "--max-open-sessions", "10000000"])
        .args(["--poll-interval", "0", "--max-connections-per-client", "0"])
        .args(&args.broker_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .map_err(|_| "broker did not start in 20 s".to_owned())?
        .map_err(|e| format!("broker stdout: {e}"))?
        .ok_or("broker exited")?;
    let url = first.strip_prefix("sealpost-broker listening on ").ok_or("unexpected first line")?;
    let addr = loopback_addr(url).ok_or("broker is not on loopback")?;
    Ok((Broker { child, _dir: dir }, addr))
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> ExitCode {
    let secs = args.seconds.clamp(1, 60);
    let clients = args.clients.clamp(1, 1024);
    let (broker, addr, pid) = match &args.url {
        Some(url) => match loopback_addr(url) {
            Some(addr) => (None, addr, args.pid),
            None => {
                eprintln!("--url must be http://<loopback ip>:<port>");
                return ExitCode::FAILURE;
            }
        },
        None => match start_broker(&args).await {
            Ok((b, addr)) => {
                let pid = b.child.id();
                (Some(b), addr, pid)
            }
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        },
    };
    println!("broker http://{addr}  clients {clients}  {secs} s per phase");

    let started = Instant::now();
    let mut created = create_phase(addr, clients, Instant::now() + Duration::from_secs(secs)).await;
    let create_secs = started.elapsed().as_secs_f64();
    let sessions = Arc::new(std::mem::take(&mut created.sessions));
    report("create", created, create_secs);

    let started = Instant::now();
    let polled = poll_phase(addr, clients, Instant::now() + Duration::from_secs(secs), sessions.clone()).await;
    let poll_secs = started.elapsed().as_secs_f64();
    report("poll", polled, poll_secs);
    println!("sessions polled round-robin: {}", sessions.len());

    match pid.and_then(vm_hwm_kib) {
        Some(kib) => println!("broker peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("broker peak RSS: unknown (no pid)"),
    }
    if let Some(mut b) = broker {
        if let Some(pid) = b.child.id() {
            // SIGTERM for a graceful stop; kill_on_drop is the fallback.
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), b.child.wait()).await;
    }
    ExitCode::SUCCESS
}
