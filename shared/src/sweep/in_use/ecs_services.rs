//! PLACEHOLDER (being written): ECS services.
use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "ECS services";

pub async fn images(_ecs: &aws_sdk_ecs::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    Ok(Vec::new())
}
