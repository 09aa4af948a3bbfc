//! Access tokens: HMAC-SHA256 JWTs naming room, identity, display name and role, and
//! phone camera tokens, which let a phone publish one participant's second camera.
//!
//! The claims are described in `docs/signalling.md` under "Access" and "Phone camera".

use std::fmt;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::signalling::protocol::{Role, RoomKind};

/// Clock difference tolerated when checking `exp`, in seconds.
pub const LEEWAY_SECS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Identity, unique within the room.
    pub sub: String,
    /// Display name shown to others.
    pub name: String,
    /// Room identifier.
    pub room: String,
    /// The holder's role in the room.
    pub role: Role,
    /// The purpose of the room. Tokens without the claim are for a contest room.
    #[serde(default, skip_serializing_if = "RoomKind::is_contest")]
    pub kind: RoomKind,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry time, in seconds since the Unix epoch.
    pub exp: u64,
}

/// The scope of a phone camera token: the one source of its participant it may publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PhoneScope {
    /// The participant's second camera, `camera2`.
    Camera2,
}

/// The claims of a phone camera token. The token has no `role` claim, so
/// [`TokenKeys::verify`] rejects it as malformed, and an access token has no `scope` claim,
/// so [`TokenKeys::verify_phone`] rejects access tokens: neither kind passes for the other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneClaims {
    /// Identity of the participant whose camera the phone is.
    pub sub: String,
    /// The participant's display name.
    pub name: String,
    /// Room identifier.
    pub room: String,
    /// The only source the phone may publish.
    pub scope: PhoneScope,
    /// Issue time, in seconds since the Unix epoch.
    pub iat: u64,
    /// Expiry time, in seconds since the Unix epoch.
    pub exp: u64,
}

/// A reason to reject a token. The messages never contain the token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum TokenError {
    /// The token is not a JWT with the expected header and claims.
    #[error("malformed token")]
    Malformed,
    /// The signature does not match, or the token is not signed with HS256.
    #[error("invalid token signature")]
    InvalidSignature,
    /// The token's `exp` has passed.
    #[error("token has expired")]
    Expired,
    /// A claim is empty, too long or contains characters it may not.
    #[error("invalid claim {0} in token")]
    InvalidClaim(&'static str),
}

/// Maximum length of an identity (`sub`), in characters.
pub const MAX_IDENTITY_CHARS: usize = 128;
/// Maximum length of a display name, in characters.
pub const MAX_NAME_CHARS: usize = 100;

/// Returns whether `text` can be shown as a name or a chat line. Such text has at least one
/// visible character. It has no control characters, no line or paragraph separators and no
/// invisible format characters (Unicode category Cf: soft hyphens, zero-width spaces,
/// bidirectional overrides and isolates, the byte order mark, tags), because with those one
/// name could pass for another or look blank. The zero-width joiner is allowed between two visible characters, where it
/// joins emoji sequences; emoji tag sequences, such as subdivision flags, are not allowed.
pub fn is_display_text(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let allowed = chars.iter().enumerate().all(|(index, &c)| {
        if c == ZERO_WIDTH_JOINER {
            let before = index.checked_sub(1).and_then(|i| chars.get(i));
            let after = chars.get(index + 1);
            return before.is_some_and(|&c| is_visible(c)) && after.is_some_and(|&c| is_visible(c));
        }
        !(c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') || is_format(c))
    });
    allowed && chars.iter().any(|&c| is_visible(c))
}

const ZERO_WIDTH_JOINER: char = '\u{200D}';

/// Returns whether `c` is a visible character: not white space, control, format or a character
/// that renders blank (Hangul fillers, the blank Braille pattern).
fn is_visible(c: char) -> bool {
    let blank = matches!(
        c,
        '\u{115F}' | '\u{1160}' | '\u{3164}' | '\u{FFA0}' | '\u{2800}'
    );
    !(c.is_whitespace() || c.is_control() || is_format(c) || blank)
}

/// Returns whether `c` is in Unicode general category Cf (format), as of Unicode 15.
fn is_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{0600}'..='\u{0605}'
            | '\u{061C}'
            | '\u{06DD}'
            | '\u{070F}'
            | '\u{0890}'..='\u{0891}'
            | '\u{08E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

impl Claims {
    /// Checks the claims that end up in other people's pages and in logs.
    pub fn validate(&self) -> Result<(), TokenError> {
        let identity_length = self.sub.chars().count();
        let identity_ok = (1..=MAX_IDENTITY_CHARS).contains(&identity_length)
            && is_display_text(&self.sub)
            && !self.sub.chars().any(char::is_whitespace);
        if !identity_ok {
            return Err(TokenError::InvalidClaim("sub"));
        }
        let name_length = self.name.trim().chars().count();
        if !(1..=MAX_NAME_CHARS).contains(&name_length) || !is_display_text(&self.name) {
            return Err(TokenError::InvalidClaim("name"));
        }
        Ok(())
    }
}

/// Keys that sign and verify access tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    /// Builds the keys from an HMAC secret. The configuration requires at least 32 bytes.
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Signs the claims with HS256 and returns the compact JWT.
    pub fn issue(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HMAC signing cannot fail and Claims always serializes to JSON")
    }

    /// Checks the signature, the expiry and the identity and name, and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| token_error(&error))?;
        claims.validate()?;
        Ok(claims)
    }

    /// Signs phone camera claims with HS256 and returns the compact JWT.
    pub fn issue_phone(&self, claims: &PhoneClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HMAC signing cannot fail and PhoneClaims always serializes to JSON")
    }

    /// Checks a phone camera token's signature and expiry and returns its claims.
    pub fn verify_phone(&self, token: &str) -> Result<PhoneClaims, TokenError> {
        let claims = jsonwebtoken::decode::<PhoneClaims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|error| token_error(&error))?;
        let member = Claims {
            sub: claims.sub.clone(),
            name: claims.name.clone(),
            room: claims.room.clone(),
            role: Role::Participant,
            kind: RoomKind::Contest,
            iat: claims.iat,
            exp: claims.exp,
        };
        member.validate()?;
        Ok(claims)
    }
}

fn token_error(error: &jsonwebtoken::errors::Error) -> TokenError {
    match error.kind() {
        ErrorKind::InvalidSignature | ErrorKind::InvalidAlgorithm => TokenError::InvalidSignature,
        ErrorKind::ExpiredSignature => TokenError::Expired,
        _ => TokenError::Malformed,
    }
}

impl fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenKeys")
            .field("algorithm", &Algorithm::HS256)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::time::{SystemTime, UNIX_EPOCH};

    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    fn now() -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
    }

    fn claims(exp: u64) -> Claims {
        Claims {
            sub: "u-1a2b3c".to_owned(),
            name: "Иванов И. И.".to_owned(),
            room: "demo".to_owned(),
            role: Role::Expert,
            kind: RoomKind::Contest,
            iat: now(),
            exp,
        }
    }

    /// `{"alg":"none","typ":"JWT"}` in base64url without padding.
    const ALG_NONE_HEADER: &str = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";

    #[test]
    fn issue_then_verify_round_trips() {
        let keys = TokenKeys::new(SECRET);
        let original = claims(now() + 600);
        let token = keys.issue(&original);
        assert_eq!(keys.verify(&token), Ok(original));
    }

    #[test]
    fn verify_rejects_other_secret() {
        let token = TokenKeys::new(SECRET).issue(&claims(now() + 600));
        let other = TokenKeys::new(b"another-secret-of-at-least-32-bytes!");
        assert_eq!(other.verify(&token), Err(TokenError::InvalidSignature));
    }

    #[test]
    fn verify_rejects_expired() {
        let keys = TokenKeys::new(SECRET);
        let token = keys.issue(&claims(now() - 2 * LEEWAY_SECS - 1));
        assert_eq!(keys.verify(&token), Err(TokenError::Expired));
    }

    #[test]
    fn verify_accepts_expiry_within_leeway() {
        let keys = TokenKeys::new(SECRET);
        let token = keys.issue(&claims(now() - 1));
        assert!(keys.verify(&token).is_ok());
    }

    #[test]
    fn kind_round_trips_and_defaults_to_contest() {
        let keys = TokenKeys::new(SECRET);
        let mut briefing = claims(now() + 600);
        briefing.kind = RoomKind::Briefing;
        assert_eq!(keys.verify(&keys.issue(&briefing)), Ok(briefing));

        let body = serde_json::json!({
            "sub": "u-1", "name": "n", "room": "demo", "role": "expert",
            "iat": now(), "exp": now() + 60
        });
        let encoding = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&Header::default(), &body, &encoding).unwrap();
        assert_eq!(keys.verify(&token).unwrap().kind, RoomKind::Contest);
    }

    #[test]
    fn verify_rejects_unknown_kind() {
        let keys = TokenKeys::new(SECRET);
        let body = serde_json::json!({
            "sub": "u-1", "name": "n", "room": "demo", "role": "expert",
            "kind": "party", "iat": now(), "exp": now() + 60
        });
        let encoding = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&Header::default(), &body, &encoding).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn verify_rejects_alg_none() {
        let keys = TokenKeys::new(SECRET);
        let signed = keys.issue(&claims(now() + 600));
        let payload = signed.split('.').nth(1).unwrap();
        let token = format!("{ALG_NONE_HEADER}.{payload}.");
        assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn verify_rejects_other_hmac_algorithm() {
        let keys = TokenKeys::new(SECRET);
        let header = Header::new(Algorithm::HS512);
        let encoding = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&header, &claims(now() + 600), &encoding).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::InvalidSignature));
    }

    #[test]
    fn verify_rejects_missing_exp() {
        let keys = TokenKeys::new(SECRET);
        let body = serde_json::json!({
            "sub": "u-1", "name": "n", "room": "demo", "role": "expert", "iat": now()
        });
        let encoding = EncodingKey::from_secret(SECRET);
        let token = jsonwebtoken::encode(&Header::default(), &body, &encoding).unwrap();
        assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn verify_rejects_garbage() {
        let keys = TokenKeys::new(SECRET);
        for token in ["", "abc", "a.b.c", "....", "ä.ö.ü"] {
            assert_eq!(keys.verify(token), Err(TokenError::Malformed), "{token:?}");
        }
    }

    fn phone_claims(exp: u64) -> PhoneClaims {
        PhoneClaims {
            sub: "u-1a2b3c".to_owned(),
            name: "Иванов И. И.".to_owned(),
            room: "demo".to_owned(),
            scope: PhoneScope::Camera2,
            iat: now(),
            exp,
        }
    }

    #[test]
    fn phone_token_round_trips() {
        let keys = TokenKeys::new(SECRET);
        let original = phone_claims(now() + 600);
        let token = keys.issue_phone(&original);
        assert_eq!(keys.verify_phone(&token), Ok(original));
    }

    #[test]
    fn phone_token_is_no_access_token() {
        let keys = TokenKeys::new(SECRET);
        let token = keys.issue_phone(&phone_claims(now() + 600));
        assert_eq!(keys.verify(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn access_token_is_no_phone_token() {
        let keys = TokenKeys::new(SECRET);
        let mut participant = claims(now() + 600);
        participant.role = Role::Participant;
        let token = keys.issue(&participant);
        assert_eq!(keys.verify_phone(&token), Err(TokenError::Malformed));
    }

    #[test]
    fn phone_token_expires() {
        let keys = TokenKeys::new(SECRET);
        let token = keys.issue_phone(&phone_claims(now() - 2 * LEEWAY_SECS - 1));
        assert_eq!(keys.verify_phone(&token), Err(TokenError::Expired));
    }

    #[test]
    fn debug_hides_secret() {
        let keys = TokenKeys::new(b"visible-if-leaked-0123456789abcdef");
        let printed = format!("{keys:?}");
        assert!(!printed.contains("visible-if-leaked"), "{printed}");
        assert!(printed.contains("TokenKeys"), "{printed}");
    }

    #[test]
    fn claims_with_bad_identity_are_rejected() {
        let keys = TokenKeys::new(SECRET);
        for sub in [
            "",
            "two words",
            "line\nbreak",
            &"x".repeat(MAX_IDENTITY_CHARS + 1),
        ] {
            let mut bad = claims(now() + 60);
            bad.sub = sub.to_owned();
            let result = keys.verify(&keys.issue(&bad));
            assert_eq!(result, Err(TokenError::InvalidClaim("sub")), "sub {sub:?}");
        }
    }

    #[test]
    fn claims_with_bad_name_are_rejected() {
        let keys = TokenKeys::new(SECRET);
        for name in [
            " ",
            "\u{202E}nimda",
            "\u{200B}",
            "tab\there",
            &"я".repeat(MAX_NAME_CHARS + 1),
        ] {
            let mut bad = claims(now() + 60);
            bad.name = name.to_owned();
            let result = keys.verify(&keys.issue(&bad));
            assert_eq!(
                result,
                Err(TokenError::InvalidClaim("name")),
                "name {name:?}"
            );
        }
    }

    #[test]
    fn display_text_needs_a_visible_character() {
        let cases = [
            ("Иванова Мария", true),
            ("Zoë O'Neil", true),
            ("李小龙", true),
            ("Anna 👩‍💻", true),
            ("👨‍👩‍👧", true),
            ("Anna\u{2028}Bob", false),
            ("Anna\u{2029}", false),
            ("An\u{00AD}na", false),
            ("Anna\u{200B}", false),
            ("\u{202E}annA", false),
            ("\u{061C}Anna", false),
            ("\u{200D}Anna", false),
            ("Anna\u{200D}", false),
            ("a\u{200D} b", false),
            ("\u{3164}", false),
            ("\u{2800}\u{2800}", false),
            ("\u{115F}\u{1160}", false),
            ("\u{FFA0}", false),
            ("   ", false),
            ("", false),
            ("Anna\u{0007}", false),
        ];
        for (text, expected) in cases {
            assert_eq!(is_display_text(text), expected, "{text:?}");
        }
    }
}
