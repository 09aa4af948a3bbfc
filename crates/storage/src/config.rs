//! Storage configuration, read from the `[storage]` section of the server's TOML file.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize, Serializer};

use crate::error::StorageError;

/// Environment variable with the S3 access key id, read when the configuration has none.
pub const ACCESS_KEY_ID_VAR: &str = "AWS_ACCESS_KEY_ID";
/// Environment variable with the S3 secret access key, read when the configuration has none.
pub const SECRET_ACCESS_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";

/// `[storage]`: where recordings go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Backend that stores the objects.
    pub backend: Backend,
    /// Folder of the local backend; a relative path starts from the current directory.
    pub local_dir: PathBuf,
    /// Settings of the S3 backend.
    pub s3: S3Config,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            backend: Backend::Local,
            local_dir: PathBuf::from("recordings"),
            s3: S3Config::default(),
        }
    }
}

/// Storage backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Files in a local folder.
    Local,
    /// Objects in an S3-compatible bucket.
    S3,
}

/// `[storage.s3]`: an S3-compatible bucket, such as one on Garage or MinIO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Base URL of the S3 API, such as `http://127.0.0.1:3900`. Required.
    pub endpoint: Option<String>,
    /// Region the requests are signed for: `garage` for Garage. Required.
    pub region: Option<String>,
    /// Bucket name. Required.
    pub bucket: Option<String>,
    /// Path-style URLs (`ENDPOINT/BUCKET/KEY`) instead of virtual-hosted ones
    /// (`BUCKET.HOST/KEY`), which need a DNS name per bucket.
    pub path_style: bool,
    /// Access key id; when both it and `secret_access_key` are unset, the environment
    /// variables `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are read instead.
    pub access_key_id: Option<String>,
    /// Secret access key, set together with `access_key_id`.
    pub secret_access_key: Option<SecretAccessKey>,
    /// Maximum time to open a TCP (and TLS) connection, in seconds.
    pub connect_timeout_secs: u64,
    /// Maximum time for one whole operation including its retries, in seconds. A multipart
    /// upload counts each part as one operation.
    pub operation_timeout_secs: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: None,
            bucket: None,
            path_style: true,
            access_key_id: None,
            secret_access_key: None,
            connect_timeout_secs: 5,
            operation_timeout_secs: 60,
        }
    }
}

/// An S3 secret access key. `Debug` and `Serialize` hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretAccessKey(String);

impl SecretAccessKey {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// Returns the secret itself, for signing requests.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretAccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretAccessKey(<hidden>)")
    }
}

impl Serialize for SecretAccessKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<hidden>")
    }
}

/// An access key id and its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Credentials {
    /// Access key id, such as `GK31c2f218a2e44f485b94239e`.
    pub access_key_id: String,
    /// The secret.
    pub secret_access_key: SecretAccessKey,
}

/// A validated [`S3Config`] with its credentials resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Settings {
    /// Base URL of the S3 API, without a trailing `/`.
    pub endpoint: String,
    /// Signing region.
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Path-style addressing.
    pub path_style: bool,
    /// Credentials.
    pub credentials: S3Credentials,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Operation timeout.
    pub operation_timeout: Duration,
}

impl S3Config {
    /// Validates the settings and resolves the credentials, from this configuration or
    /// else from the process environment.
    pub fn resolve(&self) -> Result<S3Settings, StorageError> {
        self.resolve_with_env(|name| std::env::var(name).ok())
    }

    /// As [`resolve`](Self::resolve), reading environment variables through `env`.
    pub fn resolve_with_env(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Settings, StorageError> {
        let endpoint = required(
            &self.endpoint,
            "storage.s3.endpoint",
            "http://127.0.0.1:3900",
        )?;
        let region = required(&self.region, "storage.s3.region", "garage")?;
        let bucket = required(&self.bucket, "storage.s3.bucket", "recordings")?;
        validate_endpoint(endpoint)?;
        validate_region(region)?;
        validate_bucket(bucket)?;

        Ok(S3Settings {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            region: region.to_owned(),
            bucket: bucket.to_owned(),
            path_style: self.path_style,
            credentials: self.credentials(env)?,
            connect_timeout: timeout(self.connect_timeout_secs, "storage.s3.connect_timeout_secs")?,
            operation_timeout: timeout(
                self.operation_timeout_secs,
                "storage.s3.operation_timeout_secs",
            )?,
        })
    }

    fn credentials(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<S3Credentials, StorageError> {
        let (id, secret) = match (&self.access_key_id, &self.secret_access_key) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            (Some(_), None) => return Err(half_set("storage.s3.secret_access_key")),
            (None, Some(_)) => return Err(half_set("storage.s3.access_key_id")),
            (None, None) => from_env(env)?,
        };
        if id.is_empty() {
            return Err(invalid("storage.s3.access_key_id", "is empty"));
        }
        if secret.expose().is_empty() {
            return Err(invalid("storage.s3.secret_access_key", "is empty"));
        }
        Ok(S3Credentials {
            access_key_id: id,
            secret_access_key: secret,
        })
    }
}

fn from_env(
    env: impl Fn(&str) -> Option<String>,
) -> Result<(String, SecretAccessKey), StorageError> {
    match (env(ACCESS_KEY_ID_VAR), env(SECRET_ACCESS_KEY_VAR)) {
        (Some(id), Some(secret)) => Ok((id, SecretAccessKey::new(secret))),
        _ => Err(invalid(
            "storage.s3.access_key_id",
            format!(
                "no S3 credentials: set storage.s3.access_key_id and \
                 storage.s3.secret_access_key, or the environment variables \
                 {ACCESS_KEY_ID_VAR} and {SECRET_ACCESS_KEY_VAR}"
            ),
        )),
    }
}

fn half_set(missing: &'static str) -> StorageError {
    invalid(
        missing,
        "is missing: set storage.s3.access_key_id and storage.s3.secret_access_key together",
    )
}

fn required<'a>(
    value: &'a Option<String>,
    key: &'static str,
    example: &str,
) -> Result<&'a str, StorageError> {
    match value.as_deref() {
        Some(value) if !value.is_empty() => Ok(value),
        _ => Err(invalid(
            key,
            format!("is missing, and the s3 backend needs it (for example {example:?})"),
        )),
    }
}

/// Accepts `http://` and `https://` URLs without user info, query or fragment, so that no
/// credential sits in the URL that error messages show.
fn validate_endpoint(endpoint: &str) -> Result<(), StorageError> {
    let key = "storage.s3.endpoint";
    let rest = endpoint
        .strip_prefix("http://")
        .or_else(|| endpoint.strip_prefix("https://"))
        .ok_or_else(|| {
            invalid(
                key,
                format!("{endpoint:?} does not start with http:// or https://"),
            )
        })?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err(invalid(key, format!("{endpoint:?} has no host")));
    }
    if authority.contains('@') {
        return Err(invalid(
            key,
            "contains user info ('@'): give credentials in access_key_id and secret_access_key",
        ));
    }
    if let Some(bad) = rest
        .chars()
        .find(|c| matches!(c, '?' | '#') || c.is_whitespace())
    {
        return Err(invalid(
            key,
            format!("{endpoint:?} contains {bad:?}: give a base URL without query or fragment"),
        ));
    }
    Ok(())
}

fn validate_region(region: &str) -> Result<(), StorageError> {
    let valid = region
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if valid {
        Ok(())
    } else {
        Err(invalid(
            "storage.s3.region",
            format!("{region:?} is not a region name: use letters, digits, '-' and '_'"),
        ))
    }
}

/// Applies the S3 bucket naming rules that every implementation shares: 3 to 63
/// characters from `a-z`, `0-9`, `.` and `-`, starting and ending with a letter or digit.
fn validate_bucket(bucket: &str) -> Result<(), StorageError> {
    let chars_ok = bucket
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
    let ends_ok = bucket.starts_with(|c: char| c.is_ascii_alphanumeric())
        && bucket.ends_with(|c: char| c.is_ascii_alphanumeric());
    if (3..=63).contains(&bucket.len()) && chars_ok && ends_ok {
        Ok(())
    } else {
        Err(invalid(
            "storage.s3.bucket",
            format!(
                "{bucket:?} is not a valid bucket name: use 3 to 63 characters from a-z, 0-9, \
                 '.' and '-', starting and ending with a letter or digit"
            ),
        ))
    }
}

fn timeout(secs: u64, key: &'static str) -> Result<Duration, StorageError> {
    if secs == 0 {
        return Err(invalid(key, "must be at least 1 second"));
    }
    Ok(Duration::from_secs(secs))
}

fn invalid(key: &'static str, reason: impl Into<String>) -> StorageError {
    StorageError::InvalidConfig {
        key,
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn garage() -> S3Config {
        S3Config {
            endpoint: Some("http://127.0.0.1:3900/".into()),
            region: Some("garage".into()),
            bucket: Some("recordings".into()),
            access_key_id: Some("GK0123".into()),
            secret_access_key: Some(SecretAccessKey::new("s3cr3t")),
            ..S3Config::default()
        }
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn error_key(result: Result<S3Settings, StorageError>) -> &'static str {
        match result {
            Err(StorageError::InvalidConfig { key, .. }) => key,
            other => panic!("expected InvalidConfig, got {other:?}"),
        }
    }

    #[test]
    fn default_is_local_recordings() {
        let config = StorageConfig::default();
        assert_eq!(config.backend, Backend::Local);
        assert_eq!(config.local_dir, PathBuf::from("recordings"));
        assert!(config.s3.path_style);
    }

    #[test]
    fn parses_toml_section() {
        let config: StorageConfig = toml::from_str(
            r#"
            backend = "s3"
            [s3]
            endpoint = "http://127.0.0.1:3900"
            region = "garage"
            bucket = "recordings"
            path_style = false
            access_key_id = "GK0123"
            secret_access_key = "s3cr3t"
            "#,
        )
        .unwrap();
        assert_eq!(config.backend, Backend::S3);
        assert!(!config.s3.path_style);
        assert_eq!(config.s3.secret_access_key.unwrap().expose(), "s3cr3t");
        assert!(toml::from_str::<StorageConfig>("backend = \"ftp\"").is_err());
        assert!(toml::from_str::<StorageConfig>("bucket = \"x\"").is_err());
    }

    #[test]
    fn resolve_trims_endpoint() {
        let settings = garage().resolve_with_env(no_env).unwrap();
        assert_eq!(settings.endpoint, "http://127.0.0.1:3900");
        assert_eq!(settings.credentials.access_key_id, "GK0123");
        assert_eq!(settings.operation_timeout, Duration::from_secs(60));
    }

    #[test]
    fn secret_hidden_from_debug_and_serialize() {
        let config = garage();
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
        let toml = toml::to_string(&config).unwrap();
        assert!(!toml.contains("s3cr3t"), "{toml}");
        let settings = config.resolve_with_env(no_env).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }

    #[test]
    fn credentials_from_env_when_unset() {
        let config = S3Config {
            access_key_id: None,
            secret_access_key: None,
            ..garage()
        };
        let env = |name: &str| match name {
            ACCESS_KEY_ID_VAR => Some("GKenv".to_owned()),
            SECRET_ACCESS_KEY_VAR => Some("envsecret".to_owned()),
            _ => None,
        };
        let settings = config.resolve_with_env(env).unwrap();
        assert_eq!(settings.credentials.access_key_id, "GKenv");
        assert_eq!(settings.credentials.secret_access_key.expose(), "envsecret");
        assert_eq!(
            error_key(config.resolve_with_env(no_env)),
            "storage.s3.access_key_id"
        );
    }

    #[test]
    fn validation_names_the_key() {
        let cases: [(S3Config, &str); 9] = [
            (
                S3Config {
                    endpoint: None,
                    ..garage()
                },
                "storage.s3.endpoint",
            ),
            (
                S3Config {
                    endpoint: Some("ftp://x".into()),
                    ..garage()
                },
                "storage.s3.endpoint",
            ),
            (
                S3Config {
                    endpoint: Some("http://id:secret@host".into()),
                    ..garage()
                },
                "storage.s3.endpoint",
            ),
            (
                S3Config {
                    endpoint: Some("http://host/?x=1".into()),
                    ..garage()
                },
                "storage.s3.endpoint",
            ),
            (
                S3Config {
                    region: Some(String::new()),
                    ..garage()
                },
                "storage.s3.region",
            ),
            (
                S3Config {
                    bucket: Some("Bad_Name".into()),
                    ..garage()
                },
                "storage.s3.bucket",
            ),
            (
                S3Config {
                    secret_access_key: None,
                    ..garage()
                },
                "storage.s3.secret_access_key",
            ),
            (
                S3Config {
                    connect_timeout_secs: 0,
                    ..garage()
                },
                "storage.s3.connect_timeout_secs",
            ),
            (
                S3Config {
                    operation_timeout_secs: 0,
                    ..garage()
                },
                "storage.s3.operation_timeout_secs",
            ),
        ];
        for (config, key) in cases {
            assert_eq!(
                error_key(config.resolve_with_env(no_env)),
                key,
                "{config:?}"
            );
        }
    }

    #[test]
    fn endpoint_error_hides_user_info() {
        let config = S3Config {
            endpoint: Some("http://id:topsecret@host".into()),
            ..garage()
        };
        let message = config.resolve_with_env(no_env).unwrap_err().to_string();
        assert!(!message.contains("topsecret"), "{message}");
    }
}
