//! Errors shared by many use cases: infrastructure failures and per-field input errors.
//! Each use case's own error enum lives beside its service.

use std::collections::BTreeMap;
use std::error::Error as StdError;
use std::fmt;

/// What kind of infrastructure failure an [`UnexpectedError`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnexpectedKind {
    /// A dependency (the database, say) could not be reached; retrying later may work.
    Unavailable,
    /// Anything else that should not happen: a bug, corrupt data, a failed invariant.
    Internal,
}

/// A failure of the world outside the domain, reported by an adapter.
///
/// Its message is for logs, never for clients: it may name tables or hosts.
///
/// ```
/// use domain::UnexpectedError;
///
/// let error = UnexpectedError::unavailable("connecting to the database", "connection refused");
/// assert!(error.is_unavailable());
/// assert_eq!(error.to_string(), "connecting to the database: connection refused");
/// ```
#[derive(Debug)]
pub struct UnexpectedError {
    kind: UnexpectedKind,
    context: String,
    source: Box<dyn StdError + Send + Sync>,
}

impl UnexpectedError {
    /// A dependency could not be reached.
    pub fn unavailable(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind: UnexpectedKind::Unavailable,
            context: context.into(),
            source: source.into(),
        }
    }

    /// Something that should not happen did.
    pub fn internal(
        context: impl Into<String>,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> Self {
        Self {
            kind: UnexpectedKind::Internal,
            context: context.into(),
            source: source.into(),
        }
    }

    /// Which kind of failure this is.
    pub fn kind(&self) -> UnexpectedKind {
        self.kind
    }

    /// Whether retrying later may succeed.
    pub fn is_unavailable(&self) -> bool {
        self.kind == UnexpectedKind::Unavailable
    }
}

impl fmt::Display for UnexpectedError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}: {}", self.context, self.source)
    }
}

impl StdError for UnexpectedError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        Some(self.source.as_ref())
    }
}

/// Human-readable messages per input field, for everything wrong with a request at once.
///
/// ```
/// use domain::FieldErrors;
///
/// let mut errors = FieldErrors::default();
/// errors.add("email", "Enter a valid email address.");
/// errors.add("password", "This password is too common.");
/// assert_eq!(errors.get("email"), ["Enter a valid email address."]);
/// assert_eq!(errors.iter().count(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(BTreeMap<&'static str, Vec<String>>);

impl FieldErrors {
    /// Adds a message for `field`.
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.entry(field).or_default().push(message.into());
    }

    /// A single error on a single field.
    pub fn single(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add(field, message);
        errors
    }

    /// Whether no field has an error.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The messages for `field` (empty when it has none).
    pub fn get(&self, field: &str) -> &[String] {
        self.0.get(field).map_or(&[], Vec::as_slice)
    }

    /// Each field with its messages, by field name.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &[String])> {
        self.0
            .iter()
            .map(|(field, messages)| (*field, messages.as_slice()))
    }

    /// `Ok(())` when empty, else `Err(self)`: ends a validation that collects every error.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl fmt::Display for FieldErrors {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (field, messages) in &self.0 {
            for message in messages {
                if !first {
                    formatter.write_str(" ")?;
                }
                first = false;
                write!(formatter, "{field}: {message}")?;
            }
        }
        Ok(())
    }
}

impl StdError for FieldErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_errors_collect_and_render() {
        let mut errors = FieldErrors::default();
        assert!(errors.clone().into_result().is_ok());
        errors.add("b", "two");
        errors.add("a", "one");
        errors.add("a", "three");
        assert_eq!(errors.get("a"), ["one", "three"]);
        assert!(errors.get("missing").is_empty());
        assert_eq!(errors.to_string(), "a: one a: three b: two");
        assert!(errors.into_result().is_err());
    }

    #[test]
    fn unexpected_errors_keep_kind_and_source() {
        let error = UnexpectedError::internal("decoding a row", "bad email");
        assert_eq!(error.kind(), UnexpectedKind::Internal);
        assert!(!error.is_unavailable());
        assert!(StdError::source(&error).is_some());
    }
}
