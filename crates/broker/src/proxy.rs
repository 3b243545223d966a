//! The client address behind trusted reverse proxies (`--trust-proxy`).
//!
//! Off by default: the client is the TCP peer and `X-Forwarded-For` is ignored.
//! With a list of proxy networks, a request whose TCP peer is one of them is
//! attributed to the right-most `X-Forwarded-For` address that is *not* a
//! trusted proxy. Each proxy appends the address it received the request from,
//! so that entry was written by a proxy we trust; everything to its left came
//! from the client and may be forged, and is never looked at. A peer outside
//! the list is the client, whatever headers it sends.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use axum::http::HeaderMap;
use axum::http::header::HeaderName;

/// `X-Forwarded-For`.
pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Most `X-Forwarded-For` entries examined (right to left) per request.
const MAX_HOPS: usize = 64;

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket
/// reports for an IPv4 peer) as plain IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// An IP network: an address and a prefix length (`10.0.0.0/8`, `::1/128`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

/// A `--trust-proxy` entry that is not an address or network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected an IP address or network such as 10.0.0.1, 10.0.0.0/8 or fd00::/8")]
#[non_exhaustive]
pub struct IpNetError;

impl IpNetError {
    /// The stable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        "ERR_TRUST_PROXY_INVALID"
    }
}

impl IpNet {
    /// Prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = IpNetError;

    fn from_str(s: &str) -> Result<Self, IpNetError> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.parse::<IpAddr>().map_err(|_| IpNetError)?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            // An IPv4-mapped network (`::ffff:10.0.0.0/104`) is the IPv4 one.
            Some(p) => {
                let p: u8 = p.parse().map_err(|_| IpNetError)?;
                let p = if addr.is_ipv4() && s.contains(':') { p.checked_sub(96).ok_or(IpNetError)? } else { p };
                if p > max {
                    return Err(IpNetError);
                }
                p
            }
            None => max,
        };
        Ok(Self { addr, prefix })
    }
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port
/// (`203.0.113.7:4711`, `[2001:db8::1]:443`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (v6, _) = rest.split_once(']')?;
        return v6.parse::<Ipv6Addr>().ok().map(|ip| canonical(IpAddr::V6(ip)));
    }
    let (v4, port) = entry.split_once(':')?;
    port.parse::<u16>().ok()?;
    v4.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The proxies whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Trust `nets` (empty: trust nobody, use the TCP peer).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self { nets }
    }

    /// Whether any proxy is trusted.
    pub fn is_enabled(&self) -> bool {
        !self.nets.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn trusted(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }

    /// The client address of a request from `peer` with `headers`: the peer
    /// unless it is a trusted proxy; then the right-most `X-Forwarded-For`
    /// entry that is not a trusted proxy. If every entry is trusted, the
    /// left-most one. An entry that is not an address stops the walk at the
    /// last trusted hop (a proxy that forwards garbage is misconfigured).
    pub fn client_ip(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let mut client = canonical(peer);
        if !self.trusted(client) {
            return client;
        }
        // Several header lines are one comma-separated list, in order.
        let lines: Vec<&[u8]> = headers.get_all(&X_FORWARDED_FOR).iter().map(|v| v.as_bytes()).collect();
        let entries = lines.iter().rev().flat_map(|line| line.rsplit(|b| *b == b','));
        for entry in entries.take(MAX_HOPS) {
            let Some(ip) = std::str::from_utf8(entry).ok().and_then(parse_entry) else {
                return client;
            };
            client = ip;
            if !self.trusted(ip) {
                return ip;
            }
        }
        client
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(&X_FORWARDED_FOR, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|s| s.parse().unwrap()).collect())
    }

    #[test]
    fn networks_parse_and_contain() {
        let n: IpNet = "10.0.0.0/8".parse().unwrap();
        assert!(n.contains(ip("10.255.0.1")) && !n.contains(ip("11.0.0.1")));
        assert!(n.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peers are IPv4");
        let one: IpNet = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        let v6: IpNet = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")) && !v6.contains(ip("10.0.0.1")));
        let all: IpNet = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("203.0.113.9")));
        let mapped: IpNet = "::ffff:10.0.0.0/104".parse().unwrap();
        assert_eq!(mapped, n);
        for bad in ["", "10.0.0.0/33", "::/129", "10.0.0/8", "proxy.example", "10.0.0.0/x", "::ffff:10.0.0.0/64"] {
            assert!(bad.parse::<IpNet>().is_err(), "{bad:?}");
        }
        assert_eq!(n.to_string(), "10.0.0.0/8");
    }

    #[test]
    fn entries_with_ports_and_brackets() {
        assert_eq!(parse_entry(" 203.0.113.7 "), Some(ip("203.0.113.7")));
        assert_eq!(parse_entry("203.0.113.7:4711"), Some(ip("203.0.113.7")));
        assert_eq!(parse_entry("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_entry("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_entry("2001:db8::1"), Some(ip("2001:db8::1")));
        assert_eq!(parse_entry("::ffff:192.0.2.1"), Some(ip("192.0.2.1")));
        for bad in ["", "unknown", "_hidden", "1.2.3.4:port", "1.2.3.4:99999", "[::1"] {
            assert_eq!(parse_entry(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn off_by_default_the_peer_is_the_client() {
        let none = TrustedProxies::default();
        assert!(!none.is_enabled());
        assert_eq!(none.client_ip(ip("127.0.0.1"), &xff(&["198.51.100.1"])), ip("127.0.0.1"));
        assert_eq!(none.client_ip(ip("::ffff:127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
    }

    #[test]
    fn right_most_untrusted_address() {
        let p = proxies(&["10.0.0.0/8", "127.0.0.1"]);
        // Untrusted peer: headers are ignored.
        assert_eq!(p.client_ip(ip("198.51.100.9"), &xff(&["1.1.1.1"])), ip("198.51.100.9"));
        // One proxy.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["203.0.113.5"])), ip("203.0.113.5"));
        // The client forged entries on the left: they are never reached.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["6.6.6.6, 7.7.7.7, 203.0.113.5"])), ip("203.0.113.5"));
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["garbage, 203.0.113.5"])), ip("203.0.113.5"));
        // Two trusted hops, then the client; several header lines in order.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["6.6.6.6, 203.0.113.5, 10.1.1.1"])), ip("203.0.113.5"));
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["6.6.6.6, 203.0.113.5", "10.1.1.1"])), ip("203.0.113.5"));
        // Every hop trusted: the left-most.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["10.2.2.2, 10.1.1.1"])), ip("10.2.2.2"));
        // No header: the proxy itself.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &HeaderMap::new()), ip("127.0.0.1"));
        // Garbage written where a trusted proxy should have written an address.
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["203.0.113.5, unknown"])), ip("127.0.0.1"));
        assert_eq!(p.client_ip(ip("127.0.0.1"), &xff(&["203.0.113.5, unknown, 10.1.1.1"])), ip("10.1.1.1"));
        // Ports and IPv6.
        assert_eq!(p.client_ip(ip("10.0.0.2"), &xff(&["[2001:db8::7]:5000"])), ip("2001:db8::7"));
        assert_eq!(p.client_ip(ip("::ffff:10.0.0.2"), &xff(&["203.0.113.5:1234"])), ip("203.0.113.5"));
    }

    #[test]
    fn walk_is_bounded() {
        let p = proxies(&["10.0.0.0/8"]);
        let long = vec!["10.0.0.1"; 1000].join(",");
        assert_eq!(p.client_ip(ip("10.0.0.9"), &xff(&[&long])), ip("10.0.0.1"));
    }
}
