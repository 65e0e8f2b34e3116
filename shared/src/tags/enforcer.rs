//! The tag-enforcer's handler: judges each pushed tag and carries out the safe step
//! against ECR, then reports the violation on the janitor bus.
//!
//! Errors are returned only for transient AWS failures (so Lambda retries the
//! event); events that can never succeed are acknowledged with a log line.

use std::sync::Arc;

use aws_sdk_ecr::operation::batch_delete_image::BatchDeleteImageError;
use aws_sdk_ecr::operation::describe_images::DescribeImagesError;
use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier};

use super::config::ViolationAction;
use super::decision::{ActionTaken, Decision, ViolationRecord, TAG_RULE_VIOLATION};
use super::event::{classify, Classified, TaggedPush};
use super::plan::{plan_step, CurrentImage, Step};
use super::verdict::Violation;
use crate::aws::bus::{BusError, BusEvent, EventBus};
use crate::aws::error_text;
use crate::config::JanitorConfig;
use crate::targets::{TargetDirectory, TargetError};
use crate::untrusted::excerpt;

/// A failure worth retrying the whole event for.
#[derive(Debug, thiserror::Error)]
pub enum EnforcerError {
    #[error("DescribeImages of {repository}@{digest} failed: {message}")]
    Describe {
        repository: String,
        digest: String,
        message: String,
    },
    #[error("BatchDeleteImage in {repository} failed: {message}")]
    Delete { repository: String, message: String },
    #[error("ECR could not remove {image} from {repository} for now: {code}: {reason}")]
    DeleteFailure {
        repository: String,
        image: String,
        code: String,
        reason: String,
    },
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("EventBridge rejected the {TAG_RULE_VIOLATION} event: {code}: {message}")]
    EventRejected { code: String, message: String },
    #[error("cannot encode the {TAG_RULE_VIOLATION} event: {0}")]
    Encode(#[from] serde_json::Error),
    #[error(transparent)]
    Targets(#[from] TargetError),
}

/// The image as `DescribeImages` reports it.
enum Lookup {
    Found(Vec<String>),
    Gone,
    /// ECR rejected the request itself (e.g. a malformed digest): retrying cannot help.
    Rejected(String),
}

/// How to treat one entry of `BatchDeleteImage`'s `failures[]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureClass {
    /// The tag or image is already gone: the goal is reached.
    Resolved,
    /// ECR will refuse again whatever we do.
    Refused,
    /// Worth retrying the event.
    Transient,
}

fn classify_failure(code: &ImageFailureCode) -> FailureClass {
    match code {
        ImageFailureCode::ImageNotFound | ImageFailureCode::ImageTagDoesNotMatchDigest => {
            FailureClass::Resolved
        }
        ImageFailureCode::ImageReferencedByManifestList
        | ImageFailureCode::InvalidImageDigest
        | ImageFailureCode::InvalidImageTag
        | ImageFailureCode::MissingDigestAndTag
        | ImageFailureCode::ImageInaccessible
        | ImageFailureCode::UpstreamAccessDenied => FailureClass::Refused,
        // KmsError, upstream throttling/unavailability and codes newer than this SDK.
        _ => FailureClass::Transient,
    }
}

/// The tag-enforcer: the configuration (its tag rules, and every protected-tag list)
/// plus the clients it acts and reports with.
#[derive(Debug, Clone)]
pub struct TagEnforcer {
    ecr: aws_sdk_ecr::Client,
    bus: EventBus,
    config: JanitorConfig,
    /// The targets, in an organization-wide installation: a push is acted on in its
    /// event's account and Region through the target's role, and a push from an
    /// account and Region that is not a target is ignored. `None` acts with `ecr` on
    /// the events the installation's own rules deliver.
    targets: Option<Arc<TargetDirectory>>,
}

impl TagEnforcer {
    pub fn new(ecr: aws_sdk_ecr::Client, bus: EventBus, config: JanitorConfig) -> Self {
        TagEnforcer {
            ecr,
            bus,
            config,
            targets: None,
        }
    }

    /// The enforcer of an organization-wide installation (see [`TagEnforcer::targets`]).
    pub fn with_targets(mut self, targets: Arc<TargetDirectory>) -> Self {
        self.targets = Some(targets);
        self
    }

    /// Handles one event as the Lambda receives it.
    pub async fn handle(&self, payload: serde_json::Value) -> Result<Decision, EnforcerError> {
        self.decide(payload).await.inspect_err(|err| {
            tracing::error!(error = %err, "transient failure, the event will be retried");
        })
    }

    async fn decide(&self, payload: serde_json::Value) -> Result<Decision, EnforcerError> {
        let origin = |field: &str| {
            payload
                .get(field)
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let (account, region) = (origin("account"), origin("region"));
        let push = match classify(payload) {
            Err(err) => {
                tracing::error!(error = %err, "malformed event acknowledged without retry");
                return Ok(Decision::Malformed {
                    error: err.to_string(),
                });
            }
            Ok(Classified::Ignored(reason)) => {
                tracing::debug!(?reason, "event ignored");
                return Ok(Decision::Ignored(reason));
            }
            Ok(Classified::Push(push)) => push,
        };
        let ecr = match &self.targets {
            None => self.ecr.clone(),
            Some(targets) => match targets.access(&account, &region).await? {
                Some(access) => targets.factory().ecr(&access).await,
                None => {
                    tracing::warn!(
                        account = %excerpt(&account),
                        region = %excerpt(&region),
                        repository = %push.repository_name,
                        "push from an account and Region that is not a target: ignored"
                    );
                    return Ok(Decision::NotATarget {
                        account: excerpt(&account).into_owned(),
                        region: excerpt(&region).into_owned(),
                    });
                }
            },
        };
        let verdict = self
            .config
            .tag_rules
            .verdict(&push.repository_name, &push.image_tag);
        let Some(violation) = verdict.violation().cloned() else {
            tracing::info!(
                repository = %push.repository_name,
                digest = %push.image_digest,
                tag = %push.image_tag,
                verdict = %verdict,
                "tag allowed"
            );
            return Ok(Decision::Allowed {
                repository_name: push.repository_name,
                image_digest: push.image_digest,
                image_tag: push.image_tag,
                verdict,
            });
        };
        let (action_taken, note) = self.enforce(&ecr, &push, &violation).await?;
        let record = ViolationRecord {
            repository_name: push.repository_name,
            image_digest: push.image_digest,
            image_tag: push.image_tag,
            violation,
            action_taken,
            note,
        };
        tracing::info!(
            repository = %record.repository_name,
            digest = %record.image_digest,
            tag = %record.image_tag,
            rule = %record.violation.rule,
            violation = %record.violation.kind,
            action = %record.violation.action,
            action_taken = %record.action_taken,
            note = record.note.as_deref().unwrap_or(""),
            "tag rule violation"
        );
        self.publish(&record).await?;
        Ok(Decision::Violation(record))
    }

    /// Carries out the safe step for a violation (see `plan`).
    async fn enforce(
        &self,
        ecr: &aws_sdk_ecr::Client,
        push: &TaggedPush,
        violation: &Violation,
    ) -> Result<(ActionTaken, Option<String>), EnforcerError> {
        let step = if violation.action == ViolationAction::Report {
            Step::Report { note: None }
        } else {
            let rules = &self.config.tag_rules;
            let protected = self.config.protected_tags(&push.repository_name);
            match self.lookup(ecr, push).await? {
                Lookup::Rejected(message) => return Ok((ActionTaken::Failed, Some(message))),
                Lookup::Gone => plan_step(
                    rules,
                    &protected,
                    push,
                    violation.action,
                    CurrentImage::Gone,
                ),
                Lookup::Found(tags) => plan_step(
                    rules,
                    &protected,
                    push,
                    violation.action,
                    CurrentImage::Tagged(&tags),
                ),
            }
        };
        match step {
            Step::Report { note } => Ok((ActionTaken::Reported, note)),
            Step::AlreadyResolved { note } => Ok((ActionTaken::AlreadyResolved, Some(note))),
            Step::Untag { note } => {
                // With the digest, ECR removes the tag only while it still names the
                // pushed image; a tag moved to a newer image meanwhile is refused with
                // `ImageTagDoesNotMatchDigest` (already resolved), never removed there.
                let image = ImageIdentifier::builder()
                    .image_tag(&push.image_tag)
                    .image_digest(&push.image_digest)
                    .build();
                self.remove(ecr, push, image, ActionTaken::Untagged, note)
                    .await
            }
            Step::Delete => {
                let image = ImageIdentifier::builder()
                    .image_digest(&push.image_digest)
                    .build();
                self.remove(ecr, push, image, ActionTaken::Deleted, None)
                    .await
            }
        }
    }

    /// The pushed image's current tags.
    async fn lookup(
        &self,
        ecr: &aws_sdk_ecr::Client,
        push: &TaggedPush,
    ) -> Result<Lookup, EnforcerError> {
        let result = ecr
            .describe_images()
            .repository_name(&push.repository_name)
            .image_ids(
                ImageIdentifier::builder()
                    .image_digest(&push.image_digest)
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(output) => Ok(match output.image_details().first() {
                Some(image) => Lookup::Found(image.image_tags().to_vec()),
                None => Lookup::Gone,
            }),
            Err(err) => match err.as_service_error() {
                Some(
                    DescribeImagesError::ImageNotFoundException(_)
                    | DescribeImagesError::RepositoryNotFoundException(_),
                ) => Ok(Lookup::Gone),
                Some(DescribeImagesError::InvalidParameterException(_)) => {
                    Ok(Lookup::Rejected(format!(
                        "DescribeImages rejected the event's image: {}",
                        error_text(&err)
                    )))
                }
                _ => Err(EnforcerError::Describe {
                    repository: push.repository_name.clone(),
                    digest: push.image_digest.clone(),
                    message: error_text(&err),
                }),
            },
        }
    }

    /// Deletes one image id (a tag or a digest) and reads the per-item outcome.
    async fn remove(
        &self,
        ecr: &aws_sdk_ecr::Client,
        push: &TaggedPush,
        image: ImageIdentifier,
        done: ActionTaken,
        note: Option<String>,
    ) -> Result<(ActionTaken, Option<String>), EnforcerError> {
        let described = image
            .image_tag()
            .map(|tag| format!("tag {tag}"))
            .unwrap_or_else(|| format!("image {}", push.image_digest));
        let result = ecr
            .batch_delete_image()
            .repository_name(&push.repository_name)
            .image_ids(image)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                return match err.as_service_error() {
                    Some(BatchDeleteImageError::RepositoryNotFoundException(_)) => Ok((
                        ActionTaken::AlreadyResolved,
                        Some("the repository no longer exists".to_owned()),
                    )),
                    Some(BatchDeleteImageError::InvalidParameterException(_)) => Ok((
                        ActionTaken::Failed,
                        Some(format!(
                            "BatchDeleteImage rejected the request: {}",
                            error_text(&err)
                        )),
                    )),
                    _ => Err(EnforcerError::Delete {
                        repository: push.repository_name.clone(),
                        message: error_text(&err),
                    }),
                };
            }
        };
        let Some(failure) = output.failures().first() else {
            return Ok((done, note));
        };
        let code = failure
            .failure_code()
            .map(|code| code.as_str().to_owned())
            .unwrap_or_else(|| "(no code)".to_owned());
        let reason = failure.failure_reason().unwrap_or_default().to_owned();
        let class = failure
            .failure_code()
            .map_or(FailureClass::Transient, classify_failure);
        match class {
            FailureClass::Resolved => Ok((
                ActionTaken::AlreadyResolved,
                Some(format!("ECR: {code}: {reason}")),
            )),
            FailureClass::Refused => {
                tracing::error!(repository = %push.repository_name, image = %described, code = %code, reason = %reason, "ECR refused to remove the offending image id");
                Ok((
                    ActionTaken::Failed,
                    Some(format!("ECR refused: {code}: {reason}")),
                ))
            }
            FailureClass::Transient => Err(EnforcerError::DeleteFailure {
                repository: push.repository_name.clone(),
                image: described,
                code,
                reason,
            }),
        }
    }

    async fn publish(&self, record: &ViolationRecord) -> Result<(), EnforcerError> {
        let event = BusEvent {
            detail_type: TAG_RULE_VIOLATION.to_owned(),
            detail: serde_json::to_value(record)?,
            resources: Vec::new(),
        };
        let report = self.bus.publish(&[event]).await?;
        match report.failed.into_iter().next() {
            Some(failed) => Err(EnforcerError::EventRejected {
                code: failed.error_code,
                message: failed.error_message,
            }),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_meaning_done_are_resolved_not_errors() {
        assert_eq!(
            classify_failure(&ImageFailureCode::ImageNotFound),
            FailureClass::Resolved
        );
        assert_eq!(
            classify_failure(&ImageFailureCode::ImageTagDoesNotMatchDigest),
            FailureClass::Resolved
        );
    }

    #[test]
    fn permanent_refusals_are_not_retried() {
        for code in [
            ImageFailureCode::ImageReferencedByManifestList,
            ImageFailureCode::InvalidImageDigest,
            ImageFailureCode::InvalidImageTag,
            ImageFailureCode::MissingDigestAndTag,
        ] {
            assert_eq!(classify_failure(&code), FailureClass::Refused, "{code}");
        }
    }

    #[test]
    fn kms_upstream_and_unknown_failures_are_retried() {
        for code in [
            ImageFailureCode::KmsError,
            ImageFailureCode::UpstreamTooManyRequests,
            ImageFailureCode::UpstreamUnavailable,
            ImageFailureCode::from("SomethingNew"),
        ] {
            assert_eq!(classify_failure(&code), FailureClass::Transient, "{code}");
        }
    }
}
