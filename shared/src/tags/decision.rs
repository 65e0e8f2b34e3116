//! What the enforcer decided about one event: the function's answer, the
//! `Tag Rule Violation` event's detail and the fields of the decision's log line.

use std::fmt;

use serde::Serialize;

use super::event::Ignored;
use super::verdict::{Verdict, Violation};

/// `detail-type` of the event published for each violation.
pub const TAG_RULE_VIOLATION: &str = "Tag Rule Violation";

/// What the enforcer did about a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ActionTaken {
    /// Nothing changed in the registry (configured `report`, or a protected tag).
    Reported,
    /// The offending tag was removed (the image went with it if it was its last tag).
    Untagged,
    /// The image was deleted by digest.
    Deleted,
    /// The tag or image was already gone (e.g. a duplicate delivery of the event).
    AlreadyResolved,
    /// ECR refused the change for a reason retrying cannot fix (see `note`).
    Failed,
}

impl fmt::Display for ActionTaken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ActionTaken::Reported => "reported",
            ActionTaken::Untagged => "untagged",
            ActionTaken::Deleted => "deleted",
            ActionTaken::AlreadyResolved => "alreadyResolved",
            ActionTaken::Failed => "failed",
        })
    }
}

/// One violation and its outcome: the detail of a `Tag Rule Violation` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ViolationRecord {
    pub repository_name: String,
    pub image_digest: String,
    pub image_tag: String,
    /// `rule`, `violation`, `pattern` (forbidden only) and the configured `action`.
    #[serde(flatten)]
    pub violation: Violation,
    pub action_taken: ActionTaken,
    /// Why the action taken differs from the configured one, or what ECR answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The function's answer for one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "camelCase")]
pub enum Decision {
    /// The event needs no action.
    Ignored(Ignored),
    /// An organization-wide installation got a push from an account and Region it does
    /// not serve: it never acts there.
    NotATarget {
        account: String,
        region: String,
    },
    /// The event can never be processed; acknowledged so Lambda does not retry it.
    Malformed {
        error: String,
    },
    /// The tag breaks no rule.
    #[serde(rename_all = "camelCase")]
    Allowed {
        repository_name: String,
        image_digest: String,
        image_tag: String,
        #[serde(flatten)]
        verdict: Verdict,
    },
    Violation(ViolationRecord),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tags::config::ViolationAction;
    use crate::tags::verdict::ViolationKind;
    use serde_json::json;

    #[test]
    fn violation_detail_is_flat_camel_case_json() {
        let record = ViolationRecord {
            repository_name: "prod/api".into(),
            image_digest: "sha256:1".into(),
            image_tag: "latest".into(),
            violation: Violation {
                rule: "tagRules.rules[0]".into(),
                kind: ViolationKind::Forbidden("latest".into()),
                action: ViolationAction::Delete,
            },
            action_taken: ActionTaken::Untagged,
            note: Some("why".into()),
        };
        assert_eq!(
            serde_json::to_value(&record).expect("json"),
            json!({
                "repositoryName": "prod/api", "imageDigest": "sha256:1", "imageTag": "latest",
                "rule": "tagRules.rules[0]", "violation": "forbidden", "pattern": "latest",
                "action": "delete", "actionTaken": "untagged", "note": "why"
            })
        );
    }

    #[test]
    fn action_taken_displays_as_in_json() {
        for action in [
            ActionTaken::Reported,
            ActionTaken::Untagged,
            ActionTaken::Deleted,
            ActionTaken::AlreadyResolved,
            ActionTaken::Failed,
        ] {
            assert_eq!(
                serde_json::to_value(action).expect("json"),
                json!(action.to_string())
            );
        }
    }

    #[test]
    fn decisions_say_their_outcome() {
        let ignored = Decision::Ignored(Ignored::NotAPush {
            action_type: "DELETE".into(),
        });
        assert_eq!(
            serde_json::to_value(&ignored).expect("json"),
            json!({ "outcome": "ignored", "ignored": "notAPush", "actionType": "DELETE" })
        );
        let allowed = Decision::Allowed {
            repository_name: "dev/app".into(),
            image_digest: "sha256:1".into(),
            image_tag: "latest".into(),
            verdict: Verdict::NoRule,
        };
        assert_eq!(
            serde_json::to_value(&allowed).expect("json"),
            json!({ "outcome": "allowed", "repositoryName": "dev/app", "imageDigest": "sha256:1",
                    "imageTag": "latest", "verdict": "noRule" })
        );
    }
}
