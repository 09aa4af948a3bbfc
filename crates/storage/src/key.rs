//! Object keys and key prefixes, validated when they are made.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Maximum length of an [`ObjectKey`] or [`KeyPrefix`], in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// Maximum length of one `/`-separated segment, in bytes: the file name limit of ext4, XFS
/// and most other Linux file systems, so that every key fits in a local folder too.
pub const MAX_SEGMENT_BYTES: usize = 255;

/// Name of an object in storage, such as `recordings/r1/cam-0001.webm`.
///
/// A key is relative and made of `/`-separated segments of ASCII letters, digits, `.`, `_`
/// and `-`. No segment is empty, `.` or `..`, a segment has at most [`MAX_SEGMENT_BYTES`]
/// bytes and the whole key at most [`MAX_KEY_BYTES`]. So a key joined to a folder always
/// names a path inside that folder, and means the same object in a bucket.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ObjectKey(String);

/// Start of object keys to list, such as `recordings/r1/` or `recordings/r1/cam-`.
///
/// A prefix may be empty, matching every key. Otherwise it follows the rules of
/// [`ObjectKey`], except that its last segment may be empty (a trailing `/`) or `.` or `..`,
/// because that segment only filters names and never becomes a path.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyPrefix(String);

/// Reason a string is not a valid [`ObjectKey`] or [`KeyPrefix`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The key is the empty string.
    #[error("the key is empty")]
    Empty,
    /// The key is longer than [`MAX_KEY_BYTES`].
    #[error("the key has {len} bytes, more than the maximum of {MAX_KEY_BYTES}")]
    TooLong {
        /// Length of the key in bytes.
        len: usize,
    },
    /// A segment is longer than [`MAX_SEGMENT_BYTES`].
    #[error("segment {index} has {len} bytes, more than the maximum of {MAX_SEGMENT_BYTES}")]
    SegmentTooLong {
        /// Position of the segment, from 0.
        index: usize,
        /// Length of the segment in bytes.
        len: usize,
    },
    /// The key contains a character outside `A-Z a-z 0-9 . _ - /`.
    #[error("character {character:?} at byte {position} is not allowed (use A-Z a-z 0-9 . _ - /)")]
    InvalidCharacter {
        /// The character.
        character: char,
        /// Byte offset of the character.
        position: usize,
    },
    /// The key starts with `/`, ends with `/` or contains `//`.
    #[error("segment {index} is empty (the key starts or ends with '/' or contains '//')")]
    EmptySegment {
        /// Position of the segment, from 0.
        index: usize,
    },
    /// A segment is `.` or `..`.
    #[error("segment {index} is {segment:?}, which is not allowed")]
    DotSegment {
        /// Position of the segment, from 0.
        index: usize,
        /// The segment: `.` or `..`.
        segment: &'static str,
    },
}

impl ObjectKey {
    /// Validates `key` and wraps it.
    pub fn new(key: impl Into<String>) -> Result<Self, KeyError> {
        let key = key.into();
        validate(&key, false)?;
        Ok(Self(key))
    }

    /// Returns the key as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Segments of the key, split at `/`.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// Checks whether this key starts with `prefix`, byte by byte as S3 compares.
    pub fn starts_with(&self, prefix: &KeyPrefix) -> bool {
        self.0.starts_with(prefix.as_str())
    }
}

impl KeyPrefix {
    /// Validates `prefix` and wraps it.
    pub fn new(prefix: impl Into<String>) -> Result<Self, KeyError> {
        let prefix = prefix.into();
        if !prefix.is_empty() {
            validate(&prefix, true)?;
        }
        Ok(Self(prefix))
    }

    /// Returns the empty prefix, which matches every key.
    pub fn all() -> Self {
        Self::default()
    }

    /// Returns the prefix as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the segments before the last `/`, which name the folder of every matching key.
    pub fn folder_segments(&self) -> impl Iterator<Item = &str> {
        let folder = self.0.rfind('/').map_or("", |end| &self.0[..end]);
        folder.split('/').filter(|segment| !segment.is_empty())
    }
}

/// Checks `key` against the rules of [`ObjectKey`]; with `prefix`, the last segment may be
/// empty, `.` or `..`.
fn validate(key: &str, prefix: bool) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(KeyError::TooLong { len: key.len() });
    }
    if let Some((position, character)) = key.char_indices().find(|(_, c)| !is_key_char(*c)) {
        return Err(KeyError::InvalidCharacter {
            character,
            position,
        });
    }

    let count = key.split('/').count();
    for (index, segment) in key.split('/').enumerate() {
        let last = index + 1 == count;
        if prefix && last {
            break;
        }
        validate_segment(index, segment)?;
    }
    Ok(())
}

fn validate_segment(index: usize, segment: &str) -> Result<(), KeyError> {
    match segment {
        "" => Err(KeyError::EmptySegment { index }),
        "." => Err(KeyError::DotSegment {
            index,
            segment: ".",
        }),
        ".." => Err(KeyError::DotSegment {
            index,
            segment: "..",
        }),
        _ if segment.len() > MAX_SEGMENT_BYTES => Err(KeyError::SegmentTooLong {
            index,
            len: segment.len(),
        }),
        _ => Ok(()),
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/')
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ObjectKey({:?})", self.0)
    }
}

impl fmt::Display for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyPrefix({:?})", self.0)
    }
}

impl FromStr for ObjectKey {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl FromStr for KeyPrefix {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = KeyError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<ObjectKey> for String {
    fn from(key: ObjectKey) -> Self {
        key.0
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<&ObjectKey> for KeyPrefix {
    /// Converts a key to the prefix that matches it and every key that starts with it.
    fn from(key: &ObjectKey) -> Self {
        Self(key.0.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_accepts_plain_paths() {
        for key in [
            "a",
            "recordings/r1/cam-0001.webm",
            ".hidden",
            "a/..b/c.",
            "A_Z-0.9",
        ] {
            assert!(ObjectKey::new(key).is_ok(), "{key} should be valid");
        }
    }

    #[test]
    fn key_rejects_traversal_and_odd_shapes() {
        let cases = [
            ("", KeyError::Empty),
            ("/a", KeyError::EmptySegment { index: 0 }),
            ("a/", KeyError::EmptySegment { index: 1 }),
            ("a//b", KeyError::EmptySegment { index: 1 }),
            (
                "..",
                KeyError::DotSegment {
                    index: 0,
                    segment: "..",
                },
            ),
            (
                "a/../b",
                KeyError::DotSegment {
                    index: 1,
                    segment: "..",
                },
            ),
            (
                "a/./b",
                KeyError::DotSegment {
                    index: 1,
                    segment: ".",
                },
            ),
            (
                "a\\b",
                KeyError::InvalidCharacter {
                    character: '\\',
                    position: 1,
                },
            ),
            (
                "a b",
                KeyError::InvalidCharacter {
                    character: ' ',
                    position: 1,
                },
            ),
            (
                "é",
                KeyError::InvalidCharacter {
                    character: 'é',
                    position: 0,
                },
            ),
            (
                "a\0",
                KeyError::InvalidCharacter {
                    character: '\0',
                    position: 1,
                },
            ),
        ];
        for (key, expected) in cases {
            assert_eq!(ObjectKey::new(key), Err(expected), "key {key:?}");
        }
    }

    #[test]
    fn key_length_limits() {
        let longest = format!("{}/{}", "a".repeat(255), "b".repeat(256));
        assert_eq!(longest.len(), MAX_KEY_BYTES);
        assert_eq!(
            ObjectKey::new(longest.clone()),
            Err(KeyError::SegmentTooLong { index: 1, len: 256 })
        );

        let fits = format!("{}/{}/{}", "a".repeat(255), "b".repeat(200), "c".repeat(55));
        assert_eq!(fits.len(), MAX_KEY_BYTES);
        assert!(ObjectKey::new(fits.clone()).is_ok());

        let over = format!("{fits}d");
        assert_eq!(
            ObjectKey::new(over),
            Err(KeyError::TooLong {
                len: MAX_KEY_BYTES + 1
            })
        );
    }

    #[test]
    fn prefix_allows_open_last_segment() {
        for prefix in ["", "a/", "a/b", "a/..", "a/.", "recordings/r1/cam-"] {
            assert!(KeyPrefix::new(prefix).is_ok(), "{prefix:?} should be valid");
        }
        for prefix in ["/", "../", "a//", "a/../b", "a b"] {
            assert!(
                KeyPrefix::new(prefix).is_err(),
                "{prefix:?} should be invalid"
            );
        }
    }

    #[test]
    fn prefix_folder_segments() {
        let folders = |p: &str| {
            let prefix = KeyPrefix::new(p).unwrap();
            prefix
                .folder_segments()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        };
        assert!(folders("").is_empty());
        assert!(folders("cam").is_empty());
        assert_eq!(folders("a/"), ["a"]);
        assert_eq!(folders("a/b/c"), ["a", "b"]);
        assert_eq!(folders("a/.."), ["a"]);
    }

    #[test]
    fn key_serde_validates() {
        let key: ObjectKey = serde_json::from_str("\"a/b.json\"").unwrap();
        assert_eq!(key.as_str(), "a/b.json");
        assert!(serde_json::from_str::<ObjectKey>("\"../b\"").is_err());
    }
}
