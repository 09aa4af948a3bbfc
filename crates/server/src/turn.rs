//! Time-limited TURN credentials, as in the TURN REST API that coturn implements with
//! `use-auth-secret`: the user name is `<expiry>:<identity>`, with the expiry in seconds
//! since the Unix epoch, and the password is base64(HMAC-SHA1(shared secret, user name)).
//! The TURN server recomputes the password from its copy of the secret and rejects a user
//! name whose expiry has passed, so the two servers share nothing but the secret.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha1::Sha1;

use crate::config::TurnConfig;
use crate::signalling::protocol::IceServer;

/// Returns the ICE servers for `identity`, with a credential valid from `now` for
/// `turn.credential_ttl_secs`, or none when no TURN server is configured.
pub fn ice_servers(config: &TurnConfig, identity: &str, now: SystemTime) -> Vec<IceServer> {
    let Some(secret) = &config.shared_secret else {
        return Vec::new();
    };
    if config.urls.is_empty() {
        return Vec::new();
    }
    let expiry = now + Duration::from_secs(config.credential_ttl_secs);
    let expiry = expiry
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let username = format!("{expiry}:{identity}");
    let credential = password(secret.expose(), &username);
    vec![IceServer {
        urls: config.urls.clone(),
        username,
        credential,
    }]
}

/// Returns base64(HMAC-SHA1(`secret`, `username`)).
fn password(secret: &[u8], username: &str) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(username.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TurnSecret;

    fn config() -> TurnConfig {
        TurnConfig {
            urls: vec!["turns:turn.example.org:443?transport=tcp".to_string()],
            shared_secret: Some(TurnSecret::new("north")),
            credential_ttl_secs: 3600,
        }
    }

    #[test]
    fn password_matches_hmac_sha1_vector() {
        // HMAC-SHA1 of "what do ya want for nothing?" under the key "Jefe" is
        // effcdf6ae5eb2fa2d27416d5f184df9c259a7c79 (RFC 2202, test case 2).
        let password = password(b"Jefe", "what do ya want for nothing?");
        assert_eq!(password, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }

    #[test]
    fn username_names_expiry_and_identity() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let servers = ice_servers(&config(), "u-7f3a", now);
        assert_eq!(servers.len(), 1);
        assert_eq!(servers[0].username, "1800003600:u-7f3a");
        assert_eq!(servers[0].urls, config().urls);
        let expected = password(b"north", "1800003600:u-7f3a");
        assert_eq!(servers[0].credential, expected);
    }

    #[test]
    fn credentials_change_with_time() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let first = ice_servers(&config(), "u-7f3a", now);
        let later = ice_servers(&config(), "u-7f3a", now + Duration::from_secs(1));
        assert_ne!(first[0].username, later[0].username);
        assert_ne!(first[0].credential, later[0].credential);
    }

    #[test]
    fn no_servers_without_turn() {
        let servers = ice_servers(&TurnConfig::default(), "u-7f3a", SystemTime::now());
        assert!(servers.is_empty());
    }

    #[test]
    fn debug_hides_credentials() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        let server = &ice_servers(&config(), "u-7f3a", now)[0];
        let printed = format!("{server:?}");
        assert!(!printed.contains(&server.credential), "{printed}");
        assert!(!printed.contains("u-7f3a"), "{printed}");
    }
}
