//! Object metadata and presigned URLs, as the storage returns them.

use std::fmt;

use crate::key::ObjectKey;

/// An object's key and size.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectInfo {
    /// The key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
}

/// A URL that downloads one object without credentials until it expires.
///
/// Anyone holding it can read the object, so `Debug` hides it and it has no `Display`: log
/// the key and the expiry instead.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedUrl(String);

impl PresignedUrl {
    pub(crate) fn new(url: String) -> Self {
        Self(url)
    }

    /// Returns the URL, to hand to the client that downloads the object.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Returns the URL as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for PresignedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PresignedUrl(<hidden>)")
    }
}
