//! Identifiers: lowercase hyphenated UUIDv4 strings, as stored in the TEXT id columns and
//! sent in JSON.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(value_type = String, format = "uuid"))]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Generates a fresh random identifier.
            pub fn generate() -> Self {
                Self(Uuid::new_v4().hyphenated().to_string())
            }

            /// Returns the identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(Self(value))
            }

            fn column_text(&self) -> String {
                self.0.clone()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(value: &str) -> Result<Self, Self::Err> {
                let uuid = Uuid::parse_str(value).map_err(|_| InvalidId)?;
                Ok(Self(uuid.hyphenated().to_string()))
            }
        }

        impl TryFrom<String> for $name {
            type Error = InvalidId;

            fn try_from(value: String) -> Result<Self, Self::Error> {
                value.parse()
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        crate::ids::text_column!($name);
    };
}

/// Stores a newtype over `String` as a TEXT column.
macro_rules! text_column {
    ($name:ty) => {
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <String as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                <$name>::from_column(text)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <String as sqlx::Encode<'q, sqlx::Any>>::encode(self.column_text(), buf)
            }
        }
    };
}
pub(crate) use text_column;

/// A text that is not a UUID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid id: expected a UUID such as 67e55044-10b1-426f-9247-bb680e5fe0c8")]
pub struct InvalidId;

id_type!(
    /// A contest.
    ContestId
);
id_type!(
    /// A regional stage of a contest.
    StageId
);
id_type!(
    /// A nomination (profession) within a stage.
    NominationId
);
id_type!(
    /// A theory or practice part of a nomination.
    StagePartId
);
id_type!(
    /// A person: organiser, participant, expert, commission member or support.
    PersonId
);
id_type!(
    /// An expert group.
    ExpertGroupId
);
id_type!(
    /// A media room. Its text is also the room id in media tokens and signalling.
    RoomId
);
id_type!(
    /// An invite link; not its secret.
    InviteId
);
id_type!(
    /// A session, as named in the audit log; not its cookie secret.
    SessionId
);
id_type!(
    /// An application to take part in a nomination.
    ApplicationId
);
id_type!(
    /// A file attached to an application.
    AttachmentId
);
id_type!(
    /// A scheduled briefing; its room has an id of its own.
    BriefingId
);
id_type!(
    /// A task of a stage part.
    TaskId
);
id_type!(
    /// A text answer or file sent for a task.
    SubmissionId
);
