//! Applying a plan: `BatchDeleteImage` by digest (≤ 100 per call, image indexes in
//! calls before any other image, so that no child is deleted while an index that lists
//! it exists) and `UpdateImageStorageClass` to archive for transitions.
//!
//! Per-image failures come back in the response, not as errors: `ImageNotFound` means
//! someone else already deleted the image (done); anything else is reported, never
//! retried here (the next sweep plans again from the registry as it then is). A call
//! that fails after the SDK's retries stops the execution and is returned as the error.

use std::collections::HashSet;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier, TargetStorageClass};
use futures::StreamExt;
use serde::Serialize;

use super::error::AwsCallError;
use super::report::PlannedAction;
use crate::lifecycle::Action;

/// Image ids per `BatchDeleteImage` call (AWS limit).
pub const BATCH_DELETE_LIMIT: usize = 100;
/// `UpdateImageStorageClass` calls in flight at once (one image per call).
const TRANSITION_CONCURRENCY: usize = 4;

/// An action ECR refused.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionFailure {
    pub digest: String,
    pub action: Action,
    pub code: String,
    pub message: String,
}

/// What became of the actions of one repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Execution {
    /// Digests deleted (or found already gone).
    pub expired: HashSet<String>,
    /// Digests moved to the archive storage class.
    pub transitioned: HashSet<String>,
    pub failures: Vec<ActionFailure>,
    /// The call error that stopped execution, if one did.
    pub error: Option<AwsCallError>,
}

/// Expire actions in `BatchDeleteImage` calls: indexes first, then every other image,
/// each group in plan order, ≤ 100 digests per call.
pub fn deletion_batches(actions: &[PlannedAction]) -> Vec<Vec<&str>> {
    let expiring = || {
        actions
            .iter()
            .filter(|action| action.action == Action::Expire)
    };
    let ordered: Vec<&str> = expiring()
        .filter(|action| action.is_index)
        .chain(expiring().filter(|action| !action.is_index))
        .map(|action| action.digest.as_str())
        .collect();
    ordered
        .chunks(BATCH_DELETE_LIMIT)
        .map(<[&str]>::to_vec)
        .collect()
}

/// Applies `actions` to `repository`.
pub async fn execute(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    actions: &[PlannedAction],
) -> Execution {
    let mut execution = Execution::default();
    for batch in deletion_batches(actions) {
        if let Err(err) = delete_batch(ecr, repository, &batch, &mut execution).await {
            execution.error = Some(err);
            return execution;
        }
    }
    let transitions = actions
        .iter()
        .filter(|action| action.action == Action::Transition);
    let results: Vec<Result<String, ActionFailure>> = futures::stream::iter(transitions)
        .map(|action| async move {
            ecr.update_image_storage_class()
                .repository_name(repository)
                .image_id(
                    ImageIdentifier::builder()
                        .image_digest(&action.digest)
                        .build(),
                )
                .target_storage_class(TargetStorageClass::Archive)
                .send()
                .await
                .map(|_| action.digest.clone())
                .map_err(|err| ActionFailure {
                    digest: action.digest.clone(),
                    action: Action::Transition,
                    code: err.code().unwrap_or("CallFailed").to_owned(),
                    message: crate::aws::error_text(&err),
                })
        })
        .buffer_unordered(TRANSITION_CONCURRENCY)
        .collect()
        .await;
    for result in results {
        match result {
            Ok(digest) => {
                execution.transitioned.insert(digest);
            }
            Err(failure) => execution.failures.push(failure),
        }
    }
    execution.failures.sort_by(|a, b| a.digest.cmp(&b.digest));
    execution
}

async fn delete_batch(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    batch: &[&str],
    execution: &mut Execution,
) -> Result<(), AwsCallError> {
    let ids = batch
        .iter()
        .map(|digest| ImageIdentifier::builder().image_digest(*digest).build())
        .collect();
    let output = ecr
        .batch_delete_image()
        .repository_name(repository)
        .set_image_ids(Some(ids))
        .send()
        .await
        .map_err(|err| AwsCallError::new("BatchDeleteImage", &err))?;
    // ECR reports every id either as deleted or as a failure; an id without a failure
    // is gone (moto, unlike ECR, lists no deleted id for an untagged image).
    let mut refused = HashSet::new();
    for failure in output.failures() {
        let Some(digest) = failure.image_id().and_then(ImageIdentifier::image_digest) else {
            continue;
        };
        if failure.failure_code() == Some(&ImageFailureCode::ImageNotFound) {
            continue;
        }
        refused.insert(digest.to_owned());
        execution.failures.push(ActionFailure {
            digest: digest.to_owned(),
            action: Action::Expire,
            code: failure
                .failure_code()
                .map(|code| code.as_str())
                .unwrap_or("(none)")
                .to_owned(),
            message: failure.failure_reason().unwrap_or_default().to_owned(),
        });
    }
    for digest in batch {
        if !refused.contains(*digest) {
            execution.expired.insert((*digest).to_owned());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn planned(digest: &str, action: Action, is_index: bool) -> PlannedAction {
        PlannedAction {
            digest: digest.into(),
            tags: vec![],
            rule_priority: 1,
            action,
            size_bytes: None,
            is_index,
        }
    }

    #[test]
    fn indexes_go_in_calls_before_their_children() {
        let actions = [
            planned("sha256:child1", Action::Expire, false),
            planned("sha256:index", Action::Expire, true),
            planned("sha256:archive-me", Action::Transition, false),
            planned("sha256:child2", Action::Expire, false),
        ];
        assert_eq!(
            deletion_batches(&actions),
            vec![vec!["sha256:index", "sha256:child1", "sha256:child2"]]
        );
    }

    #[test]
    fn calls_hold_at_most_one_hundred_images() {
        for (count, sizes) in [
            (0, vec![]),
            (1, vec![1]),
            (100, vec![100]),
            (101, vec![100, 1]),
            (250, vec![100, 100, 50]),
        ] {
            let actions: Vec<PlannedAction> = (0..count)
                .map(|n| planned(&format!("sha256:{n:04}"), Action::Expire, n % 7 == 0))
                .collect();
            let batches = deletion_batches(&actions);
            assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), sizes);
            // Every index precedes every non-index across calls.
            let flat: Vec<&str> = batches.into_iter().flatten().collect();
            let first_plain = flat
                .iter()
                .position(|digest| {
                    actions
                        .iter()
                        .any(|action| action.digest == *digest && !action.is_index)
                })
                .unwrap_or(flat.len());
            assert!(flat[first_plain..].iter().all(|digest| actions
                .iter()
                .any(|action| action.digest == *digest && !action.is_index)));
        }
    }

    proptest::proptest! {
        /// Every expiration goes exactly once, in calls of at most 100, and no image
        /// index follows an ordinary image.
        #[test]
        fn batches_cover_every_expiration_once_indexes_first(
            kinds in proptest::collection::vec((proptest::bool::ANY, proptest::bool::ANY), 0..450)
        ) {
            let actions: Vec<PlannedAction> = kinds
                .iter()
                .enumerate()
                .map(|(n, (expire, index))| {
                    let action = if *expire { Action::Expire } else { Action::Transition };
                    planned(&format!("sha256:{n:04}"), action, *index)
                })
                .collect();
            let batches = deletion_batches(&actions);
            proptest::prop_assert!(batches.iter().all(|batch| !batch.is_empty() && batch.len() <= BATCH_DELETE_LIMIT));
            let flat: Vec<&str> = batches.into_iter().flatten().collect();
            let mut expected: Vec<&str> = actions
                .iter()
                .filter(|action| action.action == Action::Expire)
                .map(|action| action.digest.as_str())
                .collect();
            let mut sorted = flat.clone();
            sorted.sort_unstable();
            expected.sort_unstable();
            proptest::prop_assert_eq!(sorted, expected);
            let is_index = |digest: &str| actions.iter().any(|action| action.digest == digest && action.is_index);
            let first_plain = flat.iter().position(|digest| !is_index(digest)).unwrap_or(flat.len());
            proptest::prop_assert!(flat[first_plain..].iter().all(|digest| !is_index(digest)));
        }
    }
}
