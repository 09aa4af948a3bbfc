//! Typed briefing events: what the media loop reports to storage, one JSON line each.

use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::signalling::protocol::Role;

/// Events the media loop may queue for storage before it drops new ones.
pub const EVENT_QUEUE_CAPACITY: usize = 4096;

/// One event of one briefing, with the server's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BriefingRecord {
    /// Room identifier.
    pub room: String,
    /// When it happened, in milliseconds since the Unix epoch on the server's clock.
    pub at_unix_ms: u64,
    /// What happened.
    #[serde(flatten)]
    pub event: BriefingEvent,
}

/// An event of a briefing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BriefingEvent {
    /// Someone joined.
    Joined {
        /// Identity from the token.
        identity: String,
        /// Display name from the token.
        name: String,
        /// Role from the token.
        role: Role,
    },
    /// Someone left, or their session was replaced or failed.
    Left {
        /// Identity of who left.
        identity: String,
    },
    /// A participant raised a hand.
    HandRaised {
        /// The participant.
        identity: String,
    },
    /// A hand went down.
    HandLowered {
        /// Whose hand.
        identity: String,
        /// The identity of whoever lowered it: the participant or an organiser. `None` when
        /// the participant got the floor or left.
        by: Option<String>,
    },
    /// An organiser gave a participant the floor.
    FloorGiven {
        /// The participant.
        identity: String,
        /// The organiser.
        by: String,
    },
    /// A participant lost the floor.
    FloorTaken {
        /// The participant.
        identity: String,
        /// The organiser who took it, or `None` when the participant left or the floor went
        /// to someone else.
        by: Option<String>,
    },
    /// A chat message.
    Chat {
        /// Sequence number within the briefing's stay in memory, from 1.
        id: u64,
        /// The sender.
        identity: String,
        /// The sender's display name.
        name: String,
        /// The sender's role.
        role: Role,
        /// The text.
        text: String,
    },
    /// The last person left; the briefing's state in memory is gone.
    Closed,
}

impl BriefingEvent {
    /// Returns whether storage must be synced to disk after this event.
    pub fn needs_sync(&self) -> bool {
        matches!(self, Self::Left { .. } | Self::Closed)
    }
}

/// The sending end of the bounded event queue. Sending never waits, so that a slow disk
/// cannot stall the media loop.
#[derive(Debug, Clone)]
pub struct EventSender {
    queue: Option<mpsc::Sender<BriefingRecord>>,
}

impl EventSender {
    /// Returns a sender and the receiving end of a queue of [`EVENT_QUEUE_CAPACITY`].
    pub fn channel() -> (Self, mpsc::Receiver<BriefingRecord>) {
        let (queue, receiver) = mpsc::channel(EVENT_QUEUE_CAPACITY);
        (Self { queue: Some(queue) }, receiver)
    }

    /// Returns a sender that discards every event, for servers and tests without storage.
    pub fn discarding() -> Self {
        Self { queue: None }
    }

    /// Queues an event. When the queue is full the event is lost, and an error is logged.
    pub fn send(&self, record: BriefingRecord) {
        let Some(queue) = &self.queue else {
            return;
        };
        match queue.try_send(record) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(record)) => {
                tracing::error!(room = %record.room, "briefing event queue full, event lost");
            }
            Err(mpsc::error::TrySendError::Closed(record)) => {
                tracing::error!(room = %record.room, "briefing event writer stopped, event lost");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_is_one_flat_json_object() {
        let record = BriefingRecord {
            room: "demo".into(),
            at_unix_ms: 5,
            event: BriefingEvent::FloorTaken {
                identity: "p1".into(),
                by: None,
            },
        };
        let value = serde_json::to_value(&record).unwrap();
        assert_eq!(value["event"], "floor_taken");
        assert_eq!(value["room"], "demo");
        assert_eq!(value["identity"], "p1");
        assert!(value["by"].is_null());
        let back: BriefingRecord = serde_json::from_value(value).unwrap();
        assert_eq!(back, record);
    }
}
