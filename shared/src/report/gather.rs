//! Planning the selected repositories for a report: the sweep's planning in dry run,
//! a few repositories at a time, never acting — in the registry the environment
//! points at, or, when the configuration names targets, in every target's registry
//! against the workloads of every target.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::prices::AppliedPrices;
use super::{NotPlanned, Planned, Report};
use crate::sweep::error::AwsCallError;
use crate::sweep::handler::INLINE_CONCURRENCY;
use crate::sweep::in_use::snapshot::TARGET_SOURCE;
use crate::sweep::in_use::{gather_lists, gather_workloads, InUse, InUseConfig, SourceFailure};
use crate::sweep::registry::{self, Repository};
use crate::sweep::report::PolicyKind;
use crate::sweep::{
    plan_repository, Planning, PolicySource, RepositoryEntry, SweepMode, SweepRules, SweepTiming,
    Sweeper,
};
use crate::targets::{Target, TargetDirectory, TargetError};

/// A repository to report on, with the entry that governs it.
#[derive(Debug, Clone)]
pub struct Selected {
    pub repository: Repository,
    pub entry: RepositoryEntry,
    /// The target whose registry holds it (organization-wide), and the client that
    /// reaches that registry.
    pub target: Option<Target>,
    pub ecr: aws_sdk_ecr::Client,
}

/// Why the repositories to report on cannot be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Call(#[from] AwsCallError),
    #[error("repository {0} does not exist")]
    NotFound(String),
    #[error(transparent)]
    Targets(#[from] TargetError),
}

/// Every repository of the registry that the configuration's `sweeper` section
/// selects, each with its entry, in name order.
pub async fn select_configured(sweeper: &Sweeper) -> Result<Vec<Selected>, SelectError> {
    let mut selected: Vec<Selected> = registry::list_repositories(&sweeper.ecr)
        .await?
        .into_iter()
        .filter_map(|repository| {
            let entry = sweeper.config.sweeper.entry_for(&repository.name)?.clone();
            Some(Selected {
                repository,
                entry,
                target: None,
                ecr: sweeper.ecr.clone(),
            })
        })
        .collect();
    selected.sort_by(|a, b| a.repository.name.cmp(&b.repository.name));
    Ok(selected)
}

/// Every target's repositories that the configuration selects, and what the
/// workloads of every target (and the external lists) hold: what an
/// organization-wide run would sweep and protect. A target that cannot be reached
/// makes "in use" unknown, as it stops every sweep of a run.
pub async fn select_targets(
    sweeper: &Sweeper,
    targets: &TargetDirectory,
) -> Result<(Vec<Selected>, InUse), SelectError> {
    let now = Utc::now();
    let mut selected = Vec::new();
    let mut in_use = gather_lists(&sweeper.workloads.s3, &sweeper.config.sweeper.in_use, now).await;
    let workloads = InUseConfig {
        external_lists: Vec::new(),
        ..sweeper.config.sweeper.in_use.clone()
    };
    for access in targets.all().await? {
        let factory = targets.factory();
        if let Err(reason) = factory.check(&access).await {
            in_use.failed.push(SourceFailure {
                source: format!("{} {TARGET_SOURCE}", access.target),
                reason,
            });
            continue;
        }
        let ecr = factory.ecr(&access).await;
        for repository in registry::list_repositories(&ecr).await? {
            if let Some(entry) = sweeper.config.sweeper.entry_for(&repository.name) {
                selected.push(Selected {
                    repository,
                    entry: entry.clone(),
                    target: Some(access.target.clone()),
                    ecr: ecr.clone(),
                });
            }
        }
        let mut found = gather_workloads(&factory.in_use_clients(&access).await, &workloads).await;
        for failure in &mut found.failed {
            failure.source = format!("{} {}", access.target, failure.source);
        }
        for image_use in &mut found.uses {
            image_use.user = format!("{} in {}", image_use.user, access.target);
        }
        in_use.extend(found);
    }
    in_use.off.sort();
    in_use.off.dedup();
    Ok((selected, in_use))
}

/// The repository `name`, governed by `entry`.
pub async fn select_one(
    sweeper: &Sweeper,
    name: &str,
    entry: RepositoryEntry,
) -> Result<Vec<Selected>, SelectError> {
    match registry::find_repository(&sweeper.ecr, name).await? {
        Some(repository) => Ok(vec![Selected {
            repository,
            entry,
            target: None,
            ecr: sweeper.ecr.clone(),
        }]),
        None => Err(SelectError::NotFound(name.to_owned())),
    }
}

/// Plans every `selected` repository in dry run as of `as_of`, against `in_use`, and
/// reports on them. `progress` hears of each repository planned (how many so far, of
/// how many, its name), in the order they finish.
pub async fn report(
    sweeper: &Sweeper,
    selected: &[Selected],
    in_use: InUse,
    as_of: DateTime<Utc>,
    prices: AppliedPrices,
    mut progress: impl FnMut(usize, usize, &str),
) -> Report {
    let in_use = &in_use;
    let mut plans = futures::stream::iter(selected)
        .map(|selected| plan(sweeper, selected, in_use, as_of))
        .buffer_unordered(INLINE_CONCURRENCY);
    let mut planned = Vec::with_capacity(selected.len());
    while let Some(one) = plans.next().await {
        progress(planned.len() + 1, selected.len(), &one.repository_name);
        planned.push(one);
    }
    drop(plans);
    Report::assemble(as_of, prices, in_use, planned)
}

async fn plan(
    sweeper: &Sweeper,
    selected: &Selected,
    in_use: &InUse,
    as_of: DateTime<Utc>,
) -> Planned {
    let Selected {
        repository,
        entry,
        target,
        ecr,
    } = selected;
    let protected_tags = sweeper.config.protected_tags(&repository.name);
    let rules = SweepRules {
        entry,
        protected_tags: &protected_tags,
        mode: SweepMode::DryRun,
        tagged_artifacts: sweeper.config.sweeper.tagged_artifacts,
    };
    let timing = SweepTiming::unlimited(as_of);
    let planning = plan_repository(ecr, repository, &rules, in_use, &timing).await;
    Planned {
        repository_name: repository.name.clone(),
        target: target.clone(),
        policy: match entry.policy {
            PolicySource::Native => PolicyKind::Native,
            PolicySource::Document(_) => PolicyKind::Configured,
        },
        mode: entry.effective_mode(sweeper.config.sweeper.mode),
        outcome: match planning {
            Planning::Planned(plan) => Ok(plan),
            Planning::Stopped(sweep) => Err(NotPlanned {
                skipped: sweep.summary.skipped,
                error: sweep.summary.error,
            }),
        },
    }
}
