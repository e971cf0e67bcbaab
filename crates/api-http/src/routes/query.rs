//! The listings' query strings, read into the domain's typed queries with the messages Django
//! REST Framework and django-filter give, and the opaque `cursor` tokens of keyset pages.
//!
//! The domain never sees a query string: it checks its own rules (page sizes, a cursor
//! belonging to one ordering) again on the typed values, and says what is wrong in its words.

use super::RoleDto;
use crate::problem::{CURSOR_ORDERING_MESSAGE, INVALID_PAGE, PAGE_SIZE_MESSAGE, Problem};
use domain::{
    AuditAction, AuditListQuery, CursorKey, DEFAULT_PAGE_SIZE, FieldErrors, MailStatus,
    OutboxListQuery, PageRequest, SearchTerm, SearchTermError, UserCursor, UserFilter, UserId,
    UserOrdering, UserQuery, is_valid_page_size,
};
use std::fmt::Write as _;
use time::OffsetDateTime;

const ROLE_MESSAGE: &str = "Select a valid choice: \"admin\" or \"user\".";
const ORDERING_MESSAGE: &str =
    "Select a valid ordering: date_joined, -date_joined, email or -email.";
const SEARCH_MESSAGE: &str = "Ensure this field has no more than 254 characters.";
const SEARCH_CONTROL_MESSAGE: &str = "Control characters are not allowed.";
const BOOLEAN_MESSAGE: &str = "Enter true or false.";
const USER_ID_MESSAGE: &str = "Enter a valid user id.";
const ACTION_MESSAGE: &str = "Select a valid audit action.";
const STATUS_MESSAGE: &str = "Select a valid choice: \"pending\", \"sent\" or \"failed\".";
const BOTH_PAGE_AND_CURSOR_MESSAGE: &str = "Give either page or cursor, not both.";
/// A longer token cannot come from [`cursor_token`]: an email has at most 254 bytes.
const MAX_CURSOR_TOKEN_CHARS: usize = 2048;

/// The query parameters of `GET /api/admin/users/`, as sent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawUserQuery<'a> {
    pub(crate) page: Option<&'a str>,
    pub(crate) page_size: Option<&'a str>,
    pub(crate) search: Option<&'a str>,
    pub(crate) role: Option<&'a str>,
    pub(crate) is_active: Option<&'a str>,
    pub(crate) ordering: Option<&'a str>,
    pub(crate) cursor: Option<&'a str>,
}

/// The query parameters of `GET /api/admin/mail/`, as sent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawOutboxQuery<'a> {
    pub(crate) page: Option<&'a str>,
    pub(crate) page_size: Option<&'a str>,
    pub(crate) status: Option<&'a str>,
}

/// Reads the outbox listing's parameters; malformed filters are a 400 naming each field.
pub(crate) fn outbox_query(raw: RawOutboxQuery<'_>) -> Result<OutboxListQuery, Problem> {
    let mut errors = FieldErrors::default();
    let size = page_size(given(raw.page_size), &mut errors);
    let status = given(raw.status).and_then(|value| {
        let status = MailStatus::parse(value);
        if status.is_none() {
            errors.add("status", STATUS_MESSAGE);
        }
        status
    });
    errors
        .into_result()
        .map_err(|errors| Problem::validation(&errors))?;
    Ok(OutboxListQuery {
        status,
        number: page_number(given(raw.page))?,
        size,
    })
}

/// The query parameters of `GET /api/admin/audit/`, as sent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawAuditQuery<'a> {
    pub(crate) page: Option<&'a str>,
    pub(crate) page_size: Option<&'a str>,
    pub(crate) actor: Option<&'a str>,
    pub(crate) target: Option<&'a str>,
    pub(crate) action: Option<&'a str>,
}

/// A parameter's value, or `None` when it is absent or empty: DRF and django-filter read
/// `?role=` as no filter at all, and so do we.
/// A filter's value, unless it is empty (`?role=`), which django-filter and DRF read as no
/// filter. Every other value is read exactly as the OpenAPI document states it: no trimming,
/// no other spelling, so that what the document allows and what the server accepts agree.
fn given(raw: Option<&str>) -> Option<&str> {
    raw.filter(|value| !value.is_empty())
}

/// A positive decimal number as the document's pattern has it: digits only, no sign, no
/// leading zero.
fn positive_number(raw: &str) -> Option<u32> {
    let digits = raw.bytes().all(|byte| byte.is_ascii_digit()) && !raw.starts_with('0');
    digits.then(|| raw.parse().ok()).flatten()
}

/// Reads the user listing's parameters. Every malformed filter is reported at once (400); a
/// malformed page number or cursor names no page (404).
pub(crate) fn user_query(raw: RawUserQuery<'_>) -> Result<UserQuery, Problem> {
    let mut errors = FieldErrors::default();
    let size = page_size(given(raw.page_size), &mut errors);
    let role = given(raw.role).and_then(|value| {
        let role = RoleDto::from_wire(value);
        if role.is_none() {
            errors.add("role", ROLE_MESSAGE);
        }
        role.map(domain::Role::from)
    });
    let is_active = given(raw.is_active).and_then(|value| boolean(value, "is_active", &mut errors));
    let ordering = given(raw.ordering).and_then(|value| {
        let ordering = ordering_from_wire(value);
        if ordering.is_none() {
            errors.add("ordering", ORDERING_MESSAGE);
        }
        ordering
    });
    let search = given(raw.search).and_then(|value| match SearchTerm::parse(value) {
        Ok(term) => Some(term),
        Err(SearchTermError::TooLong) => {
            errors.add("search", SEARCH_MESSAGE);
            None
        }
        Err(SearchTermError::ControlCharacter) => {
            errors.add("search", SEARCH_CONTROL_MESSAGE);
            None
        }
        // `given` has already set blank terms aside.
        Err(SearchTermError::Empty) => None,
    });
    let (page, cursor) = (given(raw.page), given(raw.cursor));
    if page.is_some() && cursor.is_some() {
        errors.add("cursor", BOTH_PAGE_AND_CURSOR_MESSAGE);
    }
    let cursor = match cursor {
        Some(token) => Some(parse_cursor(token).ok_or_else(invalid_page)?),
        None => None,
    };
    if let (Some(cursor), Some(asked)) = (&cursor, ordering)
        && cursor.ordering != asked
    {
        errors.add("cursor", CURSOR_ORDERING_MESSAGE);
    }
    errors
        .into_result()
        .map_err(|errors| Problem::validation(&errors))?;

    // Without an explicit ordering, a cursor continues in its own.
    let ordering = ordering
        .or(cursor.as_ref().map(|cursor| cursor.ordering))
        .unwrap_or_default();
    let page = match cursor {
        Some(cursor) => PageRequest::After { cursor, size },
        None => PageRequest::Number {
            number: page_number(page)?,
            size,
        },
    };
    Ok(UserQuery {
        filter: UserFilter {
            search,
            role,
            is_active,
        },
        ordering,
        page,
    })
}

/// Reads the audit log's parameters, as [`user_query`] does.
pub(crate) fn audit_query(raw: RawAuditQuery<'_>) -> Result<AuditListQuery, Problem> {
    let mut errors = FieldErrors::default();
    let size = page_size(given(raw.page_size), &mut errors);
    let mut user_id = |field: &'static str, raw: Option<&str>| {
        given(raw).and_then(|value| {
            // The hyphenated form only, which is what the API writes.
            let id = (value.len() == 36).then(|| UserId::parse(value)).flatten();
            if id.is_none() {
                errors.add(field, USER_ID_MESSAGE);
            }
            id
        })
    };
    let actor = user_id("actor", raw.actor);
    let target = user_id("target", raw.target);
    let action = given(raw.action).and_then(|value| {
        AuditAction::parse(value)
            .map_err(|_| errors.add("action", ACTION_MESSAGE))
            .ok()
    });
    errors
        .into_result()
        .map_err(|errors| Problem::validation(&errors))?;
    Ok(AuditListQuery {
        actor,
        target,
        action,
        number: page_number(given(raw.page))?,
        size,
    })
}

fn invalid_page() -> Problem {
    Problem::not_found(INVALID_PAGE)
}

/// Reads `page_size` (1 to 100, default 10), recording a message when it is malformed.
fn page_size(raw: Option<&str>, errors: &mut FieldErrors) -> u32 {
    match raw.map(positive_number) {
        None => DEFAULT_PAGE_SIZE,
        Some(Some(size)) if is_valid_page_size(size) => size,
        Some(_) => {
            errors.add("page_size", PAGE_SIZE_MESSAGE);
            DEFAULT_PAGE_SIZE
        }
    }
}

/// Reads `page` (1-based, default 1); a malformed one names no page.
fn page_number(raw: Option<&str>) -> Result<u32, Problem> {
    match raw.map(positive_number) {
        None => Ok(1),
        Some(Some(number)) => Ok(number),
        Some(_) => Err(invalid_page()),
    }
}

/// Reads a boolean filter the way Django's `BooleanFilter` does.
fn boolean(raw: &str, field: &'static str, errors: &mut FieldErrors) -> Option<bool> {
    match raw {
        "true" | "True" | "1" => Some(true),
        "false" | "False" | "0" => Some(false),
        _ => {
            errors.add(field, BOOLEAN_MESSAGE);
            None
        }
    }
}

/// The `ordering` parameter's spelling of each ordering.
pub(crate) fn ordering_to_wire(ordering: UserOrdering) -> &'static str {
    match ordering {
        UserOrdering::DateJoined => "date_joined",
        UserOrdering::DateJoinedDesc => "-date_joined",
        UserOrdering::Email => "email",
        UserOrdering::EmailDesc => "-email",
    }
}

fn ordering_from_wire(raw: &str) -> Option<UserOrdering> {
    UserOrdering::ALL
        .into_iter()
        .find(|ordering| ordering_to_wire(*ordering) == raw)
}

/// An opaque, URL-safe token (lower-case hex) for the `cursor` query parameter.
pub(crate) fn cursor_token(cursor: &UserCursor) -> String {
    let key = match &cursor.key {
        CursorKey::DateJoined(at) => at.unix_timestamp_nanos().to_string(),
        CursorKey::Email(email) => email.clone(),
    };
    // A newline can appear in none of the three parts, so it separates them unambiguously.
    let plain = format!(
        "{}\n{}\n{}",
        ordering_to_wire(cursor.ordering),
        key,
        cursor.id
    );
    let mut token = String::with_capacity(plain.len() * 2);
    for byte in plain.bytes() {
        let _ = write!(token, "{byte:02x}");
    }
    token
}

/// Reads a token made by [`cursor_token`]; anything else is `None`.
fn parse_cursor(token: &str) -> Option<UserCursor> {
    if !token.len().is_multiple_of(2) || token.len() > MAX_CURSOR_TOKEN_CHARS {
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
    let ordering = ordering_from_wire(ordering)?;
    let key = match ordering {
        UserOrdering::DateJoined | UserOrdering::DateJoinedDesc => CursorKey::DateJoined(
            OffsetDateTime::from_unix_timestamp_nanos(key.parse().ok()?).ok()?,
        ),
        UserOrdering::Email | UserOrdering::EmailDesc => CursorKey::Email(key.to_owned()),
    };
    Some(UserCursor {
        ordering,
        key,
        id: UserId::parse(id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use domain::Role;
    use proptest::prelude::*;

    fn errors_of(problem: &Problem) -> Vec<String> {
        problem
            .details()
            .errors
            .map(|errors| errors.into_keys().collect())
            .unwrap_or_default()
    }

    #[test]
    fn defaults_are_page_one_of_ten_newest_first() {
        assert_eq!(
            user_query(RawUserQuery::default()).unwrap(),
            UserQuery::default()
        );
    }

    #[test]
    fn filters_are_read_and_search_is_lower_cased() {
        let query = user_query(RawUserQuery {
            page: Some("3"),
            page_size: Some("25"),
            search: Some("  ADA "),
            role: Some("admin"),
            is_active: Some("false"),
            ordering: Some("email"),
            cursor: None,
        })
        .unwrap();
        assert_eq!(
            query.page,
            PageRequest::Number {
                number: 3,
                size: 25
            }
        );
        assert_eq!(
            query.filter.search.as_ref().map(SearchTerm::as_str),
            Some("ada")
        );
        assert_eq!(query.filter.role, Some(Role::Admin));
        assert_eq!(query.filter.is_active, Some(false));
        assert_eq!(query.ordering, UserOrdering::Email);
    }

    #[test]
    fn empty_values_are_no_filter_at_all() {
        let query = user_query(RawUserQuery {
            page: Some(""),
            page_size: Some(""),
            search: Some(" "),
            role: Some(""),
            is_active: Some(""),
            ordering: Some(""),
            cursor: Some(""),
        })
        .unwrap();
        assert_eq!(query, UserQuery::default());
        let audit = audit_query(RawAuditQuery {
            page: Some(""),
            page_size: Some(""),
            actor: Some(""),
            target: Some(""),
            action: Some(""),
        })
        .unwrap();
        assert_eq!(audit, AuditListQuery::default());
    }

    #[test]
    fn malformed_filters_are_all_reported_in_drfs_words() {
        let problem = user_query(RawUserQuery {
            page_size: Some("101"),
            role: Some("root"),
            is_active: Some("maybe"),
            ordering: Some("password"),
            search: Some(&"a".repeat(255)),
            ..RawUserQuery::default()
        })
        .unwrap_err();
        assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
        let errors = problem.details().errors.unwrap();
        assert_eq!(errors["page_size"], [PAGE_SIZE_MESSAGE]);
        assert_eq!(errors["role"], [ROLE_MESSAGE]);
        assert_eq!(errors["is_active"], [BOOLEAN_MESSAGE]);
        assert_eq!(errors["ordering"], [ORDERING_MESSAGE]);
        assert_eq!(errors["search"], [SEARCH_MESSAGE]);
    }

    #[test]
    fn a_search_with_a_control_character_is_refused() {
        for search in ["ada\0", "ada\nlovelace"] {
            let problem = user_query(RawUserQuery {
                search: Some(search),
                ..RawUserQuery::default()
            })
            .unwrap_err();
            assert_eq!(problem.status(), StatusCode::BAD_REQUEST);
            assert_eq!(
                problem.details().errors.unwrap()["search"],
                [SEARCH_CONTROL_MESSAGE]
            );
        }
    }

    #[test]
    fn malformed_page_numbers_and_cursors_name_no_page() {
        for raw in ["0", "-1", "abc", "1.5"] {
            let problem = user_query(RawUserQuery {
                page: Some(raw),
                ..RawUserQuery::default()
            })
            .unwrap_err();
            assert_eq!(problem.status(), StatusCode::NOT_FOUND, "{raw}");
            assert_eq!(problem.details().detail, INVALID_PAGE);
        }
        for token in ["zz", "00", "0"] {
            let problem = user_query(RawUserQuery {
                cursor: Some(token),
                ..RawUserQuery::default()
            })
            .unwrap_err();
            assert_eq!(problem.status(), StatusCode::NOT_FOUND, "{token}");
        }
    }

    #[test]
    fn a_cursor_sets_its_ordering_and_refuses_another_or_a_page() {
        let cursor = UserCursor {
            ordering: UserOrdering::EmailDesc,
            key: CursorKey::Email("m@example.com".into()),
            id: UserId::new(),
        };
        let token = cursor_token(&cursor);
        let query = user_query(RawUserQuery {
            cursor: Some(&token),
            ..RawUserQuery::default()
        })
        .unwrap();
        assert_eq!(query.ordering, UserOrdering::EmailDesc);
        assert_eq!(
            query.page,
            PageRequest::After {
                cursor: cursor.clone(),
                size: 10
            }
        );

        let problem = user_query(RawUserQuery {
            cursor: Some(&token),
            ordering: Some("email"),
            ..RawUserQuery::default()
        })
        .unwrap_err();
        assert_eq!(
            problem.details().errors.unwrap()["cursor"],
            [CURSOR_ORDERING_MESSAGE]
        );

        let problem = user_query(RawUserQuery {
            cursor: Some(&token),
            page: Some("2"),
            ..RawUserQuery::default()
        })
        .unwrap_err();
        assert_eq!(errors_of(&problem), ["cursor"]);
    }

    #[test]
    fn malformed_audit_filters_are_all_reported_and_a_malformed_page_names_none() {
        let problem = audit_query(RawAuditQuery {
            actor: Some("me"),
            action: Some("explode"),
            page_size: Some("0"),
            ..RawAuditQuery::default()
        })
        .unwrap_err();
        assert_eq!(errors_of(&problem), ["action", "actor", "page_size"]);

        let problem = audit_query(RawAuditQuery {
            page: Some("x"),
            ..RawAuditQuery::default()
        })
        .unwrap_err();
        assert_eq!(problem.status(), StatusCode::NOT_FOUND);
    }

    #[test]
    fn audit_filters_are_read() {
        let target = UserId::new();
        let target_text = target.to_string();
        let query = audit_query(RawAuditQuery {
            page: Some("2"),
            page_size: Some("5"),
            target: Some(&target_text),
            action: Some("login"),
            actor: None,
        })
        .unwrap();
        assert_eq!(
            query,
            AuditListQuery {
                actor: None,
                target: Some(target),
                action: Some(AuditAction::LoggedIn),
                number: 2,
                size: 5,
            }
        );
    }

    #[test]
    fn date_cursors_round_trip_to_the_nanosecond() {
        let at = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let cursor = UserCursor {
            ordering: UserOrdering::DateJoined,
            key: CursorKey::DateJoined(at),
            id: UserId::new(),
        };
        assert_eq!(parse_cursor(&cursor_token(&cursor)), Some(cursor));
    }

    #[test]
    fn every_ordering_round_trips_through_its_spelling() {
        for ordering in UserOrdering::ALL {
            assert_eq!(
                ordering_from_wire(ordering_to_wire(ordering)),
                Some(ordering)
            );
        }
        assert_eq!(ordering_from_wire("password"), None);
    }

    proptest! {
        #[test]
        fn cursor_parse_never_panics(raw in "\\PC*") {
            let _ = parse_cursor(&raw);
        }

        #[test]
        fn email_cursors_round_trip(email in "[a-z0-9.+_-]{1,30}@[a-z]{1,10}\\.[a-z]{2,4}") {
            let cursor = UserCursor { ordering: UserOrdering::Email, key: CursorKey::Email(email), id: UserId::new() };
            prop_assert_eq!(parse_cursor(&cursor_token(&cursor)), Some(cursor));
        }

        #[test]
        fn user_query_never_panics(
            page in proptest::option::of("\\PC{0,8}"),
            page_size in proptest::option::of("\\PC{0,8}"),
            search in proptest::option::of("\\PC{0,300}"),
            ordering in proptest::option::of("\\PC{0,12}"),
        ) {
            let _ = user_query(RawUserQuery {
                page: page.as_deref(),
                page_size: page_size.as_deref(),
                search: search.as_deref(),
                ordering: ordering.as_deref(),
                ..RawUserQuery::default()
            });
        }
    }
}
