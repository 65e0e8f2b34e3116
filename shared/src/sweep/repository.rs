//! Sweeping one repository: read it, protect what must stay, plan with the lifecycle
//! engine, check the safety cap, then (in enforce mode) apply the plan.

use chrono::{DateTime, Utc};

use super::config::{ClassCounts, PolicySource, RepositoryEntry, SweepMode};
use super::error::AwsCallError;
use super::executor::{self, ActionFailure, ActionSkipped};
use super::in_use::{protect_in_use, InUse};
use super::manifests::read_index_children;
use super::protection::{protections, ProtectionInput};
use super::registry::{self, ImageListError, Repository};
use super::report::{
    log_action, planned_actions, protected_images, PlannedAction, PolicyKind, ProtectedImage,
    RepositorySummary, LISTED,
};
use crate::lifecycle::{
    attach_tagged_artifacts, evaluate, Action, EvaluationInput, LifecyclePolicy, Plan,
};
use crate::protected_tags::ProtectedTags;

/// Everything a repository sweep produced.
#[derive(Debug, Clone)]
pub struct RepositorySweep {
    pub summary: RepositorySummary,
    /// The engine's plan (one decision per image), empty when the sweep stopped early.
    pub plan: Plan<'static>,
    /// The plan's actions, in digest order.
    pub actions: Vec<PlannedAction>,
    /// Every image protected from the plan, in digest order, with why.
    pub protected: Vec<ProtectedImage>,
    /// The AWS call that stopped the sweep, if one did (also in `summary.error`).
    pub error: Option<AwsCallError>,
}

impl RepositorySweep {
    /// A sweep that stopped before planning; `summary` says why.
    fn stopped(summary: RepositorySummary, error: Option<AwsCallError>) -> Self {
        RepositorySweep {
            summary,
            plan: Plan::default(),
            actions: Vec::new(),
            protected: Vec::new(),
            error,
        }
    }
}

/// How one repository is swept.
#[derive(Debug, Clone, Copy)]
pub struct SweepRules<'a> {
    /// The configuration entry that selects it: policy, minimum age, safety cap.
    pub entry: &'a RepositoryEntry,
    /// Its protected tags (see [`crate::config::JanitorConfig::protected_tags`]).
    pub protected_tags: &'a ProtectedTags,
    pub mode: SweepMode,
    /// Whether images tagged `sha256-<digest>.<suffix>` follow the image they name
    /// (see [`crate::lifecycle::attach_tagged_artifacts`]).
    pub tagged_artifacts: bool,
}

/// Sweeps `repository` by `rules`, as of `now`. `in_use` is what the workloads hold
/// (see [`super::in_use`]); while it is unknown, nothing is acted on.
pub async fn sweep_repository(
    ecr: &aws_sdk_ecr::Client,
    repository: &Repository,
    rules: &SweepRules<'_>,
    in_use: &InUse,
    now: DateTime<Utc>,
) -> RepositorySweep {
    let SweepRules {
        entry,
        protected_tags,
        mode,
        tagged_artifacts,
    } = *rules;
    let (kind, mode) = match entry.policy {
        PolicySource::Native => (PolicyKind::Native, SweepMode::DryRun),
        PolicySource::Document(_) => (PolicyKind::Configured, mode),
    };
    let mut summary = RepositorySummary::new(&repository.name, kind, mode);
    let text = match &entry.policy {
        PolicySource::Document(text) => text.clone(),
        PolicySource::Native => match registry::native_policy(ecr, &repository.name).await {
            Ok(Some(text)) => text,
            Ok(None) => {
                summary.skipped = Some("the repository has no lifecycle policy".to_owned());
                return RepositorySweep::stopped(summary, None);
            }
            Err(err) => return failed_call(summary, err),
        },
    };
    let policy = match LifecyclePolicy::parse(&text) {
        Ok(policy) => policy,
        Err(errors) => {
            summary.error = Some(format!("lifecycle policy rejected:\n{errors}"));
            return RepositorySweep::stopped(summary, None);
        }
    };
    let mut images = match registry::describe_images(ecr, &repository.name).await {
        Ok(images) => images,
        Err(ImageListError::Call(err)) => return failed_call(summary, err),
        Err(err @ ImageListError::Conflicting { .. }) => {
            summary.error = Some(err.to_string());
            return RepositorySweep::stopped(summary, None);
        }
    };
    summary.images = images.len();
    if tagged_artifacts {
        attach_tagged_artifacts(&mut images);
    }
    let indexes = match read_index_children(ecr, &repository.name, &images).await {
        Ok(indexes) => indexes,
        Err(err) => return failed_call(summary, err),
    };
    for (index, why) in &indexes.unreadable {
        tracing::warn!(repository = %repository.name, index = %index, reason = %why, "image index unreadable: every image it could list is kept");
    }
    let held_in_use = protect_in_use(&in_use.uses, &repository.uri, &images);
    let protections = protections(
        &images,
        &ProtectionInput {
            in_use: &held_in_use,
            protected_tags,
            minimum_age_days: entry.minimum_age_days,
            unreadable_indexes: &indexes.unreadable,
            now,
        },
    );
    let plan = evaluate(
        &policy,
        &EvaluationInput {
            images: &images,
            index_children: &indexes.children,
            protected: &protections.reasons,
            now,
        },
    );
    let actions = planned_actions(&plan, &images, &indexes.children);
    let protected = protected_images(&repository.name, &images, &protections.reasons);
    let mut held = ClassCounts::default();
    for image in &images {
        held.add(image.status);
    }
    // The report outlives the images: free them before the (slow) execution.
    let plan = plan.into_owned();
    drop(images);
    summary.count_plan(&actions);
    summary.protected = protections.counts();
    summary.protected_images = protected.iter().take(LISTED).cloned().collect();
    let mut acted = ClassCounts::default();
    for action in &actions {
        acted.add(action.seen.status);
    }
    summary.cap_tripped = entry
        .safety_cap
        .and_then(|cap| cap.exceeded_by(acted, held));
    summary.in_use_unknown = in_use.unknown();
    summary.in_use_sources_off = in_use.off.clone();
    let dry_run = mode == SweepMode::DryRun;
    if dry_run || summary.cap_tripped.is_some() || summary.in_use_unknown.is_some() {
        let outcome = match (dry_run, &summary.in_use_unknown) {
            (true, _) => "planned",
            (false, Some(_)) => "in use unknown",
            (false, None) => "capped",
        };
        if let Some(why) = &summary.cap_tripped {
            tracing::warn!(repository = %repository.name, reason = %why, "safety cap tripped: no action taken");
        }
        if let Some(why) = &summary.in_use_unknown {
            tracing::warn!(repository = %repository.name, reason = %why, "no action taken");
        }
        for action in &actions {
            log_action(&repository.name, action, dry_run, outcome, None);
        }
        return RepositorySweep {
            summary,
            plan,
            actions,
            protected,
            error: None,
        };
    }
    let execution = executor::execute(ecr, &repository.name, &actions).await;
    let failed: std::collections::HashMap<&str, &ActionFailure> = execution
        .failures
        .iter()
        .map(|failure| (failure.digest.as_str(), failure))
        .collect();
    let changed: std::collections::HashMap<&str, &ActionSkipped> = execution
        .changed
        .iter()
        .map(|skipped| (skipped.digest.as_str(), skipped))
        .collect();
    for action in &actions {
        let done = match action.action {
            Action::Expire => execution.expired.contains(&action.digest),
            Action::Transition => execution.transitioned.contains(&action.digest),
        };
        let digest = action.digest.as_str();
        let outcome = match (done, failed.get(digest), changed.get(digest)) {
            (true, _, _) if action.action == Action::Expire => "expired",
            (true, _, _) => "transitioned",
            (false, Some(_), _) => "failed",
            (false, None, Some(_)) => "changed since planned",
            (false, None, None) => "not attempted",
        };
        let reason = changed.get(digest).map(|skipped| skipped.reason.as_str());
        log_action(&repository.name, action, false, outcome, reason);
        if done && action.action == Action::Expire {
            summary.bytes_freed += action.size_bytes.unwrap_or(0);
        }
    }
    summary.expired = execution.expired.len();
    summary.transitioned = execution.transitioned.len();
    summary.error = execution.error.as_ref().map(ToString::to_string);
    summary.record_failures(execution.failures);
    summary.record_changed_since_planned(execution.changed);
    RepositorySweep {
        summary,
        plan,
        actions,
        protected,
        error: execution.error,
    }
}

fn failed_call(mut summary: RepositorySummary, err: AwsCallError) -> RepositorySweep {
    summary.error = Some(err.to_string());
    RepositorySweep::stopped(summary, Some(err))
}
