//! Sweeping one repository: read it, protect what must stay, plan with the lifecycle
//! engine, check the safety cap, then (in enforce mode) apply the plan.

use chrono::{DateTime, Utc};

use super::budget::Budget;
use super::config::{ClassCounts, PolicySource, RepositoryEntry, SweepMode};
use super::error::AwsCallError;
use super::executor::{self, ActionFailure, ActionSkipped};
use super::in_use::{protect_in_use, InUse};
use super::manifests::{read_index_children, IndexChildren};
use super::protection::{protections, ProtectionInput, Protections};
use super::registry::{self, ImageListError, Repository};
use super::report::{
    log_action, planned_actions, protected_images, PlannedAction, PolicyKind, ProtectedImage,
    RepositorySummary, LISTED,
};
use super::trigger::Continuation;
use crate::lifecycle::{
    attach_tagged_artifacts, evaluate, Action, EvaluationInput, ImageRecord, LifecyclePolicy, Plan,
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
    /// Where to carry on, when the invocation ran out of time.
    pub continue_with: Option<Continuation>,
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
            continue_with: None,
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

/// When a sweep plans as of, and what it may spend.
#[derive(Debug, Clone, Copy)]
pub struct SweepTiming<'a> {
    /// The instant the plan is made as of (the first plan's, for a continuation).
    pub now: DateTime<Utc>,
    /// Set when carrying on a sweep that ran out of time: only the images listed by
    /// then are planned (see [`super::trigger::Continuation`]).
    pub continuing: Option<&'a Continuation>,
    pub budget: Budget,
}

impl SweepTiming<'_> {
    /// A fresh sweep as of `now` with no time limit.
    pub fn unlimited(now: DateTime<Utc>) -> Self {
        SweepTiming {
            now,
            continuing: None,
            budget: Budget::unlimited(),
        }
    }
}

/// A repository read and planned, nothing done to it yet: what a sweep carries out,
/// and what `ecr-janitor report` shows.
#[derive(Debug, Clone)]
pub struct RepositoryPlan {
    /// The plan's counts and protections, and what would stop it from being carried
    /// out (safety cap, in use unknown); `complete` is not judged yet.
    pub summary: RepositorySummary,
    /// Every image planned for (tagged artifacts attached to their subject).
    pub images: Vec<ImageRecord>,
    pub indexes: IndexChildren,
    pub protections: Protections,
    /// The engine's plan (one decision per image).
    pub plan: Plan<'static>,
    /// The plan's actions, in digest order.
    pub actions: Vec<PlannedAction>,
    /// Every image protected from the plan, in digest order, with why.
    pub protected: Vec<ProtectedImage>,
    /// When the repository was listed (the first plan's listing, for a continuation).
    pub listed_at: DateTime<Utc>,
}

/// How planning a repository ended.
#[derive(Debug, Clone)]
pub enum Planning {
    Planned(Box<RepositoryPlan>),
    /// Nothing was planned: no native policy, no time left, a rejected policy or a
    /// failed call. The sweep as it stands; its summary says why.
    Stopped(Box<RepositorySweep>),
}

/// Sweeps `repository` by `rules`, as `timing` says. `in_use` is what the workloads
/// hold (see [`super::in_use`]); while it is unknown, nothing is acted on.
pub async fn sweep_repository(
    ecr: &aws_sdk_ecr::Client,
    repository: &Repository,
    rules: &SweepRules<'_>,
    in_use: &InUse,
    timing: &SweepTiming<'_>,
) -> RepositorySweep {
    let planned = match plan_repository(ecr, repository, rules, in_use, timing).await {
        Planning::Planned(planned) => planned,
        Planning::Stopped(sweep) => return *sweep,
    };
    // The report outlives the images: free them before the (slow) execution.
    let RepositoryPlan {
        mut summary,
        plan,
        actions,
        protected,
        listed_at,
        ..
    } = *planned;
    let now = timing.now;
    let dry_run = summary.dry_run;
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
        summary.complete = summary.is_complete();
        return RepositorySweep {
            summary,
            plan,
            actions,
            protected,
            error: None,
            continue_with: None,
        };
    }
    let execution = executor::execute(ecr, &repository.name, &actions, &timing.budget).await;
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
    let continue_with = execution.out_of_time.then(|| Continuation {
        target: None,
        repository_name: repository.name.clone(),
        as_of: now,
        listed_at,
    });
    if let Some(continuation) = &continue_with {
        tracing::warn!(repository = %repository.name, as_of = %continuation.as_of, "out of time: the sweep continues in a new invocation");
    }
    summary.continued = continue_with.is_some();
    summary.complete = summary.is_complete();
    RepositorySweep {
        summary,
        plan,
        actions,
        protected,
        error: execution.error,
        continue_with,
    }
}

/// Reads `repository` and plans by `rules` as of `timing.now`, acting on nothing:
/// the part of a sweep that decides. In enforce mode the summary says whether the
/// plan may be carried out (safety cap, in use unknown).
pub async fn plan_repository(
    ecr: &aws_sdk_ecr::Client,
    repository: &Repository,
    rules: &SweepRules<'_>,
    in_use: &InUse,
    timing: &SweepTiming<'_>,
) -> Planning {
    let now = timing.now;
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
    if timing.budget.exhausted() {
        summary.skipped = Some("the invocation ran out of time before this repository".to_owned());
        let mut sweep = RepositorySweep::stopped(summary, None);
        sweep.continue_with = Some(Continuation {
            target: None,
            repository_name: repository.name.clone(),
            as_of: now,
            listed_at: now,
        });
        return Planning::Stopped(Box::new(sweep));
    }
    let text = match &entry.policy {
        PolicySource::Document(text) => text.clone(),
        PolicySource::Native => match registry::native_policy(ecr, &repository.name).await {
            Ok(Some(text)) => text,
            Ok(None) => {
                summary.skipped = Some("the repository has no lifecycle policy".to_owned());
                summary.complete = true;
                return Planning::Stopped(Box::new(RepositorySweep::stopped(summary, None)));
            }
            Err(err) => return failed_call(summary, err),
        },
    };
    let policy = match LifecyclePolicy::parse(&text) {
        Ok(policy) => policy,
        Err(errors) => {
            summary.error = Some(format!("lifecycle policy rejected:\n{errors}"));
            return Planning::Stopped(Box::new(RepositorySweep::stopped(summary, None)));
        }
    };
    let listed_at = timing
        .continuing
        .map_or_else(Utc::now, |first| first.listed_at);
    let mut images = match registry::describe_images(ecr, &repository.name).await {
        Ok(images) => images,
        Err(ImageListError::Call(err)) => return failed_call(summary, err),
        Err(err @ ImageListError::Conflicting { .. }) => {
            summary.error = Some(err.to_string());
            return Planning::Stopped(Box::new(RepositorySweep::stopped(summary, None)));
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
    if timing.continuing.is_some() {
        // The first plan's world: what was pushed or restored since it listed the
        // repository is kept, and does not count (the index links of all images stay
        // known, so what a newer index lists stays too).
        images.retain(|image| {
            image
                .pushed_at
                .max(image.activated_at.unwrap_or(image.pushed_at))
                <= listed_at
        });
    }
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
    )
    .into_owned();
    let actions = planned_actions(&plan, &images, &indexes.children);
    let protected = protected_images(&repository.name, &images, &protections.reasons);
    let mut held = ClassCounts::default();
    for image in &images {
        held.add(image.status);
    }
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
    Planning::Planned(Box::new(RepositoryPlan {
        summary,
        images,
        indexes,
        protections,
        plan,
        actions,
        protected,
        listed_at,
    }))
}

fn failed_call(mut summary: RepositorySummary, err: AwsCallError) -> Planning {
    summary.error = Some(err.to_string());
    Planning::Stopped(Box::new(RepositorySweep::stopped(summary, Some(err))))
}
