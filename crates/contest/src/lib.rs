//! The contest domain of Profstage: contests, regional stages, nominations, stage parts,
//! people and their roles, expert groups, media rooms and who is assigned to them, accounts,
//! sessions, invite links, applications, scheduled briefings, task texts with their time
//! limits, theory tests with their question banks and results, scoring and protocols, and
//! the audit log.
//!
//! It stores everything in SQLite or PostgreSQL through one code path (sqlx's `Any` driver
//! and portable SQL) and depends on nothing of WebRTC or HTTP. Every operation takes the
//! requesting [`Actor`], checks the permission with [`access::allows`], and writes its audit
//! entry in the same transaction as the change it describes.

#![warn(missing_docs)]

pub mod access;
pub mod accounts;
pub mod applications;
mod assignments;
mod audit;
mod briefings;
mod corrections;
mod db;
mod error;
mod groups;
mod ids;
pub mod invites;
mod limiter_events;
mod own_application;
mod people;
pub mod scoring;
mod structure;
pub mod task_work;
pub mod tasks;
#[doc(hidden)]
pub mod testing;
pub mod theory;
mod validate;

pub use access::{Action, Actor, Role};
pub use accounts::{NewSession, SessionInfo};
pub use applications::{
    Application, ApplicationFilter, ApplicationForm, ApplicationStatus, Attachment, AttachmentKind,
    ConsentText, NewApplication, NewAttachment, Status, Submitted, Transition,
};
pub use assignments::{Assignment, RoomAccess, RoomKind};
pub use audit::{AuditEntry, AuditFilter};
pub use briefings::{Briefing, BriefingChange, NewBriefing};
pub use db::{Backend, Database, DatabaseError, Lifetimes};
pub use error::{Error, FieldError};
pub use groups::{ExpertGroup, NewExpertGroup};
pub use ids::{
    ApplicationId, AttachmentId, BriefingId, ContestId, CriterionId, ExpertGroupId,
    IdentityCheckId, InviteId, NominationId, PersonId, ProtocolId, QuestionId, RoomId, SessionId,
    SheetId, StageId, StagePartId, SubmissionId, TaskId,
};
pub use invites::{Invite, InviteLink, NewInvite};
pub use limiter_events::{LimiterEvent, LimiterKind};
pub use own_application::OwnApplication;
pub use people::{NewPerson, Person};
pub use scoring::{
    Criterion, CriterionKind, NewCriterion, NewScoringRule, Protocol, ProtocolKind, ScoringRule,
    Sheet, SheetInput, Summary,
};
pub use structure::{
    Contest, NewContest, NewNomination, NewRoom, NewStage, NewStagePart, Nomination, PartKind,
    Room, Stage, StagePart,
};
pub use task_work::{
    MyTask, NewAnswer, OpenedTask, Opening, Submission, SubmissionFile, SubmissionKind, TaskEvent,
    TaskState,
};
pub use tasks::{LimitMode, NewTask, Task, TaskKind};

/// A page of a list: at most `limit` entries starting at `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// Entries to skip.
    pub offset: u64,
    /// Entries to return, from 1 to [`Page::MAX_LIMIT`].
    pub limit: u64,
}

impl Page {
    /// Largest page size.
    pub const MAX_LIMIT: u64 = 200;
    /// Page size when none is given.
    pub const DEFAULT_LIMIT: u64 = 50;

    /// Checks the limits and builds a page.
    pub fn new(offset: Option<u64>, limit: Option<u64>) -> Result<Self, Error> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            let message = format!("must be from 1 to {}", Self::MAX_LIMIT);
            return Err(FieldError::out_of_range("limit", 1, Self::MAX_LIMIT, message).into());
        }
        let offset = offset.unwrap_or(0);
        if offset > i64::MAX as u64 {
            return Err(Error::invalid("offset", "too_large", "is too large"));
        }
        Ok(Self { offset, limit })
    }

    /// Asks the database for one entry more than the page holds, to tell whether a next
    /// page exists.
    pub(crate) fn sql(&self) -> String {
        format!("LIMIT {} OFFSET {}", self.limit + 1, self.offset)
    }

    /// Cuts the extra entry and returns the items and the next page's offset.
    pub(crate) fn finish<T>(&self, mut rows: Vec<T>) -> Listing<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        Listing {
            next_offset: more.then_some(self.offset + self.limit),
            items: rows,
        }
    }
}

/// One page of a list.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Listing<T> {
    /// The entries.
    pub items: Vec<T>,
    /// Offset of the next page, or `None` on the last page.
    pub next_offset: Option<u64>,
}
