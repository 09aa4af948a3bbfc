//! Access tokens: HMAC-SHA256 JWTs naming room, identity, display name and role.

/// Keys that sign and verify access tokens.
pub struct TokenKeys {}
