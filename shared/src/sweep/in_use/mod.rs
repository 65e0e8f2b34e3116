//! Images that something can still start: the "in use" a sweep never acts on.
//!
//! Each source reads one kind of workload, in the sweeper's own account and Region, and
//! returns the image references it holds (one file per source, in this folder):
//! ECS tasks running or recently stopped (`ecs_tasks`), ECS services whatever their
//! desired count (`ecs_services`), the newest ACTIVE revisions of every task-definition
//! family (`task_definitions`), scheduled ECS tasks of EventBridge rules and
//! EventBridge Scheduler (`schedules`), AWS Batch job definitions (`batch`), Lambda
//! versions and aliases (`lambda`) and lists published to S3, e.g. by a Kubernetes
//! CronJob (`external_lists`). The sources are read once per invocation; [`matching`]
//! then matches their uses against each repository.
//!
//! A source that cannot be read (access denied, throttling past retries, a missing or
//! stale list) makes "in use" unknown: the sweep acts on nothing and says which source
//! failed. A source switched off in the configuration is named in every report, so it
//! is never off silently.

pub mod batch;
pub mod config;
pub mod ecs_services;
pub mod ecs_tasks;
pub mod external_lists;
pub mod lambda;
pub mod matching;
pub mod schedules;
pub mod snapshot;
pub mod snapshot_store;
pub mod task_definitions;

use serde::{Deserialize, Serialize};

pub use config::InUseConfig;
pub use matching::protect_in_use;

/// One image reference a workload holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageUse {
    /// The image as the workload names it, e.g. `123456789012.dkr.ecr.us-east-1.amazonaws.com/api:v1`.
    pub image: String,
    /// The digest the workload resolved `image` to, when known.
    pub digest: Option<String>,
    /// Who holds it, for the protection reason: `ECS service prod/web (task definition
    /// web:7)`, `Lambda function api:3 (alias live)`, ...
    pub user: String,
    /// Whether a reference without a registry host names this registry. Lists written
    /// for the janitor say `app:v1`; ECS and Lambda mean Docker Hub by it.
    pub bare_is_this_registry: bool,
}

impl ImageUse {
    /// A use whose host-less reference means Docker Hub (ECS, Lambda, Batch).
    pub fn new(image: &str, digest: Option<&str>, user: &str) -> Self {
        ImageUse {
            image: image.to_owned(),
            digest: digest.map(str::to_owned),
            user: user.to_owned(),
            bare_is_this_registry: false,
        }
    }
}

/// A source whose uses are unknown, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceFailure {
    /// The source, e.g. `ECS services` or `list s3://bucket/prefix/`.
    pub source: String,
    pub reason: String,
}

/// What the sources say is in use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InUse {
    pub uses: Vec<ImageUse>,
    /// Sources that could not be read: while any is listed, nothing is acted on.
    pub failed: Vec<SourceFailure>,
    /// Sources the configuration switched off.
    pub off: Vec<String>,
}

impl InUse {
    /// Adds a source's outcome.
    fn record<E: std::fmt::Display>(&mut self, source: &str, outcome: Result<Vec<ImageUse>, E>) {
        match outcome {
            Ok(uses) => self.uses.extend(uses),
            Err(err) => {
                tracing::error!(source, error = %err, "in-use source unreadable: nothing will be acted on");
                self.failed.push(SourceFailure {
                    source: source.to_owned(),
                    reason: err.to_string(),
                });
            }
        }
    }

    /// Adds what other sources said.
    pub fn extend(&mut self, other: InUse) {
        self.uses.extend(other.uses);
        self.failed.extend(other.failed);
        self.off.extend(other.off);
    }

    /// Why nothing may be acted on, when a source failed.
    pub fn unknown(&self) -> Option<String> {
        if self.failed.is_empty() {
            return None;
        }
        let failed: Vec<String> = self
            .failed
            .iter()
            .map(|failure| format!("{}: {}", failure.source, failure.reason))
            .collect();
        Some(format!("images in use are unknown ({})", failed.join("; ")))
    }
}

/// The clients the sources read with.
#[derive(Debug, Clone)]
pub struct InUseClients {
    pub ecs: aws_sdk_ecs::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub batch: aws_sdk_batch::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub scheduler: aws_sdk_scheduler::Client,
    pub s3: aws_sdk_s3::Client,
}

impl InUseClients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        InUseClients {
            ecs: aws_sdk_ecs::Client::new(sdk),
            lambda: aws_sdk_lambda::Client::new(sdk),
            batch: aws_sdk_batch::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            scheduler: aws_sdk_scheduler::Client::new(sdk),
            s3: aws_sdk_s3::Client::new(sdk),
        }
    }
}

/// Reads every source the configuration switches on (all at once), as of `now` (the
/// age of external lists).
pub async fn gather(
    clients: &InUseClients,
    config: &InUseConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> InUse {
    let (mut in_use, lists) = futures::join!(
        gather_workloads(clients, config),
        gather_lists(&clients.s3, config, now)
    );
    in_use.extend(lists);
    in_use
}

/// Reads the workloads of the account and Region `clients` reach: every AWS source the
/// configuration switches on (external lists aside).
pub async fn gather_workloads(clients: &InUseClients, config: &InUseConfig) -> InUse {
    let revisions = config.task_definition_revisions;
    let (tasks, services, task_definitions, schedules, batch, lambda) = futures::join!(
        switch(config.ecs_tasks, ecs_tasks::images(&clients.ecs)),
        switch(config.ecs_services, ecs_services::images(&clients.ecs)),
        switch(
            revisions > 0,
            task_definitions::newest_revisions(&clients.ecs, revisions)
        ),
        switch(
            config.schedules,
            schedules::images(&clients.ecs, &clients.events, &clients.scheduler)
        ),
        switch(config.batch, batch::images(&clients.batch)),
        switch(config.lambda, lambda::images(&clients.lambda)),
    );
    let mut in_use = InUse::default();
    for (source, outcome) in [
        (ecs_tasks::SOURCE, tasks),
        (ecs_services::SOURCE, services),
        (task_definitions::SOURCE, task_definitions),
        (schedules::SOURCE, schedules),
        (batch::SOURCE, batch),
        (lambda::SOURCE, lambda),
    ] {
        match outcome {
            Some(outcome) => in_use.record(source, outcome),
            None => in_use.off.push(source.to_owned()),
        }
    }
    for source in &in_use.off {
        tracing::warn!(source, "in-use source switched off in the configuration");
    }
    in_use
}

/// Reads the external lists of the configuration, as of `now` (their age).
pub async fn gather_lists(
    s3: &aws_sdk_s3::Client,
    config: &InUseConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> InUse {
    let lists = futures::future::join_all(
        config
            .external_lists
            .iter()
            .map(|list| external_lists::images(s3, list, now)),
    )
    .await;
    let mut in_use = InUse::default();
    for (list, outcome) in config.external_lists.iter().zip(lists) {
        in_use.record(&format!("list {}", list.s3_uri), outcome);
    }
    in_use
}

/// Runs `read` when the source is on.
async fn switch<T>(on: bool, read: impl std::future::Future<Output = T>) -> Option<T> {
    if on {
        Some(read.await)
    } else {
        None
    }
}
