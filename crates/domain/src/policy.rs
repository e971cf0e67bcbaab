//! `PasswordPolicy`: the rules a new password must meet. It applies only when a password is
//! set or changed, never at login (a policy tightened later must not lock people out).

use crate::{Email, FullName, PlaintextPassword};
use std::fmt;

/// Django's `UserAttributeSimilarityValidator` default: at 0.7 "ada.lovelace1" is refused for
/// `ada.lovelace@…`, while a password merely containing a three-letter name is not.
const DEFAULT_MAX_SIMILARITY: f64 = 0.7;

/// The rules for a new password. Lengths count characters, not bytes.
///
/// ```
/// use domain::{Email, PasswordPolicy, PlaintextPassword, PolicyContext, PolicyViolation};
///
/// let policy = PasswordPolicy::default();
/// let email = Email::parse("ada@example.com").unwrap();
/// let context = PolicyContext { email: Some(&email), full_name: None };
///
/// assert!(policy.check(&PlaintextPassword::new("vivid-otter-cabinet-91"), &context).is_ok());
///
/// let violations = policy.check(&PlaintextPassword::new("1234"), &context).unwrap_err();
/// assert!(violations.contains(&PolicyViolation::TooShort { min: 8 }));
/// assert!(violations.contains(&PolicyViolation::EntirelyNumeric));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct PasswordPolicy {
    /// Fewest characters allowed (default 8).
    pub min_length: usize,
    /// Most characters allowed (default 128): bounds the cost an attacker can make us hash.
    pub max_length: usize,
    /// Lowest acceptable zxcvbn score, 0 to 4 (default 3: "safely unguessable").
    pub min_score: u8,
    /// Similarity ratio (0.0 to 1.0) to the email or name at which a password is refused.
    pub max_similarity: f64,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 8,
            max_length: 128,
            min_score: 3,
            max_similarity: DEFAULT_MAX_SIMILARITY,
        }
    }
}

/// What the password is checked against besides itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyContext<'a> {
    /// The account's email, if known.
    pub email: Option<&'a Email>,
    /// The account's name, if known.
    pub full_name: Option<&'a FullName>,
}

/// Which personal attribute a password resembles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonalAttribute {
    /// The email address (or its local part).
    Email,
    /// The full name (or one of its words).
    FullName,
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyViolation {
    /// Fewer characters than the minimum.
    TooShort {
        /// The minimum.
        min: usize,
    },
    /// More characters than the maximum.
    TooLong {
        /// The maximum.
        max: usize,
    },
    /// Only digits.
    EntirelyNumeric,
    /// In the list of common passwords (zxcvbn's 30,000, including l33t and reversed forms).
    TooCommon,
    /// Too close to the email or the name.
    TooSimilar(PersonalAttribute),
    /// Below the guessability floor.
    TooGuessable {
        /// The zxcvbn score the password got (0 to 4).
        score: u8,
        /// The floor.
        min: u8,
        /// zxcvbn's advice, when it has some.
        hint: Option<String>,
    },
}

impl fmt::Display for PolicyViolation {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooShort { min } => write!(
                formatter,
                "This password is too short. It must contain at least {min} characters."
            ),
            Self::TooLong { max } => write!(
                formatter,
                "This password is too long. It must contain at most {max} characters."
            ),
            Self::EntirelyNumeric => formatter.write_str("This password is entirely numeric."),
            Self::TooCommon => formatter.write_str("This password is too common."),
            Self::TooSimilar(PersonalAttribute::Email) => {
                formatter.write_str("The password is too similar to the email.")
            }
            Self::TooSimilar(PersonalAttribute::FullName) => {
                formatter.write_str("The password is too similar to the full name.")
            }
            Self::TooGuessable { hint, .. } => {
                formatter.write_str("This password is too easy to guess.")?;
                match hint {
                    Some(hint) => write!(formatter, " {hint}"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Every rule a password broke, in a stable order; never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the password breaks {} rule(s) of the policy", .0.len())]
pub struct PolicyViolations(Vec<PolicyViolation>);

impl PolicyViolations {
    /// The broken rules.
    pub fn iter(&self) -> impl Iterator<Item = &PolicyViolation> {
        self.0.iter()
    }

    /// Whether `violation` is among them.
    pub fn contains(&self, violation: &PolicyViolation) -> bool {
        self.0.contains(violation)
    }

    /// One human-readable sentence per broken rule.
    pub fn messages(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

/// The full evaluation of a password: its score and every broken rule, for strength meters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordReport {
    /// zxcvbn's score, 0 (trivial) to 4 (very strong).
    pub score: u8,
    /// Every broken rule; empty when the password is acceptable.
    pub violations: Vec<PolicyViolation>,
}

impl PasswordPolicy {
    /// Checks `password`, reporting every broken rule rather than the first.
    pub fn check(
        &self,
        password: &PlaintextPassword,
        context: &PolicyContext<'_>,
    ) -> Result<(), PolicyViolations> {
        let report = self.evaluate(password, context);
        if report.violations.is_empty() {
            Ok(())
        } else {
            Err(PolicyViolations(report.violations))
        }
    }

    /// Scores `password` and lists every broken rule.
    pub fn evaluate(
        &self,
        password: &PlaintextPassword,
        context: &PolicyContext<'_>,
    ) -> PasswordReport {
        let password = password.expose();
        let length = password.chars().count();
        let mut violations = Vec::new();

        if length < self.min_length {
            violations.push(PolicyViolation::TooShort {
                min: self.min_length,
            });
        }
        if length > self.max_length {
            violations.push(PolicyViolation::TooLong {
                max: self.max_length,
            });
        }
        if !password.is_empty() && password.chars().all(|c| c.is_ascii_digit()) {
            violations.push(PolicyViolation::EntirelyNumeric);
        }

        let user_inputs = personal_words(context);
        let user_input_refs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
        // zxcvbn itself only reads the first 100 characters, which bounds its cost.
        let entropy = zxcvbn::zxcvbn(password, &user_input_refs);
        if is_common_password(&entropy) {
            violations.push(PolicyViolation::TooCommon);
        }

        let lowered = password.to_lowercase();
        if let Some(email) = context.email
            && self.resembles(&lowered, email.as_str(), email.local_part())
        {
            violations.push(PolicyViolation::TooSimilar(PersonalAttribute::Email));
        }
        if let Some(name) = context.full_name
            && self.resembles(&lowered, &name.as_str().to_lowercase(), "")
        {
            violations.push(PolicyViolation::TooSimilar(PersonalAttribute::FullName));
        }

        let score = u8::from(entropy.score());
        if score < self.min_score {
            let hint = entropy.feedback().and_then(|feedback| {
                feedback
                    .warning()
                    .map(|warning| warning.to_string())
                    .or_else(|| feedback.suggestions().first().map(ToString::to_string))
            });
            violations.push(PolicyViolation::TooGuessable {
                score,
                min: self.min_score,
                hint,
            });
        }
        PasswordReport { score, violations }
    }

    /// Whether `password` (lower-cased) is too close to `value`, to `extra`, or to any word of
    /// either, as Django's similarity validator judges it.
    fn resembles(&self, password: &str, value: &str, extra: &str) -> bool {
        let words = value
            .split(|c: char| !c.is_alphanumeric())
            .chain(extra.split(|c: char| !c.is_alphanumeric()))
            .chain([value, extra]);
        words
            .filter(|word| !word.is_empty())
            .any(|word| similarity(password, word) >= self.max_similarity)
    }
}

fn personal_words(context: &PolicyContext<'_>) -> Vec<String> {
    let mut words = Vec::new();
    if let Some(email) = context.email {
        words.push(email.as_str().to_owned());
        words.extend(
            email
                .local_part()
                .split(|c: char| !c.is_alphanumeric())
                .filter(|word| word.len() > 2)
                .map(str::to_owned),
        );
    }
    if let Some(name) = context.full_name {
        words.extend(
            name.as_str()
                .split_whitespace()
                .filter(|word| word.chars().count() > 2)
                .map(str::to_lowercase),
        );
    }
    words
}

/// A password is "common" when zxcvbn explains all of it as one entry of its password list.
#[allow(clippy::default_trait_access)] // The type cannot be named: see below.
fn is_common_password(entropy: &zxcvbn::Entropy) -> bool {
    match entropy.sequence() {
        [only] => match &only.pattern {
            // zxcvbn keeps `DictionaryType` in a private module, so it cannot be named here;
            // its `Default` is `Passwords`, which a test below pins.
            zxcvbn::matching::patterns::MatchPattern::Dictionary(pattern) => {
                pattern.dictionary_name == Default::default()
            }
            _ => false,
        },
        _ => false,
    }
}

/// Ratcliff/Obershelp similarity (Python's `SequenceMatcher.ratio`): twice the characters in
/// common, found by recursive longest common substrings, over the total length.
fn similarity(left: &str, right: &str) -> f64 {
    let left: Vec<char> = left.chars().collect();
    let right: Vec<char> = right.chars().collect();
    let total = left.len() + right.len();
    if total == 0 {
        return 1.0;
    }
    #[allow(clippy::cast_precision_loss)] // Both lengths are at most a few hundred.
    let ratio = (2 * matching_characters(&left, &right)) as f64 / total as f64;
    ratio
}

fn matching_characters(left: &[char], right: &[char]) -> usize {
    let (left_start, right_start, length) = longest_common_substring(left, right);
    if length == 0 {
        return 0;
    }
    length
        + matching_characters(&left[..left_start], &right[..right_start])
        + matching_characters(&left[left_start + length..], &right[right_start + length..])
}

fn longest_common_substring(left: &[char], right: &[char]) -> (usize, usize, usize) {
    let mut best = (0, 0, 0);
    let mut previous = vec![0usize; right.len() + 1];
    for (i, left_char) in left.iter().enumerate() {
        let mut current = vec![0usize; right.len() + 1];
        for (j, right_char) in right.iter().enumerate() {
            if left_char == right_char {
                current[j + 1] = previous[j] + 1;
                if current[j + 1] > best.2 {
                    best = (
                        i + 1 - current[j + 1],
                        j + 1 - current[j + 1],
                        current[j + 1],
                    );
                }
            }
        }
        previous = current;
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(password: &str) -> Vec<PolicyViolation> {
        let email = Email::parse("ada.lovelace@example.com").unwrap();
        let name = FullName::parse("Ada Lovelace").unwrap();
        let context = PolicyContext {
            email: Some(&email),
            full_name: Some(&name),
        };
        PasswordPolicy::default()
            .check(&PlaintextPassword::new(password), &context)
            .map_or_else(|errors| errors.iter().cloned().collect(), |()| Vec::new())
    }

    #[test]
    fn a_strong_password_passes() {
        assert_eq!(check("vivid-otter-cabinet-91"), Vec::new());
        assert_eq!(check("Tr0ub4dor&3-horse-staple"), Vec::new());
    }

    #[test]
    fn too_short_is_counted_in_characters() {
        assert!(check("éééé").contains(&PolicyViolation::TooShort { min: 8 }));
        let report = PasswordPolicy::default().evaluate(
            &PlaintextPassword::new("ééééééé€"),
            &PolicyContext::default(),
        );
        assert!(
            !report
                .violations
                .contains(&PolicyViolation::TooShort { min: 8 })
        );
    }

    #[test]
    fn too_long_is_refused() {
        let long = "x7#Kq".repeat(26);
        assert!(check(&long).contains(&PolicyViolation::TooLong { max: 128 }));
        assert!(!check(&long[..128]).contains(&PolicyViolation::TooLong { max: 128 }));
    }

    #[test]
    fn entirely_numeric_is_refused() {
        let violations = check("8675309123456");
        assert!(violations.contains(&PolicyViolation::EntirelyNumeric));
    }

    #[test]
    fn common_passwords_are_refused_with_their_variants() {
        for common in ["password", "iloveyou", "P@ssw0rd", "qwertyuiop", "drowssap"] {
            assert!(
                check(common).contains(&PolicyViolation::TooCommon),
                "{common} should be common"
            );
        }
    }

    #[test]
    fn plain_dictionary_words_are_not_called_common_passwords() {
        // "mountaineering" is in zxcvbn's English list, not its password list.
        assert!(!check("mountaineering").contains(&PolicyViolation::TooCommon));
    }

    #[test]
    fn passwords_like_the_email_or_name_are_refused() {
        assert!(
            check("ada.lovelace1").contains(&PolicyViolation::TooSimilar(PersonalAttribute::Email))
        );
        assert!(
            check("AdaLovelace!")
                .contains(&PolicyViolation::TooSimilar(PersonalAttribute::FullName))
        );
        assert!(
            !check("vivid-otter-cabinet-91")
                .iter()
                .any(|v| matches!(v, PolicyViolation::TooSimilar(_)))
        );
    }

    #[test]
    fn guessable_passwords_are_refused_with_a_hint() {
        let violations = check("abcdefgh");
        let guessable = violations
            .iter()
            .find(|v| matches!(v, PolicyViolation::TooGuessable { .. }))
            .expect("abcdefgh is guessable");
        assert!(
            guessable
                .to_string()
                .starts_with("This password is too easy to guess.")
        );
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let violations = check("1234");
        assert!(violations.contains(&PolicyViolation::TooShort { min: 8 }));
        assert!(violations.contains(&PolicyViolation::EntirelyNumeric));
        assert!(violations.contains(&PolicyViolation::TooCommon));
        assert!(
            violations
                .iter()
                .any(|v| matches!(v, PolicyViolation::TooGuessable { .. }))
        );
    }

    #[test]
    fn the_floor_and_lengths_are_configurable() {
        let lenient = PasswordPolicy {
            min_length: 4,
            min_score: 0,
            ..PasswordPolicy::default()
        };
        assert!(
            lenient
                .check(&PlaintextPassword::new("zq!x"), &PolicyContext::default())
                .is_ok()
        );
    }

    #[test]
    fn messages_are_human_sentences() {
        let email = Email::parse("bob@example.com").unwrap();
        let context = PolicyContext {
            email: Some(&email),
            full_name: None,
        };
        let errors = PasswordPolicy::default()
            .check(&PlaintextPassword::new("123"), &context)
            .unwrap_err();
        let messages = errors.messages();
        assert!(messages.contains(
            &"This password is too short. It must contain at least 8 characters.".to_owned()
        ));
        assert!(messages.contains(&"This password is entirely numeric.".to_owned()));
    }

    #[test]
    fn similarity_matches_python_sequence_matcher() {
        assert!((similarity("abcd", "bcde") - 0.75).abs() < 1e-9);
        assert!((similarity("abc", "abc") - 1.0).abs() < 1e-9);
        assert!(similarity("abc", "xyz").abs() < 1e-9);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn check_never_panics(password in "\\PC{0,200}", local in "[a-z.]{1,20}") {
            let email = Email::parse(&format!("{local}@example.com"));
            let context = PolicyContext { email: email.as_ref().ok(), full_name: None };
            let report = PasswordPolicy::default().evaluate(&PlaintextPassword::new(password.clone()), &context);
            prop_assert!(report.score <= 4);
            let checked = PasswordPolicy::default().check(&PlaintextPassword::new(password), &context);
            prop_assert_eq!(checked.is_ok(), report.violations.is_empty());
        }
    }
}
