//! The safe step for one violation, decided from the image's CURRENT tags.
//!
//! The event says what was pushed; by the time it arrives the registry may have
//! moved on (another tag pushed onto the image, the tag moved or already removed by
//! an earlier delivery of the same event). The enforcer therefore reads the image
//! again and never acts on the event alone:
//! - a tag that is no longer on the image, or an image that is gone, is already
//!   resolved (duplicate deliveries end here);
//! - a protected tag (see [`crate::protected_tags`]) is never removed: the violation
//!   is only reported;
//! - `delete` removes the whole image only when none of its other tags is worth
//!   keeping (allowed, exempt, outside any rule, or protected); otherwise only the
//!   offending tag is removed.

use super::config::{TagRulesConfig, ViolationAction};
use super::event::TaggedPush;
use crate::protected_tags::ProtectedTags;

/// The pushed image as ECR holds it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurrentImage<'a> {
    /// No image with the pushed digest is in the repository (or the repository is gone).
    Gone,
    /// The image's current tags.
    Tagged(&'a [String]),
}

/// What the enforcer does about one violation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Publish the violation and change nothing.
    Report { note: Option<String> },
    /// Remove only the offending tag (ECR deletes the image if it was its last tag).
    Untag { note: Option<String> },
    /// Delete the image by digest, with all its tags.
    Delete,
    /// Nothing left to do.
    AlreadyResolved { note: String },
}

/// Decides the step for a violating push given the configured action and the image's
/// current state (see the module documentation).
pub fn plan_step(
    rules: &TagRulesConfig,
    protected: &ProtectedTags,
    push: &TaggedPush,
    action: ViolationAction,
    current: CurrentImage<'_>,
) -> Step {
    if action == ViolationAction::Report {
        return Step::Report { note: None };
    }
    let tags = match current {
        CurrentImage::Gone => {
            return Step::AlreadyResolved {
                note: "the image is no longer in the repository".to_owned(),
            }
        }
        CurrentImage::Tagged(tags) => tags,
    };
    if !tags.contains(&push.image_tag) {
        return Step::AlreadyResolved {
            note: "the tag is no longer on the image".to_owned(),
        };
    }
    if let Some(pattern) = protected.pattern_for(&push.image_tag) {
        return Step::Report {
            note: Some(format!(
                "the tag matches protectedTags pattern {:?} and is never removed",
                pattern.as_str()
            )),
        };
    }
    if action == ViolationAction::Untag {
        return Step::Untag { note: None };
    }
    match keeper(rules, protected, push, tags) {
        Some(reason) => Step::Untag {
            note: Some(format!(
                "not deleted: the image also carries {reason}; only the offending tag is removed"
            )),
        },
        None => Step::Delete,
    }
}

/// The first other tag of the image that makes it worth keeping, described.
fn keeper(
    rules: &TagRulesConfig,
    protected: &ProtectedTags,
    push: &TaggedPush,
    tags: &[String],
) -> Option<String> {
    let others = || tags.iter().filter(|tag| **tag != push.image_tag);
    if let Some((tag, pattern)) =
        others().find_map(|tag| protected.pattern_for(tag).map(|pattern| (tag, pattern)))
    {
        return Some(format!(
            "tag {tag:?} protected by protectedTags pattern {:?}",
            pattern.as_str()
        ));
    }
    others()
        .find(|tag| {
            rules
                .verdict(&push.repository_name, tag)
                .violation()
                .is_none()
        })
        .map(|tag| format!("tag {tag:?} that breaks no rule"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> TagRulesConfig {
        serde_json::from_value(json!({
            "rules": [{ "repositories": ["prod/*"], "allowed": ["v*.*.*"],
                        "forbidden": ["latest"], "exempt": ["sha-*"], "action": "delete" }]
        }))
        .expect("parses")
    }

    /// As `protectedTags` lists would give them, wherever they are configured.
    fn protected() -> ProtectedTags {
        ProtectedTags::new(&[
            crate::pattern::WildcardPattern::new("release-*"),
            crate::pattern::WildcardPattern::new("stable"),
        ])
    }

    fn push(tag: &str) -> TaggedPush {
        TaggedPush {
            repository_name: "prod/api".into(),
            image_digest: "sha256:1".into(),
            image_tag: tag.into(),
        }
    }

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|tag| tag.to_string()).collect()
    }

    #[test]
    fn report_never_looks_further() {
        assert_eq!(
            plan_step(
                &rules(),
                &protected(),
                &push("latest"),
                ViolationAction::Report,
                CurrentImage::Gone
            ),
            Step::Report { note: None }
        );
    }

    #[test]
    fn gone_image_or_tag_is_already_resolved() {
        for action in [ViolationAction::Untag, ViolationAction::Delete] {
            assert_eq!(
                plan_step(
                    &rules(),
                    &protected(),
                    &push("latest"),
                    action,
                    CurrentImage::Gone
                ),
                Step::AlreadyResolved {
                    note: "the image is no longer in the repository".into()
                }
            );
            let current = tags(&["v1.0.0"]);
            assert_eq!(
                plan_step(
                    &rules(),
                    &protected(),
                    &push("latest"),
                    action,
                    CurrentImage::Tagged(&current)
                ),
                Step::AlreadyResolved {
                    note: "the tag is no longer on the image".into()
                }
            );
        }
    }

    #[test]
    fn untag_removes_only_the_tag_even_when_it_is_the_last() {
        let current = tags(&["latest"]);
        assert_eq!(
            plan_step(
                &rules(),
                &protected(),
                &push("latest"),
                ViolationAction::Untag,
                CurrentImage::Tagged(&current)
            ),
            Step::Untag { note: None }
        );
    }

    #[test]
    fn delete_when_every_tag_breaks_the_rule() {
        let current = tags(&["latest", "nightly"]);
        assert_eq!(
            plan_step(
                &rules(),
                &protected(),
                &push("latest"),
                ViolationAction::Delete,
                CurrentImage::Tagged(&current)
            ),
            Step::Delete
        );
    }

    #[test]
    fn delete_becomes_untag_when_another_tag_is_allowed_or_exempt() {
        for (other, reason) in [
            ("v1.2.3", "tag \"v1.2.3\" that breaks no rule"),
            ("sha-abc", "tag \"sha-abc\" that breaks no rule"),
        ] {
            let current = tags(&["latest", "nightly", other]);
            assert_eq!(
                plan_step(
                    &rules(),
                    &protected(),
                    &push("latest"),
                    ViolationAction::Delete,
                    CurrentImage::Tagged(&current)
                ),
                Step::Untag {
                    note: Some(format!(
                        "not deleted: the image also carries {reason}; only the offending tag is removed"
                    ))
                }
            );
        }
    }

    #[test]
    fn delete_becomes_untag_when_another_tag_is_protected() {
        // `release-1` breaks the rule (not v*.*.*) but is protected.
        let current = tags(&["latest", "release-1"]);
        assert_eq!(
            plan_step(
                &rules(),
                &protected(),
                &push("latest"),
                ViolationAction::Delete,
                CurrentImage::Tagged(&current)
            ),
            Step::Untag {
                note: Some(
                    "not deleted: the image also carries tag \"release-1\" protected by protectedTags pattern \"release-*\"; only the offending tag is removed".into()
                )
            }
        );
    }

    #[test]
    fn protected_offending_tag_is_only_reported() {
        let current = tags(&["stable"]);
        for action in [ViolationAction::Untag, ViolationAction::Delete] {
            assert_eq!(
                plan_step(
                    &rules(),
                    &protected(),
                    &push("stable"),
                    action,
                    CurrentImage::Tagged(&current)
                ),
                Step::Report {
                    note: Some(
                        "the tag matches protectedTags pattern \"stable\" and is never removed"
                            .into()
                    )
                }
            );
        }
    }
}
