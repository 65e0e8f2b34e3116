//! Reading `ECR Image Action` events: which of them name a tag the enforcer must judge.
//!
//! Every detail field is optional at the type level so that a malformed event is
//! reported by name ("has no detail.repository-name") instead of as a generic parse
//! error, and so that events the enforcer ignores (deletes, failed pushes) are never
//! rejected for lacking fields they need not have.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};

use crate::sweep::trigger::is_repository_name;
use crate::untrusted::excerpt;

/// `detail-type` of ECR's image events.
pub const ECR_IMAGE_ACTION: &str = "ECR Image Action";
/// `source` of ECR's events.
pub const ECR_SOURCE: &str = "aws.ecr";

/// The `detail` of an `ECR Image Action` event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct EcrImageActionDetail {
    #[serde(default)]
    pub result: Option<String>,
    #[serde(default)]
    pub repository_name: Option<String>,
    #[serde(default)]
    pub image_digest: Option<String>,
    #[serde(default)]
    pub action_type: Option<String>,
    /// Absent for untagged pushes (e.g. the children of a multi-arch image).
    #[serde(default)]
    pub image_tag: Option<String>,
}

pub type EcrImageActionEvent = EventBridgeEvent<EcrImageActionDetail>;

/// A successful push of a tag: what the enforcer judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TaggedPush {
    pub repository_name: String,
    pub image_digest: String,
    pub image_tag: String,
}

/// Why an event needs no action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ignored", rename_all = "camelCase")]
pub enum Ignored {
    /// Another kind of event reached the function.
    #[serde(rename_all = "camelCase")]
    NotAnImageAction { source: String, detail_type: String },
    /// A delete or a storage class change.
    #[serde(rename_all = "camelCase")]
    NotAPush { action_type: String },
    /// The push did not succeed (anything but `SUCCESS` is a failure).
    NotSuccessful { result: String },
    /// An untagged push: there is no tag to judge, and multi-arch children arrive
    /// untagged before their index, so they must never be acted on.
    #[serde(rename_all = "camelCase")]
    Untagged {
        repository_name: String,
        image_digest: String,
    },
}

/// What an event asks of the enforcer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Classified {
    Push(TaggedPush),
    Ignored(Ignored),
}

/// An event that can never be processed: retrying it would fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MalformedEvent {
    #[error("not an EventBridge event: field {field}: {message}")]
    Envelope { field: String, message: String },
    #[error("ECR Image Action event {event_id} has no detail.{field}")]
    MissingField {
        event_id: String,
        field: &'static str,
    },
    #[error("ECR Image Action event {event_id}: detail.{field} {value:?} is not {expected}")]
    InvalidField {
        event_id: String,
        field: &'static str,
        /// An excerpt of the value (see [`crate::untrusted`]).
        value: String,
        expected: &'static str,
    },
}

/// Reads an event as the Lambda receives it and decides whether it names a tag to judge.
pub fn classify(payload: serde_json::Value) -> Result<Classified, MalformedEvent> {
    // serde reads a struct from an array of its fields too: the event and its detail
    // are objects.
    for (field, value) in [
        ("(event)", Some(&payload)),
        ("detail", payload.get("detail")),
    ] {
        if let Some(value) = value.filter(|value| !value.is_object()) {
            return Err(MalformedEvent::Envelope {
                field: field.to_owned(),
                message: format!(
                    "expected a JSON object, got {}",
                    excerpt(&value.to_string())
                ),
            });
        }
    }
    let event: EcrImageActionEvent =
        serde_path_to_error::deserialize(payload).map_err(|err| MalformedEvent::Envelope {
            field: match err.path().to_string().as_str() {
                "." | "" => "(event)".to_owned(),
                path => path.to_owned(),
            },
            message: err.inner().to_string(),
        })?;
    if event.source != ECR_SOURCE || event.detail_type != ECR_IMAGE_ACTION {
        return Ok(Classified::Ignored(Ignored::NotAnImageAction {
            source: excerpt(&event.source).into_owned(),
            detail_type: excerpt(&event.detail_type).into_owned(),
        }));
    }
    let event_id = event
        .id
        .map_or_else(|| "(no id)".to_owned(), |id| excerpt(&id).into_owned());
    let detail = event.detail;
    let missing = |field: &'static str| MalformedEvent::MissingField {
        event_id: event_id.clone(),
        field,
    };
    let action_type = present(detail.action_type).ok_or_else(|| missing("action-type"))?;
    if action_type != "PUSH" {
        return Ok(Classified::Ignored(Ignored::NotAPush {
            action_type: excerpt(&action_type).into_owned(),
        }));
    }
    let result = present(detail.result).ok_or_else(|| missing("result"))?;
    if result != "SUCCESS" {
        return Ok(Classified::Ignored(Ignored::NotSuccessful {
            result: excerpt(&result).into_owned(),
        }));
    }
    let invalid =
        |field: &'static str, value: &str, expected: &'static str| MalformedEvent::InvalidField {
            event_id: event_id.clone(),
            field,
            value: excerpt(value).into_owned(),
            expected,
        };
    let repository_name =
        present(detail.repository_name).ok_or_else(|| missing("repository-name"))?;
    if !is_repository_name(&repository_name) {
        return Err(invalid(
            "repository-name",
            &repository_name,
            "an ECR repository name",
        ));
    }
    let image_digest = present(detail.image_digest).ok_or_else(|| missing("image-digest"))?;
    if !is_image_digest(&image_digest) {
        return Err(invalid("image-digest", &image_digest, "an image digest"));
    }
    let image_tag = present(detail.image_tag);
    if let Some(tag) = image_tag.as_deref().filter(|tag| !is_image_tag(tag)) {
        return Err(invalid("image-tag", tag, "an image tag"));
    }
    Ok(match image_tag {
        Some(image_tag) => Classified::Push(TaggedPush {
            repository_name,
            image_digest,
            image_tag,
        }),
        None => Classified::Ignored(Ignored::Untagged {
            repository_name,
            image_digest,
        }),
    })
}

/// `sha256:` and up to 64 lower-case hex digits: ECR names every image by its sha256
/// digest (AWS's own sample event carries a shortened one, so shorter is accepted).
fn is_image_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|hex| {
        (1..=64).contains(&hex.len()) && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// A tag as ECR accepts it: 1–300 characters of `[A-Za-z0-9_.-]`, not starting with
/// `.` or `-`.
fn is_image_tag(tag: &str) -> bool {
    (1..=300).contains(&tag.len())
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        && !tag.starts_with(['.', '-'])
}

/// An empty string says as little as an absent field.
fn present(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn sample(name: &str) -> Value {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/events/");
        let text = std::fs::read_to_string(format!("{path}{name}")).expect("sample event");
        serde_json::from_str(&text).expect("sample is JSON")
    }

    fn push_event(detail: Value) -> Value {
        json!({
            "version": "0", "id": "e-1", "detail-type": "ECR Image Action",
            "source": "aws.ecr", "account": "123456789012", "time": "2024-01-01T00:00:00Z",
            "region": "us-east-1", "resources": [], "detail": detail
        })
    }

    #[test]
    fn sample_push_is_a_tagged_push() {
        assert_eq!(
            classify(sample("ecr-image-action-push-success.json")),
            Ok(Classified::Push(TaggedPush {
                repository_name: "my-repository-name".into(),
                image_digest: "sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234"
                    .into(),
                image_tag: "latest".into(),
            }))
        );
    }

    #[test]
    fn sample_delete_is_ignored() {
        assert_eq!(
            classify(sample("ecr-image-action-delete-success.json")),
            Ok(Classified::Ignored(Ignored::NotAPush {
                action_type: "DELETE".into()
            }))
        );
    }

    #[test]
    fn storage_class_change_without_tag_is_ignored() {
        let event = push_event(json!({
            "result": "SUCCESS", "repository-name": "app", "image-digest": "sha256:1",
            "action-type": "UPDATE_STORAGE_CLASS"
        }));
        assert_eq!(
            classify(event),
            Ok(Classified::Ignored(Ignored::NotAPush {
                action_type: "UPDATE_STORAGE_CLASS".into()
            }))
        );
    }

    #[test]
    fn failed_push_is_ignored() {
        let event = push_event(json!({
            "result": "FAILURE", "repository-name": "app", "image-digest": "sha256:1",
            "action-type": "PUSH", "image-tag": "latest"
        }));
        assert_eq!(
            classify(event),
            Ok(Classified::Ignored(Ignored::NotSuccessful {
                result: "FAILURE".into()
            }))
        );
    }

    #[test]
    fn untagged_push_is_ignored() {
        for detail in [
            json!({ "result": "SUCCESS", "repository-name": "app", "image-digest": "sha256:1",
                    "action-type": "PUSH" }),
            json!({ "result": "SUCCESS", "repository-name": "app", "image-digest": "sha256:1",
                    "action-type": "PUSH", "image-tag": "" }),
        ] {
            assert_eq!(
                classify(push_event(detail)),
                Ok(Classified::Ignored(Ignored::Untagged {
                    repository_name: "app".into(),
                    image_digest: "sha256:1".into()
                }))
            );
        }
    }

    #[test]
    fn other_event_types_are_ignored() {
        assert_eq!(
            classify(sample("eventbridge-scheduled-event-rule.json")),
            Ok(Classified::Ignored(Ignored::NotAnImageAction {
                source: "aws.events".into(),
                detail_type: "Scheduled Event".into()
            }))
        );
    }

    #[test]
    fn missing_detail_fields_are_named() {
        let cases = [
            (
                json!({ "result": "SUCCESS", "repository-name": "app", "image-digest": "sha256:1" }),
                "action-type",
            ),
            (
                json!({ "repository-name": "app", "image-digest": "sha256:1", "action-type": "PUSH" }),
                "result",
            ),
            (
                json!({ "result": "SUCCESS", "image-digest": "sha256:1", "action-type": "PUSH", "image-tag": "v1" }),
                "repository-name",
            ),
            (
                json!({ "result": "SUCCESS", "repository-name": "app", "action-type": "PUSH", "image-tag": "v1" }),
                "image-digest",
            ),
        ];
        for (detail, field) in cases {
            assert_eq!(
                classify(push_event(detail)),
                Err(MalformedEvent::MissingField {
                    event_id: "e-1".into(),
                    field
                })
            );
        }
        let error = classify(push_event(json!({ "action-type": "PUSH" }))).expect_err("malformed");
        assert_eq!(
            error.to_string(),
            "ECR Image Action event e-1 has no detail.result"
        );
    }

    #[test]
    fn broken_envelopes_name_the_field() {
        let no_detail = json!({ "detail-type": "ECR Image Action", "source": "aws.ecr" });
        assert_eq!(
            classify(no_detail),
            Err(MalformedEvent::Envelope {
                field: "(event)".into(),
                message: "missing field `detail`".into()
            })
        );
        let wrong_type = push_event(json!({ "action-type": 7 }));
        match classify(wrong_type) {
            Err(MalformedEvent::Envelope { field, .. }) => {
                assert_eq!(field, "detail.action-type")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            classify(json!("not an object")),
            Err(MalformedEvent::Envelope { .. })
        ));
    }

    #[test]
    fn invalid_names_digests_and_tags_are_malformed_and_quoted_short() {
        let push = |name: &str, digest: &str, tag: &str| {
            json!({"version": "0", "id": "e1", "detail-type": "ECR Image Action", "source": "aws.ecr",
                   "account": "123456789012", "time": "2026-01-01T00:00:00Z", "region": "us-east-1",
                   "resources": [], "detail": {"result": "SUCCESS", "repository-name": name,
                   "image-digest": digest, "action-type": "PUSH", "image-tag": tag}})
        };
        let huge = "a".repeat(250_000);
        for (event, field) in [
            (push(&huge, "sha256:1", "v1"), "repository-name"),
            (push("Bad Name", "sha256:1", "v1"), "repository-name"),
            (push("app", "not-a-digest", "v1"), "image-digest"),
            (push("app", "md5:0", "v1"), "image-digest"),
            (push("app", "SHA256:7F5B", "v1"), "image-digest"),
            (
                push("app", &format!("sha256:{}", "a".repeat(65)), "v1"),
                "image-digest",
            ),
            (push("app", "sha256:1", "-v1"), "image-tag"),
            (push("app", "sha256:1", &"t".repeat(301)), "image-tag"),
        ] {
            match classify(event) {
                Err(MalformedEvent::InvalidField {
                    field: got, value, ..
                }) => {
                    assert_eq!(got, field);
                    assert!(value.len() < 200, "{value}");
                }
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            classify(push("team-a/app", "sha256:1", "v1.0_rc-1")),
            Ok(Classified::Push(_))
        ));
    }
}
