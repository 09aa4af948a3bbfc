//! The client's address behind trusted reverse proxies, which key the per-address rate
//! limits of sign-in and of application submissions.
//!
//! A proxy appends the address it received the request from to `X-Forwarded-For`, so the
//! header reads left to right from the first hop to the last proxy. Only entries that
//! trusted proxies appended can be believed: everything to the left of the rightmost
//! untrusted entry came from the client and may be forged.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use axum::http::HeaderMap;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Name of the header that proxies append the client's address to.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// A reverse proxy, or a block of them, whose `X-Forwarded-For` entries are believed:
/// written as an IP address (`127.0.0.1`, `::1`) or a CIDR block (`10.0.0.0/8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TrustedProxy(IpNet);

impl TrustedProxy {
    /// Returns whether `address` is this proxy or inside this block.
    pub fn contains(&self, address: IpAddr) -> bool {
        self.0.contains(&address.to_canonical())
    }
}

impl FromStr for TrustedProxy {
    type Err = InvalidTrustedProxy;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if let Ok(net) = text.parse::<IpNet>() {
            return Ok(Self(net.trunc()));
        }
        match text.parse::<IpAddr>() {
            Ok(address) => Ok(Self(IpNet::from(address.to_canonical()))),
            Err(_) => Err(InvalidTrustedProxy(text.to_owned())),
        }
    }
}

impl TryFrom<String> for TrustedProxy {
    type Error = InvalidTrustedProxy;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<TrustedProxy> for String {
    fn from(proxy: TrustedProxy) -> Self {
        proxy.to_string()
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let single = self.0.prefix_len() == self.0.max_prefix_len();
        if single {
            write!(f, "{}", self.0.addr())
        } else {
            write!(f, "{}", self.0)
        }
    }
}

/// A trusted proxy that is neither an IP address nor a CIDR block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid trusted proxy {0:?}: expected an IP address such as 127.0.0.1 or a CIDR block such as 10.0.0.0/8")]
pub struct InvalidTrustedProxy(pub String);

/// Returns the address a request's rate limits count against.
///
/// That is the TCP peer, unless the peer is a trusted proxy: then it is the rightmost
/// `X-Forwarded-For` entry that is not a trusted proxy. When every entry is trusted, it is
/// the leftmost. An entry that is not an IP address ends the walk and the last address read
/// counts, because nothing left of a malformed entry can be trusted.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[TrustedProxy]) -> IpAddr {
    let is_trusted = |address: IpAddr| trusted.iter().any(|proxy| proxy.contains(address));
    let mut client = peer.to_canonical();
    if !is_trusted(client) {
        return client;
    }
    let entries: Vec<&str> = headers
        .get_all(FORWARDED_FOR)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    for entry in entries.iter().rev() {
        let Ok(address) = entry.parse::<IpAddr>() else {
            break;
        };
        client = address.to_canonical();
        if !is_trusted(client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn proxies(list: &[&str]) -> Vec<TrustedProxy> {
        list.iter().map(|text| text.parse().unwrap()).collect()
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn untrusted_peer_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["198.51.100.1"]);
        let client = client_address(ip("203.0.113.5"), &headers, &trusted);
        assert_eq!(client, ip("203.0.113.5"));
        let none = client_address(ip("203.0.113.5"), &headers, &[]);
        assert_eq!(none, ip("203.0.113.5"), "no trusted proxies configured");
    }

    #[test]
    fn trusted_peer_names_the_client() {
        let trusted = proxies(&["127.0.0.1"]);
        let headers = forwarded(&["203.0.113.5"]);
        let client = client_address(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("203.0.113.5"));
    }

    #[test]
    fn forged_entries_left_of_the_client_are_ignored() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        // The client wrote "192.0.2.66" itself. The edge proxy at 10.1.2.3 appended the
        // client's real address, and the proxy at 127.0.0.1 appended 10.1.2.3.
        let headers = forwarded(&["192.0.2.66, 203.0.113.5", "10.1.2.3"]);
        let client = client_address(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("203.0.113.5"));
    }

    #[test]
    fn garbage_entry_stops_at_the_proxy() {
        let trusted = proxies(&["127.0.0.1", "10.0.0.0/8"]);
        let headers = forwarded(&["not-an-address, 10.1.2.3"]);
        let client = client_address(ip("127.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("10.1.2.3"));
    }

    #[test]
    fn all_trusted_entries_give_the_leftmost() {
        let trusted = proxies(&["10.0.0.0/8"]);
        let headers = forwarded(&["10.0.0.7, 10.0.0.8"]);
        let client = client_address(ip("10.0.0.9"), &headers, &trusted);
        assert_eq!(client, ip("10.0.0.7"));
    }

    #[test]
    fn missing_header_gives_the_peer() {
        let trusted = proxies(&["::1"]);
        let client = client_address(ip("::1"), &HeaderMap::new(), &trusted);
        assert_eq!(client, ip("::1"));
    }

    #[test]
    fn mapped_ipv4_peer_matches_ipv4_proxy() {
        let trusted = proxies(&["127.0.0.1"]);
        let headers = forwarded(&["2001:db8::5"]);
        let client = client_address(ip("::ffff:127.0.0.1"), &headers, &trusted);
        assert_eq!(client, ip("2001:db8::5"));
    }

    #[test]
    fn parses_addresses_and_blocks() {
        assert_eq!(proxies(&["10.1.2.3/8"])[0].to_string(), "10.0.0.0/8");
        assert_eq!(proxies(&["::1"])[0].to_string(), "::1");
        assert_eq!(proxies(&[" 192.0.2.1 "])[0].to_string(), "192.0.2.1");
        for bad in ["", "localhost", "10.0.0.0/33", "10.0.0.1:80"] {
            assert!(bad.parse::<TrustedProxy>().is_err(), "{bad:?}");
        }
    }
}
