//! Briefings: rooms where organisers present to participants, who raise hands, speak when
//! given the floor and ask in a chat. See `docs/briefing.md`.
//!
//! The media loop keeps each briefing's [`room::BriefingRoom`] and reports attendance,
//! hands, floor changes and chat as [`events::BriefingRecord`]s on a bounded queue. A
//! writer task appends them to a [`store::BriefingStore`], which the attendance route
//! reads.

pub mod api;
pub mod attendance;
pub mod events;
pub mod room;
pub mod store;

use std::sync::Arc;

use crate::audit::AuditLog;
use store::BriefingStore;

/// State of the briefing routes.
pub struct Briefings {
    /// The store of briefing events.
    pub store: Arc<dyn BriefingStore>,
    /// Audit log of every read of attendance, which is personal data.
    pub audit: AuditLog,
}
