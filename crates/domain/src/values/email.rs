//! `Email`: an address that is trimmed, lower-cased and syntactically valid by construction.
//!
//! Normalising here (not in the database) is what lets a plain unique index enforce
//! case-insensitive uniqueness on every backend.

use std::fmt;

/// The longest address SMTP can carry (RFC 5321 §4.5.3.1.3 path limit minus the brackets).
const MAX_BYTES: usize = 254;
/// RFC 5321 §4.5.3.1.1.
const MAX_LOCAL_BYTES: usize = 64;
/// RFC 1035 §2.3.4.
const MAX_LABEL_BYTES: usize = 63;

/// A normalised, syntactically valid email address.
///
/// ```
/// use domain::Email;
///
/// let email = Email::parse("  Ada.Lovelace@Example.COM ").unwrap();
/// assert_eq!(email.as_str(), "ada.lovelace@example.com");
/// assert_eq!(email.local_part(), "ada.lovelace");
/// assert!(Email::parse("not an email").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

/// Why a string is not an acceptable email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Nothing but whitespace was given.
    #[error("This field may not be blank.")]
    Empty,
    /// The address is longer than 254 bytes.
    #[error("Ensure this field has no more than 254 characters.")]
    TooLong,
    /// The address does not have the shape `local@domain.tld`.
    #[error("Enter a valid email address.")]
    Invalid,
}

impl Email {
    /// Trims, lower-cases and checks `raw`.
    ///
    /// The local part is a dot-atom (RFC 5322 §3.4.1, without quoted strings or comments,
    /// which no mail provider hands out); the domain is at least two DNS labels of letters,
    /// digits and inner hyphens, with an alphabetic or punycode top-level label.
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let normalised = raw.trim().to_lowercase();
        if normalised.is_empty() {
            return Err(EmailError::Empty);
        }
        if normalised.len() > MAX_BYTES {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = normalised.rsplit_once('@').ok_or(EmailError::Invalid)?;
        if !is_valid_local_part(local) || !is_valid_domain(domain) {
            return Err(EmailError::Invalid);
        }
        Ok(Self(normalised))
    }

    /// The whole normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part before the `@`, which the password policy compares passwords against.
    pub fn local_part(&self) -> &str {
        self.0
            .rsplit_once('@')
            .map_or(self.0.as_str(), |(local, _)| local)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

fn is_atext(character: char) -> bool {
    character.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(character)
}

fn is_valid_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= MAX_LOCAL_BYTES
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(is_atext))
}

fn is_valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return false;
    }
    let labels_ok = labels.iter().all(|label| {
        !label.is_empty()
            && label.len() <= MAX_LABEL_BYTES
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    let top = labels.last().copied().unwrap_or_default();
    let top_ok =
        top.starts_with("xn--") || (top.len() >= 2 && top.chars().all(|c| c.is_ascii_alphabetic()));
    labels_ok && top_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parse_trims_and_lower_cases() {
        let email = Email::parse("\t Grace.Hopper+Navy@Example.Org\n").unwrap();
        assert_eq!(email.as_str(), "grace.hopper+navy@example.org");
        assert_eq!(email.local_part(), "grace.hopper+navy");
        assert_eq!(email.to_string(), "grace.hopper+navy@example.org");
    }

    #[test]
    fn parse_accepts_common_shapes() {
        for ok in [
            "a@b.co",
            "first.last@sub.domain.example",
            "o'brien@example.ie",
            "x@xn--80ak6aa92e.com",
            "user@123.example.com",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok} should be accepted");
        }
    }

    #[test]
    fn parse_refuses_malformed_addresses() {
        for bad in [
            "plainaddress",
            "@example.com",
            "user@",
            "user@localhost",
            "user@example",
            "user@example.c",
            "user@exa mple.com",
            "us er@example.com",
            "user..dots@example.com",
            ".user@example.com",
            "user.@example.com",
            "user@-example.com",
            "user@example-.com",
            "user@example..com",
            "user@example.123",
            "a@b@example.com",
            "user@exämple.com",
            "\"quoted\"@example.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
    }

    #[test]
    fn parse_refuses_blank_input() {
        assert_eq!(Email::parse("   "), Err(EmailError::Empty));
    }

    #[test]
    fn parse_enforces_the_length_limits() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        let local = "a".repeat(65);
        assert_eq!(
            Email::parse(&format!("{local}@example.com")),
            Err(EmailError::Invalid)
        );
        let label = "b".repeat(60);
        let long = format!("user@{label}.{label}.{label}.{label}.{label}.com");
        assert!(long.len() > 254);
        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }

    proptest! {
        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = Email::parse(&raw);
        }

        #[test]
        fn parse_is_idempotent(raw in "[ A-Za-z0-9._+-]{1,20}@[A-Za-z0-9-]{1,10}\\.[A-Za-z]{2,6} ?") {
            if let Ok(email) = Email::parse(&raw) {
                let again = Email::parse(email.as_str()).unwrap();
                prop_assert_eq!(again, email);
            }
        }

        #[test]
        fn accepted_addresses_are_normalised(raw in "\\PC{0,300}") {
            if let Ok(email) = Email::parse(&raw) {
                prop_assert!(email.as_str().len() <= 254);
                prop_assert_eq!(email.as_str(), email.as_str().trim());
                prop_assert_eq!(email.as_str().to_lowercase(), email.as_str());
            }
        }
    }
}
