//! Delivery of one-time approval codes to the people who asked for them.
//!
//! The server ships one notifier, [`FileOutbox`], which writes each message as a JSON file
//! into `recording.data_dir/outbox/`, for development and tests. A production deployment
//! plugs in its e-mail or SMS gateway by implementing [`Notifier`] and looking up the
//! person's address from their record.

use std::future::Future;
use std::path::PathBuf;

use profstage_contest::scoring::IssuedCode;
use serde::Serialize;

/// Sends one-time codes to people.
pub trait Notifier {
    /// Delivers an approval code to the person it was issued to.
    fn deliver(&self, code: &IssuedCode) -> impl Future<Output = std::io::Result<()>> + Send;
}

/// Writes each message as one JSON file into a folder.
#[derive(Debug, Clone)]
pub struct FileOutbox {
    folder: PathBuf,
}

/// One message of the outbox, as written.
#[derive(Debug, Serialize)]
struct OutboxMessage<'a> {
    to: &'a str,
    kind: &'static str,
    protocol_id: &'a str,
    code: &'a str,
    expires_at: i64,
    text: String,
}

impl FileOutbox {
    /// Uses `folder`, creating it on first delivery.
    pub fn new(folder: PathBuf) -> Self {
        Self { folder }
    }

    /// Returns the outbox of a data folder: its `outbox` subfolder.
    pub fn in_data_dir(data_dir: &std::path::Path) -> Self {
        Self::new(data_dir.join("outbox"))
    }
}

impl Notifier for FileOutbox {
    async fn deliver(&self, code: &IssuedCode) -> std::io::Result<()> {
        let minutes = profstage_contest::scoring::APPROVAL_CODE_LIFETIME_MS / 60_000;
        let message = OutboxMessage {
            to: code.person_id.as_str(),
            kind: "approval_code",
            protocol_id: code.protocol_id.as_str(),
            code: &code.code,
            expires_at: code.expires_at,
            text: format!(
                "Код подтверждения протокола: {}. Действует {minutes} мин.",
                code.code
            ),
        };
        let body = serde_json::to_vec_pretty(&message).map_err(std::io::Error::other)?;
        tokio::fs::create_dir_all(&self.folder).await?;
        let name = format!("{}-{}.json", code.expires_at, uuid::Uuid::new_v4().simple());
        let path = self.folder.join(name);
        let mut options = tokio::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&path).await?;
        tokio::io::AsyncWriteExt::write_all(&mut file, &body).await?;
        tokio::io::AsyncWriteExt::flush(&mut file).await?;
        Ok(())
    }
}
