//! Roles, actions and the one table that decides which role may do what.

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::ids::{PersonId, SessionId};

/// A person's role in the contest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the contest: creates its structure, people, rooms and invites.
    Organiser,
    /// Competes in a nomination.
    Participant,
    /// Assesses participants, as a member of an expert group.
    Expert,
    /// Member of a regional commission, which oversees a stage.
    CommissionMember,
    /// Helps people connect and use the system.
    Support,
}

impl Role {
    /// Every role, in the order of the permission table.
    pub const ALL: [Role; 5] = [
        Role::Organiser,
        Role::Participant,
        Role::Expert,
        Role::CommissionMember,
        Role::Support,
    ];

    /// Returns the role's name as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Organiser => "organiser",
            Role::Participant => "participant",
            Role::Expert => "expert",
            Role::CommissionMember => "commission_member",
            Role::Support => "support",
        }
    }

    fn from_column(value: String) -> Result<Self, sqlx::error::BoxDynError> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| format!("unknown role {value:?}").into())
    }

    fn column_text(&self) -> String {
        self.as_str().to_owned()
    }
}

crate::ids::text_column!(Role);

/// Something a person may ask to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read contests, stages, nominations, stage parts, expert groups and rooms.
    ReadStructure,
    /// Create, change and delete contests, stages, nominations, stage parts and rooms.
    ManageStructure,
    /// Read other people's personal records.
    ReadPeople,
    /// Create people and expert groups, and change and delete people.
    ManagePeople,
    /// Read who is assigned to which room.
    ReadAssignments,
    /// Assign people to rooms and remove them.
    ManageAssignments,
    /// List the briefings of a stage.
    ReadBriefings,
    /// Schedule, change and cancel briefings.
    ManageBriefings,
    /// Create, list and revoke invite links.
    ManageInvites,
    /// Read and export the audit log.
    ReadAudit,
    /// Get a media token for a room one is assigned to.
    JoinAssignedRoom,
    /// Read one's own record and rooms.
    ReadOwnRecord,
    /// Read, review, accept and reject applications, read their attachments and export
    /// the participants they created.
    ReviewApplications,
    /// Create, change, publish and list tasks.
    ManageTasks,
    /// Open the tasks of one's assigned stage parts and send answers.
    TakeTasks,
    /// Read the openings and submissions of tasks (experts: of their nominations).
    ReadTaskWork,
    /// Keep the theory question banks, create theory tests and import their results.
    ManageTheory,
    /// Read and export theory test results (experts: of their nominations).
    ReadTheoryResults,
    /// Read identity snapshots and confirm or reject them (experts: of their nominations).
    ReviewIdentity,
    /// Define assessment criteria and a stage's scoring rule.
    ManageScoring,
    /// Fill, lock and, as a group's chair, reopen assessment sheets; generate the group's
    /// protocol. Membership of the expert group is checked as well.
    AssessParticipants,
    /// Read summary sheets and protocols. Experts read only their groups'.
    ReadScores,
    /// Approve a protocol with a one-time code, as a member of the group or commission.
    ApproveProtocols,
}

impl Action {
    /// Every action, in the order of the permission table.
    pub const ALL: [Action; 23] = [
        Action::ReadStructure,
        Action::ManageStructure,
        Action::ReadPeople,
        Action::ManagePeople,
        Action::ReadAssignments,
        Action::ManageAssignments,
        Action::ReadBriefings,
        Action::ManageBriefings,
        Action::ManageInvites,
        Action::ReadAudit,
        Action::JoinAssignedRoom,
        Action::ReadOwnRecord,
        Action::ReviewApplications,
        Action::ManageTasks,
        Action::TakeTasks,
        Action::ReadTaskWork,
        Action::ManageTheory,
        Action::ReadTheoryResults,
        Action::ReviewIdentity,
        Action::ManageScoring,
        Action::AssessParticipants,
        Action::ReadScores,
        Action::ApproveProtocols,
    ];
}

/// Returns whether `role` may perform `action`. This is the only place that decides it;
/// `docs/contest.md` prints the same table.
pub fn allows(role: Role, action: Action) -> bool {
    use Action::*;
    match role {
        Role::Organiser => true,
        Role::Support => matches!(
            action,
            ReadStructure
                | ReadPeople
                | ReadAssignments
                | ReadBriefings
                | JoinAssignedRoom
                | ReadOwnRecord
        ),
        Role::CommissionMember => matches!(
            action,
            ReadStructure
                | ReadAssignments
                | ReadBriefings
                | JoinAssignedRoom
                | ReadOwnRecord
                | ReadScores
                | ApproveProtocols
        ),
        Role::Expert => matches!(
            action,
            ReadStructure
                | ReadBriefings
                | JoinAssignedRoom
                | ReadOwnRecord
                | ReadTaskWork
                | ReadTheoryResults
                | ReviewIdentity
                | AssessParticipants
                | ReadScores
                | ApproveProtocols
        ),
        Role::Participant => matches!(action, JoinAssignedRoom | ReadOwnRecord | TakeTasks),
    }
}

/// The performer of an operation: a signed-in person, or the server's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// The person, or `None` for the command line.
    pub person: Option<PersonId>,
    /// The person's role; the command line acts as an organiser.
    pub role: Role,
    /// The session the request came with, for the audit log.
    pub session: Option<SessionId>,
}

impl Actor {
    /// Returns the actor of the `profstage` command line, run by the server's operator.
    pub fn command_line() -> Self {
        Self {
            person: None,
            role: Role::Organiser,
            session: None,
        }
    }

    /// Returns `Ok` when the actor's role allows `action`, [`Error::Forbidden`] otherwise.
    pub fn check(&self, action: Action) -> Result<(), Error> {
        if allows(self.role, action) {
            Ok(())
        } else {
            Err(Error::Forbidden)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn organiser_may_do_everything() {
        for action in Action::ALL {
            assert!(allows(Role::Organiser, action), "{action:?}");
        }
    }

    #[test]
    fn only_organisers_manage_or_read_audit() {
        let organiser_only = [
            Action::ManageStructure,
            Action::ManagePeople,
            Action::ManageAssignments,
            Action::ManageBriefings,
            Action::ManageInvites,
            Action::ReadAudit,
            Action::ReviewApplications,
            Action::ManageTasks,
            Action::ManageTheory,
            Action::ManageScoring,
        ];
        for role in Role::ALL.into_iter().filter(|r| *r != Role::Organiser) {
            for action in organiser_only {
                assert!(!allows(role, action), "{role:?} {action:?}");
            }
        }
    }

    #[test]
    fn every_role_may_read_own_record_and_join() {
        for role in Role::ALL {
            assert!(allows(role, Action::ReadOwnRecord), "{role:?}");
            assert!(allows(role, Action::JoinAssignedRoom), "{role:?}");
        }
    }

    #[test]
    fn participants_read_no_structure_or_people() {
        assert!(!allows(Role::Participant, Action::ReadStructure));
        assert!(!allows(Role::Participant, Action::ReadPeople));
        assert!(!allows(Role::Expert, Action::ReadPeople));
        assert!(!allows(Role::CommissionMember, Action::ReadPeople));
        assert!(allows(Role::Support, Action::ReadPeople));
    }
}
