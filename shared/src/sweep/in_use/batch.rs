//! AWS Batch job definitions with status ACTIVE: any job submitted later starts their
//! images. A job definition names images in `containerProperties.image`, in each
//! multi-node range's `container.image`, and in each ECS task property's containers.

use aws_sdk_batch::types::JobDefinition;

use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "AWS Batch job definitions";

/// The images of every ACTIVE job definition.
pub async fn images(batch: &aws_sdk_batch::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let definitions: Vec<JobDefinition> = batch
        .describe_job_definitions()
        .status("ACTIVE")
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("DescribeJobDefinitions", &err))?;
    Ok(definitions.iter().flat_map(job_definition_images).collect())
}

/// Every image one job definition names, as `DescribeJobDefinitions` describes it.
pub fn job_definition_images(definition: &JobDefinition) -> Vec<ImageUse> {
    let user = format!(
        "Batch job definition {}:{}",
        definition.job_definition_name().unwrap_or("(unnamed)"),
        definition.revision().unwrap_or_default()
    );
    let single = definition
        .container_properties()
        .and_then(|container| container.image());
    let nodes = definition
        .node_properties()
        .into_iter()
        .flat_map(|nodes| nodes.node_range_properties())
        .filter_map(|range| range.container()?.image());
    let ecs = definition
        .ecs_properties()
        .into_iter()
        .flat_map(|ecs| ecs.task_properties())
        .flat_map(|task| task.containers())
        .filter_map(|container| container.image());
    single
        .into_iter()
        .chain(nodes)
        .chain(ecs)
        .map(|image| ImageUse::new(image, None, &user))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_batch::types::{
        ContainerProperties, EcsProperties, EcsTaskProperties, NodeProperties, NodeRangeProperty,
        TaskContainerProperties,
    };

    const ECR: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    /// moto stores job definitions but not every property kind; the shapes here are
    /// `DescribeJobDefinitions`' documented ones.
    #[test]
    fn container_multi_node_and_ecs_properties_all_name_images() {
        let definition = JobDefinition::builder()
            .job_definition_name("nightly")
            .job_definition_arn("arn:aws:batch:us-east-1:123456789012:job-definition/nightly:3")
            .revision(3)
            .r#type("container")
            .container_properties(
                ContainerProperties::builder()
                    .image(format!("{ECR}/etl:v3"))
                    .build(),
            )
            .node_properties(
                NodeProperties::builder()
                    .num_nodes(2)
                    .main_node(0)
                    .node_range_properties(
                        NodeRangeProperty::builder()
                            .target_nodes("0:")
                            .container(
                                ContainerProperties::builder()
                                    .image(format!("{ECR}/mpi:v1"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .ecs_properties(
                EcsProperties::builder()
                    .task_properties(
                        EcsTaskProperties::builder()
                            .containers(
                                TaskContainerProperties::builder()
                                    .image(format!("{ECR}/sidecar@sha256:aa"))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        let images: Vec<String> = job_definition_images(&definition)
            .into_iter()
            .map(|image_use| {
                assert_eq!(image_use.user, "Batch job definition nightly:3");
                image_use.image
            })
            .collect();
        assert_eq!(
            images,
            [
                format!("{ECR}/etl:v3"),
                format!("{ECR}/mpi:v1"),
                format!("{ECR}/sidecar@sha256:aa")
            ]
        );
    }
}
