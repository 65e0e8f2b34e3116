//! The sweeper's entry point: turns a trigger into repository sweeps, inline or fanned
//! out as one `Sweep Repository` event per repository, and reports each of them.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::{json, Value};

use super::budget::Budget;
use super::config::RepositoryEntry;
use super::error::AwsCallError;
use super::in_use::snapshot_store::SnapshotStoreError;
use super::in_use::{gather, InUse, InUseClients};
use super::organization::{Organization, StageReport};
use super::registry::{self, Repository};
use super::report::{PolicyKind, RepositorySummary};
use super::repository::{sweep_repository, RepositorySweep, SweepRules, SweepTiming};
use super::trigger::{Continuation, SweepTrigger, TriggerError, SWEEP_REPOSITORY};
use crate::aws::bus::{BusError, BusEvent, EventBus, FailedEvent};
use crate::config::JanitorConfig;
use crate::targets::{Target, TargetError};

/// Repositories swept at once by one invocation.
pub const INLINE_CONCURRENCY: usize = 4;

/// Why a run failed. All of these are worth a retry (the sweep is idempotent: it
/// plans again from the registry as it is) or need an operator.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error(transparent)]
    Call(#[from] AwsCallError),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("{selected} repositories exceed fanOutThreshold but no event bus is configured (JANITOR_BUS_NAME)")]
    NoBus { selected: usize },
    #[error("sweep incomplete: {}", .problems.join("; "))]
    Incomplete { problems: Vec<String> },
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error(transparent)]
    Snapshot(#[from] SnapshotStoreError),
}

/// What one invocation did; the handler's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SweepRun {
    pub trigger: SweepTrigger,
    /// Repositories the configuration selects (1 for a per-repository run).
    pub repositories_selected: usize,
    /// `Sweep Repository` events published instead of sweeping inline.
    pub fanned_out: usize,
    /// One summary per repository swept inline.
    pub repositories: Vec<RepositorySummary>,
    /// Events the bus did not accept.
    pub event_failures: Vec<FailedEvent>,
    /// Whether every repository's sweep is complete (see
    /// [`RepositorySummary::complete`]); continuations carry on the ones that ran out
    /// of time.
    pub complete: bool,
    /// What an organization-wide stage did (starting a run, gathering one target's
    /// workloads, fanning out one target's repositories).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stage: Option<StageReport>,
}

/// The sweeper with its clients and configuration.
#[derive(Debug, Clone)]
pub struct Sweeper {
    pub ecr: aws_sdk_ecr::Client,
    /// The clients the sources of "in use" read with.
    pub workloads: InUseClients,
    /// The janitor bus; `None` only where nothing is published (the CLI).
    pub bus: Option<EventBus>,
    /// The whole configuration: the `sweeper` section, and every protected-tag list.
    pub config: JanitorConfig,
    /// The targets and the in-use snapshot, when the configuration names targets (see
    /// [`super::organization`]); `None` serves the hub's own account and Region.
    pub organization: Option<Organization>,
}

impl Sweeper {
    /// Builds the clients from one SDK configuration (use
    /// [`crate::aws::load_sweep_sdk_config`]: its retry policy for reading).
    pub fn from_sdk_config(
        sdk: &aws_config::SdkConfig,
        config: JanitorConfig,
        bus_name: Option<String>,
    ) -> Self {
        Sweeper {
            ecr: aws_sdk_ecr::Client::new(sdk),
            workloads: InUseClients::new(sdk),
            bus: bus_name.map(|name| EventBus::new(aws_sdk_eventbridge::Client::new(sdk), name)),
            config,
            organization: None,
        }
    }

    /// Handles one Lambda event within `budget`. Input that is not a trigger is
    /// rejected with `Ok({"rejected": ...})` (a retry could never succeed and nothing is
    /// deleted); AWS failures are `Err`, so that Lambda retries the invocation.
    pub async fn handle_event(
        &self,
        event: &Value,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<Value, SweepError> {
        let parsed = SweepTrigger::parse(event).and_then(|trigger| match &self.organization {
            Some(organization) => {
                from_the_hub(event, organization.directory.hub()).map(|()| trigger)
            }
            None => Ok(trigger),
        });
        let trigger = match parsed {
            Ok(trigger) => trigger,
            Err(err) => {
                tracing::error!(field = %err.field, message = %err.message, "rejected event");
                return Ok(json!({ "rejected": { "field": err.field, "message": err.message } }));
            }
        };
        let run = self.run(trigger, now, budget).await?;
        Ok(serde_json::to_value(&run).unwrap_or_default())
    }

    /// Runs a sweep for `trigger` as of `now` (a continuation: as of its first plan),
    /// acting only while `budget` lasts. A repository that ran out of time is carried
    /// on by a `Sweep Repository` continuation event; the run is then `Ok` with
    /// `complete: false`. Failures a retry may cure (AWS calls, sources of "in use",
    /// events not published) are `Err`.
    pub async fn run(
        &self,
        trigger: SweepTrigger,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<SweepRun, SweepError> {
        if let Some(organization) = &self.organization {
            return self
                .run_organization(organization, trigger, now, budget)
                .await;
        }
        let (name, continuing): (Option<String>, Option<Continuation>) = match &trigger {
            SweepTrigger::Repository(name) => (Some(name.clone()), None),
            SweepTrigger::Continue(first) if first.target.is_none() => {
                (Some(first.repository_name.clone()), Some(first.clone()))
            }
            SweepTrigger::Scheduled | SweepTrigger::SweepAll => (None, None),
            SweepTrigger::TargetRepository(_)
            | SweepTrigger::Continue(_)
            | SweepTrigger::GatherInUse(_)
            | SweepTrigger::SweepTarget(_) => {
                let why = "the configuration names no targets: this installation serves \
                           only its own account and Region";
                return Ok(skipped_run(trigger.clone(), "(none)", why));
            }
        };
        let now = continuing.as_ref().map_or(now, |first| first.as_of);
        let selected: Vec<(Repository, &RepositoryEntry)> = match name.as_deref() {
            Some(name) => match self.config.sweeper.entry_for(name) {
                None => {
                    let why = "not selected by the sweeper configuration";
                    return Ok(skipped_run(trigger.clone(), name, why));
                }
                Some(entry) => match registry::find_repository(&self.ecr, name).await? {
                    None => {
                        let why = "the repository does not exist";
                        return Ok(skipped_run(trigger.clone(), name, why));
                    }
                    Some(repository) => vec![(repository, entry)],
                },
            },
            None => registry::list_repositories(&self.ecr)
                .await?
                .into_iter()
                .filter_map(|repository| {
                    let entry = self.config.sweeper.entry_for(&repository.name)?;
                    Some((repository, entry))
                })
                .collect(),
        };
        if name.is_none() && selected.len() > self.config.sweeper.fan_out_threshold {
            return self.fan_out(trigger, &selected).await;
        }
        // Workloads are only read when there is something to protect.
        let in_use = if selected.is_empty() {
            tracing::info!("no repository is selected by the sweeper configuration");
            InUse::default()
        } else {
            self.images_in_use(now).await
        };
        let sweep = SelectedSweep {
            ecr: &self.ecr,
            target: None,
            in_use_snapshot: None,
            selected: &selected,
            in_use: &in_use,
            timing: SweepTiming {
                now,
                continuing: continuing.as_ref(),
                budget,
            },
        };
        self.sweep_selected(trigger, sweep).await
    }

    /// Sweeps the selected repositories of one registry, publishes their summaries and
    /// continuations, and reports them.
    pub(super) async fn sweep_selected(
        &self,
        trigger: SweepTrigger,
        sweep: SelectedSweep<'_>,
    ) -> Result<SweepRun, SweepError> {
        let SelectedSweep {
            ecr,
            target,
            in_use_snapshot,
            selected,
            in_use,
            timing,
        } = sweep;
        let mut sweeps: Vec<RepositorySweep> = futures::stream::iter(selected)
            .map(|(repository, entry)| {
                self.sweep_repository_in(ecr, repository, entry, in_use, timing)
            })
            .buffered(INLINE_CONCURRENCY)
            .collect()
            .await;
        for sweep in &mut sweeps {
            sweep.summary.target = target.cloned();
            sweep.summary.in_use_snapshot = in_use_snapshot.clone();
            if let Some(continuation) = &mut sweep.continue_with {
                continuation.target = target.cloned();
            }
        }
        let mut problems: Vec<String> = in_use.unknown().into_iter().collect();
        problems.extend(sweeps.iter().filter_map(|sweep| {
            let error = sweep.error.as_ref()?;
            Some(format!("{}: {error}", sweep.summary.repository_name))
        }));
        let mut events: Vec<BusEvent> = sweeps
            .iter()
            .zip(selected)
            .map(|(sweep, (repository, _))| sweep.summary.event(Some(&repository.arn)))
            .collect();
        let continuations: Vec<BusEvent> = sweeps
            .iter()
            .zip(selected)
            .filter_map(|(sweep, (repository, _))| {
                Some(continuation_event(
                    sweep.continue_with.as_ref()?,
                    &repository.arn,
                ))
            })
            .collect();
        if !continuations.is_empty() && self.bus.is_none() {
            problems.push(format!(
                "{} repositories ran out of time and no event bus is configured to continue them",
                continuations.len()
            ));
        }
        events.extend(continuations);
        for sweep in &sweeps {
            sweep.summary.metrics().emit();
        }
        let event_failures = match &self.bus {
            Some(bus) => bus.publish(&events).await?.failed,
            None => Vec::new(),
        };
        problems.extend(event_failures.iter().map(|failed| {
            format!(
                "{} event not published: {}",
                failed.detail_type, failed.error_code
            )
        }));
        let complete = sweeps.iter().all(|sweep| sweep.summary.complete);
        let run = SweepRun {
            trigger,
            repositories_selected: selected.len(),
            fanned_out: 0,
            repositories: sweeps.into_iter().map(|sweep| sweep.summary).collect(),
            event_failures,
            complete,
            stage: None,
        };
        tracing::info!(summary = %serde_json::to_string(&run).unwrap_or_default(), "sweep finished");
        if problems.is_empty() {
            Ok(run)
        } else {
            Err(SweepError::Incomplete { problems })
        }
    }

    /// Sweeps one repository selected by `entry`, in the entry's mode, with the
    /// repository's protected tags.
    pub async fn sweep_repository(
        &self,
        repository: &Repository,
        entry: &RepositoryEntry,
        in_use: &InUse,
        timing: SweepTiming<'_>,
    ) -> RepositorySweep {
        self.sweep_repository_in(&self.ecr, repository, entry, in_use, timing)
            .await
    }

    /// [`Sweeper::sweep_repository`] in the registry `ecr` reaches.
    async fn sweep_repository_in(
        &self,
        ecr: &aws_sdk_ecr::Client,
        repository: &Repository,
        entry: &RepositoryEntry,
        in_use: &InUse,
        timing: SweepTiming<'_>,
    ) -> RepositorySweep {
        let protected_tags = self.config.protected_tags(&repository.name);
        let rules = SweepRules {
            entry,
            protected_tags: &protected_tags,
            mode: entry.effective_mode(self.config.sweeper.mode),
            tagged_artifacts: self.config.sweeper.tagged_artifacts,
        };
        sweep_repository(ecr, repository, &rules, in_use, &timing).await
    }

    /// What every source switched on says is in use (see [`super::in_use`]), as of
    /// `now` (external lists older than their maximum age are stale).
    pub async fn images_in_use(&self, now: DateTime<Utc>) -> InUse {
        gather(&self.workloads, &self.config.sweeper.in_use, now).await
    }

    async fn fan_out(
        &self,
        trigger: SweepTrigger,
        selected: &[(Repository, &RepositoryEntry)],
    ) -> Result<SweepRun, SweepError> {
        let bus = self.bus.as_ref().ok_or(SweepError::NoBus {
            selected: selected.len(),
        })?;
        let events: Vec<BusEvent> = selected
            .iter()
            .map(|(repository, _)| BusEvent {
                detail_type: SWEEP_REPOSITORY.to_owned(),
                detail: json!({ "repositoryName": repository.name }),
                resources: vec![repository.arn.clone()],
            })
            .collect();
        let report = bus.publish(&events).await?;
        tracing::info!(
            selected = selected.len(),
            published = report.published,
            failed = report.failed.len(),
            "fanned out one Sweep Repository event per repository"
        );
        if !report.failed.is_empty() {
            // The repositories whose events failed would go unswept: fail so Lambda
            // retries (repeated events only repeat idempotent sweeps).
            return Err(SweepError::Incomplete {
                problems: report
                    .failed
                    .iter()
                    .map(|failed| {
                        format!(
                            "{SWEEP_REPOSITORY} event not published: {}",
                            failed.error_code
                        )
                    })
                    .collect(),
            });
        }
        Ok(SweepRun {
            trigger,
            repositories_selected: selected.len(),
            fanned_out: report.published,
            repositories: Vec::new(),
            event_failures: report.failed,
            complete: true,
            stage: None,
        })
    }
}

/// Checks that a janitor event comes from the hub's own account. Member accounts may
/// put events on the janitor bus (to forward their ECR events), and an event's
/// `account` is the account that put it: a `Sweep Repository` or continuation from a
/// member is refused, so that no member can choose what is swept or as of when.
fn from_the_hub(event: &Value, hub: &Target) -> Result<(), TriggerError> {
    match event.get("account").and_then(Value::as_str) {
        Some(account) if account != hub.account => Err(TriggerError {
            field: "account".to_owned(),
            message: format!(
                "janitor events are only taken from the hub's account {}, got {}",
                hub.account,
                crate::untrusted::excerpt(account)
            ),
        }),
        _ => Ok(()),
    }
}

/// The run of a per-repository trigger whose repository is not swept.
pub(super) fn skipped_run(trigger: SweepTrigger, name: &str, why: &str) -> SweepRun {
    tracing::warn!(repository = %name, reason = why, "repository not swept");
    let mut summary = RepositorySummary::new(name, PolicyKind::Configured, Default::default());
    summary.skipped = Some(why.to_owned());
    summary.complete = true;
    SweepRun {
        trigger,
        repositories_selected: 0,
        fanned_out: 0,
        repositories: vec![summary],
        event_failures: Vec::new(),
        complete: true,
        stage: None,
    }
}

/// The `Sweep Repository` event that carries on a sweep that ran out of time.
fn continuation_event(continuation: &Continuation, repository_arn: &str) -> BusEvent {
    let mut detail = json!({
        "repositoryName": continuation.repository_name,
        "continuation": {"asOf": continuation.as_of, "listedAt": continuation.listed_at},
    });
    if let Some(target) = &continuation.target {
        detail["account"] = json!(target.account);
        detail["region"] = json!(target.region);
    }
    BusEvent {
        detail_type: SWEEP_REPOSITORY.to_owned(),
        detail,
        resources: vec![repository_arn.to_owned()],
    }
}

/// One registry's selected repositories, and what to sweep them with.
pub(super) struct SelectedSweep<'a> {
    pub ecr: &'a aws_sdk_ecr::Client,
    /// The target whose registry it is, in an organization-wide installation.
    pub target: Option<&'a Target>,
    /// The in-use snapshot `in_use` came from, for the summaries.
    pub in_use_snapshot: Option<String>,
    pub selected: &'a [(Repository, &'a RepositoryEntry)],
    pub in_use: &'a InUse,
    pub timing: SweepTiming<'a>,
}
