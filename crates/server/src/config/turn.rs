//! `[turn]`: a TURN server, such as coturn, that relays media for browsers whose network
//! lets nothing out but HTTPS.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;

/// Shortest `turn.credential_ttl_secs`: one minute, time to open a page and connect.
pub const MIN_CREDENTIAL_TTL_SECS: u64 = 60;

/// `[turn]`: TURN URLs handed to browsers and the secret their credentials are made with,
/// as in the TURN REST API that coturn implements (`use-auth-secret`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    /// TURN URLs, such as `turns:turn.example.org:443?transport=tcp`. Empty: no TURN.
    pub urls: Vec<String>,
    /// The secret shared with the TURN server (coturn's `static-auth-secret`). Required
    /// with `urls`.
    pub shared_secret: Option<TurnSecret>,
    /// Lifetime of each credential, in seconds. It should outlast a session, because a
    /// browser refreshes its relay with the same credential, which the TURN server rejects
    /// once its expiry has passed.
    pub credential_ttl_secs: u64,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            shared_secret: None,
            credential_ttl_secs: 24 * 60 * 60,
        }
    }
}

impl TurnConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        for url in &self.urls {
            if !(url.starts_with("turn:") || url.starts_with("turns:")) {
                return Err(ConfigError::invalid(
                    "turn.urls",
                    url,
                    "expected a turn: or turns: URL such as \
                     turns:turn.example.org:443?transport=tcp",
                ));
            }
        }
        if !self.urls.is_empty() && self.shared_secret.is_none() {
            return Err(ConfigError::invalid(
                "turn.shared_secret",
                "<missing>",
                "is required with turn.urls: set PROFSTAGE_TURN_SHARED_SECRET to coturn's \
                 static-auth-secret",
            ));
        }
        if self.credential_ttl_secs < MIN_CREDENTIAL_TTL_SECS {
            return Err(ConfigError::invalid(
                "turn.credential_ttl_secs",
                self.credential_ttl_secs,
                format!("must be at least {MIN_CREDENTIAL_TTL_SECS} seconds"),
            ));
        }
        Ok(())
    }
}

/// The secret shared with the TURN server. `Debug` and `Serialize` hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct TurnSecret(String);

impl TurnSecret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Returns the secret's bytes, the HMAC key of the credentials.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl FromStr for TurnSecret {
    type Err = std::convert::Infallible;

    fn from_str(secret: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(secret))
    }
}

impl fmt::Debug for TurnSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TurnSecret(<hidden>)")
    }
}

impl Serialize for TurnSecret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<hidden>")
    }
}
