//! Connection caps: the open file descriptor limit, a total and a per-client
//! cap on open connections, so that one client cannot take every descriptor
//! (and with it the database and everyone else's requests).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Instant;

/// Descriptors kept free of connections: the database, its WAL and shared
/// memory, the listener, logs, and headroom for the runtime.
pub const FD_RESERVE: u64 = 64;

/// Raise the soft `RLIMIT_NOFILE` to the hard limit; returns `(soft, hard)` as
/// they are afterwards (`None`: unlimited). Errors leave the limit unchanged.
pub fn raise_nofile_limit() -> std::io::Result<(Option<u64>, Option<u64>)> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current != lim.maximum {
        lim.current = lim.maximum;
        setrlimit(Resource::Nofile, lim).map_err(std::io::Error::from)?;
    }
    let now = getrlimit(Resource::Nofile);
    Ok((now.current, now.maximum))
}

/// Current soft `RLIMIT_NOFILE` (`None`: unlimited).
pub fn nofile_soft_limit() -> Option<u64> {
    rustix::process::getrlimit(rustix::process::Resource::Nofile).current
}

/// The total connection cap: `configured`, or (0) the soft descriptor limit
/// less [`FD_RESERVE`]; never above that either way.
pub fn total_cap(configured: usize, soft_limit: Option<u64>) -> usize {
    let room =
        soft_limit.map_or(usize::MAX, |l| usize::try_from(l.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX));
    let room = room.min(1_000_000);
    if configured == 0 { room } else { configured.min(room) }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The broker holds the total cap.
    Total,
    /// This client holds its cap.
    PerClient,
}

/// Open connections, total and per client address.
pub struct ConnTracker {
    total_cap: usize,
    per_client_cap: usize,
    total: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    refused: AtomicU64,
    last_log: Mutex<Option<Instant>>,
}

/// One open connection; released on drop.
pub struct ConnGuard {
    tracker: Arc<ConnTracker>,
    client: Option<IpAddr>,
}

impl ConnTracker {
    /// Caps: `total_cap` overall, `per_client_cap` per client (0 = no per-client cap).
    pub fn new(total_cap: usize, per_client_cap: usize) -> Arc<Self> {
        Arc::new(Self {
            total_cap,
            per_client_cap,
            total: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            refused: AtomicU64::new(0),
            last_log: Mutex::new(None),
        })
    }

    /// The total cap.
    pub fn total_cap(&self) -> usize {
        self.total_cap
    }

    /// Open connections.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    /// Count a new connection from `client` (`None`: a trusted proxy, exempt
    /// from the per-client cap), or refuse it.
    pub fn acquire(self: &Arc<Self>, client: Option<IpAddr>) -> Result<ConnGuard, Refused> {
        if self.total.fetch_add(1, Ordering::AcqRel) >= self.total_cap {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Refused::Total);
        }
        if let Some(ip) = client.filter(|_| self.per_client_cap > 0) {
            let Ok(mut map) = self.per_client.lock() else {
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::PerClient);
            };
            let n = map.entry(ip).or_insert(0);
            if *n >= self.per_client_cap {
                drop(map);
                self.total.fetch_sub(1, Ordering::AcqRel);
                return Err(Refused::PerClient);
            }
            *n += 1;
            return Ok(ConnGuard { tracker: self.clone(), client: Some(ip) });
        }
        Ok(ConnGuard { tracker: self.clone(), client: None })
    }

    /// Note a refusal; logs at most once per 10 s burst, with the count.
    pub fn note_refused(&self, why: Refused) {
        let n = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        let Ok(mut last) = self.last_log.lock() else { return };
        if last.is_some_and(|t| t.elapsed().as_secs() < 10) {
            return;
        }
        *last = Some(Instant::now());
        let refused_total = n;
        match why {
            Refused::Total => tracing::warn!(
                cap = self.total_cap,
                refused_total,
                "connection cap reached: new connections are closed at once (logged once per 10 s)"
            ),
            Refused::PerClient => tracing::warn!(
                cap = self.per_client_cap,
                refused_total,
                "per-client connection cap reached: that client's new connections are closed at once (logged once per 10 s)"
            ),
        }
    }
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.tracker.total.fetch_sub(1, Ordering::AcqRel);
        if let Some(ip) = self.client
            && let Ok(mut map) = self.tracker.per_client.lock()
            && let Some(n) = map.get_mut(&ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&ip);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn caps_hold_and_release() {
        let t = ConnTracker::new(3, 2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        let g1 = t.acquire(Some(a)).unwrap();
        let _g2 = t.acquire(Some(a)).unwrap();
        assert_eq!(t.acquire(Some(a)).err(), Some(Refused::PerClient));
        let _g3 = t.acquire(Some(b)).unwrap();
        assert_eq!(t.acquire(None).err(), Some(Refused::Total));
        drop(g1);
        assert_eq!(t.open(), 2);
        let _g4 = t.acquire(Some(a)).unwrap();
        assert_eq!(t.open(), 3);
    }

    #[test]
    fn total_cap_stays_below_the_descriptor_limit() {
        assert_eq!(total_cap(0, Some(1024)), 960);
        assert_eq!(total_cap(5000, Some(1024)), 960);
        assert_eq!(total_cap(100, Some(1024)), 100);
        assert_eq!(total_cap(0, Some(10)), 1);
    }
}
