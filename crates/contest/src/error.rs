//! The error of every domain operation.

use serde::Serialize;

/// A problem with one input field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FieldError {
    /// The field's name, as in the request.
    pub field: String,
    /// The problem with the field, such as "must not be empty".
    pub message: String,
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
    #[error("{0}")]
    Conflict(String),
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
    /// Creates an error for one invalid field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }
}

/// Maps a unique-constraint violation to [`Error::Conflict`] with this message.
pub(crate) fn conflict_on_unique(message: &str) -> impl FnOnce(sqlx::Error) -> Error + '_ {
    move |error| match &error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Error::Conflict(message.to_owned())
        }
        _ => Error::Database(error),
    }
}
