//! Sign-in: organisers' passwords, sessions and CSRF tokens. Invite links are in
//! `invites.rs`.
//!
//! Secrets (cookie tokens, CSRF tokens, invite tokens) are 32 random bytes written as 64 hex
//! digits. The database keeps only the SHA-256 of cookie and invite tokens, so a copy of the
//! database cannot be used to sign in.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::access::{Actor, Role};
use crate::audit::record;
use crate::db::{now_ms, Database};
use crate::error::{conflict_on_unique, Error, FieldError};
use crate::ids::{PersonId, SessionId};
use crate::people::{Person, MAX_FULL_NAME_CHARS};
use crate::validate::Checks;

/// Default lifetime of a session, in milliseconds: 12 hours, one contest day.
pub const SESSION_TTL_MS: i64 = 12 * 60 * 60 * 1000;
/// Minimum organiser password length, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Maximum password length, in bytes, so that hashing time stays bounded.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Maximum login length, in characters.
pub const MAX_LOGIN_CHARS: usize = 64;

/// A new session: the cookie and CSRF secrets are handed to the browser once.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// The session's record.
    pub info: SessionInfo,
    /// The cookie value.
    pub cookie_token: String,
    /// The value the browser sends in the CSRF header of state-changing requests.
    pub csrf_token: String,
}

/// A live session, found by its cookie.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// Its id, as named in the audit log.
    pub id: SessionId,
    /// The signed-in person.
    pub person: PersonId,
    /// The person's role.
    pub role: Role,
    /// Expiry, in Unix milliseconds.
    pub expires_at: i64,
    csrf_token: String,
}

impl SessionInfo {
    /// Returns the actor for requests of this session.
    pub fn actor(&self) -> Actor {
        Actor {
            person: Some(self.person.clone()),
            role: self.role,
            session: Some(self.id.clone()),
        }
    }

    /// Compares a CSRF token from a request with the session's, in constant time.
    pub fn csrf_matches(&self, token: &str) -> bool {
        token.as_bytes().ct_eq(self.csrf_token.as_bytes()).into()
    }

    /// Returns the session's CSRF token, for the session's own pages.
    pub fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// Generates a secret: 32 random bytes as 64 hex digits.
pub(crate) fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub(crate) fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a password with Argon2id and the crate's default parameters (19 MiB, 2 passes).
async fn hash_password(password: String) -> Result<String, Error> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| {
                Error::invalid(
                    "password",
                    "hash_failed",
                    format!("cannot be hashed: {error}"),
                )
            })
    })
    .await
    .map_err(|error| {
        tracing::error!(%error, "password hashing task failed");
        Error::Database(sqlx::Error::WorkerCrashed)
    })?
}

/// Checks a password against a stored hash. An unreadable hash never matches.
async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

/// Returns a decoy hash to check passwords against when the login is unknown, so that the
/// response takes as long as for a known login.
fn decoy_hash() -> String {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY
        .get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(new_secret().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .unwrap_or_default()
        })
        .clone()
}

fn normalize_login(login: &str) -> String {
    login.trim().to_lowercase()
}

impl Database {
    /// Creates an organiser who signs in with `login` and `password`. Run by the command
    /// line; the password is hashed with Argon2id and never stored or logged.
    pub async fn create_organiser(
        &self,
        login: &str,
        full_name: &str,
        password: &str,
    ) -> Result<Person, Error> {
        let mut checks = Checks::default();
        let login = normalize_login(login);
        let login_ok = (1..=MAX_LOGIN_CHARS).contains(&login.chars().count())
            && login
                .chars()
                .all(|c| c.is_alphanumeric() || "._-@".contains(c));
        if !login_ok {
            checks.fail(
                "login",
                "invalid_login",
                format!("must have 1 to {MAX_LOGIN_CHARS} letters, digits or . _ - @"),
            );
        }
        let full_name = checks.text("full_name", full_name, MAX_FULL_NAME_CHARS);
        if password.chars().count() < MIN_PASSWORD_CHARS {
            let message = format!("must have at least {MIN_PASSWORD_CHARS} characters");
            checks.push(
                FieldError::new("password", "too_short", message).with("min", MIN_PASSWORD_CHARS),
            );
        } else if password.len() > MAX_PASSWORD_BYTES {
            let message = format!("must have at most {MAX_PASSWORD_BYTES} bytes");
            let error = FieldError::new("password", "too_many_bytes", message);
            checks.push(error.with("max", MAX_PASSWORD_BYTES));
        }
        checks.finish()?;

        let hash = hash_password(password.to_owned()).await?;
        let person = Person {
            id: PersonId::generate(),
            role: Role::Organiser,
            full_name,
            email: None,
            phone: None,
            region: None,
            stage_id: None,
            created_at: now_ms(),
        };
        let mut tx = self.begin().await?;
        crate::people::insert_person(&mut tx, &person).await?;
        sqlx::query(
            "INSERT INTO accounts (person_id, login, password_hash, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(person.id.clone())
        .bind(&login)
        .bind(&hash)
        .bind(person.created_at)
        .execute(&mut *tx)
        .await
        .map_err(conflict_on_unique(
            "duplicate_login",
            "an account with this login already exists",
        ))?;
        let actor = Actor::command_line();
        let id = Some(person.id.as_str());
        record(&mut tx, &actor, "organiser.create", "person", id, "").await?;
        tx.commit().await?;
        Ok(person)
    }

    /// Signs an organiser in with login and password and opens a session.
    pub async fn sign_in(&self, login: &str, password: &str) -> Result<NewSession, Error> {
        let login = normalize_login(login);
        if login.is_empty()
            || login.chars().count() > MAX_LOGIN_CHARS
            || password.len() > MAX_PASSWORD_BYTES
        {
            return Err(Error::WrongCredentials);
        }
        let row: Option<(PersonId, String, Role)> = sqlx::query_as(
            "SELECT a.person_id, a.password_hash, p.role FROM accounts a
             JOIN people p ON p.id = a.person_id WHERE a.login = $1",
        )
        .bind(&login)
        .fetch_optional(&self.pool)
        .await?;
        let hash = row
            .as_ref()
            .map_or_else(decoy_hash, |(_, hash, _)| hash.clone());
        let matches = verify_password(password.to_owned(), hash).await;

        let mut tx = self.begin().await?;
        let Some((person, _, role)) = row.clone().filter(|_| matches) else {
            // The login is not recorded: it may be someone's mistyped password.
            let target = row.as_ref().map(|(person, ..)| person.as_str());
            let nobody = Actor {
                person: None,
                role: Role::Participant,
                session: None,
            };
            record(
                &mut tx,
                &nobody,
                "session.sign_in_failed",
                "person",
                target,
                "",
            )
            .await?;
            tx.commit().await?;
            return Err(Error::WrongCredentials);
        };

        let session = open_session(
            &mut tx,
            &person,
            role,
            "password",
            self.lifetimes.session_ms,
        )
        .await?;
        let actor = session.info.actor();
        record(
            &mut tx,
            &actor,
            "session.sign_in",
            "session",
            Some(session.info.id.as_str()),
            "method=password",
        )
        .await?;
        tx.commit().await?;
        Ok(session)
    }

    /// Finds the live session of a cookie token, or `None` when it is unknown, expired or
    /// ended.
    pub async fn session(&self, cookie_token: &str) -> Result<Option<SessionInfo>, Error> {
        let row: Option<(SessionId, PersonId, Role, i64, String)> = sqlx::query_as(
            "SELECT s.id, s.person_id, p.role, s.expires_at, s.csrf_token FROM sessions s
             JOIN people p ON p.id = s.person_id
             WHERE s.token_hash = $1 AND s.ended_at IS NULL AND s.expires_at > $2",
        )
        .bind(hash_secret(cookie_token))
        .bind(now_ms())
        .fetch_optional(&self.pool)
        .await?;
        Ok(
            row.map(|(id, person, role, expires_at, csrf_token)| SessionInfo {
                id,
                person,
                role,
                expires_at,
                csrf_token,
            }),
        )
    }

    /// Ends a session, so that its cookie no longer signs anyone in.
    pub async fn sign_out(&self, session: &SessionInfo) -> Result<(), Error> {
        let mut tx = self.begin().await?;
        sqlx::query("UPDATE sessions SET ended_at = $1 WHERE id = $2 AND ended_at IS NULL")
            .bind(now_ms())
            .bind(session.id.clone())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            &session.actor(),
            "session.sign_out",
            "session",
            Some(session.id.as_str()),
            "",
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

pub(crate) async fn open_session(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    person: &PersonId,
    role: Role,
    method: &str,
    lifetime_ms: i64,
) -> Result<NewSession, Error> {
    let cookie_token = new_secret();
    let csrf_token = new_secret();
    let now = now_ms();
    let info = SessionInfo {
        id: SessionId::generate(),
        person: person.clone(),
        role,
        expires_at: now + lifetime_ms,
        csrf_token: csrf_token.clone(),
    };
    sqlx::query(
        "INSERT INTO sessions (id, person_id, token_hash, csrf_token, method, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(info.id.clone())
    .bind(person.clone())
    .bind(hash_secret(&cookie_token))
    .bind(&info.csrf_token)
    .bind(method)
    .bind(now)
    .bind(info.expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(NewSession {
        info,
        cookie_token,
        csrf_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_64_hex_digits_and_differ() {
        let a = new_secret();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_secret());
    }

    #[test]
    fn csrf_compares_tokens() {
        let info = SessionInfo {
            id: SessionId::generate(),
            person: PersonId::generate(),
            role: Role::Organiser,
            expires_at: 0,
            csrf_token: "right".to_owned(),
        };
        assert!(info.csrf_matches("right"));
        assert!(!info.csrf_matches("wrong"));
        assert!(!info.csrf_matches(""));
    }
}
