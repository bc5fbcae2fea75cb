//! The guard between callbacks and the network: which URLs an endpoint may have, and which addresses a
//! callback may connect to. The check is made on the addresses actually connected to, at every attempt
//! (the HTTP client resolves names through `GuardedResolver`), so a name that later resolves elsewhere
//! (DNS rebinding) is caught too.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// An IP network in CIDR notation (`10.0.0.0/8`, `fc00::/7`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    base: IpAddr,
    prefix: u8,
}

impl std::str::FromStr for Network {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (addr, prefix) = text.trim().split_once('/').map_or((text.trim(), None), |(a, p)| (a, Some(p)));
        let base: IpAddr = addr.parse().map_err(|_| format!("`{text}` is not a network like 10.0.0.0/8"))?;
        let max = if base.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(|| format!("`{text}`: bad prefix length"))?
            }
        };
        Ok(Self { base, prefix })
    }
}

impl Network {
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.base, canonical(ip)) {
            (IpAddr::V4(base), IpAddr::V4(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u32::MAX << (32 - self.prefix) };
                u32::from(base) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(base), IpAddr::V6(ip)) => {
                let mask = if self.prefix == 0 { 0 } else { u128::MAX << (128 - self.prefix) };
                u128::from(base) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`) is the IPv4 address it carries.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// Why a callback may not connect to `ip`, or `None` when it is a public address.
pub fn forbidden_reason(ip: IpAddr) -> Option<&'static str> {
    match canonical(ip) {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_unspecified() || a == 0 => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if ip.is_private() => "a private address",
        _ if ip.is_link_local() => "a link-local address (cloud metadata lives there)",
        _ if a == 100 && (64..128).contains(&b) => "a shared (CGNAT) address",
        _ if ip.is_multicast() => "a multicast address",
        _ if ip.is_broadcast() || a >= 240 => "a reserved address",
        _ if a == 192 && b == 0 && ip.octets()[2] == 0 => "an IETF protocol address",
        _ if a == 198 && (18..20).contains(&b) => "a benchmarking address",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_unspecified() => "an unspecified address",
        _ if ip.is_loopback() => "a loopback address",
        _ if first & 0xfe00 == 0xfc00 => "a private (unique local) address",
        _ if first & 0xffc0 == 0xfe80 => "a link-local address",
        _ if first & 0xff00 == 0xff00 => "a multicast address",
        _ if first == 0x64 && ip.segments()[1] == 0xff9b => "a NAT64 address",
        _ if first == 0x2002 => "a 6to4 address",
        _ if first == 0x2001 && ip.segments()[1] == 0x0db8 => "a documentation address",
        _ => return None,
    })
}

/// The addresses callbacks may reach besides public ones, and fixed addresses for names.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub allowed: Vec<Network>,
    pub hosts: Vec<(String, IpAddr)>,
}

impl Policy {
    /// `Err` with the reason when a callback may not connect to `ip`.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        match forbidden_reason(ip) {
            Some(reason) if !self.allowed.iter().any(|n| n.contains(ip)) => {
                Err(format!("{ip} is {reason}: callbacks never go there (allow it with callbacks.allow_networks)"))
            }
            _ => Ok(()),
        }
    }
}

/// Resolves names for the callback client and keeps only the addresses the policy allows: the client then
/// connects to one of those and nothing else.
pub struct GuardedResolver {
    pub policy: Arc<Policy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().trim_end_matches('.').to_ascii_lowercase();
            let found: Vec<IpAddr> = match policy.hosts.iter().find(|(n, _)| n.eq_ignore_ascii_case(&host)) {
                Some((_, ip)) => vec![*ip],
                None => tokio::net::lookup_host((host.as_str(), 0)).await?.map(|a| a.ip()).collect(),
            };
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|ip| match policy.check(*ip) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused = Some(reason);
                        false
                    }
                })
                .map(|ip| SocketAddr::new(ip, 0))
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| format!("{host} has no address"));
                return Err(reason.into());
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> bool {
        forbidden_reason(ip.parse().unwrap()).is_some()
    }

    #[test]
    fn private_loopback_link_local_and_metadata_addresses_are_refused() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in ["1.1.1.1", "8.8.8.8", "172.32.0.1", "100.128.0.1", "192.169.0.1", "2a00:1450:4007::1"] {
            assert!(!refused(ip), "{ip} is public");
        }
    }

    #[test]
    fn allowed_networks_open_exactly_their_range() {
        let policy =
            Policy { allowed: vec!["127.0.0.0/8".parse().unwrap(), "fd00::/8".parse().unwrap()], hosts: vec![] };
        assert!(policy.check("127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("::ffff:127.0.0.1".parse().unwrap()).is_ok());
        assert!(policy.check("fd00::5".parse().unwrap()).is_ok());
        assert!(policy.check("10.0.0.1".parse().unwrap()).unwrap_err().contains("private"));
        assert!(policy.check("::1".parse().unwrap()).is_err());
    }

    #[test]
    fn networks_parse_from_cidr_notation() {
        let n: Network = "192.168.0.0/16".parse().unwrap();
        assert!(n.contains("192.168.200.3".parse().unwrap()) && !n.contains("192.169.0.1".parse().unwrap()));
        assert!("10.0.0.0/33".parse::<Network>().is_err());
        assert!("nonsense".parse::<Network>().is_err());
        let one: Network = "10.1.2.3".parse().unwrap();
        assert!(one.contains("10.1.2.3".parse().unwrap()) && !one.contains("10.1.2.4".parse().unwrap()));
    }
}
