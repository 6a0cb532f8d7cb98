//! Who the client is: the socket peer, or — only when the peer is a configured trusted proxy —
//! the address `X-Forwarded-For` names. A client that talks to the gateway directly cannot
//! choose its recorded address (or country) by sending the header itself.

use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` is believed (`REGPILOT_TRUSTED_PROXIES`: addresses or
/// CIDR ranges, separated by commas or spaces). Empty by default: no header is believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl FromStr for TrustedProxies {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut nets = Vec::new();
        for item in s.split(|c: char| c == ',' || c.is_whitespace()).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => {
                        return Err(format!(
                            "trusted proxy '{item}' is not an IP address or CIDR range (e.g. 10.0.0.1 or 10.0.0.0/8)"
                        ))
                    }
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

impl TrustedProxies {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client's address. With a trusted peer, `X-Forwarded-For` is read from the right
    /// (the hop nearest to us) and the first address that is not itself a trusted proxy is the
    /// client; anything unparsable there stops the walk at the last trusted hop.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = canonical(peer?);
        if !self.contains(peer) {
            return Some(peer);
        }
        let mut client = peer;
        let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>();
        for hop in hops.iter().rev().flat_map(|v| v.rsplit(',')) {
            let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
            client = canonical(ip);
            if !self.contains(client) {
                break;
            }
        }
        Some(client)
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:a.b.c.d`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_ranges() {
        let t: TrustedProxies = "10.0.0.0/8, 127.0.0.1 ::1".parse().unwrap();
        assert!(t.contains(ip("10.1.2.3")) && t.contains(ip("127.0.0.1")) && t.contains(ip("::1")));
        assert!(!t.contains(ip("11.0.0.1")));
        assert!(t.contains(ip("::ffff:10.9.9.9")), "IPv4-mapped addresses are their IPv4 address");
        assert!("".parse::<TrustedProxies>().unwrap().is_empty());
        let err = "10.0.0.1, nope".parse::<TrustedProxies>().unwrap_err();
        assert!(err.contains("'nope'"), "{err}");
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let t: TrustedProxies = "10.0.0.1".parse().unwrap();
        assert_eq!(t.client_ip(Some(ip("203.0.113.9")), &headers(&["1.2.3.4"])), Some(ip("203.0.113.9")));
        let none = TrustedProxies::default();
        assert_eq!(none.client_ip(Some(ip("10.0.0.1")), &headers(&["1.2.3.4"])), Some(ip("10.0.0.1")));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_from_the_right() {
        let t: TrustedProxies = "10.0.0.0/8".parse().unwrap();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(t.client_ip(peer, &headers(&["1.2.3.4"])), Some(ip("1.2.3.4")));
        // A spoofed left part is ignored: the nearest untrusted hop is the client.
        assert_eq!(t.client_ip(peer, &headers(&["6.6.6.6, 1.2.3.4, 10.0.0.7"])), Some(ip("1.2.3.4")));
        assert_eq!(t.client_ip(peer, &headers(&["6.6.6.6", "1.2.3.4"])), Some(ip("1.2.3.4")));
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(t.client_ip(peer, &headers(&["1.2.3.4, garbage"])), Some(ip("10.0.0.1")));
        // No header: the proxy itself.
        assert_eq!(t.client_ip(peer, &HeaderMap::new()), Some(ip("10.0.0.1")));
        // Only trusted hops: the farthest one.
        assert_eq!(t.client_ip(peer, &headers(&["10.0.0.9, 10.0.0.8"])), Some(ip("10.0.0.9")));
        assert_eq!(t.client_ip(None, &headers(&["1.2.3.4"])), None);
    }
}
