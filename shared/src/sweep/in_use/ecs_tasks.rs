//! ECS tasks, RUNNING and STOPPED, in every cluster: every container of each task, by
//! the reference its task definition names and by the digest ECS resolved it to.
//! Stopped tasks stay listed for about an hour; a service whose tasks crash-loop has
//! nothing running at the moment of the sweep, but its stopped tasks name the image it
//! will start again.

use aws_sdk_ecs::types::DesiredStatus;

use super::ImageUse;
use crate::sweep::error::AwsCallError;

pub const SOURCE: &str = "ECS tasks";
/// Task ARNs per `DescribeTasks` call (AWS limit).
const DESCRIBE_TASKS_LIMIT: usize = 100;

/// Every cluster's ARN.
pub async fn clusters(ecs: &aws_sdk_ecs::Client) -> Result<Vec<String>, AwsCallError> {
    ecs.list_clusters()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|err| AwsCallError::new("ListClusters", &err))
}

/// `family:revision` of a task-definition ARN (or the text itself when it is not one).
pub fn family_revision(task_definition: &str) -> &str {
    task_definition
        .rsplit_once("task-definition/")
        .map_or(task_definition, |(_, family_revision)| family_revision)
}

/// The images of the tasks of every cluster, running or stopped.
pub async fn images(ecs: &aws_sdk_ecs::Client) -> Result<Vec<ImageUse>, AwsCallError> {
    let mut uses = Vec::new();
    for cluster in &clusters(ecs).await? {
        for status in [DesiredStatus::Running, DesiredStatus::Stopped] {
            let tasks: Vec<String> = ecs
                .list_tasks()
                .cluster(cluster)
                .desired_status(status)
                .into_paginator()
                .items()
                .send()
                .try_collect()
                .await
                .map_err(|err| AwsCallError::new("ListTasks", &err))?;
            for batch in tasks.chunks(DESCRIBE_TASKS_LIMIT) {
                let output = ecs
                    .describe_tasks()
                    .cluster(cluster)
                    .set_tasks(Some(batch.to_vec()))
                    .send()
                    .await
                    .map_err(|err| AwsCallError::new("DescribeTasks", &err))?;
                uses.extend(output.tasks().iter().flat_map(task_images));
            }
        }
    }
    Ok(uses)
}

/// Every container's image of one task, as `DescribeTasks` describes it.
pub fn task_images(task: &aws_sdk_ecs::types::Task) -> Vec<ImageUse> {
    let stopped = if task.last_status() == Some("STOPPED") {
        ", stopped"
    } else {
        ""
    };
    let user = format!(
        "ECS task {} (task definition {}{stopped})",
        task.task_arn().unwrap_or("(unknown)"),
        family_revision(task.task_definition_arn().unwrap_or("(unknown)")),
    );
    task.containers()
        .iter()
        .filter_map(|container| {
            Some(ImageUse::new(
                container.image()?,
                container.image_digest(),
                &user,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ecs::types::{Container, Task};

    /// moto lists only a task's first container and no `imageDigest`; ECS's
    /// `DescribeTasks` lists every container with the digest it resolved.
    #[test]
    fn every_container_of_a_task_is_in_use_with_its_resolved_digest() {
        let task = Task::builder()
            .task_arn("arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e")
            .task_definition_arn("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7")
            .last_status("STOPPED")
            .containers(
                Container::builder()
                    .name("app")
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v7")
                    .image_digest("sha256:aa")
                    .build(),
            )
            .containers(
                Container::builder()
                    .name("log-router")
                    .image("123456789012.dkr.ecr.us-east-1.amazonaws.com/fluent-bit:3")
                    .build(),
            )
            .containers(Container::builder().name("no-image").build())
            .build();
        let user =
            "ECS task arn:aws:ecs:us-east-1:123456789012:task/prod/0f1e (task definition web:7, stopped)";
        assert_eq!(
            task_images(&task),
            vec![
                ImageUse::new(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/web:v7",
                    Some("sha256:aa"),
                    user
                ),
                ImageUse::new(
                    "123456789012.dkr.ecr.us-east-1.amazonaws.com/fluent-bit:3",
                    None,
                    user
                ),
            ]
        );
    }

    #[test]
    fn family_and_revision_come_from_the_arn() {
        assert_eq!(
            family_revision("arn:aws:ecs:us-east-1:123456789012:task-definition/web:7"),
            "web:7"
        );
        assert_eq!(family_revision("web"), "web");
    }
}
