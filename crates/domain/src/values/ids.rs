//! Identifiers: UUID version 7, so new rows append to the primary-key index in time order.

use std::fmt;
use uuid::Uuid;

macro_rules! uuid_v7_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Uuid);

        impl $name {
            /// A new, time-ordered identifier.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// Wraps an identifier read back from storage or a token.
            pub fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            /// Reads the hyphenated (or simple) form; anything else is `None`.
            pub fn parse(raw: &str) -> Option<Self> {
                Uuid::try_parse(raw).ok().map(Self)
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, formatter)
            }
        }
    };
}

uuid_v7_id!(
    /// Identifies a user.
    ///
    /// ```
    /// use domain::UserId;
    ///
    /// let id = UserId::new();
    /// assert_eq!(id.as_uuid().get_version_num(), 7);
    /// assert_eq!(UserId::parse(&id.to_string()), Some(id));
    /// assert_eq!(UserId::parse("42"), None);
    /// ```
    UserId
);

uuid_v7_id!(
    /// Identifies a session: one signed-in device, whose refresh token rotates.
    ///
    /// ```
    /// use domain::SessionId;
    ///
    /// let first = SessionId::new();
    /// let second = SessionId::new();
    /// assert!(first <= second, "version 7 ids sort by creation time");
    /// ```
    SessionId
);

uuid_v7_id!(
    /// Identifies an audit event.
    ///
    /// ```
    /// use domain::AuditEventId;
    ///
    /// assert_eq!(AuditEventId::new().as_uuid().get_version_num(), 7);
    /// ```
    AuditEventId
);

uuid_v7_id!(
    /// Identifies a message in the outbox.
    ///
    /// ```
    /// use domain::MailId;
    ///
    /// assert_eq!(MailId::new().as_uuid().get_version_num(), 7);
    /// ```
    MailId
);

uuid_v7_id!(
    /// Identifies a one-time token (a password-reset or verification link).
    ///
    /// ```
    /// use domain::OneTimeTokenId;
    ///
    /// assert_eq!(OneTimeTokenId::new().as_uuid().get_version_num(), 7);
    /// ```
    OneTimeTokenId
);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn new_ids_are_version_7_and_distinct() {
        let first = UserId::new();
        let second = UserId::new();
        assert_ne!(first, second);
        assert_eq!(first.as_uuid().get_version_num(), 7);
        assert_eq!(SessionId::default().as_uuid().get_version_num(), 7);
    }

    #[test]
    fn display_and_parse_round_trip() {
        let id = SessionId::new();
        assert_eq!(SessionId::parse(&id.to_string()), Some(id));
        assert_eq!(SessionId::from_uuid(id.as_uuid()), id);
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = UserId::parse(&raw);
        }
    }
}
