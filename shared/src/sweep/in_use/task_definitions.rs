//! PLACEHOLDER (being written): task definitions.
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "ECS task definitions";

/// A task definition (ARN, `family:revision` or `family` = its latest ACTIVE revision)
/// and who names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedTaskDefinition {
    pub task_definition: String,
    /// e.g. `ECS service prod/web`; the resolved `family:revision` is added to it.
    pub holder: String,
}

pub async fn newest_revisions(
    _ecs: &aws_sdk_ecs::Client,
    _revisions: u32,
) -> Result<Vec<ImageUse>, AwsCallError> {
    Ok(Vec::new())
}

pub async fn resolve(
    _ecs: &aws_sdk_ecs::Client,
    _named: &[NamedTaskDefinition],
) -> Result<Vec<ImageUse>, AwsCallError> {
    Ok(Vec::new())
}
