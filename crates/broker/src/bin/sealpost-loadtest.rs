//! `sealpost-loadtest`: session creation and polling throughput of a local broker.
//!
//! Starts `sealpost-broker` on a fresh database on 127.0.0.1 (or drives one
//! already running on a loopback URL), then runs the phases named by
//! `--phases` in order, each with N concurrent keep-alive clients:
//!
//! - `create`: `POST /v1/sessions` for `--seconds`;
//! - `poll`: `GET /v1/sessions/{id}` round-robin over every session created so far;
//! - `mixed`: half the clients create while the other half poll, at once;
//! - `after-burst`: `--burst` creations as fast as possible (line `burst`),
//!   then polls of those sessions right away for `--seconds` (line `after-burst`);
//! - `page`: `GET /connect/{code}` (the consent page with the request's
//!   look-up written into it, brotli accepted as a browser asks) round-robin
//!   over the sessions' codes (not in the default list).
//!
//! Each phase prints one line per request kind (`mixed` prints
//! `mixed-create` and `mixed-poll`): requests/s, p50/p99/max latency, the
//! number of requests over 20 ms, status counts. Then the broker's peak RSS
//! (`VmHWM` of /proc/<pid>/status). After each phase, the broker's CPU time
//! over it and per request (from /proc/<pid>/stat). With `--timeline`, each phase also prints
//! its per-second p99 and max, to see when a stall happens. Loopback only,
//! bounded in time.
#![forbid(unsafe_code)]
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
    /// Phases to run, in order (comma separated): create, poll, mixed, after-burst, page.
    #[arg(long, value_delimiter = ',', default_value = "create,poll,mixed,after-burst")]
    phases: Vec<Phase>,
    /// Session creations in the `after-burst` phase's burst.
    #[arg(long, default_value_t = 100_000)]
    burst: usize,
    /// Print per-second p99/max for each phase.
    #[arg(long)]
    timeline: bool,
    /// Database sync mode passed to the started broker.
    #[arg(long, default_value = "full")]
    db_sync: String,
    /// Extra arguments passed to the started broker.
    #[arg(last = true)]
    broker_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Phase {
    Create,
    Poll,
    Mixed,
    AfterBurst,
    Page,
}

/// A created session: its id, poll token and user code.
#[derive(Clone)]
struct Session {
    id: String,
    token: String,
    code: String,
}

/// A request of a session (path and extra header lines): a poll or a page view.
type Ask = fn(&Session) -> (String, String);

fn poll_request(s: &Session) -> (String, String) {
    (format!("/v1/sessions/{}", s.id), format!("Authorization: Bearer {}\r\n", s.token))
}

fn page_request(s: &Session) -> (String, String) {
    (format!("/connect/{}", s.code), "Accept-Encoding: gzip, deflate, br, zstd\r\n".to_owned())
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
        // Head and body in one write (one segment, as HTTP clients send a small
        // request): two writes cost both sides a system call and a wake-up more.
        let mut req =
            format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n{extra}Content-Length: {}\r\n\r\n", self.host, body.len())
                .into_bytes();
        req.extend_from_slice(body);
        self.io.get_mut().write_all(&req).await?;
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
    /// Completion time of each request, ms since the phase started (same order as `latencies_us`).
    done_ms: Vec<u32>,
    statuses: BTreeMap<u16, u64>,
    errors: u64,
    sessions: Vec<Session>,
}

impl PhaseResult {
    fn record(&mut self, phase_start: Instant, t: Instant, status: u16) {
        self.latencies_us.push(u32::try_from(t.elapsed().as_micros()).unwrap_or(u32::MAX));
        self.done_ms.push(u32::try_from(phase_start.elapsed().as_millis()).unwrap_or(u32::MAX));
        *self.statuses.entry(status).or_default() += 1;
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[idx.min(sorted.len() - 1)]) / 1000.0
}

/// Requests slower than this are counted in the report line.
const SLOW_US: u32 = 20_000;

fn report(name: &str, r: &PhaseResult, secs: f64, timeline: bool) {
    let mut sorted = r.latencies_us.clone();
    sorted.sort_unstable();
    let n = sorted.len();
    let ok: u64 = r.statuses.iter().filter(|(s, _)| **s < 300).map(|(_, c)| *c).sum();
    let slow = sorted.iter().filter(|l| **l > SLOW_US).count();
    println!(
        "{name:<8} {:>9.0} req/s  ({ok} ok of {n} in {secs:.1} s)  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  >20ms {slow}  statuses {:?}  io-errors {}",
        n as f64 / secs,
        percentile(&sorted, 0.50),
        percentile(&sorted, 0.99),
        percentile(&sorted, 1.0),
        r.statuses,
        r.errors,
    );
    if timeline {
        let mut per_sec: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
        for (lat, done) in r.latencies_us.iter().zip(&r.done_ms) {
            per_sec.entry(done / 1000).or_default().push(*lat);
        }
        for (sec, mut lats) in per_sec {
            lats.sort_unstable();
            println!(
                "  {name} t={sec:>3}s  n {:>6}  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
                lats.len(),
                percentile(&lats, 0.50),
                percentile(&lats, 0.99),
                percentile(&lats, 1.0)
            );
        }
    }
}

fn vm_hwm_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU time (user + system) the process `pid` used so far, in seconds (`/proc/<pid>/stat`).
fn cpu_secs(pid: Option<u32>, ticks_per_s: f64) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid?)).ok()?;
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')')?.1;
    let mut it = rest.split_whitespace().skip(11);
    let utime: f64 = it.next()?.parse().ok()?;
    let stime: f64 = it.next()?.parse().ok()?;
    Some((utime + stime) / ticks_per_s)
}

/// `getconf CLK_TCK` (the unit of `/proc/<pid>/stat` times), 100 if unknown.
fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// The broker's CPU over a phase: total and per request (the figure that holds
/// on a busy machine, where latencies mostly measure the scheduler).
fn report_cpu(name: &str, before: Option<f64>, after: Option<f64>, requests: usize) {
    if let (Some(b), Some(a)) = (before, after) {
        let per = if requests == 0 { 0.0 } else { (a - b) * 1e6 / requests as f64 };
        println!("  {name} broker CPU {:.2} s, {per:.0} us per request", a - b);
    }
}

fn field<'a>(json: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    json.get(key).and_then(|v| v.as_str())
}

/// When a client stops: at `deadline`, or once `budget` (shared by all clients) is used up.
#[derive(Clone)]
struct Stop {
    deadline: Instant,
    budget: Option<Arc<AtomicUsize>>,
}

impl Stop {
    fn until(deadline: Instant) -> Self {
        Self { deadline, budget: None }
    }

    /// Whether the client may send one more request (takes one unit of the budget).
    fn go(&self) -> bool {
        if Instant::now() >= self.deadline {
            return false;
        }
        match &self.budget {
            None => true,
            Some(b) => b.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_ok(),
        }
    }
}

/// `clients` connections creating sessions until `stop`.
fn spawn_creators(
    addr: SocketAddr,
    clients: usize,
    start: Instant,
    stop: Stop,
) -> Vec<tokio::task::JoinHandle<PhaseResult>> {
    let body = Arc::new(
        serde_json::json!({"public_key": PUBLIC_KEY, "template": "api_key", "display_name": "load test"}).to_string(),
    );
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let body = body.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = PhaseResult::default();
            let Ok(mut conn) = Conn::open(addr).await else {
                r.errors += 1;
                return r;
            };
            while stop.go() {
                let t = Instant::now();
                match conn.request("POST", "/v1/sessions", "Content-Type: application/json\r\n", body.as_bytes()).await
                {
                    Ok((status, resp)) => {
                        r.record(start, t, status);
                        if status == 201
                            && let Ok(v) = serde_json::from_slice::<serde_json::Value>(&resp)
                            && let (Some(id), Some(tok), Some(code)) =
                                (field(&v, "session_id"), field(&v, "poll_token"), field(&v, "user_code"))
                        {
                            r.sessions.push(Session {
                                id: id.to_owned(),
                                token: tok.to_owned(),
                                code: code.to_owned(),
                            });
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
    tasks
}

/// `clients` connections polling `sessions` round-robin until `deadline`.
fn spawn_pollers(
    addr: SocketAddr,
    clients: usize,
    start: Instant,
    deadline: Instant,
    sessions: Arc<Vec<Session>>,
) -> Vec<tokio::task::JoinHandle<PhaseResult>> {
    spawn_askers(addr, clients, start, deadline, sessions, poll_request)
}

/// `clients` connections sending `ask` of `sessions` round-robin until `deadline`.
fn spawn_askers(
    addr: SocketAddr,
    clients: usize,
    start: Instant,
    deadline: Instant,
    sessions: Arc<Vec<Session>>,
    ask: Ask,
) -> Vec<tokio::task::JoinHandle<PhaseResult>> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let sessions = sessions.clone();
        tasks.push(tokio::spawn(async move {
            let mut r = PhaseResult::default();
            let Ok(mut conn) = Conn::open(addr).await else {
                r.errors += 1;
                return r;
            };
            // Client c asks for sessions c, c+clients, c+2*clients, ...
            let mut i = c;
            while Instant::now() < deadline && !sessions.is_empty() {
                let (path, headers) = ask(&sessions[i % sessions.len()]);
                i += clients;
                let t = Instant::now();
                match conn.request("GET", &path, &headers, b"").await {
                    Ok((status, _)) => r.record(start, t, status),
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
    tasks
}

async fn merge(tasks: Vec<tokio::task::JoinHandle<PhaseResult>>) -> PhaseResult {
    let mut all = PhaseResult::default();
    for t in tasks {
        if let Ok(r) = t.await {
            all.latencies_us.extend(r.latencies_us);
            all.done_ms.extend(r.done_ms);
            for (s, c) in r.statuses {
                *all.statuses.entry(s).or_default() += c;
            }
            all.errors += r.errors;
            all.sessions.extend(r.sessions);
        }
    }
    all
}

/// 10,000 sessions for a poll phase that has nothing to poll yet (line `seed`).
async fn seed(addr: SocketAddr, clients: usize, sessions: &mut Vec<Session>, timeline: bool) {
    let start = Instant::now();
    let stop = Stop { deadline: start + Duration::from_secs(120), budget: Some(Arc::new(AtomicUsize::new(10_000))) };
    let mut r = merge(spawn_creators(addr, clients, start, stop)).await;
    sessions.append(&mut r.sessions);
    report("seed", &r, start.elapsed().as_secs_f64(), timeline);
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
        None => std::env::current_exe().map_err(|e| format!("no current exe: {e}"))?.with_file_name("sealpost-broker"),
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
        // Page views: every look-up answered, none a 429 (one client address, few codes).
        .args(["--connect-rate", "0", "--connect-rate-client", "0"])
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

    let ticks = clock_ticks();
    let cpu = || cpu_secs(pid, ticks);
    let phase_len = Duration::from_secs(secs);
    let mut sessions: Vec<Session> = Vec::new();
    for phase in &args.phases {
        match phase {
            Phase::Create => {
                let c0 = cpu();
                let start = Instant::now();
                let mut r = merge(spawn_creators(addr, clients, start, Stop::until(start + phase_len))).await;
                sessions.append(&mut r.sessions);
                report("create", &r, start.elapsed().as_secs_f64(), args.timeline);
                report_cpu("create", c0, cpu(), r.latencies_us.len());
            }
            Phase::Poll => {
                if sessions.is_empty() {
                    seed(addr, clients, &mut sessions, args.timeline).await;
                }
                let c0 = cpu();
                let start = Instant::now();
                let r = merge(spawn_pollers(addr, clients, start, start + phase_len, Arc::new(sessions.clone()))).await;
                report("poll", &r, start.elapsed().as_secs_f64(), args.timeline);
                report_cpu("poll", c0, cpu(), r.latencies_us.len());
                println!("sessions polled round-robin: {}", sessions.len());
            }
            Phase::Mixed => {
                if sessions.is_empty() {
                    seed(addr, clients, &mut sessions, args.timeline).await;
                }
                let creators = (clients / 2).max(1);
                let pollers = clients.saturating_sub(creators).max(1);
                let c0 = cpu();
                let start = Instant::now();
                let deadline = start + phase_len;
                let c = spawn_creators(addr, creators, start, Stop::until(deadline));
                let p = spawn_pollers(addr, pollers, start, deadline, Arc::new(sessions.clone()));
                let (mut c, p) = tokio::join!(merge(c), merge(p));
                let took = start.elapsed().as_secs_f64();
                report("mixed-create", &c, took, args.timeline);
                report("mixed-poll", &p, took, args.timeline);
                report_cpu("mixed", c0, cpu(), c.latencies_us.len() + p.latencies_us.len());
                println!("mixed: {creators} creating, {pollers} polling {} sessions", sessions.len());
                sessions.append(&mut c.sessions);
            }
            Phase::AfterBurst => {
                let c0 = cpu();
                let start = Instant::now();
                let stop = Stop {
                    deadline: start + Duration::from_secs(600),
                    budget: Some(Arc::new(AtomicUsize::new(args.burst))),
                };
                let mut burst = merge(spawn_creators(addr, clients, start, stop)).await;
                report("burst", &burst, start.elapsed().as_secs_f64(), args.timeline);
                let c1 = cpu();
                report_cpu("burst", c0, c1, burst.latencies_us.len());
                // Poll right away the sessions the burst created.
                let fresh = Arc::new(std::mem::take(&mut burst.sessions));
                let start = Instant::now();
                let r = merge(spawn_pollers(addr, clients, start, start + phase_len, fresh.clone())).await;
                report("after-burst", &r, start.elapsed().as_secs_f64(), args.timeline);
                report_cpu("after-burst", c1, cpu(), r.latencies_us.len());
                println!("after-burst: polled {} sessions of the burst", fresh.len());
                sessions.extend(fresh.iter().cloned());
            }
            Phase::Page => {
                if sessions.is_empty() {
                    seed(addr, clients, &mut sessions, args.timeline).await;
                }
                let c0 = cpu();
                let start = Instant::now();
                let all = Arc::new(sessions.clone());
                let r = merge(spawn_askers(addr, clients, start, start + phase_len, all, page_request)).await;
                report("page", &r, start.elapsed().as_secs_f64(), args.timeline);
                report_cpu("page", c0, cpu(), r.latencies_us.len());
                println!("page: consent pages of {} sessions, brotli accepted", sessions.len());
            }
        }
    }

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
