//! Descriptor exhaustion (issue 10, item 4): the open-file limit is raised at
//! start, one client cannot hold more than its share of connections, and
//! connections that send nothing are closed after the first-byte timeout.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Broker, TempDir};

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: &str, to: &str) -> std::io::Result<TcpStream> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let to: SocketAddr = to.parse().unwrap();
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.bind(&SockAddr::from(SocketAddr::new(from.parse().unwrap(), 0)))?;
    s.connect_timeout(&SockAddr::from(to), Duration::from_secs(2))?;
    Ok(s.into())
}

fn limits_of(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap()
}

fn open_files_soft(pid: u32) -> u64 {
    let limits = limits_of(pid);
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

fn health_from(from: &str, b: &Broker) -> Option<u16> {
    let mut s = connect_from(from, &b.addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    use std::io::Write;
    s.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", b.addr).as_bytes()).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    (!raw.is_empty()).then(|| common::parse_response(&raw).status)
}

#[test]
fn the_soft_open_file_limit_is_raised_to_the_hard_limit() {
    let dir = TempDir::new("nofile-raise");
    let b = Broker::start_wrapped(&dir.0, &["prlimit", "--nofile=256:2048", "--"], &[]);
    assert_eq!(open_files_soft(b.child.id()), 2048, "{}", limits_of(b.child.id()));
}

#[test]
fn an_idle_socket_flood_from_one_address_leaves_others_served() {
    let dir = TempDir::new("nofile-flood");
    // Soft = hard = 256: the broker cannot raise it; the caps must keep it below.
    let b =
        Broker::start_wrapped(&dir.0, &["prlimit", "--nofile=256:256", "--"], &["--max-connections-per-client", "50"]);
    assert_eq!(open_files_soft(b.child.id()), 256);
    // The attack of the issue, scaled to the limit: 400 idle sockets from one address.
    let mut idle = Vec::new();
    for _ in 0..400 {
        if let Ok(s) = connect_from("127.0.0.1", &b.addr) {
            idle.push(s);
        }
    }
    assert!(idle.len() >= 300, "only {} connections opened", idle.len());
    // Another client is served at once, repeatedly, while they are held.
    let started = Instant::now();
    for i in 0..10 {
        assert_eq!(health_from("127.0.0.2", &b), Some(200), "health probe {i}");
    }
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    // Only 50 of the flood are held; the others were closed at once.
    let mut closed = 0;
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let mut buf = [0u8; 1];
        if matches!(s.read(&mut buf), Ok(0))
            || matches!(s.read(&mut buf), Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset)
        {
            closed += 1;
        }
    }
    assert!(closed >= idle.len() - 50, "{closed} of {} closed", idle.len());
    // The held ones send nothing and are closed after the first-byte timeout (3 s).
    let t = Instant::now();
    for s in &mut idle {
        s.set_read_timeout(Some(Duration::from_secs(6))).unwrap();
        let mut buf = [0u8; 1];
        let _ = s.read(&mut buf);
    }
    assert!(t.elapsed() < Duration::from_secs(5), "idle connections held for {:?}", t.elapsed());
    drop(idle);
    assert_eq!(health_from("127.0.0.1", &b), Some(200));
    let log = b.log_text();
    let lines = log.matches("per-client connection cap reached").count();
    assert!((1..=2).contains(&lines), "cap logged {lines} times: {log}");
    assert!(!log.contains("Too many open files"), "{log}");
}
