//! Delivery of one-time approval codes to the people who requested them.
//!
//! With `[mail] host` set, [`CodeSender::Mail`] e-mails each code to the address in the
//! person's record. Otherwise [`CodeSender::Outbox`] writes it as a JSON file into
//! `recording.data_dir/outbox/`, and the server's operator forwards it.

mod mail;
mod outbox;

use profstage_contest::scoring::{CodeChannel, IssuedCode};
use thiserror::Error;

pub use mail::{MailSetupError, Mailer};
pub use outbox::FileOutbox;

use crate::config::Config;

/// The destination of approval codes.
#[derive(Debug, Clone)]
pub enum CodeSender {
    /// The outbox folder, for the operator to forward.
    Outbox(FileOutbox),
    /// E-mail through the configured SMTP server. Boxed, because the SMTP client is far
    /// larger than the outbox's path.
    Mail(Box<Mailer>),
}

/// A code that did not reach its person. No variant contains the code or the address, so the
/// error can be logged as it is.
#[derive(Debug, Error)]
pub enum DeliveryError {
    /// The outbox file could not be written.
    #[error("failed to write the outbox file: {0}")]
    Outbox(#[from] std::io::Error),
    /// The code was issued without an address, which [`CodeChannel::Email`] prevents.
    #[error("the code was issued without an e-mail address")]
    NoAddress,
    /// The address in the person's record is not one an SMTP server accepts.
    #[error("the e-mail address in the person's record is not valid for sending")]
    InvalidAddress,
    /// The SMTP server replied with an error status.
    #[error("the SMTP server rejected the message with status {status}")]
    Rejected {
        /// The SMTP reply code, such as 550.
        status: String,
    },
    /// The SMTP server could not be reached, or the exchange broke off.
    #[error("the SMTP server is unavailable: {cause}")]
    Unavailable {
        /// The failed step: the connection, TLS or a timeout.
        cause: String,
    },
}

impl CodeSender {
    /// Chooses the mail server when `[mail] host` is set, otherwise the outbox folder.
    pub fn from_config(config: &Config) -> Result<Self, MailSetupError> {
        if config.mail.host.is_none() {
            let outbox = FileOutbox::in_data_dir(&config.recording.data_dir);
            return Ok(Self::Outbox(outbox));
        }
        Ok(Self::Mail(Box::new(Mailer::new(&config.mail)?)))
    }

    /// Returns how codes reach people, which decides what their record must contain.
    pub fn channel(&self) -> CodeChannel {
        match self {
            CodeSender::Outbox(_) => CodeChannel::Operator,
            CodeSender::Mail(_) => CodeChannel::Email,
        }
    }

    /// Delivers the code to the person it was issued to.
    pub async fn deliver(&self, code: &IssuedCode) -> Result<(), DeliveryError> {
        match self {
            CodeSender::Outbox(outbox) => Ok(outbox.deliver(code).await?),
            CodeSender::Mail(mailer) => mailer.deliver(code).await,
        }
    }
}
