//! Attendance: who was in a briefing and from when to when, worked out from its events.

use serde::Serialize;

use super::events::{BriefingEvent, BriefingRecord};
use crate::signalling::protocol::Role;

/// Attendance of one room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendance {
    /// Room identifier.
    pub room: String,
    /// Everyone who joined, in the order of their first join.
    pub people: Vec<Attendee>,
}

/// One person and their stays in the room.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attendee {
    /// Identity from the token.
    pub identity: String,
    /// Display name from the token, as at the latest join.
    pub name: String,
    /// Role from the token, as at the latest join.
    pub role: Role,
    /// Each stay from join to leave, oldest first.
    pub sessions: Vec<Stay>,
}

/// One stay in the room, on the server's clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stay {
    /// Join time, in milliseconds since the Unix epoch.
    pub joined_unix_ms: u64,
    /// Leave time, or `None` while the person is still in the room.
    // NOTE: a stay open when the server stopped without closing the briefing (a crash or a
    // kill) stays open in the file and reads as `None` here.
    pub left_unix_ms: Option<u64>,
}

/// Works out attendance from a room's events, oldest first.
pub fn attendance(room: &str, records: &[BriefingRecord]) -> Attendance {
    let mut people: Vec<Attendee> = Vec::new();
    for record in records {
        match &record.event {
            BriefingEvent::Joined {
                identity,
                name,
                role,
            } => {
                let index = match people.iter().position(|p| &p.identity == identity) {
                    Some(index) => index,
                    None => {
                        people.push(Attendee {
                            identity: identity.clone(),
                            name: name.clone(),
                            role: *role,
                            sessions: Vec::new(),
                        });
                        people.len() - 1
                    }
                };
                let person = &mut people[index];
                person.name.clone_from(name);
                person.role = *role;
                person.sessions.push(Stay {
                    joined_unix_ms: record.at_unix_ms,
                    left_unix_ms: None,
                });
            }
            BriefingEvent::Left { identity } => {
                let open = people
                    .iter_mut()
                    .find(|p| &p.identity == identity)
                    .and_then(|p| p.sessions.last_mut())
                    .filter(|s| s.left_unix_ms.is_none());
                if let Some(stay) = open {
                    stay.left_unix_ms = Some(record.at_unix_ms);
                }
            }
            _ => {}
        }
    }
    Attendance {
        room: room.to_owned(),
        people,
    }
}

/// Formats attendance as CSV (RFC 4180), one row per stay, with UTC times in RFC 3339.
pub fn to_csv(attendance: &Attendance) -> String {
    let mut csv = String::from("identity,name,role,joined_at,left_at\r\n");
    for person in &attendance.people {
        let role = person.role.as_str();
        for stay in &person.sessions {
            let left = stay.left_unix_ms.map(rfc3339).unwrap_or_default();
            let fields = [
                csv_field(&person.identity),
                csv_field(&person.name),
                role.to_owned(),
                rfc3339(stay.joined_unix_ms),
                left,
            ];
            csv.push_str(&fields.join(","));
            csv.push_str("\r\n");
        }
    }
    csv
}

/// Quotes a field, and puts an apostrophe before text that a spreadsheet would run as a
/// formula (starting with `=`, `+`, `-` or `@`).
fn csv_field(text: &str) -> String {
    let guarded = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    format!("\"{}\"", guarded.replace('"', "\"\""))
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
fn rfc3339(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let in_day = seconds % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3600,
        in_day / 60 % 60,
        in_day % 60,
        unix_ms % 1000
    )
}

/// Converts days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's
/// `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(at_unix_ms: u64, event: BriefingEvent) -> BriefingRecord {
        BriefingRecord {
            room: "r".into(),
            at_unix_ms,
            event,
        }
    }

    fn joined(identity: &str, name: &str) -> BriefingEvent {
        BriefingEvent::Joined {
            identity: identity.into(),
            name: name.into(),
            role: Role::Participant,
        }
    }

    fn left(identity: &str) -> BriefingEvent {
        BriefingEvent::Left {
            identity: identity.into(),
        }
    }

    #[test]
    fn stays_pair_joins_with_leaves() {
        let records = [
            at(1, joined("a", "A")),
            at(2, joined("b", "B")),
            at(3, left("a")),
            at(4, joined("a", "A2")),
            at(5, left("b")),
            at(6, left("b")),
        ];
        let result = attendance("r", &records);
        assert_eq!(result.people.len(), 2);
        let a = &result.people[0];
        assert_eq!(a.name, "A2");
        let stays: Vec<_> = a
            .sessions
            .iter()
            .map(|s| (s.joined_unix_ms, s.left_unix_ms))
            .collect();
        assert_eq!(stays, [(1, Some(3)), (4, None)]);
        let b = &result.people[1];
        assert_eq!(b.sessions.len(), 1);
        assert_eq!(b.sessions[0].left_unix_ms, Some(5));
    }

    #[test]
    fn csv_quotes_and_guards_fields() {
        let records = [
            at(0, joined("a", "Иванов, \"Ваня\"")),
            at(1_700_000_000_123, joined("b", "=HYPERLINK()")),
            at(1_700_000_060_000, left("b")),
        ];
        let csv = to_csv(&attendance("r", &records));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "identity,name,role,joined_at,left_at");
        assert_eq!(
            lines[1],
            "\"a\",\"Иванов, \"\"Ваня\"\"\",participant,1970-01-01T00:00:00.000Z,"
        );
        assert_eq!(
            lines[2],
            "\"b\",\"'=HYPERLINK()\",participant,2023-11-14T22:13:20.123Z,2023-11-14T22:14:20.000Z"
        );
    }

    #[test]
    fn dates_cross_leap_years() {
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(4_107_542_399_999), "2100-02-28T23:59:59.999Z");
    }
}
