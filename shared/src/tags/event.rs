//! Reading `ECR Image Action` events: which of them name a tag the enforcer must judge.
//!
//! Every detail field is optional at the type level so that a malformed event is
//! reported by name ("has no detail.repository-name") instead of as a generic parse
//! error, and so that events the enforcer ignores (deletes, failed pushes) are never
//! rejected for lacking fields they need not have.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use serde::{Deserialize, Serialize};

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
}

/// Reads an event as the Lambda receives it and decides whether it names a tag to judge.
pub fn classify(payload: serde_json::Value) -> Result<Classified, MalformedEvent> {
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
            source: event.source,
            detail_type: event.detail_type,
        }));
    }
    let event_id = event.id.unwrap_or_else(|| "(no id)".to_owned());
    let detail = event.detail;
    let missing = |field: &'static str| MalformedEvent::MissingField {
        event_id: event_id.clone(),
        field,
    };
    let action_type = present(detail.action_type).ok_or_else(|| missing("action-type"))?;
    if action_type != "PUSH" {
        return Ok(Classified::Ignored(Ignored::NotAPush { action_type }));
    }
    let result = present(detail.result).ok_or_else(|| missing("result"))?;
    if result != "SUCCESS" {
        return Ok(Classified::Ignored(Ignored::NotSuccessful { result }));
    }
    let repository_name =
        present(detail.repository_name).ok_or_else(|| missing("repository-name"))?;
    let image_digest = present(detail.image_digest).ok_or_else(|| missing("image-digest"))?;
    Ok(match present(detail.image_tag) {
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
}
