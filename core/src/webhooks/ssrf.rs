//! Server-side request forgery guard: a webhook may only reach public addresses. The check runs
//! when a delivery is sent, on the addresses the name resolves to then, and the connection
//! uses exactly those addresses (the HTTP client's resolver is [`GuardedResolver`]), so a name
//! that resolves to a public address when saved and a private one later is still refused.
//! Operators may allow private networks (`webhooks.allow_private`, CIDR blocks), as the test
//! suite does for its loopback receiver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// An allowed network: an address and a prefix length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `127.0.0.1` (a single address), `::1/128` …
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a.parse::<IpAddr>().ok()?, p.parse::<u8>().ok()?),
            None => {
                let a = s.parse::<IpAddr>().ok()?;
                (a, if a.is_ipv4() { 32 } else { 128 })
            }
        };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Cidr { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// Whether an address is one a webhook must not reach: loopback, private, shared, link-local
/// (which holds the cloud metadata address 169.254.169.254), multicast, broadcast,
/// unspecified, documentation, unique-local and IPv4-mapped forms of those.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])) // shared address space
                || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
                || o[0] >= 240 // reserved
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let seg = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (seg[0] & 0xfe00) == 0xfc00 // unique local
                || (seg[0] & 0xffc0) == 0xfe80 // link-local
                || (seg[0] == 0x2001 && seg[1] == 0x0db8) // documentation
        }
    }
}

/// The allowed private networks and the check against them.
#[derive(Debug, Clone, Default)]
pub struct Guard {
    allow: Arc<Vec<Cidr>>,
}

impl Guard {
    pub fn new(allow: &[String]) -> Result<Guard, String> {
        let allow = allow
            .iter()
            .map(|s| Cidr::parse(s).ok_or_else(|| format!("`{s}` is not an address or CIDR block")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Guard {
            allow: Arc::new(allow),
        })
    }

    /// `Err` naming the address when a webhook may not reach it.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        if is_internal(ip) && !self.allow.iter().any(|c| c.contains(ip)) {
            return Err(format!(
                "{ip} is an internal address (loopback, private, link-local …); webhooks reach public addresses only"
            ));
        }
        Ok(())
    }
}

/// A DNS resolver for the webhook client that refuses names resolving to internal addresses.
pub struct GuardedResolver {
    pub guard: Guard,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.guard.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(format!("{host} does not resolve").into());
            }
            for a in &addrs {
                guard
                    .check(a.ip())
                    .map_err(|e| -> Box<dyn std::error::Error + Send + Sync> {
                        format!("{host}: {e}").into()
                    })?;
            }
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "224.0.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(is_internal(ip(s)), "{s}");
        }
        for s in ["93.184.216.34", "2606:4700:4700::1111", "8.8.8.8"] {
            assert!(!is_internal(ip(s)), "{s}");
        }
        let guard = Guard::new(&["127.0.0.0/8".into()]).unwrap_or_default();
        assert!(guard.check(ip("127.0.0.1")).is_ok());
        assert!(guard.check(ip("10.0.0.1")).is_err());
        assert!(Guard::new(&["nonsense".into()]).is_err());
    }
}
