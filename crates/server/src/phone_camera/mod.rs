//! A phone as a participant's second camera.
//!
//! The participant's page requests a one-time link ([`links`]), shown as a QR code
//! ([`qr`]). The phone opens it and exchanges the secret for a phone camera token
//! ([`crate::token::PhoneClaims`]), which joins the room only to publish the participant's
//! `camera2` (the media loop's `phone` module). The flow is described in
//! `docs/signalling.md` under "Phone camera".

pub mod api;
pub mod links;
pub mod qr;

use crate::audit::AuditLog;
use links::PhoneLinks;

/// The links and the audit log that records their issue and use.
#[derive(Debug)]
pub struct PhoneCamera {
    /// Links issued and not yet forgotten.
    pub links: PhoneLinks,
    /// Where issuing and redeeming a link is recorded.
    pub audit: AuditLog,
}

impl PhoneCamera {
    /// Creates an empty link store that audits to `audit`.
    pub fn new(audit: AuditLog) -> Self {
        Self {
            links: PhoneLinks::default(),
            audit,
        }
    }
}
