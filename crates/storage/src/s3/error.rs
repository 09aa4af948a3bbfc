//! Turning SDK errors into [`StorageError`]s.

use std::error::Error;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use crate::error::{StorageError, Target};

/// Removes credentials from error text: S3 error messages may quote the access key id.
#[derive(Debug, Clone)]
pub(super) struct Redactor {
    secrets: Vec<String>,
}

impl Redactor {
    pub(super) fn new(secrets: Vec<String>) -> Self {
        let secrets = secrets.into_iter().filter(|s| !s.is_empty()).collect();
        Self { secrets }
    }

    pub(super) fn redact(&self, text: String) -> String {
        self.secrets
            .iter()
            .fold(text, |text, secret| text.replace(secret, "<hidden>"))
    }
}

/// Classifies an SDK error. Timeouts, connection failures and HTTP 5xx and 429 responses
/// are retryable, and other error responses are rejections.
pub(super) fn from_sdk<E>(
    error: SdkError<E, HttpResponse>,
    target: Target,
    redactor: &Redactor,
) -> StorageError
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    let reason = redactor.redact(describe(&error));
    match &error {
        SdkError::TimeoutError(_) => StorageError::TimedOut {
            target,
            reason: "the operation timeout ran out".to_owned(),
        },
        SdkError::DispatchFailure(failure) if failure.is_timeout() => {
            StorageError::TimedOut { target, reason }
        }
        SdkError::DispatchFailure(failure) if failure.is_user() => {
            StorageError::InvalidRequest { target, reason }
        }
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            StorageError::Unreachable { target, reason }
        }
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            if status >= 500 || status == 429 {
                StorageError::Unreachable { target, reason }
            } else {
                StorageError::Rejected { target, reason }
            }
        }
        SdkError::ConstructionFailure(_) => StorageError::InvalidRequest { target, reason },
        _ => StorageError::Rejected { target, reason },
    }
}

/// Describes an error as `HTTP 403 AccessDenied: message` for error responses, and as the
/// chain of error messages for the rest.
fn describe<E>(error: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + Error + Send + Sync + 'static,
{
    let SdkError::ServiceError(service) = error else {
        return chain(error);
    };
    let status = service.raw().status().as_u16();
    match (error.code(), error.message()) {
        (Some(code), Some(message)) => format!("HTTP {status} {code}: {message}"),
        (Some(code), None) => format!("HTTP {status} {code}"),
        _ => format!("HTTP {status}"),
    }
}

/// Error for a body that broke off while it was read.
pub(super) fn body_error(
    error: impl Error + Send + Sync + 'static,
    target: Target,
    redactor: &Redactor,
) -> StorageError {
    StorageError::Unreachable {
        target,
        reason: redactor.redact(format!(
            "reading the response body failed: {}",
            chain(&error)
        )),
    }
}

/// Joins the messages of `error` and its sources with `: `. Unlike the SDK's
/// `DisplayErrorContext`, it leaves out the `Debug` dump of the whole error.
fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let message = cause.to_string();
        if !text.ends_with(&message) {
            text.push_str(": ");
            text.push_str(&message);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_joins_sources() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let outer = std::io::Error::other(Wrapped(inner));
        assert_eq!(chain(&outer), "connect failed: refused");
    }

    #[derive(Debug)]
    struct Wrapped(std::io::Error);

    impl std::fmt::Display for Wrapped {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("connect failed")
        }
    }

    impl Error for Wrapped {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }

    #[test]
    fn redactor_hides_every_secret() {
        let redactor = Redactor::new(vec!["GK123".into(), "topsecret".into(), String::new()]);
        let text = redactor.redact("key GK123 with topsecret and GK123".into());
        assert_eq!(text, "key <hidden> with <hidden> and <hidden>");
    }
}
