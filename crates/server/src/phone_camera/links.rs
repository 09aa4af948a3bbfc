//! One-time phone camera links. A link's secret is 256 random bits. The store keeps only
//! its SHA-256 hash, with the participant it is bound to, its expiry and whether it was
//! used, so a copy of the store's memory does not give working links.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Lifetime of a link unless [`PhoneLinks::set_ttl`] changes it: 10 minutes.
pub const LINK_TTL: Duration = Duration::from_secs(10 * 60);

/// How long a used, expired or replaced link is kept after its expiry, so that a second
/// attempt gets the reason instead of "not found".
const KEEP_AFTER_EXPIRY_MS: u64 = 10 * 60 * 1000;

/// Maximum links kept per participant, so that issuing one more removes the oldest. It
/// bounds the memory that a participant who requests links in a loop can take.
const MAX_LINKS_PER_OWNER: usize = 8;

/// Links a participant may be issued per [`ISSUE_WINDOW_MS`]. The page requests one when
/// the panel opens, when a phone connects and shortly before a link expires. Five a minute
/// leaves room for retries and bounds the audit lines that a client in a loop can add.
const MAX_ISSUES_PER_WINDOW: usize = 5;

/// Window of [`MAX_ISSUES_PER_WINDOW`], in milliseconds: one minute.
const ISSUE_WINDOW_MS: u64 = 60 * 1000;

/// Length of a secret in bytes before hex encoding: 256 bits.
const SECRET_BYTES: usize = 32;

/// The participant, room and source a link publishes as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOwner {
    /// Room identifier.
    pub room: String,
    /// The participant's identity.
    pub identity: String,
    /// The participant's display name.
    pub name: String,
}

/// A newly issued link: the secret is returned only here.
#[derive(Debug)]
pub struct IssuedLink {
    /// The secret, 64 hex digits.
    pub secret: String,
    /// Expiry, in milliseconds since the Unix epoch.
    pub expires_at_ms: u64,
}

/// A reason to reject a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedeemError {
    /// No link has this secret, or it is not 64 hex digits.
    #[error("no phone camera link has this secret")]
    NotFound,
    /// The link's lifetime has passed.
    #[error("the phone camera link has expired")]
    Expired,
    /// The link was redeemed before.
    #[error("the phone camera link was already used")]
    Used,
    /// The participant asked for a newer link, which replaced this one.
    #[error("a newer phone camera link replaced this one")]
    Replaced,
}

/// A rejected request for a link: the participant was issued too many links in the last
/// minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many phone camera links requested; try again in {} ms", retry_after.as_millis())]
pub struct TooManyLinks {
    /// Time until the oldest link of the window leaves it.
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LinkState {
    Open,
    Used,
    Replaced,
}

#[derive(Debug)]
struct LinkRecord {
    owner: LinkOwner,
    issued_at_ms: u64,
    expires_at_ms: u64,
    state: LinkState,
}

/// The links issued and not yet forgotten, by the SHA-256 hash of their secret.
#[derive(Debug)]
pub struct PhoneLinks {
    links: Mutex<HashMap<[u8; 32], LinkRecord>>,
    ttl_ms: AtomicU64,
}

impl Default for PhoneLinks {
    fn default() -> Self {
        Self {
            links: Mutex::new(HashMap::new()),
            ttl_ms: AtomicU64::new(LINK_TTL.as_millis() as u64),
        }
    }
}

impl PhoneLinks {
    /// Changes the lifetime of links issued from now on.
    pub fn set_ttl(&self, ttl: Duration) {
        let ttl_ms = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        self.ttl_ms.store(ttl_ms, Ordering::Relaxed);
    }

    /// Issues a link for `owner` at `now_ms`. An open link the owner had before is replaced,
    /// so each participant has at most one link that works. Fails, changing nothing, when
    /// the owner was issued [`MAX_ISSUES_PER_WINDOW`] links in the last minute.
    pub fn issue(&self, owner: LinkOwner, now_ms: u64) -> Result<IssuedLink, TooManyLinks> {
        let mut links = self.lock();
        links.retain(|_, link| link.expires_at_ms.saturating_add(KEEP_AFTER_EXPIRY_MS) > now_ms);
        check_limit(&links, &owner, now_ms)?;

        let mut bytes = [0u8; SECRET_BYTES];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = hex::encode(bytes);
        let expires_at_ms = now_ms.saturating_add(self.ttl_ms.load(Ordering::Relaxed));
        forget_oldest(&mut links, &owner);
        let earlier = links
            .values_mut()
            .filter(|link| link.owner == owner && link.state == LinkState::Open);
        for link in earlier {
            link.state = LinkState::Replaced;
        }
        let record = LinkRecord {
            owner,
            issued_at_ms: now_ms,
            expires_at_ms,
            state: LinkState::Open,
        };
        links.insert(hash(&secret), record);
        Ok(IssuedLink {
            secret,
            expires_at_ms,
        })
    }

    /// Checks whether `owner` may be issued a link at `now_ms`, without issuing one.
    pub fn check_issue(&self, owner: &LinkOwner, now_ms: u64) -> Result<(), TooManyLinks> {
        check_limit(&self.lock(), owner, now_ms)
    }

    /// Checks `secret` at `now_ms`, and on success runs `accept` with the link's owner
    /// while the store is locked. The link counts as used only when `accept` succeeds, so
    /// a failure there, such as an audit log that cannot be written, leaves it open.
    pub fn redeem<T, E>(
        &self,
        secret: &str,
        now_ms: u64,
        accept: impl FnOnce(&LinkOwner) -> Result<T, E>,
    ) -> Result<Result<T, E>, RedeemError> {
        if secret.len() != 2 * SECRET_BYTES || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(RedeemError::NotFound);
        }
        let mut links = self.lock();
        let link = links
            .get_mut(&hash(&secret.to_ascii_lowercase()))
            .ok_or(RedeemError::NotFound)?;
        match link.state {
            LinkState::Used => return Err(RedeemError::Used),
            LinkState::Replaced => return Err(RedeemError::Replaced),
            LinkState::Open if now_ms >= link.expires_at_ms => return Err(RedeemError::Expired),
            LinkState::Open => {}
        }
        let accepted = accept(&link.owner);
        if accepted.is_ok() {
            link.state = LinkState::Used;
        }
        Ok(accepted)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], LinkRecord>> {
        self.links
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Fails when `owner` was issued [`MAX_ISSUES_PER_WINDOW`] links in the minute before
/// `now_ms`, with the time until the oldest of them leaves the window.
fn check_limit(
    links: &HashMap<[u8; 32], LinkRecord>,
    owner: &LinkOwner,
    now_ms: u64,
) -> Result<(), TooManyLinks> {
    let window_start = now_ms.saturating_sub(ISSUE_WINDOW_MS);
    let mut recent: Vec<u64> = links
        .values()
        .filter(|link| link.owner == *owner && link.issued_at_ms > window_start)
        .map(|link| link.issued_at_ms)
        .collect();
    if recent.len() < MAX_ISSUES_PER_WINDOW {
        return Ok(());
    }
    recent.sort_unstable();
    let frees_at = recent[recent.len() - MAX_ISSUES_PER_WINDOW] + ISSUE_WINDOW_MS;
    let retry_after = Duration::from_millis(frees_at.saturating_sub(now_ms).max(1));
    Err(TooManyLinks { retry_after })
}

/// Removes the owner's oldest links until there is room for one more.
fn forget_oldest(links: &mut HashMap<[u8; 32], LinkRecord>, owner: &LinkOwner) {
    let mut own: Vec<([u8; 32], u64)> = links
        .iter()
        .filter(|(_, link)| link.owner == *owner)
        .map(|(key, link)| (*key, link.expires_at_ms))
        .collect();
    own.sort_by_key(|(_, expires_at_ms)| *expires_at_ms);
    let excess = (own.len() + 1).saturating_sub(MAX_LINKS_PER_OWNER);
    for (key, _) in own.into_iter().take(excess) {
        links.remove(&key);
    }
}

fn hash(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(identity: &str) -> LinkOwner {
        LinkOwner {
            room: "demo".to_owned(),
            identity: identity.to_owned(),
            name: "Иванова Мария".to_owned(),
        }
    }

    fn issue(links: &PhoneLinks, owner: LinkOwner, now_ms: u64) -> IssuedLink {
        links.issue(owner, now_ms).expect("under the issue limit")
    }

    fn redeem(links: &PhoneLinks, secret: &str, now_ms: u64) -> Result<LinkOwner, RedeemError> {
        links
            .redeem(secret, now_ms, |owner| Ok::<_, ()>(owner.clone()))
            .map(|accepted| accepted.expect("accept does not fail"))
    }

    #[test]
    fn secret_has_256_random_bits() {
        let links = PhoneLinks::default();
        let first = issue(&links, owner("u-1"), 0).secret;
        let second = issue(&links, owner("u-2"), 0).secret;
        assert_eq!(first.len(), 64);
        assert!(first.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(first, second);
    }

    #[test]
    fn link_works_once() {
        let links = PhoneLinks::default();
        let issued = issue(&links, owner("u-1"), 1_000);
        assert_eq!(redeem(&links, &issued.secret, 2_000), Ok(owner("u-1")));
        assert_eq!(
            redeem(&links, &issued.secret, 3_000),
            Err(RedeemError::Used)
        );
    }

    #[test]
    fn link_expires() {
        let links = PhoneLinks::default();
        let issued = issue(&links, owner("u-1"), 1_000);
        assert_eq!(issued.expires_at_ms, 1_000 + LINK_TTL.as_millis() as u64);
        let late = issued.expires_at_ms;
        assert_eq!(
            redeem(&links, &issued.secret, late),
            Err(RedeemError::Expired)
        );
    }

    #[test]
    fn newer_link_replaces_older() {
        let links = PhoneLinks::default();
        let older = issue(&links, owner("u-1"), 0);
        let other = issue(&links, owner("u-2"), 0);
        let newer = issue(&links, owner("u-1"), 10);
        assert_eq!(
            redeem(&links, &older.secret, 20),
            Err(RedeemError::Replaced)
        );
        assert_eq!(redeem(&links, &newer.secret, 20), Ok(owner("u-1")));
        assert_eq!(redeem(&links, &other.secret, 20), Ok(owner("u-2")));
    }

    #[test]
    fn unknown_or_malformed_secret_is_not_found() {
        let links = PhoneLinks::default();
        issue(&links, owner("u-1"), 0);
        for secret in ["", "abc", &"0".repeat(64), &"я".repeat(32), &"g".repeat(64)] {
            assert_eq!(
                redeem(&links, secret, 1),
                Err(RedeemError::NotFound),
                "{secret:?}"
            );
        }
    }

    #[test]
    fn failed_accept_leaves_link_open() {
        let links = PhoneLinks::default();
        let issued = issue(&links, owner("u-1"), 0);
        let failed = links.redeem(&issued.secret, 1, |_| Err::<(), _>("audit failed"));
        assert_eq!(failed, Ok(Err("audit failed")));
        assert_eq!(redeem(&links, &issued.secret, 2), Ok(owner("u-1")));
    }

    #[test]
    fn participant_keeps_a_bounded_number_of_links() {
        let links = PhoneLinks::default();
        let first = issue(&links, owner("u-1"), 0);
        // Spaced so that the issue limit is never reached.
        let spacing = ISSUE_WINDOW_MS / MAX_ISSUES_PER_WINDOW as u64;
        for n in 1..=MAX_LINKS_PER_OWNER as u64 {
            issue(&links, owner("u-1"), n * spacing);
        }
        assert_eq!(links.lock().len(), MAX_LINKS_PER_OWNER);
        assert_eq!(
            redeem(
                &links,
                &first.secret,
                MAX_LINKS_PER_OWNER as u64 * ISSUE_WINDOW_MS
            ),
            Err(RedeemError::NotFound)
        );
    }

    #[test]
    fn forgotten_long_after_expiry() {
        let links = PhoneLinks::default();
        let old = issue(&links, owner("u-1"), 0);
        let much_later = old.expires_at_ms + KEEP_AFTER_EXPIRY_MS;
        issue(&links, owner("u-2"), much_later);
        assert_eq!(
            redeem(&links, &old.secret, much_later),
            Err(RedeemError::NotFound)
        );
    }

    #[test]
    fn issuing_limited_per_minute() {
        let links = PhoneLinks::default();
        let mut last = None;
        for now_ms in 0..MAX_ISSUES_PER_WINDOW as u64 {
            last = Some(issue(&links, owner("u-1"), 1_000 + now_ms));
        }
        let rejected = links.issue(owner("u-1"), 2_000);
        assert_eq!(
            rejected.map(|issued| issued.secret),
            Err(TooManyLinks {
                retry_after: Duration::from_millis(ISSUE_WINDOW_MS - 1_000)
            })
        );
        // The rejected request replaced nothing, and other participants are not limited.
        issue(&links, owner("u-2"), 2_000);
        let last = last.expect("links were issued");
        assert_eq!(redeem(&links, &last.secret, 3_000), Ok(owner("u-1")));

        let next_window = 1_000 + ISSUE_WINDOW_MS;
        assert!(links.issue(owner("u-1"), next_window).is_ok());
    }
}
