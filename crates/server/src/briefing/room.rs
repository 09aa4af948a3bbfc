//! The state of one briefing while anyone is in it: raised hands, the floor and the chat.
//!
//! It decides nothing about media and sends nothing: the media loop applies its results to
//! the router and to the people in the room.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use crate::signalling::protocol::{
    BriefingState, ChatEntry, FloorHolder, Hand, Role, MAX_CHAT_CHARS,
};
use crate::token::is_display_text;
use crate::token_bucket::TokenBucket;

/// Chat messages kept in memory and sent to people who join.
pub const CHAT_HISTORY: usize = 200;

/// Chat messages one person may send in a burst, and per second after it (one every three
/// seconds).
const CHAT_BURST: f64 = 5.0;
const CHAT_PER_SECOND: f64 = 1.0 / 3.0;

/// The reason a chat message was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatError {
    /// Nothing is left after trimming spaces.
    #[error("The chat message is empty.")]
    Empty,
    /// The text is longer than [`MAX_CHAT_CHARS`].
    #[error("The chat message has {chars} characters; the limit is {MAX_CHAT_CHARS}.")]
    TooLong {
        /// Characters after trimming.
        chars: usize,
    },
    /// The text contains control or invisible formatting characters.
    #[error("The chat message contains control or invisible formatting characters; send plain text on one line.")]
    InvalidCharacters,
    /// The sender is over the chat rate limit.
    #[error("Too many chat messages; wait a few seconds and send again.")]
    RateLimited,
}

/// A person who sends a briefing request or is named in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Identity from the token.
    pub identity: String,
    /// Display name from the token.
    pub name: String,
    /// Role from the token.
    pub role: Role,
}

/// Hands, floor and chat of one briefing.
#[derive(Default)]
pub struct BriefingRoom {
    /// Raised hands, oldest first.
    hands: Vec<Hand>,
    floor: Option<FloorHolder>,
    chat: VecDeque<ChatEntry>,
    chat_count: u64,
    chat_limits: HashMap<String, TokenBucket>,
}

impl BriefingRoom {
    /// Raises `person`'s hand. Returns the hand, or `None` when it is already up.
    pub fn raise_hand(&mut self, person: &Person, at_unix_ms: u64) -> Option<Hand> {
        if self.hands.iter().any(|h| h.identity == person.identity) {
            return None;
        }
        let hand = Hand {
            identity: person.identity.clone(),
            name: person.name.clone(),
            at_unix_ms,
        };
        self.hands.push(hand.clone());
        Some(hand)
    }

    /// Lowers the hand of `identity`. Returns whether it was up.
    pub fn lower_hand(&mut self, identity: &str) -> bool {
        let before = self.hands.len();
        self.hands.retain(|h| h.identity != identity);
        self.hands.len() != before
    }

    /// Gives `person` the floor. Returns who had it before, unless that was `person`.
    pub fn give_floor(&mut self, person: &Person) -> Option<FloorHolder> {
        let holder = FloorHolder {
            identity: person.identity.clone(),
            name: person.name.clone(),
        };
        let previous = self.floor.replace(holder);
        previous.filter(|p| p.identity != person.identity)
    }

    /// Takes the floor back. Returns who had it.
    pub fn take_floor(&mut self) -> Option<FloorHolder> {
        self.floor.take()
    }

    /// Returns who has the floor.
    pub fn floor(&self) -> Option<&FloorHolder> {
        self.floor.as_ref()
    }

    /// Checks a chat message and the sender's rate limit, and keeps it. The limit counts
    /// only valid messages, by identity, so a new session does not reset it.
    pub fn post_chat(
        &mut self,
        now: Instant,
        at_unix_ms: u64,
        sender: &Person,
        text: &str,
    ) -> Result<ChatEntry, ChatError> {
        let text = validate_chat(text)?;
        let bucket = self
            .chat_limits
            .entry(sender.identity.clone())
            .or_insert_with(|| TokenBucket::new(CHAT_BURST, CHAT_PER_SECOND));
        if !bucket.take(now) {
            return Err(ChatError::RateLimited);
        }
        self.chat_count += 1;
        let entry = ChatEntry {
            id: self.chat_count,
            identity: sender.identity.clone(),
            name: sender.name.clone(),
            role: sender.role,
            text: text.to_owned(),
            at_unix_ms,
        };
        if self.chat.len() == CHAT_HISTORY {
            self.chat.pop_front();
        }
        self.chat.push_back(entry.clone());
        Ok(entry)
    }

    /// Returns the state a person sees on joining: organisers see every hand, participants
    /// their own, experts none.
    pub fn state_for(&self, viewer: &Person) -> BriefingState {
        let hands = match viewer.role {
            Role::Organiser => self.hands.clone(),
            Role::Participant => (self.hands.iter())
                .filter(|h| h.identity == viewer.identity)
                .cloned()
                .collect(),
            Role::Expert => Vec::new(),
        };
        BriefingState {
            floor: self.floor.clone(),
            hands,
            chat: self.chat.iter().cloned().collect(),
        }
    }
}

/// Returns the trimmed text, or why it may not be posted.
pub fn validate_chat(text: &str) -> Result<&str, ChatError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ChatError::Empty);
    }
    let chars = text.chars().count();
    if chars > MAX_CHAT_CHARS {
        return Err(ChatError::TooLong { chars });
    }
    if !is_display_text(text) {
        return Err(ChatError::InvalidCharacters);
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn person(identity: &str, role: Role) -> Person {
        Person {
            identity: identity.into(),
            name: format!("Name of {identity}"),
            role,
        }
    }

    #[test]
    fn hands_queue_in_order_once_each() {
        let mut room = BriefingRoom::default();
        let (a, b) = (
            person("a", Role::Participant),
            person("b", Role::Participant),
        );
        assert!(room.raise_hand(&a, 1).is_some());
        assert!(room.raise_hand(&b, 2).is_some());
        assert!(
            room.raise_hand(&a, 3).is_none(),
            "a second raise changes nothing"
        );
        let organiser = person("o", Role::Organiser);
        let queue: Vec<_> = room.state_for(&organiser).hands;
        let order: Vec<_> = queue.iter().map(|h| h.identity.as_str()).collect();
        assert_eq!(order, ["a", "b"]);
        assert_eq!(queue[0].at_unix_ms, 1);

        assert!(room.lower_hand("a"));
        assert!(!room.lower_hand("a"));
        assert_eq!(room.state_for(&organiser).hands.len(), 1);
    }

    #[test]
    fn state_shows_hands_by_role() {
        let mut room = BriefingRoom::default();
        let (a, b) = (
            person("a", Role::Participant),
            person("b", Role::Participant),
        );
        room.raise_hand(&a, 1);
        room.raise_hand(&b, 2);
        assert_eq!(room.state_for(&person("o", Role::Organiser)).hands.len(), 2);
        let own = room.state_for(&a).hands;
        assert_eq!(own.len(), 1);
        assert_eq!(own[0].identity, "a");
        assert!(room.state_for(&person("e", Role::Expert)).hands.is_empty());
    }

    #[test]
    fn floor_moves_and_reports_previous() {
        let mut room = BriefingRoom::default();
        let (a, b) = (
            person("a", Role::Participant),
            person("b", Role::Participant),
        );
        assert_eq!(room.give_floor(&a), None);
        assert_eq!(room.give_floor(&a), None, "giving it again takes nothing");
        let previous = room.give_floor(&b).expect("a loses the floor");
        assert_eq!(previous.identity, "a");
        assert_eq!(room.floor().map(|f| f.identity.as_str()), Some("b"));
        assert_eq!(room.take_floor().map(|f| f.identity), Some("b".into()));
        assert_eq!(room.take_floor(), None);
    }

    #[test]
    fn chat_rejects_bad_text() {
        let too_long = "я".repeat(MAX_CHAT_CHARS + 1);
        let cases = [
            ("", ChatError::Empty),
            ("   ", ChatError::Empty),
            (
                too_long.as_str(),
                ChatError::TooLong {
                    chars: MAX_CHAT_CHARS + 1,
                },
            ),
            ("two\nlines", ChatError::InvalidCharacters),
            ("bell\u{7}", ChatError::InvalidCharacters),
            ("\u{202E}desrever", ChatError::InvalidCharacters),
            ("zero\u{200B}width", ChatError::InvalidCharacters),
        ];
        let mut room = BriefingRoom::default();
        let sender = person("a", Role::Participant);
        for (text, expected) in cases {
            let result = room.post_chat(Instant::now(), 1, &sender, text);
            assert_eq!(result, Err(expected), "text {text:?}");
        }
        assert!(room.state_for(&sender).chat.is_empty(), "nothing was kept");
    }

    #[test]
    fn chat_accepts_limit_and_trims() {
        let mut room = BriefingRoom::default();
        let sender = person("a", Role::Participant);
        let longest = format!("  {}  ", "я".repeat(MAX_CHAT_CHARS));
        let entry = room
            .post_chat(Instant::now(), 7, &sender, &longest)
            .unwrap();
        assert_eq!(entry.text.chars().count(), MAX_CHAT_CHARS);
        assert_eq!(entry.id, 1);
        assert_eq!(entry.at_unix_ms, 7);
        assert_eq!(entry.name, "Name of a");
    }

    #[test]
    fn chat_rate_limit_per_sender() {
        let mut room = BriefingRoom::default();
        let (a, b) = (person("a", Role::Participant), person("b", Role::Organiser));
        let start = Instant::now();
        for i in 0..5 {
            assert!(
                room.post_chat(start, 1, &a, "question").is_ok(),
                "message {i}"
            );
        }
        let over = room.post_chat(start, 1, &a, "one more");
        assert_eq!(over, Err(ChatError::RateLimited));
        assert!(
            room.post_chat(start, 1, &b, "answer").is_ok(),
            "b has its own limit"
        );
        let later = start + Duration::from_secs(3);
        assert!(room.post_chat(later, 1, &a, "after a pause").is_ok());
        let ids: Vec<u64> = room.state_for(&a).chat.iter().map(|c| c.id).collect();
        assert_eq!(ids, [1, 2, 3, 4, 5, 6, 7]);
    }

    #[test]
    fn chat_history_is_bounded() {
        let mut room = BriefingRoom::default();
        let start = Instant::now();
        for i in 0..CHAT_HISTORY + 10 {
            let sender = person(&format!("p{i}"), Role::Participant);
            room.post_chat(start, 1, &sender, "hello").unwrap();
        }
        let chat = room.state_for(&person("o", Role::Organiser)).chat;
        assert_eq!(chat.len(), CHAT_HISTORY);
        assert_eq!(chat[0].id, 11);
    }
}
