//! The `sweeper.inUse` configuration: which sources of "in use" a sweep reads. Every
//! source is on by default; one switched off is named in every sweep's report.

use serde::Deserialize;

use crate::config::FieldError;

/// Revisions of each task-definition family kept in use by default: what a rollback
/// reaches.
pub const DEFAULT_TASK_DEFINITION_REVISIONS: u32 = 5;
/// Age past which an external list is stale by default.
pub const DEFAULT_MAX_AGE_HOURS: u32 = 24;

fn on() -> bool {
    true
}

fn default_revisions() -> u32 {
    DEFAULT_TASK_DEFINITION_REVISIONS
}

fn default_max_age_hours() -> u32 {
    DEFAULT_MAX_AGE_HOURS
}

/// The `sweeper.inUse` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InUseConfig {
    /// ECS tasks RUNNING and STOPPED (as long as ECS lists them), every container.
    #[serde(default = "on")]
    pub ecs_tasks: bool,
    /// ECS services' deployments, whatever their desired count.
    #[serde(default = "on")]
    pub ecs_services: bool,
    /// The newest N ACTIVE revisions of every task-definition family; 0 switches the
    /// source off.
    #[serde(default = "default_revisions")]
    pub task_definition_revisions: u32,
    /// ECS tasks started by EventBridge rules (every bus) and EventBridge Scheduler.
    #[serde(default = "on")]
    pub schedules: bool,
    /// AWS Batch job definitions (ACTIVE).
    #[serde(default = "on")]
    pub batch: bool,
    /// Lambda functions: every published version, and the aliases that point at them.
    #[serde(default = "on")]
    pub lambda: bool,
    /// Lists of images in use published to S3 (Kubernetes, anything else).
    #[serde(default)]
    pub external_lists: Vec<ExternalList>,
}

/// Objects under an S3 prefix, each a `kubectl get ... -o json` list or a plain list of
/// image references, one per line.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalList {
    /// `s3://bucket/prefix` (every object under the prefix is read).
    pub s3_uri: String,
    /// An object older than this is stale: the sweep then acts on nothing.
    #[serde(default = "default_max_age_hours")]
    pub max_age_hours: u32,
}

impl Default for InUseConfig {
    fn default() -> Self {
        InUseConfig {
            ecs_tasks: true,
            ecs_services: true,
            task_definition_revisions: DEFAULT_TASK_DEFINITION_REVISIONS,
            schedules: true,
            batch: true,
            lambda: true,
            external_lists: Vec::new(),
        }
    }
}

impl ExternalList {
    /// The bucket and the key prefix of `s3Uri`, when it is one.
    pub fn bucket_and_prefix(&self) -> Option<(&str, &str)> {
        let rest = self.s3_uri.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        (!bucket.is_empty()).then_some((bucket, prefix))
    }
}

impl InUseConfig {
    pub fn validate(&self, field: &str, errors: &mut Vec<FieldError>) {
        for (index, list) in self.external_lists.iter().enumerate() {
            let field = format!("{field}.externalLists[{index}]");
            if list.bucket_and_prefix().is_none() {
                errors.push(FieldError::new(
                    format!("{field}.s3Uri"),
                    format!("must look like s3://bucket/prefix, got {:?}", list.s3_uri),
                ));
            }
            if list.max_age_hours == 0 {
                errors.push(FieldError::new(
                    format!("{field}.maxAgeHours"),
                    "must be at least 1, got 0",
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_is_on_by_default() {
        let config: InUseConfig = serde_json::from_str("{}").expect("valid");
        assert_eq!(config, InUseConfig::default());
        assert_eq!(config.task_definition_revisions, 5);
    }

    #[test]
    fn list_locations_and_ages_are_validated() {
        let config: InUseConfig = serde_json::from_str(
            r#"{"externalLists": [{"s3Uri": "s3://lists/k8s/"}, {"s3Uri": "lists/k8s", "maxAgeHours": 0}]}"#,
        )
        .expect("parses");
        assert_eq!(
            config.external_lists[0].bucket_and_prefix(),
            Some(("lists", "k8s/"))
        );
        assert_eq!(config.external_lists[0].max_age_hours, 24);
        let mut errors = Vec::new();
        config.validate("sweeper.inUse", &mut errors);
        let fields: Vec<&str> = errors.iter().map(|error| error.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "sweeper.inUse.externalLists[1].s3Uri",
                "sweeper.inUse.externalLists[1].maxAgeHours"
            ]
        );
    }
}
