//! `Role`: what a user may do. Permission questions are answered by methods here and on
//! [`crate::Principal`], never by comparing strings elsewhere.

use std::fmt;

/// A user's role.
///
/// ```
/// use domain::Role;
///
/// assert_eq!(Role::parse("admin"), Ok(Role::Admin));
/// assert_eq!(Role::User.as_str(), "user");
/// assert!(Role::Admin.can_administer());
/// assert!(!Role::User.can_administer());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// Manages other users.
    Admin,
    /// Manages only their own account.
    #[default]
    User,
}

/// The string names no role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Select a valid choice: \"admin\" or \"user\".")]
pub struct RoleError;

impl Role {
    /// Every role, in a stable order.
    pub const ALL: [Role; 2] = [Role::Admin, Role::User];

    /// Reads the stable lower-case name (`"admin"`, `"user"`); exact, not case-folded.
    pub fn parse(raw: &str) -> Result<Self, RoleError> {
        match raw {
            "admin" => Ok(Self::Admin),
            "user" => Ok(Self::User),
            _ => Err(RoleError),
        }
    }

    /// The stable lower-case name, as stored and as sent over the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::User => "user",
        }
    }

    /// Whether this role may use the administration use cases.
    pub fn can_administer(self) -> bool {
        matches!(self, Self::Admin)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
            assert_eq!(role.to_string(), role.as_str());
        }
    }

    #[test]
    fn parse_is_exact() {
        assert_eq!(Role::parse("Admin"), Err(RoleError));
        assert_eq!(Role::parse(" user"), Err(RoleError));
        assert_eq!(Role::parse("superuser"), Err(RoleError));
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = Role::parse(&raw);
        }
    }
}
