//! The rate limit of public application submissions: one token bucket per client address.
//!
//! The buckets live in memory, and every submission they let through is also stored in the
//! contest database, from which the next start replays the last [`IDLE`] span.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use profstage_contest::{Database, LimiterKind};

use super::limiter_store;
use crate::token_bucket::TokenBucket;

/// Submissions one client address may send at once.
pub const BURST: f64 = 10.0;
/// Submissions one client address regains per hour.
pub const PER_HOUR: f64 = 10.0;
/// Addresses tracked at most; beyond this, submissions from new addresses are limited.
const MAX_CLIENTS: usize = 65_536;
/// An address unseen this long has a full bucket again, so forgetting it loses nothing.
pub const IDLE: Duration = Duration::from_secs(3600);

/// Token buckets of the client addresses that submitted recently.
///
/// IPv6 clients are keyed by their /64 prefix, because one host usually owns the whole
/// prefix. A request without a known client address (a router used without connect info)
/// shares one bucket with every other such request.
pub struct SubmissionLimiter {
    clients: Mutex<HashMap<IpAddr, Client>>,
}

struct Client {
    bucket: TokenBucket,
    seen_at: Instant,
}

impl Default for SubmissionLimiter {
    fn default() -> Self {
        Self {
            clients: Mutex::new(HashMap::new()),
        }
    }
}

impl SubmissionLimiter {
    /// Builds the limiter by replaying the submissions that the database stores from the
    /// last [`IDLE`] span, and deletes older ones.
    ///
    /// NOTE: each replayed bucket starts full an hour ago, so a client that was already
    /// limited then may get up to [`BURST`] more submissions than without the restart.
    pub async fn restore(database: &Database) -> Self {
        let limiter = Self::default();
        let events = limiter_store::load(database, LimiterKind::Submission, IDLE).await;
        // A key that is not an address was not written by this server, so it is skipped.
        for (key, at) in events {
            if let Ok(key) = key.parse::<IpAddr>() {
                limiter.take(key, at);
            }
        }
        limiter
    }

    /// Takes one submission from the client's bucket; `false` means the client must wait.
    pub fn allow(&self, client: Option<IpAddr>, now: Instant) -> bool {
        self.take(bucket_key(client), now)
    }

    /// Stores a submission that [`SubmissionLimiter::allow`] let through in the database.
    pub async fn store(database: &Database, client: Option<IpAddr>) {
        let key = bucket_key(client).to_string();
        limiter_store::record(database, LimiterKind::Submission, key, IDLE).await;
    }

    fn take(&self, key: IpAddr, now: Instant) -> bool {
        let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        if !clients.contains_key(&key) && clients.len() >= MAX_CLIENTS {
            clients.retain(|_, client| now.saturating_duration_since(client.seen_at) < IDLE);
            if clients.len() >= MAX_CLIENTS {
                return false;
            }
        }
        let client = clients.entry(key).or_insert_with(|| Client {
            bucket: TokenBucket::new(BURST, PER_HOUR / 3600.0),
            seen_at: now,
        });
        client.seen_at = now;
        client.bucket.take(now)
    }
}

/// Returns the key of a client's bucket. Every client of unknown address shares one.
fn bucket_key(client: Option<IpAddr>) -> IpAddr {
    client.map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), client_key)
}

/// Returns the address a bucket belongs to: IPv4 as it is, IPv6 cut to its /64 prefix.
fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn each_address_has_its_own_burst() {
        let limiter = SubmissionLimiter::default();
        let now = Instant::now();
        for _ in 0..BURST as usize {
            assert!(limiter.allow(peer("192.0.2.1"), now));
        }
        assert!(!limiter.allow(peer("192.0.2.1"), now));
        assert!(limiter.allow(peer("192.0.2.2"), now));
        let later = now + Duration::from_secs_f64(3600.0 / PER_HOUR);
        assert!(limiter.allow(peer("192.0.2.1"), later));
    }

    #[test]
    fn ipv6_hosts_share_their_prefix() {
        let a = client_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = client_key("2001:db8:1:2:bbbb::2".parse().unwrap());
        let other = client_key("2001:db8:1:3::1".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, other);
        let mapped = client_key("::ffff:192.0.2.7".parse().unwrap());
        assert_eq!(mapped, "192.0.2.7".parse::<IpAddr>().unwrap());
    }
}
