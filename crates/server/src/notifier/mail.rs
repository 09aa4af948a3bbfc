//! E-mail delivery of approval codes through an SMTP server, with lettre over rustls.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use profstage_contest::scoring::{IssuedCode, APPROVAL_CODE_LIFETIME_MS};
use thiserror::Error;

use super::DeliveryError;
use crate::config::{MailConfig, MailSecurity};

/// Subject of every approval code message, in Russian and English.
const SUBJECT: &str = "Код подтверждения протокола / Protocol approval code";

/// Sends approval codes by e-mail through one SMTP server, opening a connection per message.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Bound of a whole delivery: [`STEPS_PER_DELIVERY`] times the per-step timeout.
    limit: Duration,
}

/// Steps of an exchange that the whole delivery may take, each at most `mail.timeout_secs`:
/// connecting, the greeting and TLS, the login, and the message. The client's own timeout
/// did not end a login that got no reply: such a server held a request for 300 s.
const STEPS_PER_DELIVERY: u32 = 4;

/// A `[mail]` section that passed validation but still cannot be used.
#[derive(Debug, Error)]
pub enum MailSetupError {
    /// `mail.ca_file` could not be read.
    #[error("failed to read mail.ca_file {path}: {source}")]
    ReadCaFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// `mail.ca_file` contains no usable PEM certificate.
    #[error("mail.ca_file {path} is not a PEM certificate file: {source}")]
    InvalidCaFile {
        /// The file.
        path: PathBuf,
        /// lettre's error.
        source: lettre::transport::smtp::Error,
    },
    /// The TLS client could not be set up.
    #[error("failed to set up TLS for mail.host: {0}")]
    Tls(lettre::transport::smtp::Error),
    /// `mail.host` or `mail.from` is missing, which validation rejects.
    #[error("mail.host and mail.from must both be set")]
    Incomplete,
}

impl Mailer {
    /// Builds the SMTP client of a validated `[mail]` section. Nothing is sent yet.
    pub fn new(config: &MailConfig) -> Result<Self, MailSetupError> {
        let host = config.host.as_deref().ok_or(MailSetupError::Incomplete)?;
        let from = config.sender().ok_or(MailSetupError::Incomplete)?;
        let tls = match config.security {
            MailSecurity::None => Tls::None,
            MailSecurity::Starttls => Tls::Required(tls_parameters(host, config)?),
            MailSecurity::Tls => Tls::Wrapper(tls_parameters(host, config)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(config.port())
            .tls(tls)
            .timeout(Some(Duration::from_secs(config.timeout_secs)));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            let credentials = Credentials::new(username.clone(), password.expose().to_owned());
            builder = builder.credentials(credentials);
        }
        Ok(Self {
            transport: builder.build(),
            from,
            limit: Duration::from_secs(config.timeout_secs) * STEPS_PER_DELIVERY,
        })
    }

    /// Sends the code to the e-mail address it was issued with.
    pub async fn deliver(&self, code: &IssuedCode) -> Result<(), DeliveryError> {
        let message = self.message(code)?;
        match tokio::time::timeout(self.limit, self.transport.send(message)).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(smtp_failure(&error)),
            Err(_) => Err(DeliveryError::Unavailable {
                cause: format!("timed out after {} s", self.limit.as_secs()),
            }),
        }
    }

    fn message(&self, code: &IssuedCode) -> Result<Message, DeliveryError> {
        let address = code.email.as_deref().ok_or(DeliveryError::NoAddress)?;
        let to: Mailbox = address.parse().map_err(|_| DeliveryError::InvalidAddress)?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(SUBJECT)
            .header(ContentType::TEXT_PLAIN)
            .body(message_text(&code.code))
            .map_err(|_| DeliveryError::InvalidAddress)
    }
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").finish_non_exhaustive()
    }
}

fn tls_parameters(host: &str, config: &MailConfig) -> Result<TlsParameters, MailSetupError> {
    let mut builder = TlsParameters::builder(host.to_owned());
    if let Some(path) = &config.ca_file {
        let pem = std::fs::read(path).map_err(|source| MailSetupError::ReadCaFile {
            path: path.clone(),
            source,
        })?;
        let certificate =
            Certificate::from_pem(&pem).map_err(|source| MailSetupError::InvalidCaFile {
                path: path.clone(),
                source,
            })?;
        builder = builder.add_root_certificate(certificate);
    }
    builder.build_rustls().map_err(MailSetupError::Tls)
}

/// Returns the message body: Russian first, as the contest runs in Russian, then English.
fn message_text(code: &str) -> String {
    let minutes = APPROVAL_CODE_LIFETIME_MS / 60_000;
    format!(
        "Здравствуйте!\n\n\
         Ваш код подтверждения протокола: {code}\n\
         Код действует {minutes} минут и только в том сеансе, в котором его запросили. \
         Никому его не сообщайте. Если вы не запрашивали код, удалите это письмо.\n\n\
         Your protocol approval code is {code}. It is valid for {minutes} minutes, only in \
         the session that requested it. Do not share it with anyone.\n"
    )
}

/// Classifies a failed SMTP exchange. The server's reply text is left out because it
/// often quotes the recipient's address.
fn smtp_failure(error: &lettre::transport::smtp::Error) -> DeliveryError {
    if let Some(status) = error.status() {
        return DeliveryError::Rejected {
            status: status.to_string(),
        };
    }
    let cause = if error.is_response() {
        "the SMTP server sent an invalid reply".to_owned()
    } else if error.is_timeout() {
        "timed out".to_owned()
    } else {
        // Network, TLS and client errors describe the connection, not the message.
        error.to_string()
    };
    DeliveryError::Unavailable { cause }
}
