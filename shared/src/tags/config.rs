//! The `tagRules` section of the configuration: which tags each repository accepts
//! and what to do with the others.
//!
//! Deserialising never fails on a bad pattern: regular expressions are compiled when
//! read and their errors kept, so that `validate` can report every problem of the
//! document at once, each with its field path.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::config::FieldError;
use crate::pattern::WildcardPattern;

/// The `tagRules` section.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagRulesConfig {
    /// Rules in priority order: the first rule whose `repositories` match a
    /// repository is the only rule applied to it.
    #[serde(default)]
    pub rules: Vec<TagRule>,
    /// Tags (wildcards) whose images the enforcer never deletes and which it never
    /// removes, whatever the rules say.
    #[serde(default)]
    pub protected_tags: Vec<WildcardPattern>,
}

/// One rule: the tag policy of the repositories matching `repositories`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagRule {
    /// Repository name globs (ECR `*` wildcards) the rule applies to.
    pub repositories: Vec<WildcardPattern>,
    /// When `allowed` or `allowedRegex` is non-empty, a tag must match one of them.
    #[serde(default)]
    pub allowed: Vec<WildcardPattern>,
    /// Regular expressions a tag may match instead; the whole tag must match.
    #[serde(default)]
    pub allowed_regex: Vec<TagRegex>,
    /// Tags that are violations even when an allowed pattern matches them.
    #[serde(default)]
    pub forbidden: Vec<WildcardPattern>,
    /// Tags the rule never objects to, even when forbidden.
    #[serde(default)]
    pub exempt: Vec<WildcardPattern>,
    /// What happens to a violating tag.
    #[serde(default)]
    pub action: ViolationAction,
}

/// What the enforcer does with a tag that breaks its rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ViolationAction {
    /// Only publish a `Tag Rule Violation` event.
    #[default]
    Report,
    /// Remove the offending tag (ECR deletes the image if it was its last tag).
    Untag,
    /// Delete the whole image by digest, unless it also carries a tag worth keeping.
    Delete,
}

impl fmt::Display for ViolationAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ViolationAction::Report => "report",
            ViolationAction::Untag => "untag",
            ViolationAction::Delete => "delete",
        })
    }
}

/// A regular expression a whole tag must match, as written and compiled.
#[derive(Debug, Clone)]
pub struct TagRegex {
    text: String,
    compiled: Result<regex::Regex, RegexProblem>,
}

/// Why a regular expression does not compile, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegexProblem {
    /// 1-based character column of the problem, when the parser names one.
    pub column: Option<usize>,
    pub message: String,
}

impl fmt::Display for RegexProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            Some(column) => write!(f, "{} at character {column}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl TagRegex {
    pub fn new(text: &str) -> Self {
        TagRegex {
            text: text.to_owned(),
            compiled: compile_anchored(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The compile error, if the expression is invalid.
    pub fn problem(&self) -> Option<&RegexProblem> {
        self.compiled.as_ref().err()
    }

    /// Whether the whole tag matches. An invalid expression matches nothing (and
    /// fails validation, so it never reaches a running function).
    pub fn matches(&self, tag: &str) -> bool {
        self.compiled.as_ref().is_ok_and(|re| re.is_match(tag))
    }
}

/// Parses first with `regex_syntax` to learn where a syntax error is (the `regex`
/// crate only renders it as text), then compiles the expression anchored at both
/// ends so it must match the whole tag, like a wildcard pattern.
fn compile_anchored(text: &str) -> Result<regex::Regex, RegexProblem> {
    if let Err(err) = regex_syntax::Parser::new().parse(text) {
        let (column, message) = match &err {
            regex_syntax::Error::Parse(e) => (Some(e.span().start.column), e.kind().to_string()),
            regex_syntax::Error::Translate(e) => {
                (Some(e.span().start.column), e.kind().to_string())
            }
            other => (None, other.to_string()),
        };
        return Err(RegexProblem { column, message });
    }
    regex::Regex::new(&format!("^(?:{text})$")).map_err(|err| RegexProblem {
        column: None,
        message: err.to_string(),
    })
}

impl<'de> Deserialize<'de> for TagRegex {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Ok(TagRegex::new(&text))
    }
}

/// Characters of an image tag (Docker's tag grammar), plus the `*` wildcard.
fn is_tag_pattern_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '*')
}

/// Characters of a repository name (ECR's pattern), plus the `*` wildcard.
fn is_repository_pattern_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '/' | '-' | '*')
}

/// Checks one wildcard pattern: not empty, and only characters that can occur in
/// what it is matched against (otherwise it silently never matches).
fn check_pattern(
    pattern: &WildcardPattern,
    field: &str,
    what: &str,
    allowed_char: fn(char) -> bool,
    errors: &mut Vec<FieldError>,
) {
    let text = pattern.as_str();
    if text.is_empty() {
        errors.push(FieldError::new(field, "empty pattern: it matches nothing"));
        return;
    }
    if let Some((index, c)) = text.chars().enumerate().find(|(_, c)| !allowed_char(*c)) {
        errors.push(FieldError::new(
            field,
            format!(
                "{c:?} at character {} of {text:?} cannot occur in {what}, so the pattern never matches",
                index + 1
            ),
        ));
    }
}

pub(crate) fn check_tag_patterns(
    patterns: &[WildcardPattern],
    field: &str,
    errors: &mut Vec<FieldError>,
) {
    for (index, pattern) in patterns.iter().enumerate() {
        check_pattern(
            pattern,
            &format!("{field}[{index}]"),
            "an image tag",
            is_tag_pattern_char,
            errors,
        );
    }
}

impl TagRulesConfig {
    /// Reports every semantic problem of the section with its dotted field path.
    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        for (index, rule) in self.rules.iter().enumerate() {
            rule.validate(&format!("{field}.rules[{index}]"), errors);
        }
        check_tag_patterns(
            &self.protected_tags,
            &format!("{field}.protectedTags"),
            errors,
        );
    }
}

impl TagRule {
    /// Every semantic problem of the rule at `field` (`tagRules.rules[0]`).
    pub(crate) fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        if self.repositories.is_empty() {
            errors.push(FieldError::new(
                format!("{field}.repositories"),
                "must list at least one repository glob (use [\"*\"] for all repositories)",
            ));
        }
        for (index, glob) in self.repositories.iter().enumerate() {
            check_pattern(
                glob,
                &format!("{field}.repositories[{index}]"),
                "a repository name",
                is_repository_pattern_char,
                errors,
            );
        }
        check_tag_patterns(&self.allowed, &format!("{field}.allowed"), errors);
        check_tag_patterns(&self.forbidden, &format!("{field}.forbidden"), errors);
        check_tag_patterns(&self.exempt, &format!("{field}.exempt"), errors);
        for (index, regex) in self.allowed_regex.iter().enumerate() {
            if let Some(problem) = regex.problem() {
                errors.push(FieldError::new(
                    format!("{field}.allowedRegex[{index}]"),
                    format!("invalid regular expression {:?}: {problem}", regex.as_str()),
                ));
            }
        }
        if self.allowed.is_empty() && self.allowed_regex.is_empty() && self.forbidden.is_empty() {
            errors.push(FieldError::new(
                field,
                "has no allowed, allowedRegex or forbidden patterns, so it can never find a violation",
            ));
        }
    }

    /// Whether the allow lists constrain tags at all (empty lists allow every tag).
    pub fn has_allow_list(&self) -> bool {
        !self.allowed.is_empty() || !self.allowed_regex.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigError, ConfigSource, JanitorConfig};
    use serde_json::json;

    fn section_errors(section: serde_json::Value) -> Vec<FieldError> {
        let config: TagRulesConfig = serde_json::from_value(section).expect("parses");
        let mut errors = Vec::new();
        config.validate("tagRules", &mut errors);
        errors
    }

    fn fields(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn contract_example_is_valid() {
        let errors = section_errors(json!({
            "rules": [{ "repositories": ["prod/*"], "allowed": ["v*.*.*"],
                        "allowedRegex": ["^v\\d+\\.\\d+\\.\\d+$"], "forbidden": ["latest"],
                        "exempt": ["sha-*"], "action": "untag" }],
            "protectedTags": ["release-*"]
        }));
        assert_eq!(errors, vec![]);
    }

    #[test]
    fn action_defaults_to_report() {
        let config: TagRulesConfig = serde_json::from_value(json!({
            "rules": [{ "repositories": ["*"], "forbidden": ["latest"] }]
        }))
        .expect("parses");
        assert_eq!(config.rules[0].action, ViolationAction::Report);
    }

    #[test]
    fn invalid_regex_names_field_and_position() {
        let errors = section_errors(json!({
            "rules": [{ "repositories": ["*"], "allowedRegex": ["^v\\d+$", "^v(\\d+$"] }]
        }));
        assert_eq!(fields(&errors), vec!["tagRules.rules[0].allowedRegex[1]"]);
        assert_eq!(
            errors[0].message,
            "invalid regular expression \"^v(\\\\d+$\": unclosed group at character 3"
        );
    }

    #[test]
    fn regex_is_anchored_to_the_whole_tag() {
        let regex = TagRegex::new("v\\d+");
        assert!(regex.matches("v12"));
        assert!(!regex.matches("xv12"));
        assert!(!regex.matches("v12-rc"));
        let alternation = TagRegex::new("a|b");
        assert!(alternation.matches("a"));
        assert!(!alternation.matches("ab"));
    }

    #[test]
    fn empty_lists_and_patterns_are_named() {
        let errors = section_errors(json!({
            "rules": [
                { "repositories": [], "forbidden": ["latest"] },
                { "repositories": ["app"], "exempt": ["sha-*"] },
                { "repositories": ["app", ""], "allowed": [""] }
            ],
            "protectedTags": ["prod-*", ""]
        }));
        assert_eq!(
            fields(&errors),
            vec![
                "tagRules.rules[0].repositories",
                "tagRules.rules[1]",
                "tagRules.rules[2].repositories[1]",
                "tagRules.rules[2].allowed[0]",
                "tagRules.protectedTags[1]",
            ]
        );
        assert_eq!(
            errors[1].message,
            "has no allowed, allowedRegex or forbidden patterns, so it can never find a violation"
        );
    }

    #[test]
    fn characters_that_never_match_are_named_with_their_position() {
        let errors = section_errors(json!({
            "rules": [{ "repositories": ["Team/*"], "forbidden": ["lat est"], "exempt": ["a/b"] }]
        }));
        assert_eq!(
            fields(&errors),
            vec![
                "tagRules.rules[0].repositories[0]",
                "tagRules.rules[0].forbidden[0]",
                "tagRules.rules[0].exempt[0]",
            ]
        );
        assert_eq!(
            errors[0].message,
            "'T' at character 1 of \"Team/*\" cannot occur in a repository name, so the pattern never matches"
        );
        assert_eq!(
            errors[1].message,
            "' ' at character 4 of \"lat est\" cannot occur in an image tag, so the pattern never matches"
        );
    }

    #[test]
    fn unknown_action_and_unknown_field_are_named_with_their_paths() {
        let err = JanitorConfig::from_json(
            r#"{"tagRules": {"rules": [{"repositories": ["*"], "forbidden": ["latest"], "action": "nuke"}]}}"#,
            ConfigSource::Inline,
        )
        .expect_err("unknown action");
        match err {
            ConfigError::Invalid { errors, .. } => {
                assert_eq!(fields(&errors), vec!["tagRules.rules[0].action"]);
                assert!(
                    errors[0].message.starts_with("unknown variant `nuke`"),
                    "{}",
                    errors[0].message
                );
            }
            other => panic!("unexpected {other}"),
        }
        let err = JanitorConfig::from_json(
            r#"{"tagRules": {"rules": [{"repositories": ["*"], "forbiden": ["latest"]}]}}"#,
            ConfigSource::Inline,
        )
        .expect_err("unknown field");
        match err {
            ConfigError::Invalid { errors, .. } => {
                assert_eq!(fields(&errors), vec!["tagRules.rules[0].forbiden"])
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn document_validation_reports_every_tag_rule_problem() {
        let err = JanitorConfig::from_json(
            r#"{"tagRules": {"rules": [{"repositories": [], "allowedRegex": ["("]}]}}"#,
            ConfigSource::Inline,
        )
        .expect_err("invalid");
        match err {
            ConfigError::Invalid { errors, .. } => assert_eq!(
                fields(&errors),
                vec![
                    "tagRules.rules[0].repositories",
                    "tagRules.rules[0].allowedRegex[0]"
                ]
            ),
            other => panic!("unexpected {other}"),
        }
    }
}
