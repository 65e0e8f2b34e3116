//! Organization-wide runs: one installation sweeping the registries of every target
//! (see [`crate::targets`]) against the workloads of every target.
//!
//! A run goes through the janitor bus in stages, so that no invocation loops over the
//! organization:
//!
//! 1. **Start** (the schedule): list the targets, write the run's manifest, publish one
//!    `Gather In Use` event per target.
//! 2. **Gather** (one invocation per target): read the target's workloads through its
//!    role and write them as the run's part for that target. The invocation that
//!    writes the last part claims the assembly (a conditional write: exactly one
//!    does), assembles the in-use snapshot and publishes one `Sweep Target` event per
//!    target.
//! 3. **Fan out** (one invocation per target): list the target's repositories and
//!    publish one `Sweep Repository` event per selected repository, naming the
//!    account, the Region and the repository.
//! 4. **Sweep** (one invocation per repository): read the snapshot (keeping what
//!    concerns the repository), and sweep against it and the external lists. A
//!    snapshot older than `targets.snapshotMaxAgeMinutes`, or one in which a target
//!    or a source failed, is not swept against: the repository is reported as skipped,
//!    with the reason.
//!
//! A workload in one target holding `A.dkr.ecr.R.amazonaws.com/repo:tag` protects
//! that image in account A, Region R, whichever target the workload runs in.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::budget::Budget;
use super::config::RepositoryEntry;
use super::handler::{skipped_run, SelectedSweep, SweepError, SweepRun, Sweeper};
use super::in_use::snapshot::{assemble, SnapshotReader, TargetPart};
use super::in_use::snapshot_store::{RunManifest, SnapshotStore, SnapshotStoreError};
use super::in_use::{gather_lists, gather_workloads, InUseConfig};
use super::reference::EcrRepository;
use super::registry::{self, Repository};
use super::repository::SweepTiming;
use super::trigger::{
    Continuation, GatherRequest, SweepTrigger, GATHER_IN_USE, SWEEP_REPOSITORY, SWEEP_TARGET,
};
use crate::aws::bus::{BusEvent, EventBus};
use crate::config::JanitorConfig;
use crate::targets::clients::partition;
use crate::targets::config::DEFAULT_SNAPSHOT_MAX_AGE_MINUTES;
use crate::targets::{Target, TargetAccess, TargetDirectory, TargetError};

/// The targets and the store of the in-use snapshot.
#[derive(Debug, Clone)]
pub struct Organization {
    pub directory: Arc<TargetDirectory>,
    pub snapshots: SnapshotStore,
}

#[derive(Debug, thiserror::Error)]
pub enum OrganizationSetupError {
    #[error(transparent)]
    Targets(#[from] TargetError),
    #[error(transparent)]
    Store(#[from] SnapshotStoreError),
    #[error(
        "the configuration names targets: set {} to the in-use snapshot's s3://bucket/prefix/",
        super::in_use::snapshot_store::ENV_SNAPSHOT_S3_URI
    )]
    NoStore,
}

impl Organization {
    /// The organization of `config`'s `targets` section, reached from `hub` (the
    /// hub's SDK configuration) with role sessions named after `function_name`; the
    /// snapshot lives at `snapshot_uri`. `None` when the configuration names no
    /// targets.
    pub async fn new(
        hub: &aws_config::SdkConfig,
        config: &JanitorConfig,
        function_name: &str,
        snapshot_uri: Option<&str>,
    ) -> Result<Option<Organization>, OrganizationSetupError> {
        if config.targets.is_none() {
            return Ok(None);
        }
        let uri = snapshot_uri
            .filter(|uri| !uri.trim().is_empty())
            .ok_or(OrganizationSetupError::NoStore)?;
        let snapshots = SnapshotStore::new(aws_sdk_s3::Client::new(hub), uri)?;
        let Some(directory) =
            TargetDirectory::for_installation(hub, config.targets.as_ref(), function_name).await?
        else {
            return Ok(None);
        };
        Ok(Some(Organization {
            directory: Arc::new(directory),
            snapshots,
        }))
    }
}

/// What one organization-wide stage did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StageReport {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// Targets of the run.
    pub targets: usize,
    /// The target this stage worked in (gathering, fanning out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// Parts of the run written so far (gathering).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_written: Option<usize>,
    /// Why the target could not be read (gathering): the snapshot then refuses every
    /// sweep of the run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unreachable: Option<String>,
    /// Whether this invocation assembled the run's snapshot.
    pub assembled: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot_version: Option<String>,
}

impl StageReport {
    fn new(run_id: Option<&str>, targets: usize, target: Option<&Target>) -> Self {
        StageReport {
            run_id: run_id.map(str::to_owned),
            targets,
            target: target.cloned(),
            parts_written: None,
            unreachable: None,
            assembled: false,
            snapshot_version: None,
        }
    }
}

/// A run's id: when it started, to the millisecond.
pub fn run_id(now: DateTime<Utc>) -> String {
    now.format("%Y%m%dT%H%M%S%.3fZ").to_string()
}

/// The ARN of a repository of `target`.
fn repository_arn(target: &Target, name: &str) -> String {
    format!(
        "arn:{}:ecr:{}:{}:repository/{name}",
        partition(&target.region),
        target.region,
        target.account
    )
}

impl Sweeper {
    pub(super) async fn run_organization(
        &self,
        organization: &Organization,
        trigger: SweepTrigger,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<SweepRun, SweepError> {
        let hub = organization.directory.hub().clone();
        match &trigger {
            SweepTrigger::Scheduled | SweepTrigger::SweepAll => {
                self.start_run(organization, trigger, now).await
            }
            SweepTrigger::GatherInUse(request) => {
                let request = request.clone();
                self.gather_target(organization, trigger, &request, now)
                    .await
            }
            SweepTrigger::SweepTarget(target) => {
                let target = target.clone();
                self.fan_out_target(organization, trigger, &target).await
            }
            SweepTrigger::Repository(name) => {
                let request = RepositoryRequest {
                    target: hub,
                    name: name.clone(),
                    continuing: None,
                };
                self.sweep_target_repository(organization, trigger, &request, now, budget)
                    .await
            }
            SweepTrigger::TargetRepository(repository) => {
                let request = RepositoryRequest {
                    target: repository.target.clone(),
                    name: repository.repository_name.clone(),
                    continuing: None,
                };
                self.sweep_target_repository(organization, trigger, &request, now, budget)
                    .await
            }
            SweepTrigger::Continue(first) => {
                let request = RepositoryRequest {
                    target: first.target.clone().unwrap_or(hub),
                    name: first.repository_name.clone(),
                    continuing: Some(first.clone()),
                };
                self.sweep_target_repository(organization, trigger, &request, now, budget)
                    .await
            }
        }
    }

    fn organization_bus(&self, events: usize) -> Result<&EventBus, SweepError> {
        self.bus
            .as_ref()
            .ok_or(SweepError::NoBus { selected: events })
    }

    /// Publishes `events`; an event not accepted fails the invocation, so that Lambda
    /// retries it (every stage is idempotent).
    async fn publish_all(&self, events: &[BusEvent]) -> Result<usize, SweepError> {
        let bus = self.organization_bus(events.len())?;
        let report = bus.publish(events).await?;
        if report.failed.is_empty() {
            return Ok(report.published);
        }
        Err(SweepError::Incomplete {
            problems: report
                .failed
                .iter()
                .map(|failed| {
                    format!(
                        "{} event not published: {} {}",
                        failed.detail_type, failed.error_code, failed.error_message
                    )
                })
                .collect(),
        })
    }

    /// Stage 1: the targets of a new run, each asked to gather its workloads.
    async fn start_run(
        &self,
        organization: &Organization,
        trigger: SweepTrigger,
        now: DateTime<Utc>,
    ) -> Result<SweepRun, SweepError> {
        let targets = organization.directory.all().await?;
        let run_id = run_id(now);
        let manifest = RunManifest {
            run_id: run_id.clone(),
            started_at: now,
            targets: targets.iter().map(|access| access.target.clone()).collect(),
        };
        organization.snapshots.put_manifest(&manifest).await?;
        let events: Vec<BusEvent> = manifest
            .targets
            .iter()
            .map(|target| BusEvent {
                detail_type: GATHER_IN_USE.to_owned(),
                detail: json!({
                    "runId": run_id,
                    "account": target.account,
                    "region": target.region,
                    "targets": manifest.targets.len(),
                }),
                resources: Vec::new(),
            })
            .collect();
        let published = self.publish_all(&events).await?;
        tracing::info!(
            run_id,
            targets = targets.len(),
            "organization-wide run started"
        );
        Ok(stage_run(
            trigger,
            published,
            StageReport::new(Some(&run_id), targets.len(), None),
        ))
    }

    /// Stage 2: one target's workloads, written as its part of the run; the last part
    /// assembles the snapshot.
    async fn gather_target(
        &self,
        organization: &Organization,
        trigger: SweepTrigger,
        request: &GatherRequest,
        now: DateTime<Utc>,
    ) -> Result<SweepRun, SweepError> {
        let target = &request.target;
        let mut report = StageReport::new(Some(&request.run_id), request.targets, Some(target));
        let part = match organization.directory.reach(target) {
            // A target that left the configuration since the run started: its part
            // says so, and the run's sweeps are skipped rather than swept without it.
            None => TargetPart::unreachable(target, now, "no longer a target".to_owned()),
            Some(access) => self.read_target(organization, &access, now).await,
        };
        if let Some(failure) = part
            .failed
            .iter()
            .find(|failure| failure.source == super::in_use::snapshot::TARGET_SOURCE)
        {
            tracing::error!(target = %target, reason = %failure.reason, "target unreachable: this run sweeps nothing");
            report.unreachable = Some(failure.reason.clone());
        }
        let store = &organization.snapshots;
        store.put_part(&request.run_id, &part).await?;
        let written = store.parts_written(&request.run_id).await?;
        report.parts_written = Some(written);
        if written < request.targets || !store.claim_assembly(&request.run_id, target).await? {
            return Ok(stage_run(trigger, 0, report));
        }
        let manifest = store.manifest(&request.run_id).await?;
        let parts = store.parts(&manifest).await?;
        let Some(snapshot) = assemble(&request.run_id, &parts) else {
            return Ok(stage_run(trigger, 0, report));
        };
        report.snapshot_version = store.put_snapshot(snapshot).await?;
        report.assembled = true;
        tracing::info!(
            run_id = %request.run_id,
            targets = parts.len(),
            uses = parts.iter().map(|part| part.uses.len()).sum::<usize>(),
            version = report.snapshot_version.as_deref().unwrap_or(""),
            "in-use snapshot assembled"
        );
        let events: Vec<BusEvent> = manifest
            .targets
            .iter()
            .map(|target| BusEvent {
                detail_type: SWEEP_TARGET.to_owned(),
                detail: json!({"runId": request.run_id, "account": target.account, "region": target.region}),
                resources: Vec::new(),
            })
            .collect();
        let published = self.publish_all(&events).await?;
        Ok(stage_run(trigger, published, report))
    }

    /// What the sources say in one target (external lists aside: every repository
    /// sweep reads those itself).
    async fn read_target(
        &self,
        organization: &Organization,
        access: &TargetAccess,
        now: DateTime<Utc>,
    ) -> TargetPart {
        let factory = organization.directory.factory();
        if let Err(reason) = factory.check(access).await {
            return TargetPart::unreachable(&access.target, now, reason);
        }
        let clients = factory.in_use_clients(access).await;
        let workloads = InUseConfig {
            external_lists: Vec::new(),
            ..self.config.sweeper.in_use.clone()
        };
        TargetPart::new(
            &access.target,
            now,
            gather_workloads(&clients, &workloads).await,
        )
    }

    /// Stage 3: one `Sweep Repository` event per selected repository of a target.
    async fn fan_out_target(
        &self,
        organization: &Organization,
        trigger: SweepTrigger,
        target: &Target,
    ) -> Result<SweepRun, SweepError> {
        let mut report = StageReport::new(None, 1, Some(target));
        let Some(access) = organization.directory.reach(target) else {
            report.unreachable = Some("not a target".to_owned());
            tracing::warn!(target = %target, "Sweep Target for an account and Region that is not a target: ignored");
            return Ok(stage_run(trigger, 0, report));
        };
        // An unreachable target was recorded in the run's snapshot, which every sweep
        // of the run then refuses: a retry here could only repeat the refusal.
        if let Err(reason) = organization.directory.factory().check(&access).await {
            tracing::error!(target = %target, reason = %reason, "target unreachable: its repositories are not fanned out");
            report.unreachable = Some(reason);
            return Ok(stage_run(trigger, 0, report));
        }
        let ecr = organization.directory.factory().ecr(&access).await;
        let selected: Vec<Repository> = registry::list_repositories(&ecr)
            .await?
            .into_iter()
            .filter(|repository| self.config.sweeper.entry_for(&repository.name).is_some())
            .collect();
        let events: Vec<BusEvent> = selected
            .iter()
            .map(|repository| BusEvent {
                detail_type: SWEEP_REPOSITORY.to_owned(),
                detail: json!({
                    "account": target.account,
                    "region": target.region,
                    "repositoryName": repository.name,
                }),
                resources: vec![repository.arn.clone()],
            })
            .collect();
        let published = match events.is_empty() {
            true => 0,
            false => self.publish_all(&events).await?,
        };
        tracing::info!(target = %target, selected = selected.len(), "fanned out one Sweep Repository event per repository");
        let mut run = stage_run(trigger, published, report);
        run.repositories_selected = selected.len();
        Ok(run)
    }

    /// Stage 4: one repository of one target, against the snapshot.
    async fn sweep_target_repository(
        &self,
        organization: &Organization,
        trigger: SweepTrigger,
        request: &RepositoryRequest,
        now: DateTime<Utc>,
        budget: Budget,
    ) -> Result<SweepRun, SweepError> {
        let RepositoryRequest {
            target,
            name,
            continuing,
        } = request;
        let (name, continuing) = (name.as_str(), continuing.as_ref());
        let Some(access) = organization.directory.reach(target) else {
            return self
                .skipped_in_target(
                    trigger,
                    target,
                    name,
                    "the account and Region are not a target",
                )
                .await;
        };
        let Some(entry) = self.config.sweeper.entry_for(name) else {
            return self
                .skipped_in_target(
                    trigger,
                    target,
                    name,
                    "not selected by the sweeper configuration",
                )
                .await;
        };
        let ecr = organization.directory.factory().ecr(&access).await;
        let Some(repository) = registry::find_repository(&ecr, name).await? else {
            return self
                .skipped_in_target(trigger, target, name, "the repository does not exist")
                .await;
        };
        let Ok(named) = EcrRepository::from_uri(&repository.uri) else {
            let why = format!(
                "the repository URI {} is not understood: no use can be matched to it",
                repository.uri
            );
            return self.skipped_in_target(trigger, target, name, &why).await;
        };
        let stored = organization
            .snapshots
            .read_snapshot(SnapshotReader::new(named))
            .await?;
        let Some(stored) = stored else {
            return self
                .skipped_in_target(
                    trigger,
                    target,
                    name,
                    "no in-use snapshot has been assembled yet",
                )
                .await;
        };
        let max_age = organization
            .directory
            .config()
            .map_or(DEFAULT_SNAPSHOT_MAX_AGE_MINUTES, |targets| {
                targets.snapshot_max_age_minutes
            });
        // The snapshot's age is judged by the real clock, also when a continuation
        // plans as of its first plan's instant.
        if let Some(why) = stored
            .snapshot
            .unusable(now, chrono::Duration::minutes(i64::from(max_age)))
        {
            return self.skipped_in_target(trigger, target, name, &why).await;
        }
        let plan_as_of = continuing.map_or(now, |first| first.as_of);
        let mut in_use = stored.snapshot.in_use;
        in_use.extend(
            gather_lists(&self.workloads.s3, &self.config.sweeper.in_use, plan_as_of).await,
        );
        let label = format!(
            "run {}, version {}",
            stored.snapshot.header.run_id,
            stored.version_id.as_deref().unwrap_or("unversioned")
        );
        let selected: Vec<(Repository, &RepositoryEntry)> = vec![(repository, entry)];
        let sweep = SelectedSweep {
            ecr: &ecr,
            target: Some(target),
            in_use_snapshot: Some(label),
            selected: &selected,
            in_use: &in_use,
            timing: SweepTiming {
                now: plan_as_of,
                continuing,
                budget,
            },
        };
        self.sweep_selected(trigger, sweep).await
    }

    /// A repository of a target not swept, reported on the bus as any sweep is.
    async fn skipped_in_target(
        &self,
        trigger: SweepTrigger,
        target: &Target,
        name: &str,
        why: &str,
    ) -> Result<SweepRun, SweepError> {
        let mut run = skipped_run(trigger, name, why);
        let events: Vec<BusEvent> = run
            .repositories
            .iter_mut()
            .map(|summary| {
                summary.target = Some(target.clone());
                summary.event(Some(&repository_arn(target, name)))
            })
            .collect();
        tracing::warn!(target = %target, repository = name, reason = why, "repository not swept");
        self.publish_all(&events).await?;
        Ok(run)
    }
}

/// One repository of one target to sweep, or to carry on sweeping.
struct RepositoryRequest {
    target: Target,
    name: String,
    continuing: Option<Continuation>,
}

/// The run of a stage that swept nothing itself.
fn stage_run(trigger: SweepTrigger, fanned_out: usize, report: StageReport) -> SweepRun {
    SweepRun {
        trigger,
        repositories_selected: 0,
        fanned_out,
        repositories: Vec::new(),
        event_failures: Vec::new(),
        complete: true,
        stage: Some(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_are_the_start_time_to_the_millisecond() {
        let at: DateTime<Utc> = "2026-12-03T04:05:06.789Z".parse().expect("time");
        assert_eq!(run_id(at), "20261203T040506.789Z");
    }

    #[test]
    fn repository_arns_name_the_target() {
        assert_eq!(
            repository_arn(&Target::new("111111111111", "eu-west-1"), "team/api"),
            "arn:aws:ecr:eu-west-1:111111111111:repository/team/api"
        );
    }
}
