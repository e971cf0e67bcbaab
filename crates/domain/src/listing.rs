//! Listing users for administrators: filters, ordering, page numbers and keyset cursors.
//!
//! Raw query strings are parsed here, not in the HTTP layer, so every client of the domain
//! gets the same rules and the same messages.

use crate::{FieldErrors, Role, User, UserId};
use std::fmt::Write as _;
use time::OffsetDateTime;

/// Users per page unless the caller asks otherwise.
pub const DEFAULT_PAGE_SIZE: u32 = 10;
/// The most users one page may hold.
pub const MAX_PAGE_SIZE: u32 = 100;
/// Search terms longer than this are refused: nothing that long can match a name or email.
const MAX_SEARCH_CHARS: usize = 254;

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

    /// Reads the query-string form (`date_joined`, `-date_joined`, `email`, `-email`).
    ///
    /// ```
    /// use domain::UserOrdering;
    ///
    /// assert_eq!(UserOrdering::parse("-email"), Some(UserOrdering::EmailDesc));
    /// assert_eq!(UserOrdering::parse("password"), None);
    /// ```
    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|ordering| ordering.as_str() == raw)
    }

    /// The query-string form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DateJoined => "date_joined",
            Self::DateJoinedDesc => "-date_joined",
            Self::Email => "email",
            Self::EmailDesc => "-email",
        }
    }

    /// Whether larger keys come first.
    pub fn is_descending(self) -> bool {
        matches!(self, Self::DateJoinedDesc | Self::EmailDesc)
    }
}

/// Which users a listing includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// A case-insensitive substring of the email or the full name (already lower-cased).
    pub search: Option<String>,
    /// Only users with this role.
    pub role: Option<Role>,
    /// Only active (or only inactive) users.
    pub is_active: Option<bool>,
}

/// The position just after a user in a given ordering: the key of a keyset page, so a deep
/// page costs what the first does.
///
/// ```
/// use domain::{UserCursor, UserOrdering, CursorKey, UserId};
///
/// let cursor = UserCursor {
///     ordering: UserOrdering::Email,
///     key: CursorKey::Email("ada@example.com".into()),
///     id: UserId::new(),
/// };
/// let token = cursor.to_token();
/// assert_eq!(UserCursor::parse(&token), Some(cursor));
/// assert_eq!(UserCursor::parse("not-a-cursor"), None);
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

    /// An opaque, URL-safe token (lower-case hex) for the `cursor` query parameter.
    pub fn to_token(&self) -> String {
        let key = match &self.key {
            CursorKey::DateJoined(at) => at.unix_timestamp_nanos().to_string(),
            CursorKey::Email(email) => email.clone(),
        };
        // A newline can appear in none of the three parts, so it separates them unambiguously.
        let plain = format!("{}\n{}\n{}", self.ordering.as_str(), key, self.id);
        let mut token = String::with_capacity(plain.len() * 2);
        for byte in plain.bytes() {
            let _ = write!(token, "{byte:02x}");
        }
        token
    }

    /// Reads a token made by [`UserCursor::to_token`]; anything else is `None`.
    pub fn parse(token: &str) -> Option<Self> {
        if !token.len().is_multiple_of(2) || token.len() > 2048 {
            return None;
        }
        let bytes = (0..token.len())
            .step_by(2)
            .map(|index| u8::from_str_radix(token.get(index..index + 2)?, 16).ok())
            .collect::<Option<Vec<u8>>>()?;
        let plain = String::from_utf8(bytes).ok()?;
        let mut parts = plain.split('\n');
        let (ordering, key, id) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let ordering = UserOrdering::parse(ordering)?;
        let key = match ordering {
            UserOrdering::DateJoined | UserOrdering::DateJoinedDesc => CursorKey::DateJoined(
                OffsetDateTime::from_unix_timestamp_nanos(key.parse().ok()?).ok()?,
            ),
            UserOrdering::Email | UserOrdering::EmailDesc => CursorKey::Email(key.to_owned()),
        };
        Some(Self {
            ordering,
            key,
            id: UserId::parse(id)?,
        })
    }
}

/// Which slice of the ordered users to return.
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

impl PageRequest {
    /// Users per page.
    pub fn size(&self) -> u32 {
        match self {
            Self::Number { size, .. } | Self::After { size, .. } => *size,
        }
    }
}

/// A validated listing request.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The raw query parameters of a user listing, as a client sent them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListUsersRequest {
    /// `page`: 1-based.
    pub page: Option<String>,
    /// `page_size`: 1 to 100.
    pub page_size: Option<String>,
    /// `search`: substring of email or name, case-insensitive.
    pub search: Option<String>,
    /// `role`: `admin` or `user`.
    pub role: Option<String>,
    /// `is_active`: `true` or `false`.
    pub is_active: Option<String>,
    /// `ordering`: see [`UserOrdering::parse`].
    pub ordering: Option<String>,
    /// `cursor`: a token from a previous page's `next_cursor`.
    pub cursor: Option<String>,
}

/// Why a listing request cannot be served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum QueryProblem {
    /// A filter or size is malformed.
    Invalid(FieldErrors),
    /// The page number or cursor is malformed.
    NoSuchPage,
}

impl ListUsersRequest {
    pub(crate) fn parse(&self) -> Result<UserQuery, QueryProblem> {
        let mut errors = FieldErrors::default();
        let size = parse_page_size(self.page_size.as_deref(), &mut errors);
        let role = self.role.as_deref().and_then(|raw| {
            Role::parse(raw)
                .map_err(|error| errors.add("role", error.to_string()))
                .ok()
        });
        let is_active = self
            .is_active
            .as_deref()
            .and_then(|raw| parse_bool(raw, "is_active", &mut errors));
        let mut ordering = self.ordering.as_deref().and_then(|raw| {
            let parsed = UserOrdering::parse(raw);
            if parsed.is_none() {
                errors.add(
                    "ordering",
                    "Select a valid ordering: date_joined, -date_joined, email or -email.",
                );
            }
            parsed
        });
        let search = self
            .search
            .as_deref()
            .map(str::trim)
            .filter(|term| !term.is_empty())
            .map(str::to_lowercase);
        if search
            .as_ref()
            .is_some_and(|term| term.chars().count() > MAX_SEARCH_CHARS)
        {
            errors.add(
                "search",
                "Ensure this field has no more than 254 characters.",
            );
        }
        if self.page.is_some() && self.cursor.is_some() {
            errors.add("cursor", "Give either page or cursor, not both.");
        }
        let cursor = match self.cursor.as_deref() {
            Some(raw) => Some(UserCursor::parse(raw).ok_or(QueryProblem::NoSuchPage)?),
            None => None,
        };
        if let Some(cursor) = &cursor {
            match ordering {
                Some(asked) if asked != cursor.ordering => errors.add(
                    "cursor",
                    "This cursor belongs to another ordering; start again from page 1.",
                ),
                _ => ordering = Some(cursor.ordering),
            }
        }
        errors.into_result().map_err(QueryProblem::Invalid)?;

        let page = match cursor {
            Some(cursor) => PageRequest::After { cursor, size },
            None => PageRequest::Number {
                number: parse_page_number(self.page.as_deref())?,
                size,
            },
        };
        Ok(UserQuery {
            filter: UserFilter {
                search,
                role,
                is_active,
            },
            ordering: ordering.unwrap_or_default(),
            page,
        })
    }
}

/// Reads `page_size` (1 to 100, default 10), recording a message when it is malformed.
pub(crate) fn parse_page_size(raw: Option<&str>, errors: &mut FieldErrors) -> u32 {
    match raw.map(|raw| raw.trim().parse::<u32>()) {
        None => DEFAULT_PAGE_SIZE,
        Some(Ok(size)) if (1..=MAX_PAGE_SIZE).contains(&size) => size,
        Some(_) => {
            errors.add(
                "page_size",
                "Ensure this value is a whole number from 1 to 100.",
            );
            DEFAULT_PAGE_SIZE
        }
    }
}

/// Reads `page` (1-based, default 1); a malformed one names no page.
pub(crate) fn parse_page_number(raw: Option<&str>) -> Result<u32, QueryProblem> {
    match raw.map(|raw| raw.trim().parse::<u32>()) {
        None => Ok(1),
        Some(Ok(number)) if number >= 1 => Ok(number),
        Some(_) => Err(QueryProblem::NoSuchPage),
    }
}

/// Reads a boolean filter the way Django's `BooleanFilter` does.
pub(crate) fn parse_bool(raw: &str, field: &'static str, errors: &mut FieldErrors) -> Option<bool> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" => Some(true),
        "false" | "0" => Some(false),
        _ => {
            errors.add(field, "Enter true or false.");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request() -> ListUsersRequest {
        ListUsersRequest::default()
    }

    #[test]
    fn defaults_are_page_one_of_ten_newest_first() {
        let query = request().parse().unwrap();
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
    fn filters_are_parsed_and_search_is_lower_cased() {
        let query = ListUsersRequest {
            page: Some("3".into()),
            page_size: Some("25".into()),
            search: Some("  ADA ".into()),
            role: Some("admin".into()),
            is_active: Some("false".into()),
            ordering: Some("email".into()),
            cursor: None,
        }
        .parse()
        .unwrap();
        assert_eq!(
            query.page,
            PageRequest::Number {
                number: 3,
                size: 25
            }
        );
        assert_eq!(query.filter.search.as_deref(), Some("ada"));
        assert_eq!(query.filter.role, Some(Role::Admin));
        assert_eq!(query.filter.is_active, Some(false));
        assert_eq!(query.ordering, UserOrdering::Email);
    }

    #[test]
    fn malformed_filters_are_all_reported() {
        let problem = ListUsersRequest {
            page_size: Some("101".into()),
            role: Some("root".into()),
            is_active: Some("maybe".into()),
            ordering: Some("password".into()),
            ..request()
        }
        .parse()
        .unwrap_err();
        let QueryProblem::Invalid(errors) = problem else {
            panic!("expected field errors");
        };
        for field in ["page_size", "role", "is_active", "ordering"] {
            assert!(!errors.get(field).is_empty(), "{field}");
        }
    }

    #[test]
    fn malformed_page_numbers_name_no_page() {
        for raw in ["0", "-1", "abc", "1.5", ""] {
            let problem = ListUsersRequest {
                page: Some(raw.into()),
                ..request()
            }
            .parse()
            .unwrap_err();
            assert_eq!(problem, QueryProblem::NoSuchPage, "{raw}");
        }
        let problem = ListUsersRequest {
            cursor: Some("zz".into()),
            ..request()
        }
        .parse()
        .unwrap_err();
        assert_eq!(problem, QueryProblem::NoSuchPage);
    }

    #[test]
    fn a_cursor_sets_its_ordering_and_refuses_another() {
        let cursor = UserCursor {
            ordering: UserOrdering::EmailDesc,
            key: CursorKey::Email("m@example.com".into()),
            id: UserId::new(),
        };
        let query = ListUsersRequest {
            cursor: Some(cursor.to_token()),
            ..request()
        }
        .parse()
        .unwrap();
        assert_eq!(query.ordering, UserOrdering::EmailDesc);
        assert_eq!(
            query.page,
            PageRequest::After {
                cursor: cursor.clone(),
                size: 10
            }
        );

        let problem = ListUsersRequest {
            cursor: Some(cursor.to_token()),
            ordering: Some("email".into()),
            ..request()
        }
        .parse()
        .unwrap_err();
        assert!(
            matches!(problem, QueryProblem::Invalid(errors) if !errors.get("cursor").is_empty())
        );

        let problem = ListUsersRequest {
            cursor: Some(cursor.to_token()),
            page: Some("2".into()),
            ..request()
        }
        .parse()
        .unwrap_err();
        assert!(matches!(problem, QueryProblem::Invalid(_)));
    }

    #[test]
    fn date_cursors_round_trip_to_the_nanosecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let cursor = UserCursor {
            ordering: UserOrdering::DateJoined,
            key: CursorKey::DateJoined(at),
            id: UserId::new(),
        };
        assert_eq!(UserCursor::parse(&cursor.to_token()), Some(cursor));
    }

    proptest! {
        #[test]
        fn cursor_parse_never_panics(raw in "\\PC*") {
            let _ = UserCursor::parse(&raw);
        }

        #[test]
        fn email_cursors_round_trip(email in "[a-z0-9.+_-]{1,30}@[a-z]{1,10}\\.[a-z]{2,4}") {
            let cursor = UserCursor { ordering: UserOrdering::Email, key: CursorKey::Email(email), id: UserId::new() };
            prop_assert_eq!(UserCursor::parse(&cursor.to_token()), Some(cursor));
        }

        #[test]
        fn request_parse_never_panics(
            page in proptest::option::of("\\PC{0,8}"),
            page_size in proptest::option::of("\\PC{0,8}"),
            search in proptest::option::of("\\PC{0,300}"),
            ordering in proptest::option::of("\\PC{0,12}"),
        ) {
            let _ = ListUsersRequest { page, page_size, search, ordering, ..ListUsersRequest::default() }.parse();
        }
    }
}
