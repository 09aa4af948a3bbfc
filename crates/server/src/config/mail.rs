//! `[mail]`: the SMTP server that delivers one-time approval codes by e-mail.

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize, Serializer};

use super::ConfigError;

/// `[mail]`: the SMTP server for approval codes. Without `host`, codes go to the outbox
/// folder for the operator to forward.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MailConfig {
    /// Hostname or IP address of the SMTP server; `None` keeps the outbox folder.
    pub host: Option<String>,
    /// TCP port; `None` means the usual port of `security`.
    pub port: Option<u16>,
    /// Protection of the connection: plain, STARTTLS or TLS.
    pub security: MailSecurity,
    /// User name for SMTP authentication; `None` sends without authenticating.
    pub username: Option<String>,
    /// Password for SMTP authentication, required with `username`.
    pub password: Option<MailPassword>,
    /// Sender of the messages, such as `Profstage <noreply@example.org>`.
    pub from: Option<String>,
    /// PEM file with extra root certificates trusted for the SMTP server's certificate, for
    /// a relay with a private certificate authority.
    pub ca_file: Option<PathBuf>,
    /// Seconds to connect and to wait for each reply of the SMTP server.
    pub timeout_secs: u64,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            host: None,
            port: None,
            security: MailSecurity::Starttls,
            username: None,
            password: None,
            from: None,
            ca_file: None,
            timeout_secs: 10,
        }
    }
}

/// Protection of the connection to the SMTP server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailSecurity {
    /// Plain SMTP, allowed only to a loopback host such as a local relay.
    None,
    /// Plain SMTP upgraded with STARTTLS, which the server must offer (usually port 587).
    Starttls,
    /// TLS from the first byte, also called SMTPS (usually port 465).
    Tls,
}

impl MailSecurity {
    /// Returns the name used in the configuration: `none`, `starttls` or `tls`.
    pub fn as_str(self) -> &'static str {
        match self {
            MailSecurity::None => "none",
            MailSecurity::Starttls => "starttls",
            MailSecurity::Tls => "tls",
        }
    }

    /// Returns the usual port of this kind of connection.
    pub fn default_port(self) -> u16 {
        match self {
            MailSecurity::None => 25,
            MailSecurity::Starttls => 587,
            MailSecurity::Tls => 465,
        }
    }
}

impl FromStr for MailSecurity {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "none" => Ok(Self::None),
            "starttls" => Ok(Self::Starttls),
            "tls" => Ok(Self::Tls),
            _ => Err("expected none, starttls or tls".to_owned()),
        }
    }
}

/// The SMTP password. `Debug` and `Serialize` hide it.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct MailPassword(String);

impl MailPassword {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// Returns the password, for authenticating.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl FromStr for MailPassword {
    type Err = std::convert::Infallible;

    fn from_str(password: &str) -> Result<Self, Self::Err> {
        Ok(Self::new(password))
    }
}

impl fmt::Debug for MailPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MailPassword(<hidden>)")
    }
}

impl Serialize for MailPassword {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<hidden>")
    }
}

impl MailConfig {
    /// Returns the port to connect to: `port`, or the usual one of `security`.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(self.security.default_port())
    }

    /// Returns the parsed `from` address. [`MailConfig::validate`] has checked it whenever
    /// `host` is set.
    pub fn sender(&self) -> Option<Mailbox> {
        self.from.as_deref()?.parse().ok()
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let Some(host) = &self.host else {
            return self.validate_unused();
        };
        if host.trim().is_empty() {
            return Err(ConfigError::invalid(
                "mail.host",
                host,
                "must not be empty; remove it to keep codes in the outbox folder",
            ));
        }
        if self.security == MailSecurity::None && !is_loopback(host) {
            return Err(ConfigError::invalid(
                "mail.security",
                "none",
                "plain SMTP is allowed only to a loopback host such as 127.0.0.1; \
                 use starttls or tls",
            ));
        }
        if self.port == Some(0) {
            return Err(ConfigError::invalid(
                "mail.port",
                0,
                "must be a port from 1 to 65535",
            ));
        }
        if self.timeout_secs == 0 {
            return Err(ConfigError::invalid(
                "mail.timeout_secs",
                0,
                "must be at least 1 second",
            ));
        }
        self.validate_sender()?;
        self.validate_credentials()
    }

    fn validate_sender(&self) -> Result<(), ConfigError> {
        let Some(from) = &self.from else {
            return Err(ConfigError::invalid(
                "mail.from",
                "<unset>",
                "must be set with mail.host, for example \"Profstage <noreply@example.org>\"",
            ));
        };
        match from.parse::<Mailbox>() {
            Ok(_) => Ok(()),
            Err(error) => Err(ConfigError::invalid(
                "mail.from",
                from,
                format!("{error}; expected an address such as \"Profstage <noreply@example.org>\""),
            )),
        }
    }

    fn validate_credentials(&self) -> Result<(), ConfigError> {
        match (&self.username, &self.password) {
            (Some(_), None) => Err(ConfigError::invalid(
                "mail.password",
                "<unset>",
                "must be set with mail.username; prefer PROFSTAGE_MAIL_PASSWORD",
            )),
            (None, Some(_)) => Err(ConfigError::invalid(
                "mail.username",
                "<unset>",
                "must be set with mail.password",
            )),
            _ => Ok(()),
        }
    }

    /// Rejects keys that take effect only with `host`, so that a forgotten host does not
    /// leave codes in the outbox unnoticed.
    fn validate_unused(&self) -> Result<(), ConfigError> {
        let set = [
            ("mail.port", self.port.is_some()),
            ("mail.username", self.username.is_some()),
            ("mail.password", self.password.is_some()),
            ("mail.from", self.from.is_some()),
            ("mail.ca_file", self.ca_file.is_some()),
        ];
        match set.iter().find(|(_, is_set)| *is_set) {
            Some((key, _)) => Err(ConfigError::invalid(
                key,
                "<set>",
                "takes effect only with mail.host; set mail.host or remove it",
            )),
            None => Ok(()),
        }
    }
}

/// Returns whether `host` is `localhost` or a loopback IP address.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
