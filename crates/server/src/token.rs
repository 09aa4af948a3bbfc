//! Access tokens: HMAC-SHA256 JWTs naming room, identity, display name and role.
