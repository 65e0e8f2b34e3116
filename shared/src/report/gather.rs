//! Planning the selected repositories for a report: the sweep's planning in dry run,
//! a few repositories at a time, never acting.

use chrono::{DateTime, Utc};
use futures::StreamExt;

use super::prices::AppliedPrices;
use super::{NotPlanned, Planned, Report};
use crate::sweep::error::AwsCallError;
use crate::sweep::handler::INLINE_CONCURRENCY;
use crate::sweep::in_use::InUse;
use crate::sweep::registry::{self, Repository};
use crate::sweep::report::PolicyKind;
use crate::sweep::{
    plan_repository, Planning, PolicySource, RepositoryEntry, SweepMode, SweepRules, SweepTiming,
    Sweeper,
};

/// A repository to report on, with the entry that governs it.
#[derive(Debug, Clone)]
pub struct Selected {
    pub repository: Repository,
    pub entry: RepositoryEntry,
}

/// Why the repositories to report on cannot be listed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Call(#[from] AwsCallError),
    #[error("repository {0} does not exist")]
    NotFound(String),
}

/// Every repository of the registry that the configuration's `sweeper` section
/// selects, each with its entry, in name order.
pub async fn select_configured(sweeper: &Sweeper) -> Result<Vec<Selected>, SelectError> {
    let mut selected: Vec<Selected> = registry::list_repositories(&sweeper.ecr)
        .await?
        .into_iter()
        .filter_map(|repository| {
            let entry = sweeper.config.sweeper.entry_for(&repository.name)?.clone();
            Some(Selected { repository, entry })
        })
        .collect();
    selected.sort_by(|a, b| a.repository.name.cmp(&b.repository.name));
    Ok(selected)
}

/// The repository `name`, governed by `entry`.
pub async fn select_one(
    sweeper: &Sweeper,
    name: &str,
    entry: RepositoryEntry,
) -> Result<Vec<Selected>, SelectError> {
    match registry::find_repository(&sweeper.ecr, name).await? {
        Some(repository) => Ok(vec![Selected { repository, entry }]),
        None => Err(SelectError::NotFound(name.to_owned())),
    }
}

/// Plans every `selected` repository in dry run as of `as_of` and reports on them.
/// `progress` hears of each repository planned (how many so far, of how many, its
/// name), in the order they finish.
pub async fn report(
    sweeper: &Sweeper,
    selected: &[Selected],
    as_of: DateTime<Utc>,
    prices: AppliedPrices,
    mut progress: impl FnMut(usize, usize, &str),
) -> Report {
    // Lists are judged stale by the real clock, whatever instant the plans are for.
    let in_use = sweeper.images_in_use(Utc::now()).await;
    let mut plans = futures::stream::iter(selected)
        .map(|selected| plan(sweeper, selected, &in_use, as_of))
        .buffer_unordered(INLINE_CONCURRENCY);
    let mut planned = Vec::with_capacity(selected.len());
    while let Some(one) = plans.next().await {
        progress(planned.len() + 1, selected.len(), &one.repository_name);
        planned.push(one);
    }
    drop(plans);
    Report::assemble(as_of, prices, &in_use, planned)
}

async fn plan(
    sweeper: &Sweeper,
    selected: &Selected,
    in_use: &InUse,
    as_of: DateTime<Utc>,
) -> Planned {
    let Selected { repository, entry } = selected;
    let protected_tags = sweeper.config.protected_tags(&repository.name);
    let rules = SweepRules {
        entry,
        protected_tags: &protected_tags,
        mode: SweepMode::DryRun,
        tagged_artifacts: sweeper.config.sweeper.tagged_artifacts,
    };
    let timing = SweepTiming::unlimited(as_of);
    let planning = plan_repository(&sweeper.ecr, repository, &rules, in_use, &timing).await;
    Planned {
        repository_name: repository.name.clone(),
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
