//! Recent events of the server's rate limits, stored so that the counts survive a restart.
//! The server acts for itself here, so these methods take no [`crate::Actor`] and write no
//! audit entries.

use crate::db::Database;
use crate::error::Error;

/// The kind of event a rate limit counts, with the key it counts by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimiterKind {
    /// A failed password sign-in, keyed by login.
    SignInLogin,
    /// A failed password sign-in, keyed by client address.
    SignInAddress,
    /// A public application submission, keyed by client address.
    Submission,
}

impl LimiterKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::SignInLogin => "sign_in_login",
            Self::SignInAddress => "sign_in_address",
            Self::Submission => "submission",
        }
    }
}

/// One event that a rate limit counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimiterEvent {
    /// The limit that counted it.
    pub kind: LimiterKind,
    /// The login or client address it counts against: personal data.
    pub key: String,
    /// When it happened, in Unix milliseconds.
    pub at_ms: i64,
}

impl Database {
    /// Stores one counted event.
    pub async fn record_limiter_event(&self, event: &LimiterEvent) -> Result<(), Error> {
        sqlx::query("INSERT INTO limiter_events (kind, limit_key, at_ms) VALUES ($1, $2, $3)")
            .bind(event.kind.as_str())
            .bind(event.key.as_str())
            .bind(event.at_ms)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes every event of `kind` counted against `key` and returns how many there were.
    pub async fn forget_limiter_events(&self, kind: LimiterKind, key: &str) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM limiter_events WHERE kind = $1 AND limit_key = $2")
            .bind(kind.as_str())
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// Returns the events of `kind` at or after `since_ms` (Unix milliseconds), oldest
    /// first.
    pub async fn limiter_events_since(
        &self,
        kind: LimiterKind,
        since_ms: i64,
    ) -> Result<Vec<LimiterEvent>, Error> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT limit_key, at_ms FROM limiter_events
             WHERE kind = $1 AND at_ms >= $2 ORDER BY at_ms",
        )
        .bind(kind.as_str())
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        let events = rows
            .into_iter()
            .map(|(key, at_ms)| LimiterEvent { kind, key, at_ms });
        Ok(events.collect())
    }

    /// Deletes the events of `kind` before `before_ms` (Unix milliseconds) and returns how
    /// many there were.
    pub async fn prune_limiter_events(
        &self,
        kind: LimiterKind,
        before_ms: i64,
    ) -> Result<u64, Error> {
        let done = sqlx::query("DELETE FROM limiter_events WHERE kind = $1 AND at_ms < $2")
            .bind(kind.as_str())
            .bind(before_ms)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }
}
