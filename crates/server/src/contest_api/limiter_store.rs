//! Keeps the rate limits' counts in the contest database, so that a restart does not give
//! a password guesser or a flood of submissions a fresh window. The in-memory limiters stay
//! the gate that each request passes atomically, and the database only mirrors their counts.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use profstage_contest::{Database, LimiterEvent, LimiterKind};

use super::{sign_in_limit, submission_limit};

/// Stores one counted event and deletes the events of its kind older than `window`. A
/// failure is logged and otherwise ignored, so that the request goes on.
pub async fn record(database: &Database, kind: LimiterKind, key: String, window: Duration) {
    let at_ms = unix_ms();
    let event = LimiterEvent { kind, key, at_ms };
    if let Err(error) = database.record_limiter_event(&event).await {
        // The key is a login or an address, so only the kind is logged.
        tracing::warn!(?kind, %error, "failed to store a rate limit event");
        return;
    }
    prune(database, kind, at_ms, window).await;
}

/// Deletes the events of `kind` counted against `key`, logging a failure.
pub async fn forget(database: &Database, kind: LimiterKind, key: &str) {
    if let Err(error) = database.forget_limiter_events(kind, key).await {
        tracing::warn!(?kind, %error, "failed to delete rate limit events");
    }
}

/// Returns the stored events of `kind` younger than `window`, oldest first, each with its
/// key and its time on the monotonic clock. Older events are deleted first. A failure is
/// logged and returns no events.
pub async fn load(
    database: &Database,
    kind: LimiterKind,
    window: Duration,
) -> Vec<(String, Instant)> {
    let (now, now_ms) = (Instant::now(), unix_ms());
    let since_ms = prune(database, kind, now_ms, window).await;
    let events = match database.limiter_events_since(kind, since_ms).await {
        Ok(events) => events,
        Err(error) => {
            tracing::warn!(?kind, %error, "failed to load rate limit events");
            return Vec::new();
        }
    };
    let times = events.into_iter().map(|event| {
        let age = Duration::from_millis(u64::try_from(now_ms - event.at_ms).unwrap_or(0));
        // Shortly after boot the monotonic clock cannot go back that far. The event then
        // counts as new, which errs on the strict side.
        let at = now.checked_sub(age).unwrap_or(now);
        (event.key, at)
    });
    times.collect()
}

/// Deletes, once a minute, the stored events older than their limit's window, so that no
/// login or address stays stored long after it stopped counting.
pub async fn prune_every_minute(database: Database) {
    let mut ticker = tokio::time::interval(Duration::from_secs(60));
    let windows = [
        (LimiterKind::SignInLogin, sign_in_limit::WINDOW),
        (LimiterKind::SignInAddress, sign_in_limit::WINDOW),
        (LimiterKind::Submission, submission_limit::IDLE),
    ];
    loop {
        ticker.tick().await;
        for (kind, window) in windows {
            prune(&database, kind, unix_ms(), window).await;
        }
    }
}

/// Deletes the events of `kind` that are `window` older than `now_ms` and returns the
/// cut-off time.
async fn prune(database: &Database, kind: LimiterKind, now_ms: i64, window: Duration) -> i64 {
    let window_ms = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let before_ms = now_ms.saturating_sub(window_ms);
    if let Err(error) = database.prune_limiter_events(kind, before_ms).await {
        tracing::warn!(?kind, %error, "failed to delete old rate limit events");
    }
    before_ms
}

fn unix_ms() -> i64 {
    let elapsed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX)
}
