//! `FullName`: a person's display name, trimmed and bounded by construction.

use std::fmt;

const MAX_CHARS: usize = 150;

/// A trimmed name of 1 to 150 characters with no control characters.
///
/// ```
/// use domain::FullName;
///
/// let name = FullName::parse("  Ada Lovelace ").unwrap();
/// assert_eq!(name.as_str(), "Ada Lovelace");
/// assert!(FullName::parse("   ").is_err());
/// assert!(FullName::parse("Ada\u{0}Lovelace").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FullName(String);

/// Why a string is not an acceptable full name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FullNameError {
    /// Nothing but whitespace was given.
    #[error("This field may not be blank.")]
    Empty,
    /// More than 150 characters remain after trimming.
    #[error("Ensure this field has no more than 150 characters.")]
    TooLong,
    /// The name holds a control character (a newline, a NUL, an escape…).
    #[error("This field may not contain control characters.")]
    ControlCharacter,
}

impl FullName {
    /// Trims `raw` and checks its length (in characters) and content.
    pub fn parse(raw: &str) -> Result<Self, FullNameError> {
        // Control characters count at the ends too, before trimming would hide them.
        if raw.chars().any(char::is_control) {
            return Err(FullNameError::ControlCharacter);
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(FullNameError::Empty);
        }
        if trimmed.chars().count() > MAX_CHARS {
            return Err(FullNameError::TooLong);
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as given, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FullName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for FullName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_keeps_unicode_and_inner_spaces() {
        let name = FullName::parse(" Zoë  Ōtsuka-Ибрагимова ").unwrap();
        assert_eq!(name.as_str(), "Zoë  Ōtsuka-Ибрагимова");
    }

    #[test]
    fn parse_counts_characters_not_bytes() {
        assert!(FullName::parse(&"é".repeat(150)).is_ok());
        assert_eq!(
            FullName::parse(&"é".repeat(151)),
            Err(FullNameError::TooLong)
        );
    }

    #[test]
    fn parse_refuses_blank_and_control_characters() {
        assert_eq!(FullName::parse(""), Err(FullNameError::Empty));
        assert_eq!(FullName::parse("   "), Err(FullNameError::Empty));
        // Control characters count at the ends too, where trimming would hide them.
        assert_eq!(
            FullName::parse(" \n\t "),
            Err(FullNameError::ControlCharacter)
        );
        assert_eq!(
            FullName::parse("Ada\nLovelace"),
            Err(FullNameError::ControlCharacter)
        );
        assert_eq!(
            FullName::parse("Ada\u{1b}[31m"),
            Err(FullNameError::ControlCharacter)
        );
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC*|.*") {
            let _ = FullName::parse(&raw);
        }

        #[test]
        fn parse_is_idempotent(raw in "\\PC{0,200}") {
            if let Ok(name) = FullName::parse(&raw) {
                prop_assert_eq!(FullName::parse(name.as_str()).unwrap(), name.clone());
                let count = name.as_str().chars().count();
                prop_assert!((1..=150).contains(&count));
            }
        }
    }
}
