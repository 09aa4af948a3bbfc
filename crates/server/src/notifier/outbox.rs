//! The outbox folder: each approval code as one JSON file, for the server's operator to
//! forward when no SMTP server is configured.

use std::path::PathBuf;

use profstage_contest::scoring::IssuedCode;
use serde::Serialize;

/// Writes each message as one JSON file into a folder.
#[derive(Debug, Clone)]
pub struct FileOutbox {
    folder: PathBuf,
}

/// One message of the outbox, as written.
#[derive(Debug, Serialize)]
struct OutboxMessage<'a> {
    /// The person's id, full name and telephone number.
    to: &'a str,
    to_name: &'a str,
    to_phone: Option<&'a str>,
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

    /// Writes the code as a new file, readable by the server's user only.
    pub async fn deliver(&self, code: &IssuedCode) -> std::io::Result<()> {
        let minutes = profstage_contest::scoring::APPROVAL_CODE_LIFETIME_MS / 60_000;
        let message = OutboxMessage {
            to: code.person_id.as_str(),
            to_name: &code.name,
            to_phone: code.phone.as_deref(),
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
