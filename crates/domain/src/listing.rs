//! Listing users for administrators: filters, ordering, page numbers and keyset cursors.
//!
//! These are typed inputs: reading them from a query string, wording what is wrong with one,
//! and encoding a cursor as a token are the business of whichever adapter speaks to clients.

use crate::{Role, User, UserId};
use time::OffsetDateTime;

/// Users (or audit events) per page unless the caller asks otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// The most users (or audit events) one page may hold.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Search terms longer than this are refused: nothing that long can match a name or email.
pub const MAX_SEARCH_CHARS: usize = 254;

/// Whether `size` is a page size the listings serve (1 to [`MAX_PAGE_SIZE`]).
///
/// ```
/// use domain::{is_valid_page_size, MAX_PAGE_SIZE};
///
/// assert!(is_valid_page_size(1) && is_valid_page_size(MAX_PAGE_SIZE));
/// assert!(!is_valid_page_size(0) && !is_valid_page_size(MAX_PAGE_SIZE + 1));
/// ```
pub fn is_valid_page_size(size: u32) -> bool {
    (1..=MAX_PAGE_SIZE).contains(&size)
}

/// The order of a listing. The user id breaks ties, so pages never overlap or skip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UserOrdering {
    /// Oldest accounts first.
    DateJoined,
    /// Newest accounts first (the default).
    #[default]
    DateJoinedDesc,
    /// By email, A to Z.
    Email,
    /// By email, Z to A.
    EmailDesc,
}

impl UserOrdering {
    /// Every ordering, in a stable order.
    pub const ALL: [UserOrdering; 4] = [
        Self::DateJoined,
        Self::DateJoinedDesc,
        Self::Email,
        Self::EmailDesc,
    ];

    /// Whether larger keys come first.
    ///
    /// ```
    /// use domain::UserOrdering;
    ///
    /// assert!(UserOrdering::default().is_descending());
    /// assert!(!UserOrdering::Email.is_descending());
    /// ```
    pub fn is_descending(self) -> bool {
        matches!(self, Self::DateJoinedDesc | Self::EmailDesc)
    }
}

/// A search over emails and names: trimmed, lower-cased (the match is case-insensitive), not
/// empty, at most [`MAX_SEARCH_CHARS`] characters, without control characters (no email or
/// name holds one, and PostgreSQL refuses a NUL outright).
///
/// ```
/// use domain::{SearchTerm, SearchTermError};
///
/// assert_eq!(SearchTerm::parse("  ADA ").unwrap().as_str(), "ada");
/// assert_eq!(SearchTerm::parse("   "), Err(SearchTermError::Empty));
/// assert_eq!(SearchTerm::parse(&"a".repeat(255)), Err(SearchTermError::TooLong));
/// assert_eq!(SearchTerm::parse("ada\0"), Err(SearchTermError::ControlCharacter));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SearchTerm(String);

/// Why a string is not a [`SearchTerm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SearchTermError {
    /// Nothing but whitespace.
    #[error("a search term needs at least one character")]
    Empty,
    /// Longer than [`MAX_SEARCH_CHARS`] characters.
    #[error("a search term has at most 254 characters")]
    TooLong,
    /// Holds a control character (a NUL, a line break…).
    #[error("a search term cannot contain control characters")]
    ControlCharacter,
}

impl SearchTerm {
    /// Trims and lower-cases `raw`.
    ///
    /// # Errors
    /// [`SearchTermError`] when nothing or too much is left, or a control character.
    pub fn parse(raw: &str) -> Result<Self, SearchTermError> {
        // Control characters count wherever they are, trimmed ends included: a tab or a line
        // break is never part of what someone searches for.
        if raw.chars().any(char::is_control) {
            return Err(SearchTermError::ControlCharacter);
        }
        let term = raw.trim().to_lowercase();
        if term.is_empty() {
            Err(SearchTermError::Empty)
        } else if term.chars().count() > MAX_SEARCH_CHARS {
            Err(SearchTermError::TooLong)
        } else {
            Ok(Self(term))
        }
    }

    /// The normalised term.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which users a listing includes.
///
/// ```
/// use domain::{Role, SearchTerm, UserFilter};
///
/// let filter = UserFilter {
///     search: Some(SearchTerm::parse("ada").unwrap()),
///     role: Some(Role::Admin),
///     is_active: None,
/// };
/// assert_ne!(filter, UserFilter::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// A case-insensitive substring of the email or the full name.
    pub search: Option<SearchTerm>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (or only inactive) users.
    pub is_active: Option<bool>,
}

/// The position just after a user in a given ordering: the key of a keyset page, so a deep
/// page costs what the first does. How a client carries it between requests (a token, say)
/// is the client adapter's choice.
///
/// ```
/// use domain::{CursorKey, UserCursor, UserId, UserOrdering};
///
/// let cursor = UserCursor {
///     ordering: UserOrdering::Email,
///     key: CursorKey::Email("ada@example.com".into()),
///     id: UserId::new(),
/// };
/// assert_eq!(cursor.ordering, UserOrdering::Email);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserCursor {
    /// The ordering the cursor belongs to.
    pub ordering: UserOrdering,
    /// The ordering key of the last user of the previous page.
    pub key: CursorKey,
    /// That user's id, the tie-break.
    pub id: UserId,
}

/// The ordering key stored in a cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CursorKey {
    /// For the `date_joined` orderings.
    DateJoined(OffsetDateTime),
    /// For the `email` orderings.
    Email(String),
}

impl UserCursor {
    /// The cursor just after `user` in `ordering`.
    pub fn after(user: &User, ordering: UserOrdering) -> Self {
        let key = match ordering {
            UserOrdering::DateJoined | UserOrdering::DateJoinedDesc => {
                CursorKey::DateJoined(user.date_joined())
            }
            UserOrdering::Email | UserOrdering::EmailDesc => {
                CursorKey::Email(user.email().as_str().to_owned())
            }
        };
        Self {
            ordering,
            key,
            id: user.id(),
        }
    }
}

/// Which slice of the ordered users to return. The list-users use case refuses a size outside
/// 1 to [`MAX_PAGE_SIZE`], and page 0 names no page.
///
/// ```
/// use domain::{PageRequest, DEFAULT_PAGE_SIZE};
///
/// assert_eq!(PageRequest::default(), PageRequest::Number { number: 1, size: DEFAULT_PAGE_SIZE });
/// assert_eq!(PageRequest::default().size(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageRequest {
    /// The 1-based page `number` of `size` users.
    Number {
        /// Starts at 1.
        number: u32,
        /// Users per page.
        size: u32,
    },
    /// The `size` users after `cursor`.
    After {
        /// Where the previous page ended.
        cursor: UserCursor,
        /// Users per page.
        size: u32,
    },
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::Number {
            number: 1,
            size: DEFAULT_PAGE_SIZE,
        }
    }
}

impl PageRequest {
    /// Users per page.
    pub fn size(&self) -> u32 {
        match self {
            Self::Number { size, .. } | Self::After { size, .. } => *size,
        }
    }
}

/// What the list-users use case is asked for. A cursor belongs to one ordering: asking for
/// the page after it in another is refused.
///
/// ```
/// use domain::{PageRequest, UserFilter, UserOrdering, UserQuery};
///
/// let query = UserQuery::default();
/// assert_eq!(query.filter, UserFilter::default());
/// assert_eq!(query.ordering, UserOrdering::DateJoinedDesc);
/// assert_eq!(query.page, PageRequest::default());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Which users.
    pub filter: UserFilter,
    /// In which order.
    pub ordering: UserOrdering,
    /// Which slice.
    pub page: PageRequest,
}

/// What a [`crate::UserRepository`] returns for a [`UserQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSlice {
    /// At most `page.size()` users, in order.
    pub users: Vec<User>,
    /// How many users match the filter in all.
    pub total: u64,
    /// Whether more users follow this slice.
    pub has_more: bool,
}

/// One page of a user listing, as the list-users use case returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users on this page.
    pub users: Vec<User>,
    /// How many users match the filter in all.
    pub total: u64,
    /// The page number, when paging by number.
    pub number: Option<u32>,
    /// Users per page.
    pub size: u32,
    /// Whether a next page exists.
    pub has_next: bool,
    /// Whether a previous page exists (paging by number only; a cursor only goes forward).
    pub has_previous: bool,
    /// Where the next page starts, when there is one: `?cursor=` with its token.
    pub next_cursor: Option<UserCursor>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services::testing::user;
    use proptest::prelude::*;

    #[test]
    fn defaults_are_page_one_of_ten_newest_first() {
        let query = UserQuery::default();
        assert_eq!(
            query.page,
            PageRequest::Number {
                number: 1,
                size: 10
            }
        );
        assert_eq!(query.ordering, UserOrdering::DateJoinedDesc);
        assert_eq!(query.filter, UserFilter::default());
    }

    #[test]
    fn page_sizes_run_from_one_to_a_hundred() {
        assert!(!is_valid_page_size(0));
        assert!(is_valid_page_size(1));
        assert!(is_valid_page_size(DEFAULT_PAGE_SIZE));
        assert!(is_valid_page_size(100));
        assert!(!is_valid_page_size(101));
    }

    #[test]
    fn search_terms_are_trimmed_lower_cased_and_bounded() {
        assert_eq!(SearchTerm::parse("  Seán ").unwrap().as_str(), "seán");
        assert_eq!(SearchTerm::parse(""), Err(SearchTermError::Empty));
        assert_eq!(SearchTerm::parse("   "), Err(SearchTermError::Empty));
        // A tab is a control character, at the ends too.
        assert_eq!(
            SearchTerm::parse(" \t "),
            Err(SearchTermError::ControlCharacter)
        );
        assert!(SearchTerm::parse(&"é".repeat(254)).is_ok());
        assert_eq!(
            SearchTerm::parse(&"é".repeat(255)),
            Err(SearchTermError::TooLong)
        );
    }

    #[test]
    fn a_cursor_after_a_user_keys_on_the_orderings_column() {
        let ada = user("ada@example.com", Role::User);
        let by_email = UserCursor::after(&ada, UserOrdering::EmailDesc);
        assert_eq!(by_email.key, CursorKey::Email("ada@example.com".into()));
        assert_eq!(
            (by_email.ordering, by_email.id),
            (UserOrdering::EmailDesc, ada.id())
        );
        let by_date = UserCursor::after(&ada, UserOrdering::DateJoined);
        assert_eq!(by_date.key, CursorKey::DateJoined(ada.date_joined()));
    }

    proptest! {
        #[test]
        fn a_parsed_search_term_is_never_blank_nor_too_long(raw in "\\PC{0,300}") {
            if let Ok(term) = SearchTerm::parse(&raw) {
                prop_assert!(!term.as_str().trim().is_empty());
                prop_assert!(term.as_str().chars().count() <= MAX_SEARCH_CHARS);
            }
        }
    }
}
