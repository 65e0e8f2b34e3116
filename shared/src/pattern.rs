//! ECR's tag wildcard syntax, shared by lifecycle rules, tag rules and repository globs.
//!
//! `*` matches any run of characters (including none) and the whole text must match:
//! `prod*` matches `prod` and `production-team1`, `*prod*` matches `repo-production`.
//! There is no escape and no other metacharacter, exactly as in ECR's `tagPatternList`.

use std::fmt;

/// A parsed wildcard pattern: the literal pieces between the `*`s.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WildcardPattern {
    text: String,
    /// Literal segments split on `*`; `segments.len() == wildcard_count() + 1`.
    segments: Vec<String>,
}

impl WildcardPattern {
    /// Parses a pattern. Every string is a valid pattern; limits such as ECR's
    /// "at most 4 wildcards" are checked by the callers that own them.
    pub fn new(text: &str) -> Self {
        WildcardPattern {
            text: text.to_owned(),
            segments: text.split('*').map(str::to_owned).collect(),
        }
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// How many `*` the pattern holds.
    pub fn wildcard_count(&self) -> usize {
        self.segments.len() - 1
    }

    /// Whether `candidate` matches the whole pattern.
    pub fn matches(&self, candidate: &str) -> bool {
        let (first, rest) = match self.segments.split_first() {
            Some(split) => split,
            None => return candidate.is_empty(),
        };
        if rest.is_empty() {
            return candidate == first;
        }
        let Some(mut remaining) = candidate.strip_prefix(first.as_str()) else {
            return false;
        };
        let (last, middle) = match rest.split_last() {
            Some(split) => split,
            None => return true,
        };
        // Greedy leftmost matching of the middle segments is optimal for `*`-only globs:
        // taking the earliest occurrence leaves the most room for what follows.
        for segment in middle {
            match remaining.find(segment.as_str()) {
                Some(at) => remaining = &remaining[at + segment.len()..],
                None => return false,
            }
        }
        remaining.len() >= last.len() && remaining.ends_with(last.as_str())
    }
}

impl fmt::Display for WildcardPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl serde::Serialize for WildcardPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for WildcardPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(WildcardPattern::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(pattern: &str, candidate: &str) -> bool {
        WildcardPattern::new(pattern).matches(candidate)
    }

    #[test]
    fn literal_pattern_matches_only_itself() {
        assert!(m("latest", "latest"));
        assert!(!m("latest", "latest1"));
        assert!(!m("latest", "alatest"));
        assert!(!m("latest", ""));
    }

    #[test]
    fn aws_documented_examples() {
        assert!(m("prod*", "prod"));
        assert!(m("prod*", "prod1"));
        assert!(m("prod*", "production-team1"));
        assert!(m("*prod*", "repo-production"));
        assert!(!m("prod*", "repo-production"));
        assert!(m("*prod", "repo-prod"));
        assert!(!m("*prod", "repo-prod1"));
    }

    #[test]
    fn several_wildcards_and_overlaps() {
        assert!(m("v*.*.*", "v1.2.3"));
        assert!(!m("v*.*.*", "v1.2"));
        assert!(m("a*a", "aa"));
        assert!(!m("a*a", "a"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(m("ab*ab*ab", "abababab"));
        assert!(!m("ab*ab*ab", "ababa"));
    }

    #[test]
    fn counts_wildcards() {
        assert_eq!(WildcardPattern::new("a*b*c").wildcard_count(), 2);
        assert_eq!(WildcardPattern::new("abc").wildcard_count(), 0);
    }

    /// Reference implementation: the pattern turned into an anchored regular expression.
    fn regex_match(pattern: &str, candidate: &str) -> bool {
        let parts: Vec<String> = pattern.split('*').map(regex::escape).collect();
        let re = regex::Regex::new(&format!("^(?s:{})$", parts.join(".*"))).expect("valid regex");
        re.is_match(candidate)
    }

    proptest! {
        #[test]
        fn agrees_with_regex_translation(pattern in "[ab*]{0,8}", candidate in "[ab]{0,10}") {
            prop_assert_eq!(m(&pattern, &candidate), regex_match(&pattern, &candidate));
        }
    }
}
