//! Applying a plan, batch by batch, each batch confirmed right before it is acted on.
//!
//! Expirations go in `BatchDeleteImage` calls by digest (≤ 100 per call) in dependency
//! layers: an image that follows others (the child of an expiring image index, the
//! referrer of an expiring subject) goes in a later call than they do, and only once
//! they are confirmed gone; within a layer image indexes come first. Transitions go
//! through `UpdateImageStorageClass` to archive, in groups of ≤ 100.
//!
//! Before each call (or group) the images are read again (`DescribeImages` by id) and
//! compared with what the plan saw ([`super::recheck`]): only an image that is still
//! exactly that is acted on; the others are reported as changed since planned.
//!
//! Per-image failures come back in the response, not as errors: `ImageNotFound` means
//! someone else already deleted the image (done); anything else is reported, never
//! retried here (the next sweep plans again from the registry as it then is). A call
//! that fails after the SDK's retries stops the execution and is returned as the error.
//!
//! Each call waits for its turn under the sweep's rate for its API ([`super::pacing`])
//! and retries briefly ([`crate::aws::acting_client`]).

use std::collections::{HashMap, HashSet};

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageFailureCode, ImageIdentifier, TargetStorageClass};
use futures::StreamExt;
use serde::Serialize;

use super::budget::Budget;
use super::error::AwsCallError;
use super::pacing;
use super::recheck::{recheck, Recheck};
use super::registry::describe_image_ids;
use super::report::PlannedAction;
use crate::lifecycle::{Action, ImageRecord};

/// Image ids per `BatchDeleteImage` call, and per re-read (AWS limits).
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

/// A planned action not taken because the registry changed since the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionSkipped {
    pub digest: String,
    pub action: Action,
    /// What changed, e.g. `tags {"dev-1"} are now {"dev-1", "prod-1"}`.
    pub reason: String,
}

/// What became of the actions of one repository.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Execution {
    /// Digests deleted (or found already gone).
    pub expired: HashSet<String>,
    /// Digests moved to the archive storage class.
    pub transitioned: HashSet<String>,
    pub failures: Vec<ActionFailure>,
    /// Actions not taken: the image changed since planned.
    pub changed: Vec<ActionSkipped>,
    /// The call error that stopped execution, if one did.
    pub error: Option<AwsCallError>,
    /// Execution stopped before a batch because the invocation's time ran out; what
    /// was not reached is left to a continuation.
    pub out_of_time: bool,
}

impl Execution {
    fn skip(&mut self, action: &PlannedAction, reason: String) {
        self.changed.push(ActionSkipped {
            digest: action.digest.clone(),
            action: action.action,
            reason,
        });
    }
}

/// Expire actions in `BatchDeleteImage` calls of ≤ 100 digests, in dependency layers:
/// an action never shares a call with, or precedes, an action it follows; within a
/// layer image indexes come first, each group in plan order. Actions whose dependencies
/// cannot be ordered (a cycle, which content addressing rules out) are left out.
pub fn deletion_batches(actions: &[PlannedAction]) -> Vec<Vec<&PlannedAction>> {
    let mut remaining: Vec<&PlannedAction> = actions
        .iter()
        .filter(|action| action.action == Action::Expire)
        .collect();
    let mut placed: HashSet<&str> = HashSet::new();
    let mut batches = Vec::new();
    loop {
        let (mut ready, rest): (Vec<&PlannedAction>, Vec<&PlannedAction>) =
            remaining.into_iter().partition(|action| {
                action
                    .follows
                    .iter()
                    .all(|digest| placed.contains(digest.as_str()))
            });
        if ready.is_empty() {
            return batches;
        }
        ready.sort_by_key(|action| !action.is_index);
        placed.extend(ready.iter().map(|action| action.digest.as_str()));
        batches.extend(
            ready
                .chunks(BATCH_DELETE_LIMIT)
                .map(<[&PlannedAction]>::to_vec),
        );
        remaining = rest;
    }
}

/// Applies `actions` to `repository`.
/// Stops before a batch once `budget` is exhausted (see [`Execution::out_of_time`]).
pub async fn execute(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    actions: &[PlannedAction],
    budget: &Budget,
) -> Execution {
    // Every call below acts, or confirms a batch just before acting on it.
    let ecr = &crate::aws::acting_client(ecr);
    let mut execution = Execution::default();
    let batches = deletion_batches(actions);
    let ordered: HashSet<&str> = batches
        .iter()
        .flatten()
        .map(|action| action.digest.as_str())
        .collect();
    for action in actions {
        if action.action == Action::Expire && !ordered.contains(action.digest.as_str()) {
            execution.skip(action, "its dependencies form a cycle".to_owned());
        }
    }
    for batch in batches {
        if budget.exhausted() {
            execution.out_of_time = true;
            return execution;
        }
        let confirmed = match confirm(ecr, repository, &batch, &mut execution).await {
            Ok(confirmed) => confirmed,
            Err(err) => {
                execution.error = Some(err);
                return execution;
            }
        };
        if confirmed.is_empty() {
            continue;
        }
        if let Err(err) = delete_batch(ecr, repository, &confirmed, &mut execution).await {
            execution.error = Some(err);
            return execution;
        }
    }
    let transitions: Vec<&PlannedAction> = actions
        .iter()
        .filter(|action| action.action == Action::Transition)
        .collect();
    for group in transitions.chunks(BATCH_DELETE_LIMIT) {
        if budget.exhausted() {
            execution.out_of_time = true;
            break;
        }
        let confirmed = match confirm(ecr, repository, group, &mut execution).await {
            Ok(confirmed) => confirmed,
            Err(err) => {
                execution.error = Some(err);
                break;
            }
        };
        transition(ecr, repository, &confirmed, &mut execution).await;
    }
    execution.failures.sort_by(|a, b| a.digest.cmp(&b.digest));
    execution
}

/// Reads `actions`' images again and keeps the actions that may still be taken (see
/// [`Execution::decide`]).
async fn confirm<'a>(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    actions: &[&'a PlannedAction],
    execution: &mut Execution,
) -> Result<Vec<&'a PlannedAction>, AwsCallError> {
    if actions.is_empty() {
        return Ok(Vec::new());
    }
    let digests: Vec<&str> = actions
        .iter()
        .map(|action| action.digest.as_str())
        .collect();
    pacing::ECR.describe_images.ready().await;
    let fresh = describe_image_ids(ecr, repository, &digests).await?;
    Ok(execution.decide(actions, &fresh))
}

impl Execution {
    /// The actions of a batch that may be taken, given `fresh`, a read of their images
    /// made just now: an action whose image changed since planned, or that follows an
    /// image still in the repository, is skipped; an image gone meanwhile is an
    /// expiration done by someone else, and a transition that no longer applies.
    pub fn decide<'a>(
        &mut self,
        actions: &[&'a PlannedAction],
        fresh: &HashMap<String, ImageRecord>,
    ) -> Vec<&'a PlannedAction> {
        let mut confirmed = Vec::with_capacity(actions.len());
        for action in actions {
            if let Some(kept) = action
                .follows
                .iter()
                .find(|digest| !self.expired.contains(*digest))
            {
                self.skip(action, format!("it goes with {kept}, which stays"));
                continue;
            }
            match recheck(
                &action.tags,
                &action.seen,
                fresh.get(action.digest.as_str()),
            ) {
                Recheck::Unchanged => confirmed.push(*action),
                Recheck::Gone if action.action == Action::Expire => {
                    self.expired.insert(action.digest.clone());
                }
                Recheck::Gone => self.skip(action, "no longer in the repository".to_owned()),
                Recheck::Changed(why) => self.skip(action, why),
            }
        }
        confirmed
    }
}

async fn delete_batch(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    batch: &[&PlannedAction],
    execution: &mut Execution,
) -> Result<(), AwsCallError> {
    let ids = batch
        .iter()
        .map(|action| {
            ImageIdentifier::builder()
                .image_digest(&action.digest)
                .build()
        })
        .collect();
    pacing::ECR.batch_delete_image.ready().await;
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
    for action in batch {
        if !refused.contains(action.digest.as_str()) {
            execution.expired.insert(action.digest.clone());
        }
    }
    Ok(())
}

async fn transition(
    ecr: &aws_sdk_ecr::Client,
    repository: &str,
    group: &[&PlannedAction],
    execution: &mut Execution,
) {
    let results: Vec<Result<String, ActionFailure>> = futures::stream::iter(group)
        .map(|action| async move {
            pacing::ECR.update_image_storage_class.ready().await;
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::recheck::SeenImage;

    fn planned(digest: &str, action: Action, is_index: bool) -> PlannedAction {
        PlannedAction {
            digest: digest.into(),
            tags: vec![],
            rule_priority: 1,
            action,
            size_bytes: None,
            is_index,
            seen: Default::default(),
            follows: Vec::new(),
        }
    }

    fn digests<'a>(batches: &[Vec<&'a PlannedAction>]) -> Vec<Vec<&'a str>> {
        batches
            .iter()
            .map(|batch| batch.iter().map(|action| action.digest.as_str()).collect())
            .collect()
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
            digests(&deletion_batches(&actions)),
            vec![vec!["sha256:index", "sha256:child1", "sha256:child2"]]
        );
    }

    #[test]
    fn what_follows_another_expiration_goes_in_a_later_call() {
        let mut child = planned("sha256:child", Action::Expire, false);
        child.follows = vec!["sha256:index".into()];
        let mut signature = planned("sha256:sig", Action::Expire, false);
        signature.follows = vec!["sha256:child".into()];
        let mut orphan = planned("sha256:orphan", Action::Expire, false);
        orphan.follows = vec!["sha256:a".into(), "sha256:b".into()];
        let mut a = planned("sha256:a", Action::Expire, false);
        a.follows = vec!["sha256:b".into()];
        let mut b = planned("sha256:b", Action::Expire, false);
        b.follows = vec!["sha256:a".into()];
        let actions = [
            signature,
            child,
            planned("sha256:plain", Action::Expire, false),
            planned("sha256:index", Action::Expire, true),
            orphan,
            a,
            b,
        ];
        // The cycle a <-> b (and what follows it) is never ordered, so never deleted.
        assert_eq!(
            digests(&deletion_batches(&actions)),
            vec![
                vec!["sha256:index", "sha256:plain"],
                vec!["sha256:child"],
                vec!["sha256:sig"],
            ]
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
            let batches = digests(&deletion_batches(&actions));
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
            let batches = digests(&deletion_batches(&actions));
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

    /// A change another client makes to an image between the plan and a batch's re-read.
    #[derive(Debug, Clone, Copy)]
    enum Change {
        AddProtectedTag,
        RemoveTag,
        Pulled,
        Archived,
        Deleted,
        PushedAgain,
    }

    fn change() -> impl proptest::strategy::Strategy<Value = Option<Change>> {
        proptest::prop_oneof![
            3 => proptest::strategy::Just(None),
            1 => proptest::sample::select(vec![
                Change::AddProtectedTag,
                Change::RemoveTag,
                Change::Pulled,
                Change::Archived,
                Change::Deleted,
                Change::PushedAgain,
            ])
            .prop_map(Some),
        ]
    }

    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Whatever other clients change between the plan and each batch, an image is
        /// removed only if the re-read right before its batch shows it exactly as
        /// planned (so with no protected tag: planned images never carry one) and every
        /// image it follows is already gone; and with no change at all, every planned
        /// expiration is carried out.
        #[test]
        fn nothing_is_removed_that_the_reread_state_would_keep(
            plan in proptest::collection::vec(
                (proptest::bool::ANY, proptest::option::of(0usize..250), 0usize..4, change(), 0usize..4),
                1..250,
            )
        ) {
            let pushed = chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("time");
            let digest = |n: usize| format!("sha256:{n:064x}");
            let mut registry: HashMap<String, ImageRecord> = HashMap::new();
            let mut actions = Vec::new();
            let mut changes: Vec<(usize, String, Change)> = Vec::new();
            for (n, (is_index, follows, tag_count, change, when)) in plan.iter().enumerate() {
                let tags: Vec<&str> = ["dev", "build-1", "sha-1"][..tag_count.min(&3).to_owned()].to_vec();
                let image = ImageRecord::active(&digest(n), &tags, pushed);
                let mut action = planned(&digest(n), Action::Expire, *is_index);
                action.tags = image.tags.clone();
                action.seen = SeenImage::of(&image);
                // Follow an earlier image only: content addressing makes a DAG.
                action.follows = follows.filter(|f| *f < n).map(digest).into_iter().collect();
                registry.insert(digest(n), image);
                actions.push(action);
                if let Some(change) = change {
                    changes.push((*when, digest(n), *change));
                }
            }
            let unchanged = changes.is_empty();
            let batches = deletion_batches(&actions);
            let mut execution = Execution::default();
            let mut removed = 0;
            for (number, batch) in batches.iter().enumerate() {
                for (_, target, change) in changes.iter().filter(|(when, _, _)| *when == number) {
                    match change {
                        Change::Deleted => {
                            registry.remove(target);
                        }
                        other => if let Some(image) = registry.get_mut(target) {
                            match other {
                                Change::AddProtectedTag => image.tags.push("prod-1".into()),
                                Change::RemoveTag => { image.tags.pop(); }
                                Change::Pulled => image.last_pulled_at = Some(pushed + chrono::TimeDelta::days(40)),
                                Change::Archived => image.status = crate::lifecycle::ImageStatus::Archived,
                                _ => image.pushed_at = pushed + chrono::TimeDelta::days(41),
                            }
                        }
                    }
                }
                let fresh: HashMap<String, ImageRecord> = batch
                    .iter()
                    .filter_map(|action| Some((action.digest.clone(), registry.get(&action.digest)?.clone())))
                    .collect();
                for action in execution.decide(batch, &fresh) {
                    let now = registry.get(&action.digest).expect("confirmed images exist");
                    let mut tags_now = now.tags.clone();
                    tags_now.sort();
                    let mut tags_planned = action.tags.clone();
                    tags_planned.sort();
                    proptest::prop_assert_eq!(tags_now, tags_planned);
                    proptest::prop_assert!(!now.tags.iter().any(|tag| tag.starts_with("prod-")));
                    proptest::prop_assert_eq!(&SeenImage::of(now), &action.seen);
                    for followed in &action.follows {
                        proptest::prop_assert!(!registry.contains_key(followed), "{} removed before {}", action.digest, followed);
                    }
                    registry.remove(&action.digest);
                    execution.expired.insert(action.digest.clone());
                    removed += 1;
                }
            }
            if unchanged {
                proptest::prop_assert_eq!(removed, actions.len());
                proptest::prop_assert!(execution.changed.is_empty());
            }
        }
    }
}
