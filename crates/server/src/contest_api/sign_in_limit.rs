//! The limit on failed password sign-ins, per login and per client address, which slows down
//! password guessing.
//!
//! The counts live in memory, where each attempt is counted atomically, and every failure
//! is also stored in the contest database, from which the next start restores them.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use profstage_contest::{Database, LimiterKind};

use super::limiter_store;

/// The span over which failures are counted.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins allowed per login within [`WINDOW`].
pub const MAX_FAILURES_PER_LOGIN: usize = 5;
/// Failed sign-ins allowed per client address within [`WINDOW`]: enough for an office of
/// organisers behind one address who mistype now and then.
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// Logins, and separately addresses, tracked at once. Past this, the one whose last failure
/// is oldest is dropped, so that a flood of made-up logins cannot exhaust memory.
const MAX_TRACKED: usize = 10_000;

/// Failed sign-ins by login and by client address.
#[derive(Debug, Default)]
pub struct SignInLimiter {
    state: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    by_login: Failures<String>,
    by_address: Failures<IpAddr>,
}

impl SignInLimiter {
    /// Builds the limiter from the failures that the database stores from the last
    /// [`WINDOW`], and deletes older ones.
    pub async fn restore(database: &Database) -> Self {
        let limiter = Self::default();
        let logins = limiter_store::load(database, LimiterKind::SignInLogin, WINDOW).await;
        let addresses = limiter_store::load(database, LimiterKind::SignInAddress, WINDOW).await;
        let mut counters = limiter.lock();
        for (login, at) in logins {
            counters.by_login.add(login, at);
        }
        // A key that is not an address was not written by this server, so it is skipped.
        let addresses = addresses
            .into_iter()
            .filter_map(|(key, at)| Some((key.parse::<IpAddr>().ok()?, at)));
        for (address, at) in addresses {
            counters.by_address.add(address, at);
        }
        drop(counters);
        limiter
    }

    /// Counts a sign-in attempt as failed unless [`SignInLimiter::succeeded`] follows, or
    /// returns `Err` with the time to wait when the login or the address has used up its
    /// failures within the window. Counting before the password is checked keeps parallel
    /// guesses from slipping past the limit.
    pub fn attempt(
        &self,
        login: &str,
        address: Option<IpAddr>,
        now: Instant,
    ) -> Result<(), Duration> {
        let mut counters = self.lock();
        let login = login_key(login);
        let address = address.map(address_key);
        let login_wait = counters.by_login.wait(&login, MAX_FAILURES_PER_LOGIN, now);
        let address_wait = address.and_then(|address| {
            counters
                .by_address
                .wait(&address, MAX_FAILURES_PER_ADDRESS, now)
        });
        if let Some(wait) = login_wait.max(address_wait) {
            return Err(wait);
        }
        counters.by_login.add(login, now);
        if let Some(address) = address {
            counters.by_address.add(address, now);
        }
        Ok(())
    }

    /// Takes back the attempt of a sign-in that succeeded, and forgets the login's earlier
    /// failures. The address keeps its earlier failures, so that one good password does not
    /// reset guessing at other logins.
    pub fn succeeded(&self, login: &str, address: Option<IpAddr>) {
        let mut counters = self.lock();
        counters.by_login.entries.remove(&login_key(login));
        if let Some(address) = address {
            counters.by_address.remove_newest(&address_key(address));
        }
    }

    /// Stores a failed attempt, which [`SignInLimiter::attempt`] has already counted, in the
    /// database.
    pub async fn store_failure(database: &Database, login: &str, address: Option<IpAddr>) {
        let login = login_key(login);
        limiter_store::record(database, LimiterKind::SignInLogin, login, WINDOW).await;
        if let Some(address) = address {
            let key = address_key(address).to_string();
            limiter_store::record(database, LimiterKind::SignInAddress, key, WINDOW).await;
        }
    }

    /// Deletes the stored failures of a login that signed in, as
    /// [`SignInLimiter::succeeded`] does in memory. The attempt that succeeded was never
    /// stored, so the address's stored failures stay as they are.
    pub async fn store_success(database: &Database, login: &str) {
        let login = login_key(login);
        limiter_store::forget(database, LimiterKind::SignInLogin, &login).await;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        // A panic while holding the lock leaves only counters behind, which stay usable.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Returns the key of a login. Sign-in compares logins in any letter case, so the limit
/// does too.
fn login_key(login: &str) -> String {
    login.trim().to_lowercase()
}

/// Returns the key of an address. An IPv6 client usually controls a whole /64, so its
/// addresses count as one.
fn address_key(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V4(_) => address,
        IpAddr::V6(v6) => {
            let bits = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(bits.into())
        }
    }
}

/// Times of recent failures per key, oldest first.
#[derive(Debug)]
struct Failures<K> {
    entries: HashMap<K, VecDeque<Instant>>,
}

impl<K> Default for Failures<K> {
    fn default() -> Self {
        Self {
            entries: HashMap::new(),
        }
    }
}

impl<K: Hash + Eq + Clone> Failures<K> {
    /// Returns how long `key` must wait, or `None` when it has failures left.
    fn wait(&mut self, key: &K, max: usize, now: Instant) -> Option<Duration> {
        let times = self.entries.get_mut(key)?;
        forget_old(times, now);
        if times.len() < max {
            return None;
        }
        let oldest = *times.front()?;
        Some(WINDOW.saturating_sub(now.saturating_duration_since(oldest)))
    }

    fn remove_newest(&mut self, key: &K) {
        if let Some(times) = self.entries.get_mut(key) {
            times.pop_back();
        }
    }

    fn add(&mut self, key: K, now: Instant) {
        if !self.entries.contains_key(&key) && self.entries.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let times = self.entries.entry(key).or_default();
        forget_old(times, now);
        times.push_back(now);
        // More than the largest limit is never needed to decide.
        if times.len() > MAX_FAILURES_PER_ADDRESS {
            times.pop_front();
        }
    }

    /// Drops expired keys, and the key with the oldest last failure if none expired.
    fn make_room(&mut self, now: Instant) {
        self.entries.retain(|_, times| {
            forget_old(times, now);
            !times.is_empty()
        });
        if self.entries.len() < MAX_TRACKED {
            return;
        }
        let stalest = self
            .entries
            .iter()
            .min_by_key(|(_, times)| times.back().copied())
            .map(|(key, _)| key.clone());
        if let Some(key) = stalest {
            self.entries.remove(&key);
        }
    }
}

fn forget_old(times: &mut VecDeque<Instant>, now: Instant) {
    while times
        .front()
        .is_some_and(|at| now.saturating_duration_since(*at) >= WINDOW)
    {
        times.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)));

    #[test]
    fn login_is_limited_after_five_failures() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES_PER_LOGIN {
            assert_eq!(limiter.attempt("Chief", HOME, start), Ok(()));
        }
        assert_eq!(limiter.attempt("chief", None, start), Err(WINDOW));
        let later = start + Duration::from_secs(60);
        assert_eq!(
            limiter.attempt("CHIEF ", None, later),
            Err(WINDOW - Duration::from_secs(60))
        );
        assert_eq!(limiter.attempt("chief", None, start + WINDOW), Ok(()));
        assert_eq!(limiter.attempt("other", HOME, start), Ok(()));
    }

    #[test]
    fn address_is_limited_across_logins() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for index in 0..MAX_FAILURES_PER_ADDRESS {
            assert_eq!(
                limiter.attempt(&format!("login{index}"), HOME, start),
                Ok(())
            );
        }
        assert!(limiter.attempt("fresh", HOME, start).is_err());
        let elsewhere = Some(IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2)));
        assert_eq!(limiter.attempt("fresh", elsewhere, start), Ok(()));
    }

    #[test]
    fn success_clears_the_login_only() {
        let limiter = SignInLimiter::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES_PER_LOGIN - 1 {
            limiter.attempt("chief", HOME, start).unwrap();
        }
        limiter.attempt("chief", HOME, start).unwrap();
        limiter.succeeded("chief", HOME);
        assert_eq!(limiter.attempt("chief", None, start), Ok(()));
        let counted = limiter.lock().by_address.entries[&HOME.unwrap()].len();
        assert_eq!(counted, MAX_FAILURES_PER_LOGIN - 1);
    }

    #[test]
    fn ipv6_neighbours_share_a_count() {
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let two: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(one), address_key(two));
        assert_ne!(address_key(one), address_key(other));
    }

    #[test]
    fn tracked_keys_are_bounded() {
        let mut failures = Failures::<String>::default();
        let start = Instant::now();
        for index in 0..MAX_TRACKED + 10 {
            let at = start + Duration::from_millis(index as u64);
            failures.add(format!("login{index}"), at);
        }
        assert_eq!(failures.entries.len(), MAX_TRACKED);
        assert!(!failures.entries.contains_key("login0"));
    }
}
