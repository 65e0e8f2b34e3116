//! The verdict on one tag in one repository, from the configuration alone.
//!
//! Precedence:
//! 1. Rules are tried in order; the first rule with a repository glob matching the
//!    repository is the only rule applied (later rules are not consulted).
//! 2. Within that rule: `exempt` beats `forbidden`, which beats `allowed`/`allowedRegex`.
//! 3. With no allow list (both `allowed` and `allowedRegex` empty) every tag that is
//!    not forbidden is allowed; with one, a tag must match at least one entry.

use std::fmt;

use serde::Serialize;

use super::config::{TagRule, TagRulesConfig, ViolationAction};
use crate::pattern::WildcardPattern;

/// Why a tag is acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "allowedBy", content = "pattern", rename_all = "camelCase")]
pub enum AllowedBy {
    /// Matches this `allowed` wildcard pattern.
    Pattern(String),
    /// Matches this `allowedRegex` expression.
    Regex(String),
    /// The rule has no allow list and no forbidden pattern matched.
    NoAllowList,
}

/// How a tag breaks its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "violation", content = "pattern", rename_all = "camelCase")]
pub enum ViolationKind {
    /// Matches this `forbidden` pattern.
    Forbidden(String),
    /// Matches none of the rule's `allowed` and `allowedRegex` entries.
    NotAllowed,
}

/// A tag that breaks the rule of its repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Violation {
    /// Field path of the rule, e.g. `tagRules.rules[0]`.
    pub rule: String,
    #[serde(flatten)]
    pub kind: ViolationKind,
    /// The configured action.
    pub action: ViolationAction,
}

/// The verdict on one tag.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "camelCase")]
pub enum Verdict {
    /// No rule's repository globs match the repository.
    NoRule,
    /// The tag matches an `exempt` pattern of the rule.
    #[serde(rename_all = "camelCase")]
    Exempt {
        rule: String,
        pattern: String,
    },
    #[serde(rename_all = "camelCase")]
    Allowed {
        rule: String,
        #[serde(flatten)]
        by: AllowedBy,
    },
    Violation(Violation),
}

impl Verdict {
    pub fn violation(&self) -> Option<&Violation> {
        match self {
            Verdict::Violation(violation) => Some(violation),
            _ => None,
        }
    }
}

fn first_match<'a>(patterns: &'a [WildcardPattern], text: &str) -> Option<&'a WildcardPattern> {
    patterns.iter().find(|pattern| pattern.matches(text))
}

impl TagRulesConfig {
    /// The rule applied to a repository (the first whose globs match) and its index.
    pub fn rule_for(&self, repository: &str) -> Option<(usize, &TagRule)> {
        self.rules
            .iter()
            .enumerate()
            .find(|(_, rule)| first_match(&rule.repositories, repository).is_some())
    }

    /// The verdict on `tag` in `repository` (see the module documentation for precedence).
    pub fn verdict(&self, repository: &str, tag: &str) -> Verdict {
        let Some((index, rule)) = self.rule_for(repository) else {
            return Verdict::NoRule;
        };
        let rule_field = format!("tagRules.rules[{index}]");
        if let Some(pattern) = first_match(&rule.exempt, tag) {
            return Verdict::Exempt {
                rule: rule_field,
                pattern: pattern.to_string(),
            };
        }
        if let Some(pattern) = first_match(&rule.forbidden, tag) {
            return Verdict::Violation(Violation {
                rule: rule_field,
                kind: ViolationKind::Forbidden(pattern.to_string()),
                action: rule.action,
            });
        }
        if !rule.has_allow_list() {
            return Verdict::Allowed {
                rule: rule_field,
                by: AllowedBy::NoAllowList,
            };
        }
        if let Some(pattern) = first_match(&rule.allowed, tag) {
            return Verdict::Allowed {
                rule: rule_field,
                by: AllowedBy::Pattern(pattern.to_string()),
            };
        }
        if let Some(regex) = rule.allowed_regex.iter().find(|regex| regex.matches(tag)) {
            return Verdict::Allowed {
                rule: rule_field,
                by: AllowedBy::Regex(regex.as_str().to_owned()),
            };
        }
        Verdict::Violation(Violation {
            rule: rule_field,
            kind: ViolationKind::NotAllowed,
            action: rule.action,
        })
    }
}

impl fmt::Display for ViolationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ViolationKind::Forbidden(pattern) => write!(f, "matches forbidden pattern {pattern:?}"),
            ViolationKind::NotAllowed => f.write_str("matches none of the allowed patterns"),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::NoRule => f.write_str("allowed: no tag rule covers the repository"),
            Verdict::Exempt { rule, pattern } => {
                write!(f, "allowed: exempt by {rule} (pattern {pattern:?})")
            }
            Verdict::Allowed { rule, by } => match by {
                AllowedBy::Pattern(pattern) => {
                    write!(f, "allowed by {rule} (pattern {pattern:?})")
                }
                AllowedBy::Regex(regex) => write!(f, "allowed by {rule} (regex {regex:?})"),
                AllowedBy::NoAllowList => {
                    write!(f, "allowed by {rule} (no forbidden pattern matches)")
                }
            },
            Verdict::Violation(violation) => write!(
                f,
                "violation of {}: {}; action: {}",
                violation.rule, violation.kind, violation.action
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules(section: serde_json::Value) -> TagRulesConfig {
        let config: TagRulesConfig = serde_json::from_value(section).expect("parses");
        let mut errors = Vec::new();
        config.validate("tagRules", &mut errors);
        assert_eq!(errors, vec![], "test configuration must be valid");
        config
    }

    fn prod_rules() -> TagRulesConfig {
        rules(json!({
            "rules": [
                { "repositories": ["prod/*"], "allowed": ["v*.*.*"],
                  "allowedRegex": ["rc-[0-9a-f]{7}"], "forbidden": ["latest", "*-dirty"],
                  "exempt": ["sha-*", "v0.0.0-dirty"], "action": "untag" },
                { "repositories": ["prod/legacy", "*"], "forbidden": ["latest"], "action": "delete" }
            ],
            "protectedTags": ["release-*"]
        }))
    }

    fn violation(rule: &str, kind: ViolationKind, action: ViolationAction) -> Verdict {
        Verdict::Violation(Violation {
            rule: rule.to_owned(),
            kind,
            action,
        })
    }

    #[test]
    fn allowed_by_wildcard_and_by_regex() {
        let config = prod_rules();
        assert_eq!(
            config.verdict("prod/api", "v1.2.3"),
            Verdict::Allowed {
                rule: "tagRules.rules[0]".into(),
                by: AllowedBy::Pattern("v*.*.*".into())
            }
        );
        assert_eq!(
            config.verdict("prod/api", "rc-0abc123"),
            Verdict::Allowed {
                rule: "tagRules.rules[0]".into(),
                by: AllowedBy::Regex("rc-[0-9a-f]{7}".into())
            }
        );
    }

    #[test]
    fn tag_matching_no_allow_entry_is_not_allowed() {
        let config = prod_rules();
        for tag in ["v1.2", "rc-0abc12", "rc-0abc1234", "release"] {
            assert_eq!(
                config.verdict("prod/api", tag),
                violation(
                    "tagRules.rules[0]",
                    ViolationKind::NotAllowed,
                    ViolationAction::Untag
                ),
                "{tag}"
            );
        }
    }

    #[test]
    fn exempt_beats_forbidden_beats_allowed() {
        let config = prod_rules();
        // Allowed by `v*.*.*` but forbidden by `*-dirty`.
        assert_eq!(
            config.verdict("prod/api", "v1.2.3-dirty"),
            violation(
                "tagRules.rules[0]",
                ViolationKind::Forbidden("*-dirty".into()),
                ViolationAction::Untag
            )
        );
        // Forbidden by `*-dirty` but exempt.
        assert_eq!(
            config.verdict("prod/api", "v0.0.0-dirty"),
            Verdict::Exempt {
                rule: "tagRules.rules[0]".into(),
                pattern: "v0.0.0-dirty".into()
            }
        );
        // Exempt although not allowed.
        assert_eq!(
            config.verdict("prod/api", "sha-abc"),
            Verdict::Exempt {
                rule: "tagRules.rules[0]".into(),
                pattern: "sha-*".into()
            }
        );
    }

    #[test]
    fn first_matching_rule_wins() {
        let config = prod_rules();
        // `prod/legacy` is named by rule 1 but `prod/*` of rule 0 comes first.
        assert_eq!(
            config.verdict("prod/legacy", "latest"),
            violation(
                "tagRules.rules[0]",
                ViolationKind::Forbidden("latest".into()),
                ViolationAction::Untag
            )
        );
        assert_eq!(
            config.verdict("team/app", "latest"),
            violation(
                "tagRules.rules[1]",
                ViolationKind::Forbidden("latest".into()),
                ViolationAction::Delete
            )
        );
        assert_eq!(config.rule_for("team/app").map(|(index, _)| index), Some(1));
    }

    #[test]
    fn rule_without_allow_list_allows_everything_not_forbidden() {
        let config = prod_rules();
        assert_eq!(
            config.verdict("team/app", "anything-goes"),
            Verdict::Allowed {
                rule: "tagRules.rules[1]".into(),
                by: AllowedBy::NoAllowList
            }
        );
    }

    #[test]
    fn repository_without_rule_has_no_verdict_against_it() {
        let config = rules(json!({
            "rules": [{ "repositories": ["prod/*"], "forbidden": ["latest"] }]
        }));
        assert_eq!(config.verdict("dev/app", "latest"), Verdict::NoRule);
        assert_eq!(
            TagRulesConfig::default().verdict("x", "latest"),
            Verdict::NoRule
        );
    }

    #[test]
    fn repository_globs_use_ecr_wildcards_on_the_whole_name() {
        let config = rules(json!({
            "rules": [{ "repositories": ["team-*/prod-*"], "forbidden": ["latest"] }]
        }));
        assert!(config
            .verdict("team-a/prod-api", "latest")
            .violation()
            .is_some());
        assert_eq!(config.verdict("team-a/dev-api", "latest"), Verdict::NoRule);
        assert_eq!(
            config.verdict("x/team-a/prod-api", "latest"),
            Verdict::NoRule
        );
    }

    proptest::proptest! {
        /// Any combination of one exempt, one forbidden and one allowed pattern:
        /// exempt beats forbidden beats allowed, and an unmatched tag is not allowed.
        #[test]
        fn precedence_holds_for_every_combination(
            tag in "[ab.]{0,6}",
            exempt in "[ab*]{1,4}",
            forbidden in "[ab*]{1,4}",
            allowed in "[ab*]{1,4}",
        ) {
            let config: TagRulesConfig = serde_json::from_value(json!({"rules": [{
                "repositories": ["*"], "allowed": [allowed], "forbidden": [forbidden],
                "exempt": [exempt], "action": "delete"
            }]}))
            .expect("parses");
            let rule = "tagRules.rules[0]".to_owned();
            let expected = if WildcardPattern::new(&exempt).matches(&tag) {
                Verdict::Exempt { rule, pattern: exempt }
            } else if WildcardPattern::new(&forbidden).matches(&tag) {
                violation(&rule, ViolationKind::Forbidden(forbidden), ViolationAction::Delete)
            } else if WildcardPattern::new(&allowed).matches(&tag) {
                Verdict::Allowed { rule, by: AllowedBy::Pattern(allowed) }
            } else {
                violation(&rule, ViolationKind::NotAllowed, ViolationAction::Delete)
            };
            proptest::prop_assert_eq!(config.verdict("any/repo", &tag), expected);
        }
    }

    #[test]
    fn verdicts_read_well() {
        let config = prod_rules();
        assert_eq!(
            config.verdict("prod/api", "latest").to_string(),
            "violation of tagRules.rules[0]: matches forbidden pattern \"latest\"; action: untag"
        );
        assert_eq!(
            config.verdict("prod/api", "nightly").to_string(),
            "violation of tagRules.rules[0]: matches none of the allowed patterns; action: untag"
        );
        assert_eq!(
            config.verdict("prod/api", "v1.0.0").to_string(),
            "allowed by tagRules.rules[0] (pattern \"v*.*.*\")"
        );
        assert_eq!(
            serde_json::to_value(config.verdict("prod/api", "latest")).expect("json"),
            json!({ "verdict": "violation", "rule": "tagRules.rules[0]",
                    "violation": "forbidden", "pattern": "latest", "action": "untag" })
        );
        assert_eq!(
            serde_json::to_value(config.verdict("prod/api", "v1.0.0")).expect("json"),
            json!({ "verdict": "allowed", "rule": "tagRules.rules[0]",
                    "allowedBy": "pattern", "pattern": "v*.*.*" })
        );
    }
}
