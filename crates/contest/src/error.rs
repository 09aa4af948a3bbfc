//! The error of every domain operation.

use std::collections::BTreeMap;

use serde::Serialize;

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name, as in the request.
    pub field: String,
    /// Stable machine-readable code of the problem, such as `required` or `too_long`,
    /// which clients translate.
    pub code: String,
    /// The problem in English, such as "must not be empty".
    pub message: String,
    /// Values that the message names, such as `{"max": "200"}` for `too_long`; empty when
    /// the message names none.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl FieldError {
    /// Creates a field error without parameters.
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_owned(),
            code: code.to_owned(),
            message: message.into(),
            params: BTreeMap::new(),
        }
    }

    /// Creates an `out_of_range` error that names its limits in the `min` and `max`
    /// parameters.
    pub fn out_of_range(
        field: &str,
        min: impl ToString,
        max: impl ToString,
        message: impl Into<String>,
    ) -> Self {
        Self::new(field, "out_of_range", message)
            .with("min", min)
            .with("max", max)
    }

    /// Creates a `file_too_large` error for a file over `max_bytes`. It names the limit in
    /// whole MiB in the `max` parameter, so `max_bytes` should be a multiple of 1 MiB.
    pub fn file_too_large(field: &str, max_bytes: usize) -> Self {
        let mib = max_bytes >> 20;
        Self::new(
            field,
            "file_too_large",
            format!("must be at most {mib} MiB"),
        )
        .with("max", mib)
    }

    /// Adds a value that the message names.
    pub fn with(mut self, name: &str, value: impl ToString) -> Self {
        self.params.insert(name.to_owned(), value.to_string());
        self
    }

    /// Places the error on line `line` of an imported file. The error is then named
    /// `file_field`, such as `questions`, and its own field name, such as `points`, moves
    /// to the `field` parameter beside the `line` parameter.
    pub fn on_line(mut self, file_field: &str, line: u64) -> Self {
        let field = std::mem::replace(&mut self.field, file_field.to_owned());
        self.with("line", line).with("field", field)
    }
}

/// The reason an operation did not happen. Nothing is saved when one is returned.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more inputs are invalid.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// The record, or a record it refers to, does not exist.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The actor's role does not allow the action, or the record is not theirs.
    #[error("not allowed")]
    Forbidden,
    /// The request conflicts with what is stored, such as a duplicate name.
    #[error("{message}")]
    Conflict {
        /// Stable machine-readable code of the conflict, such as `stage_has_dependents`, which
        /// clients translate.
        code: &'static str,
        /// The conflict in English.
        message: String,
    },
    /// The login or password is wrong.
    #[error("wrong login or password")]
    WrongCredentials,
    /// The invite link is unknown, expired, revoked or already used.
    #[error("invite link is invalid, expired, revoked or already used")]
    InvalidInvite,
    /// The participant's deadline for the task has passed, so answers are rejected.
    #[error(
        "the time limit of this task ended at {deadline} (Unix ms); answers are no longer accepted"
    )]
    TimeUp {
        /// The deadline, in Unix milliseconds on the server clock.
        deadline: i64,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Error {
    /// Creates a conflict with its code and message.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict {
            code,
            message: message.into(),
        }
    }

    /// Creates an error for one invalid field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError::new(field, code, message)])
    }
}

impl From<FieldError> for Error {
    fn from(error: FieldError) -> Self {
        Self::Invalid(vec![error])
    }
}

/// Maps a unique-constraint violation to [`Error::Conflict`] with this code and message.
pub(crate) fn conflict_on_unique<'a>(
    code: &'static str,
    message: &'a str,
) -> impl FnOnce(sqlx::Error) -> Error + 'a {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => Error::conflict(code, message),
        _ => Error::Database(error),
    }
}
