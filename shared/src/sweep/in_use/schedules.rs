//! PLACEHOLDER (being written): scheduled ECS tasks.
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "scheduled ECS tasks";

pub async fn images(
    _ecs: &aws_sdk_ecs::Client,
    _events: &aws_sdk_eventbridge::Client,
    _scheduler: &aws_sdk_scheduler::Client,
) -> Result<Vec<ImageUse>, AwsCallError> {
    Ok(Vec::new())
}
