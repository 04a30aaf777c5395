//! Networks in CIDR form and the host part of an address as gpufleet accepts it for a BMC
//! (`10.0.0.5`, `10.0.0.5:623`, `[fd00::5]:443`, `https://10.0.0.5:8443/`).

use std::net::IpAddr;
use std::str::FromStr;

/// An IPv4 or IPv6 network such as `10.0.8.0/24` or `fd00:8::/64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    len: u8,
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (ip, len) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("'{s}' is not a network in CIDR form such as 10.0.8.0/24"))?;
        let net: IpAddr = ip
            .parse()
            .map_err(|_| format!("'{s}': '{ip}' is not an IP address"))?;
        let max = if net.is_ipv4() { 32 } else { 128 };
        let len: u8 = len
            .parse()
            .ok()
            .filter(|l| *l <= max)
            .ok_or_else(|| format!("'{s}': the prefix length must be 0-{max}"))?;
        Ok(Cidr { net, len })
    }
}

impl Cidr {
    /// Whether `ip` lies in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match (self.net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - self.len as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - self.len as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// The IP address an address string names, or `None` when it names a host by DNS name (whose
/// answer can change) or is not an address at all. Accepts a bare IP, `ip:port`, `[v6]:port`
/// and URLs (`scheme://host[:port][/path]`); an address with a `user@` part names none.
pub fn ip_of(address: &str) -> Option<IpAddr> {
    let a = address.trim();
    let rest = a.split_once("://").map(|(_, r)| r).unwrap_or(a);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    // An address with a `user@` part is not accepted at all: parsers disagree about which
    // '@' ends it, so the host checked here might not be the host a client would contact.
    if authority.contains('@') || authority.contains('\\') {
        return None;
    }
    let host_port = authority;
    if let Ok(ip) = host_port.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(v6) = host_port.strip_prefix('[') {
        return v6.split_once(']').and_then(|(h, _)| h.parse().ok());
    }
    host_port
        .rsplit_once(':')
        .and_then(|(h, p)| p.parse::<u16>().ok().and(h.parse::<IpAddr>().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_contain_their_addresses_only() {
        let n: Cidr = "10.0.8.0/24".parse().unwrap();
        assert!(n.contains("10.0.8.200".parse().unwrap()));
        assert!(!n.contains("10.0.9.1".parse().unwrap()));
        assert!(!n.contains("fd00::1".parse().unwrap()));
        assert!(n.contains("::ffff:10.0.8.7".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("169.254.169.254".parse().unwrap()));
        let v6: Cidr = "fd00:8::/64".parse().unwrap();
        assert!(v6.contains("fd00:8::5".parse().unwrap()));
        assert!(!v6.contains("fd00:9::5".parse().unwrap()));
        for bad in ["10.0.8.0", "10.0.8.0/33", "x/8", "fd00::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn the_ip_of_every_address_form() {
        let ip = |s: &str| ip_of(s).map(|i| i.to_string());
        assert_eq!(ip("10.0.0.5").as_deref(), Some("10.0.0.5"));
        assert_eq!(ip("10.0.0.5:623").as_deref(), Some("10.0.0.5"));
        assert_eq!(
            ip("https://10.0.0.5:8443/redfish").as_deref(),
            Some("10.0.0.5")
        );
        assert_eq!(ip("https://u@10.0.0.5"), None);
        assert_eq!(ip("https://evil.example\\@10.0.8.5"), None);
        assert_eq!(ip("https://evil.example@10.0.8.5:443/"), None);
        assert_eq!(ip("[fd00::5]:443").as_deref(), Some("fd00::5"));
        assert_eq!(ip("https://[fd00::5]/").as_deref(), Some("fd00::5"));
        assert_eq!(ip("fd00::5").as_deref(), Some("fd00::5"));
        assert_eq!(ip("bmc.example.net"), None);
        assert_eq!(ip("https://bmc.example.net:443"), None);
    }
}
